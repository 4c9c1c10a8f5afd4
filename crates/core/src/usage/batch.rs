//! Recording a batch of usage that already happened (service tokens).

use super::track::{usage_row, validate_event};
use super::{Allowance, allowance};
use crate::store::WriteTx;
use crate::store::balances::{self, Applied, Movement};
use crate::store::{Store, usage as store};
use crate::subscriptions::{self, rollover_if_due};
use crate::tokens::{Principal, UserRef};
use crate::{Error, NoSubscriptionPolicy, Result};
use std::collections::{BTreeMap, HashMap, HashSet};
use tariff_model::balance::cost_micros;
use tariff_model::{BalanceReason, BatchOutcome, InvalidField, Message, Metric, Subscription, UsageEvent};

/// Charges the overage of usage that already happened: the balance pays what it can (one
/// conditional debit), the rest is added to what the account owes (settled by its next top-up).
async fn charge_overage(
    tx: &mut WriteTx,
    account_id: &str,
    metric: &str,
    excess: i64,
    cost: i64,
    now: i64,
) -> Result<()> {
    let reference = uuid::Uuid::now_v7().to_string();
    let description = format!("{excess} {metric} beyond the quota (batch)");
    let mut paid = 0;
    for _ in 0..3 {
        let balance = balances::get(tx.conn(), account_id).await?.map_or(0, |b| b.balance_micros);
        let pay = cost.min(balance);
        if pay == 0 {
            break;
        }
        let movement = Movement {
            account_id,
            delta_micros: -pay,
            reason: BalanceReason::Charge,
            reference: Some(&reference),
            actor: Some("system"),
            description: Some(&description),
            now,
        };
        if let Applied::Moved { .. } = balances::apply(tx, &movement).await? {
            paid = pay;
            break;
        }
    }
    if cost > paid {
        balances::add_owed(tx, account_id, cost - paid, now).await?;
        tracing::info!(target: crate::LOG_TARGET, account_id, owed_micros = cost - paid, "batch overage of {metric} not covered by the balance; recorded as owed");
    }
    Ok(())
}

/// Largest number of events one batch may carry.
pub const MAX_BATCH_EVENTS: usize = 1_000;

/// Records up to [`MAX_BATCH_EVENTS`] events, validated as a whole: one bad event rejects the
/// batch and records nothing. Events are usage that already happened, so they are counted even
/// past a quota (later `track` and `check` calls then see the quota exhausted); where the plan
/// prices overage, the excess is charged to the balance as far as it goes and the shortfall is
/// recorded as owed (settled first by the next top-up). Idempotent per
/// `event_id`. Events without `user_id` belong to the principal's user.
///
/// # Errors
/// [`Error::Forbidden`] unless `principal` may send batches (service or admin tokens);
/// [`Error::Validation`] naming `events[i].field` (unknown metric, non-positive amount, unknown
/// user) or `events` (none, or more than 1,000); [`Error::Database`].
pub async fn record_batch(
    db: &Store,
    now: i64,
    policy: NoSubscriptionPolicy,
    principal: &Principal,
    events: Vec<UsageEvent>,
) -> Result<BatchOutcome> {
    principal.require_service()?;
    let default_user = &principal.user;
    if events.is_empty() {
        return Err(Error::invalid("events", Message::BatchEmpty));
    }
    if events.len() > MAX_BATCH_EVENTS {
        return Err(Error::invalid("events", Message::BatchTooLarge { max: MAX_BATCH_EVENTS as u32 }));
    }
    let mut errors = Vec::new();
    let mut metrics = Vec::with_capacity(events.len());
    for (i, event) in events.iter().enumerate() {
        let prefix = format!("events[{i}].");
        match event.metric.parse::<Metric>() {
            Ok(m) => metrics.push(m),
            Err(_) => {
                errors.push(InvalidField::new(
                    format!("{prefix}metric"),
                    Message::UnknownMetric { value: event.metric.clone() },
                ));
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
                rollover_if_due(db, now, &user.account_id).await?;
                let subscription = subscriptions::current(db, now, &user.account_id).await?;
                users.insert(id, (user, subscription));
            }
            Err(Error::NotFound { .. }) => {
                errors.push(InvalidField::new(format!("events[{i}].user_id"), Message::UnknownUser))
            }
            Err(e) => return Err(e),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }

    let mut rows = Vec::with_capacity(events.len());
    // The allowance of each account and metric: what past the quota costs.
    let mut allowances: HashMap<(String, &'static str), Allowance> = HashMap::new();
    for (event, metric) in events.into_iter().zip(metrics) {
        let id = event.user_id.clone().unwrap_or_else(|| default_user.id.clone());
        let (user, subscription) = &users[&id];
        let a = allowance(subscription.as_ref(), metric, policy, now)?;
        rows.push(usage_row(user, metric, &a, event, now));
        allowances.insert((user.account_id.clone(), metric.as_str()), a);
    }

    let mut tx = db.begin_write().await?;
    let mut inserted = HashSet::new();
    for chunk in rows.chunks(500) {
        inserted.extend(store::insert_many(&mut tx, db.dialect(), chunk).await?);
    }
    let mut sums: BTreeMap<(String, &'static str, i64), (i64, i64)> = BTreeMap::new();
    for row in rows.iter().filter(|r| inserted.contains(&r.id)) {
        tracing::debug!(target: crate::LOG_TARGET, "Tracked {} {} for user {} (batch)", row.amount, row.metric, row.user_id);
        let entry = sums.entry((row.account_id.clone(), row.metric, row.period_start)).or_insert((row.period_end, 0));
        entry.1 = entry.1.saturating_add(row.amount).min(super::track::MAX_COUNTER);
    }
    for ((account_id, metric, period_start), (period_end, amount)) in &sums {
        let used = store::add(
            &mut tx,
            account_id,
            metric,
            *period_start,
            *period_end,
            *amount,
            super::track::MAX_COUNTER,
            now,
        )
        .await?;
        if let Some(a) = allowances.get(&(account_id.clone(), *metric))
            && let Some(row) = rows.iter().find(|r| &r.account_id == account_id && r.metric == *metric)
        {
            a.counted(&mut tx, account_id, &row.user_id, metric, used.saturating_sub(*amount), used, now).await?;
        }
        if let Some(a) = allowances.get(&(account_id.clone(), *metric))
            && let (Some(price), Some(limit)) = (a.priced_overage(), a.limit)
        {
            let excess = (*amount).min(used - limit).max(0);
            let cost = cost_micros(price, 1, excess, a.discount_percent).unwrap_or(0);
            if cost > 0 {
                charge_overage(&mut tx, account_id, metric, excess, cost, now).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(BatchOutcome { accepted: inserted.len(), duplicates: rows.len() - inserted.len() })
}
