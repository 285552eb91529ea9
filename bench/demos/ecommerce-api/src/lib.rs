//! ecommerce-api: the PRD's scenario 1 (REST + CQRS) built on AllFrame 0.1.28.
//!
//! From AllFrame (allframe-core, feature `cqrs`): `CommandBus` (cart commands, checkout =
//! CreateOrder), `QueryBus` (catalogue, cart, order queries), `EventStore` (in-memory) with
//! `Aggregate`s, `ProjectionRegistry` + `Projection` (catalogue and inventory views, kept current by
//! `start_subscription`), `SagaOrchestrator` (order fulfilment with compensation), `AutoUpcaster`
//! (OrderV1 → OrderV2), `router::Router` + `RouteMetadata` + `OpenApiGenerator` (the OpenAPI 3.1
//! document, through `demo_support::apidoc`) and `scalar_html` (the docs page). From other crates:
//! axum 0.8 serves HTTP (AllFrame's `RestAdapter` serves none), serde/serde_json, tokio, thiserror;
//! `demo-support` has the JSON errors, extractors, checked money, the saga runner and serving all
//! demos share.
pub mod commands;
pub mod domain;
pub mod queries;

use allframe_core::cqrs::{
    CommandBus, CommandError, EventStore, InMemoryBackend, ProjectionRegistry, QueryBus, QueryError,
};
use allframe_core::router::{scalar_html, ScalarConfig};
use axum::routing::{get, post, put};
use axum::{extract::State, http::StatusCode, response::Html, Router};
use demo_support::events::stream;
use demo_support::extract::{Json, Path};
use demo_support::{apidoc, error::ApiError, locks::KeyedLocks};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_util::task::TaskTracker;

use commands::{CreateOrder, Shop, UpdateCart};
use domain::{order_v2, Cart, CartItem, OrderV2, Product, ShopEvent};
use queries::{CatalogView, GetCart, GetOrder, InventoryView, ListProducts};

#[derive(Clone)]
pub struct AppState {
    pub commands: CommandBus<ShopEvent>,
    pub queries: QueryBus,
    pub projections: ProjectionRegistry<ShopEvent, InMemoryBackend<ShopEvent>>,
    pub store: EventStore<ShopEvent>,
    pub inventory: InventoryView,
    pub tasks: TaskTracker,
}

#[derive(Debug, thiserror::Error)]
pub enum ShopError {
    #[error("order {0} not found")]
    OrderNotFound(String),
    /// The order's id and why its checkout failed.
    #[error("order {0} failed: {1}")]
    OrderFailed(String, String),
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("{0}")]
    Internal(String),
}

impl ApiError for ShopError {
    fn status_code(&self) -> (StatusCode, &'static str) {
        // Commands validate quantities, card numbers, carts and totals, and look up only products.
        match self {
            ShopError::OrderNotFound(_) => (StatusCode::NOT_FOUND, "order_not_found"),
            ShopError::OrderFailed(..) => (StatusCode::CONFLICT, "order_failed"),
            ShopError::Command(e) => match e {
                CommandError::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
                CommandError::NotFound(_) => (StatusCode::NOT_FOUND, "product_not_found"),
                CommandError::AlreadyExecuted(_) => (StatusCode::CONFLICT, "order_exists"),
                _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
            },
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }
}

demo_support::json_error!(ShopError);

type Answer<T> = Result<Json<T>, ShopError>;

async fn list_products(s: State<AppState>) -> Answer<Vec<Product>> {
    Ok(Json(s.queries.dispatch(ListProducts).await?))
}

/// The inventory projection's state, read directly.
async fn inventory_levels(s: State<AppState>) -> Json<Value> {
    let applied = s.projections.get_metadata("inventory").await;
    let applied = applied.map(|m| m.position.version);
    Json(json!({"levels": s.inventory.read(), "events_applied": applied}))
}

async fn get_cart(s: State<AppState>, Path(id): Path<String>) -> Answer<Cart> {
    Ok(Json(s.queries.dispatch(GetCart(id)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quantity {
    quantity: u32,
}

async fn set_item(
    s: State<AppState>,
    Path((cart_id, product_id)): Path<(String, String)>,
    Json(b): Json<Quantity>,
) -> Answer<Cart> {
    let item = CartItem {
        cart_id: cart_id.clone(),
        product_id,
        quantity: b.quantity,
    };
    s.commands.dispatch(UpdateCart(item)).await?;
    get_cart(s, Path(cart_id)).await
}

/// The saga runs in a task of its own, so it completes or compensates even when the client goes
/// away. 201 with the order; otherwise 409, the JSON error shape plus `order_id` and the events.
async fn checkout(
    s: State<AppState>,
    Path(cart_id): Path<String>,
    Json(create): Json<CreateOrder>,
) -> Result<(StatusCode, axum::Json<Value>), ShopError> {
    let create = CreateOrder { cart_id, ..create };
    let commands = s.commands.clone();
    let events =
        demo_support::saga::spawn(&s.tasks, async move { commands.dispatch(create).await });
    let events = events.await.map_err(ShopError::Internal)??;
    if let Some(order) = events.iter().find_map(order_v2) {
        let body = json!({ "order": order });
        return Ok(demo_support::saga::answer(
            StatusCode::CREATED,
            body,
            &events,
        ));
    }
    match events.last() {
        Some(ShopEvent::OrderFailed { order_id, failure }) => {
            Ok(failure.answer(StatusCode::CONFLICT, "order_id", order_id, &events))
        }
        _ => Err(ShopError::Internal("the checkout has no outcome".into())),
    }
}

/// A placed order in schema V2 (V1 events upcast); a failed checkout's order answers 409.
async fn get_order(s: State<AppState>, Path(id): Path<String>) -> Answer<OrderV2> {
    let found: Option<OrderV2> = s.queries.dispatch(GetOrder(id.clone())).await?;
    if let Some(order) = found {
        return Ok(Json(order));
    }
    let events = s.store.get_events(&stream("order", &id)).await;
    match events.map_err(ShopError::Internal)?.pop() {
        Some(ShopEvent::OrderFailed { failure, .. }) => {
            Err(ShopError::OrderFailed(id, failure.reason))
        }
        _ => Err(ShopError::OrderNotFound(id)),
    }
}

/// The raw event stream of one aggregate (e.g. `product-keyboard`, `order-<id>`, `cart-<id>`).
async fn raw_stream(s: State<AppState>, Path(name): Path<String>) -> Answer<Vec<ShopEvent>> {
    let events = s.store.get_events(&name).await;
    Ok(Json(events.map_err(ShopError::Internal)?))
}

/// The REST API: method, path, documented statuses | description. Served by axum (in `app`) and
/// described on AllFrame's `Router`, from which AllFrame's `OpenApiGenerator` writes the document.
const API: [&str; 10] = [
    "GET /health 200 | Liveness probe",
    "GET /openapi.json 200 | This document (AllFrame OpenApiGenerator)",
    "GET /docs 200 | Scalar page showing this document (AllFrame scalar_html)",
    "GET /products 200 | Product catalogue (QueryBus, catalogue projection)",
    "GET /inventory 200 | Stock per product (inventory projection)",
    "GET /carts/{id} 200 400 | A cart, folded from its events (QueryBus)",
    "PUT /carts/{id}/items/{product_id} 200 400 404 413 415 422 | UpdateCart (CommandBus); 0 removes",
    "POST /carts/{id}/checkout 201 400 409 413 415 422 | CreateOrder (CommandBus): the fulfilment saga",
    "GET /orders/{id} 200 400 404 409 | An order in schema V2, V1 events upcast (QueryBus)",
    "GET /streams/{stream} 200 400 | Raw events of one aggregate stream (EventStore)",
];

/// The OpenAPI 3.1 document of `API`, with the request bodies' schemas.
fn openapi_document() -> Value {
    let quantity = json!({"type": "integer", "minimum": 0, "maximum": 100});
    let card = json!({"type": "string", "pattern": "^[0-9]{12,19}$"});
    let bodies = [
        (
            "PUT /carts/{id}/items/{product_id}",
            json!({"type": "object", "properties": {"quantity": quantity}, "required": ["quantity"]}),
        ),
        (
            "POST /carts/{id}/checkout",
            json!({"type": "object", "properties": {"card_number": card, "order_id": {"type": "string"}}, "required": ["card_number"]}),
        ),
    ];
    let title = "AllFrame e-commerce demo";
    let mut doc = apidoc::generate(title, env!("CARGO_PKG_VERSION"), &API, &bodies);
    doc["info"]["description"] = json!("PRD scenario 1: REST + CQRS on AllFrame");
    doc
}

/// The log the shop starts with, by stream: three products and an order recorded before the schema
/// change, still in the V1 shape.
fn seed_events() -> Vec<(String, ShopEvent)> {
    let seed = json!([
        ["product-keyboard", {"type": "ProductAdded", "stock": 10,
            "product": {"id": "keyboard", "name": "Keyboard", "price_cents": 4999}}],
        ["product-mouse", {"type": "ProductAdded", "stock": 25,
            "product": {"id": "mouse", "name": "Mouse", "price_cents": 1999}}],
        ["product-monitor", {"type": "ProductAdded", "stock": 3,
            "product": {"id": "monitor", "name": "Monitor", "price_cents": 18999}}],
        ["order-legacy-1001", {"type": "OrderPlacedV1", "order_id": "legacy-1001",
            "items": [["keyboard", 1], ["monitor", 2]], "total": 429.97}],
    ]);
    serde_json::from_value(seed).expect("the seed events are ShopEvents")
}

/// Builds the whole application: seeded store, projections, buses, HTTP routes. Checkout sagas
/// run on `tasks`, which `main` waits for at shutdown.
pub async fn app(tasks: TaskTracker) -> Result<Router, String> {
    let store = EventStore::new();
    let catalog = CatalogView::default();
    let inventory = InventoryView::default();
    let projections = ProjectionRegistry::new(store.clone());
    projections.register("catalog", catalog.clone()).await;
    projections.register("inventory", inventory.clone()).await;
    for (stream, event) in seed_events() {
        store.append(&stream, vec![event]).await?;
    }
    projections.rebuild_all().await?;
    projections.start_subscription().await?;
    let shop = Shop {
        store: store.clone(),
        catalog,
        sagas: Default::default(),
        locks: KeyedLocks::default(),
    };
    let commands = CommandBus::new();
    commands.register::<UpdateCart, _>(shop.clone()).await;
    commands.register::<CreateOrder, _>(shop.clone()).await;
    let queries = QueryBus::new();
    queries.register::<ListProducts, _, _>(shop.clone()).await;
    queries.register::<GetCart, _, _>(shop.clone()).await;
    queries.register::<GetOrder, _, _>(shop).await;
    let doc = openapi_document();
    let config = ScalarConfig::new().spec_url("/openapi.json");
    let page = scalar_html(&config, "AllFrame e-commerce demo", &doc.to_string());
    let state = AppState {
        commands,
        queries,
        projections,
        store,
        inventory,
        tasks,
    };
    Ok(Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/openapi.json", get(|| async move { Json(doc) }))
        .route("/docs", get(|| async move { Html(page) }))
        .route("/products", get(list_products))
        .route("/inventory", get(inventory_levels))
        .route("/carts/{id}", get(get_cart))
        .route("/carts/{id}/items/{product_id}", put(set_item))
        .route("/carts/{id}/checkout", post(checkout))
        .route("/orders/{id}", get(get_order))
        .route("/streams/{stream}", get(raw_stream))
        .with_state(state))
}

/// Probes of AllFrame 0.1.28 behaviour that the README reports under "Findings about AllFrame". Each passes
/// while the behaviour is as found; a failure means AllFrame changed and the README needs updating.
#[cfg(test)]
mod findings {
    use super::*;
    use allframe_core::router::{OpenApiGenerator, RouteMetadata, Router as AfRouter};

    async fn seeded_inventory() -> (
        ProjectionRegistry<ShopEvent, InMemoryBackend<ShopEvent>>,
        InventoryView,
    ) {
        let store = EventStore::new();
        for (stream_name, event) in seed_events() {
            store.append(&stream_name, vec![event]).await.unwrap();
        }
        let registry = ProjectionRegistry::new(store);
        let inventory = InventoryView::default();
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
        assert_eq!(
            inventory.0.read().unwrap()["keyboard"].available,
            20,
            "replayed on top of the old state"
        );
    }

    #[test]
    fn finding_openapi_paths_lack_parameters() {
        let mut router = AfRouter::new();
        router.add_route(RouteMetadata::new("/orders/{id}", "GET", "rest"));
        let doc = OpenApiGenerator::new("t", "1").generate(&router);
        let operation = &doc["paths"]["/orders/{id}"]["get"];
        assert!(operation.get("parameters").is_none(), "{operation}");
        assert_eq!(
            operation["responses"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["200"]
        );
    }
}
