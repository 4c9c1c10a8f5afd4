//! Usage metering and quota enforcement (DESIGN.md "Usage and quotas", "Quota checks are atomic").
//!
//! Usage counts within the account's current subscription period; an account without a
//! subscription follows `BILLING_NO_SUBSCRIPTION_POLICY` (`allow`: unlimited, counted per calendar
//! month; `deny`: 403); a paused subscription refuses usage (403 `subscription_paused`). [`check`] only reads; [`track`] records one event and consumes its amount
//! with a single conditional update, so concurrent calls never push usage past the limit; a
//! [`batch`] records usage that already happened. Events may carry an `event_id`: a repeated id
//! is acknowledged and counted once.

pub mod batch;
pub mod check;
pub(crate) mod group;
pub mod report;
pub mod reserve;
pub mod track;

use crate::store::{Store, usage as store};
use crate::{Error, NoSubscriptionPolicy, Result};
use tariff_model::{Entity, Interval, Message, Metric, QuotaStatus, Subscription};

pub use batch::{MAX_BATCH_EVENTS, record_batch};
pub use check::{check, standing_of};
pub use report::{daily, meters, recent, report};
pub use track::{MAX_COUNTER, MAX_EVENT_AMOUNT, MAX_METADATA_BYTES, track};

/// The period and limit that apply to an account's usage of one metric right now.
#[derive(Clone, Debug)]
pub(crate) struct Allowance {
    pub subscription_id: Option<String>,
    pub period_start: i64,
    pub period_end: i64,
    pub limit: Option<i64>,
    /// The plan's pay-as-you-go price of one unit beyond `limit`, minor units; `None` (or 0):
    /// usage past the quota is refused.
    pub overage_minor: Option<i64>,
    /// The plan's discount on pay-as-you-go prices, percent.
    pub discount_percent: i64,
}

impl Allowance {
    /// The `usage.threshold` check of an addition to this allowance's counter, `before` → `after`
    /// (see [`crate::events::usage_counted`]), in `tx`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn counted(
        &self,
        tx: &mut crate::store::WriteTx,
        account_id: &str,
        user_id: &str,
        metric: &str,
        before: i64,
        after: i64,
        now: i64,
    ) -> crate::Result<()> {
        let counted = crate::events::Counted {
            account_id,
            user_id,
            metric,
            period_start: self.period_start,
            period_end: self.period_end,
            limit: self.limit,
            used_before: before,
            used_after: after,
            now,
        };
        crate::events::usage_counted(tx, counted).await
    }

    /// The overage price when it is a real one (above zero).
    pub fn priced_overage(&self) -> Option<i64> {
        self.overage_minor.filter(|p| *p > 0)
    }
}

/// The calendar month (UTC) containing `now`, for accounts without a subscription.
pub(crate) fn calendar_month(now: i64) -> (i64, i64) {
    let Ok(moment) = time::OffsetDateTime::from_unix_timestamp(now) else {
        return (now, now + 30 * 86_400);
    };
    let first = moment.replace_day(1).map(|d| d.replace_time(time::Time::MIDNIGHT)).unwrap_or(moment);
    let start = first.unix_timestamp();
    (start, crate::periods::add_intervals(start, Interval::Month, 1))
}

/// The allowance a subscription (or its absence, under `policy`) gives on `metric` at `now`.
pub(crate) fn allowance(
    subscription: Option<&Subscription>,
    metric: Metric,
    policy: NoSubscriptionPolicy,
    now: i64,
) -> Result<Allowance> {
    match subscription {
        Some(s) if s.status == tariff_model::SubscriptionStatus::Paused => {
            Err(Error::SubscriptionPaused { paused_at: s.paused_at })
        }
        Some(s) => Ok(Allowance {
            subscription_id: Some(s.id.clone()),
            period_start: s.current_period_start,
            period_end: s.current_period_end,
            limit: s.plan.quota(metric),
            overage_minor: s.plan.overage.as_ref().and_then(|o| o.get(&metric).copied()),
            discount_percent: s.plan.discount_percent,
        }),
        None if policy == NoSubscriptionPolicy::Deny => Err(Error::Forbidden(Message::SubscriptionRequired)),
        None => {
            let (period_start, period_end) = calendar_month(now);
            Ok(Allowance {
                subscription_id: None,
                period_start,
                period_end,
                limit: None,
                overage_minor: None,
                discount_percent: 0,
            })
        }
    }
}

/// Where `used` units stand against allowance `a`, and whether `requested` more fit.
pub(crate) fn status(metric: Metric, requested: i64, used: i64, a: &Allowance) -> QuotaStatus {
    QuotaStatus {
        allowed: a.limit.is_none_or(|limit| used.saturating_add(requested) <= limit),
        metric,
        requested,
        current_usage: used,
        quota_limit: a.limit,
        remaining: a.limit.map(|limit| (limit - used).max(0)),
        period_start: a.period_start,
        period_end: a.period_end,
        covered_by: None,
        cost: None,
        cost_micros: None,
    }
}

/// The allowance of `account_id` on `metric` and the units used in its period. One query when the
/// account's period is current; otherwise the subscription as it stands at `now` (see
/// [`crate::subscriptions::current`]). Reads only.
pub(crate) async fn standing(
    db: &Store,
    now: i64,
    policy: NoSubscriptionPolicy,
    account_id: &str,
    metric: Metric,
) -> Result<(Allowance, i64)> {
    if let Some(row) = db.hot_standing(account_id, metric.as_str()).await?
        && (row.current_period_end > now || row.status == tariff_model::SubscriptionStatus::Paused)
    {
        return standing_from(db, row, metric).await;
    }
    let subscription = crate::subscriptions::current(db, now, account_id).await?;
    let a = allowance(subscription.as_ref(), metric, policy, now)?;
    let used = store::used(db.reader(), account_id, metric.as_str(), a.period_start).await?;
    Ok((a, used))
}

/// [`standing`] for a write: when the stored period has ended, the due transitions are stored
/// first (writes may write), then the standing is read again.
pub(crate) async fn standing_for_write(
    db: &Store,
    now: i64,
    policy: NoSubscriptionPolicy,
    account_id: &str,
    metric: Metric,
) -> Result<(Allowance, i64)> {
    if let Some(row) = db.hot_standing(account_id, metric.as_str()).await?
        && (row.current_period_end > now || row.status == tariff_model::SubscriptionStatus::Paused)
    {
        return standing_from(db, row, metric).await;
    }
    crate::subscriptions::rollover(db, now, account_id).await?;
    standing(db, now, policy, account_id, metric).await
}

/// A plan's quotas, overage prices and pay-as-you-go discount, parsed once per plan version
/// and kept in the store's cache (see [`plan_limits`]).
#[derive(Debug)]
pub(crate) struct PlanLimits {
    quotas: Option<tariff_model::Quotas>,
    overage: Option<std::collections::BTreeMap<Metric, i64>>,
    discount_percent: i64,
}

/// The limits of plan `plan_id` at version `updated_at` (Unix seconds), from the cache or read
/// and parsed once: quota decisions parse no plan JSON on the hot path.
///
/// # Errors
/// [`Error::Database`]; [`Error::Internal`] for a plan that vanished or stored invalid JSON.
pub(crate) async fn plan_limits(db: &Store, plan_id: &str, updated_at: i64) -> Result<std::sync::Arc<PlanLimits>> {
    let cache = &db.local.plan_limits;
    if let Some(limits) = cache.get(&(plan_id.to_owned(), updated_at)) {
        return Ok(limits);
    }
    let row = crate::store::plans::limits(db.reader(), plan_id)
        .await?
        .ok_or_else(|| Error::Internal(format!("plan {plan_id} of a live subscription is missing")))?;
    let limits = std::sync::Arc::new(PlanLimits {
        quotas: parse_json(row.quotas, "quotas")?,
        overage: parse_json(row.overage, "overage prices")?,
        discount_percent: row.discount_percent,
    });
    cache.insert((plan_id.to_owned(), row.updated_at), limits.clone());
    Ok(limits)
}

/// A plan's JSON column, parsed.
fn parse_json<T: serde::de::DeserializeOwned>(text: Option<String>, what: &str) -> Result<Option<T>> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| Error::Internal(format!("plan {what} are not valid JSON: {e}"))))
        .transpose()
}

/// The allowance of a stored standing whose period is current, with its plan's limits.
pub(crate) fn allowance_of(row: &store::Standing, limits: &PlanLimits, metric: Metric) -> Result<Allowance> {
    if row.status == tariff_model::SubscriptionStatus::Paused {
        return Err(Error::SubscriptionPaused { paused_at: None });
    }
    Ok(Allowance {
        subscription_id: Some(row.subscription_id.clone()),
        period_start: row.current_period_start,
        period_end: row.current_period_end,
        limit: limits.quotas.as_ref().and_then(|q| q.get(&metric).copied().flatten()),
        overage_minor: limits.overage.as_ref().and_then(|o| o.get(&metric).copied()),
        discount_percent: limits.discount_percent,
    })
}

/// The allowance and units used of a stored standing whose period is current.
async fn standing_from(db: &Store, row: store::Standing, metric: Metric) -> Result<(Allowance, i64)> {
    if row.status == tariff_model::SubscriptionStatus::Paused {
        return Err(Error::SubscriptionPaused { paused_at: None });
    }
    let limits = plan_limits(db, &row.plan_id, row.plan_updated_at).await?;
    Ok((allowance_of(&row, &limits, metric)?, row.used.unwrap_or(0)))
}

/// The account's current usage period `[start, end)`, Unix seconds: its subscription's period,
/// or the calendar month without one. Reads only.
///
/// # Errors
/// [`Error::Database`].
pub async fn period_of(db: &Store, now: i64, account_id: &str) -> Result<(i64, i64)> {
    let (a, _) = standing(db, now, NoSubscriptionPolicy::Allow, account_id, Metric::Requests).await?;
    Ok((a.period_start, a.period_end))
}

/// Counts one quota decision for `/metrics` (`tariff_quota_decisions_total{metric, decision}`):
/// `allowed`, `refused`, `duplicate`, or `balance` (past the quota, paid from the balance).
pub(crate) fn count_decision(metric: Metric, decision: &'static str) {
    metrics::counter!("tariff_quota_decisions_total", "metric" => metric.as_str(), "decision" => decision).increment(1);
}

/// Counts `e` as a `refused` quota decision when it is a refusal by the rules (quota, balance or
/// a member's cap: 429 or 402), not a failure.
pub(crate) fn count_if_refused(metric: Metric, e: &Error) {
    if matches!(e, Error::QuotaExceeded { .. } | Error::InsufficientBalance { .. } | Error::MemberCapExceeded { .. }) {
        count_decision(metric, "refused");
    }
}

/// Parses a metric name from a path or body.
///
/// # Errors
/// [`Error::NotFound`] for a name that is not a metric (the spec's "unknown metric → 404").
pub fn parse_metric(name: &str) -> Result<Metric> {
    name.parse().map_err(|_| Error::not_found(Entity::Metric, name))
}
