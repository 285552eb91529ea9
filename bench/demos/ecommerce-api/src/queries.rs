//! Read side: two AllFrame `Projection`s kept current by `ProjectionRegistry::start_subscription`, and the
//! query handlers AllFrame's `QueryBus` dispatches to.
use std::{
    collections::BTreeMap,
    sync::{Arc, RwLock},
};

use allframe_core::cqrs::Aggregate;
use allframe_core::cqrs::{
    EventStore, Projection, Query, QueryBus, QueryError, QueryHandler, QueryResult,
};

use crate::domain::{
    fold, order_v2, stock_product, stream, Cart, OrderV2, Product, ShopEvent, StockLevel,
};

/// A projection's state, shared through an `Arc` that the query handlers keep a clone of
/// (`ProjectionRegistry::get` always returns `None` in AllFrame 0.1.28).
#[derive(Clone, Default)]
pub struct View<T>(pub Arc<RwLock<T>>);
pub type CatalogView = View<BTreeMap<String, Product>>;
pub type InventoryView = View<BTreeMap<String, StockLevel>>;

impl CatalogView {
    pub fn has(&self, product_id: &str) -> bool {
        let catalog = self.0.read().unwrap_or_else(|e| e.into_inner());
        catalog.contains_key(product_id)
    }
}

impl Projection for CatalogView {
    type Event = ShopEvent;
    fn apply(&mut self, event: &ShopEvent) {
        if let ShopEvent::ProductAdded { product, .. } = event {
            self.0
                .write()
                .unwrap()
                .insert(product.id.clone(), product.clone());
        }
    }
}

impl Projection for InventoryView {
    type Event = ShopEvent;
    fn apply(&mut self, event: &ShopEvent) {
        if let Some(product_id) = stock_product(event) {
            self.0
                .write()
                .unwrap()
                .entry(product_id.to_string())
                .or_default()
                .apply_event(event);
        }
    }
}

pub struct ListProducts;
impl Query for ListProducts {}
pub struct GetCart(pub String);
impl Query for GetCart {}
pub struct GetOrder(pub String);
impl Query for GetOrder {}

/// One handler value serving every query type (registered once per type).
#[derive(Clone)]
pub struct Queries {
    pub catalog: CatalogView,
    pub store: EventStore<ShopEvent>,
}

#[async_trait::async_trait]
impl QueryHandler<ListProducts, Vec<Product>> for Queries {
    async fn handle(&self, _: ListProducts) -> QueryResult<Vec<Product>> {
        Ok(self.catalog.0.read().unwrap().values().cloned().collect())
    }
}

#[async_trait::async_trait]
impl QueryHandler<GetCart, Cart> for Queries {
    async fn handle(&self, q: GetCart) -> QueryResult<Cart> {
        Ok(fold(
            &self
                .store
                .get_events(&stream("cart", &q.0))
                .await
                .map_err(QueryError::Internal)?,
        ))
    }
}

#[async_trait::async_trait]
impl QueryHandler<GetOrder, Option<OrderV2>> for Queries {
    async fn handle(&self, q: GetOrder) -> QueryResult<Option<OrderV2>> {
        let events = self
            .store
            .get_events(&stream("order", &q.0))
            .await
            .map_err(QueryError::Internal)?;
        Ok(events.iter().find_map(order_v2))
    }
}

pub async fn register_all(bus: &QueryBus, q: &Queries) {
    bus.register::<ListProducts, Vec<Product>, _>(q.clone())
        .await;
    bus.register::<GetCart, Cart, _>(q.clone()).await;
    bus.register::<GetOrder, Option<OrderV2>, _>(q.clone())
        .await;
}
