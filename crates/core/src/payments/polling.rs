//! Asking the gateway about payments whose notification never came.

use super::notifications::apply_payment;
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

/// How long a checkout that never reached the gateway stays pending before it is given up, in
/// seconds (YooKassa gives a payer one hour to confirm).
pub const EXPIRE_UNSENT_AFTER: i64 = 3600;

/// Gives up checkouts whose payment was never created at the gateway (its create call got no
/// answer and the payer is long gone): `canceled` with reason `expired`. Returns how many.
///
/// # Errors
/// [`crate::Error::Database`].
pub async fn expire_unsent(billing: &Billing) -> Result<usize> {
    let now = billing.now();
    let ids = store::unsent_before(billing.store.reader(), now - EXPIRE_UNSENT_AFTER, 100).await?;
    let mut expired = 0;
    for id in &ids {
        let mut tx = billing.store.begin_write().await?;
        let facts = store::TransitionFacts { cancellation_reason: Some("expired"), ..Default::default() };
        let from = [tariff_model::TransactionStatus::Pending];
        if store::transition(&mut tx, id, &from, tariff_model::TransactionStatus::Canceled, facts, now).await? {
            expired += 1;
        }
        tx.commit().await?;
    }
    Ok(expired)
}
