//! Order fulfilment as an AllFrame saga (`SagaOrchestrator` + `OrchestratorSagaStep`): reserve
//! stock → charge payment (the order is then confirmed by `CreateOrder`'s handler). When a step
//! fails, AllFrame compensates the steps before it in reverse. Each step appends its own events (the
//! orchestrator discards the events of a failed saga) and records its failure's `Cause`.
use allframe_core::cqrs::OrchestratorSagaStep;
use demo_support::events::{append, fold, stream};
use demo_support::saga::Blame;

use crate::commands::Shop;
use crate::domain::{Cause, OrderV2, ShopEvent, StockLevel, StockMove};

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
    pub fn new(shop: &Shop, order: OrderV2, card_number: String) -> Self {
        Checkout {
            shop: shop.clone(),
            order,
            card_number,
            blame: Blame::default(),
        }
    }

    async fn append(
        &self,
        stream_name: String,
        event: ShopEvent,
    ) -> Result<Vec<ShopEvent>, String> {
        let stored = append(&self.shop.store, &stream_name, event).await;
        stored.map_err(|_| self.blame.failed(Cause::Internal))
    }

    /// Checks every line first, holding each product's lock (AllFrame does not compensate the step
    /// that fails, only earlier ones), then reserves them all.
    async fn reserve(&self) -> Result<Vec<ShopEvent>, String> {
        let lines = &self.order.lines;
        let streams: Vec<_> = lines
            .iter()
            .map(|l| stream("product", &l.product_id))
            .collect();
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
            let stock = StockMove {
                order_id: self.order.order_id.clone(),
                product_id: line.product_id.clone(),
                quantity: line.quantity,
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
