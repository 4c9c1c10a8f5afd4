//! Pause (issue 14.3): admins pause any live subscription; its subscribers may too when the
//! plan's metadata says `"allow_pause": true` (not while a renewal is unpaid). While paused nothing renews and usage is refused
//! (403 `subscription_paused`). Resuming starts a fresh period at once, charged like a renewal:
//! the renewal job charges the saved card (and dunning follows a decline); without a card the
//! subscription goes past due like any unpaid renewal. A plan priced 0 just renews.

use super::rollover::rollover_if_due;
use super::{to_model, update};
use crate::audit::{self, Actor};
use crate::store::subscriptions::{self as store, SubscriptionRow};
use crate::tokens::UserRef;
use crate::{Billing, Error, Result};
use tariff_model::{Entity, Message, Subscription, SubscriptionStatus};

/// Whether the plan lets its subscribers pause themselves (metadata `"allow_pause": true`).
pub fn users_may_pause(plan: &tariff_model::Plan) -> bool {
    plan.plan_extra_metadata.as_ref().and_then(|m| m.get("allow_pause")).and_then(|v| v.as_bool()).unwrap_or(false)
}

async fn set_paused(billing: &Billing, row: &SubscriptionRow, paused: bool) -> Result<SubscriptionRow> {
    let now = billing.now();
    let mut next = row.clone();
    if paused {
        if !matches!(
            row.status,
            SubscriptionStatus::Active | SubscriptionStatus::Trialing | SubscriptionStatus::PastDue
        ) {
            return Err(Error::Conflict(if row.status == SubscriptionStatus::Paused {
                Message::SubscriptionPaused
            } else {
                Message::NotPausable
            }));
        }
        next.status = SubscriptionStatus::Paused;
        next.paused_at = Some(now);
    } else {
        if row.status != SubscriptionStatus::Paused {
            return Err(Error::Conflict(Message::NotPaused));
        }
        // A fresh period from now, due at once: the renewal job charges it like a renewal.
        next.status = SubscriptionStatus::Active;
        next.paused_at = None;
        next.trial_end = None;
        next.current_period_start = now;
        next.current_period_end = now;
        next.billing_anchor = Some(now);
        next.pending_plan_id = None;
        next.pending_change_at = None;
    }
    next.updated_at = now.max(row.updated_at + 1);
    let mut tx = billing.store.begin_write().await?;
    if !update(&mut tx, &next, row).await? {
        return Err(Error::Conflict(Message::SubscriptionChanged));
    }
    if !paused {
        store::reset_dunning(&mut tx, &next.id).await?;
    }
    tx.commit().await?;
    tracing::info!(target: crate::LOG_TARGET, subscription_id = %row.id, account_id = %row.account_id, "subscription {}", if paused { "paused" } else { "resumed" });
    if !paused {
        // Charge the fresh period now (a free-priced plan renews itself in the rollover).
        rollover_if_due(&billing.store, now, &row.account_id).await?;
        crate::payments::charge_due_renewals(billing).await?;
    }
    Ok(next)
}

async fn model(billing: &Billing, account_id: &str) -> Result<Subscription> {
    super::current(&billing.store, billing.now(), account_id)
        .await?
        .ok_or_else(|| Error::not_found(Entity::Subscription, account_id))
}

/// Pauses or resumes the live subscription of `user`'s billing account, when its plan allows.
///
/// # Errors
/// [`Error::Forbidden`] for a plain organisation member, or ([`Message::PauseNotAllowed`]) when
/// the plan does not allow it; [`Error::NotFound`] without a subscription; [`Error::Conflict`]
/// when it is paused already (pause), not paused (resume) or changed meanwhile; [`Error::Database`].
pub async fn pause_own(billing: &Billing, user: &UserRef, paused: bool) -> Result<Subscription> {
    user.require_payer()?;
    let db = &billing.store;
    rollover_if_due(db, billing.now(), &user.account_id).await?;
    let row = store::find_live(db.reader(), &user.account_id)
        .await?
        .ok_or_else(|| Error::not_found(Entity::Subscription, &user.account_id))?;
    let plan = super::plan_of(db, &row).await?;
    if !users_may_pause(&plan) {
        return Err(Error::Forbidden(Message::PauseNotAllowed));
    }
    if paused && row.status == SubscriptionStatus::PastDue {
        // An unpaid renewal is paid, not paused: pausing and resuming would restart its grace.
        return Err(Error::Conflict(Message::NotPausable));
    }
    set_paused(billing, &row, paused).await?;
    model(billing, &row.account_id).await
}

/// The subscriber's "resume": a paused subscription is resumed ([`pause_own`]); otherwise a
/// pending cancellation is withdrawn ([`super::resume`]).
///
/// # Errors
/// As [`pause_own`] and [`super::resume`].
pub async fn resume_own(billing: &Billing, user: &UserRef) -> Result<Subscription> {
    user.require_payer()?;
    let paused = store::find_live(billing.store.reader(), &user.account_id)
        .await?
        .is_some_and(|s| s.status == SubscriptionStatus::Paused);
    if paused {
        return pause_own(billing, user, false).await;
    }
    super::resume(&billing.store, billing.now(), &user.account_id).await
}

/// Admin: pauses or resumes subscription `subscription_id`, audited as `subscription.pause` /
/// `subscription.resume`.
///
/// # Errors
/// [`Error::NotFound`] for an unknown subscription; [`Error::Conflict`] for a canceled one, one
/// paused already (pause) or not paused (resume); [`Error::Database`].
pub async fn pause_by_admin(
    billing: &Billing,
    actor: &Actor,
    subscription_id: &str,
    paused: bool,
) -> Result<Subscription> {
    let db = &billing.store;
    let row = store::find_by_id(db.reader(), subscription_id)
        .await?
        .ok_or_else(|| Error::not_found(Entity::Subscription, subscription_id))?;
    if row.status.is_live() {
        rollover_if_due(db, billing.now(), &row.account_id).await?;
    }
    let row = store::find_by_id(db.reader(), subscription_id)
        .await?
        .ok_or_else(|| Error::not_found(Entity::Subscription, subscription_id))?;
    let next = set_paused(billing, &row, paused).await?;
    let action = if paused { "subscription.pause" } else { "subscription.resume" };
    let mut tx = db.begin_write().await?;
    audit::record(
        &mut tx,
        actor,
        action,
        "subscription",
        subscription_id,
        format!("Subscription {subscription_id} {}", if paused { "paused" } else { "resumed" }),
        audit::diff(Some(&serde_json::json!({"status": row.status})), &serde_json::json!({"status": next.status})),
        billing.now(),
    )
    .await?;
    tx.commit().await?;
    let plan = super::plan_of(db, &next).await?;
    match super::current(db, billing.now(), &row.account_id).await? {
        Some(s) if s.id == next.id => Ok(s),
        _ => Ok(to_model(next, plan)),
    }
}
