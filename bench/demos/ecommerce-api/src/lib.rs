//! ecommerce-api: the PRD's scenario 1 (REST + CQRS) built on AllFrame 0.1.28.
//!
//! From AllFrame (allframe-core, feature `cqrs`): `CommandBus` (cart commands, checkout = CreateOrder),
//! `QueryBus` (catalogue, cart, order, inventory queries), `EventStore` (in-memory) with `Aggregate`s,
//! `ProjectionRegistry` + `Projection` (catalogue and inventory views, kept current by
//! `start_subscription`), `SagaOrchestrator` (order fulfilment with compensation), `AutoUpcaster`
//! (OrderV1 → OrderV2), `router::Router` + `RouteMetadata` + `OpenApiGenerator` (the OpenAPI 3.1 document)
//! and `scalar_html` (the docs page).
//! From other crates: axum 0.8 serves HTTP (AllFrame's `RestAdapter` serves none), serde/serde_json,
//! tokio, uuid (order ids).
pub mod commands;
pub mod domain;
pub mod queries;
pub mod saga;

use allframe_core::cqrs::{
    CommandBus, CommandError, EventStore, InMemoryBackend, ProjectionRegistry, QueryBus, QueryError,
};
use allframe_core::router::{scalar_html, OpenApiGenerator, RouteMetadata, Router as AfRouter, ScalarConfig};
use axum::{
    extract::{rejection::JsonRejection, FromRequest, Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::{get, post, put, MethodRouter},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

use commands::*;
use domain::{stream, OrderV1, OrderV2, Product, ShopEvent};
use queries::*;

#[derive(Clone)]
pub struct AppState {
    pub commands: CommandBus<ShopEvent>,
    pub queries: QueryBus,
    pub projections: ProjectionRegistry<ShopEvent, InMemoryBackend<ShopEvent>>,
    pub store: EventStore<ShopEvent>,
    pub inventory: InventoryView,
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

async fn list_products(State(s): State<AppState>) -> ApiResult {
    ok(StatusCode::OK, s.queries.dispatch::<ListProducts, Vec<Product>>(ListProducts).await?)
}

async fn inventory_levels(State(s): State<AppState>) -> ApiResult {
    let levels = s.inventory.0.read().unwrap().clone(); // the projection's state, read directly
    let applied = s.projections.get_metadata("inventory").await.map(|m| m.position.version);
    ok(StatusCode::OK, json!({"levels": levels, "events_applied": applied}))
}

async fn get_cart(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    ok(StatusCode::OK, s.queries.dispatch::<GetCart, domain::Cart>(GetCart(id)).await?)
}

#[derive(Deserialize)]
pub struct Quantity {
    quantity: u32,
}

type CartItem = Path<(String, String)>;
async fn set_item(
    State(s): State<AppState>,
    Path((cart_id, product_id)): CartItem,
    Body(b): Body<Quantity>,
) -> ApiResult {
    s.commands.dispatch(UpdateCart { cart_id: cart_id.clone(), product_id, quantity: b.quantity }).await?;
    get_cart(State(s), Path(cart_id)).await
}

#[derive(Deserialize)]
pub struct Card {
    card_number: String,
}

async fn checkout(State(s): State<AppState>, Path(cart_id): Path<String>, Body(b): Body<Card>) -> ApiResult {
    let events = s.commands.dispatch(CreateOrder { cart_id, card_number: b.card_number }).await?;
    let order = events.iter().find_map(domain::order_v2);
    ok(StatusCode::CREATED, json!({"order": order, "events": events}))
}

async fn get_order(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let order = s.queries.dispatch::<GetOrder, Option<OrderV2>>(GetOrder(id.clone())).await?;
    ok(StatusCode::OK, order.ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("order {id} not found")))?)
}

/// The raw event stream of one aggregate (e.g. `product-keyboard`, `order-<id>`, `cart-<id>`).
async fn raw_stream(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult {
    ok(StatusCode::OK, s.store.get_events(&name).await.map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e))?)
}

/// The REST API, one table: each row is served by axum and described on AllFrame's `Router`
/// (`RouteMetadata`), from which AllFrame's `OpenApiGenerator` writes the OpenAPI 3.1 document.
fn routes() -> Vec<(&'static str, &'static str, &'static str, MethodRouter<AppState>, Option<Value>)> {
    let body =
        |field: &str, schema: Value| json!({"type": "object", "properties": {field: schema}, "required": [field]});
    let quantity = body("quantity", json!({"type": "integer", "minimum": 0, "maximum": 100}));
    let card = body("card_number", json!({"type": "string", "pattern": "^[0-9]{12,19}$"}));
    vec![
        ("GET", "/health", "Liveness probe", get(|| async { Json(json!({"status": "ok"})) }), None),
        ("GET", "/products", "Product catalogue (QueryBus, catalogue projection)", get(list_products), None),
        ("GET", "/inventory", "Stock per product (QueryBus, inventory projection)", get(inventory_levels), None),
        ("GET", "/carts/{id}", "A cart, folded from its events (QueryBus)", get(get_cart), None),
        ("PUT", "/carts/{id}/items/{product_id}", "UpdateCart (CommandBus); 0 removes", put(set_item), Some(quantity)),
        ("POST", "/carts/{id}/checkout", "CreateOrder (CommandBus): the fulfilment saga", post(checkout), Some(card)),
        ("GET", "/orders/{id}", "An order in schema V2, V1 events upcast (QueryBus)", get(get_order), None),
        ("GET", "/streams/{stream}", "Raw events of one aggregate stream (EventStore)", get(raw_stream), None),
    ]
}

fn seed_events() -> Vec<(String, ShopEvent)> {
    let products = [("keyboard", "Keyboard", 4999, 10), ("mouse", "Mouse", 1999, 25), ("monitor", "Monitor", 18999, 3)];
    let mut seed = Vec::new();
    for (id, name, price_cents, stock) in products {
        let product = Product { id: id.into(), name: name.into(), price_cents };
        seed.push((stream("product", id), ShopEvent::ProductAdded { product, stock }));
    }
    // Orders recorded before the schema change, still in the log in the V1 shape.
    let (items, total) = (vec![("keyboard".into(), 1), ("monitor".into(), 2)], 429.97);
    let legacy = OrderV1 { order_id: "legacy-1001".into(), items, total };
    seed.push((stream("order", "legacy-1001"), ShopEvent::OrderPlacedV1(legacy)));
    seed
}

/// Builds the whole application: seeded store, projections, buses, HTTP routes.
pub async fn app() -> Router {
    let store = EventStore::new();
    let (catalog, inventory) = (CatalogView::default(), InventoryView::default());
    let projections = ProjectionRegistry::new(store.clone());
    projections.register("catalog", catalog.clone()).await;
    projections.register("inventory", inventory.clone()).await;
    for (stream, event) in seed_events() {
        store.append(&stream, vec![event]).await.expect("seed the in-memory store");
    }
    projections.rebuild_all().await.expect("rebuild projections");
    projections.start_subscription().await.expect("subscribe projections");

    let queries = QueryBus::new();
    queries::register_all(&queries, &Queries { catalog: catalog.clone(), store: store.clone() }).await;
    let commands = CommandBus::new();
    let (checkout_lock, sagas) = (Default::default(), Default::default());
    let handlers = Handlers { store: store.clone(), catalog, sagas, checkout_lock };
    commands.register::<UpdateCart, _>(handlers.clone()).await;
    commands.register::<CreateOrder, _>(handlers).await;

    // The OpenAPI 3.1 document, generated by AllFrame from the route table, and the Scalar page showing it.
    let mut af_router = AfRouter::new();
    for (method, path, description, _, request) in routes() {
        let mut meta = RouteMetadata::new(path, method, "rest").with_description(description);
        meta.request_schema = request;
        af_router.add_route(meta);
    }
    let spec = OpenApiGenerator::new("AllFrame e-commerce demo", env!("CARGO_PKG_VERSION"))
        .with_description("PRD scenario 1: REST + CQRS on AllFrame")
        .generate(&af_router);
    let page =
        scalar_html(&ScalarConfig::new().spec_url("/openapi.json"), "AllFrame e-commerce demo", &spec.to_string());
    let mut router = Router::new()
        .route("/openapi.json", get(move || std::future::ready(Json(spec.clone()))))
        .route("/docs", get(move || std::future::ready(Html(page.clone()))));
    for (_, path, _, method_router, _) in routes() {
        router = router.route(path, method_router);
    }
    let not_found = || async { ApiError(StatusCode::NOT_FOUND, "no such route".into()) };
    let bad_method = || async { ApiError(StatusCode::METHOD_NOT_ALLOWED, "method not allowed".into()) };
    let state = AppState { commands, queries, projections, store, inventory };
    router.fallback(not_found).method_not_allowed_fallback(bad_method).with_state(state)
}

/// Serves the app on an already bound listener until the process ends.
pub async fn serve(listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(listener, app().await).await
}

/// Probes of AllFrame 0.1.28 behaviour that the README reports under "Findings about AllFrame". Each passes
/// while the behaviour is as found; a failure means AllFrame changed and the README needs updating.
#[cfg(test)]
mod findings {
    use super::*;

    async fn seeded_inventory() -> (ProjectionRegistry<ShopEvent, InMemoryBackend<ShopEvent>>, InventoryView) {
        let store = EventStore::new();
        for (stream_name, event) in seed_events() {
            store.append(&stream_name, vec![event]).await.unwrap();
        }
        let (registry, inventory) = (ProjectionRegistry::new(store), InventoryView::default());
        registry.register("inventory", inventory.clone()).await;
        (registry, inventory)
    }

    #[tokio::test]
    async fn finding_projection_registry_get_returns_none() {
        let (registry, _) = seeded_inventory().await;
        registry.rebuild("inventory").await.unwrap();
        assert!(registry.get::<InventoryView>("inventory").await.is_none());
    }

    #[tokio::test]
    async fn finding_projection_rebuild_does_not_reset_state() {
        let (registry, inventory) = seeded_inventory().await;
        registry.rebuild("inventory").await.unwrap();
        assert_eq!(inventory.0.read().unwrap()["keyboard"].available, 10);
        registry.rebuild("inventory").await.unwrap();
        assert_eq!(inventory.0.read().unwrap()["keyboard"].available, 20, "replayed on top of the old state");
    }

    #[test]
    fn finding_openapi_paths_lack_parameters() {
        let mut router = AfRouter::new();
        router.add_route(RouteMetadata::new("/orders/{id}", "GET", "rest"));
        let doc = OpenApiGenerator::new("t", "1").generate(&router);
        let operation = &doc["paths"]["/orders/{id}"]["get"];
        assert!(operation.get("parameters").is_none(), "{operation}");
        assert_eq!(operation["responses"].as_object().unwrap().keys().collect::<Vec<_>>(), ["200"]);
    }
}
