//! Events, the account aggregate and the transfer saga's steps (AllFrame `Event`, `Aggregate`,
//! `OrchestratorSagaStep`). Each step writes its own events to AllFrame's SQLite event store, so the
//! audit trail keeps what a failed saga did and undid (the orchestrator discards a failed saga's events).
use std::{sync::Arc, time::Duration};

use allframe_core::cqrs::{
    Aggregate, Event, EventStore, EventTypeName, OrchestratorSagaStep, SqliteEventStoreBackend,
};
use demo_support::locks::KeyedLocks;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

pub type Store = EventStore<BankEvent, SqliteEventStoreBackend<BankEvent>>;

/// Money into or out of one account; `transfer_id` is empty for a deposit.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Movement {
    pub account_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub transfer_id: String,
    pub amount_cents: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TransferRequest {
    pub transfer_id: String,
    pub from: String,
    pub to: String,
    pub amount_cents: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum BankEvent {
    AccountOpened {
        account_id: String,
        owner: String,
        external: bool,
    },
    Deposited(Movement),
    TransferRequested(TransferRequest),
    Debited(Movement),
    DebitReversed(Movement),
    FraudCheckPassed {
        transfer_id: String,
    },
    FraudRejected {
        transfer_id: String,
        reason: String,
    },
    Credited(Movement),
    TransferCompleted {
        transfer_id: String,
    },
    TransferFailed {
        transfer_id: String,
        step: String,
        kind: Cause,
        reason: String,
    },
}
impl EventTypeName for BankEvent {}
impl Event for BankEvent {}

/// Why a transfer failed, as stored in its `TransferFailed` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    #[error("insufficient funds")]
    InsufficientFunds,
    #[error("fraud suspected")]
    Fraud,
    #[error("timed out")]
    Timeout,
    #[error("the credit would overflow the destination balance")]
    BalanceOverflow,
    #[error("account not found")]
    AccountNotFound,
    #[error("interrupted by a restart")]
    Interrupted,
    #[error("internal error")]
    Internal,
}

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
        // Each movement was checked against the balance before it was appended: none saturates.
        match event {
            BankEvent::AccountOpened {
                account_id,
                owner,
                external,
            } => {
                self.account_id = account_id.clone();
                self.owner = owner.clone();
                self.external = *external;
            }
            BankEvent::Deposited(m) | BankEvent::Credited(m) | BankEvent::DebitReversed(m) => {
                self.balance_cents = self.balance_cents.saturating_add_unsigned(m.amount_cents);
            }
            BankEvent::Debited(m) => {
                self.balance_cents = self.balance_cents.saturating_sub_unsigned(m.amount_cents);
            }
            _ => {}
        }
    }
}

/// The account folded from its stream; `None` if it was never opened.
pub async fn account(store: &Store, id: &str) -> Result<Option<Account>, String> {
    let mut account = Account::default();
    for event in store.get_events(&stream("account", id)).await? {
        account.apply_event(&event);
    }
    Ok(Some(account).filter(|a| !a.account_id.is_empty()))
}

/// What a transfer has moved so far. Once `settled`, nothing more moves.
#[derive(Debug, Default)]
pub struct Progress {
    debited: bool,
    credited: bool,
    reversed: bool,
    settled: bool,
    pub cause: Option<Cause>,
}

/// What every step knows about its transfer.
#[derive(Clone)]
pub struct Transfer {
    pub request: TransferRequest,
    pub store: Store,
    pub locks: KeyedLocks,
    pub progress: Arc<Mutex<Progress>>,
}

impl Transfer {
    pub fn new(request: TransferRequest, store: Store, locks: KeyedLocks) -> Self {
        let progress = Arc::default();
        Transfer {
            request,
            store,
            locks,
            progress,
        }
    }

    /// A transfer a crash interrupted, its progress read back from the stored `events`.
    pub async fn resume(request: TransferRequest, events: &[BankEvent], store: Store) -> Self {
        let transfer = Transfer::new(request, store, KeyedLocks::default());
        let mut progress = transfer.progress.lock().await;
        for event in events {
            match event {
                BankEvent::Debited(m) if m.transfer_id == transfer.request.transfer_id => {
                    progress.debited = true;
                }
                BankEvent::Credited(m) if m.transfer_id == transfer.request.transfer_id => {
                    progress.credited = true;
                }
                BankEvent::DebitReversed(m) if m.transfer_id == transfer.request.transfer_id => {
                    progress.reversed = true;
                }
                _ => {}
            }
        }
        drop(progress);
        transfer
    }

    fn movement(&self, account_id: &str) -> Movement {
        Movement {
            account_id: account_id.into(),
            transfer_id: self.request.transfer_id.clone(),
            amount_cents: self.request.amount_cents,
        }
    }

    /// Debits the source or credits the destination, checked against its balance under its lock.
    async fn move_money(self, credit: bool) -> Result<BankEvent, Cause> {
        let mut progress = self.progress.lock().await;
        let result = self.try_move(&mut progress, credit).await;
        if let Err(cause) = result {
            progress.cause.get_or_insert(cause);
        }
        result
    }

    async fn try_move(&self, progress: &mut Progress, credit: bool) -> Result<BankEvent, Cause> {
        if progress.settled {
            return Err(Cause::Timeout);
        }
        let id = if credit {
            &self.request.to
        } else {
            &self.request.from
        };
        let _lock = self.locks.lock(&stream("account", id)).await;
        let found = account(&self.store, id)
            .await
            .map_err(|_| Cause::Internal)?;
        let balance = found.ok_or(Cause::AccountNotFound)?.balance_cents;
        let amount = self.request.amount_cents;
        let event = if credit {
            balance
                .checked_add_unsigned(amount)
                .ok_or(Cause::BalanceOverflow)?;
            BankEvent::Credited(self.movement(id))
        } else {
            match balance.checked_sub_unsigned(amount) {
                Some(left) if left >= 0 => BankEvent::Debited(self.movement(id)),
                _ => return Err(Cause::InsufficientFunds),
            }
        };
        self.append(id, event.clone()).await?;
        if credit {
            progress.credited = true;
        } else {
            progress.debited = true;
        }
        Ok(event)
    }

    async fn append(&self, account_id: &str, event: BankEvent) -> Result<(), Cause> {
        let stream_name = stream("account", account_id);
        let stored = self.store.append(&stream_name, vec![event]).await;
        stored.map_err(|_| Cause::Internal)
    }

    /// Ends the transfer: from now on nothing moves, and a debit whose money did not reach the
    /// destination is reversed, once. AllFrame's compensation calls it, and so does the end of every
    /// transfer, for a debit written after its step had timed out.
    pub async fn settle(&self) -> Result<Option<BankEvent>, Cause> {
        let mut progress = self.progress.lock().await;
        progress.settled = true;
        if !progress.debited || progress.credited || progress.reversed {
            return Ok(None);
        }
        let from = &self.request.from;
        let _lock = self.locks.lock(&stream("account", from)).await;
        let event = BankEvent::DebitReversed(self.movement(from));
        self.append(from, event.clone()).await?;
        progress.reversed = true;
        Ok(Some(event))
    }

    pub async fn credited(&self) -> bool {
        self.progress.lock().await.credited
    }

    async fn record(&self, event: BankEvent) -> Result<Vec<BankEvent>, String> {
        let stream_name = stream("transfer", &self.request.transfer_id);
        self.store.append(&stream_name, vec![event.clone()]).await?;
        Ok(vec![event])
    }
}

/// Runs a money movement in a task of its own: when AllFrame's step timeout drops the step's future,
/// a write already under way still ends, and `Progress` knows about it.
async fn spawned(transfer: Transfer, credit: bool) -> Result<Vec<BankEvent>, String> {
    match tokio::spawn(transfer.move_money(credit)).await {
        Ok(Ok(event)) => Ok(vec![event]),
        Ok(Err(cause)) => Err(cause.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// Step 1: take the money from the source account; compensation puts it back.
pub struct DebitSource(pub Transfer);

#[async_trait::async_trait]
impl OrchestratorSagaStep<BankEvent> for DebitSource {
    async fn execute(&self) -> Result<Vec<BankEvent>, String> {
        spawned(self.0.clone(), false).await
    }
    async fn compensate(&self) -> Result<Vec<BankEvent>, String> {
        let reversal = self.0.settle().await.map_err(|c| c.to_string())?;
        Ok(reversal.into_iter().collect())
    }
    fn name(&self) -> &str {
        "debit-source"
    }
    fn timeout_duration(&self) -> Duration {
        Duration::from_secs(2)
    }
}

/// Step 2: the fraud check; a rejection stops the saga and AllFrame reverses the debit.
pub struct FraudCheck {
    pub transfer: Transfer,
    pub limit_cents: u64,
}

#[async_trait::async_trait]
impl OrchestratorSagaStep<BankEvent> for FraudCheck {
    async fn execute(&self) -> Result<Vec<BankEvent>, String> {
        let t = &self.transfer.request;
        let transfer_id = t.transfer_id.clone();
        if t.amount_cents <= self.limit_cents && t.from != t.to {
            let passed = BankEvent::FraudCheckPassed { transfer_id };
            return self.transfer.record(passed).await;
        }
        let limit = self.limit_cents;
        let reason = format!(
            "fraud suspected: {} cents to {} (limit {limit})",
            t.amount_cents, t.to
        );
        let progress = self.transfer.progress.clone();
        progress.lock().await.cause.get_or_insert(Cause::Fraud);
        let rejected = BankEvent::FraudRejected {
            transfer_id,
            reason: reason.clone(),
        };
        self.transfer.record(rejected).await?;
        Err(reason)
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

/// Step 3: credit the destination. Accounts at the partner bank (`external`) answer after `delay`;
/// the step gives up after `timeout`, and AllFrame then compensates the steps before it.
pub struct CreditDestination {
    pub transfer: Transfer,
    pub delay: Duration,
    pub timeout: Duration,
}

#[async_trait::async_trait]
impl OrchestratorSagaStep<BankEvent> for CreditDestination {
    async fn execute(&self) -> Result<Vec<BankEvent>, String> {
        let t = &self.transfer;
        let to = account(&t.store, &t.request.to).await?;
        if to.is_some_and(|a| a.external) {
            tokio::time::sleep(self.delay).await; // the partner bank's round trip
        }
        spawned(t.clone(), true).await
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
