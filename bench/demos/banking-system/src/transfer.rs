//! The transfer saga's steps, debit → fraud check → credit (AllFrame `OrchestratorSagaStep`). Each
//! step writes its own events, so the audit trail keeps what a failed saga did and undid (the
//! orchestrator discards a failed saga's events).
use std::{sync::Arc, time::Duration};

use allframe_core::cqrs::OrchestratorSagaStep;
use demo_support::{locks::KeyedLocks, tasks::Busy};

use crate::domain::{account, stream, BankEvent, Cause, Movement, Store, TransferRequest};
use crate::Config;

pub const STEPS: [&str; 3] = ["debit-source", "fraud-check", "credit-destination"];
pub const DEBIT: usize = 0;
pub const FRAUD_CHECK: usize = 1;
pub const CREDIT: usize = 2;

/// What every step knows about its transfer.
#[derive(Clone)]
pub struct Transfer {
    pub request: TransferRequest,
    pub store: Store,
    pub locks: KeyedLocks,
    pub config: Config,
    /// Runs the money movements, so that one cut short by a step timeout still ends.
    pub busy: Busy,
    /// Why a step failed, set by the step.
    pub cause: Arc<std::sync::Mutex<Option<Cause>>>,
}

impl Transfer {
    fn movement(&self, account_id: &str) -> Movement {
        Movement {
            account_id: account_id.into(),
            transfer_id: self.request.transfer_id.clone(),
            amount_cents: self.request.amount_cents,
        }
    }

    fn fail(&self, cause: Cause) -> String {
        let mut slot = self.cause.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert(cause);
        cause.to_string()
    }

    async fn append(&self, stream_name: String, event: BankEvent) -> Result<(), Cause> {
        let stored = self.store.append(&stream_name, vec![event]).await;
        stored.map_err(|_| Cause::Internal)
    }

    /// Debits the source or credits the destination: checked against the balance and appended
    /// under the account's lock, in a task that a step timeout cannot cut short.
    async fn move_money(&self, credit: bool) -> Result<Vec<BankEvent>, String> {
        let t = self.clone();
        let moved = self
            .busy
            .run(async move { t.checked_move(credit).await })
            .await;
        match moved.map_err(|e| e.to_string())? {
            Ok(event) => Ok(vec![event]),
            Err(cause) => Err(self.fail(cause)),
        }
    }

    async fn checked_move(&self, credit: bool) -> Result<BankEvent, Cause> {
        let r = &self.request;
        let id = if credit { &r.to } else { &r.from };
        let _lock = self.locks.lock(&stream("account", id)).await;
        let found = account(&self.store, id)
            .await
            .map_err(|_| Cause::Internal)?;
        let balance = found.ok_or(Cause::Internal)?.balance_cents;
        let event = if credit {
            balance
                .checked_add_unsigned(r.amount_cents)
                .ok_or(Cause::BalanceOverflow)?;
            BankEvent::Credited(self.movement(id))
        } else {
            let left = balance.checked_sub_unsigned(r.amount_cents);
            if left.is_none_or(|left| left < 0) {
                return Err(Cause::InsufficientFunds);
            }
            BankEvent::Debited(self.movement(id))
        };
        self.append(stream("account", id), event.clone()).await?;
        Ok(event)
    }

    /// Waits for a movement still running, then reverses the debit if its money did not reach
    /// the destination, once. Returns the reversal, if any, and whether the money was credited.
    pub async fn settle(&self) -> Result<(Option<BankEvent>, bool), Cause> {
        self.busy.wait().await;
        let r = &self.request;
        let _lock = self.locks.lock(&stream("account", &r.from)).await;
        let from = self.store.get_events(&stream("account", &r.from)).await;
        let to = self.store.get_events(&stream("account", &r.to)).await;
        let from = from.map_err(|_| Cause::Internal)?;
        let to = to.map_err(|_| Cause::Internal)?;
        let this = |m: &Movement| m.transfer_id == r.transfer_id;
        let debited = from
            .iter()
            .any(|e| matches!(e, BankEvent::Debited(m) if this(m)));
        let reversed = from
            .iter()
            .any(|e| matches!(e, BankEvent::DebitReversed(m) if this(m)));
        let credited = to
            .iter()
            .any(|e| matches!(e, BankEvent::Credited(m) if this(m)));
        if !debited || reversed || credited {
            return Ok((None, credited));
        }
        let reversal = BankEvent::DebitReversed(self.movement(&r.from));
        self.append(stream("account", &r.from), reversal.clone())
            .await?;
        Ok((Some(reversal), false))
    }

    async fn fraud_check(&self) -> Result<Vec<BankEvent>, String> {
        let r = &self.request;
        let transfer_id = r.transfer_id.clone();
        let event = if r.amount_cents <= self.config.fraud_limit_cents && r.from != r.to {
            BankEvent::FraudCheckPassed { transfer_id }
        } else {
            let limit = self.config.fraud_limit_cents;
            let reason = format!(
                "{}: {} cents to {} (limit {limit})",
                self.fail(Cause::Fraud),
                r.amount_cents,
                r.to
            );
            BankEvent::FraudRejected {
                transfer_id,
                reason,
            }
        };
        let stream_name = stream("transfer", &r.transfer_id);
        self.append(stream_name, event.clone())
            .await
            .map_err(|c| c.to_string())?;
        match event {
            BankEvent::FraudRejected { reason, .. } => Err(reason),
            passed => Ok(vec![passed]),
        }
    }
}

/// One step of a transfer: `STEPS[self.0]`.
pub struct Step(pub usize, pub Transfer);

#[async_trait::async_trait]
impl OrchestratorSagaStep<BankEvent> for Step {
    async fn execute(&self) -> Result<Vec<BankEvent>, String> {
        let t = &self.1;
        match self.0 {
            DEBIT => t.move_money(false).await,
            FRAUD_CHECK => t.fraud_check().await,
            _ => {
                let to = account(&t.store, &t.request.to).await?;
                if to.is_some_and(|a| a.external) {
                    tokio::time::sleep(t.config.partner_delay).await; // the partner bank's answer
                }
                t.move_money(true).await
            }
        }
    }

    /// Only the debit has something to undo (and AllFrame never compensates the last step).
    async fn compensate(&self) -> Result<Vec<BankEvent>, String> {
        if self.0 != DEBIT {
            return Ok(vec![]);
        }
        let (reversal, _) = self.1.settle().await.map_err(|c| c.to_string())?;
        Ok(reversal.into_iter().collect())
    }

    fn name(&self) -> &str {
        STEPS[self.0]
    }

    /// The credit waits for the partner bank at most `credit_timeout`; the others get 2 s.
    fn timeout_duration(&self) -> Duration {
        match self.0 {
            CREDIT => self.1.config.credit_timeout,
            _ => Duration::from_secs(2),
        }
    }
}
