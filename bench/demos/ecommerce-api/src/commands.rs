//! Write side: commands through AllFrame's `CommandBus` (UpdateCart, CreateOrder); CreateOrder runs the
//! order saga (`saga.rs`). Handlers append their events to AllFrame's `EventStore` and return them.
use std::sync::Arc;

use allframe_core::cqrs::{
    Command, CommandError, CommandHandler, CommandResult, EventStore, SagaDefinition, SagaOrchestrator, ValidationError,
};
use tokio::sync::Mutex;

use crate::domain::{fold, stream, Cart, OrderLine, OrderV2, ShopEvent};
use crate::queries::CatalogView;
use crate::saga::{ChargePayment, ReserveStock};

/// Sets the quantity of one product in a cart (0 removes it).
pub struct UpdateCart {
    pub cart_id: String,
    pub product_id: String,
    pub quantity: u32,
}
impl Command for UpdateCart {}

/// Turns a cart into an order through the saga.
pub struct CreateOrder {
    pub cart_id: String,
    pub card_number: String,
}
impl Command for CreateOrder {}

#[derive(Clone)]
pub struct Handlers {
    pub store: EventStore<ShopEvent>,
    pub catalog: CatalogView,
    pub sagas: SagaOrchestrator<ShopEvent>,
    /// One checkout at a time: stock is checked and reserved without a race.
    pub checkout_lock: Arc<Mutex<()>>,
}

fn invalid(field: &str, message: &str) -> CommandError {
    CommandError::Validation(vec![ValidationError::new(field, message)])
}

#[async_trait::async_trait]
impl CommandHandler<UpdateCart, ShopEvent> for Handlers {
    async fn handle(&self, c: UpdateCart) -> CommandResult<ShopEvent> {
        if c.quantity > 100 {
            return Err(invalid("quantity", "must be between 0 and 100"));
        }
        if !self.catalog.0.read().unwrap().contains_key(&c.product_id) {
            return Err(CommandError::NotFound(format!("product {} not found", c.product_id)));
        }
        let event =
            ShopEvent::CartItemSet { cart_id: c.cart_id.clone(), product_id: c.product_id, quantity: c.quantity };
        self.store.append(&stream("cart", &c.cart_id), vec![event.clone()]).await.map_err(CommandError::Internal)?;
        Ok(vec![event])
    }
}

#[async_trait::async_trait]
impl CommandHandler<CreateOrder, ShopEvent> for Handlers {
    async fn handle(&self, c: CreateOrder) -> CommandResult<ShopEvent> {
        if !(12..=19).contains(&c.card_number.len()) || !c.card_number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("card_number", "must be 12 to 19 digits"));
        }
        let _one_at_a_time = self.checkout_lock.lock().await;
        let cart: Cart =
            fold(&self.store.get_events(&stream("cart", &c.cart_id)).await.map_err(CommandError::Internal)?);
        if cart.items.is_empty() {
            return Err(invalid("cart", "cart is empty"));
        }
        let catalog = self.catalog.0.read().unwrap().clone();
        let total_cents =
            cart.items.iter().map(|(id, &q)| catalog.get(id).map_or(0, |p| p.price_cents) * q as u64).sum();
        let lines = cart.items.into_iter().map(|(product_id, quantity)| OrderLine { product_id, quantity }).collect();
        let order_id = uuid::Uuid::new_v4().simple().to_string();
        let order =
            OrderV2 { order_id: order_id.clone(), lines, total_cents, currency: "USD".into(), schema_version: 2 };
        let (store, card_number) = (self.store.clone(), c.card_number);
        let saga = SagaDefinition::new(format!("order-fulfilment-{order_id}"))
            .add_step(ReserveStock { store: store.clone(), order: order.clone() })
            .add_step(ChargePayment { store, order: order.clone(), card_number });
        let mut events = self.sagas.execute(saga).await.map_err(|e| CommandError::BusinessLogic(e.to_string()))?;
        // Confirmation cannot fail, so it follows the saga (AllFrame never compensates a saga's last step anyway).
        let placed = ShopEvent::OrderPlaced(order);
        let checked_out = ShopEvent::CartCheckedOut { cart_id: c.cart_id.clone(), order_id: order_id.clone() };
        self.store.append(&stream("order", &order_id), vec![placed.clone()]).await.map_err(CommandError::Internal)?;
        self.store
            .append(&stream("cart", &c.cart_id), vec![checked_out.clone()])
            .await
            .map_err(CommandError::Internal)?;
        events.extend([placed, checked_out]);
        Ok(events)
    }
}
