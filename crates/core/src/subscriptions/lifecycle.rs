//! Changing a subscription on request: renew a period, cancel (now or at period end), withdraw
//! a cancellation, and the admin's assign-or-comp. Each change is one conditional update of the
//! row as it was read (`where updated_at = old and status = old`).

use super::rollover::rollover_if_due;
use super::{insert, new_row, to_model};
use crate::audit::{self, Actor};
use crate::periods::period_containing;
use crate::store::subscriptions::{self as store, SubscriptionRow};
use crate::store::{Store, WriteTx, plans};
use crate::tokens::UserRef;
use crate::{Error, Result};
use tariff_model::{Entity, Message, Plan, Subscription, SubscriptionStatus};

/// The live subscription of `account_id` and its plan, read inside `tx`.
async fn live_with_plan(tx: &mut WriteTx, account_id: &str) -> Result<(SubscriptionRow, Plan)> {
    let current = store::find_live(tx.conn(), account_id)
        .await?
        .ok_or_else(|| Error::not_found(Entity::Subscription, account_id))?;
    let plan = plans::get(tx.conn(), &current.plan_id)
        .await?
        .ok_or_else(|| Error::not_found(Entity::Plan, &current.plan_id))?;
    Ok((current, plan))
}

/// Writes `next` over `current` or reports that someone else changed it first.
async fn write_over(tx: &mut WriteTx, next: &SubscriptionRow, current: &SubscriptionRow) -> Result<()> {
    if super::update(tx, next, current).await? { Ok(()) } else { Err(Error::Conflict(Message::SubscriptionChanged)) }
}

/// Extends a live subscription by one period from its current end (a paid renewal), making it
/// `active`.
///
/// # Errors
/// [`Error::NotFound`] without a live subscription; [`Error::Conflict`] when it changed
/// concurrently; [`Error::Database`].
pub async fn renew(db: &Store, now: i64, account_id: &str) -> Result<Subscription> {
    let mut tx = db.begin_write().await?;
    let (current, plan) = live_with_plan(&mut tx, account_id).await?;
    let anchor = current.billing_anchor.unwrap_or(current.current_period_start);
    let mut next = current.clone();
    next.status = SubscriptionStatus::Active;
    next.current_period_start = current.current_period_end;
    next.current_period_end = period_containing(anchor, plan.interval, current.current_period_end).1;
    next.trial_end = None;
    next.updated_at = now.max(current.updated_at + 1);
    write_over(&mut tx, &next, &current).await?;
    tx.commit().await?;
    Ok(to_model(next, plan))
}

/// Moves the account's live subscription to `plan` at once (a new period starts now), or creates
/// one. Used by the admin "assign or comp a plan" route.
async fn switch_or_create(
    tx: &mut WriteTx,
    now: i64,
    user: &UserRef,
    plan: &Plan,
) -> Result<(Option<SubscriptionRow>, SubscriptionRow)> {
    match store::find_live(tx.conn(), &user.account_id).await? {
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
            // An assigned plan replaces whatever was scheduled or paused.
            next.pending_plan_id = None;
            next.pending_change_at = None;
            next.paused_at = None;
            next.updated_at = now.max(current.updated_at + 1);
            write_over(tx, &next, &current).await?;
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
    rollover_if_due(db, now, &user.account_id).await?;
    let mut tx = db.begin_write().await?;
    let plan = plans::get(tx.conn(), plan_id).await?.ok_or_else(|| Error::not_found(Entity::Plan, plan_id))?;
    let (before, after) = switch_or_create(&mut tx, now, user, &plan).await?;
    let before_json = before.as_ref().map(
        |b| serde_json::json!({"plan_id": b.plan_id, "status": b.status, "current_period_end": b.current_period_end}),
    );
    let after_json = serde_json::json!({"plan_id": after.plan_id, "status": after.status, "current_period_end": after.current_period_end});
    let description = format!("User {} assigned to plan {plan_id}", user.email);
    audit::record(
        &mut tx,
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

/// Cancels the account's live subscription: `immediate` ends it now (status `canceled`, and the
/// account falls back to `free`); otherwise it ends at `current_period_end`. The free plan is
/// every account's floor and cannot be canceled.
///
/// # Errors
/// [`Error::NotFound`] without a live subscription; [`Error::Conflict`] with
/// [`Message::FreePlanNotCancellable`] for the free plan, or when it changed concurrently;
/// [`Error::Database`].
pub async fn cancel(db: &Store, now: i64, account_id: &str, immediate: bool) -> Result<Subscription> {
    rollover_if_due(db, now, account_id).await?;
    let mut tx = db.begin_write().await?;
    let (current, plan) = live_with_plan(&mut tx, account_id).await?;
    if plan.id == crate::plans::FREE_PLAN_ID {
        return Err(Error::Conflict(Message::FreePlanNotCancellable));
    }
    let mut next = current.clone();
    next.updated_at = now.max(current.updated_at + 1);
    if immediate {
        next.status = SubscriptionStatus::Canceled;
        next.canceled_at = Some(now);
        next.current_period_end = now.max(current.current_period_start);
        next.cancel_at_period_end = false;
    } else {
        next.cancel_at_period_end = true;
    }
    // Cancelling replaces a scheduled downgrade: the latest choice is the one that happens.
    next.pending_plan_id = None;
    next.pending_change_at = None;
    write_over(&mut tx, &next, &current).await?;
    if immediate {
        super::start_free_plan(&mut tx, &current.user_id, account_id, now).await?;
    }
    tx.commit().await?;
    tracing::info!(
        target: crate::LOG_TARGET,
        subscription_id = %current.id, plan_id = %plan.id, %account_id, immediate,
        "subscription canceled{}", if immediate { " now; the account falls back to free" } else { " at the period end" }
    );
    Ok(to_model(next, plan))
}

/// Withdraws a pending cancellation (`cancel_at_period_end` back to false).
///
/// # Errors
/// [`Error::NotFound`] without a live subscription; [`Error::Conflict`]; [`Error::Database`].
pub async fn resume(db: &Store, now: i64, account_id: &str) -> Result<Subscription> {
    rollover_if_due(db, now, account_id).await?;
    let mut tx = db.begin_write().await?;
    let (current, plan) = live_with_plan(&mut tx, account_id).await?;
    let mut next = current.clone();
    next.cancel_at_period_end = false;
    next.updated_at = now.max(current.updated_at + 1);
    write_over(&mut tx, &next, &current).await?;
    tx.commit().await?;
    Ok(to_model(next, plan))
}
