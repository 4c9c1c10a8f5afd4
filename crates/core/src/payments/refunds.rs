//! Refunds of succeeded payments (admin; issue "YooKassa" §5): never more than was paid.

use super::provider_error;
use crate::audit::{self, Actor};
use crate::gateway::{GatewayError, RefundRequest, RefundState};
use crate::store::transactions::{self as store, NewTransaction};
use crate::{Billing, Error, Result};
use tariff_model::money::yookassa_amount;
use tariff_model::{Currency, Entity, Message, Transaction, TransactionKind, TransactionStatus};

/// The refund rule: only a succeeded payment (checkout, renewal or top-up) that reached the
/// provider may be refunded, and only what is left of it. Returns what is left, in minor units.
///
/// # Errors
/// [`Message::RefundNotAllowed`] for anything but such a payment; [`Message::NothingToRefund`]
/// when all of it was refunded (or is reserved for a refund in flight).
fn refundable_left(
    kind: TransactionKind,
    status: TransactionStatus,
    reached_provider: bool,
    amount: i64,
    refunded_minor: i64,
) -> std::result::Result<i64, Message> {
    if !(kind.is_payment() && status == TransactionStatus::Succeeded && reached_provider) {
        return Err(Message::RefundNotAllowed);
    }
    match amount - refunded_minor {
        left if left > 0 => Ok(left),
        _ => Err(Message::NothingToRefund),
    }
}

/// How much of `transaction` may still be refunded, in minor units (see [`refund`] for the rule);
/// `None` when it may not be refunded.
pub fn refundable_minor(transaction: &Transaction) -> Option<i64> {
    refundable_left(
        transaction.kind,
        transaction.status,
        transaction.yookassa_payment_id.is_some(),
        transaction.amount,
        transaction.refunded_minor,
    )
    .ok()
}

/// Refunds all or part of a succeeded payment. The amount (minor units; default: everything not
/// yet refunded) is reserved on the payment with one conditional update before the gateway is
/// asked, so refunds can never exceed what was paid; a refund transaction with its own
/// idempotence key records it; the whole change is audited.
///
/// # Errors
/// [`Error::NotFound`] for an unknown transaction; [`Error::Validation`] on `amount` for a
/// non-positive amount or more than is left, on `transaction_id` for a transaction that is not a
/// succeeded payment; [`Error::PaymentProvider`] when the gateway refuses (the reservation is
/// released); [`Error::Unavailable`] when it does not answer (the refund stays pending);
/// [`Error::Database`].
pub async fn refund(
    billing: &Billing,
    actor: &Actor,
    transaction_id: &str,
    amount: Option<i64>,
) -> Result<Transaction> {
    let db = &billing.store;
    let gateway = billing.gateway()?;
    if amount.is_some_and(|a| a <= 0) {
        return Err(Error::invalid("amount", Message::AmountNotPositive));
    }
    let original = store::find(db.reader(), transaction_id)
        .await?
        .ok_or_else(|| Error::not_found(Entity::Transaction, transaction_id))?;
    let refunded = original.refunded_minor;
    let left = refundable_left(
        original.kind,
        original.status,
        original.yookassa_payment_id.is_some(),
        original.amount,
        refunded,
    )
    .map_err(|m| match m {
        Message::RefundNotAllowed => Error::invalid("transaction_id", m),
        other => Error::invalid("amount", other),
    })?;
    let payment_id = original.yookassa_payment_id.clone().unwrap_or_default();
    let currency: Currency = original
        .currency
        .parse()
        .map_err(|_| Error::Internal(format!("transaction {} has an unknown currency", original.id)))?;
    let amount = amount.unwrap_or(left);
    let now = billing.now();
    let mut refund_row = NewTransaction::pending(
        TransactionKind::Refund,
        &original.user_id,
        &original.account_id,
        amount,
        &original.currency,
        format!("Refund of payment {}", original.id),
        format!("Возврат платежа {}", original.id),
        now,
    );
    refund_row.plan_id = original.plan_id.clone();
    refund_row.parent_transaction_id = Some(original.id.clone());
    refund_row.yookassa_payment_id = Some(payment_id.clone());
    let mut tx = db.begin_write().await?;
    if !store::reserve_refund(&mut tx, &original.id, amount, now).await? {
        return Err(Error::invalid(
            "amount",
            Message::RefundAtMost { amount_minor: original.amount - refunded, currency },
        ));
    }
    store::insert(&mut tx, &refund_row).await?;
    let changes = serde_json::json!({ "refunded_minor": { "before": refunded, "after": refunded + amount } });
    let description = format!("Refund of {} {} on payment {}", yookassa_amount(amount), original.currency, original.id);
    audit::record(&mut tx, actor, "transaction.refund", "transaction", &original.id, description, changes, now).await?;
    tx.commit().await?;

    let request = RefundRequest {
        payment_id,
        amount_minor: amount,
        currency,
        description: refund_row.description.clone(),
        metadata: std::collections::BTreeMap::from([("transaction_id".to_owned(), refund_row.id.clone())]),
    };
    match gateway.create_refund(&request, &refund_row.idempotence_key).await {
        Ok(refund) => {
            let status = match refund.state {
                RefundState::Succeeded => Some(TransactionStatus::Succeeded),
                RefundState::Canceled => Some(TransactionStatus::Canceled),
                RefundState::Pending => None,
            };
            let mut tx = db.begin_write().await?;
            store::set_refund(&mut tx, &refund_row.id, &refund.id, refund.state.as_str(), status, billing.now())
                .await?;
            store::mark_refunded_if_full(&mut tx, &original.id, billing.now()).await?;
            tx.commit().await?;
        }
        Err(e @ GatewayError::Refused { .. }) => {
            let mut tx = db.begin_write().await?;
            store::release_refund(&mut tx, &original.id, amount, billing.now()).await?;
            store::mark_rejected(&mut tx, &refund_row.id, billing.now()).await?;
            tx.commit().await?;
            return Err(provider_error(e));
        }
        Err(e) => return Err(provider_error(e)),
    }
    store::get_by_id(db.reader(), &refund_row.id)
        .await?
        .ok_or_else(|| Error::Internal("refund transaction vanished".into()))
}
