//! cms: the PRD's scenario 5 (content management, REST + GraphQL) built on AllFrame 0.1.28.
//!
//! From AllFrame (allframe-core, features `cqrs`, `auth-jwt`): `EventStore` (in-memory) + `Aggregate`
//! (articles and their version history), `CommandBus` (the publishing workflow), `ProjectionRegistry` +
//! `Projection` (the article index), `auth::JwtValidator` + `JwtConfig` + `extract_bearer_token` (roles from
//! JWT claims), `router::Router` + `RouteMetadata` + `OpenApiGenerator` (OpenAPI 3.1 of the REST API),
//! `router::graphiql_html` (the GraphiQL page).
//! From other crates: axum 0.8 (HTTP, multipart uploads, body limit), async-graphql 7 + async-graphql-axum
//! (the GraphQL API and its SDL; AllFrame's GraphQL adapters serve nothing), jsonwebtoken (signing tokens at
//! /login: AllFrame has no API that issues them), tokio, serde, uuid.
pub mod articles;
pub mod graphql;

use std::{collections::HashMap, sync::Arc};

use allframe_core::auth::{extract_bearer_token, JwtConfig, JwtValidator};
use allframe_core::cqrs::{CommandBus, CommandError, EventStore, ProjectionRegistry};
use allframe_core::router::{graphiql_html, GraphiQLConfig, OpenApiGenerator, RouteMetadata, Router as AfRouter};
use articles::*;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::{
    extract::{rejection::JsonRejection, DefaultBodyLimit, FromRequest, FromRequestParts, Multipart, Path, State},
    http::{header, request::Parts, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::{get, post, MethodRouter},
    Json, Router,
};
use serde::Deserialize;
use serde_json::json;

#[derive(Clone)]
pub struct Config {
    pub jwt_secret: String,
    pub max_upload_bytes: usize,
}

impl Default for Config {
    /// `CMS_JWT_SECRET` sets the HS256 secret; uploads are limited to 1 MiB.
    fn default() -> Self {
        let jwt_secret =
            std::env::var("CMS_JWT_SECRET").unwrap_or_else(|_| "cms-demo-secret-change-me-0123456789".into());
        Config { jwt_secret, max_upload_bytes: 1 << 20 }
    }
}

/// The demo's users: password `<name>-password`.
pub const USERS: [(&str, Role); 4] =
    [("alice", Role::Author), ("bob", Role::Author), ("eve", Role::Editor), ("rita", Role::Reader)];

#[derive(Clone)]
pub struct AppState {
    commands: CommandBus<ArticleEvent>,
    store: EventStore<ArticleEvent>,
    index: Index,
    validator: Arc<JwtValidator<Claims>>,
    config: Config,
    media: Arc<std::sync::RwLock<HashMap<String, (&'static str, Vec<u8>)>>>,
    schema: graphql::CmsSchema,
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
            CommandError::Validation(v) if v.iter().any(|v| v.code == "forbidden") => StatusCode::FORBIDDEN,
            CommandError::Validation(v) if v.iter().any(|v| v.code == "unauthenticated") => StatusCode::UNAUTHORIZED,
            CommandError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            CommandError::NotFound(_) => StatusCode::NOT_FOUND,
            CommandError::BusinessLogic(_) | CommandError::AlreadyExecuted(_) => StatusCode::CONFLICT,
            CommandError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.to_string())
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

type ApiResult = Result<Response, ApiError>;

fn ok(status: StatusCode, body: impl serde::Serialize) -> ApiResult {
    Ok((status, Json(body)).into_response())
}

#[derive(Deserialize)]
pub struct Login {
    username: String,
    password: String,
}

async fn login(State(s): State<AppState>, Body(b): Body<Login>) -> ApiResult {
    let user = USERS.iter().find(|(name, _)| *name == b.username && b.password == format!("{name}-password"));
    let (sub, role) = user.ok_or(ApiError(StatusCode::UNAUTHORIZED, "unknown user or wrong password".into()))?;
    let exp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 3600;
    let key = jsonwebtoken::EncodingKey::from_secret(s.config.jwt_secret.as_bytes());
    let claims = Claims { sub: sub.to_string(), role: *role, exp };
    let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key)
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    ok(StatusCode::OK, json!({"token": token, "role": role}))
}

#[derive(Deserialize)]
pub struct Draft {
    title: String,
    body: String,
}

#[derive(Deserialize)]
pub struct Reason {
    reason: String,
}

async fn act(s: AppState, user: Option<Claims>, article_id: String, action: Action, status: StatusCode) -> ApiResult {
    s.commands.dispatch(ArticleCommand { user, article_id: article_id.clone(), action }).await?;
    ok(status, load(&s.store, &article_id).await.map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e))?)
}

async fn create(State(s): State<AppState>, User(u): User, Body(d): Body<Draft>) -> ApiResult {
    let id = uuid::Uuid::new_v4().simple().to_string();
    act(s, u, id, Action::Create { title: d.title, body: d.body }, StatusCode::CREATED).await
}

async fn edit(State(s): State<AppState>, User(u): User, Path(id): Path<String>, Body(d): Body<Draft>) -> ApiResult {
    act(s, u, id, Action::Edit { title: d.title, body: d.body }, StatusCode::OK).await
}

async fn submit(State(s): State<AppState>, User(u): User, Path(id): Path<String>) -> ApiResult {
    act(s, u, id, Action::Submit, StatusCode::OK).await
}

async fn publish(State(s): State<AppState>, User(u): User, Path(id): Path<String>) -> ApiResult {
    act(s, u, id, Action::Publish, StatusCode::OK).await
}

async fn reject(State(s): State<AppState>, User(u): User, Path(id): Path<String>, Body(r): Body<Reason>) -> ApiResult {
    act(s, u, id, Action::Reject { reason: r.reason }, StatusCode::OK).await
}

async fn list(State(s): State<AppState>, User(u): User) -> ApiResult {
    ok(StatusCode::OK, s.index.visible(&u))
}

async fn visible(s: &AppState, u: &Option<Claims>, id: &str) -> Result<Article, ApiError> {
    let article = load(&s.store, id).await.map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    article.filter(|a| a.visible_to(u)).ok_or(ApiError(StatusCode::NOT_FOUND, format!("article {id} not found")))
}

async fn read(State(s): State<AppState>, User(u): User, Path(id): Path<String>) -> ApiResult {
    ok(StatusCode::OK, visible(&s, &u, &id).await?)
}

async fn versions(State(s): State<AppState>, User(u): User, Path(id): Path<String>) -> ApiResult {
    ok(StatusCode::OK, visible(&s, &u, &id).await?.versions)
}

async fn events(State(s): State<AppState>, User(u): User, Path(id): Path<String>) -> ApiResult {
    visible(&s, &u, &id).await?;
    ok(
        StatusCode::OK,
        s.store.get_events(&stream(&id)).await.map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e))?,
    )
}

/// The media type, from the file's first bytes (the declared type must agree).
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let signatures: [(&[u8], &str); 3] =
        [(b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif")];
    signatures.into_iter().find(|(magic, _)| bytes.starts_with(magic)).map(|(_, mime)| mime)
}

/// One multipart field `file`: an image (PNG, JPEG or GIF) up to `max_upload_bytes`.
async fn upload(
    State(s): State<AppState>,
    User(u): User,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult {
    if !u.is_some_and(|u| u.role != Role::Reader) {
        return Err(ApiError(StatusCode::FORBIDDEN, "authors and editors only".into()));
    }
    let mut multipart = multipart.map_err(|r| ApiError(r.status(), r.body_text()))?;
    let bad = |e: MultipartError| ApiError(e.status(), e.body_text());
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        if field.name() != Some("file") {
            continue;
        }
        let declared = field.content_type().map(str::to_owned);
        let bytes = field.bytes().await.map_err(bad)?;
        let mime = sniff(&bytes).filter(|m| declared.as_deref().is_none_or(|d| d == *m));
        let mime = mime.ok_or(ApiError(StatusCode::UNSUPPORTED_MEDIA_TYPE, "only PNG, JPEG or GIF images".into()))?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let size = bytes.len();
        s.media.write().unwrap().insert(id.clone(), (mime, bytes.to_vec()));
        return ok(
            StatusCode::CREATED,
            json!({"id": id, "content_type": mime, "size": size, "url": format!("/media/{id}")}),
        );
    }
    Err(ApiError(StatusCode::BAD_REQUEST, "no multipart field named `file`".into()))
}

async fn media(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let media = s.media.read().unwrap();
    let (mime, bytes) = media.get(&id).ok_or(ApiError(StatusCode::NOT_FOUND, format!("media {id} not found")))?;
    Ok(([(header::CONTENT_TYPE, *mime)], bytes.clone()).into_response())
}

impl From<async_graphql::ParseRequestError> for ApiError {
    fn from(e: async_graphql::ParseRequestError) -> Self {
        ApiError(StatusCode::BAD_REQUEST, e.to_string())
    }
}

async fn graphql(State(s): State<AppState>, User(u): User, req: GraphQLRequest<ApiError>) -> GraphQLResponse {
    s.schema.execute(req.into_inner().data(u)).await.into()
}

/// The REST API, one table: each row is described on AllFrame's `Router` (`RouteMetadata`), from which
/// AllFrame's `OpenApiGenerator` writes the OpenAPI 3.1 document; the first row of a path carries the axum
/// handlers that serve all its methods.
type Row = (&'static str, &'static str, &'static str, Option<MethodRouter<AppState>>);
fn routes() -> Vec<Row> {
    let graphiql = || async { Html(graphiql_html(&GraphiQLConfig::new().endpoint_url("/graphql"), "AllFrame CMS")) };
    vec![
        ("GET", "/health", "Liveness probe", Some(get(|| async { Json(json!({"status": "ok"})) }))),
        ("POST", "/login", "Sign in: {username, password} → a JWT with the user's role", Some(post(login))),
        ("GET", "/articles", "The articles the caller may see (index projection)", Some(get(list).post(create))),
        ("POST", "/articles", "Create a draft {title, body} (authors, editors)", None),
        ("GET", "/articles/{id}", "An article, folded from its events", Some(get(read).put(edit))),
        ("PUT", "/articles/{id}", "Edit: a new version {title, body}", None),
        ("POST", "/articles/{id}/submit", "Draft → review (its author)", Some(post(submit))),
        ("POST", "/articles/{id}/publish", "Review → published (editors)", Some(post(publish))),
        ("POST", "/articles/{id}/reject", "Review → draft {reason} (editors)", Some(post(reject))),
        ("GET", "/articles/{id}/versions", "Version history, from the events", Some(get(versions))),
        ("GET", "/articles/{id}/events", "The article's events", Some(get(events))),
        ("POST", "/media", "Multipart upload, field `file`: PNG/JPEG/GIF", Some(post(upload))),
        ("GET", "/media/{id}", "An uploaded file", Some(get(media))),
        ("POST", "/graphql", "GraphQL (SDL at /graphql/schema.graphql)", Some(get(graphiql).post(graphql))),
        ("GET", "/graphql", "GraphiQL page", None),
    ]
}

pub async fn app(config: Config) -> Router {
    let store = EventStore::new();
    let index = Index::default();
    let projections = ProjectionRegistry::new(store.clone());
    projections.register("articles", index.clone()).await;
    let commands = CommandBus::new();
    commands.register(Workflow(store.clone())).await;
    // One published article from the start (the editor writes, submits and publishes it).
    let (eve, welcome) = (Some(Claims { sub: "eve".into(), role: Role::Editor, exp: 0 }), "welcome".to_string());
    let (title, body) = ("Welcome".to_string(), "The first article of this CMS.".to_string());
    for action in [Action::Create { title, body }, Action::Submit, Action::Publish] {
        let command = ArticleCommand { user: eve.clone(), article_id: welcome.clone(), action };
        commands.dispatch(command).await.expect("seed the welcome article");
    }
    projections.rebuild_all().await.expect("index the seeded article");
    projections.start_subscription().await.expect("subscribe the article index");
    let validator = Arc::new(JwtValidator::new(JwtConfig::hs256(config.jwt_secret.clone())));
    let schema = graphql::schema(commands.clone(), store.clone(), index.clone());
    let sdl = schema.sdl();
    let mut af_router = AfRouter::new();
    let mut router = Router::new().route("/graphql/schema.graphql", get(move || std::future::ready(sdl.clone())));
    for (method, path, description, method_router) in routes() {
        af_router.add_route(RouteMetadata::new(path, method, "rest").with_description(description));
        if let Some(method_router) = method_router {
            router = router.route(path, method_router);
        }
    }
    let spec = OpenApiGenerator::new("AllFrame CMS demo", env!("CARGO_PKG_VERSION")).generate(&af_router);
    router = router.route("/openapi.json", get(move || std::future::ready(Json(spec.clone()))));
    let not_found = || async { ApiError(StatusCode::NOT_FOUND, "no such route".into()) };
    let bad_method = || async { ApiError(StatusCode::METHOD_NOT_ALLOWED, "method not allowed".into()) };
    let limit = DefaultBodyLimit::max(config.max_upload_bytes);
    let state = AppState { commands, store, index, validator, config, media: Default::default(), schema };
    router.fallback(not_found).method_not_allowed_fallback(bad_method).layer(limit).with_state(state)
}

/// Serves the app on an already bound listener until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, config: Config) -> std::io::Result<()> {
    axum::serve(listener, app(config).await).await
}
