//! AllFrame (allframe-core, pinned) on the shared operations.
//!
//! End to end is what an AllFrame user writes, since `CommandBus::dispatch` only calls the handler: the
//! handler loads the order's events from the `EventStore` and folds them (AllFrame's `Aggregate`), decides;
//! the caller appends the events and applies them to the read model (AllFrame's `Projection`).
use std::time::{Duration, Instant};

use allframe_core::cqrs::*;
use allframe_core::router::Router;
use micro_domain::{chunks, payload, route_table, runtime, Library, Order, Small, FILL_BATCH};

micro_domain::domain!();

impl EventTypeName for OrderEvent {}
impl Event for OrderEvent {}
impl Command for OrderCommand {}

impl Aggregate for OrderState {
    type Event = OrderEvent;
    fn apply_event(&mut self, event: &OrderEvent) {
        evolve(self, event);
    }
}

impl Projection for OrderTotals {
    type Event = OrderEvent;
    fn apply(&mut self, event: &OrderEvent) {
        self.update(event);
    }
}

/// The pure decision: no store, the order's state is new.
struct Decide;
#[async_trait::async_trait]
impl CommandHandler<OrderCommand, OrderEvent> for Decide {
    async fn handle(&self, cmd: OrderCommand) -> CommandResult<OrderEvent> {
        decide(&OrderState::default(), cmd).map_err(CommandError::BusinessLogic)
    }
}

/// The decision against the order's stored state.
struct LoadAndDecide<B: EventStoreBackend<OrderEvent>> {
    store: EventStore<OrderEvent, B>,
}
#[async_trait::async_trait]
impl<B: EventStoreBackend<OrderEvent> + 'static> CommandHandler<OrderCommand, OrderEvent> for LoadAndDecide<B> {
    async fn handle(&self, cmd: OrderCommand) -> CommandResult<OrderEvent> {
        let mut state = OrderState::default();
        for e in self.store.get_events(cmd.order_id()).await.map_err(CommandError::Internal)? {
            state.apply_event(&e);
        }
        decide(&state, cmd).map_err(CommandError::BusinessLogic)
    }
}

/// Command -> events stored -> read model updated.
async fn end_to_end<B: EventStoreBackend<OrderEvent>>(
    bus: &CommandBus<OrderEvent>,
    store: &EventStore<OrderEvent, B>,
    totals: &mut OrderTotals,
    cmd: OrderCommand,
) -> Result<(), String> {
    let id = cmd.order_id().to_string();
    let events = bus.dispatch(cmd).await.map_err(|e| format!("{e:?}"))?;
    store.append(&id, events.clone()).await?;
    for e in &events {
        Projection::apply(totals, e);
    }
    Ok(())
}

async fn e2e_bus(store: &EventStore<OrderEvent>) -> CommandBus<OrderEvent> {
    let bus = CommandBus::new();
    bus.register(LoadAndDecide { store: store.clone() }).await;
    bus
}

/// `events` events in aggregates of FILL_BATCH, one append per aggregate.
async fn filled(events: u64) -> EventStore<OrderEvent> {
    let store = EventStore::new();
    let mut i = 0;
    while i < events {
        let id = format!("o{}", i / FILL_BATCH);
        let batch = (i..events.min(i + FILL_BATCH)).map(|k| placed(&id, k)).collect::<Vec<_>>();
        i += batch.len() as u64;
        store.append(&id, batch).await.unwrap();
    }
    store
}

pub const OPS: &[&str] = &[
    "decide", "end_to_end_memory", "append_memory", "append_sqlite", "projection_update", "replay",
    "saga_2step", "saga_compensation", "route_name_10", "route_name_100", "route_path_10", "route_path_100",
    "json_small", "json_order",
];

struct Reserve;
struct Charge {
    fail: bool,
}
#[async_trait::async_trait]
impl OrchestratorSagaStep<OrderEvent> for Reserve {
    async fn execute(&self) -> Result<Vec<OrderEvent>, String> {
        Ok(vec![placed("reserve", 1)])
    }
    async fn compensate(&self) -> Result<Vec<OrderEvent>, String> {
        Ok(vec![])
    }
    fn name(&self) -> &str {
        "reserve"
    }
}
#[async_trait::async_trait]
impl OrchestratorSagaStep<OrderEvent> for Charge {
    async fn execute(&self) -> Result<Vec<OrderEvent>, String> {
        if self.fail { Err("card declined".into()) } else { Ok(vec![placed("charge", 2)]) }
    }
    async fn compensate(&self) -> Result<Vec<OrderEvent>, String> {
        Ok(vec![])
    }
    fn name(&self) -> &str {
        "charge"
    }
}

async fn run(op: &str, n: u64) -> Duration {
    match op {
        "decide" => {
            let bus: CommandBus<OrderEvent> = CommandBus::new();
            bus.register(Decide).await;
            let t = Instant::now();
            for i in 0..n {
                let cmd = OrderCommand::Place { order_id: format!("o{i}"), value: i };
                std::hint::black_box(bus.dispatch(cmd).await.unwrap());
            }
            t.elapsed()
        }
        "end_to_end_memory" => {
            let store = EventStore::new();
            let bus = e2e_bus(&store).await;
            let mut totals = OrderTotals::default();
            let t = Instant::now();
            for i in 0..n {
                let cmd = OrderCommand::Place { order_id: format!("o{i}"), value: i };
                end_to_end(&bus, &store, &mut totals, cmd).await.unwrap();
            }
            let e = t.elapsed();
            assert_eq!(totals.placed, n);
            e
        }
        "append_memory" => {
            let store: EventStore<OrderEvent> = EventStore::new();
            let t = Instant::now();
            for i in 0..n {
                let id = format!("o{i}");
                let ev = placed(&id, i);
                store.append(&id, vec![ev]).await.unwrap();
            }
            t.elapsed()
        }
        "append_sqlite" => {
            let dir = std::env::temp_dir().join(format!("micro-allframe-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let backend = SqliteEventStoreBackend::new(dir.join("events.db").to_str().unwrap()).await.unwrap();
            let store: EventStore<OrderEvent, _> = EventStore::with_backend(backend);
            let t = Instant::now();
            for i in 0..n {
                let id = format!("o{i}");
                let ev = placed(&id, i);
                store.append(&id, vec![ev]).await.unwrap();
            }
            let e = t.elapsed();
            drop(store);
            let _ = std::fs::remove_dir_all(&dir);
            e
        }
        "projection_update" => {
            let mut total = Duration::ZERO;
            for (size, repeats) in chunks(n) {
                let registry = ProjectionRegistry::new(filled(size).await);
                registry.register("totals", OrderTotals::default()).await;
                let t = Instant::now();
                for _ in 0..repeats {
                    registry.rebuild("totals").await.unwrap();
                }
                total += t.elapsed();
            }
            total
        }
        "replay" => {
            let mut total = Duration::ZERO;
            for (size, repeats) in chunks(n) {
                let store = EventStore::new();
                store.append("o", (0..size).map(|k| placed("o", k)).collect()).await.unwrap();
                let t = Instant::now();
                for _ in 0..repeats {
                    let mut state = OrderState::default();
                    for e in store.get_events("o").await.unwrap() {
                        state.apply_event(&e);
                    }
                    assert_eq!(std::hint::black_box(state).events, size);
                }
                total += t.elapsed();
            }
            total
        }
        "saga_2step" | "saga_compensation" => {
            let fail = op == "saga_compensation";
            let orchestrator: SagaOrchestrator<OrderEvent> = SagaOrchestrator::new();
            let t = Instant::now();
            for i in 0..n {
                let saga = SagaDefinition::new(format!("order-{i}")).add_step(Reserve).add_step(Charge { fail });
                assert_eq!(orchestrator.execute(saga).await.is_err(), fail, "saga outcome");
            }
            t.elapsed()
        }
        "route_name_10" | "route_name_100" | "route_path_10" | "route_path_100" => {
            let size = route_table(op);
            let by_path = op.starts_with("route_path");
            let mut router = Router::new();
            let mut keys = Vec::new();
            for k in 0..size {
                if by_path {
                    router.get(&format!("/api/r{k}"), move || async move { format!("r{k}") });
                    keys.push(format!("GET:/api/r{k}"));
                } else {
                    router.register(&format!("r{k}"), move || async move { format!("r{k}") });
                    keys.push(format!("r{k}"));
                }
            }
            let t = Instant::now();
            for i in 0..n {
                let out = router.call_handler(&keys[i as usize % size], "{}").await.unwrap();
                debug_assert_eq!(out, format!("r{}", i as usize % size));
                std::hint::black_box(out);
            }
            t.elapsed()
        }
        "json_small" | "json_order" => {
            let mut router = Router::new();
            if op == "json_small" {
                router.register_typed_with_args("echo", |v: Small| async move { v });
            } else {
                router.register_typed_with_args("echo", |v: Order| async move { v });
            }
            let body = payload(op);
            let t = Instant::now();
            for _ in 0..n {
                std::hint::black_box(router.execute_with_args("echo", &body).await.unwrap());
            }
            t.elapsed()
        }
        other => panic!("unknown operation {other:?}; valid: {OPS:?}"),
    }
}

pub fn timed(op: &str, n: u64) -> Duration {
    runtime().block_on(run(op, n))
}

/// The fairness scenario through the end-to-end path.
pub fn scenario() -> serde_json::Value {
    runtime().block_on(async {
        let store = EventStore::new();
        let bus = e2e_bus(&store).await;
        let mut totals = OrderTotals::default();
        let mut rejected = Vec::new();
        for step in micro_domain::SCENARIO {
            if let Err(e) = end_to_end(&bus, &store, &mut totals, OrderCommand::from_step(step)).await {
                rejected.push(e);
            }
        }
        let mut events = serde_json::Map::new();
        for id in micro_domain::SCENARIO_ORDERS {
            events.insert(id.to_string(), serde_json::json!(store.get_events(id).await.unwrap()));
        }
        serde_json::json!({"events": events, "rejected": rejected.len(), "read_model": totals})
    })
}

fn fill(n: u64) -> Box<dyn std::any::Any> {
    Box::new(runtime().block_on(filled(n)))
}

/// One projection (the order totals) in a `ProjectionRegistry` over the filled store, rebuilt from its events.
fn project(store: Box<dyn std::any::Any>) -> Box<dyn std::any::Any> {
    let store = *store.downcast::<EventStore<OrderEvent>>().expect("a store from fill");
    runtime().block_on(async {
        let registry = ProjectionRegistry::new(store);
        registry.register("totals", OrderTotals::default()).await;
        registry.rebuild("totals").await.unwrap();
        Box::new(registry) as Box<dyn std::any::Any>
    })
}

pub fn library() -> Library {
    Library { name: "allframe", ops: OPS, timed, scenario: Some(scenario), fill: Some(fill), project: Some(project) }
}
