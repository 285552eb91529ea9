//! chat-app: the PRD's scenario 2 (real-time chat: GraphQL + subscriptions + WebSocket) on AllFrame 0.1.28.
//!
//! From AllFrame (allframe-core, features `cqrs`, `auth-jwt`): `EventStore` (in-memory; the message log is
//! event-sourced) and `EventStore::subscribe` (feeds live delivery), `CommandBus` (create channel, post
//! message), `QueryBus` (message history), `ProjectionRegistry` + `Projection` (channel directory),
//! `auth::JwtValidator` + `JwtConfig` + `extract_bearer_token` (sign-in), `router::graphiql_html` (the page).
//! From other crates: async-graphql 7 + async-graphql-axum (GraphQL, subscriptions over WebSocket with the
//! graphql-transport-ws / graphql-ws protocols, SDL — AllFrame has no subscriptions or WebSockets), axum 0.8
//! (HTTP, WebSocket upgrade), jsonwebtoken (signing tokens at /login), tokio (broadcast fan-out), serde.
pub mod chat;
pub mod schema;

use std::sync::{Arc, Mutex};

use allframe_core::auth::{extract_bearer_token, JwtConfig, JwtValidator};
use allframe_core::cqrs::{CommandBus, EventStore, ProjectionRegistry, QueryBus};
use allframe_core::router::{graphiql_html, GraphiQLConfig};
use async_graphql::{http::ALL_WEBSOCKET_PROTOCOLS, Data, Schema};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::{
    extract::{rejection::JsonRejection, ws::WebSocketUpgrade, FromRequest, FromRequestParts, Path, State},
    http::{header, request::Parts, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use chat::*;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{broadcast, mpsc};

#[derive(Clone)]
pub struct Config {
    pub jwt_secret: String,
}

impl Default for Config {
    /// `CHAT_JWT_SECRET` sets the HS256 secret.
    fn default() -> Self {
        Config {
            jwt_secret: std::env::var("CHAT_JWT_SECRET")
                .unwrap_or_else(|_| "chat-demo-secret-change-me-0123456789".into()),
        }
    }
}

/// The demo's users: password `<name>-password`.
pub const USERS: [&str; 3] = ["alice", "bob", "carol"];

#[derive(Clone)]
pub struct AppState {
    schema: schema::ChatSchema,
    queries: QueryBus,
    presence: Presence,
    validator: Arc<JwtValidator<Claims>>,
    config: Config,
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

impl From<async_graphql::ParseRequestError> for ApiError {
    fn from(e: async_graphql::ParseRequestError) -> Self {
        ApiError(StatusCode::BAD_REQUEST, e.to_string())
    }
}

/// axum's `Json`, with its rejections (malformed JSON, wrong types, no content type) turned into `ApiError`.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Body<T>(T);

/// The caller: `None` without an Authorization header; a bad or expired token is a 401.
pub struct User(pub Option<Claims>);

impl FromRequestParts<AppState> for User {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else { return Ok(User(None)) };
        let unauthorized = |m: String| ApiError(StatusCode::UNAUTHORIZED, m);
        let token =
            value.to_str().ok().and_then(extract_bearer_token).ok_or(unauthorized("expected a Bearer token".into()))?;
        Ok(User(Some(state.validator.validate(token).map_err(|e| unauthorized(e.to_string()))?)))
    }
}

#[derive(Deserialize)]
pub struct Login {
    username: String,
    password: String,
}

async fn login(State(s): State<AppState>, Body(b): Body<Login>) -> Result<Json<serde_json::Value>, ApiError> {
    if !USERS.contains(&b.username.as_str()) || b.password != format!("{}-password", b.username) {
        return Err(ApiError(StatusCode::UNAUTHORIZED, "unknown user or wrong password".into()));
    }
    let exp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 3600;
    let key = jsonwebtoken::EncodingKey::from_secret(s.config.jwt_secret.as_bytes());
    let token = jsonwebtoken::encode(&Default::default(), &Claims { sub: b.username, exp }, &key);
    Ok(Json(json!({ "token": token.map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))? })))
}

/// REST view of a channel's history (the load-test endpoint).
async fn history(State(s): State<AppState>, Path(channel): Path<String>) -> Result<Json<Vec<Message>>, ApiError> {
    let query = History { channel: channel.clone(), last: 50 };
    let found = s.queries.dispatch::<History, Option<Vec<Message>>>(query).await;
    let found = found.map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(found.ok_or(ApiError(StatusCode::NOT_FOUND, format!("channel {channel} not found")))?))
}

async fn graphql(State(s): State<AppState>, User(u): User, req: GraphQLRequest<ApiError>) -> GraphQLResponse {
    s.schema.execute(req.into_inner().data(u)).await.into()
}

/// Subscriptions: the WebSocket's `connection_init` payload carries `{"token": "..."}`, validated by AllFrame's
/// `JwtValidator`; the user counts as online until the socket closes.
async fn websocket(
    State(s): State<AppState>,
    protocol: Result<GraphQLProtocol, StatusCode>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let protocol = protocol.map_err(|status| {
        ApiError(status, "expected Sec-WebSocket-Protocol graphql-transport-ws or graphql-ws".into())
    })?;
    let upgrade = upgrade.map_err(|r| ApiError(r.status(), r.body_text()))?;
    Ok(upgrade.protocols(ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |socket| async move {
        let who = Arc::new(Mutex::new(None::<String>));
        let (seen, validator, presence) = (who.clone(), s.validator.clone(), s.presence.clone());
        let on_init = move |payload: serde_json::Value| async move {
            let token = payload["token"].as_str().ok_or("connection_init needs {\"token\": ...}")?;
            let claims = validator.validate(token).map_err(|e| e.to_string())?;
            presence.join(&claims.sub);
            *seen.lock().unwrap() = Some(claims.sub.clone());
            let mut data = Data::default();
            data.insert(Some(claims));
            Ok(data)
        };
        GraphQLWebSocket::new(socket, s.schema.clone(), protocol).on_connection_init(on_init).serve().await;
        let user = who.lock().unwrap().take();
        if let Some(user) = user {
            s.presence.leave(&user);
        }
    }))
}

pub async fn app(config: Config) -> Router {
    let store = EventStore::new();
    let directory = Directory::default();
    let projections = ProjectionRegistry::new(store.clone());
    projections.register("directory", directory.clone()).await;
    projections.start_subscription().await.expect("subscribe the directory");
    // Live delivery: AllFrame's store pushes every appended event into this channel; a task fans it out.
    let (tx, mut rx) = mpsc::channel(1024);
    store.subscribe(tx).await;
    let live = broadcast::channel::<ChatEvent>(1024).0;
    let fan_out = live.clone();
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            let _ = fan_out.send(event); // no subscriber at the moment: dropped
        }
    });
    let chat = Chat { store: store.clone(), lock: Default::default() };
    let (commands, queries) = (CommandBus::new(), QueryBus::new());
    commands.register::<CreateChannel, _>(chat.clone()).await;
    commands.register::<PostMessage, _>(chat.clone()).await;
    queries.register::<History, Option<Vec<Message>>, _>(chat).await;
    commands.dispatch(CreateChannel { by: "system".into(), name: "general".into() }).await.expect("seed #general");
    let welcome =
        PostMessage { author: "system".into(), channel: "general".into(), text: "Welcome to #general".into() };
    commands.dispatch(welcome).await.expect("seed the welcome message");

    let presence = Presence::default();
    let schema = Schema::build(schema::QueryRoot, schema::MutationRoot, schema::SubscriptionRoot)
        .data(commands)
        .data(queries.clone())
        .data(directory)
        .data(presence.clone())
        .data(live)
        .finish();
    let (sdl, page) = (
        schema.sdl(),
        graphiql_html(&GraphiQLConfig::new().endpoint_url("/graphql").subscription_url("/graphql/ws"), "AllFrame chat"),
    );
    let validator = Arc::new(JwtValidator::new(JwtConfig::hs256(config.jwt_secret.clone())));
    let state = AppState { schema, queries, presence, validator, config };
    let not_found = || async { ApiError(StatusCode::NOT_FOUND, "no such route".into()) };
    let bad_method = || async { ApiError(StatusCode::METHOD_NOT_ALLOWED, "method not allowed".into()) };
    Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/login", post(login))
        .route("/channels/{name}/messages", get(history))
        .route("/graphql", get(move || std::future::ready(Html(page.clone()))).post(graphql))
        .route("/graphql/ws", get(websocket))
        .route("/graphql/schema.graphql", get(move || std::future::ready(sdl.clone())))
        .fallback(not_found)
        .method_not_allowed_fallback(bad_method)
        .with_state(state)
}

/// Serves the app on an already bound listener until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, config: Config) -> std::io::Result<()> {
    axum::serve(listener, app(config).await).await
}
