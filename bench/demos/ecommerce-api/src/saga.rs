//! Order fulfilment as an AllFrame saga (`SagaOrchestrator` + `OrchestratorSagaStep`): reserve
//! stock → charge payment (the order is then confirmed by `CreateOrder`'s handler). When a step
//! fails, AllFrame compensates the steps before it in reverse. Each step appends its own events (the
//! orchestrator discards the events of a failed saga) and names its failure's `Cause`.
use std::sync::{Arc, Mutex};

use allframe_core::cqrs::{EventStore, OrchestratorSagaStep};
use demo_support::locks::KeyedLocks;

use crate::domain::{fold, stream, Cause, OrderV2, ShopEvent, StockLevel, StockMove};

/// Stripe's "generic decline" test card: the payment provider refuses it.
pub const DECLINED_CARD: &str = "4000000000000002";

/// What both steps know about the order.
#[derive(Clone)]
pub struct Checkout {
    pub store: EventStore<ShopEvent>,
    pub locks: KeyedLocks,
    pub order: OrderV2,
    pub card_number: String,
    /// Why a step failed, set by the step.
    pub cause: Arc<Mutex<Option<Cause>>>,
}

impl Checkout {
    fn fail(&self, cause: Cause, reason: String) -> String {
        let mut slot = self.cause.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert(cause);
        reason
    }

    async fn append_all(&self, reserve: bool) -> Result<Vec<ShopEvent>, String> {
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
            self.store.append(&stream_name, vec![event.clone()]).await?;
            events.push(event);
        }
        Ok(events)
    }
}

pub struct ReserveStock(pub Checkout);

#[async_trait::async_trait]
impl OrchestratorSagaStep<ShopEvent> for ReserveStock {
    /// Checks every line first, holding each product's lock (AllFrame does not compensate the step
    /// that fails, only earlier ones), then reserves them all.
    async fn execute(&self) -> Result<Vec<ShopEvent>, String> {
        let c = &self.0;
        let streams: Vec<String> = c
            .order
            .lines
            .iter()
            .map(|l| stream("product", &l.product_id))
            .collect();
        let _locks = c.locks.lock_all(streams.iter().map(String::as_str)).await;
        for line in &c.order.lines {
            let events = c
                .store
                .get_events(&stream("product", &line.product_id))
                .await;
            let stock: StockLevel = fold(&events.map_err(|e| c.fail(Cause::Internal, e))?);
            if stock.available < i64::from(line.quantity) {
                let reason = format!(
                    "insufficient stock for {}: {} available, {} requested",
                    line.product_id, stock.available, line.quantity
                );
                return Err(c.fail(Cause::InsufficientStock, reason));
            }
        }
        c.append_all(true)
            .await
            .map_err(|e| c.fail(Cause::Internal, e))
    }
    async fn compensate(&self) -> Result<Vec<ShopEvent>, String> {
        self.0.append_all(false).await
    }
    fn name(&self) -> &str {
        "reserve-stock"
    }
}

pub struct ChargePayment(pub Checkout);

#[async_trait::async_trait]
impl OrchestratorSagaStep<ShopEvent> for ChargePayment {
    async fn execute(&self) -> Result<Vec<ShopEvent>, String> {
        let c = &self.0;
        if c.card_number == DECLINED_CARD {
            let reason = Cause::PaymentDeclined.to_string();
            return Err(c.fail(Cause::PaymentDeclined, reason));
        }
        let order_id = c.order.order_id.clone();
        let amount_cents = c.order.total_cents;
        let event = ShopEvent::PaymentCaptured {
            order_id,
            amount_cents,
        };
        let stream_name = stream("order", &c.order.order_id);
        let stored = c.store.append(&stream_name, vec![event.clone()]).await;
        stored.map_err(|e| c.fail(Cause::Internal, e))?;
        Ok(vec![event])
    }
    async fn compensate(&self) -> Result<Vec<ShopEvent>, String> {
        Ok(vec![]) // the saga's last step: AllFrame never compensates it
    }
    fn name(&self) -> &str {
        "charge-payment"
    }
}
