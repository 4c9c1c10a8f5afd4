//! Usage metering and quota enforcement (DESIGN.md "Usage and quotas", "Quota checks are atomic").
//!
//! Usage counts within the account's current subscription period; an account without a
//! subscription follows `BILLING_NO_SUBSCRIPTION_POLICY` (`allow`: unlimited, counted per calendar
//! month; `deny`: 403). [`check`] only reads; [`track`] records one event and consumes its
//! amount with a single conditional update, so concurrent calls never push usage past the limit.
//! Events may carry an `event_id`: a repeated id is acknowledged and counted once.

use super::subscriptions;
use super::tokens::{Principal, UserRef};
use crate::model::{Metric, QuotaStatus, Subscription};
use crate::server::config::NoSubscriptionPolicy;
use crate::server::error::{Error, FieldError, Result};
use crate::server::store::{Store, usage as store};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Largest number of events one batch may carry.
pub const MAX_BATCH_EVENTS: usize = 1_000;
/// Longest accepted `model_id`, `chat_id` or `event_id`.
const MAX_REF_LEN: usize = 200;

/// The period and limit that apply to an account's usage of one metric right now.
#[derive(Clone, Debug)]
struct Allowance {
    subscription_id: Option<String>,
    period_start: i64,
    period_end: i64,
    limit: Option<i64>,
}

/// The calendar month (UTC) containing `now`, for accounts without a subscription.
fn calendar_month(now: i64) -> (i64, i64) {
    let Ok(moment) = time::OffsetDateTime::from_unix_timestamp(now) else {
        return (now, now + 30 * 86_400);
    };
    let first = moment.replace_day(1).map(|d| d.replace_time(time::Time::MIDNIGHT)).unwrap_or(moment);
    let start = first.unix_timestamp();
    (start, super::periods::add_intervals(start, crate::model::Interval::Month, 1))
}

fn allowance(
    subscription: Option<&Subscription>,
    metric: Metric,
    policy: NoSubscriptionPolicy,
    now: i64,
) -> Result<Allowance> {
    match subscription {
        Some(s) => Ok(Allowance {
            subscription_id: Some(s.id.clone()),
            period_start: s.current_period_start,
            period_end: s.current_period_end,
            limit: s.plan.quota(metric),
        }),
        None if policy == NoSubscriptionPolicy::Deny => {
            Err(Error::Forbidden("an active subscription is required to use this service".into()))
        }
        None => {
            let (period_start, period_end) = calendar_month(now);
            Ok(Allowance { subscription_id: None, period_start, period_end, limit: None })
        }
    }
}

fn status(metric: Metric, requested: i64, used: i64, a: &Allowance) -> QuotaStatus {
    QuotaStatus {
        allowed: a.limit.is_none_or(|limit| used.saturating_add(requested) <= limit),
        metric,
        requested,
        current_usage: used,
        quota_limit: a.limit,
        remaining: a.limit.map(|limit| (limit - used).max(0)),
        period_start: a.period_start,
        period_end: a.period_end,
    }
}

/// The allowance of `account_id` on `metric` and the units used in its period. One query when the
/// account's period is current; the full path (with rollover) when a period has ended or there
/// is no subscription.
async fn standing(
    db: &Store,
    now: i64,
    policy: NoSubscriptionPolicy,
    account_id: &str,
    metric: Metric,
) -> Result<(Allowance, i64)> {
    if let Some(row) = store::standing(db.pool(), account_id, metric.as_str()).await?
        && (row.current_period_end > now || row.status == "paused")
    {
        let quotas: Option<crate::model::Quotas> = match row.quotas.as_deref() {
            Some(text) => serde_json::from_str(text)
                .map_err(|e| Error::Internal(format!("plan quotas are not valid JSON: {e}")))?,
            None => None,
        };
        let limit = quotas.as_ref().and_then(|q| q.get(&metric).copied().flatten());
        let allowance = Allowance {
            subscription_id: Some(row.subscription_id),
            period_start: row.current_period_start,
            period_end: row.current_period_end,
            limit,
        };
        return Ok((allowance, row.used.unwrap_or(0)));
    }
    let subscription = subscriptions::current(db, now, account_id).await?;
    let a = allowance(subscription.as_ref(), metric, policy, now)?;
    let used = store::used(db.pool(), account_id, metric.as_str(), a.period_start).await?;
    Ok((a, used))
}

/// Parses a metric name from a path or body.
///
/// # Errors
/// [`Error::NotFound`] for a name that is not a metric (the spec's "unknown metric → 404").
pub fn parse_metric(name: &str) -> Result<Metric> {
    name.parse().map_err(|_| Error::not_found("metric", name))
}

fn positive(amount: i64, field: &str) -> Result<()> {
    if amount <= 0 {
        return Err(Error::invalid(field, "must be a positive whole number"));
    }
    Ok(())
}

/// Where `user`'s account stands on `metric`, and whether `amount` more would fit. Read-only.
///
/// # Errors
/// [`Error::Validation`] for `amount < 0`; [`Error::Forbidden`] under the `deny` policy without
/// a subscription; [`Error::Database`].
pub async fn check(
    db: &Store,
    now: i64,
    policy: NoSubscriptionPolicy,
    user: &UserRef,
    metric: Metric,
    amount: i64,
) -> Result<QuotaStatus> {
    if amount < 0 {
        return Err(Error::invalid("amount", "must not be negative"));
    }
    let (a, used) = standing(db, now, policy, &user.account_id, metric).await?;
    Ok(status(metric, amount, used, &a))
}

/// The account's standing on every metric (for `/me` and the usage page).
///
/// # Errors
/// As [`check`].
pub async fn overview(
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
            Err(Error::Forbidden(_)) => {
                let (start, end) = calendar_month(now);
                Allowance { subscription_id: None, period_start: start, period_end: end, limit: Some(0) }
            }
            Err(e) => return Err(e),
        };
        let used = store::used(db.pool(), &user.account_id, metric.as_str(), a.period_start).await?;
        out.push(status(metric, 0, used, &a));
    }
    Ok(out)
}

/// One usage event as a client reports it (`POST /api/v1/billing/usage`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct UsageEvent {
    /// With a service token: the user the usage belongs to.
    pub user_id: Option<String>,
    pub metric: String,
    pub amount: i64,
    pub model_id: Option<String>,
    pub chat_id: Option<String>,
    /// Client-chosen id; a repeated id is acknowledged and counted once per account.
    pub event_id: Option<String>,
    #[serde(alias = "extra_metadata")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

fn validate_event(event: &UsageEvent, prefix: &str, errors: &mut Vec<FieldError>) {
    if event.amount <= 0 {
        errors.push(FieldError::new(format!("{prefix}amount"), "must be a positive whole number"));
    }
    for (name, value) in [("model_id", &event.model_id), ("chat_id", &event.chat_id), ("event_id", &event.event_id)] {
        if value.as_ref().is_some_and(|v| v.is_empty() || v.chars().count() > MAX_REF_LEN) {
            errors.push(FieldError::new(format!("{prefix}{name}"), "must be 1 to 200 characters"));
        }
    }
    if event.metadata.as_ref().is_some_and(|m| !m.is_object() && !m.is_null()) {
        errors.push(FieldError::new(format!("{prefix}metadata"), "must be a JSON object"));
    }
}

/// The row that records `event` for `user` in the period of allowance `a`. Ids are time-ordered
/// (UUIDv7) so inserts append to the primary-key index.
fn usage_row(user: &UserRef, metric: Metric, a: &Allowance, event: UsageEvent, now: i64) -> store::NewUsage {
    store::NewUsage {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: user.id.clone(),
        account_id: user.account_id.clone(),
        subscription_id: a.subscription_id.clone(),
        metric: metric.as_str(),
        amount: event.amount,
        period_start: a.period_start,
        period_end: a.period_end,
        model_id: event.model_id,
        chat_id: event.chat_id,
        event_id: event.event_id,
        extra_metadata: event.metadata.filter(|m| !m.is_null()).map(|m| m.to_string()),
        created_at: now,
    }
}

/// What recording one event did.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Tracked {
    /// False when the `event_id` had been recorded before (nothing was counted now).
    pub recorded: bool,
    pub duplicate: bool,
    pub usage: QuotaStatus,
}

/// Records one usage event for `user` and consumes its amount from the quota atomically.
///
/// # Errors
/// [`Error::NotFound`] for an unknown metric; [`Error::Validation`] for a non-positive amount or
/// oversized ids; [`Error::QuotaExceeded`] (429) when the amount does not fit — nothing is
/// recorded then; [`Error::Forbidden`] under the `deny` policy; [`Error::Database`].
pub async fn track(
    db: &Store,
    now: i64,
    policy: NoSubscriptionPolicy,
    user: &UserRef,
    event: UsageEvent,
) -> Result<Tracked> {
    let metric = parse_metric(&event.metric)?;
    let mut errors = Vec::new();
    validate_event(&event, "", &mut errors);
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    positive(event.amount, "amount")?;
    let (a, _) = standing(db, now, policy, &user.account_id, metric).await?;
    let amount = event.amount;
    let row = usage_row(user, metric, &a, event, now);

    // Writes first, so SQLite takes its write lock at the first statement of the transaction.
    let mut tx = db.begin_write().await?;
    let inserted = store::insert_many(&mut *tx, db.dialect(), std::slice::from_ref(&row)).await?;
    if inserted.is_empty() {
        tx.rollback().await?;
        let used = store::used(db.pool(), &user.account_id, metric.as_str(), a.period_start).await?;
        return Ok(Tracked { recorded: false, duplicate: true, usage: status(metric, 0, used, &a) });
    }
    let consumed =
        store::consume(&mut *tx, &user.account_id, metric.as_str(), a.period_start, a.period_end, amount, a.limit, now)
            .await?;
    let Some(used) = consumed else {
        tx.rollback().await?;
        let used = store::used(db.pool(), &user.account_id, metric.as_str(), a.period_start).await?;
        let limit = a.limit.unwrap_or(0);
        return Err(Error::QuotaExceeded {
            metric,
            limit,
            current_usage: used,
            remaining: (limit - used).max(0),
            requested: amount,
        });
    };
    tx.commit().await?;
    Ok(Tracked { recorded: true, duplicate: false, usage: status(metric, 0, used, &a) })
}

/// What a batch did: events counted now, and events whose `event_id` was already recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BatchOutcome {
    pub accepted: usize,
    pub duplicates: usize,
}

/// Records up to [`MAX_BATCH_EVENTS`] events (service tokens), validated as a whole: one bad
/// event rejects the batch and records nothing. Events are usage that already happened, so they
/// are counted even past a quota (later `track` and `check` calls then see the quota exhausted).
/// Idempotent per `event_id`.
///
/// # Errors
/// [`Error::Validation`] naming `events[i].field` (unknown metric, non-positive amount, unknown
/// user, more than 1,000 events); [`Error::Database`].
pub async fn record_batch(
    db: &Store,
    now: i64,
    policy: NoSubscriptionPolicy,
    principal: &Principal,
    events: Vec<UsageEvent>,
) -> Result<BatchOutcome> {
    let default_user = &principal.user;
    if events.is_empty() {
        return Err(Error::invalid("events", "send at least one event"));
    }
    if events.len() > MAX_BATCH_EVENTS {
        return Err(Error::invalid("events", "send at most 1000 events per batch"));
    }
    let mut errors = Vec::new();
    let mut metrics = Vec::with_capacity(events.len());
    for (i, event) in events.iter().enumerate() {
        let prefix = format!("events[{i}].");
        match event.metric.parse::<Metric>() {
            Ok(m) => metrics.push(m),
            Err(_) => {
                errors.push(FieldError::new(format!("{prefix}metric"), format!("unknown metric {:?}", event.metric)));
                metrics.push(Metric::Requests);
            }
        }
        validate_event(event, &prefix, &mut errors);
    }
    // Resolve each distinct user once, with their current period.
    let mut users: HashMap<String, (UserRef, Option<Subscription>)> = HashMap::new();
    for (i, event) in events.iter().enumerate() {
        let id = event.user_id.clone().unwrap_or_else(|| default_user.id.clone());
        if users.contains_key(&id) {
            continue;
        }
        match principal.subject(db, Some(&id)).await {
            Ok(user) => {
                let subscription = subscriptions::current(db, now, &user.account_id).await?;
                users.insert(id, (user, subscription));
            }
            Err(Error::NotFound { .. }) => errors.push(FieldError::new(format!("events[{i}].user_id"), "unknown user")),
            Err(e) => return Err(e),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }

    let mut rows = Vec::with_capacity(events.len());
    for (event, metric) in events.into_iter().zip(metrics) {
        let id = event.user_id.clone().unwrap_or_else(|| default_user.id.clone());
        let (user, subscription) = &users[&id];
        let a = allowance(subscription.as_ref(), metric, policy, now)?;
        rows.push(usage_row(user, metric, &a, event, now));
    }

    let mut tx = db.begin_write().await?;
    let mut inserted = std::collections::HashSet::new();
    for chunk in rows.chunks(500) {
        inserted.extend(store::insert_many(&mut *tx, db.dialect(), chunk).await?);
    }
    let mut sums: BTreeMap<(String, &'static str, i64), (i64, i64)> = BTreeMap::new();
    for row in rows.iter().filter(|r| inserted.contains(&r.id)) {
        let entry = sums.entry((row.account_id.clone(), row.metric, row.period_start)).or_insert((row.period_end, 0));
        entry.1 += row.amount;
    }
    for ((account_id, metric, period_start), (period_end, amount)) in &sums {
        store::add(&mut *tx, account_id, metric, *period_start, *period_end, *amount, now).await?;
    }
    tx.commit().await?;
    Ok(BatchOutcome { accepted: inserted.len(), duplicates: rows.len() - inserted.len() })
}

/// The account's recent usage events, newest first.
///
/// # Errors
/// [`Error::Database`].
pub async fn recent(db: &Store, account_id: &str, limit: i64) -> Result<Vec<store::UsageRow>> {
    Ok(store::recent(db.pool(), account_id, limit).await?)
}

/// Usage per metric and per day of `[from, to)` (the usage chart). `day` is the start of each
/// 24-hour step counted from `from`, Unix seconds; days without usage are left out.
///
/// # Errors
/// [`Error::Database`].
pub async fn daily(db: &Store, account_id: &str, from: i64, to: i64) -> Result<Vec<crate::model::portal::DailyUsage>> {
    let rows = store::daily_totals(db.pool(), account_id, from, to).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(day, metric, amount)| {
            metric.parse().ok().map(|metric| crate::model::portal::DailyUsage {
                day: from + day * 86_400,
                metric,
                amount,
            })
        })
        .collect())
}
