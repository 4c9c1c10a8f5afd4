//! Subscription rules (DESIGN.md "Business rules"): create (trial when the plan has trial days),
//! renew, switch plan, cancel now or at period end (`lifecycle`), the rollover that moves periods
//! on time (`rollover`), and applying a paid period (`paid_period`).
//!
//! Reading never writes: [`current`] answers the subscription as it stands at `now`, projecting
//! the transitions that are due (the same steps the rollover applies) without storing them. The
//! periodic job and every write path ([`rollover`]) store them.

pub mod change;
pub mod lifecycle;
pub mod paid_period;
pub mod pause;
pub mod rollover;
pub mod trial;

use crate::periods::add_intervals;
use crate::plans::FREE_PLAN_ID;
use crate::store::subscriptions::{self as store, SubscriberRow, SubscriptionRow};
use crate::store::{Store, WriteTx, is_unique_violation, plans};
use crate::tokens::UserRef;
use crate::{Error, Result};
use tariff_model::{CancelOptions, Entity, Message, Plan, Subscription, SubscriptionStatus};

pub use change::{admin_change, cancel_change, change, preview};
pub use lifecycle::{assign, cancel, renew, resume};
pub use paid_period::{PaidBy, apply_paid_period, apply_upgrade};
pub use pause::{pause_by_admin, pause_own};
pub use rollover::{rollover, rollover_due, rollover_if_due};
pub use trial::{add_card, start_trial};

/// How long a paid subscription stays `past_due` (usage allowed) before it is canceled: the last
/// of the dunning retries after 1, 3 and 5 days.
pub const DUNNING_GRACE_SECONDS: i64 = 5 * 86_400;

pub(crate) fn to_model(row: SubscriptionRow, plan: Plan) -> Subscription {
    Subscription {
        status: row.status,
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
        pending_plan_id: row.pending_plan_id,
        pending_change_at: row.pending_change_at,
        paused_at: row.paused_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
        plan,
    }
}

/// A new subscription row of `user` to `plan` starting at `start`: `trialing` until the trial
/// ends when the plan has trial days, else `active` for one interval.
pub(crate) fn new_row(user_id: &str, account_id: &str, plan: &Plan, start: i64, now: i64) -> SubscriptionRow {
    let (status, end, trial_end) = if plan.trial_days > 0 {
        let trial_end = start + plan.trial_days * 86_400;
        (SubscriptionStatus::Trialing, trial_end, Some(trial_end))
    } else {
        (SubscriptionStatus::Active, add_intervals(start, plan.interval, 1), None)
    };
    SubscriptionRow {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user_id.to_owned(),
        account_id: account_id.to_owned(),
        plan_id: plan.id.clone(),
        status,
        yookassa_payment_id: None,
        yookassa_subscription_id: None,
        payment_method_id: None,
        current_period_start: start,
        current_period_end: end,
        cancel_at_period_end: false,
        trial_end,
        canceled_at: None,
        billing_anchor: Some(start),
        pending_plan_id: None,
        pending_change_at: None,
        paused_at: None,
        extra_metadata: None,
        created_at: now,
        updated_at: now,
    }
}

/// Inserts a subscription inside `tx`; a second live subscription of the account is a conflict.
/// The account's MRR movement, if any, and its `subscription.created` event are recorded in the
/// same transaction.
pub(crate) async fn insert(tx: &mut WriteTx, row: &SubscriptionRow) -> Result<()> {
    match store::insert(tx, row).await {
        Ok(()) => {
            crate::revenue::sync(tx, &row.account_id, row.updated_at).await?;
            crate::events::subscription_written(tx, None, row).await
        }
        Err(e) if is_unique_violation(&e, "billing_subscription_live_key") => {
            Err(Error::Conflict(Message::AlreadySubscribed))
        }
        Err(e) => Err(e.into()),
    }
}

/// Writes `next` over `current` inside `tx` if nobody changed it since it was read (`where
/// updated_at = old and status = old`), recording the account's MRR movement and the change's
/// event (`crate::events::subscription_written`) with it. Returns
/// whether it was written. Every change of a stored subscription goes through here.
///
/// # Errors
/// [`Error::Database`].
pub(crate) async fn update(tx: &mut WriteTx, next: &SubscriptionRow, current: &SubscriptionRow) -> Result<bool> {
    if !store::update_if_unchanged(tx, next, current.updated_at, current.status).await? {
        return Ok(false);
    }
    crate::revenue::sync(tx, &next.account_id, next.updated_at).await?;
    crate::events::subscription_written(tx, Some(current), next).await?;
    Ok(true)
}

/// Puts an account on the `free` plan inside `tx` (sign-up, and a paid plan that ends). The
/// free plan is every account's floor even when an operator deactivated it (that only takes it
/// off the catalogue), so no account leaves its quotas by losing its subscription. Does nothing
/// when there is no `free` plan at all; such accounts follow `BILLING_NO_SUBSCRIPTION_POLICY`.
///
/// # Errors
/// [`Error::Database`].
pub async fn start_free_plan(tx: &mut WriteTx, user_id: &str, account_id: &str, now: i64) -> Result<bool> {
    match plans::get(tx.conn(), FREE_PLAN_ID).await? {
        Some(plan) => {
            insert(tx, &new_row(user_id, account_id, &plan, now, now)).await?;
            Ok(true)
        }
        None => Ok(false),
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

/// The account's live subscription with its plan as it stands at `now`: transitions that are due
/// but not stored yet (a period that ended, a cancellation that took effect, a fallback to free)
/// are projected exactly as [`rollover`] will store them. Writes nothing.
///
/// # Errors
/// [`Error::Internal`] when a subscription names a missing plan; [`Error::Database`].
pub async fn current(db: &Store, now: i64, account_id: &str) -> Result<Option<Subscription>> {
    let Some(row) = store::find_live(db.reader(), account_id).await? else {
        return Ok(None);
    };
    let plan = plan_of(db, &row).await?;
    let projected = rollover::project(db, row, plan, now).await?;
    Ok(projected.map(|(row, plan)| to_model(row, plan)))
}

/// The plan a stored subscription names.
pub(crate) async fn plan_of(db: &Store, row: &SubscriptionRow) -> Result<Plan> {
    plans::get(db.reader(), &row.plan_id)
        .await?
        .ok_or_else(|| Error::Internal(format!("subscription {} names a missing plan", row.id)))
}

/// What the holder of `subscription` may do about it now: a subscription that is active,
/// trialing or past due on a paid plan may be canceled at the period's end or at once, unless a
/// cancellation is already scheduled, which may then be withdrawn; a paused one waits for its
/// pause to end. The free plan itself cannot be canceled. Also the free plan the account falls
/// back to when a paid plan ends.
///
/// # Errors
/// [`Error::Database`].
pub async fn cancel_options(db: &Store, subscription: Option<&Subscription>) -> Result<CancelOptions> {
    let fallback_plan = plans::get(db.reader(), FREE_PLAN_ID).await?;
    let running = subscription.filter(|s| {
        matches!(s.status, SubscriptionStatus::Active | SubscriptionStatus::Trialing | SubscriptionStatus::PastDue)
    });
    let cancellable = running.is_some_and(|s| s.plan.id != FREE_PLAN_ID && !s.cancel_at_period_end);
    Ok(CancelOptions {
        at_period_end: cancellable,
        immediately: cancellable,
        resume: running.is_some_and(|s| s.cancel_at_period_end),
        fallback_plan,
    })
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
    if plans::get(db.reader(), plan_id).await?.is_none() {
        return Err(Error::not_found(Entity::Plan, plan_id));
    }
    let status = match status.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(SubscriptionStatus::parse(s).ok_or_else(|| Error::invalid("status", Message::StatusUnknown))?),
    };
    Ok(store::subscribers(db.reader(), plan_id, status, email_contains.filter(|e| !e.trim().is_empty()), limit, offset)
        .await?)
}
