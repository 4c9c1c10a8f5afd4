//! Outgoing events (issue 16): what happened to an account, written to the outbox
//! (`billing_event`) inside the transaction of the change that causes it, so an event exists if
//! and only if its change committed. Each event gets a pending delivery for every enabled webhook
//! endpoint that takes its type; [`delivery`] sends them, signed (Standard Webhooks).
//!
//! Where events come from — each hook sits on the one function every change of its kind goes
//! through, so no path can change state without its event:
//! - [`subscription_written`]: every insert and update of a subscription
//!   (`crate::subscriptions::insert` / `update`): `subscription.created`, `.updated`, `.canceled`,
//!   `.renewed`, `.past_due`, and `usage.threshold.resolved` when a new period or a larger quota
//!   frees a used-up quota;
//! - [`transaction_moved`]: every status change of a transaction (`store::transactions::transition`):
//!   `payment.succeeded`, `payment.failed`, `refund.succeeded`;
//! - [`balance_moved`]: every ledger entry (`store::balances::apply`): `balance.topped_up`,
//!   `balance.low`, and `usage.threshold.resolved` when a top-up lets priced overage go on;
//! - [`usage_counted`]: every addition to a quota counter: `usage.threshold` at 80 % and 100 %,
//!   once per account, metric, period and threshold;
//! - [`notify_upcoming`]: the scheduler, `trial.will_end` 3 days before a trial ends and
//!   `subscription.renewal_upcoming` 7 days before a yearly plan renews;
//! - `crate::organizations::invite`: `invitation.created`.
//!
//! An event whose type has a customer email ([`tariff_model::events::EmailKind::of`]) is written
//! with its email pending when emails are on; [`email`] composes it and the server's mailer
//! sends it, so an email, like a webhook, exists only for a change that committed.

pub mod delivery;
pub mod email;
pub mod endpoints;

use crate::Result;
use crate::store::events as store;
use crate::store::subscriptions::SubscriptionRow;
use crate::store::{Store, WriteTx, plans};
use serde_json::{Value, json};
use tariff_model::{BalanceReason, Currency, Event, EventType, SubscriptionStatus, TransactionKind, TransactionStatus};

/// The quota thresholds that raise `usage.threshold`, in percent.
pub const THRESHOLDS: [i64; 2] = [80, 100];

/// How long before a trial's end `trial.will_end` is sent, seconds (3 days).
pub const TRIAL_NOTICE_SECONDS: i64 = 3 * 86_400;

/// How long before a yearly renewal `subscription.renewal_upcoming` is sent, seconds (7 days).
pub const RENEWAL_NOTICE_SECONDS: i64 = 7 * 86_400;

/// Writes one event (and its deliveries) in `tx`; the webhook worker is woken after the commit.
///
/// # Errors
/// [`crate::Error::Database`].
pub async fn emit(
    tx: &mut WriteTx,
    event_type: EventType,
    account_id: &str,
    user_id: Option<&str>,
    data: Value,
    now: i64,
) -> Result<Event> {
    let event = Event {
        id: format!("evt_{}", uuid::Uuid::now_v7().simple()),
        event_type,
        created_at: now,
        account_id: account_id.to_owned(),
        user_id: user_id.map(str::to_owned),
        data,
    };
    let payload = serde_json::to_string(&event).map_err(|e| crate::Error::Internal(e.to_string()))?;
    let email = tx.emails() && tariff_model::events::EmailKind::of(event_type).is_some();
    let deliveries =
        store::insert(tx, &event.id, event_type.as_str(), account_id, user_id, &payload, email, now).await?;
    if deliveries > 0 || email {
        tx.events_written();
    }
    tx.after_commit(move || {
        metrics::counter!("tariff_events_total", "type" => event_type.as_str()).increment(1);
    });
    Ok(event)
}

/// What a write of a subscription means for the outside: the event type of the change from
/// `before` to `after`, or `None` when nothing the API shows changed.
pub fn subscription_event(before: Option<&SubscriptionRow>, after: &SubscriptionRow, paid: bool) -> Option<EventType> {
    let Some(before) = before else { return Some(EventType::SubscriptionCreated) };
    if after.status == SubscriptionStatus::Canceled && before.status != SubscriptionStatus::Canceled {
        return Some(EventType::SubscriptionCanceled);
    }
    if after.status == SubscriptionStatus::PastDue && before.status != SubscriptionStatus::PastDue {
        return Some(EventType::SubscriptionPastDue);
    }
    if after.status == SubscriptionStatus::Active
        && matches!(
            before.status,
            SubscriptionStatus::Active | SubscriptionStatus::PastDue | SubscriptionStatus::Trialing
        )
        && after.plan_id == before.plan_id
        && after.current_period_start > before.current_period_start
    {
        // A free plan's monthly rollover is not a renewal anyone pays for: no event.
        return paid.then_some(EventType::SubscriptionRenewed);
    }
    let mut before_cmp = before.clone();
    before_cmp.updated_at = after.updated_at;
    (before_cmp != *after).then_some(EventType::SubscriptionUpdated)
}

/// The subscription events of a write of `after` over `before` (`None`: a new subscription), in
/// `tx`; called by every subscription write.
///
/// # Errors
/// [`crate::Error::Database`].
pub async fn subscription_written(
    tx: &mut WriteTx,
    before: Option<&SubscriptionRow>,
    after: &SubscriptionRow,
) -> Result<()> {
    let now = after.updated_at;
    let Some(plan) = plans::get(tx.conn(), &after.plan_id).await? else { return Ok(()) };
    if let Some(event_type) = subscription_event(before, after, plan.price_minor > 0) {
        let data = serde_json::to_value(crate::subscriptions::to_model(after.clone(), plan.clone()))
            .map_err(|e| crate::Error::Internal(e.to_string()))?;
        emit(tx, event_type, &after.account_id, Some(&after.user_id), data, now).await?;
    }
    if before.is_some() {
        resolve_exhausted(tx, after, &plan, "subscription", now).await?;
    }
    Ok(())
}

/// Sends `usage.threshold.resolved` for each used-up quota of the account that is available
/// again under `subscription` (a later period, or a plan whose quota is larger than what was
/// used, or none), marking it resolved.
async fn resolve_exhausted(
    tx: &mut WriteTx,
    subscription: &SubscriptionRow,
    plan: &tariff_model::Plan,
    cause: &str,
    now: i64,
) -> Result<()> {
    if subscription.status == SubscriptionStatus::Canceled || subscription.status == SubscriptionStatus::Paused {
        return Ok(());
    }
    for (metric, period_start) in store::exhausted(tx, &subscription.account_id).await? {
        let reason = if subscription.current_period_start > period_start {
            Some("new_period")
        } else {
            let limit = metric.parse().ok().and_then(|m| plan.quota(m));
            let used = crate::store::usage::lock_used(
                tx,
                &subscription.account_id,
                &metric,
                period_start,
                subscription.current_period_end,
                now,
            )
            .await?;
            match limit {
                None => Some("plan_change"),
                Some(limit) if used < limit => Some("plan_change"),
                _ => None,
            }
        };
        if let Some(reason) = reason
            && store::resolve_alert(tx, &subscription.account_id, &metric, period_start, now).await?
        {
            let reason = if cause == "topup" { "top_up" } else { reason };
            let data = json!({ "metric": metric, "period_start": period_start, "reason": reason });
            emit(
                tx,
                EventType::UsageThresholdResolved,
                &subscription.account_id,
                Some(&subscription.user_id),
                data,
                now,
            )
            .await?;
        }
    }
    Ok(())
}

/// The payment events of a transaction that moved to `to`, in `tx`; called by every status change
/// of a transaction.
///
/// # Errors
/// [`crate::Error::Database`].
pub async fn transaction_moved(tx: &mut WriteTx, id: &str, to: TransactionStatus, now: i64) -> Result<()> {
    let Some(transaction) = crate::store::transactions::get_by_id(tx.conn(), id).await? else { return Ok(()) };
    let refund = transaction.kind == TransactionKind::Refund;
    let event_type = match to {
        TransactionStatus::Succeeded if refund => EventType::RefundSucceeded,
        TransactionStatus::Succeeded => EventType::PaymentSucceeded,
        TransactionStatus::Canceled | TransactionStatus::Failed if !refund => EventType::PaymentFailed,
        _ => return Ok(()),
    };
    let account_id: Option<String> = sqlx::query_scalar("select account_id from billing_transaction where id = $1")
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .flatten();
    let Some(account_id) = account_id else { return Ok(()) };
    let user_id = transaction.user_id.clone();
    let data = serde_json::to_value(&transaction).map_err(|e| crate::Error::Internal(e.to_string()))?;
    emit(tx, event_type, &account_id, Some(&user_id), data, now).await?;
    Ok(())
}

/// A ledger entry that moved an account's balance by `delta_micros` to `balance_micros`.
#[derive(Clone, Copy, Debug)]
pub struct BalanceMove<'a> {
    pub account_id: &'a str,
    pub reason: BalanceReason,
    pub delta_micros: i64,
    pub balance_micros: i64,
    pub currency: Currency,
    /// The account's own low-balance threshold, minor units (`None`: the server's default).
    pub low_balance_minor: Option<i64>,
    pub now: i64,
}

/// The balance events of one ledger entry, in `tx`: `balance.topped_up` for a top-up,
/// `balance.low` when a debit takes the balance from at or above the threshold to below it.
///
/// # Errors
/// [`crate::Error::Database`].
pub async fn balance_moved(tx: &mut WriteTx, m: BalanceMove<'_>) -> Result<()> {
    let balance = |micros: i64| {
        let minor = micros.div_euclid(tariff_model::balance::MICROS_PER_MINOR);
        json!({
            "balance": tariff_model::money::decimal_from_minor(minor),
            "balance_minor": minor,
            "currency": m.currency,
        })
    };
    if m.reason == BalanceReason::Topup && m.delta_micros > 0 {
        let owner = owner_of(tx, m.account_id).await?;
        let mut data = balance(m.balance_micros);
        data["amount_minor"] = json!(m.delta_micros / tariff_model::balance::MICROS_PER_MINOR);
        emit(tx, EventType::BalanceToppedUp, m.account_id, owner.as_deref(), data, m.now).await?;
        resolve_after_topup(tx, m.account_id, m.now).await?;
    }
    if m.delta_micros < 0 {
        let threshold_minor = m.low_balance_minor.unwrap_or_else(|| tx.low_balance_default());
        let threshold = threshold_minor.saturating_mul(tariff_model::balance::MICROS_PER_MINOR);
        let before = m.balance_micros - m.delta_micros;
        if threshold > 0 && before >= threshold && m.balance_micros < threshold {
            let owner = owner_of(tx, m.account_id).await?;
            let mut data = balance(m.balance_micros);
            data["low_balance_threshold_minor"] = json!(threshold_minor);
            emit(tx, EventType::BalanceLow, m.account_id, owner.as_deref(), data, m.now).await?;
        }
    }
    Ok(())
}

/// The user of a personal account (an organisation's balance events name no user).
async fn owner_of(tx: &mut WriteTx, account_id: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("select id from app_user where account_id = $1 limit 1")
        .bind(account_id)
        .fetch_optional(tx.conn())
        .await?)
}

/// A top-up lifts the block of a used-up quota whose plan prices overage: the usage beyond it
/// goes on, paid from the balance.
async fn resolve_after_topup(tx: &mut WriteTx, account_id: &str, now: i64) -> Result<()> {
    let exhausted = store::exhausted(tx, account_id).await?;
    if exhausted.is_empty() {
        return Ok(());
    }
    let Some(subscription) = crate::store::subscriptions::find_live(tx.conn(), account_id).await? else {
        return Ok(());
    };
    let Some(plan) = plans::get(tx.conn(), &subscription.plan_id).await? else { return Ok(()) };
    for (metric, period_start) in exhausted {
        let priced = metric
            .parse::<tariff_model::Metric>()
            .ok()
            .is_some_and(|m| plan.overage.as_ref().is_some_and(|o| o.get(&m).is_some_and(|p| *p > 0)));
        if priced && store::resolve_alert(tx, account_id, &metric, period_start, now).await? {
            let data = json!({ "metric": metric, "period_start": period_start, "reason": "top_up" });
            emit(tx, EventType::UsageThresholdResolved, account_id, Some(&subscription.user_id), data, now).await?;
        }
    }
    Ok(())
}

/// One addition to a quota counter: `used_before` → `used_after` of `limit` (`None`: unlimited).
#[derive(Clone, Copy, Debug)]
pub struct Counted<'a> {
    pub account_id: &'a str,
    pub user_id: &'a str,
    pub metric: &'a str,
    pub period_start: i64,
    pub period_end: i64,
    pub limit: Option<i64>,
    pub used_before: i64,
    pub used_after: i64,
    pub now: i64,
}

/// The thresholds (percent) an addition crosses: reached now and not before.
pub fn crossed(limit: i64, used_before: i64, used_after: i64) -> impl Iterator<Item = i64> {
    THRESHOLDS.into_iter().filter(move |t| {
        let mark = i128::from(limit) * i128::from(*t);
        limit > 0 && i128::from(used_before) * 100 < mark && i128::from(used_after) * 100 >= mark
    })
}

/// `usage.threshold` for each threshold the addition crosses, once per account, metric, period
/// and threshold, in `tx`.
///
/// # Errors
/// [`crate::Error::Database`].
pub async fn usage_counted(tx: &mut WriteTx, c: Counted<'_>) -> Result<()> {
    let Some(limit) = c.limit else { return Ok(()) };
    for threshold in crossed(limit, c.used_before, c.used_after) {
        if store::record_alert(tx, c.account_id, c.metric, c.period_start, threshold, c.now).await? {
            let data = json!({
                "metric": c.metric,
                "threshold": threshold,
                "limit": limit,
                "used": c.used_after,
                "period_start": c.period_start,
                "period_end": c.period_end,
            });
            emit(tx, EventType::UsageThreshold, c.account_id, Some(c.user_id), data, c.now).await?;
        }
    }
    Ok(())
}

/// `trial.will_end` for every trial that ends within [`TRIAL_NOTICE_SECONDS`] of `now`, and
/// `subscription.renewal_upcoming` for every yearly renewal within [`RENEWAL_NOTICE_SECONDS`],
/// that were not told yet; each is told once, across replicas (a conditional update marks it in
/// the event's transaction). Returns how many events were written.
///
/// # Errors
/// [`crate::Error::Database`].
pub async fn notify_upcoming(db: &Store, now: i64) -> Result<usize> {
    let trials = store::trials_ending(db.reader(), now, TRIAL_NOTICE_SECONDS).await?;
    let renewals = store::renewals_upcoming(db.reader(), now, RENEWAL_NOTICE_SECONDS).await?;
    let due = trials
        .into_iter()
        .map(|(id, at)| (EventType::TrialWillEnd, id, at))
        .chain(renewals.into_iter().map(|(id, at)| (EventType::RenewalUpcoming, id, at)));
    let mut sent = 0;
    for (event_type, subscription_id, at) in due {
        let mut tx = db.begin_write().await?;
        let marked = if event_type == EventType::TrialWillEnd {
            store::mark_trial_notice(&mut tx, &subscription_id, at).await?
        } else {
            store::mark_renewal_notice(&mut tx, &subscription_id, at).await?
        };
        if !marked {
            continue;
        }
        let Some(row) = crate::store::subscriptions::find_by_id(tx.conn(), &subscription_id).await? else { continue };
        let Some(plan) = plans::get(tx.conn(), &row.plan_id).await? else { continue };
        let data = serde_json::to_value(crate::subscriptions::to_model(row.clone(), plan))
            .map_err(|e| crate::Error::Internal(e.to_string()))?;
        emit(&mut tx, event_type, &row.account_id, Some(&row.user_id), data, now).await?;
        tx.commit().await?;
        sent += 1;
    }
    Ok(sent)
}
