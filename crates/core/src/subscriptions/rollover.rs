//! The rollover: what happens to a live subscription at `current_period_end`.
//! - a downgrade scheduled for the period's end (`pending_plan_id`) switches the plan first;
//! - a trial with a saved card waits for its first charge (`payments::renewals`), a day at most;
//! - `cancel_at_period_end` or a trial that ended → `canceled`, and the account falls back to the
//!   `free` plan (active or not) from the moment it ended;
//! - the `free` plan renews itself (straight to the period containing now), whatever flags it
//!   carries: it is the floor and cannot be canceled; so does any other plan priced 0 that is not
//!   being canceled;
//! - a paid plan without a renewal payment → `past_due`; after [`DUNNING_GRACE_SECONDS`] (plus a
//!   day when a saved card is being retried) → `canceled`, and the account falls back to free.
//!
//! Paused subscriptions do not move.
//!
//! [`step`] decides one transition without touching the store. [`project`] applies the due steps
//! in memory (reads); [`rollover`] stores them, each as one conditional update (`where
//! updated_at = old and status = old`), so concurrent rollovers apply each step once. The free
//! subscription a fallback creates has an id derived from the one that ended, so the projection
//! and the stored row agree.

use super::{DUNNING_GRACE_SECONDS, insert, new_row, plan_of};
use crate::Result;
use crate::periods::period_containing;
use crate::plans::FREE_PLAN_ID;
use crate::store::subscriptions::{self as store, SubscriptionRow};
use crate::store::{Store, plans};
use tariff_model::{Plan, SubscriptionStatus};

/// At most this many transitions are applied in one go (cancel → free → renew needs three).
const MAX_STEPS: usize = 8;

/// How long a trial with a saved card waits at its end for the first charge's answer before it
/// ends without one (the gateway never answered), in seconds.
pub const TRIAL_CHARGE_WAIT_SECONDS: i64 = 86_400;

/// Namespace of the ids of fallback subscriptions (UUIDv5 of the ended subscription's id).
const FALLBACK_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5f1c_0c5e_7a1f_4d2b_9b7e_2c3f_0a6d_e001);

/// One due transition of a subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    /// The subscription's next state.
    pub next: SubscriptionRow,
    /// When it ended and the account falls back to the free plan: the fallback's start.
    pub fall_back_from: Option<i64>,
}

/// The transition due for `current` (on `plan`) at `now`, if any.
pub(crate) fn step(current: &SubscriptionRow, plan: &Plan, now: i64) -> Option<Step> {
    if current.current_period_end > now || current.status == SubscriptionStatus::Paused {
        return None;
    }
    let end = current.current_period_end;
    let mut next = current.clone();
    next.updated_at = now.max(current.updated_at + 1);
    let mut fall_back_from = None;
    if let (Some(pending), Some(at)) = (&current.pending_plan_id, current.pending_change_at)
        && at <= now
        && !current.cancel_at_period_end
        && current.status != SubscriptionStatus::Trialing
    {
        // A scheduled downgrade: the plan switches where the period ended; the next steps renew
        // it on the new plan (the free plan renews itself, a paid one waits for its charge).
        next.plan_id = pending.clone();
        next.pending_plan_id = None;
        next.pending_change_at = None;
        next.billing_anchor = Some(end);
        return Some(Step { next, fall_back_from });
    }
    if current.status == SubscriptionStatus::Trialing
        && !current.cancel_at_period_end
        && current.payment_method_id.is_some()
        && !plan.is_free()
        && now < end + TRIAL_CHARGE_WAIT_SECONDS
    {
        // A trial with a saved card ends when its first charge is answered (see
        // `payments::renewals`); this waits, with a backstop for a gateway that never answers.
        return None;
    }
    if (current.cancel_at_period_end || current.status == SubscriptionStatus::Trialing) && plan.id != FREE_PLAN_ID {
        next.status = SubscriptionStatus::Canceled;
        next.canceled_at = Some(end);
        fall_back_from = Some(end);
    } else if plan.is_free() {
        let anchor = current.billing_anchor.unwrap_or(current.current_period_start);
        let (start, new_end) = period_containing(anchor, plan.interval, now);
        next.status = SubscriptionStatus::Active;
        next.current_period_start = start;
        next.current_period_end = new_end;
        next.cancel_at_period_end = false;
        next.trial_end = None;
    } else if current.status == SubscriptionStatus::PastDue {
        // With a saved card the dunning charges decide (see `payments::renewals`); this is the
        // backstop a day after the last retry, e.g. when YooKassa is unreachable.
        let grace = DUNNING_GRACE_SECONDS + if current.payment_method_id.is_some() { 86_400 } else { 0 };
        if now < end + grace {
            return None;
        }
        next.status = SubscriptionStatus::Canceled;
        next.canceled_at = Some(end + grace);
        fall_back_from = Some(end + grace);
    } else {
        next.status = SubscriptionStatus::PastDue;
    }
    Some(Step { next, fall_back_from })
}

/// The free subscription an ended one falls back to, starting at `start`.
fn fallback_row(ended: &SubscriptionRow, free: &Plan, start: i64, now: i64) -> SubscriptionRow {
    let mut row = new_row(&ended.user_id, &ended.account_id, free, start, now);
    row.id = uuid::Uuid::new_v5(&FALLBACK_NAMESPACE, ended.id.as_bytes()).to_string();
    row.created_at = now;
    row
}

/// `row` (on `plan`) as it stands at `now`, with every due transition applied in memory; `None`
/// when it ended without a free plan to fall back to.
///
/// # Errors
/// [`Error::Database`].
pub(crate) async fn project(
    db: &Store,
    mut row: SubscriptionRow,
    mut plan: Plan,
    now: i64,
) -> Result<Option<(SubscriptionRow, Plan)>> {
    for _ in 0..MAX_STEPS {
        let Some(step) = step(&row, &plan, now) else {
            return Ok(Some((row, plan)));
        };
        if step.next.status.is_live() {
            if step.next.plan_id != plan.id {
                plan = plans::get(db.reader(), &step.next.plan_id).await?.ok_or_else(|| {
                    crate::Error::Internal(format!("subscription {} names a missing plan", step.next.id))
                })?;
            }
            row = step.next;
            continue;
        }
        let free = match step.fall_back_from {
            Some(_) => plans::get(db.reader(), FREE_PLAN_ID).await?,
            None => None,
        };
        match (free, step.fall_back_from) {
            (Some(free), Some(start)) => {
                row = fallback_row(&row, &free, start, now);
                plan = free;
            }
            _ => return Ok(None),
        }
    }
    Ok(Some((row, plan)))
}

/// Stores every transition that is due for the account at `now` (see the module docs).
/// Safe to call concurrently and repeatedly.
///
/// # Errors
/// [`Error::Database`]; [`Error::Internal`] when a subscription names a missing plan.
pub async fn rollover(db: &Store, now: i64, account_id: &str) -> Result<()> {
    for _ in 0..MAX_STEPS {
        let Some(current) = store::find_live(db.reader(), account_id).await? else {
            return Ok(());
        };
        let plan = plan_of(db, &current).await?;
        let Some(step) = step(&current, &plan, now) else {
            return Ok(());
        };
        let mut tx = db.begin_write().await?;
        if super::update(&mut tx, &step.next, &current).await? {
            if let Some(start) = step.fall_back_from
                && let Some(free) = plans::get(tx.conn(), FREE_PLAN_ID).await?
            {
                // The free period starts where the old one ended; the next pass renews it up to now.
                insert(&mut tx, &fallback_row(&current, &free, start, now)).await?;
            }
            tx.commit().await?;
        }
        // Lost a race: another caller applied this step; look again.
    }
    Ok(())
}

/// Whether a stored subscription has a transition due at `now` (writers call [`rollover`] first).
pub(crate) fn is_due(row: &SubscriptionRow, now: i64) -> bool {
    row.current_period_end <= now && row.status != SubscriptionStatus::Paused
}

/// Runs [`rollover`] for every account whose period has ended, in batches. Returns how many
/// accounts it visited. Called by the periodic job.
///
/// # Errors
/// [`Error::Database`].
pub async fn rollover_due(db: &Store, now: i64) -> Result<usize> {
    let accounts = store::due_for_rollover(db.reader(), now, 500).await?;
    let mut visited = 0;
    for account_id in accounts {
        if let Err(e) = rollover(db, now, &account_id).await {
            tracing::warn!(target: crate::LOG_TARGET, error = %e, %account_id, "subscription rollover failed; will retry");
        }
        visited += 1;
    }
    Ok(visited)
}

/// Stores the due transitions of `account_id` if its live subscription has any (the write paths'
/// first step).
///
/// # Errors
/// As [`rollover`].
pub async fn rollover_if_due(db: &Store, now: i64, account_id: &str) -> Result<()> {
    match store::find_live(db.reader(), account_id).await? {
        Some(row) if is_due(&row, now) => rollover(db, now, account_id).await,
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tariff_model::{Currency, Interval};

    fn plan(price_minor: i64) -> Plan {
        let mut plan = Plan::blank(0);
        plan.id = if price_minor == 0 { "free".into() } else { "pro".into() };
        plan.set_price_minor(price_minor);
        plan.currency = Currency::Rub;
        plan.interval = Interval::Month;
        plan
    }

    fn row(status: SubscriptionStatus, end: i64) -> SubscriptionRow {
        SubscriptionRow {
            id: "s1".into(),
            user_id: "u".into(),
            account_id: "a".into(),
            plan_id: "pro".into(),
            status,
            yookassa_payment_id: None,
            yookassa_subscription_id: None,
            payment_method_id: None,
            current_period_start: 0,
            current_period_end: end,
            cancel_at_period_end: false,
            trial_end: None,
            canceled_at: None,
            billing_anchor: Some(0),
            pending_plan_id: None,
            pending_change_at: None,
            paused_at: None,
            extra_metadata: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn nothing_is_due_before_the_period_ends_or_while_paused() {
        assert_eq!(step(&row(SubscriptionStatus::Active, 100), &plan(99_000), 99), None);
        assert_eq!(step(&row(SubscriptionStatus::Paused, 100), &plan(99_000), 1_000), None);
    }

    #[test]
    fn an_unpaid_period_goes_past_due_then_canceled_after_the_grace() {
        let due = step(&row(SubscriptionStatus::Active, 100), &plan(99_000), 100).unwrap();
        assert_eq!(due.next.status, SubscriptionStatus::PastDue);
        let past_due = row(SubscriptionStatus::PastDue, 100);
        assert_eq!(step(&past_due, &plan(99_000), 100 + DUNNING_GRACE_SECONDS - 1), None);
        let ended = step(&past_due, &plan(99_000), 100 + DUNNING_GRACE_SECONDS).unwrap();
        assert_eq!(ended.next.status, SubscriptionStatus::Canceled);
        assert_eq!(ended.fall_back_from, Some(100 + DUNNING_GRACE_SECONDS));
    }

    #[test]
    fn a_free_plan_renews_to_the_period_containing_now() {
        let mut free_row = row(SubscriptionStatus::Active, 31 * 86_400);
        free_row.plan_id = "free".into();
        let renewed = step(&free_row, &plan(0), 70 * 86_400).unwrap();
        assert_eq!(renewed.next.status, SubscriptionStatus::Active);
        assert!(renewed.next.current_period_start <= 70 * 86_400 && renewed.next.current_period_end > 70 * 86_400);
        assert_eq!(renewed.fall_back_from, None);
    }

    #[test]
    fn a_scheduled_downgrade_switches_the_plan_where_the_period_ended() {
        let mut pro = row(SubscriptionStatus::Active, 100);
        pro.pending_plan_id = Some("starter".into());
        pro.pending_change_at = Some(100);
        assert_eq!(step(&pro, &plan(99_000), 99), None);
        let switched = step(&pro, &plan(99_000), 150).unwrap();
        assert_eq!(switched.next.plan_id, "starter");
        assert_eq!(switched.next.pending_plan_id, None);
        assert_eq!(switched.next.billing_anchor, Some(100));
        assert_eq!(switched.next.status, SubscriptionStatus::Active);
    }

    #[test]
    fn a_trial_with_a_card_waits_for_its_charge_and_one_without_ends() {
        let mut trial = row(SubscriptionStatus::Trialing, 100);
        assert_eq!(step(&trial, &plan(99_000), 100).unwrap().next.status, SubscriptionStatus::Canceled);
        trial.payment_method_id = Some("pm".into());
        assert_eq!(step(&trial, &plan(99_000), 100), None);
        let late = step(&trial, &plan(99_000), 100 + TRIAL_CHARGE_WAIT_SECONDS).unwrap();
        assert_eq!(late.next.status, SubscriptionStatus::Canceled);
    }

    #[test]
    fn the_fallback_id_is_derived_from_the_ended_subscription() {
        let ended = row(SubscriptionStatus::Canceled, 100);
        let a = fallback_row(&ended, &plan(0), 100, 200);
        let b = fallback_row(&ended, &plan(0), 100, 300);
        assert_eq!(a.id, b.id);
        assert_ne!(a.id, ended.id);
    }
}
