//! Write side: commands through AllFrame's `CommandBus` (UpdateCart, CreateOrder). Handlers append
//! their events to AllFrame's `EventStore`, each check-then-append holding the lock of the stream it
//! appends to, and return the events.
//!
//! CreateOrder runs order fulfilment as an AllFrame saga (`SagaOrchestrator` +
//! `OrchestratorSagaStep`): reserve stock → charge payment (the order is then confirmed by the
//! handler). When a step fails, AllFrame compensates the steps before it in reverse. Each step
//! appends its own events (the orchestrator discards the events of a failed saga) and records its
//! failure's `Cause`.
use allframe_core::cqrs::{
    Command, CommandError, CommandHandler, CommandResult, EventStore, OrchestratorSagaStep,
    SagaDefinition, SagaOrchestrator,
};
use demo_support::events::{append, ensure_new, fold, invalid, new_id, stream};
use demo_support::saga::{self, Blame};
use demo_support::{locks::KeyedLocks, money};
use serde::Deserialize;

use crate::domain::{Cart, CartItem, Cause, OrderLine, OrderV2, ShopEvent, StockLevel, StockMove};
use crate::queries::CatalogView;

/// Sets the quantity of one product in a cart (0 removes it).
pub struct UpdateCart(pub CartItem);
impl Command for UpdateCart {}

/// Turns a cart into an order through the saga; the body of `POST /carts/{id}/checkout`. With its
/// own `order_id`, a client can ask for the outcome even if it left before the answer.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateOrder {
    /// From the path.
    #[serde(skip)]
    pub cart_id: String,
    pub card_number: String,
    #[serde(default)]
    pub order_id: String,
}
impl Command for CreateOrder {}

/// The shop's command and query handlers (registered once per message type).
#[derive(Clone)]
pub struct Shop {
    pub store: EventStore<ShopEvent>,
    pub catalog: CatalogView,
    pub sagas: SagaOrchestrator<ShopEvent>,
    pub locks: KeyedLocks,
}

impl Shop {
    /// The order of a cart, priced from the catalogue with checked arithmetic.
    fn price(&self, order_id: String, cart: Cart) -> Result<OrderV2, CommandError> {
        let catalog = self.catalog.0.read().unwrap_or_else(|e| e.into_inner());
        let price = |id: &String| catalog.get(id).map_or(0, |p| p.price_cents);
        let total = money::total(cart.items.iter().map(|(id, n)| (price(id), *n)));
        let total = total.ok_or_else(|| invalid("cart", "the order total overflows"))?;
        let lines = cart.items.into_iter().map(OrderLine::from).collect();
        Ok(OrderV2::new(order_id, lines, total))
    }
}

#[async_trait::async_trait]
impl CommandHandler<UpdateCart, ShopEvent> for Shop {
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
        append(&self.store, &stream_name, ShopEvent::CartItemSet(item)).await
    }
}

/// Runs the order saga. A refused checkout is still a processed command: its outcome,
/// `OrderPlaced` (then `CartCheckedOut`) or `OrderFailed`, is in the events returned.
#[async_trait::async_trait]
impl CommandHandler<CreateOrder, ShopEvent> for Shop {
    async fn handle(&self, c: CreateOrder) -> CommandResult<ShopEvent> {
        let digits = c.card_number.bytes().all(|b| b.is_ascii_digit());
        if !(12..=19).contains(&c.card_number.len()) || !digits {
            return Err(invalid("card_number", "must be 12 to 19 digits"));
        }
        let order_id = new_id(c.order_id);
        let cart_stream = stream("cart", &c.cart_id);
        let order_stream = stream("order", &order_id);
        let streams = [cart_stream.as_str(), &order_stream];
        let _locks = self.locks.lock_all(streams).await;
        ensure_new(&self.store, &order_stream, &format!("order {order_id}")).await?;
        let cart = self.store.get_events(&cart_stream).await;
        let cart: Cart = fold(&cart.map_err(CommandError::Internal)?);
        if cart.items.is_empty() {
            return Err(invalid("cart", "cart is empty"));
        }
        let order = self.price(order_id.clone(), cart)?;
        let checkout = Checkout {
            shop: self.clone(),
            order: order.clone(),
            card_number: c.card_number,
            blame: Blame::default(),
        };
        let steps = (0..STEPS.len()).map(|i| Step(i, checkout.clone()));
        let saga = SagaDefinition::new(format!("order-fulfilment-{order_id}"));
        let saga = steps.fold(saga, SagaDefinition::add_step);
        let (mut events, failure) = saga::run(&self.sagas, saga, &STEPS, &checkout.blame).await;
        if let Some(failure) = failure {
            let failed = ShopEvent::OrderFailed { order_id, failure };
            return append(&self.store, &order_stream, failed).await;
        }
        // Confirmation cannot fail, so it follows the saga (AllFrame never compensates a saga's
        // last step anyway).
        let placed = ShopEvent::OrderPlaced(order);
        events.extend(append(&self.store, &order_stream, placed).await?);
        let cart_id = c.cart_id;
        let checked_out = ShopEvent::CartCheckedOut { cart_id, order_id };
        events.extend(append(&self.store, &cart_stream, checked_out).await?);
        Ok(events)
    }
}

/// Stripe's "generic decline" test card: the payment provider refuses it.
pub const DECLINED_CARD: &str = "4000000000000002";

pub const STEPS: [&str; 2] = ["reserve-stock", "charge-payment"];
pub const RESERVE: usize = 0;

/// What both steps know about the order.
#[derive(Clone)]
pub struct Checkout {
    pub shop: Shop,
    pub order: OrderV2,
    pub card_number: String,
    pub blame: Blame<Cause>,
}

impl Checkout {
    async fn append(&self, name: String, event: ShopEvent) -> Result<Vec<ShopEvent>, String> {
        let stored = append(&self.shop.store, &name, event).await;
        stored.map_err(|_| self.blame.failed(Cause::Internal))
    }

    /// Checks every line first, holding each product's lock (AllFrame does not compensate the step
    /// that fails, only earlier ones), then reserves them all.
    async fn reserve(&self) -> Result<Vec<ShopEvent>, String> {
        let lines = &self.order.lines;
        let product = |l: &OrderLine| stream("product", &l.product_id);
        let streams: Vec<_> = lines.iter().map(product).collect();
        let _locks = self
            .shop
            .locks
            .lock_all(streams.iter().map(String::as_str))
            .await;
        for (line, stream_name) in lines.iter().zip(&streams) {
            let events = self.shop.store.get_events(stream_name).await;
            let events = events.map_err(|_| self.blame.failed(Cause::Internal))?;
            let available = fold::<StockLevel>(&events).available;
            if available < i64::from(line.quantity) {
                let product = &line.product_id;
                let reason = format!(
                    "insufficient stock for {product}: {available} available, {} requested",
                    line.quantity
                );
                return Err(self.blame.fail(Cause::InsufficientStock, reason));
            }
        }
        self.move_stock(true).await
    }

    /// Reserves (or releases) every line's stock.
    async fn move_stock(&self, reserve: bool) -> Result<Vec<ShopEvent>, String> {
        let mut events = Vec::new();
        for line in &self.order.lines {
            let order_id = self.order.order_id.clone();
            let stock = StockMove {
                order_id,
                line: line.clone(),
            };
            let event = match reserve {
                true => ShopEvent::StockReserved(stock),
                false => ShopEvent::StockReleased(stock),
            };
            let stream_name = stream("product", &line.product_id);
            events.extend(self.append(stream_name, event).await?);
        }
        Ok(events)
    }

    async fn charge(&self) -> Result<Vec<ShopEvent>, String> {
        if self.card_number == DECLINED_CARD {
            return Err(self.blame.failed(Cause::PaymentDeclined));
        }
        let order_id = self.order.order_id.clone();
        let amount_cents = self.order.total_cents;
        let captured = ShopEvent::PaymentCaptured {
            order_id,
            amount_cents,
        };
        self.append(stream("order", &self.order.order_id), captured)
            .await
    }
}

/// One step of a checkout: `STEPS[self.0]`.
pub struct Step(pub usize, pub Checkout);

#[async_trait::async_trait]
impl OrchestratorSagaStep<ShopEvent> for Step {
    async fn execute(&self) -> Result<Vec<ShopEvent>, String> {
        match self.0 {
            RESERVE => self.1.reserve().await,
            _ => self.1.charge().await,
        }
    }

    /// Only the reservation has something to undo (AllFrame never compensates the last step).
    async fn compensate(&self) -> Result<Vec<ShopEvent>, String> {
        match self.0 {
            RESERVE => self.1.move_stock(false).await,
            _ => Ok(vec![]),
        }
    }

    fn name(&self) -> &str {
        STEPS[self.0]
    }
}
