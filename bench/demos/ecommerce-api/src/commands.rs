//! Write side: commands through AllFrame's `CommandBus` (UpdateCart, CreateOrder); CreateOrder runs
//! the order saga (`saga.rs`). Handlers append their events to AllFrame's `EventStore`, each
//! check-then-append holding the lock of the stream it appends to, and return the events.
use allframe_core::cqrs::saga_orchestrator::SagaError;
use allframe_core::cqrs::{
    Command, CommandError, CommandHandler, CommandResult, EventStore, SagaDefinition,
    SagaOrchestrator, ValidationError,
};
use demo_support::locks::KeyedLocks;

use crate::domain::{fold, stream, Cart, CartItem, Cause, OrderLine, OrderV2, ShopEvent};
use crate::queries::CatalogView;
use crate::saga::{ChargePayment, Checkout, ReserveStock};

/// Sets the quantity of one product in a cart (0 removes it).
pub struct UpdateCart(pub CartItem);
impl Command for UpdateCart {}

/// Turns a cart into an order through the saga. With its own `order_id`, a client can ask for the
/// outcome even if it left before the answer.
pub struct CreateOrder {
    pub cart_id: String,
    pub card_number: String,
    pub order_id: Option<String>,
}
impl Command for CreateOrder {}

#[derive(Clone)]
pub struct Handlers {
    pub store: EventStore<ShopEvent>,
    pub catalog: CatalogView,
    pub sagas: SagaOrchestrator<ShopEvent>,
    pub locks: KeyedLocks,
}

fn invalid(field: &str, message: &str) -> CommandError {
    CommandError::Validation(vec![ValidationError::new(field, message)])
}

impl Handlers {
    async fn append(&self, stream_name: &str, event: ShopEvent) -> CommandResult<ShopEvent> {
        let stored = self.store.append(stream_name, vec![event.clone()]).await;
        stored.map_err(CommandError::Internal)?;
        Ok(vec![event])
    }

    /// The order's lines and total, priced from the catalogue with checked arithmetic.
    fn price(&self, cart: Cart) -> Result<(Vec<OrderLine>, u64), CommandError> {
        let catalog = self.catalog.0.read().unwrap_or_else(|e| e.into_inner());
        let mut total: u64 = 0;
        let mut lines = Vec::new();
        for (product_id, quantity) in cart.items {
            let price = catalog.get(&product_id).map_or(0, |p| p.price_cents);
            let cost = price.checked_mul(u64::from(quantity));
            total = cost
                .and_then(|cost| total.checked_add(cost))
                .ok_or_else(|| invalid("cart", "the order total overflows"))?;
            lines.push(OrderLine {
                product_id,
                quantity,
            });
        }
        Ok((lines, total))
    }
}

#[async_trait::async_trait]
impl CommandHandler<UpdateCart, ShopEvent> for Handlers {
    async fn handle(&self, UpdateCart(item): UpdateCart) -> CommandResult<ShopEvent> {
        if item.quantity > 100 {
            return Err(invalid("quantity", "must be between 0 and 100"));
        }
        if !self.catalog.has(&item.product_id) {
            let missing = format!("product {} not found", item.product_id);
            return Err(CommandError::NotFound(missing));
        }
        let stream_name = stream("cart", &item.cart_id);
        let _lock = self.locks.lock(&stream_name).await;
        self.append(&stream_name, ShopEvent::CartItemSet(item))
            .await
    }
}

/// Runs the order saga. A refused checkout is still a processed command: its outcome,
/// `OrderPlaced` (then `CartCheckedOut`) or `OrderFailed`, is in the events returned.
#[async_trait::async_trait]
impl CommandHandler<CreateOrder, ShopEvent> for Handlers {
    async fn handle(&self, c: CreateOrder) -> CommandResult<ShopEvent> {
        let digits = c.card_number.bytes().all(|b| b.is_ascii_digit());
        if !(12..=19).contains(&c.card_number.len()) || !digits {
            return Err(invalid("card_number", "must be 12 to 19 digits"));
        }
        let order_id = c
            .order_id
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        let cart_stream = stream("cart", &c.cart_id);
        let order_stream = stream("order", &order_id);
        let _locks = self
            .locks
            .lock_all([cart_stream.as_str(), &order_stream])
            .await;
        let known = self.store.get_events(&order_stream).await;
        if !known.map_err(CommandError::Internal)?.is_empty() {
            return Err(CommandError::AlreadyExecuted(format!(
                "order {order_id} exists"
            )));
        }
        let events = self.store.get_events(&cart_stream).await;
        let cart: Cart = fold(&events.map_err(CommandError::Internal)?);
        if cart.items.is_empty() {
            return Err(invalid("cart", "cart is empty"));
        }
        let (lines, total_cents) = self.price(cart)?;
        let order = OrderV2 {
            order_id: order_id.clone(),
            lines,
            total_cents,
            currency: "USD".into(),
            schema_version: 2,
        };
        let checkout = Checkout {
            store: self.store.clone(),
            locks: self.locks.clone(),
            order: order.clone(),
            card_number: c.card_number,
            cause: Default::default(),
        };
        let saga = SagaDefinition::new(format!("order-fulfilment-{order_id}"))
            .add_step(ReserveStock(checkout.clone()))
            .add_step(ChargePayment(checkout.clone()));
        let error = match self.sagas.execute(saga).await {
            Ok(mut events) => {
                // Confirmation cannot fail, so it follows the saga (AllFrame never compensates a
                // saga's last step anyway).
                events.extend(
                    self.append(&order_stream, ShopEvent::OrderPlaced(order))
                        .await?,
                );
                let cart_id = c.cart_id;
                let checked_out = ShopEvent::CartCheckedOut { cart_id, order_id };
                events.extend(self.append(&cart_stream, checked_out).await?);
                return Ok(events);
            }
            Err(error) => error,
        };
        let step = match &error {
            SagaError::StepFailed { step_name, .. } => step_name.clone(),
            _ => String::new(),
        };
        let cause = checkout
            .cause
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let failed = ShopEvent::OrderFailed {
            order_id,
            step,
            kind: cause.unwrap_or(Cause::Internal),
            reason: error.to_string(),
        };
        self.append(&order_stream, failed).await
    }
}
