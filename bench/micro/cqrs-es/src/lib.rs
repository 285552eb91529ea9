//! cqrs-es 0.5 with its in-memory `MemStore` on the shared operations.
//!
//! End to end is `CqrsFramework::execute`: load the aggregate (replay), `Aggregate::handle`, commit,
//! dispatch to the queries. `MemStore` is cqrs-es's own ("for testing") in-memory store, measured as
//! shipped: it prints a line to stdout on every load and commit and copies an aggregate's events on commit.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cqrs_es::event_sink::EventSink;
use cqrs_es::mem_store::{MemStore, MemStoreAggregateContext};
use cqrs_es::{Aggregate, CqrsFramework, DomainEvent, EventEnvelope, EventStore, Query};
use micro_domain::{chunks, runtime, Library, FILL_BATCH};

micro_domain::domain!();

#[derive(Debug)]
pub struct OrderError(String);
impl std::fmt::Display for OrderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for OrderError {}

impl DomainEvent for OrderEvent {
    fn event_type(&self) -> String {
        match self {
            OrderEvent::Placed { .. } => "OrderPlaced".into(),
            OrderEvent::Cancelled { .. } => "OrderCancelled".into(),
        }
    }
    fn event_version(&self) -> String {
        "1.0".into()
    }
}

impl Aggregate for OrderState {
    const TYPE: &'static str = "order";
    type Command = OrderCommand;
    type Event = OrderEvent;
    type Error = OrderError;
    type Services = ();

    async fn handle(&mut self, cmd: OrderCommand, _: &(), sink: &EventSink<Self>) -> Result<(), OrderError> {
        for e in decide(self, cmd).map_err(OrderError)? {
            sink.write(e, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: OrderEvent) {
        evolve(self, &event);
    }
}

/// The read model as a cqrs-es query (queries take `&self`, so the state sits behind a lock).
#[derive(Clone, Default)]
pub struct Totals(Arc<Mutex<OrderTotals>>);
#[async_trait::async_trait]
impl Query<OrderState> for Totals {
    async fn dispatch(&self, _aggregate_id: &str, events: &[EventEnvelope<OrderState>]) {
        let mut t = self.0.lock().unwrap();
        for e in events {
            t.update(&e.payload);
        }
    }
}

type Framework = CqrsFramework<OrderState, MemStore<OrderState>>;

fn framework() -> (Framework, MemStore<OrderState>, Totals) {
    let store = MemStore::default();
    let totals = Totals::default();
    (CqrsFramework::new(store.clone(), vec![Box::new(totals.clone())], ()), store, totals)
}

fn context(id: &str) -> MemStoreAggregateContext<OrderState> {
    MemStoreAggregateContext { aggregate_id: id.to_string(), aggregate: OrderState::default(), current_sequence: 0 }
}

/// `events` events in aggregates of FILL_BATCH, one commit per aggregate.
async fn filled(events: u64) -> MemStore<OrderState> {
    let store = MemStore::default();
    let mut i = 0;
    while i < events {
        let id = format!("o{}", i / FILL_BATCH);
        let batch = (i..events.min(i + FILL_BATCH)).map(|k| placed(&id, k)).collect::<Vec<_>>();
        i += batch.len() as u64;
        store.commit(batch, context(&id), HashMap::new()).await.unwrap();
    }
    store
}

pub const OPS: &[&str] = &["decide", "end_to_end_memory", "append_memory", "projection_update", "replay"];

async fn run(op: &str, n: u64) -> Duration {
    match op {
        "decide" => {
            let t = Instant::now();
            for i in 0..n {
                let cmd = OrderCommand::Place { order_id: format!("o{i}"), value: i };
                let mut agg = OrderState::default();
                let sink = EventSink::default();
                agg.handle(cmd, &(), &sink).await.unwrap();
                std::hint::black_box(sink.collect().await);
            }
            t.elapsed()
        }
        "end_to_end_memory" => {
            let (cqrs, _store, totals) = framework();
            let t = Instant::now();
            for i in 0..n {
                cqrs.execute(&format!("o{i}"), OrderCommand::Place { order_id: format!("o{i}"), value: i }).await.unwrap();
            }
            let e = t.elapsed();
            assert_eq!(totals.0.lock().unwrap().placed, n);
            e
        }
        "append_memory" => {
            let store = MemStore::default();
            let t = Instant::now();
            for i in 0..n {
                let id = format!("o{i}");
                let ev = placed(&id, i);
                store.commit(vec![ev], context(&id), HashMap::new()).await.unwrap();
            }
            t.elapsed()
        }
        "projection_update" => {
            let mut total = Duration::ZERO;
            for (size, repeats) in chunks(n) {
                let envelopes: Vec<EventEnvelope<OrderState>> = (0..size)
                    .map(|k| EventEnvelope {
                        aggregate_id: format!("o{}", k / FILL_BATCH),
                        sequence: (k % FILL_BATCH) as usize + 1,
                        payload: placed(&format!("o{}", k / FILL_BATCH), k),
                        metadata: HashMap::new(),
                    })
                    .collect();
                let totals = Totals::default();
                let t = Instant::now();
                for _ in 0..repeats {
                    // as CqrsFramework dispatches after a commit: one aggregate's events per call
                    for batch in envelopes.chunks(FILL_BATCH as usize) {
                        totals.dispatch(&batch[0].aggregate_id, batch).await;
                    }
                }
                total += t.elapsed();
            }
            total
        }
        "replay" => {
            let mut total = Duration::ZERO;
            for (size, repeats) in chunks(n) {
                let store = MemStore::default();
                store.commit((0..size).map(|k| placed("o", k)).collect(), context("o"), HashMap::new()).await.unwrap();
                let t = Instant::now();
                for _ in 0..repeats {
                    let ctx = store.load_aggregate("o").await.unwrap();
                    assert_eq!(std::hint::black_box(ctx).aggregate.events, size);
                }
                total += t.elapsed();
            }
            total
        }
        other => panic!("unknown operation {other:?}; valid: {OPS:?}"),
    }
}

pub fn timed(op: &str, n: u64) -> Duration {
    runtime().block_on(run(op, n))
}

pub fn scenario() -> serde_json::Value {
    runtime().block_on(async {
        let (cqrs, store, totals) = framework();
        let mut rejected = 0;
        for step in micro_domain::SCENARIO {
            let cmd = OrderCommand::from_step(step);
            if cqrs.execute(&cmd.order_id().to_string(), cmd).await.is_err() {
                rejected += 1;
            }
        }
        let mut events = serde_json::Map::new();
        for id in micro_domain::SCENARIO_ORDERS {
            let stored: Vec<OrderEvent> = store.load_events(id).await.unwrap().into_iter().map(|e| e.payload).collect();
            events.insert(id.to_string(), serde_json::json!(stored));
        }
        let rm = totals.0.lock().unwrap().clone();
        serde_json::json!({"events": events, "rejected": rejected, "read_model": rm})
    })
}

fn fill(n: u64) -> Box<dyn std::any::Any> {
    Box::new(runtime().block_on(filled(n)))
}

pub fn library() -> Library {
    Library { name: "cqrs-es", ops: OPS, timed, scenario: Some(scenario), fill: Some(fill), project: None }
}
