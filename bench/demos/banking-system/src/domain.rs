//! Events and the account aggregate (AllFrame `Event`, `Aggregate`).
use allframe_core::cqrs::{Aggregate, Event, EventStore, EventTypeName, SqliteEventStoreBackend};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

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
        // Every movement was checked against the balance before it was stored: none saturates.
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
