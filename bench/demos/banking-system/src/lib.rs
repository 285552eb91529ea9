//! banking-system: the PRD's scenario 4 (saga orchestration) built on AllFrame 0.1.28.
//!
//! From AllFrame (allframe-core, features `cqrs`, `cqrs-sqlite`): `EventStore` over
//! `SqliteEventStoreBackend` (the audit trail), `Aggregate` (accounts folded from their streams),
//! `CommandBus` (open account, deposit, transfer), `QueryBus` (account, history), `SagaOrchestrator` +
//! `OrchestratorSagaStep` (transfers: debit → fraud check → credit, per-step `timeout_duration`,
//! reverse compensation), `router::Router` + `RouteMetadata` + `OpenApiGenerator` (the OpenAPI 3.1
//! document). From other crates: axum 0.8 serves HTTP (AllFrame's `RestAdapter` serves none), tokio,
//! serde, uuid, thiserror; `demo-support` has the JSON errors, extractors and serving all demos share.
pub mod domain;

use std::{collections::HashSet, time::Duration};

use allframe_core::cqrs::saga_orchestrator::SagaError;
use allframe_core::cqrs::{
    Command, CommandBus, CommandError, CommandHandler, CommandResult, Query, QueryBus, QueryError,
    QueryHandler, QueryResult, SagaDefinition, SagaOrchestrator, SqliteEventStoreBackend,
    ValidationError,
};
use allframe_core::router::{OpenApiGenerator, RouteMetadata, Router as AfRouter};
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post, MethodRouter},
    Router,
};
use demo_support::{
    error::ApiError,
    extract::{Json, Path},
    locks::KeyedLocks,
};
use domain::*;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_util::task::TaskTracker;

/// Start-up settings. `db` is the SQLite file of the event store (`:memory:` keeps it in memory).
#[derive(Clone)]
pub struct Config {
    pub db: String,
    pub fraud_limit_cents: u64,
    pub partner_delay: Duration,
    pub credit_timeout: Duration,
}

impl Config {
    /// Transfers over 10,000.00 are stopped; the partner bank answers after 1.5 s, too late for the
    /// credit step's 300 ms.
    pub fn new(db: &str) -> Self {
        Config {
            db: db.into(),
            fraud_limit_cents: 1_000_000,
            partner_delay: Duration::from_millis(1500),
            credit_timeout: Duration::from_millis(300),
        }
    }

    /// `BANK_DB` names the SQLite file; by default the audit trail lives in memory.
    pub fn from_env() -> Self {
        Config::new(&std::env::var("BANK_DB").unwrap_or_else(|_| ":memory:".into()))
    }
}

/// An amount of cents, 1 to `i64::MAX` (balances are `i64`); anything else is refused as the JSON is
/// read (422).
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(try_from = "u64")]
pub struct Cents(pub u64);

impl TryFrom<u64> for Cents {
    type Error = String;
    fn try_from(n: u64) -> Result<Self, String> {
        match i64::try_from(n) {
            Ok(n) if n > 0 => Ok(Cents(n.unsigned_abs())),
            _ => Err(format!("amount_cents must be between 1 and {}", i64::MAX)),
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

pub struct Deposit {
    pub account_id: String,
    pub amount_cents: Cents,
}
impl Command for Deposit {}

/// `transfer_id` is optional: a client that gives its own can ask for the outcome even if it went
/// away before the answer.
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

fn valid_id(field: &str, id: &str) -> Result<(), CommandError> {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '-';
    if (1..=64).contains(&id.len()) && id.chars().all(ok) {
        return Ok(());
    }
    let error = ValidationError::new(field, "1 to 64 letters, digits and '-'");
    Err(CommandError::Validation(vec![error]))
}

impl Bank {
    async fn record(&self, stream_name: String, event: BankEvent) -> CommandResult<BankEvent> {
        let stored = self.store.append(&stream_name, vec![event.clone()]).await;
        stored.map_err(CommandError::Internal)?;
        Ok(vec![event])
    }

    async fn existing(&self, id: &str) -> Result<Account, CommandError> {
        let found = account(&self.store, id)
            .await
            .map_err(CommandError::Internal)?;
        found.ok_or_else(|| CommandError::NotFound(format!("account {id} not found")))
    }

    /// Ends a transfer whatever happened: settles it, then writes its one outcome event.
    async fn finish(
        &self,
        t: &Transfer,
        result: Result<(), SagaError>,
    ) -> CommandResult<BankEvent> {
        let reversal = t.settle().await;
        let transfer_id = t.request.transfer_id.clone();
        if t.credited().await {
            return self.completed(transfer_id).await;
        }
        let (step, kind) = match &result {
            Ok(()) => (String::new(), Cause::Internal),
            Err(SagaError::Timeout { step_index, .. }) => {
                (STEPS[*step_index].into(), Cause::Timeout)
            }
            Err(SagaError::StepFailed { step_name, .. }) => {
                let cause = t.progress.lock().await.cause;
                (step_name.clone(), cause.unwrap_or(Cause::Internal))
            }
            Err(_) => (String::new(), Cause::Internal),
        };
        let reason = match (&result, &reversal) {
            (_, Err(cause)) => format!("the debit could not be reversed: {cause}"),
            (Err(e), _) => e.to_string(),
            (Ok(()), _) => kind.to_string(),
        };
        let mut events = reversal.ok().flatten().into_iter().collect::<Vec<_>>();
        let failed = BankEvent::TransferFailed {
            transfer_id: transfer_id.clone(),
            step,
            kind,
            reason,
        };
        events.extend(
            self.record(stream("transfer", &transfer_id), failed)
                .await?,
        );
        Ok(events)
    }

    async fn completed(&self, transfer_id: String) -> CommandResult<BankEvent> {
        let stream_name = stream("transfer", &transfer_id);
        self.record(stream_name, BankEvent::TransferCompleted { transfer_id })
            .await
    }

    /// Transfers that a crash left without an outcome are finished at start-up.
    async fn recover(&self) -> Result<usize, String> {
        let events = self.store.get_all_events().await?;
        let finished: HashSet<&str> = events
            .iter()
            .filter_map(|e| match e {
                BankEvent::TransferCompleted { transfer_id }
                | BankEvent::TransferFailed { transfer_id, .. } => Some(transfer_id.as_str()),
                _ => None,
            })
            .collect();
        let mut recovered = 0;
        for event in &events {
            let BankEvent::TransferRequested(request) = event else {
                continue;
            };
            if finished.contains(request.transfer_id.as_str()) {
                continue;
            }
            let t = Transfer::resume(request.clone(), &events, self.store.clone()).await;
            t.progress.lock().await.cause = Some(Cause::Interrupted);
            let interrupted = SagaError::StepFailed {
                step_index: 0,
                step_name: "restart".into(),
                error: Cause::Interrupted.to_string(),
            };
            self.finish(&t, Err(interrupted))
                .await
                .map_err(|e| e.to_string())?;
            recovered += 1;
        }
        Ok(recovered)
    }
}

const STEPS: [&str; 3] = ["debit-source", "fraud-check", "credit-destination"];

#[async_trait::async_trait]
impl CommandHandler<OpenAccount, BankEvent> for Bank {
    async fn handle(&self, c: OpenAccount) -> CommandResult<BankEvent> {
        valid_id("account_id", &c.account_id)?;
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
        self.record(stream_name, opened).await
    }
}

#[async_trait::async_trait]
impl CommandHandler<Deposit, BankEvent> for Bank {
    async fn handle(&self, c: Deposit) -> CommandResult<BankEvent> {
        let stream_name = stream("account", &c.account_id);
        let _lock = self.locks.lock(&stream_name).await;
        let balance = self.existing(&c.account_id).await?.balance_cents;
        if balance.checked_add_unsigned(c.amount_cents.0).is_none() {
            let overflow = format!("the deposit would overflow the balance of {}", c.account_id);
            return Err(CommandError::BusinessLogic(overflow));
        }
        let deposited = BankEvent::Deposited(Movement {
            account_id: c.account_id,
            transfer_id: String::new(),
            amount_cents: c.amount_cents.0,
        });
        self.record(stream_name, deposited).await
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
        valid_id("transfer_id", &id)?;
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
        let mut events = self.record(stream_name, requested).await?;
        let t = Transfer::new(request, self.store.clone(), self.locks.clone());
        let saga = SagaDefinition::new(format!("transfer-{id}"))
            .add_step(DebitSource(t.clone()))
            .add_step(FraudCheck {
                transfer: t.clone(),
                limit_cents: self.config.fraud_limit_cents,
            })
            .add_step(CreditDestination {
                transfer: t.clone(),
                delay: self.config.partner_delay,
                timeout: self.config.credit_timeout,
            });
        let result = self.sagas.execute(saga).await;
        if let Ok(done) = &result {
            events.extend(done.iter().cloned());
        }
        events.extend(self.finish(&t, result.map(|_| ())).await?);
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
    #[error("event store: {0}")]
    Store(String),
    #[error("transfer task: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl ApiError for BankError {
    fn status_code(&self) -> (StatusCode, &'static str) {
        match self {
            BankError::AccountNotFound(_) => (StatusCode::NOT_FOUND, "account_not_found"),
            BankError::TransferNotFound(_) => (StatusCode::NOT_FOUND, "transfer_not_found"),
            // Ids are the only fields commands validate (amounts are checked as the JSON is read).
            BankError::Command(CommandError::Validation(_)) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_id")
            }
            // The one business rule a command refuses with an error (a refused transfer is an outcome).
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

/// The status of a refused transfer, by its cause.
fn failure_status(cause: Cause) -> StatusCode {
    match cause {
        Cause::InsufficientFunds | Cause::BalanceOverflow => StatusCode::UNPROCESSABLE_ENTITY,
        Cause::Fraud => StatusCode::FORBIDDEN,
        Cause::Timeout => StatusCode::GATEWAY_TIMEOUT,
        Cause::AccountNotFound => StatusCode::NOT_FOUND,
        Cause::Interrupted | Cause::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

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
    get_account(s, Path(id))
        .await
        .map(|a| (StatusCode::CREATED, a))
}

async fn get_account(State(s): State<AppState>, Path(id): Path<String>) -> Answer<Account> {
    let found = s
        .queries
        .dispatch::<GetAccount, Option<Account>>(GetAccount(id.clone()))
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
    let account_id = id.clone();
    let amount_cents = b.amount_cents;
    s.commands
        .dispatch(Deposit {
            account_id,
            amount_cents,
        })
        .await?;
    get_account(s, Path(id)).await
}

async fn events(s: &AppState, kind: &str, id: &str) -> Result<Vec<BankEvent>, BankError> {
    let query = GetStream(stream(kind, id));
    Ok(s.queries.dispatch::<GetStream, _>(query).await?)
}

async fn history(State(s): State<AppState>, Path(id): Path<String>) -> Answer<Vec<BankEvent>> {
    if s.queries
        .dispatch::<GetAccount, Option<Account>>(GetAccount(id.clone()))
        .await?
        .is_none()
    {
        return Err(BankError::AccountNotFound(id));
    }
    Ok(Json(events(&s, "account", &id).await?))
}

/// The saga runs in a task of its own, so it completes or compensates even when the client goes
/// away. 201 when the money moved; otherwise the JSON error shape plus `transfer_id` and the events.
async fn transfer(
    State(s): State<AppState>,
    Json(c): Json<TransferMoney>,
) -> Result<Response, BankError> {
    let commands = s.commands.clone();
    let events = s
        .tasks
        .spawn(async move { commands.dispatch(c).await })
        .await??;
    let (status, mut body) = match events.last() {
        Some(BankEvent::TransferFailed {
            transfer_id,
            kind,
            reason,
            ..
        }) => {
            let body = json!({"error": reason, "code": kind, "transfer_id": transfer_id});
            (failure_status(*kind), body)
        }
        Some(BankEvent::TransferCompleted { transfer_id }) => {
            (StatusCode::CREATED, json!({ "transfer_id": transfer_id }))
        }
        _ => return Err(BankError::Store("the transfer has no outcome".into())),
    };
    body["status"] = status.as_u16().into();
    body["events"] = json!(events);
    Ok((status, Json(body)).into_response())
}

async fn transfer_audit(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Answer<Vec<BankEvent>> {
    let events = events(&s, "transfer", &id).await?;
    if events.is_empty() {
        return Err(BankError::TransferNotFound(id));
    }
    Ok(Json(events))
}

/// The whole audit trail, in the order SQLite stored it.
async fn audit(State(s): State<AppState>) -> Answer<Vec<BankEvent>> {
    Ok(Json(
        s.store.get_all_events().await.map_err(BankError::Store)?,
    ))
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// One row of the REST API: served by axum, described on AllFrame's `Router`.
struct Route {
    method: &'static str,
    path: &'static str,
    description: &'static str,
    handler: MethodRouter<AppState>,
    body: Option<Value>,
    statuses: &'static [u16],
}

fn route(method: &'static str, path: &'static str, handler: MethodRouter<AppState>) -> Route {
    let description = "";
    let body = None;
    let statuses = &[200];
    Route {
        method,
        path,
        description,
        handler,
        body,
        statuses,
    }
}

impl Route {
    fn doc(self, description: &'static str, statuses: &'static [u16]) -> Self {
        Route {
            description,
            statuses,
            ..self
        }
    }
    fn body(self, properties: Value, required: &[&str]) -> Self {
        let schema = json!({"type": "object", "properties": properties, "required": required});
        Route {
            body: Some(schema),
            ..self
        }
    }
}

fn routes() -> Vec<Route> {
    let s = json!({"type": "string"});
    let cents = json!({"type": "integer", "minimum": 1, "maximum": i64::MAX});
    let account = json!({"account_id": s, "owner": s, "external": {"type": "boolean"}});
    let new_transfer = json!({"from": s, "to": s, "amount_cents": cents, "transfer_id": s});
    vec![
        route("GET", "/health", get(health)).doc("Liveness probe", &[200]),
        route("POST", "/accounts", post(open_account))
            .doc(
                "Open an account (CommandBus)",
                &[201, 400, 409, 413, 415, 422],
            )
            .body(account, &["account_id", "owner"]),
        route("GET", "/accounts/{id}", get(get_account)).doc(
            "Balance, folded from the account's events (QueryBus)",
            &[200, 400, 404],
        ),
        route("POST", "/accounts/{id}/deposits", post(deposit))
            .doc("Deposit (CommandBus)", &[200, 400, 404, 413, 415, 422])
            .body(json!({ "amount_cents": cents }), &["amount_cents"]),
        route("GET", "/accounts/{id}/transactions", get(history))
            .doc("Transaction history (QueryBus)", &[200, 400, 404]),
        route("POST", "/transfers", post(transfer))
            .doc(
                "Transfer saga: debit, fraud check, credit; the outcome is kept under its id",
                &[201, 400, 403, 404, 409, 413, 415, 422, 504],
            )
            .body(new_transfer, &["from", "to", "amount_cents"]),
        route("GET", "/transfers/{id}", get(transfer_audit)).doc(
            "A transfer's audit trail, outcome last (QueryBus)",
            &[200, 400, 404],
        ),
        route("GET", "/audit", get(audit)).doc("Every stored event, in order (SQLite)", &[200]),
    ]
}

/// The OpenAPI 3.1 document, generated by AllFrame from the route table; the statuses and path
/// parameters, which AllFrame's generator does not write, are added by `demo_support::openapi`.
fn openapi() -> Value {
    let mut af_router = AfRouter::new();
    for r in routes() {
        let mut meta = RouteMetadata::new(r.path, r.method, "rest").with_description(r.description);
        meta.request_schema = r.body;
        af_router.add_route(meta);
    }
    let generator = OpenApiGenerator::new("AllFrame banking demo", env!("CARGO_PKG_VERSION"));
    let mut doc = generator.generate(&af_router);
    for r in routes() {
        demo_support::openapi::document(&mut doc, r.method, r.path, r.statuses);
    }
    doc["paths"]["/openapi.json"]["get"] = json!({"responses": {"200": {"description": "OK"}}});
    doc
}

/// Builds the application on the configured SQLite event store: opens the demo accounts if missing
/// and finishes the transfers a crash interrupted. The transfer sagas run on `tasks`.
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
    let queries = QueryBus::new();
    commands.register::<OpenAccount, _>(bank.clone()).await;
    commands.register::<Deposit, _>(bank.clone()).await;
    commands.register::<TransferMoney, _>(bank.clone()).await;
    queries
        .register::<GetAccount, Option<Account>, _>(bank.clone())
        .await;
    queries.register::<GetStream, Vec<BankEvent>, _>(bank).await;
    let seeds = [
        ("alice", "Alice", false, 500_000),
        ("bob", "Bob", false, 10_000),
        ("partner", "Partner Bank", true, 0),
    ];
    for (id, owner, external, deposit) in seeds {
        if account(&store, id).await?.is_some() {
            continue;
        }
        let account_id = id.to_string();
        let owner = owner.to_string();
        let open = OpenAccount {
            account_id,
            owner,
            external,
        };
        commands.dispatch(open).await.map_err(|e| e.to_string())?;
        if let Ok(amount_cents) = Cents::try_from(deposit) {
            let account_id = id.to_string();
            let funded = commands
                .dispatch(Deposit {
                    account_id,
                    amount_cents,
                })
                .await;
            funded.map_err(|e| e.to_string())?;
        }
    }
    let spec = openapi();
    let mut router = Router::new().route("/openapi.json", get(move || async move { Json(spec) }));
    for r in routes() {
        router = router.route(r.path, r.handler);
    }
    Ok(router.with_state(AppState {
        commands,
        queries,
        store,
        tasks,
    }))
}

/// Probes of AllFrame 0.1.28 saga behaviour that the README reports under "Findings about
/// AllFrame". Each passes while the behaviour is as found; a failure means AllFrame changed and the
/// README needs updating.
#[cfg(test)]
mod findings {
    use super::*;

    /// A step that fails, sleeps past its timeout, or (with `bad_undo`) fails its own compensation.
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
