//! banking-system: the PRD's scenario 4 (saga orchestration) built on AllFrame 0.1.28.
//!
//! From AllFrame (allframe-core, features `cqrs`, `cqrs-sqlite`): `EventStore` over
//! `SqliteEventStoreBackend` (the audit trail), `Aggregate` (accounts folded from their streams),
//! `CommandBus` (open account, deposit, transfer), `QueryBus` (account, history), `SagaOrchestrator`
//! + `OrchestratorSagaStep` (transfers: debit → fraud check → credit, per-step `timeout_duration`,
//! reverse compensation), `router::Router` + `RouteMetadata` + `OpenApiGenerator` (the OpenAPI 3.1
//! document). From other crates: axum 0.8 serves HTTP (AllFrame's `RestAdapter` serves none), tokio,
//! serde, uuid, thiserror; `demo-support` has the JSON errors, extractors and serving all demos share.
pub mod domain;
pub mod transfer;

use std::time::Duration;

use allframe_core::cqrs::saga_orchestrator::SagaError;
use allframe_core::cqrs::{
    Command, CommandBus, CommandError, CommandHandler, CommandResult, Query, QueryBus, QueryError,
    QueryHandler, QueryResult, SagaDefinition, SagaOrchestrator, SqliteEventStoreBackend,
    ValidationError,
};
use allframe_core::router::{OpenApiGenerator, RouteMetadata, Router as AfRouter};
use axum::{extract::State, http::StatusCode, routing::get, routing::post, Router};
use demo_support::extract::{Json, Path};
use demo_support::{error::ApiError, locks::KeyedLocks, openapi};
use domain::{account, stream, Account, BankEvent, Cause, Movement, Store, TransferRequest};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_util::task::TaskTracker;
use transfer::{Step, Transfer, CREDIT, DEBIT, FRAUD_CHECK, STEPS};

/// Start-up settings. `db` is the SQLite file of the event store (`:memory:` keeps it in memory).
#[derive(Clone)]
pub struct Config {
    pub db: String,
    pub fraud_limit_cents: u64,
    pub partner_delay: Duration,
    pub credit_timeout: Duration,
}

impl Config {
    /// Transfers over 10,000.00 are stopped; the partner bank answers after 1.5 s, too late for
    /// the credit step's 300 ms. `BANK_DB` names the SQLite file.
    pub fn from_env() -> Self {
        Config {
            db: std::env::var("BANK_DB").unwrap_or_else(|_| ":memory:".into()),
            fraud_limit_cents: 1_000_000,
            partner_delay: Duration::from_millis(1500),
            credit_timeout: Duration::from_millis(300),
        }
    }
}

/// An amount of cents, 1 to `i64::MAX` (balances are `i64`); anything else is refused as the
/// JSON is read (422), so no amount ever wraps.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(try_from = "u64")]
pub struct Cents(pub u64);

impl TryFrom<u64> for Cents {
    type Error = String;
    fn try_from(n: u64) -> Result<Self, String> {
        match i64::try_from(n) {
            Ok(1..) => Ok(Cents(n)),
            _ => Err(format!("must be between 1 and {}", i64::MAX)),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAccount {
    pub account_id: String,
    pub owner: String,
    #[serde(default)]
    pub external: bool,
}
impl Command for OpenAccount {}

pub struct Deposit(pub String, pub Cents);
impl Command for Deposit {}

/// With its own `transfer_id`, a client can ask for the outcome even if it left before the answer.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferMoney {
    pub from: String,
    pub to: String,
    pub amount_cents: Cents,
    pub transfer_id: Option<String>,
}
impl Command for TransferMoney {}

#[derive(Clone)]
pub struct Bank {
    store: Store,
    config: Config,
    sagas: SagaOrchestrator<BankEvent>,
    /// One lock per stream: every check-then-append holds the lock of the stream it appends to.
    locks: KeyedLocks,
}

impl Bank {
    async fn record(&self, stream_name: &str, event: BankEvent) -> CommandResult<BankEvent> {
        let stored = self.store.append(stream_name, vec![event.clone()]).await;
        stored.map_err(CommandError::Internal)?;
        Ok(vec![event])
    }

    async fn existing(&self, id: &str) -> Result<Account, CommandError> {
        let found = account(&self.store, id)
            .await
            .map_err(CommandError::Internal)?;
        found.ok_or_else(|| CommandError::NotFound(format!("account {id} not found")))
    }

    /// Settles the transfer, then writes its one outcome event.
    async fn finish(
        &self,
        t: &Transfer,
        failure: Option<(String, Cause, String)>,
    ) -> CommandResult<BankEvent> {
        let settled = t.settle().await;
        let (reversal, credited) = settled.map_err(|c| CommandError::Internal(c.to_string()))?;
        let transfer_id = t.request.transfer_id.clone();
        let outcome = match failure {
            Some((step, kind, reason)) if !credited => BankEvent::TransferFailed {
                transfer_id,
                step,
                kind,
                reason,
            },
            _ => BankEvent::TransferCompleted { transfer_id },
        };
        let mut events: Vec<_> = reversal.into_iter().collect();
        let stream_name = stream("transfer", &t.request.transfer_id);
        events.extend(self.record(&stream_name, outcome).await?);
        Ok(events)
    }

    fn transfer(&self, request: TransferRequest) -> Transfer {
        Transfer {
            request,
            store: self.store.clone(),
            locks: self.locks.clone(),
            config: self.config.clone(),
            busy: Default::default(),
            cause: Default::default(),
        }
    }

    /// Finishes the transfers a crash left without an outcome: settled from the stored events.
    async fn recover(&self) -> Result<(), String> {
        let events = self.store.get_all_events().await?;
        let outcome = |id: &str| {
            events.iter().any(|e| match e {
                BankEvent::TransferCompleted { transfer_id } => transfer_id == id,
                BankEvent::TransferFailed { transfer_id, .. } => transfer_id == id,
                _ => false,
            })
        };
        for event in &events {
            if let BankEvent::TransferRequested(r) = event {
                if !outcome(&r.transfer_id) {
                    let cause = Cause::Interrupted;
                    let failure = Some(("restart".into(), cause, cause.to_string()));
                    let t = self.transfer(r.clone());
                    self.finish(&t, failure).await.map_err(|e| e.to_string())?;
                }
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl CommandHandler<OpenAccount, BankEvent> for Bank {
    async fn handle(&self, c: OpenAccount) -> CommandResult<BankEvent> {
        let valid = |ch: char| ch.is_ascii_alphanumeric() || ch == '-';
        if c.account_id.is_empty() || !c.account_id.chars().all(valid) {
            let error = ValidationError::new("account_id", "letters, digits and '-' only");
            return Err(CommandError::Validation(vec![error]));
        }
        let stream_name = stream("account", &c.account_id);
        let _lock = self.locks.lock(&stream_name).await;
        if self.existing(&c.account_id).await.is_ok() {
            let exists = format!("account {} exists", c.account_id);
            return Err(CommandError::AlreadyExecuted(exists));
        }
        let opened = BankEvent::AccountOpened {
            account_id: c.account_id,
            owner: c.owner,
            external: c.external,
        };
        self.record(&stream_name, opened).await
    }
}

#[async_trait::async_trait]
impl CommandHandler<Deposit, BankEvent> for Bank {
    async fn handle(&self, Deposit(id, amount): Deposit) -> CommandResult<BankEvent> {
        let stream_name = stream("account", &id);
        let _lock = self.locks.lock(&stream_name).await;
        let balance = self.existing(&id).await?.balance_cents;
        if balance.checked_add_unsigned(amount.0).is_none() {
            let overflow = format!("the deposit would overflow the balance of {id}");
            return Err(CommandError::BusinessLogic(overflow));
        }
        let deposited = BankEvent::Deposited(Movement {
            account_id: id,
            transfer_id: String::new(),
            amount_cents: amount.0,
        });
        self.record(&stream_name, deposited).await
    }
}

/// Runs the transfer saga. A refused transfer is still a processed command: its outcome,
/// `TransferCompleted` or `TransferFailed`, is the last event returned.
#[async_trait::async_trait]
impl CommandHandler<TransferMoney, BankEvent> for Bank {
    async fn handle(&self, c: TransferMoney) -> CommandResult<BankEvent> {
        let id = c
            .transfer_id
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        let stream_name = stream("transfer", &id);
        let _lock = self.locks.lock(&stream_name).await;
        let known = self.store.get_events(&stream_name).await;
        if !known.map_err(CommandError::Internal)?.is_empty() {
            return Err(CommandError::AlreadyExecuted(format!(
                "transfer {id} exists"
            )));
        }
        self.existing(&c.from).await?;
        self.existing(&c.to).await?;
        let request = TransferRequest {
            transfer_id: id.clone(),
            from: c.from,
            to: c.to,
            amount_cents: c.amount_cents.0,
        };
        let requested = BankEvent::TransferRequested(request.clone());
        let mut events = self.record(&stream_name, requested).await?;
        let t = self.transfer(request);
        let saga = SagaDefinition::new(stream_name)
            .add_step(Step(DEBIT, t.clone()))
            .add_step(Step(FRAUD_CHECK, t.clone()))
            .add_step(Step(CREDIT, t.clone()));
        let failure = match self.sagas.execute(saga).await {
            Ok(done) => {
                events.extend(done);
                None
            }
            Err(e @ SagaError::Timeout { step_index, .. }) => {
                Some((STEPS[step_index].to_string(), Cause::Timeout, e.to_string()))
            }
            Err(e) => {
                let step = match &e {
                    SagaError::StepFailed { step_name, .. } => step_name.clone(),
                    _ => String::new(),
                };
                let cause = t.cause.lock().unwrap_or_else(|e| e.into_inner()).take();
                Some((step, cause.unwrap_or(Cause::Internal), e.to_string()))
            }
        };
        events.extend(self.finish(&t, failure).await?);
        Ok(events)
    }
}

pub struct GetAccount(pub String);
impl Query for GetAccount {}
/// The events of one stream: an account's transaction history or a transfer's audit trail.
pub struct GetStream(pub String);
impl Query for GetStream {}

#[async_trait::async_trait]
impl QueryHandler<GetAccount, Option<Account>> for Bank {
    async fn handle(&self, q: GetAccount) -> QueryResult<Option<Account>> {
        account(&self.store, &q.0)
            .await
            .map_err(QueryError::Internal)
    }
}

#[async_trait::async_trait]
impl QueryHandler<GetStream, Vec<BankEvent>> for Bank {
    async fn handle(&self, q: GetStream) -> QueryResult<Vec<BankEvent>> {
        self.store
            .get_events(&q.0)
            .await
            .map_err(QueryError::Internal)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BankError {
    #[error("account {0} not found")]
    AccountNotFound(String),
    #[error("transfer {0} not found")]
    TransferNotFound(String),
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("{0}")]
    Internal(String),
}

impl ApiError for BankError {
    fn status_code(&self) -> (StatusCode, &'static str) {
        match self {
            BankError::AccountNotFound(_) => (StatusCode::NOT_FOUND, "account_not_found"),
            BankError::TransferNotFound(_) => (StatusCode::NOT_FOUND, "transfer_not_found"),
            // An account id is the one field a command validates (amounts are checked as the JSON
            // is read), and an overflowing deposit the one business rule refused with an error.
            BankError::Command(CommandError::Validation(_)) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_account_id")
            }
            BankError::Command(CommandError::BusinessLogic(_)) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "balance_overflow")
            }
            BankError::Command(CommandError::NotFound(_)) => {
                (StatusCode::NOT_FOUND, "account_not_found")
            }
            BankError::Command(CommandError::AlreadyExecuted(_)) => {
                (StatusCode::CONFLICT, "already_exists")
            }
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }
}

demo_support::json_error!(BankError);

#[derive(Clone)]
pub struct AppState {
    commands: CommandBus<BankEvent>,
    queries: QueryBus,
    store: Store,
    tasks: TaskTracker,
}

type Answer<T> = Result<Json<T>, BankError>;

async fn open_account(
    s: State<AppState>,
    Json(c): Json<OpenAccount>,
) -> Result<(StatusCode, Json<Account>), BankError> {
    let id = c.account_id.clone();
    s.commands.dispatch(c).await?;
    Ok((StatusCode::CREATED, get_account(s, Path(id)).await?))
}

async fn get_account(s: State<AppState>, Path(id): Path<String>) -> Answer<Account> {
    let found = s
        .queries
        .dispatch::<_, Option<Account>>(GetAccount(id.clone()))
        .await?;
    found.map(Json).ok_or(BankError::AccountNotFound(id))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Amount {
    amount_cents: Cents,
}

async fn deposit(
    s: State<AppState>,
    Path(id): Path<String>,
    Json(b): Json<Amount>,
) -> Answer<Account> {
    s.commands
        .dispatch(Deposit(id.clone(), b.amount_cents))
        .await?;
    get_account(s, Path(id)).await
}

async fn events(s: &AppState, stream_name: String) -> Result<Vec<BankEvent>, BankError> {
    Ok(s.queries
        .dispatch::<_, Vec<BankEvent>>(GetStream(stream_name))
        .await?)
}

async fn history(s: State<AppState>, Path(id): Path<String>) -> Answer<Vec<BankEvent>> {
    get_account(s.clone(), Path(id.clone())).await?;
    Ok(Json(events(&s, stream("account", &id)).await?))
}

/// The saga runs in a task of its own, so it completes or compensates even when the client goes
/// away. 201 when the money moved; otherwise the JSON error shape plus `transfer_id` and events.
async fn transfer(
    s: State<AppState>,
    Json(c): Json<TransferMoney>,
) -> Result<(StatusCode, Json<Value>), BankError> {
    let commands = s.commands.clone();
    let saga = s.tasks.spawn(async move { commands.dispatch(c).await });
    let events = saga
        .await
        .map_err(|e| BankError::Internal(e.to_string()))??;
    let answer = match events.last() {
        Some(BankEvent::TransferFailed {
            transfer_id,
            kind,
            reason,
            ..
        }) => (
            kind.status(),
            json!({"transfer_id": transfer_id, "error": reason, "code": kind}),
        ),
        Some(BankEvent::TransferCompleted { transfer_id }) => {
            (StatusCode::CREATED, json!({ "transfer_id": transfer_id }))
        }
        _ => return Err(BankError::Internal("the transfer has no outcome".into())),
    };
    let (status, mut body) = answer;
    body["status"] = status.as_u16().into();
    body["events"] = json!(events);
    Ok((status, Json(body)))
}

async fn transfer_audit(s: State<AppState>, Path(id): Path<String>) -> Answer<Vec<BankEvent>> {
    let events = events(&s, stream("transfer", &id)).await?;
    if events.is_empty() {
        return Err(BankError::TransferNotFound(id));
    }
    Ok(Json(events))
}

/// The whole audit trail, in the order SQLite stored it.
async fn audit(s: State<AppState>) -> Answer<Vec<BankEvent>> {
    let all = s.store.get_all_events().await;
    Ok(Json(all.map_err(BankError::Internal)?))
}

/// The REST API: method, path, documented statuses | description. Served by axum (in `app`) and
/// described on AllFrame's `Router`, from which AllFrame's `OpenApiGenerator` writes the document.
const API: [&str; 9] = [
    "GET /health 200 | Liveness probe",
    "GET /openapi.json 200 | This document (AllFrame OpenApiGenerator)",
    "POST /accounts 201 400 409 413 415 422 | Open an account (CommandBus)",
    "GET /accounts/{id} 200 400 404 | Balance, folded from the account's events (QueryBus)",
    "POST /accounts/{id}/deposits 200 400 404 413 415 422 | Deposit (CommandBus)",
    "GET /accounts/{id}/transactions 200 400 404 | Transaction history (QueryBus)",
    "POST /transfers 201 400 403 404 409 413 415 422 504 | Transfer saga: debit, fraud check, credit",
    "GET /transfers/{id} 200 400 404 | A transfer's audit trail, outcome last (QueryBus)",
    "GET /audit 200 | Every stored event, in order (SQLite event store)",
];

fn request_schema(path: &str) -> Option<Value> {
    let cents = json!({"type": "integer", "minimum": 1, "maximum": i64::MAX});
    let s = json!({"type": "string"});
    let (properties, required) = match path {
        "/accounts" => (
            json!({"account_id": s, "owner": s, "external": {"type": "boolean"}}),
            json!(["account_id", "owner"]),
        ),
        "/accounts/{id}/deposits" => (json!({ "amount_cents": cents }), json!(["amount_cents"])),
        "/transfers" => (
            json!({"from": s, "to": s, "amount_cents": cents, "transfer_id": s}),
            json!(["from", "to", "amount_cents"]),
        ),
        _ => return None,
    };
    Some(json!({"type": "object", "properties": properties, "required": required}))
}

/// The OpenAPI 3.1 document, generated by AllFrame from `API`; the statuses and path parameters,
/// which AllFrame's generator does not write, added by `demo_support::openapi`.
fn openapi_document() -> Value {
    let mut routes = AfRouter::new();
    for row in API.map(openapi::parse) {
        let mut meta = RouteMetadata::new(row.path, row.method, "rest");
        meta.description = Some(row.description.into());
        meta.request_schema = request_schema(row.path);
        routes.add_route(meta);
    }
    let generator = OpenApiGenerator::new("AllFrame banking demo", env!("CARGO_PKG_VERSION"));
    let mut doc = generator.generate(&routes);
    openapi::document_all(&mut doc, &API);
    doc
}

/// Builds the application on the configured SQLite event store, finishing the transfers a crash
/// interrupted and opening the demo accounts if missing. Transfer sagas run on `tasks`, which
/// `main` waits for at shutdown.
pub async fn app(config: Config, tasks: TaskTracker) -> Result<Router, String> {
    let store = Store::with_backend(SqliteEventStoreBackend::new(&config.db).await?);
    let bank = Bank {
        store: store.clone(),
        config,
        sagas: SagaOrchestrator::new(),
        locks: KeyedLocks::default(),
    };
    bank.recover().await?;
    let commands = CommandBus::new();
    commands.register::<OpenAccount, _>(bank.clone()).await;
    commands.register::<Deposit, _>(bank.clone()).await;
    commands.register::<TransferMoney, _>(bank.clone()).await;
    let queries = QueryBus::new();
    queries
        .register::<GetAccount, Option<Account>, _>(bank.clone())
        .await;
    queries.register::<GetStream, Vec<BankEvent>, _>(bank).await;
    let seeds = [
        ("alice", "Alice", 500_000),
        ("bob", "Bob", 10_000),
        ("partner", "Partner Bank", 0),
    ];
    for (id, owner, cents) in seeds {
        if account(&store, id).await?.is_some() {
            continue;
        }
        let open = OpenAccount {
            account_id: id.into(),
            owner: owner.into(),
            external: id == "partner",
        };
        commands.dispatch(open).await.map_err(|e| e.to_string())?;
        if let Ok(cents) = Cents::try_from(cents) {
            let funded = commands.dispatch(Deposit(id.into(), cents)).await;
            funded.map_err(|e| e.to_string())?;
        }
    }
    let doc = openapi_document();
    let state = AppState {
        commands,
        queries,
        store,
        tasks,
    };
    Ok(Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/openapi.json", get(|| async move { Json(doc) }))
        .route("/accounts", post(open_account))
        .route("/accounts/{id}", get(get_account))
        .route("/accounts/{id}/deposits", post(deposit))
        .route("/accounts/{id}/transactions", get(history))
        .route("/transfers", post(transfer))
        .route("/transfers/{id}", get(transfer_audit))
        .route("/audit", get(audit))
        .with_state(state))
}

/// Probes of AllFrame 0.1.28 saga behaviour that the README reports under "Findings about
/// AllFrame". Each passes while the behaviour is as found; a failure means AllFrame changed and
/// the README needs updating.
#[cfg(test)]
mod findings {
    use super::*;

    /// A step that fails, sleeps past its timeout, or (with `bad_undo`) fails its compensation.
    struct Probe(&'static str, Option<Duration>, bool);

    #[async_trait::async_trait]
    impl allframe_core::cqrs::OrchestratorSagaStep<BankEvent> for Probe {
        async fn execute(&self) -> Result<Vec<BankEvent>, String> {
            if let Some(d) = self.1 {
                tokio::time::sleep(d).await;
            }
            match self.0 {
                "fail" => Err("step failed".into()),
                _ => Ok(vec![]),
            }
        }
        async fn compensate(&self) -> Result<Vec<BankEvent>, String> {
            if self.2 {
                return Err("compensation failed".into());
            }
            Ok(vec![])
        }
        fn name(&self) -> &str {
            self.0
        }
        fn timeout_duration(&self) -> Duration {
            Duration::from_millis(50)
        }
    }

    fn saga(id: &str, bad_undo: bool, last: Probe) -> SagaDefinition<BankEvent> {
        SagaDefinition::new(id)
            .add_step(Probe("ok", None, bad_undo))
            .add_step(last)
    }

    #[tokio::test]
    async fn finding_timed_out_saga_is_missing_from_history() {
        let sagas = SagaOrchestrator::<BankEvent>::new();
        let failed = saga("a", false, Probe("fail", None, false));
        assert!(matches!(
            sagas.execute(failed).await,
            Err(SagaError::StepFailed { .. })
        ));
        assert_eq!(sagas.history_count().await, 1);
        let slow = Some(Duration::from_secs(1));
        let timed_out = saga("b", false, Probe("slow", slow, false));
        assert!(matches!(
            sagas.execute(timed_out).await,
            Err(SagaError::Timeout { .. })
        ));
        assert_eq!(
            sagas.history_count().await,
            1,
            "the timed-out saga left no trace"
        );
    }

    #[tokio::test]
    async fn finding_failed_compensation_is_not_reported() {
        let sagas = SagaOrchestrator::<BankEvent>::new();
        let result = sagas
            .execute(saga("c", true, Probe("fail", None, false)))
            .await;
        assert!(
            matches!(result, Err(SagaError::StepFailed { .. })),
            "{result:?}"
        );
        let slow = Some(Duration::from_secs(1));
        let result = sagas
            .execute(saga("d", true, Probe("slow", slow, false)))
            .await;
        assert!(
            matches!(result, Err(SagaError::Timeout { .. })),
            "{result:?}"
        );
    }
}
