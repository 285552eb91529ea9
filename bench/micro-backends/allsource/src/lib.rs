//! AllFrame's `AllSourceBackend` (allframe-core feature `cqrs-allsource`, allsource-core underneath) on the
//! shared operations: append in memory and with persistence (`AllSourceBackend::production(dir)`), and an
//! in-memory store of n events for bytes per event.
//!
//! `production` asks for Parquet and a WAL, but allframe-core 0.1.28's `with_config` passes on only the Parquet
//! directory: no WAL. allsource-core buffers events and writes a Parquet file every 10,000, so an append is on
//! disk only once its batch is flushed; `append_parquet` runs over whole batches so the flushes are counted.
//!
//! `cqrs-postgres` and `cqrs-rocksdb` only switch on allsource-core's `postgres` / `rocksdb-storage`:
//! allframe-core 0.1.28 has no backend type of its own for either, so their crates build this same code.
use std::time::{Duration, Instant};

use allframe_core::cqrs::*;
use micro_domain::{runtime, Library, FILL_BATCH};

micro_domain::domain!();

// allsource-core accepts only lowercase event types, and allframe-core names an event by its Rust type
// ("OrderEvent") unless told otherwise: the name a user must give it for this backend.
impl EventTypeName for OrderEvent {
    fn event_type_name() -> &'static str {
        "order_event"
    }
}
impl Event for OrderEvent {}

/// An event with allframe-core's default type name, to see whether AllSourceBackend takes it.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct OrderPlaced {
    pub order_id: String,
}
impl EventTypeName for OrderPlaced {}
impl Event for OrderPlaced {}

pub const OPS: &[&str] = &["append_memory", "append_parquet", "append_default_name"];

async fn append_n<B: EventStoreBackend<OrderEvent>>(store: EventStore<OrderEvent, B>, n: u64) -> Duration {
    let t = Instant::now();
    for i in 0..n {
        let id = format!("o{i}");
        let ev = placed(&id, i);
        store.append(&id, vec![ev]).await.unwrap();
    }
    t.elapsed()
}

async fn run(op: &str, n: u64) -> Duration {
    match op {
        "append_memory" => {
            let backend = AllSourceBackend::<OrderEvent>::new().unwrap();
            append_n(EventStore::with_backend(backend), n).await
        }
        "append_parquet" => {
            let dir = std::env::temp_dir().join(format!("micro-allsource-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let backend = AllSourceBackend::<OrderEvent>::production(dir.to_str().unwrap()).unwrap();
            let e = append_n(EventStore::with_backend(backend), n).await;
            let _ = std::fs::remove_dir_all(&dir);
            e
        }
        "append_default_name" => {
            let store = EventStore::with_backend(AllSourceBackend::<OrderPlaced>::new().unwrap());
            let t = Instant::now();
            for i in 0..n {
                let id = format!("o{i}");
                if let Err(e) = store.append(&id, vec![OrderPlaced { order_id: id.clone() }]).await {
                    eprintln!("AllSourceBackend refused an event with allframe-core's default type name: {e}");
                    std::process::exit(1);
                }
            }
            t.elapsed()
        }
        other => panic!("unknown operation {other:?}; valid: {OPS:?}"),
    }
}

pub fn timed(op: &str, n: u64) -> Duration {
    runtime().block_on(run(op, n))
}

/// `n` events in aggregates of FILL_BATCH, one append per aggregate, in AllSource's in-memory store.
fn fill(n: u64) -> Box<dyn std::any::Any> {
    runtime().block_on(async {
        let store = EventStore::with_backend(AllSourceBackend::<OrderEvent>::new().unwrap());
        let mut i = 0;
        while i < n {
            let id = format!("o{}", i / FILL_BATCH);
            let batch = (i..n.min(i + FILL_BATCH)).map(|k| placed(&id, k)).collect::<Vec<_>>();
            i += batch.len() as u64;
            store.append(&id, batch).await.unwrap();
        }
        Box::new(store) as Box<dyn std::any::Any>
    })
}

pub fn library(name: &'static str) -> Library {
    Library { name, ops: OPS, timed, scenario: None, fill: Some(fill), project: None }
}

/// The ops binary of one backend crate (the same code, built with another allframe-core feature).
pub fn ops_main(name: &'static str) {
    micro_domain::ops_main(library(name));
}
