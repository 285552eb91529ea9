//! Domain model: the one event type AllFrame's `EventStore` holds, the aggregates folded from it, and the
//! OrderV1 → OrderV2 schema evolution (AllFrame `Event`, `Aggregate`, `AutoUpcaster`).
use std::collections::BTreeMap;

use allframe_core::cqrs::{Aggregate, AutoUpcaster, Event, EventTypeName, Upcaster};
use demo_support::saga::{self, Failure};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub id: String,
    pub name: String,
    pub price_cents: u64,
}

/// The quantity of one product in a cart (0: removed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CartItem {
    pub cart_id: String,
    pub product_id: String,
    pub quantity: u32,
}

/// Stock of one product reserved for, or released from, an order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StockMove {
    pub order_id: String,
    #[serde(flatten)]
    pub line: OrderLine,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    pub product_id: String,
    pub quantity: u32,
}

impl From<(String, u32)> for OrderLine {
    fn from((product_id, quantity): (String, u32)) -> Self {
        OrderLine {
            product_id,
            quantity,
        }
    }
}

/// Order-placed event, schema version 1 (as stored before the schema change): a float total in
/// dollars, no currency, lines as bare tuples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderV1 {
    pub order_id: String,
    pub items: Vec<(String, u32)>,
    pub total: f64,
}
impl EventTypeName for OrderV1 {}
impl Event for OrderV1 {}

/// Order-placed event, schema version 2: integer cents, an explicit currency, named line fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderV2 {
    pub order_id: String,
    pub lines: Vec<OrderLine>,
    pub total_cents: u64,
    pub currency: String,
    pub schema_version: u32,
}
impl EventTypeName for OrderV2 {}
impl Event for OrderV2 {}

impl OrderV2 {
    /// An order in US dollars.
    pub fn new(order_id: String, lines: Vec<OrderLine>, total_cents: u64) -> Self {
        let currency = "USD".into();
        OrderV2 {
            order_id,
            lines,
            total_cents,
            currency,
            schema_version: 2,
        }
    }
}

/// The migration; AllFrame's `AutoUpcaster<OrderV1, OrderV2>` applies it through this `From`.
impl From<OrderV1> for OrderV2 {
    fn from(v1: OrderV1) -> Self {
        let lines = v1.items.into_iter().map(OrderLine::from).collect();
        // V1 stored dollars as a float; `as` saturates (a negative or NaN total becomes 0).
        OrderV2::new(v1.order_id, lines, (v1.total * 100.0).round() as u64)
    }
}

/// Everything that happens in the shop. `OrderPlacedV1` are legacy events still in the log, read through
/// the upcaster.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ShopEvent {
    ProductAdded {
        product: Product,
        stock: u32,
    },
    CartItemSet(CartItem),
    CartCheckedOut {
        cart_id: String,
        order_id: String,
    },
    StockReserved(StockMove),
    StockReleased(StockMove),
    PaymentCaptured {
        order_id: String,
        amount_cents: u64,
    },
    OrderPlacedV1(OrderV1),
    OrderPlaced(OrderV2),
    /// A checkout's other outcome: nothing stays reserved or charged.
    OrderFailed {
        order_id: String,
        #[serde(flatten)]
        failure: Failure<Cause>,
    },
}

/// Why a checkout failed, as its `OrderFailed` event stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    #[error("insufficient stock")]
    InsufficientStock,
    #[error("payment declined by card issuer")]
    PaymentDeclined,
    #[error("timed out")]
    Timeout,
    #[error("internal error")]
    Internal,
}

impl saga::Cause for Cause {
    const TIMEOUT: Self = Cause::Timeout;
    const INTERNAL: Self = Cause::Internal;
}
impl EventTypeName for ShopEvent {}
impl Event for ShopEvent {}

/// An order in the current schema, whichever version was stored (upcasting applied by hand: AllFrame's
/// `VersionRegistry` stores upcasters but has no method that applies them).
pub fn order_v2(event: &ShopEvent) -> Option<OrderV2> {
    match event {
        ShopEvent::OrderPlaced(o) => Some(o.clone()),
        ShopEvent::OrderPlacedV1(v1) => {
            Some(AutoUpcaster::<OrderV1, OrderV2>::new().upcast(v1.clone()))
        }
        _ => None,
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Cart {
    pub items: BTreeMap<String, u32>,
}

impl Aggregate for Cart {
    type Event = ShopEvent;
    fn apply_event(&mut self, event: &ShopEvent) {
        match event {
            ShopEvent::CartItemSet(item) if item.quantity == 0 => {
                self.items.remove(&item.product_id);
            }
            ShopEvent::CartItemSet(item) => {
                self.items.insert(item.product_id.clone(), item.quantity);
            }
            ShopEvent::CartCheckedOut { .. } => self.items.clear(),
            _ => {}
        }
    }
}

/// Stock of one product: the write side folds it from the product's stream (an AllFrame `Aggregate`),
/// the inventory projection keeps one per product.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StockLevel {
    pub available: i64,
    pub reserved: i64,
}

impl Aggregate for StockLevel {
    type Event = ShopEvent;
    fn apply_event(&mut self, event: &ShopEvent) {
        // Quantities are u32, so these i64 sums cannot overflow in any realistic log.
        match event {
            ShopEvent::ProductAdded { stock, .. } => self.available += i64::from(*stock),
            ShopEvent::StockReserved(m) => {
                self.available -= i64::from(m.line.quantity);
                self.reserved += i64::from(m.line.quantity);
            }
            ShopEvent::StockReleased(m) => {
                self.available += i64::from(m.line.quantity);
                self.reserved -= i64::from(m.line.quantity);
            }
            _ => {}
        }
    }
}

/// The product a stock event is about.
pub fn stock_product(event: &ShopEvent) -> Option<&str> {
    match event {
        ShopEvent::ProductAdded { product, .. } => Some(&product.id),
        ShopEvent::StockReserved(m) | ShopEvent::StockReleased(m) => Some(&m.line.product_id),
        _ => None,
    }
}
