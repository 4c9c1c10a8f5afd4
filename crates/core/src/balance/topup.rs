//! Top-ups (seed 004 `top_up()`): a YooKassa payment of kind `topup`, made exactly like a
//! checkout; its verified success credits the ledger once ([`credit_paid_topup`], called by the
//! notification and polling paths).

use crate::payments::checkout::{MAX_RETURN_URL, PaymentRequestParts, start_payment, valid_return_url};
use crate::store::WriteTx;
use crate::store::balances::{self, Applied, Movement};
use crate::store::transactions::NewTransaction;
use crate::tokens::UserRef;
use crate::{Billing, Error, Result};
use tariff_model::api::Checkout;
use tariff_model::balance::micros_from_minor;
use tariff_model::money::DecimalText;
use tariff_model::{BalanceReason, Entity, Message, TransactionKind};

/// Starts a top-up of `amount` (decimal in major units) for `user`'s account.
///
/// # Errors
/// [`Error::Validation`] on `amount` (not exact, not positive, outside the server's limits) or
/// `return_url`; as [`crate::payments::checkout`] for the payment itself.
pub async fn topup(billing: &Billing, user: &UserRef, amount: &DecimalText, return_url: &str) -> Result<Checkout> {
    topup_returning(billing, user, amount, |_| return_url.to_owned()).await
}

/// [`topup`] with a return URL built from the new transaction's id (the portal's return page).
///
/// # Errors
/// As [`topup`].
pub async fn topup_returning(
    billing: &Billing,
    user: &UserRef,
    amount: &DecimalText,
    return_url: impl FnOnce(&str) -> String,
) -> Result<Checkout> {
    user.require_payer()?;
    let minor = amount.minor().map_err(|e| Error::invalid("amount", e.into()))?;
    let (min, max) = (billing.settings.topup_min_minor, billing.settings.topup_max_minor);
    let account = balances::get(billing.store.reader(), &user.account_id)
        .await?
        .ok_or_else(|| Error::not_found(Entity::User, &user.id))?;
    if minor <= 0 {
        return Err(Error::invalid("amount", Message::AmountNotPositive));
    }
    if minor < min || minor > max {
        return Err(Error::invalid(
            "amount",
            Message::TopupRange { min_minor: min, max_minor: max, currency: account.currency },
        ));
    }
    let now = billing.now();
    let transaction = NewTransaction::pending(
        TransactionKind::Topup,
        &user.id,
        &user.account_id,
        minor,
        account.currency.code(),
        format!("Balance top-up, {} {}", tariff_model::money::yookassa_amount(minor), account.currency),
        format!("Пополнение баланса, {} {}", tariff_model::money::yookassa_amount(minor), account.currency),
        now,
    );
    let return_url = return_url(&transaction.id);
    if !valid_return_url(&return_url) {
        return Err(Error::invalid("return_url", Message::ReturnUrlInvalid { max: MAX_RETURN_URL }));
    }
    let parts = PaymentRequestParts {
        amount_minor: minor,
        currency: account.currency,
        save_payment_method: false,
        metadata: std::collections::BTreeMap::from([
            ("transaction_id".to_owned(), transaction.id.clone()),
            ("user_id".to_owned(), user.id.clone()),
            ("kind".to_owned(), TransactionKind::Topup.as_str().to_owned()),
        ]),
    };
    start_payment(billing, user, transaction, return_url, parts).await
}

/// Credits a succeeded top-up transaction to its account's ledger, in `tx` (the transaction
/// that marks it succeeded), then pays from it what the account owes. Once per transaction: the
/// ledger's unique (reason, reference) refuses a second credit. Returns the balance after, in micro-minor units, or `None` when it
/// was credited before.
///
/// # Errors
/// [`Error::Database`]; [`Error::Internal`] for an amount beyond what a balance holds.
pub(crate) async fn credit_paid_topup(
    tx: &mut WriteTx,
    account_id: &str,
    transaction_id: &str,
    amount_minor: i64,
    now: i64,
) -> Result<Option<i64>> {
    let micros = micros_from_minor(amount_minor).ok_or_else(|| Error::Internal("top-up amount overflows".into()))?;
    let movement = Movement {
        account_id,
        delta_micros: micros,
        reason: BalanceReason::Topup,
        reference: Some(transaction_id),
        actor: Some("system"),
        description: None,
        now,
    };
    match balances::apply(tx, &movement).await? {
        Applied::Moved { balance_micros, .. } => {
            // What the account owes for usage already had is paid first.
            let owed = balances::settle_owed(tx, account_id, micros, now).await?;
            if owed == 0 {
                return Ok(Some(balance_micros));
            }
            let reference = format!("owed:{transaction_id}");
            let settle = Movement {
                account_id,
                delta_micros: -owed,
                reason: BalanceReason::Charge,
                reference: Some(&reference),
                actor: Some("system"),
                description: Some("usage owed, settled by the top-up"),
                now,
            };
            match balances::apply(tx, &settle).await? {
                Applied::Moved { balance_micros, .. } => Ok(Some(balance_micros)),
                _ => Err(Error::Internal("settling what is owed from a fresh credit failed".into())),
            }
        }
        Applied::Duplicate => Ok(None),
        Applied::Insufficient { .. } => Err(Error::Internal("a credit cannot be refused".into())),
        Applied::TooLarge => Err(Error::Internal(format!(
            "top-up {transaction_id} would take the balance of account {account_id} past its maximum"
        ))),
    }
}
