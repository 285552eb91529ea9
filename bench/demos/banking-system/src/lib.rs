//! banking-system: the PRD's scenario 4 (saga orchestration) built on AllFrame 0.1.28.
//!
//! From AllFrame (allframe-core, features `cqrs`, `cqrs-sqlite`): `EventStore` over `SqliteEventStoreBackend`
//! (the audit trail), `Aggregate` (accounts folded from their streams), `CommandBus` (open account, deposit,
//! transfer), `QueryBus` (account, history), `SagaOrchestrator` + `OrchestratorSagaStep` (transfers: debit →
//! fraud check → credit, per-step `timeout_duration`, reverse compensation), `router::Router` +
//! `RouteMetadata` + `OpenApiGenerator` (the OpenAPI 3.1 document).
//! From other crates: axum 0.8 serves HTTP (AllFrame's `RestAdapter` serves none), tokio, serde, uuid.
pub mod domain;

use std::{sync::Arc, time::Duration};

use allframe_core::cqrs::{
    Command, CommandBus, CommandError, CommandHandler, CommandResult, Query, QueryBus, QueryError, QueryHandler,
    QueryResult, SagaDefinition, SagaOrchestrator, SqliteEventStoreBackend, ValidationError,
};
// Not `cqrs::SagaError`: that is another enum, of the older `saga` module.
use allframe_core::cqrs::saga_orchestrator::SagaError;
use allframe_core::router::{OpenApiGenerator, RouteMetadata, Router as AfRouter};
use axum::{
    extract::{rejection::JsonRejection, FromRequest, Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post, MethodRouter},
    Json, Router,
};
use domain::*;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Mutex;

/// Start-up settings. `db` is the SQLite file of the event store (`:memory:` keeps it in memory).
#[derive(Clone)]
pub struct Config {
    pub db: String,
    pub fraud_limit_cents: u64,
    pub partner_delay: Duration,
    pub credit_timeout: Duration,
}

impl Default for Config {
    /// `BANK_DB` names the SQLite file; by default the audit trail lives in memory.
    fn default() -> Self {
        let db = std::env::var("BANK_DB").unwrap_or_else(|_| ":memory:".into());
        let (partner_delay, credit_timeout) = (Duration::from_millis(1500), Duration::from_millis(300));
        Config { db, fraud_limit_cents: 1_000_000, partner_delay, credit_timeout }
    }
}

pub struct OpenAccount {
    pub account_id: String,
    pub owner: String,
    pub external: bool,
}
impl Command for OpenAccount {}
pub struct Deposit {
    pub account_id: String,
    pub amount_cents: u64,
}
impl Command for Deposit {}
pub struct TransferMoney {
    pub from: String,
    pub to: String,
    pub amount_cents: u64,
}
impl Command for TransferMoney {}

#[derive(Clone)]
pub struct Bank {
    store: Store,
    config: Config,
    sagas: SagaOrchestrator<BankEvent>,
    /// One money movement at a time: a balance is checked and debited without a race.
    lock: Arc<Mutex<()>>,
}

fn invalid(field: &str, message: &str) -> CommandError {
    CommandError::Validation(vec![ValidationError::new(field, message)])
}

impl Bank {
    async fn record(&self, stream_name: String, event: BankEvent) -> CommandResult<BankEvent> {
        self.store.append(&stream_name, vec![event.clone()]).await.map_err(CommandError::Internal)?;
        Ok(vec![event])
    }
    async fn existing(&self, id: &str) -> Result<Account, CommandError> {
        let found = account(&self.store, id).await.map_err(CommandError::Internal)?;
        found.ok_or_else(|| CommandError::NotFound(format!("account {id} not found")))
    }
}

#[async_trait::async_trait]
impl CommandHandler<OpenAccount, BankEvent> for Bank {
    async fn handle(&self, c: OpenAccount) -> CommandResult<BankEvent> {
        if c.account_id.is_empty() || !c.account_id.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-') {
            return Err(invalid("account_id", "letters, digits and '-' only"));
        }
        if self.existing(&c.account_id).await.is_ok() {
            return Err(CommandError::AlreadyExecuted(format!("account {} exists", c.account_id)));
        }
        let (account_id, owner, external) = (c.account_id.clone(), c.owner, c.external);
        self.record(stream("account", &c.account_id), BankEvent::AccountOpened { account_id, owner, external }).await
    }
}

#[async_trait::async_trait]
impl CommandHandler<Deposit, BankEvent> for Bank {
    async fn handle(&self, c: Deposit) -> CommandResult<BankEvent> {
        if c.amount_cents == 0 {
            return Err(invalid("amount_cents", "must be positive"));
        }
        self.existing(&c.account_id).await?;
        let event = BankEvent::Deposited { account_id: c.account_id.clone(), amount_cents: c.amount_cents };
        self.record(stream("account", &c.account_id), event).await
    }
}

/// Runs the transfer saga. A refused transfer is still a processed command: its outcome, `TransferCompleted`
/// or `TransferFailed`, is the last event returned.
#[async_trait::async_trait]
impl CommandHandler<TransferMoney, BankEvent> for Bank {
    async fn handle(&self, c: TransferMoney) -> CommandResult<BankEvent> {
        if c.amount_cents == 0 {
            return Err(invalid("amount_cents", "must be positive"));
        }
        let _one_at_a_time = self.lock.lock().await;
        self.existing(&c.from).await?;
        self.existing(&c.to).await?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (from, to, amount_cents) = (c.from, c.to, c.amount_cents);
        let requested =
            BankEvent::TransferRequested { transfer_id: id.clone(), from: from.clone(), to: to.clone(), amount_cents };
        let mut events = self.record(stream("transfer", &id), requested).await?;
        let t = Transfer { store: self.store.clone(), id: id.clone(), from, to, amount_cents };
        let (delay, timeout) = (self.config.partner_delay, self.config.credit_timeout);
        let saga = SagaDefinition::new(format!("transfer-{id}"))
            .add_step(DebitSource(t.clone()))
            .add_step(FraudCheck(t.clone(), self.config.fraud_limit_cents))
            .add_step(CreditDestination { transfer: t, delay, timeout });
        let outcome = match self.sagas.execute(saga).await {
            Ok(done) => {
                events.extend(done);
                BankEvent::TransferCompleted { transfer_id: id.clone() }
            }
            Err(e) => {
                let (step, kind) = match &e {
                    SagaError::StepFailed { step_name, .. } if step_name == "fraud-check" => {
                        (step_name.clone(), "fraud")
                    }
                    SagaError::StepFailed { step_name, .. } => (step_name.clone(), "insufficient_funds"),
                    SagaError::Timeout { step_index, .. } => (STEPS[*step_index].into(), "timeout"),
                    _ => (String::new(), "internal"),
                };
                BankEvent::TransferFailed { transfer_id: id.clone(), step, kind: kind.into(), reason: e.to_string() }
            }
        };
        events.extend(self.record(stream("transfer", &id), outcome).await?);
        Ok(events)
    }
}

const STEPS: [&str; 3] = ["debit-source", "fraud-check", "credit-destination"];

pub struct GetAccount(pub String);
impl Query for GetAccount {}
/// The events of one stream: an account's transaction history or a transfer's audit trail.
pub struct GetStream(pub String);
impl Query for GetStream {}

#[async_trait::async_trait]
impl QueryHandler<GetAccount, Option<Account>> for Bank {
    async fn handle(&self, q: GetAccount) -> QueryResult<Option<Account>> {
        account(&self.store, &q.0).await.map_err(QueryError::Internal)
    }
}

#[async_trait::async_trait]
impl QueryHandler<GetStream, Vec<BankEvent>> for Bank {
    async fn handle(&self, q: GetStream) -> QueryResult<Vec<BankEvent>> {
        self.store.get_events(&q.0).await.map_err(QueryError::Internal)
    }
}

#[derive(Clone)]
pub struct AppState {
    commands: CommandBus<BankEvent>,
    queries: QueryBus,
    store: Store,
}

/// Every error leaves as JSON: `{"error": "...", "status": 4xx}`.
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1, "status": self.0.as_u16() }))).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        ApiError(r.status(), r.body_text())
    }
}

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        let status = match &e {
            CommandError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            CommandError::NotFound(_) => StatusCode::NOT_FOUND,
            CommandError::BusinessLogic(_) | CommandError::AlreadyExecuted(_) => StatusCode::CONFLICT,
            CommandError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.to_string())
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

/// axum's `Json`, with its rejections (malformed JSON, wrong types, no content type) turned into `ApiError`.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Body<T>(T);

type ApiResult = Result<Response, ApiError>;

fn ok(status: StatusCode, body: impl serde::Serialize) -> ApiResult {
    Ok((status, Json(body)).into_response())
}

#[derive(Deserialize)]
pub struct NewAccount {
    account_id: String,
    owner: String,
    #[serde(default)]
    external: bool,
}

async fn open_account(State(s): State<AppState>, Body(b): Body<NewAccount>) -> ApiResult {
    let id = b.account_id.clone();
    s.commands.dispatch(OpenAccount { account_id: b.account_id, owner: b.owner, external: b.external }).await?;
    get_account(State(s), Path(id)).await.map(|r| (StatusCode::CREATED, r).into_response())
}

async fn get_account(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let found = s.queries.dispatch::<GetAccount, Option<Account>>(GetAccount(id.clone())).await?;
    ok(StatusCode::OK, found.ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("account {id} not found")))?)
}

#[derive(Deserialize)]
pub struct Amount {
    amount_cents: u64,
}

async fn deposit(State(s): State<AppState>, Path(id): Path<String>, Body(b): Body<Amount>) -> ApiResult {
    s.commands.dispatch(Deposit { account_id: id.clone(), amount_cents: b.amount_cents }).await?;
    get_account(State(s), Path(id)).await
}

async fn history(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let events = s.queries.dispatch::<GetStream, Vec<BankEvent>>(GetStream(stream("account", &id))).await?;
    ok(StatusCode::OK, events)
}

#[derive(Deserialize)]
pub struct NewTransfer {
    from: String,
    to: String,
    amount_cents: u64,
}

/// 201 when the money moved; 422 insufficient funds, 403 fraud stop, 504 timed-out step (each compensated).
async fn transfer(State(s): State<AppState>, Body(b): Body<NewTransfer>) -> ApiResult {
    let events = s.commands.dispatch(TransferMoney { from: b.from, to: b.to, amount_cents: b.amount_cents }).await?;
    let (status, transfer_id, error) = match events.last() {
        Some(BankEvent::TransferFailed { transfer_id, kind, reason, .. }) => {
            let status = match kind.as_str() {
                "fraud" => StatusCode::FORBIDDEN,
                "timeout" => StatusCode::GATEWAY_TIMEOUT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            (status, transfer_id.clone(), Some(reason.clone()))
        }
        Some(BankEvent::TransferCompleted { transfer_id }) => (StatusCode::CREATED, transfer_id.clone(), None),
        _ => return Err(ApiError(StatusCode::INTERNAL_SERVER_ERROR, "transfer has no outcome".into())),
    };
    ok(status, json!({"transfer_id": transfer_id, "error": error, "status": status.as_u16(), "events": events}))
}

async fn transfer_audit(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let events = s.queries.dispatch::<GetStream, Vec<BankEvent>>(GetStream(stream("transfer", &id))).await?;
    if events.is_empty() {
        return Err(ApiError(StatusCode::NOT_FOUND, format!("transfer {id} not found")));
    }
    ok(StatusCode::OK, events)
}

/// The whole audit trail, in the order SQLite stored it.
async fn audit(State(s): State<AppState>) -> ApiResult {
    ok(StatusCode::OK, s.store.get_all_events().await.map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e))?)
}

/// The REST API, one table: each row is served by axum and described on AllFrame's `Router`
/// (`RouteMetadata`), from which AllFrame's `OpenApiGenerator` writes the OpenAPI 3.1 document.
fn routes() -> Vec<(&'static str, &'static str, &'static str, MethodRouter<AppState>, Option<Value>)> {
    let object = |props: Value, required: &[&str]| json!({"type": "object", "properties": props, "required": required});
    let (s, n) = (json!({"type": "string"}), json!({"type": "integer", "minimum": 1}));
    let account =
        object(json!({"account_id": s, "owner": s, "external": {"type": "boolean"}}), &["account_id", "owner"]);
    let amount = object(json!({"amount_cents": n}), &["amount_cents"]);
    let transfer_body = object(json!({"from": s, "to": s, "amount_cents": n}), &["from", "to", "amount_cents"]);
    vec![
        ("GET", "/health", "Liveness probe", get(|| async { Json(json!({"status": "ok"})) }), None),
        ("POST", "/accounts", "Open an account (CommandBus)", post(open_account), Some(account)),
        ("GET", "/accounts/{id}", "Balance, folded from the account's events (QueryBus)", get(get_account), None),
        ("POST", "/accounts/{id}/deposits", "Deposit (CommandBus)", post(deposit), Some(amount)),
        ("GET", "/accounts/{id}/transactions", "Transaction history (QueryBus)", get(history), None),
        ("POST", "/transfers", "Transfer saga: debit, fraud check, credit", post(transfer), Some(transfer_body)),
        ("GET", "/transfers/{id}", "A transfer's audit trail (QueryBus)", get(transfer_audit), None),
        ("GET", "/audit", "Every stored event, in order (SQLite event store)", get(audit), None),
    ]
}

/// Builds the application on the configured SQLite event store, opening the demo accounts if missing.
pub async fn app(config: Config) -> Result<Router, String> {
    let store = Store::with_backend(SqliteEventStoreBackend::new(&config.db).await?);
    let (sagas, lock) = (SagaOrchestrator::new(), Arc::new(Mutex::new(())));
    let bank = Bank { store: store.clone(), config, sagas, lock };
    let (commands, queries) = (CommandBus::new(), QueryBus::new());
    commands.register::<OpenAccount, _>(bank.clone()).await;
    commands.register::<Deposit, _>(bank.clone()).await;
    commands.register::<TransferMoney, _>(bank.clone()).await;
    queries.register::<GetAccount, Option<Account>, _>(bank.clone()).await;
    queries.register::<GetStream, Vec<BankEvent>, _>(bank).await;
    for (id, owner, external, deposit) in
        [("alice", "Alice", false, 500_000), ("bob", "Bob", false, 10_000), ("partner", "Partner Bank", true, 0)]
    {
        if account(&store, id).await?.is_none() {
            let open = OpenAccount { account_id: id.into(), owner: owner.into(), external };
            commands.dispatch(open).await.map_err(|e| e.to_string())?;
            if deposit > 0 {
                commands
                    .dispatch(Deposit { account_id: id.into(), amount_cents: deposit })
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    let mut af_router = AfRouter::new();
    for (method, path, description, _, request) in routes() {
        let mut meta = RouteMetadata::new(path, method, "rest").with_description(description);
        meta.request_schema = request;
        af_router.add_route(meta);
    }
    let spec = OpenApiGenerator::new("AllFrame banking demo", env!("CARGO_PKG_VERSION")).generate(&af_router);
    let mut router = Router::new().route("/openapi.json", get(move || std::future::ready(Json(spec.clone()))));
    for (_, path, _, method_router, _) in routes() {
        router = router.route(path, method_router);
    }
    let not_found = || async { ApiError(StatusCode::NOT_FOUND, "no such route".into()) };
    let bad_method = || async { ApiError(StatusCode::METHOD_NOT_ALLOWED, "method not allowed".into()) };
    let state = AppState { commands, queries, store };
    Ok(router.fallback(not_found).method_not_allowed_fallback(bad_method).with_state(state))
}

/// Serves the app on an already bound listener until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, config: Config) -> std::io::Result<()> {
    axum::serve(listener, app(config).await.map_err(std::io::Error::other)?).await
}

/// Probes of AllFrame 0.1.28 saga behaviour that the README reports under "Findings about AllFrame". Each
/// passes while the behaviour is as found; a failure means AllFrame changed and the README needs updating.
#[cfg(test)]
mod findings {
    use super::*;

    /// A step that fails, sleeps past its timeout, or (with `bad_undo`) fails its own compensation.
    struct Probe(&'static str, Option<Duration>, bool);

    #[async_trait::async_trait]
    impl allframe_core::cqrs::OrchestratorSagaStep<BankEvent> for Probe {
        async fn execute(&self) -> Result<Vec<BankEvent>, String> {
            match self.1 {
                Some(d) => Ok(tokio::time::sleep(d).await).map(|_| vec![]),
                None if self.0 == "fail" => Err("step failed".into()),
                None => Ok(vec![]),
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

    #[tokio::test]
    async fn finding_timed_out_saga_is_missing_from_history() {
        let sagas = SagaOrchestrator::<BankEvent>::new();
        let failed = SagaDefinition::new("a").add_step(Probe("ok", None, false)).add_step(Probe("fail", None, false));
        assert!(matches!(sagas.execute(failed).await, Err(SagaError::StepFailed { .. })));
        assert_eq!(sagas.history_count().await, 1);
        let slow = Some(Duration::from_secs(1));
        let timed_out =
            SagaDefinition::new("b").add_step(Probe("ok", None, false)).add_step(Probe("slow", slow, false));
        assert!(matches!(sagas.execute(timed_out).await, Err(SagaError::Timeout { .. })));
        assert_eq!(sagas.history_count().await, 1, "the timed-out saga left no trace in the history");
    }

    #[tokio::test]
    async fn finding_failed_compensation_is_not_reported() {
        let sagas = SagaOrchestrator::<BankEvent>::new();
        let saga = SagaDefinition::new("c").add_step(Probe("ok", None, true)).add_step(Probe("fail", None, false));
        let result = sagas.execute(saga).await;
        assert!(matches!(result, Err(SagaError::StepFailed { .. })), "not CompensationFailed: {result:?}");
        let slow = Some(Duration::from_secs(1));
        let saga = SagaDefinition::new("d").add_step(Probe("ok", None, true)).add_step(Probe("slow", slow, false));
        let result = sagas.execute(saga).await;
        assert!(matches!(result, Err(SagaError::Timeout { .. })), "not CompensationFailed: {result:?}");
    }
}
