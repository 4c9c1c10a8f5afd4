//! Renewals: charging the saved card at the end of a paid period, and dunning (DESIGN.md
//! "Renewals and dunning": retries after 1, 3 and 5 days, then canceled).

use super::notifications::apply_payment;
use super::{payment_metadata, plan_transaction, provider_error};
use crate::gateway::{GatewayError, PaymentRequest, PaymentState};
use crate::store::subscriptions::{self as subscription_store, DueRenewal};
use crate::store::{plans, transactions as store};
use crate::{Billing, Error, Result};
use tariff_model::{Entity, TransactionKind};

/// When the failed renewal charges are retried, counted from the end of the period.
pub const RENEWAL_RETRY_AFTER: [i64; 3] = [86_400, 3 * 86_400, 5 * 86_400];

/// Charges the saved card of every paid subscription whose period has ended (and retries failed
/// charges on the dunning schedule), without the payer. A success pays the next period from the
/// old end; a decline leaves the subscription `past_due` until the next retry; after the last
/// retry fails the subscription is canceled and the account falls back to free. Returns how many
/// subscriptions it charged.
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
            tracing::warn!(error = %e, subscription_id = %renewal.subscription_id, "renewal charge failed; will retry");
        }
    }
    Ok(due.len())
}

async fn charge_renewal(billing: &Billing, due: &DueRenewal) -> Result<()> {
    let gateway = billing.gateway()?;
    let db = &billing.store;
    let now = billing.now();
    let plan =
        plans::get(db.reader(), &due.plan_id).await?.ok_or_else(|| Error::not_found(Entity::Plan, &due.plan_id))?;
    // A renewal stored before but never answered keeps its idempotence key.
    let (transaction_id, key) = match store::unsent_renewal(db.reader(), &due.subscription_id).await? {
        Some(t) => (t.id, t.idempotence_key),
        None => {
            let mut row = plan_transaction(TransactionKind::Renewal, &due.user_id, &due.account_id, &plan, now);
            row.subscription_id = Some(due.subscription_id.clone());
            let mut tx = db.begin_write().await?;
            store::insert(&mut tx, &row).await?;
            tx.commit().await?;
            (row.id, row.idempotence_key)
        }
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
    let declined = match gateway.create_payment(&request, &key).await {
        Ok(payment) => {
            let mut tx = db.begin_write().await?;
            store::set_payment(&mut tx, &transaction_id, &payment.id, payment.state.as_str(), billing.now()).await?;
            tx.commit().await?;
            apply_payment(billing, &payment).await?;
            payment.state == PaymentState::Canceled
        }
        Err(GatewayError::Refused { .. }) => {
            let mut tx = db.begin_write().await?;
            store::mark_rejected(&mut tx, &transaction_id, billing.now()).await?;
            tx.commit().await?;
            true
        }
        // No answer: the transaction keeps its key and the next run asks again.
        Err(e) => return Err(provider_error(e)),
    };
    if declined {
        let attempts = due.renewal_attempts + 1;
        match RENEWAL_RETRY_AFTER.get((attempts - 1) as usize) {
            Some(after) => {
                let next_at = due.current_period_end + after;
                let mut tx = db.begin_write().await?;
                subscription_store::record_failed_renewal(
                    &mut tx,
                    &due.subscription_id,
                    attempts,
                    next_at,
                    billing.now(),
                )
                .await?;
                tx.commit().await?;
                tracing::info!(subscription_id = %due.subscription_id, attempts, next_at, "renewal declined; past due until the next retry");
            }
            None => {
                crate::subscriptions::cancel(db, billing.now(), &due.account_id, true).await?;
                tracing::info!(subscription_id = %due.subscription_id, "renewal declined after the last retry; subscription canceled");
            }
        }
    }
    Ok(())
}
