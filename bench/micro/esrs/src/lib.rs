//! esrs 0.18 with its PostgreSQL store (`PgStore`), against the server in MICRO_PG_URL (the harness starts a
//! private one). End to end is esrs's `AggregateManager`: load the order's events and fold them, handle the
//! command, persist the events in one transaction, then the store runs the event handler that keeps the read model.
//! Append is `EventStore::persist` of one event to a new aggregate. Sessions use `synchronous_commit=on`, so a
//! persisted event is on disk as with SQLite's FULL (the harness's server defaults to off, as TechEmpower does).
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use esrs::handler::EventHandler;
use esrs::manager::AggregateManager;
use esrs::store::postgres::{PgStore, PgStoreBuilder};
use esrs::store::{EventStore, StoreEvent};
use esrs::{Aggregate, AggregateState};
use micro_domain::{runtime, Library};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Pool, Postgres};
use uuid::Uuid;

micro_domain::domain!();

#[derive(Debug)]
pub struct OrderError(String);
impl std::fmt::Display for OrderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for OrderError {}

pub struct Order;
impl Aggregate for Order {
    const NAME: &'static str = "micro_order";
    type State = OrderState;
    type Command = OrderCommand;
    type Event = OrderEvent;
    type Error = OrderError;

    fn handle_command(state: &OrderState, command: OrderCommand) -> Result<Vec<OrderEvent>, OrderError> {
        decide(state, command).map_err(OrderError)
    }

    fn apply_event(mut state: OrderState, payload: OrderEvent) -> OrderState {
        evolve(&mut state, &payload);
        state
    }
}

/// The read model, kept by an esrs event handler after each persist.
#[derive(Clone, Default)]
pub struct Totals(Arc<Mutex<OrderTotals>>);
#[async_trait::async_trait]
impl EventHandler<Order> for Totals {
    async fn handle(&self, event: &StoreEvent<OrderEvent>) {
        self.0.lock().unwrap().update(&event.payload);
    }
}

/// esrs identifies aggregates by UUID: order `o{k}` is UUID k + 1.
fn uuid_of(order_id: &str) -> Uuid {
    Uuid::from_u128(order_id[1..].parse::<u128>().expect("order ids are o{number}") + 1)
}

/// A pool on MICRO_PG_URL with a fresh events table (dropped, then created by esrs's own migrations).
async fn store(totals: Option<Totals>) -> (Pool<Postgres>, PgStore<Order>) {
    let url = std::env::var("MICRO_PG_URL").expect("MICRO_PG_URL: the PostgreSQL to use (the harness starts one)");
    let options = PgConnectOptions::from_str(&url).expect("MICRO_PG_URL").options([("synchronous_commit", "on")]);
    let pool = PgPoolOptions::new().max_connections(1).connect_with(options).await.expect("connect to PostgreSQL");
    sqlx::query("DROP TABLE IF EXISTS micro_order_events").execute(&pool).await.expect("drop the events table");
    let mut builder = PgStoreBuilder::new(pool.clone());
    if let Some(t) = totals {
        builder = builder.add_event_handler(t);
    }
    (pool, builder.try_build().await.expect("esrs PgStore (its migrations)"))
}

async fn execute(manager: &AggregateManager<PgStore<Order>>, cmd: OrderCommand) -> Result<(), String> {
    let id = uuid_of(cmd.order_id());
    let state = manager.load(id).await.map_err(|e| format!("{e:?}"))?.unwrap_or_else(|| AggregateState::with_id(id));
    match manager.handle_command(state, cmd).await.map_err(|e| format!("{e:?}"))? {
        Ok(_) => Ok(()),
        Err(rejected) => Err(rejected.0),
    }
}

pub const OPS: &[&str] = &["end_to_end_postgres", "append_postgres"];

async fn run(op: &str, n: u64) -> Duration {
    match op {
        "end_to_end_postgres" => {
            let totals = Totals::default();
            let (pool, store) = store(Some(totals.clone())).await;
            let manager = AggregateManager::new(store);
            let t = Instant::now();
            for i in 0..n {
                execute(&manager, OrderCommand::Place { order_id: format!("o{i}"), value: i }).await.unwrap();
            }
            let e = t.elapsed();
            assert_eq!(totals.0.lock().unwrap().placed, n);
            pool.close().await;
            e
        }
        "append_postgres" => {
            let (pool, store) = store(None).await;
            let t = Instant::now();
            for i in 0..n {
                let id = format!("o{i}");
                let mut state = AggregateState::with_id(uuid_of(&id));
                store.persist(&mut state, vec![placed(&id, i)]).await.unwrap();
            }
            let e = t.elapsed();
            pool.close().await;
            e
        }
        other => panic!("unknown operation {other:?}; valid: {OPS:?}"),
    }
}

pub fn timed(op: &str, n: u64) -> Duration {
    runtime().block_on(run(op, n))
}

pub fn scenario() -> serde_json::Value {
    runtime().block_on(async {
        let totals = Totals::default();
        let (pool, store) = store(Some(totals.clone())).await;
        let manager = AggregateManager::new(store.clone());
        let mut rejected = 0;
        for step in micro_domain::SCENARIO {
            if execute(&manager, OrderCommand::from_step(step)).await.is_err() {
                rejected += 1;
            }
        }
        let mut events = serde_json::Map::new();
        for id in micro_domain::SCENARIO_ORDERS {
            let stored: Vec<OrderEvent> =
                store.by_aggregate_id(uuid_of(id)).await.unwrap().into_iter().map(|e| e.payload).collect();
            events.insert(id.to_string(), serde_json::json!(stored));
        }
        let rm = totals.0.lock().unwrap().clone();
        pool.close().await;
        serde_json::json!({"events": events, "rejected": rejected, "read_model": rm})
    })
}

pub fn library() -> Library {
    Library { name: "esrs", ops: OPS, timed, scenario: Some(scenario), fill: None, project: None }
}
