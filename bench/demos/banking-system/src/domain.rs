//! Events and the account aggregate (AllFrame `Event`, `Aggregate`).
use allframe_core::cqrs::{Aggregate, Event, EventStore, EventTypeName, SqliteEventStoreBackend};
use axum::http::StatusCode;
use demo_support::events::{fold, stream};
use demo_support::money::Cents;
use demo_support::saga::{self, Failure};
use serde::{Deserialize, Serialize};

pub type Store = EventStore<BankEvent, SqliteEventStoreBackend<BankEvent>>;

/// An account as opened: the body of `POST /accounts` and of its `AccountOpened` event.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Opening {
    pub account_id: String,
    pub owner: String,
    #[serde(default)]
    pub external: bool,
}

/// Money into or out of one account; `transfer_id` is empty for a deposit.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Movement {
    pub account_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub transfer_id: String,
    pub amount_cents: u64,
}

impl Movement {
    pub fn new(account_id: &str, transfer_id: &str, amount: Cents) -> Self {
        Movement {
            account_id: account_id.into(),
            transfer_id: transfer_id.into(),
            amount_cents: amount.0,
        }
    }
}

/// A transfer as asked: the body of `POST /transfers` (with its own `transfer_id`, a client can ask
/// for the outcome even if it left before the answer) and the payload of `TransferRequested`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    #[serde(default)]
    pub transfer_id: String,
    pub from: String,
    pub to: String,
    pub amount_cents: Cents,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum BankEvent {
    AccountOpened(Opening),
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
        #[serde(flatten)]
        failure: Failure<Cause>,
    },
}
impl EventTypeName for BankEvent {}
impl Event for BankEvent {}

impl BankEvent {
    /// The transfer whose outcome this event is.
    pub fn outcome_of(&self) -> Option<&str> {
        match self {
            BankEvent::TransferCompleted { transfer_id }
            | BankEvent::TransferFailed { transfer_id, .. } => Some(transfer_id),
            _ => None,
        }
    }
}

/// Why a transfer failed, as its `TransferFailed` event stores it.
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
    #[error("interrupted by a restart")]
    Interrupted,
    #[error("internal error")]
    Internal,
}

impl saga::Cause for Cause {
    const TIMEOUT: Self = Cause::Timeout;
    const INTERNAL: Self = Cause::Internal;
}

impl Cause {
    pub fn status(self) -> StatusCode {
        match self {
            Cause::InsufficientFunds | Cause::BalanceOverflow => StatusCode::UNPROCESSABLE_ENTITY,
            Cause::Fraud => StatusCode::FORBIDDEN,
            Cause::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Cause::Interrupted | Cause::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Account {
    #[serde(flatten)]
    pub opening: Opening,
    pub balance_cents: i64,
}

impl Aggregate for Account {
    type Event = BankEvent;
    fn apply_event(&mut self, event: &BankEvent) {
        // Every movement was checked against the balance before it was stored: none saturates.
        match event {
            BankEvent::AccountOpened(opening) => self.opening = opening.clone(),
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
    let events = store.get_events(&stream("account", id)).await?;
    Ok(Some(fold::<Account>(&events)).filter(|a| !a.opening.account_id.is_empty()))
}
