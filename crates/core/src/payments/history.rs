//! An account's transactions: the history, one transaction, and following a checkout until it
//! is final.

use super::notifications::apply_payment;
use crate::store::{Store, transactions as store};
use crate::tokens::UserRef;
use crate::{Billing, Error, Result};
use tariff_model::{Entity, Transaction};

/// One of the account's transactions.
///
/// # Errors
/// [`Error::NotFound`] for another account's or an unknown transaction; [`Error::Database`].
pub async fn transaction(db: &Store, user: &UserRef, id: &str) -> Result<Transaction> {
    store::get_for_account(db.reader(), id, &user.account_id)
        .await?
        .ok_or_else(|| Error::not_found(Entity::Transaction, id))
}

/// One of the account's transactions, brought up to date first: while it is pending, the gateway
/// is asked for the payment's status and the answer applied (as the notification would), so the
/// return page never waits on a slow or lost notification.
///
/// # Errors
/// As [`transaction`]. Gateway failures are logged; the stored state is returned then.
pub async fn follow(billing: &Billing, user: &UserRef, id: &str) -> Result<Transaction> {
    let current = transaction(&billing.store, user, id).await?;
    if let (true, Some(gateway), Some(payment_id)) =
        (current.status.is_open(), &billing.gateway, &current.yookassa_payment_id)
    {
        match gateway.get_payment(payment_id).await {
            Ok(payment) => {
                if let Err(e) = apply_payment(billing, &payment).await {
                    tracing::warn!(target: crate::LOG_TARGET, error = %e, %payment_id, "could not apply a followed payment");
                }
                return transaction(&billing.store, user, id).await;
            }
            Err(e) => {
                tracing::warn!(target: crate::LOG_TARGET, error = %e, %payment_id, "could not ask the payment provider about a payment")
            }
        }
    }
    Ok(current)
}

/// A page of the account's transactions (payments, renewals, refunds), newest first, and the
/// total count.
///
/// # Errors
/// [`Error::Database`].
pub async fn history(db: &Store, account_id: &str, limit: i64, offset: i64) -> Result<(Vec<Transaction>, i64)> {
    Ok(store::list_for_account(db.reader(), account_id, limit, offset).await?)
}
