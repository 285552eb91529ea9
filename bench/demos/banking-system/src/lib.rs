//! banking-system: the PRD's scenario 4 (saga orchestration) built on AllFrame 0.1.28.
//!
//! From AllFrame (allframe-core, features `cqrs`, `cqrs-sqlite`): `EventStore` over
//! `SqliteEventStoreBackend` (the audit trail), `Aggregate` (accounts folded from their streams),
//! `CommandBus` (open account, deposit, transfer), `QueryBus` (account, history), `SagaOrchestrator`
//! + `OrchestratorSagaStep` (transfers: debit → fraud check → credit, per-step `timeout_duration`,
//! reverse compensation), `router::Router` + `RouteMetadata` + `OpenApiGenerator` (the OpenAPI 3.1
//! document, through `demo_support::apidoc`). From other crates: axum 0.8 serves HTTP (AllFrame's
//! `RestAdapter` serves none), tokio, serde, thiserror; `demo-support` has the JSON errors,
//! extractors, checked money, the saga runner and serving all demos share.
pub mod domain;
pub mod transfer;

use std::time::Duration;

use allframe_core::cqrs::{
    Command, CommandBus, CommandError, CommandHandler, CommandResult, Query, QueryBus, QueryError,
    QueryHandler, QueryResult, SagaDefinition, SagaOrchestrator, SqliteEventStoreBackend,
};
use axum::{extract::State, http::StatusCode, routing::get, routing::post, Router};
use demo_support::events::{self, stream, GetStream, Streams};
use demo_support::extract::{Json, Path};
use demo_support::saga::{self, Failure};
use demo_support::{apidoc, error::ApiError, locks::KeyedLocks, money, money::Cents};
use domain::{account, Account, BankEvent, Cause, Movement, Opening, Store, TransferRequest};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_util::task::TaskTracker;
use transfer::{Step, Transfer, STEPS};

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

pub struct OpenAccount(pub Opening);
impl Command for OpenAccount {}

pub struct Deposit(pub String, pub Cents);
impl Command for Deposit {}

pub struct TransferMoney(pub TransferRequest);
impl Command for TransferMoney {}

#[derive(Clone)]
pub struct Bank {
    pub store: Store,
    pub config: Config,
    sagas: SagaOrchestrator<BankEvent>,
    /// One lock per stream: every check-then-append holds the lock of the stream it appends to.
    pub locks: KeyedLocks,
}

impl Bank {
    async fn existing(&self, id: &str) -> Result<Account, CommandError> {
        let found = account(&self.store, id)
            .await
            .map_err(CommandError::Internal)?;
        found.ok_or_else(|| CommandError::NotFound(format!("account {id} not found")))
    }

    /// Finishes the transfers a crash left without an outcome: settled from the stored events.
    async fn recover(&self) -> Result<(), String> {
        let events = self.store.get_all_events().await?;
        let finished: Vec<&str> = events.iter().filter_map(BankEvent::outcome_of).collect();
        for event in &events {
            match event {
                BankEvent::TransferRequested(r) if !finished.contains(&r.transfer_id.as_str()) => {
                    let failure = Failure::new("restart", Cause::Interrupted);
                    Transfer::new(self, r.clone()).finish(Some(failure)).await?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl CommandHandler<OpenAccount, BankEvent> for Bank {
    async fn handle(&self, OpenAccount(opening): OpenAccount) -> CommandResult<BankEvent> {
        let id = &opening.account_id;
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            let rule = "letters, digits and '-' only";
            return Err(events::invalid("account_id", rule));
        }
        let (stream_name, _lock) = events::claim(&self.store, &self.locks, "account", id).await?;
        let opened = BankEvent::AccountOpened(opening);
        events::append(&self.store, &stream_name, opened).await
    }
}

#[async_trait::async_trait]
impl CommandHandler<Deposit, BankEvent> for Bank {
    async fn handle(&self, Deposit(id, amount): Deposit) -> CommandResult<BankEvent> {
        let stream_name = stream("account", &id);
        let _lock = self.locks.lock(&stream_name).await;
        let balance = self.existing(&id).await?.balance_cents;
        if money::credit(balance, amount.0).is_none() {
            let overflow = format!("the deposit would overflow the balance of {id}");
            return Err(CommandError::BusinessLogic(overflow));
        }
        let deposited = BankEvent::Deposited(Movement::new(&id, "", amount));
        events::append(&self.store, &stream_name, deposited).await
    }
}

/// Runs the transfer saga. A refused transfer is still a processed command: its outcome,
/// `TransferCompleted` or `TransferFailed`, is the last event returned.
#[async_trait::async_trait]
impl CommandHandler<TransferMoney, BankEvent> for Bank {
    async fn handle(&self, TransferMoney(mut request): TransferMoney) -> CommandResult<BankEvent> {
        request.transfer_id = events::new_id(request.transfer_id);
        let id = &request.transfer_id;
        let (stream_name, _lock) = events::claim(&self.store, &self.locks, "transfer", id).await?;
        self.existing(&request.from).await?;
        self.existing(&request.to).await?;
        let requested = BankEvent::TransferRequested(request.clone());
        let mut events = events::append(&self.store, &stream_name, requested).await?;
        let t = Transfer::new(self, request);
        let steps = (0..STEPS.len()).map(|i| Step(i, t.clone()));
        let saga = steps.fold(SagaDefinition::new(stream_name), SagaDefinition::add_step);
        let (done, failure) = saga::run(&self.sagas, saga, &STEPS, &t.blame).await;
        events.extend(done);
        events.extend(t.finish(failure).await.map_err(CommandError::Internal)?);
        Ok(events)
    }
}

pub struct GetAccount(pub String);
impl Query for GetAccount {}
#[async_trait::async_trait]
impl QueryHandler<GetAccount, Option<Account>> for Bank {
    async fn handle(&self, q: GetAccount) -> QueryResult<Option<Account>> {
        let found = account(&self.store, &q.0).await;
        found.map_err(QueryError::Internal)
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
        // An account id is the one field a command validates (amounts are checked as the JSON is
        // read), and an overflowing deposit the one business rule refused with an error.
        match self {
            BankError::AccountNotFound(_) => (StatusCode::NOT_FOUND, "account_not_found"),
            BankError::TransferNotFound(_) => (StatusCode::NOT_FOUND, "transfer_not_found"),
            BankError::Command(e) => match e {
                CommandError::Validation(_) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "invalid_account_id")
                }
                CommandError::BusinessLogic(_) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "balance_overflow")
                }
                CommandError::NotFound(_) => (StatusCode::NOT_FOUND, "account_not_found"),
                CommandError::AlreadyExecuted(_) => (StatusCode::CONFLICT, "already_exists"),
                _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
            },
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
    Json(opening): Json<Opening>,
) -> Result<(StatusCode, Json<Account>), BankError> {
    let id = opening.account_id.clone();
    s.commands.dispatch(OpenAccount(opening)).await?;
    Ok((StatusCode::CREATED, get_account(s, Path(id)).await?))
}

async fn get_account(s: State<AppState>, Path(id): Path<String>) -> Answer<Account> {
    let found: Option<Account> = s.queries.dispatch(GetAccount(id.clone())).await?;
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
    let deposit = Deposit(id.clone(), b.amount_cents);
    s.commands.dispatch(deposit).await?;
    get_account(s, Path(id)).await
}

async fn events(s: &AppState, stream_name: String) -> Result<Vec<BankEvent>, BankError> {
    Ok(s.queries.dispatch(GetStream(stream_name)).await?)
}

async fn history(s: State<AppState>, Path(id): Path<String>) -> Answer<Vec<BankEvent>> {
    get_account(s.clone(), Path(id.clone())).await?;
    Ok(Json(events(&s, stream("account", &id)).await?))
}

/// The saga runs in a task of its own, so it completes or compensates even when the client goes
/// away. 201 when the money moved; otherwise the JSON error shape plus `transfer_id` and events.
async fn transfer(
    s: State<AppState>,
    Json(request): Json<TransferRequest>,
) -> Result<(StatusCode, axum::Json<Value>), BankError> {
    let commands = s.commands.clone();
    let events = saga::spawn(&s.tasks, async move {
        commands.dispatch(TransferMoney(request)).await
    });
    let events = events.await.map_err(BankError::Internal)??;
    match events.last() {
        Some(BankEvent::TransferFailed {
            transfer_id,
            failure,
        }) => Ok(failure.answer(failure.kind.status(), "transfer_id", transfer_id, &events)),
        Some(BankEvent::TransferCompleted { transfer_id }) => {
            let body = json!({ "transfer_id": transfer_id });
            Ok(saga::answer(StatusCode::CREATED, body, &events))
        }
        _ => Err(BankError::Internal("the transfer has no outcome".into())),
    }
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

/// The OpenAPI 3.1 document of `API`, with the request bodies' schemas.
fn openapi_document() -> Value {
    let s = json!({"type": "string"});
    let cents = Cents::schema();
    let account = json!({"type": "object", "required": ["account_id", "owner"],
        "properties": {"account_id": s, "owner": s, "external": {"type": "boolean"}}});
    let deposit = json!({"type": "object", "required": ["amount_cents"],
        "properties": {"amount_cents": cents}});
    let transfer = json!({"type": "object", "required": ["from", "to", "amount_cents"],
        "properties": {"from": s, "to": s, "amount_cents": cents, "transfer_id": s}});
    let bodies = [
        ("POST /accounts", account),
        ("POST /accounts/{id}/deposits", deposit),
        ("POST /transfers", transfer),
    ];
    let version = env!("CARGO_PKG_VERSION");
    apidoc::generate("AllFrame banking demo", version, &API, &bodies)
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
    queries.register::<GetAccount, _, _>(bank).await;
    queries
        .register::<GetStream, _, _>(Streams(store.clone()))
        .await;
    // The demo accounts, opened and funded through the commands (once: at a later start they exist).
    let seeds = json!([
        [{"account_id": "alice", "owner": "Alice"}, 500_000],
        [{"account_id": "bob", "owner": "Bob"}, 10_000],
        [{"account_id": "partner", "owner": "Partner Bank", "external": true}, 0],
    ]);
    let seeds: Vec<(Opening, u64)> = serde_json::from_value(seeds).map_err(|e| e.to_string())?;
    for (opening, cents) in seeds {
        let id = opening.account_id.clone();
        match commands.dispatch(OpenAccount(opening)).await {
            Err(CommandError::AlreadyExecuted(_)) => continue,
            opened => opened.map_err(|e| e.to_string())?,
        };
        if let Ok(cents) = Cents::try_from(cents) {
            let funded = commands.dispatch(Deposit(id, cents)).await;
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
    use allframe_core::cqrs::saga_orchestrator::SagaError;

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
