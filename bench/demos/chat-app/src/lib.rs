//! chat-app: the PRD's scenario 2 (real-time chat: GraphQL + subscriptions + WebSocket) on AllFrame 0.1.28.
//!
//! From AllFrame (allframe-core, features `cqrs`, `auth-jwt`): `EventStore` (in-memory; the message log is
//! event-sourced) and `EventStore::subscribe` (feeds live delivery), `CommandBus` (create channel, post
//! message), `QueryBus` (message history), `ProjectionRegistry` + `Projection` (channel directory),
//! `auth::JwtValidator` + `JwtConfig` + `extract_bearer_token` (sign-in, through demo-support's `auth`), `router::graphiql_html` (the page).
//! From other crates: async-graphql 7 + async-graphql-axum (GraphQL, subscriptions over WebSocket with the
//! graphql-transport-ws / graphql-ws protocols, SDL — AllFrame has no subscriptions or WebSockets), axum 0.8
//! (HTTP, WebSocket upgrade), demo-support (JSON errors and extractors, token signing, serving), tokio
//! (broadcast fan-out), serde, thiserror.
pub mod chat;
pub mod schema;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use allframe_core::cqrs::{CommandBus, EventStore, ProjectionRegistry, QueryBus};
use async_graphql::{Data, Schema};
use async_graphql_axum::{GraphQLProtocol, GraphQLResponse};
use axum::extract::ws::WebSocket;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chat::*;
use demo_support::auth::{self, Auth, Login, TokenError, User};
use demo_support::error::ApiError;
use demo_support::extract::{Json, Path};
use demo_support::graphql::{self as endpoint, Upgrade};
use demo_support::jwt::JwtError;
use schema::{MutationRoot, QueryRoot, SubscriptionRoot};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};

/// The `iss` and `aud` of this app's tokens (required and checked).
pub const ISSUER: &str = "chat-app";
pub const AUDIENCE: &str = "chat-app-api";

#[derive(Clone)]
pub struct Config {
    /// The HS256 secret, at least 32 bytes; there is no default.
    pub jwt_secret: String,
    /// How long a WebSocket may stay open without `connection_init` before it is closed with 4408.
    pub init_timeout: Duration,
    /// How many messages a live subscriber may fall behind before it is told it lagged.
    pub live_buffer: usize,
}

impl Config {
    /// `JWT_SECRET` (required; e.g. `JWT_SECRET=$(openssl rand -hex 32)`).
    pub fn from_env() -> Result<Config, JwtError> {
        Ok(Config {
            jwt_secret: auth::secret_from_env()?,
            init_timeout: Duration::from_secs(3),
            live_buffer: 1024,
        })
    }
}

/// The demo's users: password `<name>-password`.
pub const USERS: [&str; 3] = ["alice", "bob", "carol"];

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("unknown user or wrong password")]
    BadCredentials,
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("no such channel")]
    NoChannel,
    #[error("{0}")]
    Internal(String),
}

impl ApiError for ChatError {
    fn status_code(&self) -> (StatusCode, &'static str) {
        match self {
            ChatError::BadCredentials => (StatusCode::UNAUTHORIZED, "bad_credentials"),
            ChatError::Token(e) => e.status_code(),
            ChatError::NoChannel => (StatusCode::NOT_FOUND, "channel_not_found"),
            ChatError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

demo_support::json_error!(ChatError);

/// The state; the `User<Claims>` extractor finds its `Auth` here.
#[derive(Clone, FromRef)]
pub struct AppState {
    schema: schema::ChatSchema,
    queries: QueryBus,
    presence: Presence,
    auth: Auth<Claims>,
    config: Config,
}

async fn login(State(s): State<AppState>, Json(b): Json<Login>) -> Result<Json<Value>, ChatError> {
    if !USERS.iter().any(|name| b.is(name)) {
        return Err(ChatError::BadCredentials);
    }
    let hour = Duration::from_secs(3600);
    let token = s.auth.mint(&b.username, "member", hour)?;
    Ok(Json(json!({ "token": token })))
}

/// REST view of a channel's history (the load-test endpoint).
async fn history(
    State(s): State<AppState>,
    Path(channel): Path<String>,
) -> Result<Json<Vec<Message>>, ChatError> {
    let found = s.queries.dispatch(History { channel, last: 50 }).await;
    let found: Option<_> = found.map_err(|e| ChatError::Internal(e.to_string()))?;
    Ok(Json(found.ok_or(ChatError::NoChannel)?))
}

/// `POST /graphql`: read by the JSON extractor, so the app's body limit applies (async-graphql-axum's own
/// `GraphQLRequest` reads a body of any length).
async fn graphql(
    State(s): State<AppState>,
    User(u): User<Claims>,
    Json(req): Json<async_graphql::Request>,
) -> GraphQLResponse {
    s.schema.execute(req.data(u)).await.into()
}

/// `GET /graphql/ws`: graphql-transport-ws or graphql-ws (else a JSON 400), messages up to 64 KiB.
async fn websocket(State(s): State<AppState>, upgrade: Upgrade) -> Response {
    upgrade.on_upgrade(move |socket, protocol| subscriptions(s, socket, protocol))
}

/// One subscription WebSocket. Its `connection_init` payload carries `{"token": "..."}`, validated by
/// AllFrame's `JwtValidator`; the user counts as online until the socket closes. Without a
/// `connection_init` within `init_timeout` demo-support closes it with 4408, as graphql-transport-ws says.
async fn subscriptions(s: AppState, socket: WebSocket, protocol: GraphQLProtocol) {
    let user = Arc::new(Mutex::new(None::<String>));
    let on_init = {
        let user = user.clone();
        let auth = s.auth.clone();
        let presence = s.presence.clone();
        move |payload: Value| async move {
            let token = payload["token"].as_str().ok_or("no token")?;
            let claims = auth.validate(token)?;
            presence.join(&claims.sub);
            *user.lock().unwrap() = Some(claims.sub.clone());
            let mut data = Data::default();
            data.insert(Some(claims));
            Ok(data)
        }
    };
    let timeout = s.config.init_timeout;
    endpoint::serve_ws(socket, s.schema.clone(), protocol, timeout, on_init).await;
    let user = user.lock().unwrap().take();
    if let Some(user) = user {
        s.presence.leave(&user);
    }
}

/// The app; `Err` if the JWT secret is unusable (shorter than 32 bytes).
pub async fn app(config: Config) -> Result<Router, JwtError> {
    // AllFrame checks `iss` and `aud` only when a token has them; `Claims` makes them required.
    let auth = Auth::new(&config.jwt_secret, ISSUER, AUDIENCE)?;
    let store = EventStore::new();
    let directory = Directory::default();
    let projections = ProjectionRegistry::new(store.clone());
    projections.register("directory", directory.clone()).await;
    let subscribed = projections.start_subscription().await;
    subscribed.expect("the in-memory store accepts subscribers");
    // Live delivery: AllFrame's store pushes every appended event into this channel; a task fans it out to
    // the subscribers, each with a buffer of `live_buffer` messages.
    let (tx, mut rx) = mpsc::channel(1024);
    store.subscribe(tx).await;
    let live = broadcast::channel::<ChatEvent>(config.live_buffer).0;
    let fan_out = live.clone();
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            let _ = fan_out.send(event); // no subscriber at the moment: dropped
        }
    });
    let lock = Arc::default();
    let chat = Chat { store, lock };
    let commands = CommandBus::new();
    let queries = QueryBus::new();
    commands.register::<CreateChannel, _>(chat.clone()).await;
    commands.register::<PostMessage, _>(chat.clone()).await;
    queries
        .register::<History, Option<Vec<Message>>, _>(chat)
        .await;
    seed(&commands).await;

    let presence = Presence::default();
    let schema = Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .data(commands)
        .data(queries.clone())
        .data(directory)
        .data(presence.clone())
        .data(live)
        .finish();
    let sdl = schema.sdl();
    let state = AppState {
        schema,
        queries,
        presence,
        auth,
        config,
    };
    let graphiql = endpoint::graphiql("AllFrame chat", Some("/graphql/ws"));
    Ok(Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/login", post(login))
        .route("/channels/{name}/messages", get(history))
        .route("/graphql", graphiql.post(graphql))
        .route("/graphql/ws", get(websocket))
        .route("/graphql/schema.graphql", endpoint::sdl(sdl))
        .with_state(state))
}

/// `#general`, with a welcome message.
async fn seed(commands: &CommandBus<ChatEvent>) {
    let by = "system".to_string();
    let name = "general".to_string();
    let created = commands.dispatch(CreateChannel { by, name }).await;
    created.expect("a new store has no #general yet");
    let author = "system".to_string();
    let channel = "general".to_string();
    let text = "Welcome to #general".to_string();
    let posted = commands
        .dispatch(PostMessage {
            author,
            channel,
            text,
        })
        .await;
    posted.expect("#general exists");
}
