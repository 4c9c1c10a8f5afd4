//! Read-only quota questions: where an account stands on a metric, and whether an amount fits.

use super::{parse_metric, standing, status};
use crate::store::{Store, balances};
use crate::tokens::UserRef;
use crate::{Error, NoSubscriptionPolicy, Result};
use tariff_model::balance::{cost_micros, decimal_from_micros};
use tariff_model::usage::CoveredBy;
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

/// Whether `amount` more units of `metric` (by name) would fit in `user`'s quota now, and how
/// they would be covered: `quota`, or `balance` when the plan prices overage for the metric and
/// the balance can pay `cost` (`POST /api/v1/billing/usage/check`). Read-only: nothing is consumed.
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
    let mut answer = status(metric, amount, used, &a);
    if answer.allowed {
        answer.covered_by = Some(CoveredBy::Quota);
        answer.cost = Some(0.0);
        answer.cost_micros = Some(0);
    } else if let (Some(price), Some(limit)) = (a.priced_overage(), a.limit) {
        // Beyond the quota with an overage price: the balance pays for the excess, if it can.
        let excess = used.saturating_add(amount).saturating_sub(limit).clamp(0, amount);
        let cost = cost_micros(price, 1, excess, a.discount_percent).unwrap_or(i64::MAX);
        let balance = balances::get(db.reader(), &user.account_id).await?.map_or(0, |b| b.balance_micros);
        answer.cost = Some(decimal_from_micros(cost));
        answer.cost_micros = Some(cost);
        if cost <= balance {
            answer.allowed = true;
            answer.covered_by = Some(CoveredBy::Balance);
        }
    }
    // An organisation member's own cap of the metric narrows what fits.
    if let Some((limit, member_used)) =
        crate::organizations::caps::left(db.reader(), user, metric.as_str(), a.period_start).await?
    {
        let left = (limit - member_used).max(0);
        answer.remaining = Some(answer.remaining.map_or(left, |r| r.min(left)));
        if member_used.saturating_add(amount) > limit {
            answer.allowed = false;
            answer.covered_by = None;
        }
    }
    Ok(answer)
}
