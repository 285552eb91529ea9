//! Events, the account aggregate and the transfer saga's steps (AllFrame `Event`, `Aggregate`,
//! `OrchestratorSagaStep`). Each step writes its own events to AllFrame's SQLite event store, so the audit
//! trail keeps what a failed saga did and undid (the orchestrator discards a failed saga's events).
use std::time::Duration;

use allframe_core::cqrs::{Aggregate, Event, EventStore, EventTypeName, OrchestratorSagaStep, SqliteEventStoreBackend};
use serde::{Deserialize, Serialize};

pub type Store = EventStore<BankEvent, SqliteEventStoreBackend<BankEvent>>;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum BankEvent {
    AccountOpened { account_id: String, owner: String, external: bool },
    Deposited { account_id: String, amount_cents: u64 },
    TransferRequested { transfer_id: String, from: String, to: String, amount_cents: u64 },
    Debited { account_id: String, transfer_id: String, amount_cents: u64 },
    DebitReversed { account_id: String, transfer_id: String, amount_cents: u64 },
    FraudCheckPassed { transfer_id: String },
    FraudRejected { transfer_id: String, reason: String },
    Credited { account_id: String, transfer_id: String, amount_cents: u64 },
    TransferCompleted { transfer_id: String },
    TransferFailed { transfer_id: String, step: String, kind: String, reason: String },
}
impl EventTypeName for BankEvent {}
impl Event for BankEvent {}

pub fn stream(kind: &str, id: &str) -> String {
    format!("{kind}-{id}")
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Account {
    pub account_id: String,
    pub owner: String,
    pub external: bool,
    pub balance_cents: i64,
}

impl Aggregate for Account {
    type Event = BankEvent;
    fn apply_event(&mut self, event: &BankEvent) {
        match event {
            BankEvent::AccountOpened { account_id, owner, external } => {
                (self.account_id, self.owner, self.external) = (account_id.clone(), owner.clone(), *external)
            }
            BankEvent::Deposited { amount_cents, .. }
            | BankEvent::Credited { amount_cents, .. }
            | BankEvent::DebitReversed { amount_cents, .. } => self.balance_cents += *amount_cents as i64,
            BankEvent::Debited { amount_cents, .. } => self.balance_cents -= *amount_cents as i64,
            _ => {}
        }
    }
}

/// The account folded from its stream; `None` if it was never opened.
pub async fn account(store: &Store, id: &str) -> Result<Option<Account>, String> {
    let mut account = Account::default();
    store.get_events(&stream("account", id)).await?.iter().for_each(|e| account.apply_event(e));
    Ok(Some(account).filter(|a| !a.account_id.is_empty()))
}

/// What every step knows about its transfer.
#[derive(Clone)]
pub struct Transfer {
    pub store: Store,
    pub id: String,
    pub from: String,
    pub to: String,
    pub amount_cents: u64,
}

impl Transfer {
    async fn record(&self, stream_name: String, event: BankEvent) -> Result<Vec<BankEvent>, String> {
        self.store.append(&stream_name, vec![event.clone()]).await?;
        Ok(vec![event])
    }
}

/// Step 1: take the money from the source account; compensation puts it back.
pub struct DebitSource(pub Transfer);

#[async_trait::async_trait]
impl OrchestratorSagaStep<BankEvent> for DebitSource {
    async fn execute(&self) -> Result<Vec<BankEvent>, String> {
        let t = &self.0;
        let from = account(&t.store, &t.from).await?.ok_or(format!("account {} not found", t.from))?;
        if from.balance_cents < t.amount_cents as i64 {
            return Err(format!("insufficient funds: balance {} < {}", from.balance_cents, t.amount_cents));
        }
        let (account_id, transfer_id, amount_cents) = (t.from.clone(), t.id.clone(), t.amount_cents);
        t.record(stream("account", &t.from), BankEvent::Debited { account_id, transfer_id, amount_cents }).await
    }
    async fn compensate(&self) -> Result<Vec<BankEvent>, String> {
        let t = &self.0;
        let (account_id, transfer_id, amount_cents) = (t.from.clone(), t.id.clone(), t.amount_cents);
        t.record(stream("account", &t.from), BankEvent::DebitReversed { account_id, transfer_id, amount_cents }).await
    }
    fn name(&self) -> &str {
        "debit-source"
    }
    fn timeout_duration(&self) -> Duration {
        Duration::from_secs(2)
    }
}

/// Step 2: the fraud check; a rejection stops the saga and AllFrame reverses the debit.
pub struct FraudCheck(pub Transfer, pub u64);

#[async_trait::async_trait]
impl OrchestratorSagaStep<BankEvent> for FraudCheck {
    async fn execute(&self) -> Result<Vec<BankEvent>, String> {
        let (t, limit) = (&self.0, self.1);
        if t.amount_cents > limit || t.from == t.to {
            let reason = format!("fraud suspected: {} cents to {} (limit {limit})", t.amount_cents, t.to);
            let event = BankEvent::FraudRejected { transfer_id: t.id.clone(), reason: reason.clone() };
            t.record(stream("transfer", &t.id), event).await?;
            return Err(reason);
        }
        t.record(stream("transfer", &t.id), BankEvent::FraudCheckPassed { transfer_id: t.id.clone() }).await
    }
    async fn compensate(&self) -> Result<Vec<BankEvent>, String> {
        Ok(vec![]) // a check has nothing to undo
    }
    fn name(&self) -> &str {
        "fraud-check"
    }
    fn timeout_duration(&self) -> Duration {
        Duration::from_secs(2)
    }
}

/// Step 3: credit the destination. Accounts at the partner bank (`external`) answer after `delay`; the step
/// gives up after `timeout`, and AllFrame then compensates the steps before it.
pub struct CreditDestination {
    pub transfer: Transfer,
    pub delay: Duration,
    pub timeout: Duration,
}

#[async_trait::async_trait]
impl OrchestratorSagaStep<BankEvent> for CreditDestination {
    async fn execute(&self) -> Result<Vec<BankEvent>, String> {
        let t = &self.transfer;
        let to = account(&t.store, &t.to).await?.ok_or(format!("account {} not found", t.to))?;
        if to.external {
            tokio::time::sleep(self.delay).await; // the partner bank's round trip
        }
        let (account_id, transfer_id, amount_cents) = (t.to.clone(), t.id.clone(), t.amount_cents);
        t.record(stream("account", &t.to), BankEvent::Credited { account_id, transfer_id, amount_cents }).await
    }
    async fn compensate(&self) -> Result<Vec<BankEvent>, String> {
        Ok(vec![]) // the last step: AllFrame never compensates it
    }
    fn name(&self) -> &str {
        "credit-destination"
    }
    fn timeout_duration(&self) -> Duration {
        self.timeout
    }
}
