//! Subscription rules (DESIGN.md "Business rules"): create (trial when the plan has trial days),
//! renew, switch plan, cancel now or at period end, and the rollover that moves periods on time.
//!
//! Rollover runs on access (every read of an account's subscription) and from the periodic job,
//! both reading the injectable clock. At `current_period_end`:
//! - `cancel_at_period_end` → `canceled`; the account falls back to the active `free` plan;
//! - a free plan renews itself (straight to the period containing now);
//! - a trial without a charged payment method → `canceled` (charging comes with YooKassa);
//! - a paid plan without a renewal payment → `past_due`; after [`DUNNING_GRACE_SECONDS`] → `canceled`.
//!
//! Every transition is one conditional update (`where updated_at = old and status = old`), so
//! concurrent rollovers apply each step once.

use super::audit::{self, Actor};
use super::periods::{add_intervals, period_containing};
use super::tokens::UserRef;
use crate::model::{Plan, Subscription, SubscriptionStatus};
use crate::server::error::{Error, Result};
use crate::server::store::subscriptions::{self as store, SubscriberRow, SubscriptionRow};
use crate::server::store::{Store, WriteTx, plans};

/// The plan every new account starts on, when it exists and is active.
pub const FREE_PLAN_ID: &str = "free";
/// How long a paid subscription stays `past_due` (usage allowed) before it is canceled: the last
/// of the dunning retries after 1, 3 and 5 days.
pub const DUNNING_GRACE_SECONDS: i64 = 5 * 86_400;

fn to_model(row: SubscriptionRow, plan: Plan) -> Subscription {
    Subscription {
        status: SubscriptionStatus::parse(&row.status).unwrap_or(SubscriptionStatus::Canceled),
        extra_metadata: row.extra_metadata.as_deref().and_then(|t| serde_json::from_str(t).ok()),
        id: row.id,
        user_id: row.user_id,
        account_id: row.account_id,
        plan_id: row.plan_id,
        yookassa_payment_id: row.yookassa_payment_id,
        yookassa_subscription_id: row.yookassa_subscription_id,
        current_period_start: row.current_period_start,
        current_period_end: row.current_period_end,
        cancel_at_period_end: row.cancel_at_period_end,
        trial_end: row.trial_end,
        canceled_at: row.canceled_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
        plan,
    }
}

/// A new subscription row of `user` to `plan` starting at `start`: `trialing` until the trial
/// ends when the plan has trial days, else `active` for one interval.
fn new_row(user_id: &str, account_id: &str, plan: &Plan, start: i64, now: i64) -> SubscriptionRow {
    let (status, end, trial_end) = if plan.trial_days > 0 {
        let trial_end = start + plan.trial_days * 86_400;
        ("trialing", trial_end, Some(trial_end))
    } else {
        ("active", add_intervals(start, plan.interval, 1), None)
    };
    SubscriptionRow {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user_id.to_owned(),
        account_id: account_id.to_owned(),
        plan_id: plan.id.clone(),
        status: status.to_owned(),
        yookassa_payment_id: None,
        yookassa_subscription_id: None,
        payment_method_id: None,
        current_period_start: start,
        current_period_end: end,
        cancel_at_period_end: false,
        trial_end,
        canceled_at: None,
        billing_anchor: Some(start),
        extra_metadata: None,
        created_at: now,
        updated_at: now,
    }
}

/// Inserts a subscription inside `tx`; a second live subscription of the account is a conflict.
async fn insert(tx: &mut WriteTx, row: &SubscriptionRow) -> Result<()> {
    match store::insert(&mut **tx, row).await {
        Ok(()) => Ok(()),
        Err(e) if crate::server::store::is_unique_violation(&e, "billing_subscription_live_key") => {
            Err(Error::Conflict("the account already has a live subscription".into()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Puts a new account on the active `free` plan, inside the sign-up transaction.
/// Does nothing when there is no active `free` plan.
///
/// # Errors
/// [`Error::Database`].
pub async fn start_free_plan(tx: &mut WriteTx, user_id: &str, account_id: &str, now: i64) -> Result<bool> {
    match plans::get(&mut **tx, FREE_PLAN_ID).await? {
        Some(plan) if plan.is_active => {
            insert(tx, &new_row(user_id, account_id, &plan, now, now)).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Creates a subscription of `user` to `plan` now (trialing when the plan has trial days).
///
/// # Errors
/// [`Error::Conflict`] when the account already has a live subscription; [`Error::Database`].
pub async fn create(db: &Store, now: i64, user: &UserRef, plan: &Plan) -> Result<Subscription> {
    let row = new_row(&user.id, &user.account_id, plan, now, now);
    let mut tx = db.begin_write().await?;
    insert(&mut tx, &row).await?;
    tx.commit().await?;
    Ok(to_model(row, plan.clone()))
}

/// Extends a live subscription by one period from its current end (a paid renewal), making it
/// `active` and clearing a pending cancellation is left to the caller. Returns the new period end.
///
/// # Errors
/// [`Error::NotFound`] without a live subscription; [`Error::Conflict`] when it changed
/// concurrently; [`Error::Database`].
pub async fn renew(db: &Store, now: i64, account_id: &str) -> Result<Subscription> {
    let mut tx = db.begin_write().await?;
    let current =
        store::find_live(&mut *tx, account_id).await?.ok_or_else(|| Error::not_found("subscription", account_id))?;
    let plan =
        plans::get(&mut *tx, &current.plan_id).await?.ok_or_else(|| Error::not_found("plan", &current.plan_id))?;
    let anchor = current.billing_anchor.unwrap_or(current.current_period_start);
    let mut next = current.clone();
    next.status = "active".into();
    next.current_period_start = current.current_period_end;
    next.current_period_end = period_containing(anchor, plan.interval, current.current_period_end).1;
    next.trial_end = None;
    next.updated_at = now.max(current.updated_at + 1);
    if !store::update_if_unchanged(&mut *tx, &next, current.updated_at, &current.status).await? {
        return Err(Error::Conflict("the subscription changed while renewing; try again".into()));
    }
    tx.commit().await?;
    Ok(to_model(next, plan))
}

/// Moves the account's live subscription to `plan` at once (a new period starts now), or creates
/// one. Used by upgrades and by the admin "assign or comp a plan" route.
async fn switch_or_create(
    tx: &mut WriteTx,
    now: i64,
    user: &UserRef,
    plan: &Plan,
) -> Result<(Option<SubscriptionRow>, SubscriptionRow)> {
    match store::find_live(&mut **tx, &user.account_id).await? {
        Some(current) => {
            let fresh = new_row(&current.user_id, &current.account_id, plan, now, now);
            let mut next = current.clone();
            next.plan_id = plan.id.clone();
            next.status = fresh.status;
            next.current_period_start = now;
            next.current_period_end = fresh.current_period_end;
            next.trial_end = fresh.trial_end;
            next.billing_anchor = Some(now);
            next.cancel_at_period_end = false;
            next.canceled_at = None;
            next.updated_at = now.max(current.updated_at + 1);
            if !store::update_if_unchanged(&mut **tx, &next, current.updated_at, &current.status).await? {
                return Err(Error::Conflict("the subscription changed concurrently; try again".into()));
            }
            Ok((Some(current), next))
        }
        None => {
            let row = new_row(&user.id, &user.account_id, plan, now, now);
            insert(tx, &row).await?;
            Ok((None, row))
        }
    }
}

/// Admin: puts `user` on `plan` now, whether or not they pay (assign or comp), audited as
/// `subscription.assign`. Inactive plans may be assigned (for private deals).
///
/// # Errors
/// [`Error::NotFound`] for an unknown plan; [`Error::Conflict`]; [`Error::Database`].
pub async fn assign(db: &Store, now: i64, actor: &Actor, user: &UserRef, plan_id: &str) -> Result<Subscription> {
    let mut tx = db.begin_write().await?;
    let plan = plans::get(&mut *tx, plan_id).await?.ok_or_else(|| Error::not_found("plan", plan_id))?;
    let (before, after) = switch_or_create(&mut tx, now, user, &plan).await?;
    let before_json = before.as_ref().map(
        |b| serde_json::json!({"plan_id": b.plan_id, "status": b.status, "current_period_end": b.current_period_end}),
    );
    let after_json = serde_json::json!({"plan_id": after.plan_id, "status": after.status, "current_period_end": after.current_period_end});
    let description = format!("User {} assigned to plan {plan_id}", user.email);
    audit::record(
        &mut *tx,
        actor,
        "subscription.assign",
        "subscription",
        &after.id,
        description,
        audit::diff(before_json.as_ref(), &after_json),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(to_model(after, plan))
}

/// The account's live subscription with its plan, after applying any due rollover.
///
/// # Errors
/// [`Error::Database`].
pub async fn current(db: &Store, now: i64, account_id: &str) -> Result<Option<Subscription>> {
    let mut row = store::find_live(db.pool(), account_id).await?;
    if row.as_ref().is_some_and(|r| r.current_period_end <= now && r.status != "paused") {
        rollover(db, now, account_id).await?;
        row = store::find_live(db.pool(), account_id).await?;
    }
    let Some(row) = row else {
        return Ok(None);
    };
    let plan = plans::get(db.pool(), &row.plan_id)
        .await?
        .ok_or_else(|| Error::Internal(format!("subscription {} names a missing plan", row.id)))?;
    Ok(Some(to_model(row, plan)))
}

/// Cancels the account's live subscription: `immediate` ends it now (status `canceled`, and a
/// paid plan falls back to `free`); otherwise it ends at `current_period_end`.
///
/// # Errors
/// [`Error::NotFound`] without a live subscription; [`Error::Conflict`]; [`Error::Database`].
pub async fn cancel(db: &Store, now: i64, account_id: &str, immediate: bool) -> Result<Subscription> {
    rollover(db, now, account_id).await?;
    let mut tx = db.begin_write().await?;
    let current =
        store::find_live(&mut *tx, account_id).await?.ok_or_else(|| Error::not_found("subscription", account_id))?;
    let plan =
        plans::get(&mut *tx, &current.plan_id).await?.ok_or_else(|| Error::not_found("plan", &current.plan_id))?;
    let mut next = current.clone();
    next.updated_at = now.max(current.updated_at + 1);
    if immediate {
        next.status = "canceled".into();
        next.canceled_at = Some(now);
        next.current_period_end = now.max(current.current_period_start);
        next.cancel_at_period_end = false;
    } else {
        next.cancel_at_period_end = true;
    }
    if !store::update_if_unchanged(&mut *tx, &next, current.updated_at, &current.status).await? {
        return Err(Error::Conflict("the subscription changed concurrently; try again".into()));
    }
    if immediate && !plan.is_free() {
        start_free_plan(&mut tx, &current.user_id, account_id, now).await?;
    }
    tx.commit().await?;
    Ok(to_model(next, plan))
}

/// Withdraws a pending cancellation (`cancel_at_period_end` back to false).
///
/// # Errors
/// [`Error::NotFound`] without a live subscription; [`Error::Conflict`]; [`Error::Database`].
pub async fn resume(db: &Store, now: i64, account_id: &str) -> Result<Subscription> {
    rollover(db, now, account_id).await?;
    let mut tx = db.begin_write().await?;
    let current =
        store::find_live(&mut *tx, account_id).await?.ok_or_else(|| Error::not_found("subscription", account_id))?;
    let plan =
        plans::get(&mut *tx, &current.plan_id).await?.ok_or_else(|| Error::not_found("plan", &current.plan_id))?;
    let mut next = current.clone();
    next.cancel_at_period_end = false;
    next.updated_at = now.max(current.updated_at + 1);
    if !store::update_if_unchanged(&mut *tx, &next, current.updated_at, &current.status).await? {
        return Err(Error::Conflict("the subscription changed concurrently; try again".into()));
    }
    tx.commit().await?;
    Ok(to_model(next, plan))
}

/// Applies every transition that is due for the account at `now` (see the module docs).
/// Safe to call concurrently and repeatedly.
///
/// # Errors
/// [`Error::Database`].
pub async fn rollover(db: &Store, now: i64, account_id: &str) -> Result<()> {
    // Each pass applies one transition; a handful covers cancel → free → renew.
    for _ in 0..8 {
        let Some(current) = store::find_live(db.pool(), account_id).await? else {
            return Ok(());
        };
        if current.current_period_end > now || current.status == "paused" {
            return Ok(());
        }
        let mut tx = db.begin_write().await?;
        let Some(plan) = plans::get(&mut *tx, &current.plan_id).await? else {
            return Err(Error::Internal(format!("subscription {} names a missing plan", current.id)));
        };
        let end = current.current_period_end;
        let mut next = current.clone();
        next.updated_at = now.max(current.updated_at + 1);
        let mut fall_back_to_free = false;
        if current.cancel_at_period_end || current.status == "trialing" {
            next.status = "canceled".into();
            next.canceled_at = Some(end);
            fall_back_to_free = !plan.is_free();
        } else if plan.is_free() {
            let anchor = current.billing_anchor.unwrap_or(current.current_period_start);
            let (start, new_end) = period_containing(anchor, plan.interval, now);
            next.status = "active".into();
            next.current_period_start = start;
            next.current_period_end = new_end;
        } else if current.status == "past_due" {
            // With a saved card the dunning charges decide (see `payments::charge_due_renewals`);
            // this is the backstop a day after the last retry, e.g. when YooKassa is unreachable.
            let grace = DUNNING_GRACE_SECONDS + if current.payment_method_id.is_some() { 86_400 } else { 0 };
            if now < end + grace {
                return Ok(());
            }
            next.status = "canceled".into();
            next.canceled_at = Some(end + grace);
            fall_back_to_free = true;
        } else {
            next.status = "past_due".into();
        }
        if store::update_if_unchanged(&mut *tx, &next, current.updated_at, &current.status).await? {
            if fall_back_to_free {
                // The free period starts where the old one ended; the next pass renews it up to now.
                if let Some(free) = plans::get(&mut *tx, FREE_PLAN_ID).await?.filter(|p| p.is_active) {
                    let start = next.canceled_at.unwrap_or(end);
                    let mut row = new_row(&current.user_id, account_id, &free, start, now);
                    row.created_at = now;
                    insert(&mut tx, &row).await?;
                }
            }
            tx.commit().await?;
        }
        // Lost a race: another caller applied this step; look again.
    }
    Ok(())
}

/// Runs [`rollover`] for every account whose period has ended, in batches. Returns how many
/// accounts it visited. Called by the periodic job.
///
/// # Errors
/// [`Error::Database`].
pub async fn rollover_due(db: &Store, now: i64) -> Result<usize> {
    let accounts = store::due_for_rollover(db.pool(), now, 500).await?;
    let mut visited = 0;
    for account_id in accounts {
        if let Err(e) = rollover(db, now, &account_id).await {
            tracing::warn!(error = %e, %account_id, "subscription rollover failed; will retry");
        }
        visited += 1;
    }
    Ok(visited)
}

/// A page of a plan's subscribers with email and name, newest first, optionally of one status
/// and only those whose email contains `email_contains`.
///
/// # Errors
/// [`Error::NotFound`] for an unknown plan; [`Error::Validation`] for an unknown status;
/// [`Error::Database`].
pub async fn plan_subscribers(
    db: &Store,
    plan_id: &str,
    status: Option<&str>,
    email_contains: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<SubscriberRow>, i64)> {
    if plans::get(db.pool(), plan_id).await?.is_none() {
        return Err(Error::not_found("plan", plan_id));
    }
    if let Some(status) = status
        && SubscriptionStatus::parse(status).is_none()
    {
        return Err(Error::invalid("status", "use active, trialing, past_due, canceled or paused"));
    }
    Ok(store::subscribers(db.pool(), plan_id, status, email_contains.filter(|e| !e.trim().is_empty()), limit, offset)
        .await?)
}

/// Applies a paid period of `plan` to the account inside the payment's transaction `tx`
/// (DESIGN.md "Paying"): the same plan is renewed from its current end (or from now if that end
/// has passed); another plan is switched to at once with a new period from now; without a live
/// subscription one is created. The saved card (for renewals) and the payment id are recorded.
/// Returns the subscription id. Call it only once per payment (the caller's conditional
/// transaction update guarantees that).
///
/// # Errors
/// [`Error::Conflict`] when the subscription changed concurrently; [`Error::Database`].
#[allow(clippy::too_many_arguments)]
pub async fn apply_paid_period(
    tx: &mut WriteTx,
    now: i64,
    user_id: &str,
    account_id: &str,
    plan: &Plan,
    payment_method_id: Option<&str>,
    payment_id: &str,
) -> Result<String> {
    match store::find_live(&mut **tx, account_id).await? {
        Some(current) => {
            let mut next = current.clone();
            if current.plan_id == plan.id && current.status != "trialing" {
                // Renewals (on time, or paid during dunning) continue the billing cycle.
                if now < current.current_period_end + DUNNING_GRACE_SECONDS + 86_400 {
                    let anchor = current.billing_anchor.unwrap_or(current.current_period_start);
                    next.current_period_start = current.current_period_end;
                    next.current_period_end = period_containing(anchor, plan.interval, current.current_period_end).1;
                } else {
                    next.current_period_start = now;
                    next.current_period_end = add_intervals(now, plan.interval, 1);
                    next.billing_anchor = Some(now);
                }
            } else {
                next.plan_id = plan.id.clone();
                next.current_period_start = now;
                next.current_period_end = add_intervals(now, plan.interval, 1);
                next.billing_anchor = Some(now);
            }
            next.status = "active".into();
            next.trial_end = None;
            next.cancel_at_period_end = false;
            next.canceled_at = None;
            if let Some(method) = payment_method_id {
                next.payment_method_id = Some(method.to_owned());
            }
            next.yookassa_payment_id = Some(payment_id.to_owned());
            next.updated_at = now.max(current.updated_at + 1);
            if !store::update_if_unchanged(&mut **tx, &next, current.updated_at, &current.status).await? {
                return Err(Error::Conflict("the subscription changed while applying a payment; try again".into()));
            }
            store::reset_dunning(&mut **tx, &next.id).await?;
            Ok(next.id)
        }
        None => {
            let mut row = new_row(user_id, account_id, plan, now, now);
            row.status = "active".into();
            row.trial_end = None;
            row.current_period_end = add_intervals(now, plan.interval, 1);
            row.payment_method_id = payment_method_id.map(str::to_owned);
            row.yookassa_payment_id = Some(payment_id.to_owned());
            insert(tx, &row).await?;
            Ok(row.id)
        }
    }
}
