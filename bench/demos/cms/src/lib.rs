//! cms: the PRD's scenario 5 (content management, REST + GraphQL) built on AllFrame 0.1.28.
//!
//! From AllFrame (allframe-core, features `cqrs`, `auth-jwt`): `EventStore` (in-memory) + `Aggregate`
//! (articles and their version history), `CommandBus` (the publishing workflow), `ProjectionRegistry` +
//! `Projection` (the article index), `auth::JwtValidator` + `JwtConfig` + `extract_bearer_token` (roles from
//! JWT claims, through demo-support's `auth`), `router::Router` + `RouteMetadata` + `OpenApiGenerator` (OpenAPI 3.1 of the REST API),
//! `router::graphiql_html` (the GraphiQL page).
//! From other crates: axum 0.8 (HTTP, multipart uploads), async-graphql 7 (the GraphQL API and its SDL;
//! AllFrame's GraphQL adapters serve nothing), demo-support (JSON errors and extractors, token signing,
//! per-article locks, serving), tokio, serde, thiserror, uuid.
pub mod articles;
pub mod graphql;

use std::{collections::HashMap, sync::Arc, sync::RwLock, time::Duration};

use allframe_core::cqrs::{CommandBus, EventStore, ProjectionRegistry};
use articles::*;
use async_graphql_axum::GraphQLResponse;
use axum::extract::{multipart::MultipartRejection, rejection::BytesRejection};
use axum::extract::{FromRef, Multipart, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{body::Bytes, routing::get, routing::post, Router};
use demo_support::auth::{self, Auth, Login, User};
use demo_support::extract::{Json, Path};
use demo_support::upload::{self, Image};
use demo_support::{apidoc, graphql as endpoint, jwt::JwtError, openapi::RouteDoc};
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
        Ok(Config {
            jwt_secret: auth::secret_from_env()?,
            max_upload_bytes: 1 << 20,
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

type Media = Arc<RwLock<HashMap<String, Image>>>;

/// The state; the `User<Claims>` extractor finds its `Auth` here.
#[derive(Clone, FromRef)]
pub struct AppState {
    cms: Cms,
    index: Index,
    auth: Auth<Claims>,
    media: Media,
    schema: graphql::CmsSchema,
}

type ApiResult = Result<Response, CmsError>;

fn ok(status: StatusCode, body: impl serde::Serialize) -> ApiResult {
    Ok((status, Json(body)).into_response())
}

async fn login(State(s): State<AppState>, Json(b): Json<Login>) -> ApiResult {
    let user = USERS.iter().find(|(name, _)| b.is(name));
    let (sub, role) = user.ok_or(CmsError::BadCredentials)?;
    let role_name = json!(role);
    let role_name = role_name.as_str().unwrap_or_default();
    let token = s.auth.mint(sub, role_name, Duration::from_secs(3600))?;
    ok(StatusCode::OK, json!({"token": token, "role": role}))
}

async fn create(s: State<AppState>, User(u): User<Claims>, Json(d): Json<Draft>) -> ApiResult {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let article = s.cms.act(u, id, Change::Created(d)).await?;
    ok(StatusCode::CREATED, article)
}

async fn edit(
    s: State<AppState>,
    User(u): User<Claims>,
    Path(id): Path<String>,
    Json(d): Json<Draft>,
) -> ApiResult {
    ok(StatusCode::OK, s.cms.act(u, id, Change::Edited(d)).await?)
}

async fn submit(s: State<AppState>, User(u): User<Claims>, Path(id): Path<String>) -> ApiResult {
    let article = s.cms.act(u, id, Change::SubmittedForReview).await?;
    ok(StatusCode::OK, article)
}

async fn publish(s: State<AppState>, User(u): User<Claims>, Path(id): Path<String>) -> ApiResult {
    ok(StatusCode::OK, s.cms.act(u, id, Change::Published).await?)
}

async fn reject(
    s: State<AppState>,
    User(u): User<Claims>,
    Path(id): Path<String>,
    Json(r): Json<Reason>,
) -> ApiResult {
    ok(StatusCode::OK, s.cms.act(u, id, Change::Rejected(r)).await?)
}

async fn list(State(s): State<AppState>, User(u): User<Claims>) -> ApiResult {
    ok(StatusCode::OK, s.index.visible(u.as_ref()))
}

async fn read(s: State<AppState>, User(u): User<Claims>, Path(id): Path<String>) -> ApiResult {
    ok(StatusCode::OK, s.cms.visible(u.as_ref(), &id).await?)
}

async fn versions(s: State<AppState>, User(u): User<Claims>, Path(id): Path<String>) -> ApiResult {
    let article = s.cms.visible(u.as_ref(), &id).await?;
    ok(StatusCode::OK, article.versions)
}

async fn events(s: State<AppState>, User(u): User<Claims>, Path(id): Path<String>) -> ApiResult {
    s.cms.visible(u.as_ref(), &id).await?;
    let events = s.cms.store.get_events(&stream(&id)).await;
    ok(StatusCode::OK, events.map_err(CmsError::Internal)?)
}

/// One multipart field `file`: an image (PNG, JPEG or GIF, sniffed by demo-support), by a signed-in
/// author or editor (checked before the body is read); the body limit (`max_upload_bytes`) bounds it.
async fn upload(
    State(s): State<AppState>,
    User(u): User<Claims>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult {
    let user = u.ok_or(CmsError::Unauthenticated)?;
    if user.role == Role::Reader {
        return Err(CmsError::Forbidden("authors and editors only"));
    }
    let image = upload::image(multipart, "file").await?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let url = format!("/media/{id}");
    let size = image.bytes.len();
    let media = json!({"id": id, "content_type": image.content_type, "size": size, "url": url});
    s.media.write().unwrap().insert(id, image);
    ok(StatusCode::CREATED, media)
}

async fn media(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let media = s.media.read().unwrap();
    let image = media.get(&id).ok_or(CmsError::NotFound)?;
    let content_type = [(header::CONTENT_TYPE, image.content_type)];
    Ok((content_type, image.bytes.clone()).into_response())
}

/// `POST /graphql`, JSON or multipart, read under the app's body limit; multipart requests (uploads,
/// one file) are for signed-in editors only, refused before the body is parsed.
async fn graphql(
    State(s): State<AppState>,
    User(u): User<Claims>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<GraphQLResponse, CmsError> {
    if endpoint::is_multipart(&headers) {
        let user = u.as_ref().ok_or(CmsError::Unauthenticated)?;
        if user.role != Role::Editor {
            return Err(CmsError::Forbidden("GraphQL uploads are for editors"));
        }
    }
    let request = endpoint::receive(&headers, body, 1).await?;
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

/// The OpenAPI 3.1 document, generated by AllFrame's `OpenApiGenerator` (through demo-support's
/// `apidoc`) with each operation's statuses, JSON body and bearer security (the writes).
pub fn openapi() -> Value {
    let draft = apidoc::strings(&["title", "body"]);
    let bodies = [
        ("POST /login", apidoc::strings(&["username", "password"])),
        ("POST /articles", draft.clone()),
        ("PUT /articles/{id}", draft),
        ("POST /articles/{id}/reject", apidoc::strings(&["reason"])),
    ];
    let version = env!("CARGO_PKG_VERSION");
    let mut doc = apidoc::generate("AllFrame CMS demo", version, &API, &bodies);
    let writes = |r: &RouteDoc| r.method != "GET" && !matches!(r.path, "/login" | "/graphql");
    apidoc::bearer(&mut doc, &API, writes);
    doc
}

/// The app; `Err` if the JWT secret is unusable (shorter than 32 bytes).
pub async fn app(config: Config) -> Result<Router, JwtError> {
    let auth = Auth::new(&config.jwt_secret, ISSUER, AUDIENCE)?;
    let store = EventStore::new();
    let index = Index::default();
    let projections = ProjectionRegistry::new(store.clone());
    projections.register("articles", index.clone()).await;
    let commands = CommandBus::new();
    let locks = Default::default();
    let workflow = Workflow {
        store: store.clone(),
        locks,
    };
    commands.register(workflow).await;
    let cms = Cms { commands, store };
    seed(&cms, &auth).await;
    let rebuilt = projections.rebuild_all().await;
    rebuilt.expect("the in-memory store reads");
    let subscribed = projections.start_subscription().await;
    subscribed.expect("the in-memory store accepts subscribers");
    let schema = graphql::schema(cms.clone(), index.clone());
    let sdl = schema.sdl();
    let spec = openapi();
    let graphiql = endpoint::graphiql("AllFrame CMS", None);
    let state = AppState {
        cms,
        index,
        auth,
        media: Media::default(),
        schema,
    };
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
        .route("/graphql", graphiql.post(graphql))
        .route("/graphql/schema.graphql", endpoint::sdl(sdl))
        .route("/openapi.json", get(move || async move { Json(spec) }))
        .with_state(state))
}

/// One published article from the start: the editor eve signs in, writes, submits and publishes `welcome`.
async fn seed(cms: &Cms, auth: &Auth<Claims>) {
    let token = auth.mint("eve", "editor", Duration::from_secs(60));
    let eve = auth.validate(&token.expect("signs")).expect("valid");
    let title = "Welcome".to_string();
    let body = "The first article of this CMS.".to_string();
    let created = Change::Created(Draft { title, body });
    for change in [created, Change::SubmittedForReview, Change::Published] {
        let step = cms.act(Some(eve.clone()), "welcome".into(), change).await;
        step.expect("a new store has no `welcome` yet");
    }
}
