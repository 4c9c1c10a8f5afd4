//! Recording one usage event and consuming it from the quota atomically (the hot path).

use super::{Allowance, group, parse_metric, standing_for_write, status};
use crate::organizations::caps;
use crate::store::balances::{self, Applied, Movement};
use crate::store::{Store, WriteTx, usage as store};
use crate::tokens::UserRef;
use crate::{Error, NoSubscriptionPolicy, Result};
use tariff_model::balance::{cost_micros, decimal_from_micros};
use tariff_model::org::SPEND_CAP;
use tariff_model::{BalanceReason, InvalidField, Message, Metric, Tracked, UsageEvent};

/// Longest accepted `model_id`, `chat_id` or `event_id`, in characters.
pub(crate) const MAX_REF_LEN: u32 = 200;
/// Largest accepted `metadata` of one event, in bytes of JSON.
pub const MAX_METADATA_BYTES: u32 = 4096;
/// Largest amount of one event, in the metric's unit; counters stay far from `i64::MAX`.
pub const MAX_EVENT_AMOUNT: i64 = 1_000_000_000_000;
/// The most one period's counter of a metric may hold, in the metric's unit, limited or not: a
/// counter never nears `i64::MAX`, and sums over many counters (reports) cannot overflow. An
/// event past it is refused like one past a quota (429, with this as the limit).
pub const MAX_COUNTER: i64 = 1_000_000_000_000_000;

/// Checks an event's amount, ids and metadata, naming fields under `prefix` (`events[3].`).
pub(crate) fn validate_event(event: &UsageEvent, prefix: &str, errors: &mut Vec<InvalidField>) {
    if event.amount <= 0 {
        errors.push(InvalidField::new(format!("{prefix}amount"), Message::PositiveWholeNumber));
    } else if event.amount > MAX_EVENT_AMOUNT {
        errors.push(InvalidField::new(format!("{prefix}amount"), Message::AmountTooLarge));
    }
    for (name, value) in [("model_id", &event.model_id), ("chat_id", &event.chat_id), ("event_id", &event.event_id)] {
        if value.as_ref().is_some_and(|v| v.is_empty() || v.chars().count() > MAX_REF_LEN as usize) {
            errors.push(InvalidField::new(format!("{prefix}{name}"), Message::ReferenceLength { max: MAX_REF_LEN }));
        }
    }
    if event.metadata.as_ref().is_some_and(|m| !m.is_object() && !m.is_null()) {
        errors.push(InvalidField::new(format!("{prefix}metadata"), Message::NotAnObject));
    } else if event.metadata.as_ref().is_some_and(|m| m.to_string().len() > MAX_METADATA_BYTES as usize) {
        errors.push(InvalidField::new(
            format!("{prefix}metadata"),
            Message::MetadataTooLarge { max_bytes: MAX_METADATA_BYTES },
        ));
    }
}

/// The row that records `event` for `user` in the period of allowance `a`. Ids are time-ordered
/// (UUIDv7) so inserts append to the primary-key index.
pub(crate) fn usage_row(user: &UserRef, metric: Metric, a: &Allowance, event: UsageEvent, now: i64) -> store::NewUsage {
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

/// Records one usage event for `user` and consumes its amount from the quota atomically.
///
/// # Errors
/// [`Error::NotFound`] for an unknown metric; [`Error::Validation`] for a non-positive amount or
/// oversized ids; [`Error::QuotaExceeded`] (429) when the amount does not fit and the plan has
/// no overage price for the metric — nothing is recorded then; with an overage price the units
/// beyond the quota are paid from the balance, and [`Error::InsufficientBalance`] (402) when it
/// cannot pay (nothing recorded); [`Error::MemberCapExceeded`] (429) when an organisation
/// member's own cap of the metric or of spending would be passed (nothing recorded);
/// [`Error::Forbidden`] under the `deny` policy; [`Error::Database`].
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
    // The common case commits together with concurrent consumes (see `group`); organisation
    // members, periods that must roll over first and pay-as-you-go overage take this path.
    let event = if user.membership.is_none() {
        match group::consume(db, group::Consume { user: user.clone(), metric, event, now }).await {
            group::Outcome::Tracked(tracked) => return Ok(tracked),
            group::Outcome::Refused(e) => return Err(e),
            group::Outcome::Single(event) => event,
        }
    } else {
        event
    };
    track_single(db, now, policy, user, metric, event).await
}

/// [`track`] for one event in a transaction of its own.
async fn track_single(
    db: &Store,
    now: i64,
    policy: NoSubscriptionPolicy,
    user: &UserRef,
    metric: Metric,
    event: UsageEvent,
) -> Result<Tracked> {
    let (a, _) = standing_for_write(db, now, policy, &user.account_id, metric).await?;
    let row = usage_row(user, metric, &a, event, now);
    let mut tx = db.begin_write().await?;
    let tracked = match record(&mut tx, user, &a, &row, now).await {
        Ok(tracked) => tracked,
        Err(e) => {
            tx.rollback().await?;
            super::count_if_refused(metric, &e);
            return Err(e);
        }
    };
    tx.commit().await?;
    super::count_decision(metric, tracked_decision(&tracked));
    Ok(tracked)
}

/// The `/metrics` decision of a recorded event.
pub(crate) fn tracked_decision(tracked: &Tracked) -> &'static str {
    match tracked {
        t if t.duplicate => "duplicate",
        t if t.overage_units > 0 => "balance",
        _ => "allowed",
    }
}

/// Records usage row `row` of `user` in allowance `a` and consumes it from the quota, in `tx`:
/// the single-event path of [`track`], also used by reservation commits. A repeated `event_id`
/// records nothing and answers the duplicate. Writes come first, so SQLite takes its write lock
/// at the first statement.
///
/// # Errors
/// As [`track`]; on an error the caller rolls `tx` back (it may hold some of the writes).
pub(crate) async fn record(
    tx: &mut WriteTx,
    user: &UserRef,
    a: &Allowance,
    row: &store::NewUsage,
    now: i64,
) -> Result<Tracked> {
    let metric = parse_metric(row.metric)?;
    let amount = row.amount;
    let dialect = tx.dialect();
    let inserted = store::insert_many(tx, dialect, std::slice::from_ref(row)).await?;
    if inserted.is_empty() {
        let used = store::used(tx.conn(), &user.account_id, metric.as_str(), a.period_start).await?;
        tracing::debug!(target: crate::LOG_TARGET, "Tracked nothing for user {}: event_id seen before, counted once", user.id);
        return Ok(Tracked {
            recorded: false,
            duplicate: true,
            usage: status(metric, 0, used, a),
            overage_units: 0,
            charged: 0.0,
            charged_micros: 0,
        });
    }
    // An organisation member's own cap first, in the same transaction as the pool's counter.
    caps::take(tx, user, metric.as_str(), (a.period_start, a.period_end), amount, now).await?;
    let bound = a.limit.map_or(MAX_COUNTER, |limit| limit.min(MAX_COUNTER));
    let consumed =
        store::consume(tx, &user.account_id, metric.as_str(), a.period_start, a.period_end, amount, Some(bound), now)
            .await?;
    let Some(used) = consumed else {
        if let (Some(price), Some(limit)) = (a.priced_overage(), a.limit.filter(|l| *l < MAX_COUNTER)) {
            return record_overage(tx, user, metric, a, row, limit, price, now).await;
        }
        let used = store::used(tx.conn(), &user.account_id, metric.as_str(), a.period_start).await?;
        let limit = bound;
        tracing::info!(
            target: crate::LOG_TARGET,
            metric = %metric, limit, current_usage = used, requested = amount, account_id = %user.account_id,
            "quota exceeded: {amount} {metric} refused for user {}: {used} of {limit} used", user.id
        );
        return Err(Error::QuotaExceeded {
            metric,
            limit,
            current_usage: used,
            remaining: (limit - used).max(0),
            requested: amount,
        });
    };
    a.counted(tx, &user.account_id, &user.id, metric.as_str(), used - amount, used, now).await?;
    tracing::debug!(target: crate::LOG_TARGET, account_id = %user.account_id, used, "Tracked {amount} {metric} for user {}", user.id);
    Ok(Tracked {
        recorded: true,
        duplicate: false,
        usage: status(metric, 0, used, a),
        overage_units: 0,
        charged: 0.0,
        charged_micros: 0,
    })
}

/// The over-quota path of [`record`] when the plan prices overage: counts the whole amount and
/// debits the units beyond `limit` from the balance, in `tx` (the usage row is inserted). The
/// counter's new value is read from the same atomic update, so concurrent events share the
/// excess exactly. A balance that cannot pay is a 402 (the caller rolls back).
#[allow(clippy::too_many_arguments)]
async fn record_overage(
    tx: &mut WriteTx,
    user: &UserRef,
    metric: Metric,
    a: &Allowance,
    row: &store::NewUsage,
    limit: i64,
    price_minor: i64,
    now: i64,
) -> Result<Tracked> {
    let amount = row.amount;
    let used =
        store::add(tx, &user.account_id, metric.as_str(), a.period_start, a.period_end, amount, MAX_COUNTER, now)
            .await?;
    a.counted(tx, &user.account_id, &user.id, metric.as_str(), used - amount, used, now).await?;
    let excess = amount.min(used - limit).max(0);
    let cost = cost_micros(price_minor, 1, excess, a.discount_percent)
        .ok_or_else(|| Error::invalid("amount", Message::AmountTooLarge))?;
    if cost > 0 {
        caps::take(tx, user, SPEND_CAP, (a.period_start, a.period_end), cost, now).await?;
        let movement = Movement {
            account_id: &user.account_id,
            delta_micros: -cost,
            reason: BalanceReason::Charge,
            reference: Some(&row.id),
            actor: Some(&user.id),
            description: Some(metric.as_str()),
            now,
        };
        match balances::apply(tx, &movement).await? {
            Applied::Moved { .. } => store::set_charged(tx, &row.id, cost).await?,
            Applied::Insufficient { balance_micros, currency } => {
                tracing::info!(
                    target: crate::LOG_TARGET, metric = %metric, required_micros = cost, balance_micros,
                    "overage refused for user {}: {excess} {metric} beyond the quota, balance too low", user.id
                );
                return Err(Error::InsufficientBalance {
                    required_micros: cost,
                    balance_micros,
                    currency,
                    feature: None,
                });
            }
            Applied::Duplicate | Applied::TooLarge => {
                return Err(Error::Internal("a new usage row was charged before".into()));
            }
        }
    }
    tracing::debug!(target: crate::LOG_TARGET, account_id = %user.account_id, used, excess, cost_micros = cost, "Tracked {amount} {metric} for user {} ({excess} beyond the quota, paid from the balance)", user.id);
    Ok(Tracked {
        recorded: true,
        duplicate: false,
        usage: status(metric, 0, used, a),
        overage_units: excess,
        charged: decimal_from_micros(cost),
        charged_micros: cost,
    })
}
