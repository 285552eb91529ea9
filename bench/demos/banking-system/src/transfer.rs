//! The transfer saga's steps, debit → fraud check → credit (AllFrame `OrchestratorSagaStep`). Each
//! step writes its own events, so the audit trail keeps what a failed saga did and undid (the
//! orchestrator discards a failed saga's events).
use std::time::Duration;

use allframe_core::cqrs::OrchestratorSagaStep;
use demo_support::events::{append, stream};
use demo_support::saga::{Blame, Failure};
use demo_support::{money, tasks::Busy};

use crate::domain::{account, BankEvent, Cause, Movement, TransferRequest};
use crate::Bank;

pub const STEPS: [&str; 3] = ["debit-source", "fraud-check", "credit-destination"];
pub const DEBIT: usize = 0;
pub const FRAUD_CHECK: usize = 1;
pub const CREDIT: usize = 2;

/// What every step knows about its transfer.
#[derive(Clone)]
pub struct Transfer {
    pub request: TransferRequest,
    pub bank: Bank,
    /// Runs the money movements, so that one cut short by a step timeout still ends.
    pub busy: Busy,
    pub blame: Blame<Cause>,
}

impl Transfer {
    pub fn new(bank: &Bank, request: TransferRequest) -> Self {
        Transfer {
            request,
            bank: bank.clone(),
            busy: Busy::default(),
            blame: Blame::default(),
        }
    }

    fn movement(&self, account_id: &str) -> Movement {
        let r = &self.request;
        Movement::new(account_id, &r.transfer_id, r.amount_cents)
    }

    /// Appends a step's event and returns it, or the step's error.
    async fn record(
        &self,
        stream_name: String,
        event: BankEvent,
    ) -> Result<Vec<BankEvent>, String> {
        let stored = append(&self.bank.store, &stream_name, event).await;
        stored.map_err(|_| self.blame.failed(Cause::Internal))
    }

    /// Debits the source or credits the destination, in a task that a step timeout cannot cut short.
    async fn move_money(&self, credit: bool) -> Result<Vec<BankEvent>, String> {
        let t = self.clone();
        let moved = self.busy.run(async move { t.checked_move(credit).await });
        match moved.await.map_err(|e| e.to_string())? {
            Ok(event) => Ok(vec![event]),
            Err(cause) => Err(self.blame.fail(cause, cause.to_string())),
        }
    }

    /// Checks the movement against the balance and appends it, under the account's lock.
    async fn checked_move(&self, credit: bool) -> Result<BankEvent, Cause> {
        let r = &self.request;
        let id = if credit { &r.to } else { &r.from };
        let stream_name = stream("account", id);
        let _lock = self.bank.locks.lock(&stream_name).await;
        let found = account(&self.bank.store, id).await;
        let balance = found.ok().flatten().ok_or(Cause::Internal)?.balance_cents;
        let event = if credit {
            money::credit(balance, r.amount_cents.0).ok_or(Cause::BalanceOverflow)?;
            BankEvent::Credited(self.movement(id))
        } else {
            money::debit(balance, r.amount_cents.0).ok_or(Cause::InsufficientFunds)?;
            BankEvent::Debited(self.movement(id))
        };
        let stored = self.bank.store.append(&stream_name, vec![event.clone()]);
        stored.await.map_err(|_| Cause::Internal)?;
        Ok(event)
    }

    /// This transfer's movements in one account's stream.
    async fn movements(&self, account_id: &str) -> Result<Vec<BankEvent>, String> {
        let events = self
            .bank
            .store
            .get_events(&stream("account", account_id))
            .await;
        let this = |e: &BankEvent| match e {
            BankEvent::Debited(m) | BankEvent::DebitReversed(m) | BankEvent::Credited(m) => {
                m.transfer_id == self.request.transfer_id
            }
            _ => false,
        };
        let events = events.map_err(|_| self.blame.failed(Cause::Internal))?;
        Ok(events.into_iter().filter(this).collect())
    }

    /// Waits for a movement still running, then reverses the debit if its money did not reach
    /// the destination, once. Returns the reversal, if any, and whether the money was credited.
    async fn settle(&self) -> Result<(Vec<BankEvent>, bool), String> {
        self.busy.wait().await;
        let from = &self.request.from;
        let _lock = self.bank.locks.lock(&stream("account", from)).await;
        let to = self.movements(&self.request.to).await?;
        let credited = to.iter().any(|e| matches!(e, BankEvent::Credited(_)));
        let debit_open = matches!(self.movements(from).await?[..], [BankEvent::Debited(_)]);
        if !debit_open || credited {
            return Ok((vec![], credited));
        }
        let reversal = BankEvent::DebitReversed(self.movement(from));
        Ok((self.record(stream("account", from), reversal).await?, false))
    }

    /// Settles the transfer, then writes its one outcome: the reversal, if any, and the outcome event.
    pub async fn finish(&self, failure: Option<Failure<Cause>>) -> Result<Vec<BankEvent>, String> {
        let (mut events, credited) = self.settle().await?;
        let transfer_id = self.request.transfer_id.clone();
        let outcome = match failure {
            Some(failure) if !credited => BankEvent::TransferFailed {
                transfer_id,
                failure,
            },
            _ => BankEvent::TransferCompleted { transfer_id },
        };
        let stream_name = stream("transfer", &self.request.transfer_id);
        events.extend(self.record(stream_name, outcome).await?);
        Ok(events)
    }

    async fn fraud_check(&self) -> Result<Vec<BankEvent>, String> {
        let r = &self.request;
        let transfer_id = r.transfer_id.clone();
        let stream_name = stream("transfer", &r.transfer_id);
        let limit = self.bank.config.fraud_limit_cents;
        if r.amount_cents.0 <= limit && r.from != r.to {
            let passed = BankEvent::FraudCheckPassed { transfer_id };
            return self.record(stream_name, passed).await;
        }
        let amount = r.amount_cents.0;
        let to = &r.to;
        let reason = format!("{}: {amount} cents to {to} (limit {limit})", Cause::Fraud);
        let reason = self.blame.fail(Cause::Fraud, reason);
        let rejected = BankEvent::FraudRejected {
            transfer_id,
            reason: reason.clone(),
        };
        self.record(stream_name, rejected).await?;
        Err(reason)
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
                let to = account(&t.bank.store, &t.request.to).await?;
                if to.is_some_and(|a| a.opening.external) {
                    tokio::time::sleep(t.bank.config.partner_delay).await; // the partner bank's answer
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
        Ok(self.1.settle().await?.0)
    }

    fn name(&self) -> &str {
        STEPS[self.0]
    }

    /// The credit waits for the partner bank at most `credit_timeout`; the others get 2 s.
    fn timeout_duration(&self) -> Duration {
        match self.0 {
            CREDIT => self.1.bank.config.credit_timeout,
            _ => Duration::from_secs(2),
        }
    }
}
