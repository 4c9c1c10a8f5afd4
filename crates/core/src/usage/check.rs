//! Read-only quota questions: where an account stands on a metric, and whether an amount fits.

use super::{parse_metric, standing, status};
use crate::store::Store;
use crate::tokens::UserRef;
use crate::{Error, NoSubscriptionPolicy, Result};
use tariff_model::{Message, Metric, QuotaStatus};

/// Where `user`'s account stands on `metric` (`GET /api/v1/billing/usage/{metric}`). Read-only.
///
/// # Errors
/// [`Error::Forbidden`] under the `deny` policy without a subscription; [`Error::Database`].
pub async fn standing_of(
    db: &Store,
    now: i64,
    policy: NoSubscriptionPolicy,
    user: &UserRef,
    metric: Metric,
) -> Result<QuotaStatus> {
    let (a, used) = standing(db, now, policy, &user.account_id, metric).await?;
    Ok(status(metric, 0, used, &a))
}

/// Whether `amount` more units of `metric` (by name) would fit in `user`'s quota now
/// (`POST /api/v1/billing/usage/check`). Read-only: nothing is consumed.
///
/// # Errors
/// [`Error::NotFound`] for an unknown metric; [`Error::Validation`] on `amount` unless it is
/// positive; [`Error::Forbidden`] under the `deny` policy without a subscription;
/// [`Error::Database`].
pub async fn check(
    db: &Store,
    now: i64,
    policy: NoSubscriptionPolicy,
    user: &UserRef,
    metric: &str,
    amount: i64,
) -> Result<QuotaStatus> {
    let metric = parse_metric(metric)?;
    if amount <= 0 {
        return Err(Error::invalid("amount", Message::PositiveWholeNumber));
    }
    let (a, used) = standing(db, now, policy, &user.account_id, metric).await?;
    Ok(status(metric, amount, used, &a))
}
