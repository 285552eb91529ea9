//! memory-probe: append N events to AllFrame's EventStore, read them back, and say which phase it is in.
//!
//! `memory-probe EVENTS PAYLOAD BACKEND` with PAYLOAD `small` (the PRD's `Created { value }`) or
//! `order` (a realistic event of a few hundred bytes) and BACKEND `memory` or `sqlite`.
//! One JSON line per phase on stdout (ready, appending, appended, reading, done); the harness
//! timestamps them and measures memory from outside. It pauses briefly at each boundary so the
//! harness's samples see each plateau. After `done` it waits for stdin to close, so the harness
//! can read the kernel's peak (VmHWM) of this very process; run it by hand with `</dev/null`.
use allframe_core::cqrs::*;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::time::{Duration, Instant};

#[cfg(feature = "dhat-heap")]
#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// The PRD's event, exactly its shape: one variant carrying the value.
#[derive(Clone, Serialize, Deserialize)]
enum Created {
    Created { value: u64 },
}
#[cfg(not(feature = "no-event-type-name"))]
impl EventTypeName for Created {}
impl Event for Created {}

#[derive(Clone, Serialize, Deserialize)]
struct Item {
    sku: String,
    quantity: u32,
    price_cents: u64,
}

/// A realistic event of a few hundred bytes: ids, an address, three line items, a note.
#[derive(Clone, Serialize, Deserialize)]
enum OrderEvent {
    OrderPlaced { order_id: String, customer: String, items: Vec<Item>, shipping_address: String, note: String },
}
#[cfg(not(feature = "no-event-type-name"))]
impl EventTypeName for OrderEvent {}
impl Event for OrderEvent {}

trait Payload: Event + Serialize + serde::de::DeserializeOwned {
    fn make(i: u64) -> Self;
    /// Bytes the event occupies in memory: its inline size plus the heap its strings and vectors own.
    fn deep_size(&self) -> usize;
}

impl Payload for Created {
    fn make(i: u64) -> Self {
        Created::Created { value: i }
    }
    fn deep_size(&self) -> usize {
        std::mem::size_of::<Self>()
    }
}

impl Payload for OrderEvent {
    fn make(i: u64) -> Self {
        OrderEvent::OrderPlaced {
            order_id: format!("ord-{i:012}-7f3a9c2e-4b1d-4e8a"),
            customer: format!("customer-{:06}@example.com", i % 100_000),
            items: (0..3)
                .map(|k| Item { sku: format!("SKU-{:05}-{k}", i % 50_000), quantity: 1 + k as u32, price_cents: 1999 + i % 500 })
                .collect(),
            shipping_address: format!("{} Rue de la Paix, 75002 Paris, France", i % 200),
            note: "Leave at the front desk; call on arrival. Gift wrap the second item, no invoice in the parcel.".into(),
        }
    }
    fn deep_size(&self) -> usize {
        let OrderEvent::OrderPlaced { order_id, customer, items, shipping_address, note } = self;
        std::mem::size_of::<Self>() + order_id.capacity() + customer.capacity() + shipping_address.capacity()
            + note.capacity() + items.capacity() * std::mem::size_of::<Item>()
            + items.iter().map(|it| it.sku.capacity()).sum::<usize>()
    }
}

fn phase(name: &str, extra: serde_json::Value) {
    let mut line = serde_json::json!({ "phase": name });
    if let (Some(obj), serde_json::Value::Object(more)) = (line.as_object_mut(), extra) {
        obj.extend(more);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

async fn run<E: Payload, B: EventStoreBackend<E>>(store: EventStore<E, B>, n: u64, pause: Duration) {
    phase("appending", serde_json::json!({}));
    let t = Instant::now();
    for i in 0..n {
        store.append(&format!("agg-{}", i % 1000), vec![E::make(i)]).await.expect("append");
    }
    phase("appended", serde_json::json!({ "n": n, "seconds": t.elapsed().as_secs_f64() }));
    tokio::time::sleep(pause).await;
    phase("reading", serde_json::json!({}));
    let t = Instant::now();
    let mut read = 0usize;
    for a in 0..1000.min(n) {
        read += store.get_events(&format!("agg-{a}")).await.expect("read").len();
    }
    phase("read", serde_json::json!({ "n": read, "seconds": t.elapsed().as_secs_f64() }));
    tokio::time::sleep(pause).await;
}

async fn measure<E: Payload>(n: u64, backend: &str, pause: Duration) {
    let sample = E::make(0);
    phase("ready", serde_json::json!({
        "payload_json_bytes": serde_json::to_vec(&sample).unwrap().len(),
        "payload_mem_bytes": sample.deep_size(),
    }));
    tokio::time::sleep(pause).await;
    match backend {
        "memory" => run(EventStore::<E>::new(), n, pause).await,
        #[cfg(feature = "sqlite")]
        _ => {
            let dir = std::env::temp_dir().join(format!("memory-probe-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let db = dir.join("events.db");
            let b = SqliteEventStoreBackend::<E>::new(db.to_str().unwrap()).await.expect("sqlite");
            run(EventStore::with_backend(b), n, pause).await;
            let _ = std::fs::remove_dir_all(&dir);
        }
        #[cfg(not(feature = "sqlite"))]
        _ => panic!("backend {backend:?}: this probe was built without the sqlite feature"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: memory-probe EVENTS (small|order) (memory|sqlite)";
    let n: u64 = args.first().and_then(|a| a.parse().ok()).filter(|&n| n > 0).unwrap_or_else(|| {
        eprintln!("{usage}: EVENTS must be a positive integer");
        std::process::exit(2)
    });
    let kind = args.get(1).map(String::as_str).unwrap_or("small");
    let backend = args.get(2).map(String::as_str).unwrap_or("memory");
    if !["small", "order"].contains(&kind) || !["memory", "sqlite"].contains(&backend) {
        eprintln!("{usage}");
        std::process::exit(2);
    }
    #[cfg(feature = "dhat-heap")]
    let _profiler = dhat::Profiler::builder().testing().build();

    let pause = Duration::from_millis(150);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        match kind {
            "small" => measure::<Created>(n, backend, pause).await,
            _ => measure::<OrderEvent>(n, backend, pause).await,
        }
    });
    #[cfg(feature = "dhat-heap")]
    {
        let s = dhat::HeapStats::get();
        phase("done", serde_json::json!({ "heap": {
            "max_bytes": s.max_bytes, "max_blocks": s.max_blocks, "total_bytes": s.total_bytes,
            "total_blocks": s.total_blocks, "curr_bytes": s.curr_bytes } }));
    }
    #[cfg(not(feature = "dhat-heap"))]
    phase("done", serde_json::json!({}));
    // Stay alive until the harness closes our stdin: it reads /proc/<pid>/status (VmHWM) first.
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
}
