//! Checkout: paying for one period of a plan through the gateway's confirmation page.

use super::{payment_metadata, plan_transaction, provider_error};
use crate::gateway::{GatewayError, PaymentRequest, Receipt, ReceiptLine};
use crate::store::transactions::NewTransaction;
use crate::store::{plans, transactions as store};
use crate::tokens::UserRef;
use crate::{Billing, Error, Result};
use tariff_model::api::Checkout;
use tariff_model::{Entity, Message, TransactionKind};

/// Longest accepted return URL, in characters.
pub const MAX_RETURN_URL: u32 = 2048;

pub(crate) fn valid_return_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= MAX_RETURN_URL as usize
        && !url.contains(char::is_whitespace)
}

/// Starts paying for `plan_id`: stores a pending transaction, creates the payment (`capture`,
/// `save_payment_method` for later renewals, a 54-FZ receipt when configured) and returns the
/// `confirmation_url` to send the payer to.
///
/// # Errors
/// [`Error::Forbidden`] for a plain member of the organisation billed (owners and admins pay);
/// [`Error::NotFound`] for an unknown plan; [`Error::Validation`] for a free or inactive plan or a
/// bad `return_url`; [`Error::Unavailable`] when payments are not configured or the gateway does
/// not answer (the transaction stays pending with its key, for the sweeper);
/// [`Error::PaymentProvider`] when the gateway refuses (the transaction is marked failed);
/// [`Error::Database`].
pub async fn checkout(billing: &Billing, user: &UserRef, plan_id: &str, return_url: &str) -> Result<Checkout> {
    checkout_returning(billing, user, plan_id, |_| return_url.to_owned()).await
}

/// [`checkout`] with a return URL built from the new transaction's id (the portal's return page
/// follows that transaction).
///
/// # Errors
/// As [`checkout`].
pub async fn checkout_returning(
    billing: &Billing,
    user: &UserRef,
    plan_id: &str,
    return_url: impl FnOnce(&str) -> String,
) -> Result<Checkout> {
    user.require_payer()?;
    let db = &billing.store;
    let plan = plans::get(db.reader(), plan_id).await?.ok_or_else(|| Error::not_found(Entity::Plan, plan_id))?;
    if !plan.is_active {
        return Err(Error::invalid("plan_id", Message::PlanNotForSale));
    }
    if plan.is_free() {
        return Err(Error::invalid("plan_id", Message::FreePlanNeedsNoPayment));
    }
    let now = billing.now();
    let transaction = plan_transaction(TransactionKind::Subscription, &user.id, &user.account_id, &plan, now);
    let return_url = return_url(&transaction.id);
    if !valid_return_url(&return_url) {
        return Err(Error::invalid("return_url", Message::ReturnUrlInvalid { max: MAX_RETURN_URL }));
    }
    let request = PaymentRequestParts {
        amount_minor: plan.price_minor,
        currency: plan.currency,
        save_payment_method: true,
        metadata: payment_metadata(&transaction.id, &user.id, &plan.id, transaction.kind),
    };
    start_payment(billing, user, transaction, return_url, request).await
}

/// What differs between the payments [`start_payment`] makes (a plan's checkout, a top-up).
pub(crate) struct PaymentRequestParts {
    pub amount_minor: i64,
    pub currency: tariff_model::Currency,
    /// Save the card for renewals (checkouts); a top-up saves nothing.
    pub save_payment_method: bool,
    pub metadata: std::collections::BTreeMap<String, String>,
}

/// Stores `transaction` (pending, with its idempotence key) *before* the gateway hears of it,
/// creates the payment (a 54-FZ receipt when configured) and returns where to send the payer.
///
/// # Errors
/// [`Error::Unavailable`] when payments are not configured or the gateway does not answer (the
/// transaction stays pending with its key); [`Error::PaymentProvider`] when the gateway refuses
/// (the transaction is marked failed); [`Error::Database`].
pub(crate) async fn start_payment(
    billing: &Billing,
    user: &UserRef,
    mut transaction: NewTransaction,
    return_url: String,
    parts: PaymentRequestParts,
) -> Result<Checkout> {
    let db = &billing.store;
    let gateway = billing.gateway()?;
    let description: String = transaction.description.chars().take(128).collect();
    let receipt = billing.settings.receipts.then(|| Receipt {
        customer_email: user.email.clone(),
        lines: vec![ReceiptLine {
            description: description.clone(),
            amount_minor: parts.amount_minor,
            vat_code: billing.settings.vat_code,
        }],
    });
    let request = PaymentRequest {
        amount_minor: parts.amount_minor,
        currency: parts.currency,
        description,
        return_url: Some(return_url),
        payment_method_id: None,
        save_payment_method: parts.save_payment_method,
        metadata: parts.metadata,
        receipt,
    };
    transaction.gateway_request = Some(serde_json::to_string(&request).map_err(|e| Error::Internal(e.to_string()))?);
    let mut tx = db.begin_write().await?;
    store::insert(&mut tx, &transaction).await?;
    tx.commit().await?;
    match gateway.create_payment(&request, &transaction.idempotence_key).await {
        Ok(payment) => {
            let mut tx = db.begin_write().await?;
            store::set_payment(&mut tx, &transaction.id, &payment.id, payment.state.as_str(), billing.now()).await?;
            tx.commit().await?;
            let confirmation_url = payment
                .confirmation_url
                .ok_or_else(|| Error::Internal("the payment provider returned no confirmation_url".into()))?;
            tracing::info!(
                target: crate::LOG_TARGET,
                transaction_id = %transaction.id, payment_id = %payment.id, kind = transaction.kind.as_str(),
                amount_minor = parts.amount_minor, currency = parts.currency.code(),
                "payment created for user {}: {}", user.id, transaction.description
            );
            Ok(Checkout {
                transaction_id: transaction.id,
                payment_id: payment.id,
                confirmation_url,
                status: payment.state.as_str().to_owned(),
            })
        }
        Err(e @ GatewayError::Refused { .. }) => {
            let mut tx = db.begin_write().await?;
            store::mark_rejected(&mut tx, &transaction.id, billing.now()).await?;
            tx.commit().await?;
            Err(provider_error(e))
        }
        Err(e) => Err(provider_error(e)),
    }
}
