//! Seed 004's read routes beyond the balance: the limits of the current period
//! (`check_limit()`) and the usage history with what each line cost.

use super::feature_counter;
use crate::paging::paging;
use crate::store::charges::{self, HistoryFilter};
use crate::store::{Store, usage as counters};
use crate::tokens::UserRef;
use crate::{Error, NoSubscriptionPolicy, Result};
use tariff_model::api::{Limit, Limits, UsageHistoryItem, UsageHistoryQuery};
use tariff_model::balance::decimal_from_micros;
use tariff_model::portal::Page;
use tariff_model::{Message, Metric};

/// Every metric's quota and every feature's included units in the current period, with what
/// is used and left (`GET /api/v1/billing/limits`).
///
/// # Errors
/// [`Error::Database`].
pub async fn limits(db: &Store, now: i64, policy: NoSubscriptionPolicy, user: &UserRef) -> Result<Limits> {
    let subscription = crate::subscriptions::current(db, now, &user.account_id).await?;
    let meters = crate::usage::meters(db, now, policy, user, subscription.as_ref()).await?;
    let (period_start, period_end) =
        meters.first().map(|m| (m.period_start, m.period_end)).unwrap_or_else(|| crate::usage::calendar_month(now));
    let metrics = meters
        .iter()
        .map(|m| Limit {
            name: m.metric.as_str().to_owned(),
            included: m.quota_limit,
            used: m.current_usage,
            remaining: m.remaining,
            period_end: m.period_end,
        })
        .collect();
    let mut features = Vec::new();
    let limits = subscription.as_ref().and_then(|s| s.plan.feature_limits.clone()).unwrap_or_default();
    for (name, included) in limits {
        let used = counters::used(db.reader(), &user.account_id, &feature_counter(&name), period_start).await?;
        features.push(Limit {
            name,
            included: Some(included),
            used,
            remaining: Some((included - used).max(0)),
            period_end,
        });
    }
    Ok(Limits { period_start, period_end, metrics, features })
}

/// The account's usage history, newest first: metric events and feature charges with what
/// each cost from the balance (`GET /api/v1/billing/usage`).
///
/// # Errors
/// [`Error::Validation`] for an unknown `metric` filter, a feature name that cannot be one, a
/// negative `from` or `to`, or bad paging; [`Error::Database`].
pub async fn history(db: &Store, account_id: &str, query: &UsageHistoryQuery) -> Result<Page<UsageHistoryItem>> {
    let (page, page_size, offset) = paging(query.page, query.page_size)?;
    if let Some(metric) = &query.metric
        && metric.parse::<Metric>().is_err()
    {
        return Err(Error::invalid("metric", Message::UnknownMetric { value: metric.clone() }));
    }
    if query.feature.as_deref().is_some_and(|f| !tariff_model::plan::is_feature_code(f)) {
        return Err(Error::invalid("feature", Message::FeatureCodeInvalid));
    }
    for (field, value) in [("from", query.from), ("to", query.to)] {
        if value.is_some_and(|v| v < 0) {
            return Err(Error::invalid(field, Message::NotNegative));
        }
    }
    let filter = HistoryFilter {
        metric: query.metric.as_deref(),
        feature: query.feature.as_deref(),
        from: query.from,
        to: query.to,
    };
    let (rows, total) = charges::history(db.reader(), account_id, &filter, page_size, offset).await?;
    let items = rows
        .into_iter()
        .map(|r| UsageHistoryItem {
            id: r.id,
            kind: r.kind,
            name: r.name,
            units: r.units,
            from_included: r.from_included,
            charged: decimal_from_micros(r.charged_micros),
            charged_micros: r.charged_micros,
            event_id: r.event_id,
            created_at: r.created_at,
        })
        .collect();
    Ok(Page { items, total, page, page_size })
}
