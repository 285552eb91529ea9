//! The CQRS operations measured, shared by the criterion bench (time) and `cqrs-ops` (instructions).
//!
//! `timed(op, n)` sets up fresh state (not timed), performs `n` operations and returns the time
//! they took, so every criterion sample starts from the same state and the event store or saga
//! history never grows across samples.
//!
//! Each operation (group) is a cargo feature, all on by default: the releases suite builds, for an
//! older allframe-core, only the operations whose API that release has.
use std::time::{Duration, Instant};

use allframe_core::cqrs::*;

#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub enum OrderEvent {
    Created { value: u64 },
}
#[cfg(not(feature = "no-event-type-name"))] // releases before EventTypeName existed build without it
impl EventTypeName for OrderEvent {}
impl Event for OrderEvent {}

/// A command, as the PRD's benchmark has it.
pub struct CreateOrder {
    pub value: u64,
}
impl Command for CreateOrder {}

#[cfg(feature = "op-command")]
struct CreateOrderHandler;
#[cfg(feature = "op-command")]
#[async_trait::async_trait]
impl CommandHandler<CreateOrder, OrderEvent> for CreateOrderHandler {
    async fn handle(&self, c: CreateOrder) -> CommandResult<OrderEvent> {
        Ok(vec![OrderEvent::Created { value: c.value }])
    }
}

#[cfg(feature = "op-projection")]
/// A read model: running count and total of created orders.
#[derive(Default)]
struct OrderTotals {
    count: u64,
    total: u64,
}
#[cfg(feature = "op-projection")]
impl Projection for OrderTotals {
    type Event = OrderEvent;
    fn apply(&mut self, event: &OrderEvent) {
        let OrderEvent::Created { value } = event;
        self.count += 1;
        self.total += value;
    }
}

#[cfg(feature = "op-saga")]
struct Reserve;
#[cfg(feature = "op-saga")]
struct Charge {
    fail: bool,
}
#[cfg(feature = "op-saga")]
#[async_trait::async_trait]
impl OrchestratorSagaStep<OrderEvent> for Reserve {
    async fn execute(&self) -> Result<Vec<OrderEvent>, String> {
        Ok(vec![OrderEvent::Created { value: 1 }])
    }
    async fn compensate(&self) -> Result<Vec<OrderEvent>, String> {
        Ok(vec![])
    }
    fn name(&self) -> &str {
        "reserve"
    }
}
#[cfg(feature = "op-saga")]
#[async_trait::async_trait]
impl OrchestratorSagaStep<OrderEvent> for Charge {
    async fn execute(&self) -> Result<Vec<OrderEvent>, String> {
        if self.fail {
            Err("card declined".into())
        } else {
            Ok(vec![OrderEvent::Created { value: 2 }])
        }
    }
    async fn compensate(&self) -> Result<Vec<OrderEvent>, String> {
        Ok(vec![])
    }
    fn name(&self) -> &str {
        "charge"
    }
}

#[cfg(feature = "op-query")]
pub struct GetOrder {
    pub id: u64,
}
#[cfg(feature = "op-query")]
impl Query for GetOrder {}
#[cfg(feature = "op-query")]
pub struct OrderView {
    pub id: u64,
    pub total: u64,
}
#[cfg(feature = "op-query")]
struct GetOrderHandler;
#[cfg(feature = "op-query")]
#[async_trait::async_trait]
impl QueryHandler<GetOrder, OrderView> for GetOrderHandler {
    async fn handle(&self, q: GetOrder) -> QueryResult<OrderView> {
        Ok(OrderView { id: q.id, total: q.id * 2 })
    }
}

#[cfg(feature = "op-upcast")]
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct OrderCreatedV1 {
    pub value: u32,
}
#[cfg(all(feature = "op-upcast", not(feature = "no-event-type-name")))]
impl EventTypeName for OrderCreatedV1 {}
#[cfg(feature = "op-upcast")]
impl Event for OrderCreatedV1 {}
#[cfg(feature = "op-upcast")]
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct OrderCreatedV2 {
    pub value: u64,
    pub currency: String,
}
#[cfg(all(feature = "op-upcast", not(feature = "no-event-type-name")))]
impl EventTypeName for OrderCreatedV2 {}
#[cfg(feature = "op-upcast")]
impl Event for OrderCreatedV2 {}
#[cfg(feature = "op-upcast")]
impl From<OrderCreatedV1> for OrderCreatedV2 {
    fn from(v: OrderCreatedV1) -> Self {
        OrderCreatedV2 { value: v.value as u64, currency: "EUR".into() }
    }
}

/// Every operation, by the name the harness and the report use.
pub const OPS: &[&str] = &[
    #[cfg(feature = "op-command")]
    "command_dispatch",
    #[cfg(feature = "op-append")]
    "event_append_memory",
    #[cfg(feature = "sqlite")]
    "event_append_sqlite",
    #[cfg(feature = "op-projection")]
    "projection_update",
    #[cfg(feature = "op-saga")]
    "saga_2step",
    #[cfg(feature = "op-saga")]
    "saga_compensation",
    #[cfg(feature = "op-query")]
    "query_dispatch",
    #[cfg(feature = "op-upcast")]
    "event_upcast",
];

#[allow(dead_code)] // unused when only non-store operations are built
fn aggregate(i: u64) -> String {
    format!("agg-{}", i % 1000) // aggregates cycle as in the PRD's memory test
}

/// Perform `n` operations of `op` on fresh state; return the time the operations alone took.
pub async fn timed(op: &str, n: u64) -> Duration {
    match op {
        #[cfg(feature = "op-command")]
        "command_dispatch" => {
            let bus: CommandBus<OrderEvent> = CommandBus::new();
            bus.register(CreateOrderHandler).await;
            let t = Instant::now();
            for i in 0..n {
                std::hint::black_box(bus.dispatch(CreateOrder { value: i }).await.unwrap());
            }
            t.elapsed()
        }
        #[cfg(feature = "op-append")]
        "event_append_memory" => {
            let store: EventStore<OrderEvent> = EventStore::new();
            let t = Instant::now();
            for i in 0..n {
                store.append(&aggregate(i), vec![OrderEvent::Created { value: i }]).await.unwrap();
            }
            t.elapsed()
        }
        #[cfg(feature = "sqlite")]
        "event_append_sqlite" => {
            let dir = std::env::temp_dir().join(format!("cqrs-bench-{}-{}", std::process::id(), n));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("events.db");
            let backend = SqliteEventStoreBackend::new(path.to_str().unwrap()).await.unwrap();
            let store: EventStore<OrderEvent, _> = EventStore::with_backend(backend);
            let t = Instant::now();
            for i in 0..n {
                store.append(&aggregate(i), vec![OrderEvent::Created { value: i }]).await.unwrap();
            }
            let elapsed = t.elapsed();
            drop(store);
            let _ = std::fs::remove_dir_all(&dir);
            elapsed
        }
        #[cfg(feature = "op-projection")]
        "projection_update" => {
            // n events in the store (not timed), then one rebuild applies all n to the projection.
            let store: EventStore<OrderEvent> = EventStore::new();
            for i in 0..n {
                store.append(&aggregate(i), vec![OrderEvent::Created { value: i }]).await.unwrap();
            }
            let registry = ProjectionRegistry::new(store.clone());
            registry.register("totals", OrderTotals::default()).await;
            let t = Instant::now();
            registry.rebuild("totals").await.unwrap();
            t.elapsed()
        }
        #[cfg(feature = "op-saga")]
        "saga_2step" | "saga_compensation" => {
            let fail = op == "saga_compensation";
            let orchestrator: SagaOrchestrator<OrderEvent> = SagaOrchestrator::new();
            let t = Instant::now();
            for i in 0..n {
                let saga = SagaDefinition::new(format!("order-{i}")).add_step(Reserve).add_step(Charge { fail });
                let r = orchestrator.execute(saga).await;
                assert_eq!(r.is_err(), fail, "saga outcome");
            }
            t.elapsed()
        }
        #[cfg(feature = "op-query")]
        "query_dispatch" => {
            let bus = QueryBus::new();
            bus.register(GetOrderHandler).await;
            let t = Instant::now();
            for i in 0..n {
                std::hint::black_box(bus.dispatch::<GetOrder, OrderView>(GetOrder { id: i }).await.unwrap());
            }
            t.elapsed()
        }
        #[cfg(feature = "op-upcast")]
        "event_upcast" => {
            let upcaster = AutoUpcaster::<OrderCreatedV1, OrderCreatedV2>::new();
            let t = Instant::now();
            for i in 0..n {
                std::hint::black_box(upcaster.upcast(OrderCreatedV1 { value: i as u32 }));
            }
            t.elapsed()
        }
        other => panic!("unknown operation {other:?}; valid: {OPS:?}"),
    }
}

/// A single-threaded runtime: deterministic scheduling, so instruction counts repeat.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}
