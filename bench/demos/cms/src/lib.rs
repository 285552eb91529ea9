//! cms: the PRD's scenario 5 (content management, REST + GraphQL) built on AllFrame 0.1.28.
//!
//! From AllFrame (allframe-core, features `cqrs`, `auth-jwt`): `EventStore` (in-memory) + `Aggregate`
//! (articles and their version history), `CommandBus` (the publishing workflow), `ProjectionRegistry` +
//! `Projection` (the article index), `auth::JwtValidator` + `JwtConfig` + `extract_bearer_token` (roles from
//! JWT claims), `router::Router` + `RouteMetadata` + `OpenApiGenerator` (OpenAPI 3.1 of the REST API),
//! `router::graphiql_html` (the GraphiQL page).
//! From other crates: axum 0.8 (HTTP, multipart uploads), async-graphql 7 (the GraphQL API and its SDL;
//! AllFrame's GraphQL adapters serve nothing), demo-support (JSON errors and extractors, token signing,
//! per-article locks, serving), tokio, serde, thiserror, uuid.
pub mod articles;
pub mod graphql;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use allframe_core::auth::{extract_bearer_token, AuthError, JwtConfig, JwtValidator};
use allframe_core::cqrs::{CommandBus, EventStore, ProjectionRegistry};
use allframe_core::router::{graphiql_html, GraphiQLConfig, OpenApiGenerator, RouteMetadata};
use articles::*;
use async_graphql::http::MultipartOptions;
use async_graphql_axum::GraphQLResponse;
use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, Multipart, State};
use axum::http::{header, request::Parts, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use demo_support::extract::{Json, Path};
use demo_support::jwt::{self, JwtError};
use demo_support::openapi;
use serde::Deserialize;
use serde_json::{json, Value};

/// The `iss` and `aud` of this app's tokens (required and checked).
pub const ISSUER: &str = "cms";
pub const AUDIENCE: &str = "cms-api";

#[derive(Clone)]
pub struct Config {
    /// The HS256 secret, at least 32 bytes; there is no default.
    pub jwt_secret: String,
    /// The largest request body, uploads included (GraphQL multipart too).
    pub max_upload_bytes: usize,
}

impl Config {
    /// `JWT_SECRET` (required; e.g. `JWT_SECRET=$(openssl rand -hex 32)`); uploads up to 1 MiB.
    pub fn from_env() -> Result<Config, JwtError> {
        let jwt_secret = std::env::var(jwt::SECRET_VAR).map_err(|_| JwtError::MissingSecret)?;
        let max_upload_bytes = 1 << 20;
        Ok(Config {
            jwt_secret,
            max_upload_bytes,
        })
    }
}

/// The demo's users: password `<name>-password`.
pub const USERS: [(&str, Role); 4] = [
    ("alice", Role::Author),
    ("bob", Role::Author),
    ("eve", Role::Editor),
    ("rita", Role::Reader),
];

type Media = Arc<RwLock<HashMap<String, (&'static str, Bytes)>>>;

#[derive(Clone)]
pub struct AppState {
    cms: Cms,
    index: Index,
    validator: Arc<JwtValidator<Claims>>,
    tokens: jwt::JwtConfig,
    config: Config,
    media: Media,
    schema: graphql::CmsSchema,
}

/// The caller: `None` without an Authorization header; a bad or expired token is a 401.
pub struct User(pub Option<Claims>);

impl FromRequestParts<AppState> for User {
    type Rejection = CmsError;
    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, CmsError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(User(None));
        };
        let token = value.to_str().ok().and_then(extract_bearer_token);
        let not_bearer = AuthError::InvalidToken("expected Authorization: Bearer".into());
        Ok(User(Some(s.validator.validate(token.ok_or(not_bearer)?)?)))
    }
}

type ApiResult = Result<Response, CmsError>;

fn ok(status: StatusCode, body: impl serde::Serialize) -> ApiResult {
    Ok((status, Json(body)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    username: String,
    password: String,
}

async fn login(State(s): State<AppState>, Json(b): Json<Login>) -> ApiResult {
    let password = format!("{}-password", b.username);
    let user = USERS.iter().find(|(name, _)| *name == b.username);
    let user = user.filter(|_| b.password == password);
    let (sub, role) = user.ok_or(CmsError::BadCredentials)?;
    let role_name = json!(role);
    let role_name = role_name.as_str().unwrap_or_default();
    let token = s.tokens.mint(sub, role_name, Duration::from_secs(3600))?;
    ok(StatusCode::OK, json!({"token": token, "role": role}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    title: String,
    body: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    reason: String,
}

async fn create(State(s): State<AppState>, User(u): User, Json(d): Json<Draft>) -> ApiResult {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let Draft { title, body } = d;
    let change = Change::Created { title, body };
    ok(StatusCode::CREATED, s.cms.act(u, id, change).await?)
}

async fn edit(
    s: State<AppState>,
    u: User,
    Path(id): Path<String>,
    Json(d): Json<Draft>,
) -> ApiResult {
    let Draft { title, body } = d;
    let change = Change::Edited { title, body };
    ok(StatusCode::OK, s.cms.act(u.0, id, change).await?)
}

async fn submit(State(s): State<AppState>, User(u): User, Path(id): Path<String>) -> ApiResult {
    let article = s.cms.act(u, id, Change::SubmittedForReview).await?;
    ok(StatusCode::OK, article)
}

async fn publish(State(s): State<AppState>, User(u): User, Path(id): Path<String>) -> ApiResult {
    ok(StatusCode::OK, s.cms.act(u, id, Change::Published).await?)
}

async fn reject(
    s: State<AppState>,
    u: User,
    Path(id): Path<String>,
    Json(r): Json<Reason>,
) -> ApiResult {
    let change = Change::Rejected { reason: r.reason };
    ok(StatusCode::OK, s.cms.act(u.0, id, change).await?)
}

async fn list(State(s): State<AppState>, User(u): User) -> ApiResult {
    ok(StatusCode::OK, s.index.visible(u.as_ref()))
}

async fn read(State(s): State<AppState>, User(u): User, Path(id): Path<String>) -> ApiResult {
    ok(StatusCode::OK, s.cms.visible(u.as_ref(), &id).await?)
}

async fn versions(State(s): State<AppState>, User(u): User, Path(id): Path<String>) -> ApiResult {
    let article = s.cms.visible(u.as_ref(), &id).await?;
    ok(StatusCode::OK, article.versions)
}

async fn events(State(s): State<AppState>, User(u): User, Path(id): Path<String>) -> ApiResult {
    s.cms.visible(u.as_ref(), &id).await?;
    let events = s.cms.store.get_events(&stream(&id)).await;
    ok(StatusCode::OK, events.map_err(CmsError::Internal)?)
}

/// The media type, from the file's first bytes (the declared type must agree).
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let signatures: [(&[u8], &str); 3] = [
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF8", "image/gif"),
    ];
    let found = signatures
        .into_iter()
        .find(|(magic, _)| bytes.starts_with(magic));
    found.map(|(_, mime)| mime)
}

/// One multipart field `file`: an image (PNG, JPEG or GIF), by a signed-in author or editor; the body
/// limit (`max_upload_bytes`) bounds it.
async fn upload(
    State(s): State<AppState>,
    User(u): User,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult {
    let user = u.ok_or(CmsError::Unauthenticated)?;
    if user.role == Role::Reader {
        return Err(CmsError::Forbidden("authors and editors only"));
    }
    let mut multipart = multipart?;
    while let Some(field) = multipart.next_field().await? {
        if field.name() != Some("file") {
            continue;
        }
        let declared = field.content_type().map(str::to_owned);
        let bytes = field.bytes().await?;
        let mime = sniff(&bytes).filter(|m| declared.as_deref().is_none_or(|d| d == *m));
        let mime = mime.ok_or(CmsError::NotAnImage)?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let size = bytes.len();
        s.media.write().unwrap().insert(id.clone(), (mime, bytes));
        let url = format!("/media/{id}");
        let media = json!({"id": id, "content_type": mime, "size": size, "url": url});
        return ok(StatusCode::CREATED, media);
    }
    Err(CmsError::Invalid("no multipart field named `file`".into()))
}

async fn media(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let media = s.media.read().unwrap();
    let (mime, bytes) = media.get(&id).ok_or(CmsError::NotFound)?;
    Ok(([(header::CONTENT_TYPE, *mime)], bytes.clone()).into_response())
}

/// `POST /graphql`, JSON or multipart. The body is read under the app's body limit (async-graphql-axum's
/// `GraphQLRequest` reads any length and writes multipart files to disk); multipart requests (uploads)
/// are for signed-in editors only.
async fn graphql(
    State(s): State<AppState>,
    User(u): User,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<GraphQLResponse, CmsError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if content_type.is_some_and(|t| t.starts_with("multipart/")) {
        let user = u.as_ref().ok_or(CmsError::Unauthenticated)?;
        if user.role != Role::Editor {
            return Err(CmsError::Forbidden("GraphQL uploads are for editors"));
        }
    }
    let limit = s.config.max_upload_bytes;
    let options = MultipartOptions::default()
        .max_file_size(limit)
        .max_num_files(1);
    let body = body?;
    let request = async_graphql::http::receive_body(content_type, body.as_ref(), options).await?;
    Ok(s.schema.execute(request.data(u)).await.into())
}

/// The REST API as its OpenAPI document describes it: method, path, the statuses it answers | what it does.
pub const API: [&str; 14] = [
    "GET /health 200 | Liveness",
    "POST /login 200 400 401 413 415 422 | Sign in {username, password}: a JWT with the user's role",
    "GET /articles 200 401 | The articles the caller may see (the index projection)",
    "POST /articles 201 400 401 403 413 415 422 | A new draft {title, body} (authors, editors)",
    "GET /articles/{id} 200 400 401 404 | An article, folded from its events",
    "PUT /articles/{id} 200 400 401 403 404 409 413 415 422 | Edit {title, body}: a new version",
    "POST /articles/{id}/submit 200 400 401 403 404 409 | Draft to review (its author, editors)",
    "POST /articles/{id}/publish 200 400 401 403 404 409 | Review to published (editors)",
    "POST /articles/{id}/reject 200 400 401 403 404 409 413 415 422 | Review to draft {reason}",
    "GET /articles/{id}/versions 200 400 401 404 | Version history, from the events",
    "GET /articles/{id}/events 200 400 401 404 | The article's events",
    "POST /media 201 400 401 403 413 415 | Multipart field `file`: a PNG, JPEG or GIF image",
    "GET /media/{id} 200 400 404 | An uploaded file",
    "POST /graphql 200 400 401 403 413 | GraphQL, JSON or multipart (SDL: /graphql/schema.graphql)",
];

/// The OpenAPI 3.1 document: AllFrame's `OpenApiGenerator` writes the paths (and one `200` each); the
/// statuses each operation answers, its JSON body and its bearer security are added here.
pub fn openapi() -> Value {
    let strings = |fields: &[&str]| {
        let properties: serde_json::Map<_, _> = fields
            .iter()
            .map(|f| (f.to_string(), json!({"type": "string"})))
            .collect();
        json!({"type": "object", "required": fields, "properties": properties})
    };
    let mut router = allframe_core::router::Router::new();
    for row in API.map(openapi::parse) {
        let route = RouteMetadata::new(row.path, row.method, "rest");
        let route = route.with_description(row.description);
        let body = match (row.method, row.path) {
            ("POST", "/login") => Some(strings(&["username", "password"])),
            ("POST", "/articles") | ("PUT", _) => Some(strings(&["title", "body"])),
            ("POST", "/articles/{id}/reject") => Some(strings(&["reason"])),
            _ => None,
        };
        router.add_route(match body {
            Some(schema) => route.with_request_schema(schema),
            None => route,
        });
    }
    let version = env!("CARGO_PKG_VERSION");
    let mut doc = OpenApiGenerator::new("AllFrame CMS demo", version).generate(&router);
    openapi::document_all(&mut doc, &API);
    for row in API.map(openapi::parse) {
        if row.method != "GET" && !matches!(row.path, "/login" | "/graphql") {
            let operation = &mut doc["paths"][row.path][row.method.to_lowercase()];
            operation["security"] = json!([{"bearer": []}]);
        }
    }
    doc["components"]["securitySchemes"]["bearer"] = json!({"type": "http", "scheme": "bearer"});
    doc
}

/// The app; `Err` if the JWT secret is unusable (shorter than 32 bytes).
pub async fn app(config: Config) -> Result<Router, JwtError> {
    let secret = config.jwt_secret.clone();
    let tokens = jwt::JwtConfig::new(secret.as_bytes())?
        .with_issuer(ISSUER)
        .with_audience(AUDIENCE);
    let validation = JwtConfig::hs256(secret)
        .with_issuer(ISSUER)
        .with_audience(AUDIENCE);
    let validator = Arc::new(JwtValidator::new(validation));
    let store = EventStore::new();
    let index = Index::default();
    let projections = ProjectionRegistry::new(store.clone());
    projections.register("articles", index.clone()).await;
    let commands = CommandBus::new();
    let locks = Default::default();
    commands
        .register(Workflow {
            store: store.clone(),
            locks,
        })
        .await;
    let cms = Cms { commands, store };
    let schema = graphql::schema(cms.clone(), index.clone());
    let sdl = schema.sdl();
    let state = AppState {
        cms,
        index,
        validator,
        tokens,
        config,
        media: Media::default(),
        schema,
    };
    seed(&state).await;
    projections
        .rebuild_all()
        .await
        .expect("the in-memory store reads");
    projections
        .start_subscription()
        .await
        .expect("the in-memory store accepts subscribers");
    let spec = openapi();
    let page = graphiql_html(
        &GraphiQLConfig::new().endpoint_url("/graphql"),
        "AllFrame CMS",
    );
    Ok(Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/login", post(login))
        .route("/articles", get(list).post(create))
        .route("/articles/{id}", get(read).put(edit))
        .route("/articles/{id}/submit", post(submit))
        .route("/articles/{id}/publish", post(publish))
        .route("/articles/{id}/reject", post(reject))
        .route("/articles/{id}/versions", get(versions))
        .route("/articles/{id}/events", get(events))
        .route("/media", post(upload))
        .route("/media/{id}", get(media))
        .route(
            "/graphql",
            get(move || std::future::ready(Html(page.clone()))).post(graphql),
        )
        .route(
            "/graphql/schema.graphql",
            get(move || std::future::ready(sdl.clone())),
        )
        .route(
            "/openapi.json",
            get(move || std::future::ready(Json(spec.clone()))),
        )
        .with_state(state))
}

/// One published article from the start: the editor writes, submits and publishes `welcome`.
async fn seed(s: &AppState) {
    let eve = Claims {
        sub: "eve".into(),
        role: Role::Editor,
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        exp: 0,
    };
    let title = "Welcome".to_string();
    let body = "The first article of this CMS.".to_string();
    for change in [
        Change::Created { title, body },
        Change::SubmittedForReview,
        Change::Published,
    ] {
        let step = s.cms.act(Some(eve.clone()), "welcome".into(), change).await;
        step.expect("a new store has no `welcome` yet");
    }
}
