//! Trials (issue 14.2): a plan with `trial_days` starts as `trialing` without payment, at most
//! once per account and plan family (`billing_trial`, keyed by account and family: the plan's
//! metadata `"family"`, else its id). During the trial the plan's quotas apply. The subscriber
//! may add a card: a 1 ₽ payment that saves the card and is refunded at once (plan change
//! `card`). At the trial's end the renewal job charges the saved card the plan's price and the
//! subscription becomes `active`; without a card, or when that charge is declined, it ends and
//! the account falls back to free.

use super::rollover::rollover_if_due;
use super::{new_row, to_model, update};
use crate::payments::checkout::{PaymentRequestParts, start_payment, valid_return_url};
use crate::payments::{payment_metadata, plan_snapshot};
use crate::store::subscriptions as store;
use crate::store::transactions::NewTransaction;
use crate::store::{WriteTx, plans, trials};
use crate::tokens::UserRef;
use crate::{Billing, Error, Result};
use tariff_model::api::Checkout;
use tariff_model::{Entity, Message, Plan, Subscription, SubscriptionStatus, TransactionKind};

pub use tariff_model::subscription::CARD_CHECK_MINOR;

/// A plan's family (its tier): its metadata's `"family"`, else the `"monthly_plan_id"` of an
/// annual variant (so `pro_annual` is in `pro`'s family), else its id. One trial per account
/// and family; a move to a longer interval of the same family is an upgrade.
pub fn plan_family(plan: &Plan) -> String {
    let named = |key: &str| {
        plan.plan_extra_metadata
            .as_ref()
            .and_then(|m| m.get(key))
            .and_then(|f| f.as_str())
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
    };
    named("family").or_else(|| named("monthly_plan_id")).unwrap_or_else(|| plan.id.clone())
}

/// Which of `plans` the account may start a trial of now: active paid plans with trial days
/// whose family it has not had a trial of, while it is on the free plan or on none.
///
/// # Errors
/// [`Error::Database`].
pub async fn trial_plan_ids(db: &crate::store::Store, account_id: &str, plans: &[Plan]) -> Result<Vec<String>> {
    if let Some(current) = store::find_live(db.reader(), account_id).await?
        && current.plan_id != crate::plans::FREE_PLAN_ID
    {
        return Ok(Vec::new());
    }
    let mut ids = Vec::new();
    for plan in plans.iter().filter(|p| p.is_active && p.trial_days > 0 && !p.is_free()) {
        if !trials::had(db.reader(), account_id, &plan_family(plan)).await? {
            ids.push(plan.id.clone());
        }
    }
    Ok(ids)
}

/// Starts a trial of `plan_id` for `user`'s billing account, replacing its free plan (or its
/// absence).
///
/// # Errors
/// [`Error::Forbidden`] for a plain organisation member; [`Error::NotFound`] for an unknown plan;
/// [`Error::Validation`] for an inactive plan or one without trial days; [`Error::Conflict`] with
/// [`Message::TrialUsed`] when the account had a trial of the family (409), or
/// [`Message::AlreadySubscribed`] while it pays for a plan; [`Error::Database`].
pub async fn start_trial(billing: &Billing, user: &UserRef, plan_id: &str) -> Result<Subscription> {
    user.require_payer()?;
    let db = &billing.store;
    let now = billing.now();
    let plan = plans::get(db.reader(), plan_id).await?.ok_or_else(|| Error::not_found(Entity::Plan, plan_id))?;
    if !plan.is_active {
        return Err(Error::invalid("plan_id", Message::PlanNotForSale));
    }
    if plan.trial_days <= 0 || plan.is_free() {
        return Err(Error::invalid("plan_id", Message::PlanHasNoTrial));
    }
    rollover_if_due(db, now, &user.account_id).await?;
    let mut tx = db.begin_write().await?;
    let family = plan_family(&plan);
    let current = store::find_live(tx.conn(), &user.account_id).await?;
    if let Some(current) = &current
        && current.plan_id != crate::plans::FREE_PLAN_ID
    {
        return Err(Error::Conflict(if current.status == SubscriptionStatus::Trialing {
            Message::TrialUsed
        } else {
            Message::AlreadySubscribed
        }));
    }
    let fresh = new_row(&user.id, &user.account_id, &plan, now, now);
    let row = match current {
        Some(current) => {
            let mut next = current.clone();
            next.plan_id = plan.id.clone();
            next.status = fresh.status;
            next.current_period_start = now;
            next.current_period_end = fresh.current_period_end;
            next.trial_end = fresh.trial_end;
            next.billing_anchor = Some(now);
            next.cancel_at_period_end = false;
            next.pending_plan_id = None;
            next.pending_change_at = None;
            next.updated_at = now.max(current.updated_at + 1);
            if !update(&mut tx, &next, &current).await? {
                return Err(Error::Conflict(Message::SubscriptionChanged));
            }
            next
        }
        None => {
            super::insert(&mut tx, &fresh).await?;
            fresh
        }
    };
    if !trials::insert_if_absent(&mut tx, &user.account_id, &family, &plan.id, &row.id, now).await? {
        // Dropping `tx` rolls the switch back.
        return Err(Error::Conflict(Message::TrialUsed));
    }
    tx.commit().await?;
    tracing::info!(target: crate::LOG_TARGET, subscription_id = %row.id, plan_id = %plan.id, trial_end = ?row.trial_end, "trial started for user {}", user.id);
    Ok(to_model(row, plan))
}

/// Starts the card check of a trial: a 1 ₽ payment that saves the card for the charge at the
/// trial's end, refunded as soon as it succeeds. Returns where to send the payer.
///
/// # Errors
/// [`Error::Forbidden`] for a plain organisation member; [`Error::NotFound`] without a
/// subscription; [`Error::Conflict`] ([`Message::NotTrialing`]) when it is not a trial;
/// [`Error::Validation`] for a bad `return_url`; the gateway's errors; [`Error::Database`].
pub async fn add_card(billing: &Billing, user: &UserRef, return_url: &str) -> Result<Checkout> {
    user.require_payer()?;
    let db = &billing.store;
    let now = billing.now();
    let row = store::find_live(db.reader(), &user.account_id)
        .await?
        .ok_or_else(|| Error::not_found(Entity::Subscription, &user.account_id))?;
    if row.status != SubscriptionStatus::Trialing {
        return Err(Error::Conflict(Message::NotTrialing));
    }
    if !valid_return_url(return_url) {
        return Err(Error::invalid(
            "return_url",
            Message::ReturnUrlInvalid { max: crate::payments::checkout::MAX_RETURN_URL },
        ));
    }
    let plan = super::plan_of(db, &row).await?;
    let name_ru = plan.name_ru.as_deref().unwrap_or(&plan.name);
    let mut transaction = NewTransaction::pending(
        TransactionKind::Subscription,
        &user.id,
        &user.account_id,
        CARD_CHECK_MINOR,
        plan.currency.code(),
        format!("Card check for the {} trial (refunded)", plan.name),
        format!("Проверка карты для пробного периода «{name_ru}» (вернётся)"),
        now,
    );
    transaction.plan_id = Some(plan.id.clone());
    transaction.plan_snapshot = Some(plan_snapshot(&plan));
    transaction.subscription_id = Some(row.id.clone());
    transaction.plan_change = Some("card");
    let parts = PaymentRequestParts {
        amount_minor: CARD_CHECK_MINOR,
        currency: plan.currency,
        save_payment_method: true,
        metadata: payment_metadata(&transaction.id, &user.id, &plan.id, transaction.kind),
    };
    start_payment(billing, user, transaction, return_url.to_owned(), parts).await
}

/// Records the card of a succeeded card check on the account's live subscription, inside the
/// payment's transaction. Returns the subscription id, if there is one.
///
/// # Errors
/// [`Error::Conflict`] when it changed concurrently; [`Error::Database`].
pub async fn save_card(tx: &mut WriteTx, now: i64, account_id: &str, method: Option<&str>) -> Result<Option<String>> {
    let Some(current) = store::find_live(tx.conn(), account_id).await? else {
        return Ok(None);
    };
    let Some(method) = method else {
        return Ok(Some(current.id));
    };
    let mut next = current.clone();
    next.payment_method_id = Some(method.to_owned());
    next.updated_at = now.max(current.updated_at + 1);
    if !update(tx, &next, &current).await? {
        return Err(Error::Conflict(Message::SubscriptionChanged));
    }
    Ok(Some(next.id))
}
