//! Asking the gateway about payments whose notification never came.

use super::notifications::apply_payment;
use crate::gateway::{GatewayError, PaymentRequest};
use crate::store::transactions as store;
use crate::{Billing, Result};

/// How long a payment may stay pending before the sweeper asks the gateway about it, in seconds.
pub const POLL_PENDING_AFTER: i64 = 10 * 60;

/// Asks the gateway about payments left pending longer than [`POLL_PENDING_AFTER`] and applies
/// what it says. Returns how many it asked about.
///
/// # Errors
/// [`crate::Error::Database`]. Gateway failures are logged and retried on the next run.
pub async fn poll_pending(billing: &Billing) -> Result<usize> {
    let Some(gateway) = &billing.gateway else {
        return Ok(0);
    };
    let now = billing.now();
    let ids = store::stale_pending_payments(billing.store.reader(), now - POLL_PENDING_AFTER, 50).await?;
    for payment_id in &ids {
        match gateway.get_payment(payment_id).await {
            Ok(payment) => {
                if let Err(e) = apply_payment(billing, &payment).await {
                    tracing::warn!(target: crate::LOG_TARGET, error = %e, %payment_id, "could not apply a polled payment; will retry");
                }
            }
            Err(e) => {
                tracing::warn!(target: crate::LOG_TARGET, error = %e, %payment_id, "could not poll a pending payment; will retry")
            }
        }
        let mut tx = billing.store.begin_write().await?;
        store::touch(&mut tx, payment_id, now).await?;
        tx.commit().await?;
    }
    Ok(ids.len())
}

/// How long after its create call an unanswered payment is first sent again, in seconds (the
/// first call may still be under way: the client retries it for up to half a minute).
pub const RESEND_UNANSWERED_AFTER: i64 = 60;

/// How long a create call may be sent again with its key, in seconds. YooKassa keeps an
/// idempotence key for 24 hours (reference §1.3); after that the same key would create a second
/// payment, so sending stops an hour short of it.
pub const RESEND_UNANSWERED_FOR: i64 = 23 * 3600;

/// Sends again the create calls of checkouts, top-ups and plan changes that got no answer
/// (issue 14.7), byte for byte with their stored idempotence key: YooKassa answers the payment
/// the first call made (or makes it now), so the payer's money and the transaction agree. An
/// answer is applied like any other; a refusal marks the transaction failed; no answer again
/// waits for the next run. Renewals are not here: their job sends its own claim again. Returns
/// how many were answered.
///
/// # Errors
/// [`crate::Error::Database`]. Gateway failures are logged and retried on the next run.
pub async fn resend_unanswered(billing: &Billing) -> Result<usize> {
    let Some(gateway) = &billing.gateway else {
        return Ok(0);
    };
    let now = billing.now();
    let rows = store::unanswered_between(
        billing.store.reader(),
        now - RESEND_UNANSWERED_FOR,
        now - RESEND_UNANSWERED_AFTER,
        50,
    )
    .await?;
    let mut answered = 0;
    for row in rows {
        let Some(request) = row.gateway_request.as_deref() else { continue };
        let request: PaymentRequest = match serde_json::from_str(request) {
            Ok(request) => request,
            Err(e) => {
                tracing::error!(target: crate::LOG_TARGET, error = %e, transaction_id = %row.id, "a stored payment request cannot be read; not sent again");
                continue;
            }
        };
        match gateway.create_payment(&request, &row.idempotence_key).await {
            Ok(payment) => {
                let mut tx = billing.store.begin_write().await?;
                store::set_payment(&mut tx, &row.id, &payment.id, payment.state.as_str(), billing.now()).await?;
                tx.commit().await?;
                tracing::info!(target: crate::LOG_TARGET, transaction_id = %row.id, payment_id = %payment.id, state = payment.state.as_str(), "an unanswered payment was sent again and answered");
                apply_payment(billing, &payment).await?;
                answered += 1;
            }
            Err(GatewayError::Refused { .. }) => {
                let mut tx = billing.store.begin_write().await?;
                store::mark_rejected(&mut tx, &row.id, billing.now()).await?;
                tx.commit().await?;
            }
            Err(e) => {
                tracing::warn!(target: crate::LOG_TARGET, error = %e, transaction_id = %row.id, "an unanswered payment still has no answer; will send it again");
            }
        }
    }
    Ok(answered)
}

/// How long a checkout that never reached the gateway stays pending before it is given up, in
/// seconds (YooKassa gives a payer one hour to confirm).
pub const EXPIRE_UNSENT_AFTER: i64 = 3600;

/// Gives up payments whose create call never got an answer: `canceled` with reason `expired`.
/// One the payer confirms is given up after [`EXPIRE_UNSENT_AFTER`] (the payer never saw its
/// page and is long gone); one charged to a saved card only when it can no longer be sent again
/// ([`RESEND_UNANSWERED_FOR`]), since YooKassa may have charged it. Returns how many.
///
/// # Errors
/// [`crate::Error::Database`].
pub async fn expire_unsent(billing: &Billing) -> Result<usize> {
    let now = billing.now();
    let rows = store::unsent_before(billing.store.reader(), now - EXPIRE_UNSENT_AFTER, 100).await?;
    let mut expired = 0;
    for row in &rows {
        let saved_card = row
            .gateway_request
            .as_deref()
            .and_then(|r| serde_json::from_str::<PaymentRequest>(r).ok())
            .is_some_and(|r| r.payment_method_id.is_some());
        if saved_card && row.created_at >= now - RESEND_UNANSWERED_FOR {
            continue;
        }
        let mut tx = billing.store.begin_write().await?;
        let facts = store::TransitionFacts { cancellation_reason: Some("expired"), ..Default::default() };
        let from = [tariff_model::TransactionStatus::Pending];
        if store::transition(&mut tx, &row.id, &from, tariff_model::TransactionStatus::Canceled, facts, now).await? {
            expired += 1;
        }
        tx.commit().await?;
    }
    Ok(expired)
}

/// How long after a trial's card check succeeded the sweeper refunds it, if the refund right after
/// the payment did not go through, in seconds.
pub const REFUND_CARD_CHECKS_AFTER: i64 = 10 * 60;

/// Refunds trial card checks (the 1 ₽ that saved a card) whose refund after the payment failed:
/// the payer is promised it back. Returns how many refunds were started.
///
/// # Errors
/// [`crate::Error::Database`]. Gateway failures are logged and retried on the next run.
pub async fn refund_card_checks(billing: &Billing) -> Result<usize> {
    if billing.gateway.is_none() {
        return Ok(0);
    }
    let now = billing.now();
    let ids = store::unrefunded_card_checks(billing.store.reader(), now - REFUND_CARD_CHECKS_AFTER, 50).await?;
    let actor = crate::audit::Actor::system("trial-card-check");
    let mut started = 0;
    for id in &ids {
        match super::refund(billing, &actor, id, None).await {
            Ok(_) => started += 1,
            Err(e) => {
                tracing::warn!(target: crate::LOG_TARGET, error = %e, transaction_id = %id, "a card check could not be refunded; will retry")
            }
        }
    }
    Ok(started)
}
