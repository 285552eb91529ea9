//! Checked money in integer cents: an amount read from JSON is in range or refused, and no sum wraps.
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// An amount of cents from 1 to `i64::MAX` (so it fits an `i64` balance). Anything else (`0`, `-5`,
/// `u64::MAX`, `"10"`, `1e3`) is refused as the JSON is read: 422 through [`crate::extract::Json`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u64")]
pub struct Cents(pub u64);

impl TryFrom<u64> for Cents {
    type Error = String;
    fn try_from(n: u64) -> Result<Self, String> {
        match i64::try_from(n) {
            Ok(1..) => Ok(Cents(n)),
            _ => Err(format!("must be between 1 and {}", i64::MAX)),
        }
    }
}

impl Cents {
    /// The JSON schema of a [`Cents`] field, for the OpenAPI document.
    pub fn schema() -> Value {
        json!({"type": "integer", "minimum": 1, "maximum": i64::MAX})
    }
}

/// `balance + cents`, or `None` if it overflows.
pub fn credit(balance: i64, cents: u64) -> Option<i64> {
    balance.checked_add_unsigned(cents)
}

/// `balance - cents`, or `None` if it would overflow or go below zero.
pub fn debit(balance: i64, cents: u64) -> Option<i64> {
    balance
        .checked_sub_unsigned(cents)
        .filter(|left| *left >= 0)
}

/// The total of `(unit price in cents, quantity)` lines, or `None` if it overflows.
pub fn total(lines: impl IntoIterator<Item = (u64, u32)>) -> Option<u64> {
    lines.into_iter().try_fold(0u64, |sum, (price, quantity)| {
        sum.checked_add(price.checked_mul(u64::from(quantity))?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_in_range_and_sums_are_checked() {
        let cents = |v: Value| serde_json::from_value::<Cents>(v).ok();
        assert_eq!(cents(json!(5)), Some(Cents(5)));
        for bad in [
            json!(0),
            json!(-5),
            json!(u64::MAX),
            json!("10"),
            json!(1e3),
        ] {
            assert_eq!(cents(bad.clone()), None, "{bad}");
        }
        assert_eq!(credit(i64::MAX, 1), None);
        assert_eq!(debit(5, 6), None);
        assert_eq!(debit(5, 5), Some(0));
        assert_eq!(total([(u64::MAX, 2)]), None);
        assert_eq!(total([(250, 2), (100, 1)]), Some(600));
    }
}
