//! What an account has used: every metric's meter, daily totals for the chart and the latest
//! events — the usage page of the portal, `/me` and the admin's user page all read these.

use super::{Allowance, allowance, calendar_month, status};
use crate::store::{Store, usage as store};
use crate::tokens::UserRef;
use crate::{Error, NoSubscriptionPolicy, Result};
use tariff_model::portal::{DailyUsage, UsageEventView, UsageReport};
use tariff_model::{Metric, QuotaStatus, Subscription, UsageRow};

/// The account's standing on every metric in `subscription`'s period (the meters).
///
/// # Errors
/// [`Error::Database`].
pub async fn meters(
    db: &Store,
    now: i64,
    policy: NoSubscriptionPolicy,
    user: &UserRef,
    subscription: Option<&Subscription>,
) -> Result<Vec<QuotaStatus>> {
    let mut out = Vec::with_capacity(Metric::ALL.len());
    for metric in Metric::ALL {
        let a = match allowance(subscription, metric, policy, now) {
            Ok(a) => a,
            // Under `deny` without a subscription nothing may be used: a meter at zero of zero.
            Err(Error::Forbidden(_)) => {
                let (start, end) = calendar_month(now);
                Allowance {
                    subscription_id: None,
                    period_start: start,
                    period_end: end,
                    limit: Some(0),
                    overage_minor: None,
                    discount_percent: 0,
                }
            }
            Err(e) => return Err(e),
        };
        let used = store::used(db.reader(), &user.account_id, metric.as_str(), a.period_start).await?;
        out.push(status(metric, 0, used, &a));
    }
    Ok(out)
}

/// The account's latest `limit` usage events, newest first.
///
/// # Errors
/// [`Error::Database`].
pub async fn recent(db: &Store, account_id: &str, limit: i64) -> Result<Vec<UsageRow>> {
    Ok(store::recent(db.reader(), account_id, limit).await?)
}

/// Usage per metric and per day of `[from, to)` (the usage chart). `day` is the start of each
/// 24-hour step counted from `from`, Unix seconds; days without usage are left out.
///
/// # Errors
/// [`Error::Database`].
pub async fn daily(db: &Store, account_id: &str, from: i64, to: i64) -> Result<Vec<DailyUsage>> {
    let rows = store::daily_totals(db.reader(), account_id, from, to).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(day, metric, amount)| {
            metric.parse().ok().map(|metric| DailyUsage { day: from + day * 86_400, metric, amount })
        })
        .collect())
}

/// The usage report of `user`'s account (the portal's usage page): the plan, every meter, the
/// current period, daily totals over it and the latest `recent_events` events.
///
/// # Errors
/// [`Error::Database`].
pub async fn report(
    db: &Store,
    now: i64,
    policy: NoSubscriptionPolicy,
    user: &UserRef,
    recent_events: i64,
) -> Result<UsageReport> {
    let subscription = crate::subscriptions::current(db, now, &user.account_id).await?;
    let meters = meters(db, now, policy, user, subscription.as_ref()).await?;
    let (period_start, period_end) =
        meters.first().map(|m| (m.period_start, m.period_end)).unwrap_or((now - 30 * 86_400, now));
    let daily = daily(db, &user.account_id, period_start, period_end).await?;
    let recent = recent(db, &user.account_id, recent_events)
        .await?
        .into_iter()
        .filter_map(|row| {
            Some(UsageEventView {
                metric: row.metric.parse().ok()?,
                id: row.id,
                amount: row.amount,
                model_id: row.model_id,
                chat_id: row.chat_id,
                created_at: row.created_at,
                charged_micros: row.charged_micros,
            })
        })
        .collect();
    let payg_cost_micros =
        crate::store::balances::charged_between(db.reader(), &user.account_id, period_start, period_end).await?;
    let currency = crate::store::balances::get(db.reader(), &user.account_id)
        .await?
        .map_or(tariff_model::Currency::Rub, |b| b.currency);
    Ok(UsageReport {
        plan: subscription.map(|s| s.plan),
        meters,
        period_start,
        period_end,
        daily,
        recent,
        payg_cost_micros,
        currency,
    })
}
