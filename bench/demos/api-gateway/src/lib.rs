//! api-gateway: the PRD's scenario 3 (microservices gateway, multi-protocol) on AllFrame 0.1.28.
//!
//! One set of handlers (`service::Inventory`) is served over gRPC by AllFrame's `grpc::GrpcServer`
//! (`serve_router`, with AllFrame's reflection service and tonic-health); the REST and GraphQL faces translate
//! each request into a gRPC call (REST → gRPC translation) with the generated tonic client. One error type,
//! `GatewayError`, maps to each protocol: gRPC status via AllFrame's `#[derive(GrpcError)]`, HTTP status and
//! GraphQL `extensions.code` by hand. Spans come from AllFrame's `otel::traced` (tracing) and are exported by
//! OpenTelemetry to a file. The REST API's OpenAPI 3.1 document: AllFrame's `OpenApiGenerator`.
//! From other crates: tonic 0.14 + prost (gRPC, generated from `proto/inventory.proto`), axum 0.8 (HTTP),
//! async-graphql 7 (GraphQL; AllFrame's adapters serve nothing), tracing-opentelemetry + opentelemetry_sdk
//! (span export), tokio, serde, thiserror.
pub mod service;
pub mod telemetry;

pub mod proto {
    tonic::include_proto!("inventory.v1");
    pub const DESCRIPTOR: &[u8] = tonic::include_file_descriptor_set!("inventory_descriptor");
}

use std::net::SocketAddr;

use allframe::grpc::GrpcServer;
use allframe::otel::traced;
use allframe::router::{OpenApiGenerator, RouteMetadata, Router as AfRouter};
use async_graphql::{Context, EmptySubscription, ErrorExtensions, Object, Schema};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::{
    extract::{rejection::JsonRejection, FromRequest, Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use proto::{inventory_client::InventoryClient, CreateItemRequest, GetItemRequest, Item, ListItemsRequest};
use serde::Deserialize;
use serde_json::json;
use service::GatewayError;
use tonic::transport::Channel;

#[derive(Clone)]
pub struct Config {
    /// Where the gRPC server listens (the REST and GraphQL faces call it there).
    pub grpc_addr: SocketAddr,
    /// Where finished spans are written as JSON lines; `None`: no exporter.
    pub spans_file: Option<std::path::PathBuf>,
}

impl Config {
    /// `GRPC_ADDR` (default: a free port on 127.0.0.1) and `OTEL_SPANS_FILE` (default: none).
    pub fn from_env() -> std::io::Result<Config> {
        let grpc_addr = match std::env::var("GRPC_ADDR") {
            Ok(addr) => addr.parse().map_err(std::io::Error::other)?,
            Err(_) => std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?,
        };
        Ok(Config { grpc_addr, spans_file: std::env::var_os("OTEL_SPANS_FILE").map(Into::into) })
    }
}

/// The gRPC client the REST and GraphQL faces translate into.
pub type Backend = InventoryClient<Channel>;

/// Errors leave as JSON: `{"error": "...", "code": "NOT_FOUND", "status": 404}`.
pub struct ApiError(StatusCode, String, &'static str);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1, "code": self.2, "status": self.0.as_u16() }))).into_response()
    }
}

impl From<GatewayError> for ApiError {
    fn from(e: GatewayError) -> Self {
        ApiError(e.http_status(), e.to_string(), e.code())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        ApiError(r.status(), r.body_text(), "INVALID_ARGUMENT")
    }
}

impl From<async_graphql::ParseRequestError> for ApiError {
    fn from(e: async_graphql::ParseRequestError) -> Self {
        ApiError(StatusCode::BAD_REQUEST, e.to_string(), "INVALID_ARGUMENT")
    }
}

/// axum's `Json`, with its rejections (malformed JSON, wrong types, no content type) turned into `ApiError`.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Body<T>(T);

#[derive(Deserialize)]
pub struct NewItem {
    name: String,
    quantity: u32,
}

/// A gRPC request carrying the current trace context.
fn traced_request<T>(message: T) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    telemetry::inject(req.metadata_mut());
    req
}

// The translation: every REST and GraphQL operation is one of these gRPC calls.
#[traced(name = "gateway.get_item", skip(backend))]
async fn grpc_get(mut backend: Backend, id: String) -> Result<Item, GatewayError> {
    Ok(backend.get_item(traced_request(GetItemRequest { id })).await.map_err(GatewayError::from_status)?.into_inner())
}

#[traced(name = "gateway.list_items", skip(backend))]
async fn grpc_list(mut backend: Backend) -> Result<Vec<Item>, GatewayError> {
    let req = traced_request(ListItemsRequest {});
    Ok(backend.list_items(req).await.map_err(GatewayError::from_status)?.into_inner().items)
}

#[traced(name = "gateway.create_item", skip(backend))]
async fn grpc_create(mut backend: Backend, name: String, quantity: u32) -> Result<Item, GatewayError> {
    let req = traced_request(CreateItemRequest { name, quantity });
    Ok(backend.create_item(req).await.map_err(GatewayError::from_status)?.into_inner())
}

async fn rest_list(State(s): State<AppState>) -> Result<Json<Vec<Item>>, ApiError> {
    Ok(Json(grpc_list(s.backend).await?))
}

async fn rest_get(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Item>, ApiError> {
    Ok(Json(grpc_get(s.backend, id).await?))
}

async fn rest_create(State(s): State<AppState>, Body(b): Body<NewItem>) -> Result<(StatusCode, Json<Item>), ApiError> {
    Ok((StatusCode::CREATED, Json(grpc_create(s.backend, b.name, b.quantity).await?)))
}

fn graphql_error(e: GatewayError) -> async_graphql::Error {
    async_graphql::Error::new(e.to_string()).extend_with(|_, ext| ext.set("code", e.code()))
}

pub struct QueryRoot;

#[Object]
impl QueryRoot {
    async fn item(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<Item> {
        grpc_get(ctx.data_unchecked::<Backend>().clone(), id).await.map_err(graphql_error)
    }
    async fn items(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Item>> {
        grpc_list(ctx.data_unchecked::<Backend>().clone()).await.map_err(graphql_error)
    }
}

pub struct MutationRoot;

#[Object]
impl MutationRoot {
    async fn create_item(&self, ctx: &Context<'_>, name: String, quantity: u32) -> async_graphql::Result<Item> {
        grpc_create(ctx.data_unchecked::<Backend>().clone(), name, quantity).await.map_err(graphql_error)
    }
}

pub type GatewaySchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

#[derive(Clone)]
pub struct AppState {
    backend: Backend,
    schema: GatewaySchema,
}

async fn graphql(State(s): State<AppState>, req: GraphQLRequest<ApiError>) -> GraphQLResponse {
    s.schema.execute(req.into_inner()).await.into()
}

/// Starts the gRPC server (AllFrame `GrpcServer`, with reflection and health) and returns the HTTP app.
pub async fn app(config: Config) -> std::io::Result<Router> {
    if let Some(path) = config.spans_file.clone() {
        telemetry::install(path);
    }
    let grpc = GrpcServer::new().addr(config.grpc_addr).reflection(proto::DESCRIPTOR);
    let reflection = grpc.reflection_service().map_err(std::io::Error::other)?.expect("reflection is configured");
    // Not `grpc.health_check().create_health_reporter()`: its service cannot be added to a tonic server (README).
    let (_, health) = tonic_health::server::health_reporter();
    let inventory = proto::inventory_server::InventoryServer::new(service::Inventory::default());
    let router = grpc.server_builder().add_service(inventory).add_service(reflection).add_service(health);
    let listener = std::net::TcpListener::bind(config.grpc_addr)?; // fail early if the port is taken
    drop(listener);
    tokio::spawn(async move { grpc.serve_router(router).await.expect("the gRPC server") });
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", config.grpc_addr));
    let backend = InventoryClient::new(channel.map_err(std::io::Error::other)?.connect_lazy());

    let schema = Schema::build(QueryRoot, MutationRoot, EmptySubscription).data(backend.clone()).finish();
    let sdl = schema.sdl();
    let mut af_router = AfRouter::new();
    let rest = [
        ("GET", "/items", "List items (gRPC ListItems)"),
        ("POST", "/items", "Create {name, quantity} (gRPC CreateItem)"),
        ("GET", "/items/{id}", "One item (gRPC GetItem)"),
    ];
    for (method, path, description) in rest {
        af_router.add_route(RouteMetadata::new(path, method, "rest").with_description(description));
    }
    let spec = OpenApiGenerator::new("AllFrame API gateway demo", env!("CARGO_PKG_VERSION")).generate(&af_router);
    let not_found = || async { ApiError(StatusCode::NOT_FOUND, "no such route".into(), "NOT_FOUND") };
    let bad_method =
        || async { ApiError(StatusCode::METHOD_NOT_ALLOWED, "method not allowed".into(), "UNIMPLEMENTED") };
    Ok(Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/items", get(rest_list).post(rest_create))
        .route("/items/{id}", get(rest_get))
        .route("/graphql", axum::routing::post(graphql))
        .route("/graphql/schema.graphql", get(move || std::future::ready(sdl.clone())))
        .route("/openapi.json", get(move || std::future::ready(Json(spec.clone()))))
        .route("/proto/inventory.proto", get(|| async { include_str!("../proto/inventory.proto") }))
        .fallback(not_found)
        .method_not_allowed_fallback(bad_method)
        .with_state(AppState { backend, schema }))
}

/// Serves the HTTP app on an already bound listener (the gRPC server on `config.grpc_addr`) until the end.
pub async fn serve(listener: tokio::net::TcpListener, config: Config) -> std::io::Result<()> {
    axum::serve(listener, app(config).await?).await
}
