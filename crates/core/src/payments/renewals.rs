//! Renewals: charging the saved card at the end of a paid period, and dunning (DESIGN.md
//! "Renewals and dunning": retries after 1, 3 and 5 days, then canceled).
//!
//! Each charge is claimed before it is made: one renewal transaction per subscription, period and
//! attempt (a unique key), created inside a transaction that first checks the subscription still
//! waits for that renewal. However many processes run the job, each attempt is charged once; a
//! process that finds the claim taken either retries it with the stored idempotence key (the
//! charge never reached the gateway) or leaves it alone.

use super::notifications::apply_payment;
use super::{payment_metadata, plan_transaction, provider_error};
use crate::gateway::{GatewayError, PaymentRequest, PaymentState};
use crate::store::subscriptions::{self as subscription_store, DueRenewal};
use crate::store::{plans, transactions as store};
use crate::{Billing, Error, Result};
use tariff_model::{Entity, SubscriptionStatus, TransactionKind};

/// When the failed renewal charges are retried, counted from the end of the period.
pub const RENEWAL_RETRY_AFTER: [i64; 3] = [86_400, 3 * 86_400, 5 * 86_400];

/// Charges the saved card of every paid subscription whose period has ended (and retries failed
/// charges on the dunning schedule), without the payer. A success pays the next period from the
/// old end; a decline leaves the subscription `past_due` until the next retry; after the last
/// retry fails the subscription is canceled and the account falls back to free. Returns how
/// many subscriptions it looked at.
///
/// # Errors
/// [`Error::Database`]. Gateway failures are recorded and retried on the next run.
pub async fn charge_due_renewals(billing: &Billing) -> Result<usize> {
    if billing.gateway.is_none() {
        return Ok(0);
    }
    let due = subscription_store::due_renewals(billing.store.reader(), billing.now(), 50).await?;
    for renewal in &due {
        if let Err(e) = charge_renewal(billing, renewal).await {
            tracing::warn!(target: crate::LOG_TARGET, error = %e, subscription_id = %renewal.subscription_id, "renewal charge failed; will retry");
        }
    }
    Ok(due.len())
}

/// The renewal transaction this process may charge for `due`, or `None` when another process
/// claimed it and sent it, or the subscription no longer waits for it.
async fn claim(billing: &Billing, due: &DueRenewal, plan: &tariff_model::Plan) -> Result<Option<(String, String)>> {
    let now = billing.now();
    let attempt = due.renewal_attempts + 1;
    let mut tx = billing.store.begin_write().await?;
    // Checked again inside the claim: the due list was read before, maybe by another process.
    let still_due = subscription_store::find_by_id(tx.conn(), &due.subscription_id).await?.is_some_and(|s| {
        matches!(s.status, SubscriptionStatus::Active | SubscriptionStatus::PastDue | SubscriptionStatus::Trialing)
            && !s.cancel_at_period_end
            && s.current_period_end == due.current_period_end
            && s.current_period_end <= now
            // A scheduled downgrade switches the plan first (the rollover); the charge is then
            // for the new plan, on a later run.
            && s.pending_plan_id.is_none()
            && s.plan_id == due.plan_id
    });
    if !still_due {
        return Ok(None);
    }
    let mut row = plan_transaction(TransactionKind::Renewal, &due.user_id, &due.account_id, plan, now);
    row.subscription_id = Some(due.subscription_id.clone());
    row.renewal = Some((due.current_period_end, attempt));
    let claim = match store::claim_renewal(&mut tx, &row).await {
        Ok(claim) => claim,
        // Another process inserted the same claim a moment before: it charges.
        Err(e) if crate::store::is_unique_violation(&e, "billing_transaction_renewal_key") => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let claimed = match claim {
        None => Some((row.id, row.idempotence_key)),
        // Stored before but never answered: the same charge again, with its key.
        Some(existing)
            if existing.yookassa_payment_id.is_none()
                && existing.status == tariff_model::TransactionStatus::Pending =>
        {
            Some((existing.id, existing.idempotence_key))
        }
        Some(_) => None,
    };
    tx.commit().await?;
    Ok(claimed)
}

async fn charge_renewal(billing: &Billing, due: &DueRenewal) -> Result<()> {
    let gateway = billing.gateway()?;
    let db = &billing.store;
    let plan =
        plans::get(db.reader(), &due.plan_id).await?.ok_or_else(|| Error::not_found(Entity::Plan, &due.plan_id))?;
    let Some((transaction_id, key)) = claim(billing, due, &plan).await? else {
        return Ok(());
    };
    let request = PaymentRequest {
        amount_minor: plan.price_minor,
        currency: plan.currency,
        description: format!("{} plan renewal", plan.name).chars().take(128).collect(),
        return_url: None,
        payment_method_id: Some(due.payment_method_id.clone()),
        save_payment_method: false,
        metadata: payment_metadata(&transaction_id, &due.user_id, &plan.id, TransactionKind::Renewal),
        receipt: None,
    };
    match gateway.create_payment(&request, &key).await {
        Ok(payment) => {
            let mut tx = db.begin_write().await?;
            store::set_payment(&mut tx, &transaction_id, &payment.id, payment.state.as_str(), billing.now()).await?;
            tx.commit().await?;
            // A later decline (through a notification) is counted by `apply_payment`; one in the
            // answer is counted here too, before this run ends, even when the notification about
            // it is being applied at the same moment (counting is idempotent per attempt).
            apply_payment(billing, &payment).await?;
            if payment.state == PaymentState::Canceled {
                tracing::info!(target: crate::LOG_TARGET, subscription_id = %due.subscription_id, "renewal charge declined");
                record_decline(billing, &due.subscription_id, due.current_period_end, due.renewal_attempts + 1).await?;
            }
        }
        Err(GatewayError::Refused { .. }) => {
            let mut tx = db.begin_write().await?;
            store::mark_rejected(&mut tx, &transaction_id, billing.now()).await?;
            tx.commit().await?;
            record_decline(billing, &due.subscription_id, due.current_period_end, due.renewal_attempts + 1).await?;
        }
        // No answer: the transaction keeps its key and the next run asks again.
        Err(e) => return Err(provider_error(e)),
    }
    Ok(())
}

/// Counts a declined renewal charge (attempt `attempt` of the period ending `period_end`): the
/// subscription stays `past_due` until the next retry of the dunning schedule, or is canceled after
/// the last one (the account falls back to free). Counting is idempotent per attempt.
///
/// # Errors
/// [`Error::Database`].
pub(crate) async fn record_decline(
    billing: &Billing,
    subscription_id: &str,
    period_end: i64,
    attempt: i64,
) -> Result<()> {
    let db = &billing.store;
    let trial = subscription_store::find_by_id(db.reader(), subscription_id)
        .await?
        .is_some_and(|s| s.status == SubscriptionStatus::Trialing && s.current_period_end == period_end);
    // A trial's first charge is not retried: declined, the trial ends and the account is on free.
    let retry_after = if trial { None } else { RENEWAL_RETRY_AFTER.get((attempt - 1).max(0) as usize) };
    match retry_after {
        Some(after) => {
            let next_at = period_end + after;
            let mut tx = db.begin_write().await?;
            let before = subscription_store::find_by_id(tx.conn(), subscription_id).await?;
            if subscription_store::record_failed_renewal(&mut tx, subscription_id, attempt, next_at, billing.now())
                .await?
                && let Some(before) = before
                && let Some(after) = subscription_store::find_by_id(tx.conn(), subscription_id).await?
            {
                // Written without `subscriptions::update` (it counts the attempt too): the event here.
                crate::events::subscription_written(&mut tx, Some(&before), &after).await?;
            }
            tx.commit().await?;
            tracing::info!(target: crate::LOG_TARGET, %subscription_id, attempt, next_at, "renewal declined; past due until the next retry");
        }
        None => {
            let Some(subscription) = subscription_store::find_by_id(db.reader(), subscription_id).await? else {
                return Ok(());
            };
            if subscription.status.is_live() && subscription.current_period_end == period_end {
                match crate::subscriptions::cancel(db, billing.now(), &subscription.account_id, true).await {
                    Ok(_) => {
                        tracing::info!(target: crate::LOG_TARGET, %subscription_id, "renewal declined after the last retry; subscription canceled");
                    }
                    // The same decline seen twice at once (answer and notification): the other
                    // one canceled it.
                    Err(Error::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(())
}
