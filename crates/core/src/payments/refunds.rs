//! Refunds of succeeded payments (admin; issue "YooKassa" §5): never more than was paid.

use super::provider_error;
use crate::audit::{self, Actor};
use crate::gateway::{GatewayError, RefundRequest, RefundState};
use crate::store::WriteTx;
use crate::store::balances::{self, Applied, Movement};
use crate::store::transactions::{self as store, NewTransaction};
use crate::{Billing, Error, Result};
use tariff_model::balance::{micros_from_minor, minor_from_micros};
use tariff_model::money::yookassa_amount;
use tariff_model::{BalanceReason, Currency, Entity, Message, Transaction, TransactionKind, TransactionStatus};

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
/// succeeded payment, and for a top-up beyond what of it is still unspent (the refund debits the
/// balance in the same transaction that reserves it, and a refund that does not go through
/// credits it back as a `reversal`); [`Error::PaymentProvider`] when the gateway refuses (the
/// reservation is released); [`Error::Unavailable`] when it does not answer (the refund stays pending);
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
    if original.kind == TransactionKind::Topup {
        // What a top-up credited goes back with it: only what is still unspent can be refunded.
        let micros = micros_from_minor(amount).ok_or_else(|| Error::invalid("amount", Message::AmountTooLarge))?;
        let movement = Movement {
            account_id: &original.account_id,
            delta_micros: -micros,
            reason: BalanceReason::Refund,
            reference: Some(&refund_row.id),
            actor: Some(&actor.user_id),
            description: Some(&refund_row.description),
            now,
        };
        if let Applied::Insufficient { balance_micros, currency } = balances::apply(&mut tx, &movement).await? {
            tx.rollback().await?;
            return Err(Error::invalid(
                "amount",
                Message::RefundBeyondUnspent { amount_minor: minor_from_micros(balance_micros).min(left), currency },
            ));
        }
    }
    let changes = serde_json::json!({ "refunded_minor": { "before": refunded, "after": refunded + amount } });
    let description = format!("Refund of {} {} on payment {}", yookassa_amount(amount), original.currency, original.id);
    audit::record(&mut tx, actor, "transaction.refund", "transaction", &original.id, description, changes, now).await?;
    tx.commit().await?;
    tracing::info!(
        target: crate::LOG_TARGET,
        transaction_id = %original.id, refund_transaction = %refund_row.id, amount_minor = amount,
        "refund requested: {} {} of payment {}", yookassa_amount(amount), original.currency, original.id
    );

    let request = RefundRequest {
        payment_id,
        amount_minor: amount,
        currency,
        description: refund_row.description.clone(),
        metadata: std::collections::BTreeMap::from([("transaction_id".to_owned(), refund_row.id.clone())]),
    };
    match gateway.create_refund(&request, &refund_row.idempotence_key).await {
        Ok(refund) => {
            let mut tx = db.begin_write().await?;
            store::set_refund(&mut tx, &refund_row.id, &refund.id, refund.state.as_str(), None, billing.now()).await?;
            tx.commit().await?;
            let row = store::RefundRef {
                id: refund_row.id.clone(),
                status: TransactionStatus::Pending,
                parent_transaction_id: Some(original.id.clone()),
                yookassa_payment_id: Some(request.payment_id.clone()),
                yookassa_refund_id: Some(refund.id.clone()),
                amount,
                currency: original.currency.clone(),
                description: Some(refund_row.description.clone()),
                idempotence_key: refund_row.idempotence_key.clone(),
            };
            apply_refund(billing, &row, &refund).await?;
        }
        Err(e @ GatewayError::Refused { .. }) => {
            let mut tx = db.begin_write().await?;
            give_back(&mut tx, &original.id, &refund_row.id, amount, billing.now()).await?;
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

/// Why a succeeded payment is given back instead of applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unapplicable {
    /// Its amount or currency is not what its transaction asked for (tampered or mistaken).
    AmountMismatch,
    /// A prorated upgrade paid after the subscription it was priced for changed: another
    /// payment upgraded it already, or the period it paid the rest of has ended.
    PlanChanged,
}

impl Unapplicable {
    /// The transaction's `cancellation_reason`.
    fn reason(self) -> &'static str {
        match self {
            Unapplicable::AmountMismatch => "amount_mismatch",
            Unapplicable::PlanChanged => "plan_changed",
        }
    }
}

/// A payment that cannot be applied (see [`Unapplicable`]): nothing is sold; the transaction
/// fails with the reason and the whole payment is given back, with a refund transaction that
/// records it.
///
/// # Errors
/// [`Error::Database`]; the gateway's refusal or silence is logged (the refund stays pending for
/// an operator).
pub(crate) async fn refund_unapplicable(
    billing: &Billing,
    transaction: &store::TransactionRef,
    payment: &crate::gateway::Payment,
    why: Unapplicable,
) -> Result<super::Outcome> {
    let db = &billing.store;
    let now = billing.now();
    tracing::error!(
        target: crate::LOG_TARGET,
        transaction_id = %transaction.id, payment_id = %payment.id, reason = why.reason(),
        expected = transaction.amount, paid = payment.amount_minor, currency = %payment.currency,
        "a succeeded payment cannot be applied; refunding it"
    );
    let mut tx = db.begin_write().await?;
    let facts = store::TransitionFacts {
        provider_status: Some(crate::gateway::PaymentState::Succeeded.as_str()),
        cancellation_reason: Some(why.reason()),
        ..Default::default()
    };
    let from = [TransactionStatus::Pending, TransactionStatus::WaitingForCapture];
    if !store::transition(&mut tx, &transaction.id, &from, TransactionStatus::Failed, facts, now).await? {
        return Ok(super::Outcome::Ignored(format!(
            "transaction {} was already {}",
            transaction.id, transaction.status
        )));
    }
    let currency: Currency = payment.currency.parse().unwrap_or(Currency::Rub);
    let mut refund_row = NewTransaction::pending(
        TransactionKind::Refund,
        &transaction.user_id,
        &transaction.account_id,
        payment.amount_minor,
        currency.code(),
        match why {
            Unapplicable::AmountMismatch => format!("Refund of mismatched payment {}", payment.id),
            Unapplicable::PlanChanged => {
                format!("Refund of upgrade payment {} (the plan changed meanwhile)", payment.id)
            }
        },
        match why {
            Unapplicable::AmountMismatch => format!("Возврат платежа с неверной суммой {}", payment.id),
            Unapplicable::PlanChanged => format!("Возврат доплаты {} (тариф уже изменился)", payment.id),
        },
        now,
    );
    refund_row.parent_transaction_id = Some(transaction.id.clone());
    refund_row.yookassa_payment_id = Some(payment.id.clone());
    store::insert(&mut tx, &refund_row).await?;
    tx.commit().await?;
    let request = RefundRequest {
        payment_id: payment.id.clone(),
        amount_minor: payment.amount_minor,
        currency,
        description: refund_row.description.clone(),
        metadata: std::collections::BTreeMap::from([("transaction_id".to_owned(), refund_row.id.clone())]),
    };
    match billing.gateway()?.create_refund(&request, &refund_row.idempotence_key).await {
        Ok(refund) => {
            let status = (refund.state == RefundState::Succeeded).then_some(TransactionStatus::Succeeded);
            let mut tx = db.begin_write().await?;
            store::set_refund(&mut tx, &refund_row.id, &refund.id, refund.state.as_str(), status, billing.now())
                .await?;
            tx.commit().await?;
        }
        Err(e) => {
            tracing::error!(target: crate::LOG_TARGET, error = %e, payment_id = %payment.id, "refunding an unapplicable payment failed")
        }
    }
    Ok(super::Outcome::Applied(match why {
        Unapplicable::AmountMismatch => format!(
            "transaction {} failed: paid {} {} instead of {} {}; refunded",
            transaction.id, payment.amount_minor, payment.currency, transaction.amount, transaction.currency
        ),
        Unapplicable::PlanChanged => {
            format!(
                "transaction {} failed: the subscription changed before the upgrade was paid; refunded",
                transaction.id
            )
        }
    }))
}

/// Applies a refund as the gateway reports it to its refund transaction, once: `succeeded` makes
/// it final (and a fully refunded payment `refunded`); `canceled` gives the reserved amount back
/// to the payment; `pending` changes nothing.
///
/// # Errors
/// [`Error::Database`].
pub(crate) async fn apply_refund(
    billing: &Billing,
    row: &store::RefundRef,
    refund: &crate::gateway::Refund,
) -> Result<super::Outcome> {
    let now = billing.now();
    let to = match refund.state {
        RefundState::Pending => {
            return Ok(super::Outcome::Ignored(format!("refund {} is still pending", refund.id)));
        }
        RefundState::Succeeded => TransactionStatus::Succeeded,
        RefundState::Canceled => TransactionStatus::Canceled,
    };
    let mut tx = billing.store.begin_write().await?;
    store::set_refund(&mut tx, &row.id, &refund.id, refund.state.as_str(), None, now).await?;
    let facts = store::TransitionFacts { provider_status: Some(refund.state.as_str()), ..Default::default() };
    let moved = store::transition(&mut tx, &row.id, &[TransactionStatus::Pending], to, facts, now).await?;
    if moved && let Some(parent) = &row.parent_transaction_id {
        match to {
            TransactionStatus::Canceled => give_back(&mut tx, parent, &row.id, row.amount, now).await?,
            _ => store::mark_refunded_if_full(&mut tx, parent, now).await?,
        }
    }
    tx.commit().await?;
    Ok(if moved {
        super::Outcome::Applied(format!("refund transaction {} {}", row.id, to))
    } else {
        super::Outcome::Ignored(format!("refund transaction {} was already {}", row.id, row.status))
    })
}

/// A refund that did not happen (refused, canceled): its reservation goes back to the payment,
/// and what it took from the balance (a top-up's refund) is credited back once, as a `reversal`.
async fn give_back(tx: &mut WriteTx, parent_id: &str, refund_id: &str, amount: i64, now: i64) -> Result<()> {
    store::release_refund(tx, parent_id, amount, now).await?;
    let Some(parent) = store::find(tx.conn(), parent_id).await? else { return Ok(()) };
    if let Some(taken) = balances::find_entry(tx.conn(), &parent.account_id, BalanceReason::Refund, refund_id).await? {
        let movement = Movement {
            account_id: &parent.account_id,
            delta_micros: -taken,
            reason: BalanceReason::Reversal,
            reference: Some(refund_id),
            actor: Some("system"),
            description: Some("refund did not go through"),
            now,
        };
        balances::apply(tx, &movement).await?;
    }
    Ok(())
}

/// How long a refund may stay pending before the reconciler looks at it, in seconds.
pub const RECONCILE_REFUNDS_AFTER: i64 = 60;

/// Brings refunds left `pending` up to date (the sweeper job): one whose create call got no
/// answer (a timeout, a crash after the reservation) is sent again with its stored idempotence
/// key and the same body; one YooKassa knows is fetched and applied. A refused one gives its
/// reservation back. Returns how many it looked at.
///
/// # Errors
/// [`Error::Database`]. Gateway failures are logged and retried on the next run.
pub async fn reconcile_refunds(billing: &Billing) -> Result<usize> {
    let Some(gateway) = &billing.gateway else {
        return Ok(0);
    };
    let now = billing.now();
    let rows = store::pending_refunds(billing.store.reader(), now - RECONCILE_REFUNDS_AFTER, 50).await?;
    for row in &rows {
        let answer = match &row.yookassa_refund_id {
            Some(refund_id) => gateway.get_refund(refund_id).await,
            None => {
                let Ok(currency) = row.currency.parse::<Currency>() else { continue };
                let request = RefundRequest {
                    payment_id: row.yookassa_payment_id.clone().unwrap_or_default(),
                    amount_minor: row.amount,
                    currency,
                    description: row.description.clone().unwrap_or_default(),
                    metadata: std::collections::BTreeMap::from([("transaction_id".to_owned(), row.id.clone())]),
                };
                gateway.create_refund(&request, &row.idempotence_key).await
            }
        };
        match answer {
            Ok(refund) => {
                if let Err(e) = apply_refund(billing, row, &refund).await {
                    tracing::warn!(target: crate::LOG_TARGET, error = %e, refund_transaction = %row.id, "could not apply a reconciled refund");
                }
            }
            Err(GatewayError::Refused { .. }) if row.yookassa_refund_id.is_none() => {
                let mut tx = billing.store.begin_write().await?;
                if store::mark_rejected(&mut tx, &row.id, now).await?
                    && let Some(parent) = &row.parent_transaction_id
                {
                    give_back(&mut tx, parent, &row.id, row.amount, now).await?;
                }
                tx.commit().await?;
            }
            Err(e) => {
                tracing::warn!(target: crate::LOG_TARGET, error = %e, refund_transaction = %row.id, "could not reconcile a refund; will retry")
            }
        }
        let mut tx = billing.store.begin_write().await?;
        store::touch_id(&mut tx, &row.id, now).await?;
        tx.commit().await?;
    }
    Ok(rows.len())
}
