//! api-gateway: the PRD's scenario 3 (microservices gateway, multi-protocol) on AllFrame 0.1.28.
//!
//! One set of handlers (`service::Inventory`) is served over gRPC by AllFrame's `grpc::GrpcServer`
//! (with AllFrame's reflection service and tonic-health, on a listener bound once); the REST and GraphQL faces translate
//! each request into a gRPC call (REST → gRPC translation) with the generated tonic client. One error type,
//! `GatewayError`, maps to each protocol: gRPC status via AllFrame's `#[derive(GrpcError)]`, HTTP status and
//! GraphQL `extensions.code` through `demo_support::error::ApiError`. Spans come from AllFrame's `otel::traced` (tracing) and are exported by
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

use std::{future::Future, net::SocketAddr, path::PathBuf, time::Duration};

use allframe::grpc::GrpcServer;
use allframe::otel::traced;
use async_graphql::{Context, EmptySubscription, Object, Schema};
use async_graphql_axum::GraphQLResponse;
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use demo_support::error::ErrorBody;
use demo_support::extract::{Json, Path};
use demo_support::{apidoc, graphql::error as graphql_error};
use proto::{
    inventory_client::InventoryClient, CreateItemRequest, GetItemRequest, Item, ListItemsRequest,
};
use serde::Deserialize;
use serde_json::{json, Value};
use service::GatewayError;
use tonic::transport::{server::TcpIncoming, Channel};
use tonic_health::pb::{health_check_response::ServingStatus, health_client::HealthClient};

#[derive(Clone)]
pub struct Config {
    /// Where the gRPC server listens (the REST and GraphQL faces call it there).
    pub grpc_addr: SocketAddr,
    /// Where finished spans are written as JSON lines; `None`: no exporter.
    pub spans_file: Option<PathBuf>,
}

/// The gRPC client the REST and GraphQL faces translate into.
pub type Backend = InventoryClient<Channel>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
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
    let req = traced_request(GetItemRequest { id });
    Ok(backend.get_item(req).await?.into_inner())
}

#[traced(name = "gateway.list_items", skip(backend))]
async fn grpc_list(mut backend: Backend) -> Result<Vec<Item>, GatewayError> {
    let req = traced_request(ListItemsRequest {});
    Ok(backend.list_items(req).await?.into_inner().items)
}

#[traced(name = "gateway.create_item", skip(backend))]
async fn grpc_create(
    mut backend: Backend,
    name: String,
    quantity: u32,
) -> Result<Item, GatewayError> {
    let req = traced_request(CreateItemRequest { name, quantity });
    Ok(backend.create_item(req).await?.into_inner())
}

async fn rest_list(State(s): State<AppState>) -> Result<Json<Vec<Item>>, GatewayError> {
    Ok(Json(grpc_list(s.backend).await?))
}

async fn rest_get(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Item>, GatewayError> {
    Ok(Json(grpc_get(s.backend, id).await?))
}

async fn rest_create(
    State(s): State<AppState>,
    Json(b): Json<NewItem>,
) -> Result<(StatusCode, Json<Item>), GatewayError> {
    Ok((
        StatusCode::CREATED,
        Json(grpc_create(s.backend, b.name, b.quantity).await?),
    ))
}

pub struct QueryRoot;

#[Object]
impl QueryRoot {
    async fn item(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<Item> {
        grpc_get(ctx.data_unchecked::<Backend>().clone(), id)
            .await
            .map_err(graphql_error)
    }
    async fn items(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Item>> {
        grpc_list(ctx.data_unchecked::<Backend>().clone())
            .await
            .map_err(graphql_error)
    }
}

pub struct MutationRoot;

#[Object]
impl MutationRoot {
    async fn create_item(
        &self,
        ctx: &Context<'_>,
        name: String,
        quantity: u32,
    ) -> async_graphql::Result<Item> {
        grpc_create(ctx.data_unchecked::<Backend>().clone(), name, quantity)
            .await
            .map_err(graphql_error)
    }
}

pub type GatewaySchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

#[derive(Clone)]
pub struct AppState {
    backend: Backend,
    channel: Channel,
    schema: GatewaySchema,
    grpc_addr: SocketAddr,
}

/// `POST /graphql`: the body is read by the JSON extractor, so the app's body limit applies
/// (async-graphql-axum's own `GraphQLRequest` reads any length).
async fn graphql(
    State(s): State<AppState>,
    Json(req): Json<async_graphql::Request>,
) -> GraphQLResponse {
    s.schema.execute(req).await.into()
}

/// Liveness of the gateway and of the gRPC server it translates to (a real gRPC health check, 1 s).
async fn health(State(s): State<AppState>) -> Response {
    let mut client = HealthClient::new(s.channel.clone());
    let request = tonic_health::pb::HealthCheckRequest::default();
    let answer = tokio::time::timeout(Duration::from_secs(1), client.check(request)).await;
    let grpc = match answer {
        Ok(Ok(r)) if r.get_ref().status == ServingStatus::Serving as i32 => Ok("serving"),
        Ok(Ok(_)) => Err("is not serving".to_string()),
        Ok(Err(status)) => Err(format!("is unreachable: {}", status.message())),
        Err(_) => Err("gave no answer within 1 s".to_string()),
    };
    let addr = s.grpc_addr;
    match grpc {
        Ok(status) => {
            let dependencies = json!({"grpc": {"addr": addr, "status": status}});
            axum::Json(json!({"status": "ok", "dependencies": dependencies})).into_response()
        }
        Err(why) => {
            let status = StatusCode::SERVICE_UNAVAILABLE;
            let error = ErrorBody::new(
                status,
                "dependency_unavailable",
                format!("gRPC server {why}"),
            );
            let mut body = serde_json::to_value(error).unwrap_or_default();
            body["dependencies"] = json!({"grpc": {"addr": addr, "status": "unavailable"}});
            (status, axum::Json(body)).into_response()
        }
    }
}

/// The REST API as its OpenAPI document describes it: method, path, the statuses it answers | what it does.
pub const API: [&str; 4] = [
    "GET /health 200 503 | Liveness, with the gRPC server's",
    "GET /items 200 502 | List items (gRPC ListItems)",
    "POST /items 201 400 409 413 415 422 502 | Create {name, quantity} (gRPC CreateItem)",
    "GET /items/{id} 200 400 404 502 | One item (gRPC GetItem)",
];

/// The OpenAPI 3.1 document: paths by AllFrame's `OpenApiGenerator`, which documents every operation as
/// answering 200 only, so the statuses each one really answers are written in by demo-support (`apidoc`).
pub fn openapi() -> Value {
    let new_item = json!({"type": "object", "required": ["name", "quantity"], "properties": {
        "name": {"type": "string"}, "quantity": {"type": "integer", "minimum": 0}}});
    let version = env!("CARGO_PKG_VERSION");
    let bodies = [("POST /items", new_item)];
    apidoc::generate("AllFrame API gateway demo", version, &API, &bodies)
}

/// Serves the inventory over gRPC (AllFrame `GrpcServer`, with reflection and tonic-health) on an already
/// bound listener until `shutdown` completes.
pub async fn serve_grpc(
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let grpc = GrpcServer::new().reflection(proto::DESCRIPTOR);
    let reflection = grpc
        .reflection_service()?
        .ok_or("reflection is not configured")?;
    // Not `grpc.health_check().create_health_reporter()`: its service cannot be added to a tonic server (README).
    let (_, health) = tonic_health::server::health_reporter();
    let inventory = proto::inventory_server::InventoryServer::new(service::Inventory::default());
    // Not `grpc.serve_router(router)`: it binds `addr` itself, so the port cannot be bound once and handed over.
    let router = grpc
        .server_builder()
        .add_service(inventory)
        .add_service(reflection);
    let incoming = TcpIncoming::from(listener);
    Ok(router
        .add_service(health)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?)
}

/// The HTTP app (REST and GraphQL), translating to the gRPC server at `config.grpc_addr`.
pub fn app(config: Config) -> Router {
    if let Some(path) = config.spans_file.clone() {
        telemetry::install(path);
    }
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{}", config.grpc_addr));
    let endpoint = endpoint.expect("a socket address is a valid URI");
    let channel = endpoint
        .connect_timeout(Duration::from_secs(1))
        .connect_lazy();
    let backend = InventoryClient::new(channel.clone());
    let schema = Schema::build(QueryRoot, MutationRoot, EmptySubscription)
        .data(backend.clone())
        .finish();
    let sdl = schema.sdl();
    let spec = openapi();
    let state = AppState {
        backend,
        channel,
        schema,
        grpc_addr: config.grpc_addr,
    };
    Router::new()
        .route("/health", get(health))
        .route("/items", get(rest_list).post(rest_create))
        .route("/items/{id}", get(rest_get))
        .route("/graphql", post(graphql))
        .route(
            "/graphql/schema.graphql",
            get(move || std::future::ready(sdl.clone())),
        )
        .route(
            "/openapi.json",
            get(move || std::future::ready(axum::Json(spec.clone()))),
        )
        .route(
            "/proto/inventory.proto",
            get(|| async { include_str!("../proto/inventory.proto") }),
        )
        .fallback(demo_support::error::not_found)
        .method_not_allowed_fallback(demo_support::error::method_not_allowed)
        .with_state(state)
}
