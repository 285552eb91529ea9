//! Read side: two AllFrame `Projection`s kept current by `ProjectionRegistry::start_subscription`, and the
//! query handlers AllFrame's `QueryBus` dispatches to.
use std::{
    collections::BTreeMap,
    sync::{Arc, RwLock},
};

use allframe_core::cqrs::{Aggregate, Projection, Query, QueryError, QueryHandler, QueryResult};
use demo_support::events::{fold, stream};

use crate::commands::Shop;
use crate::domain::{order_v2, stock_product, Cart, OrderV2, Product, ShopEvent, StockLevel};

/// A projection's state, shared through an `Arc` that the query handlers keep a clone of
/// (`ProjectionRegistry::get` always returns `None` in AllFrame 0.1.28).
#[derive(Clone, Default)]
pub struct View<T>(pub Arc<RwLock<T>>);
pub type CatalogView = View<BTreeMap<String, Product>>;
pub type InventoryView = View<BTreeMap<String, StockLevel>>;

impl<T: Clone> View<T> {
    /// A copy of the current state.
    pub fn read(&self) -> T {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

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
            let mut catalog = self.0.write().unwrap_or_else(|e| e.into_inner());
            catalog.insert(product.id.clone(), product.clone());
        }
    }
}

impl Projection for InventoryView {
    type Event = ShopEvent;
    fn apply(&mut self, event: &ShopEvent) {
        if let Some(product_id) = stock_product(event) {
            let mut levels = self.0.write().unwrap_or_else(|e| e.into_inner());
            levels
                .entry(product_id.into())
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

#[async_trait::async_trait]
impl QueryHandler<ListProducts, Vec<Product>> for Shop {
    async fn handle(&self, _: ListProducts) -> QueryResult<Vec<Product>> {
        Ok(self.catalog.read().into_values().collect())
    }
}

#[async_trait::async_trait]
impl QueryHandler<GetCart, Cart> for Shop {
    async fn handle(&self, q: GetCart) -> QueryResult<Cart> {
        let events = self.store.get_events(&stream("cart", &q.0)).await;
        Ok(fold(&events.map_err(QueryError::Internal)?))
    }
}

#[async_trait::async_trait]
impl QueryHandler<GetOrder, Option<OrderV2>> for Shop {
    async fn handle(&self, q: GetOrder) -> QueryResult<Option<OrderV2>> {
        let events = self.store.get_events(&stream("order", &q.0)).await;
        Ok(events
            .map_err(QueryError::Internal)?
            .iter()
            .find_map(order_v2))
    }
}
