//! Pay-as-you-go balances (seed 004 `get_balance()`, `top_up()`, `charge()`; DESIGN.md
//! "Pay-as-you-go", "Prices of usage"), one file per use case: `charge`, `topup`, `adjust`,
//! `limits` (the limits and the usage history).
//!
//! Each account has one balance in its currency, kept exactly in micro-minor units as an
//! append-only ledger whose sum is the cached `account.balance_micros`; every movement is one
//! conditional update plus its ledger row in one transaction, so concurrent debits can never take
//! a balance below zero and the ledger always sums to the balance. Everything is keyed by
//! account, never by user, so an organisation's shared balance is the same code.

pub mod adjust;
pub mod charge;
pub(crate) mod group;
pub mod limits;
pub mod topup;

use crate::store::{Store, balances as store};
use crate::{Error, NoSubscriptionPolicy, Result};
use tariff_model::balance::{MICROS_PER_MINOR, decimal_from_micros, minor_from_micros};
use tariff_model::{Balance, Entity, Message, Plan};

pub use adjust::{MAX_ADJUSTMENT_MINOR, MAX_REASON_LEN, adjust, adjust_organization, set_threshold};
pub use charge::{charge, feature_offers, feature_price};
pub use limits::{history, limits};
pub use topup::{topup, topup_returning};

/// How many ledger entries `GET /balance` shows.
pub const RECENT_ENTRIES: i64 = 20;

/// The plan and period pay-as-you-go usage of an account counts in right now.
#[derive(Clone, Debug)]
pub(crate) struct PaygStanding {
    /// The live subscription's plan; `None` without a subscription (policy `allow`).
    pub plan: Option<Plan>,
    pub period_start: i64,
    pub period_end: i64,
}

/// The account's plan and period at `now` (reads only).
///
/// # Errors
/// [`Error::Forbidden`] without a subscription under the `deny` policy; [`Error::Database`].
pub(crate) async fn standing(
    db: &Store,
    now: i64,
    policy: NoSubscriptionPolicy,
    account_id: &str,
) -> Result<PaygStanding> {
    match crate::subscriptions::current(db, now, account_id).await? {
        Some(s) => Ok(PaygStanding {
            period_start: s.current_period_start,
            period_end: s.current_period_end,
            plan: Some(s.plan),
        }),
        None if policy == NoSubscriptionPolicy::Deny => Err(Error::Forbidden(Message::SubscriptionRequired)),
        None => {
            let (period_start, period_end) = crate::usage::calendar_month(now);
            Ok(PaygStanding { plan: None, period_start, period_end })
        }
    }
}

/// The counter key of a feature's included units (`billing_usage_counter.metric`).
pub(crate) fn feature_counter(feature: &str) -> String {
    format!("feature:{feature}")
}

/// The balance of `account_id` with its newest ledger entries; `low` compares it with the
/// account's threshold, or `default_low_minor` (minor units) when it has none.
///
/// # Errors
/// [`Error::NotFound`] for an unknown account; [`Error::Database`].
pub async fn balance_of(db: &Store, account_id: &str, default_low_minor: i64) -> Result<Balance> {
    let b = store::get(db.reader(), account_id).await?.ok_or_else(|| Error::not_found(Entity::User, account_id))?;
    let (entries, _) = store::entries(db.reader(), account_id, RECENT_ENTRIES, 0).await?;
    let threshold_minor = b.low_balance_minor.unwrap_or(default_low_minor);
    let threshold_micros = threshold_minor.saturating_mul(MICROS_PER_MINOR);
    Ok(Balance {
        balance: decimal_from_micros(b.balance_micros),
        balance_minor: minor_from_micros(b.balance_micros),
        balance_micros: b.balance_micros,
        currency: b.currency,
        owed: decimal_from_micros(b.owed_micros),
        owed_micros: b.owed_micros,
        low: b.balance_micros < threshold_micros,
        low_balance_threshold: tariff_model::money::decimal_from_minor(threshold_minor),
        low_balance_threshold_minor: threshold_minor,
        entries,
    })
}
