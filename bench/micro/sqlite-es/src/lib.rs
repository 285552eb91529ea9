//! cqrs-es 0.5 with sqlite-es 0.5 (`SqliteEventRepository` under cqrs-es's `PersistedEventStore`): durable
//! append and the scenario on a SQLite file, the same kind of store as AllFrame's `cqrs-sqlite`.
//!
//! The pool matches AllFrame's connection: WAL journal, SQLite's default `synchronous=FULL` (sqlite-es's
//! `default_sqlite_pool` would use NORMAL, which syncs less and would not be like for like), one connection.
//! sqlite-es leaves creating its tables to the user: its own migration's DDL is run here.
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{EventStoreAggregateContext, PersistedEventStore};
use cqrs_es::{Aggregate, CqrsFramework, DomainEvent, EventEnvelope, EventStore, Query};
use micro_domain::{runtime, Library};
use sqlite_es::SqliteEventRepository;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite};

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

const DDL: &str = "CREATE TABLE events (aggregate_type text NOT NULL, aggregate_id text NOT NULL,
  sequence integer CHECK (sequence >= 0) NOT NULL, event_type text NOT NULL, event_version text NOT NULL,
  payload text NOT NULL, metadata text NOT NULL, PRIMARY KEY (aggregate_type, aggregate_id, sequence)) STRICT;
CREATE TABLE snapshots (aggregate_type text NOT NULL, aggregate_id text NOT NULL,
  last_sequence integer CHECK (last_sequence >= 0) NOT NULL, current_snapshot integer CHECK (current_snapshot >= 0) NOT NULL,
  payload text NOT NULL, PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)) STRICT;";

/// A fresh database file in its own directory (removed by `Db::drop`).
struct Db {
    dir: std::path::PathBuf,
    pool: Pool<Sqlite>,
}
impl Db {
    async fn new(tag: &str) -> Db {
        let dir = std::env::temp_dir().join(format!("micro-sqlite-es-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", dir.join("events.db").display()))
            .unwrap()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.expect("sqlite pool");
        sqlx::raw_sql(DDL).execute(&pool).await.expect("create sqlite-es tables");
        Db { dir, pool }
    }
    fn store(&self) -> PersistedEventStore<SqliteEventRepository, OrderState> {
        PersistedEventStore::new_event_store(SqliteEventRepository::new(self.pool.clone()))
    }
}
impl Drop for Db {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub const OPS: &[&str] = &["append_sqlite"];

async fn run(op: &str, n: u64) -> Duration {
    match op {
        "append_sqlite" => {
            let db = Db::new(&format!("append-{n}")).await;
            let store = db.store();
            let t = Instant::now();
            for i in 0..n {
                let id = format!("o{i}");
                let ev = placed(&id, i);
                // as AllFrame's append: one event to a new stream in one transaction, no load before it
                let ctx = EventStoreAggregateContext {
                    aggregate_id: id,
                    aggregate: OrderState::default(),
                    current_sequence: 0,
                    current_snapshot: None,
                };
                store.commit(vec![ev], ctx, HashMap::new()).await.unwrap();
            }
            let e = t.elapsed();
            db.pool.close().await;
            e
        }
        other => panic!("unknown operation {other:?}; valid: {OPS:?}"),
    }
}

pub fn timed(op: &str, n: u64) -> Duration {
    runtime().block_on(run(op, n))
}

/// The scenario through `CqrsFramework::execute` on the SQLite file: load, handle, commit, dispatch.
pub fn scenario() -> serde_json::Value {
    runtime().block_on(async {
        let db = Db::new("scenario").await;
        let totals = Totals::default();
        let cqrs = CqrsFramework::new(db.store(), vec![Box::new(totals.clone())], ());
        let mut rejected = 0;
        for step in micro_domain::SCENARIO {
            let cmd = OrderCommand::from_step(step);
            if cqrs.execute(&cmd.order_id().to_string(), cmd).await.is_err() {
                rejected += 1;
            }
        }
        let store = db.store();
        let mut events = serde_json::Map::new();
        for id in micro_domain::SCENARIO_ORDERS {
            let stored: Vec<OrderEvent> = store.load_events(id).await.unwrap().into_iter().map(|e| e.payload).collect();
            events.insert(id.to_string(), serde_json::json!(stored));
        }
        let rm = totals.0.lock().unwrap().clone();
        db.pool.close().await;
        serde_json::json!({"events": events, "rejected": rejected, "read_model": rm})
    })
}

pub fn library() -> Library {
    Library { name: "sqlite-es", ops: OPS, timed, scenario: Some(scenario), fill: None, project: None }
}
