//! Order fulfilment as an AllFrame saga (`SagaOrchestrator` + `OrchestratorSagaStep`): reserve stock →
//! charge payment (the order is then confirmed by `CreateOrder`'s handler).
//! When a step fails, AllFrame compensates the steps before it in reverse. Each step appends its own events (the orchestrator discards the events of a failed saga).
use allframe_core::cqrs::{EventStore, OrchestratorSagaStep};

use crate::domain::{fold, stream, OrderV2, ShopEvent, StockLevel};

/// Stripe's "generic decline" test card: the payment provider refuses it.
pub const DECLINED_CARD: &str = "4000000000000002";

pub struct ReserveStock {
    pub store: EventStore<ShopEvent>,
    pub order: OrderV2,
}

impl ReserveStock {
    async fn append_all(&self, reserve: bool) -> Result<Vec<ShopEvent>, String> {
        let mut events = Vec::new();
        for l in &self.order.lines {
            let (order_id, product_id, quantity) = (self.order.order_id.clone(), l.product_id.clone(), l.quantity);
            let event = match reserve {
                true => ShopEvent::StockReserved { order_id, product_id, quantity },
                false => ShopEvent::StockReleased { order_id, product_id, quantity },
            };
            self.store.append(&stream("product", &l.product_id), vec![event.clone()]).await?;
            events.push(event);
        }
        Ok(events)
    }
}

#[async_trait::async_trait]
impl OrchestratorSagaStep<ShopEvent> for ReserveStock {
    async fn execute(&self) -> Result<Vec<ShopEvent>, String> {
        // Check every line first: AllFrame does not compensate the step that fails, only earlier ones.
        for line in &self.order.lines {
            let stock: StockLevel = fold(&self.store.get_events(&stream("product", &line.product_id)).await?);
            if stock.available < line.quantity as i64 {
                let (id, n, q) = (&line.product_id, stock.available, line.quantity);
                return Err(format!("insufficient stock for {id}: {n} available, {q} requested"));
            }
        }
        self.append_all(true).await
    }
    async fn compensate(&self) -> Result<Vec<ShopEvent>, String> {
        self.append_all(false).await
    }
    fn name(&self) -> &str {
        "reserve-stock"
    }
}

pub struct ChargePayment {
    pub store: EventStore<ShopEvent>,
    pub order: OrderV2,
    pub card_number: String,
}

#[async_trait::async_trait]
impl OrchestratorSagaStep<ShopEvent> for ChargePayment {
    async fn execute(&self) -> Result<Vec<ShopEvent>, String> {
        if self.card_number == DECLINED_CARD {
            return Err("payment declined by card issuer".into());
        }
        let event =
            ShopEvent::PaymentCaptured { order_id: self.order.order_id.clone(), amount_cents: self.order.total_cents };
        self.store.append(&stream("order", &self.order.order_id), vec![event.clone()]).await?;
        Ok(vec![event])
    }
    async fn compensate(&self) -> Result<Vec<ShopEvent>, String> {
        Ok(vec![]) // the saga's last step: AllFrame never compensates it
    }
    fn name(&self) -> &str {
        "charge-payment"
    }
}
