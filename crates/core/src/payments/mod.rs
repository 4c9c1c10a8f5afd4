//! Payments through the payment gateway (DESIGN.md "Paying", "Idempotency everywhere money
//! moves", "Webhooks are never trusted"), one file per use case: `checkout`, `notifications`,
//! `refunds`, `renewals`, `polling` and `history`.
//!
//! A pending transaction with a fresh idempotence key is stored *before* the gateway is called,
//! and the key is reused on every retry. Notifications are stored in the inbox first; the object
//! is then fetched again and only the gateway's answer is acted on. Applying is idempotent and
//! order-safe: every transaction move is a conditional update from the states it may leave, so a
//! redelivered `payment.succeeded` extends nothing twice and a late `payment.canceled` cannot undo
//! a success.

pub mod checkout;
pub mod history;
pub mod notifications;
pub mod polling;
pub mod refunds;
pub mod renewals;

use crate::Error;
use crate::gateway::GatewayError;
use crate::store::transactions::NewTransaction;
use tariff_model::{Interval, Message, Plan, TransactionKind};

pub use checkout::{checkout, checkout_returning};
pub use history::{follow, history, transaction};
pub use notifications::{Outcome, apply_payment, process_notification, receive_notification, sweep_notifications};
pub use polling::{
    EXPIRE_UNSENT_AFTER, POLL_PENDING_AFTER, expire_unsent, poll_pending, refund_card_checks, resend_unanswered,
};
pub use refunds::{RECONCILE_REFUNDS_AFTER, reconcile_refunds, refund, refundable_minor};
pub use renewals::{RENEWAL_RETRY_AFTER, charge_due_renewals};

/// A gateway failure as the billing rules report it: a refusal is 502 with the provider's text
/// for operators; no answer is 503 (retry later).
pub(crate) fn provider_error(e: GatewayError) -> Error {
    match e {
        GatewayError::Refused { detail, code, status } => {
            tracing::warn!(target: crate::LOG_TARGET, status, %code, %detail, "the payment provider refused a request");
            Error::PaymentProvider { code, detail }
        }
        GatewayError::Unavailable(_) => Error::Unavailable(Message::ProviderUnavailable),
        GatewayError::Decode(message) => Error::Internal(format!("unexpected payment provider response: {message}")),
    }
}

/// "1 month" in the stored English and Russian descriptions of a payment.
fn one_period(interval: Interval) -> (&'static str, &'static str) {
    match interval {
        Interval::Day => ("day", "день"),
        Interval::Week => ("week", "неделю"),
        Interval::Month => ("month", "мес."),
        Interval::Year => ("year", "год"),
    }
}

/// A pending payment of one period of `plan` (`subscription` for a checkout, `renewal` for a
/// charge of the saved card), described in both languages.
pub(crate) fn plan_transaction(
    kind: TransactionKind,
    user_id: &str,
    account_id: &str,
    plan: &Plan,
    now: i64,
) -> NewTransaction {
    let (period, period_ru) = one_period(plan.interval);
    let name_ru = plan.name_ru.as_deref().unwrap_or(&plan.name);
    let (description, description_ru) = if kind == TransactionKind::Renewal {
        (format!("{} plan renewal, 1 {period}", plan.name), format!("Продление тарифа «{name_ru}», 1 {period_ru}"))
    } else {
        (format!("{} plan, 1 {period}", plan.name), format!("Тариф «{name_ru}», 1 {period_ru}"))
    };
    let mut row = NewTransaction::pending(
        kind,
        user_id,
        account_id,
        plan.price_minor,
        plan.currency.code(),
        description,
        description_ru,
        now,
    );
    row.plan_id = Some(plan.id.clone());
    row.plan_snapshot = Some(plan_snapshot(plan));
    row
}

/// The plan as sold, for the transaction (JSON).
pub(crate) fn plan_snapshot(plan: &Plan) -> String {
    serde_json::to_string(plan).expect("a plan serialises")
}

/// The metadata every payment carries: our transaction, user, plan and kind.
pub(crate) fn payment_metadata(
    transaction_id: &str,
    user_id: &str,
    plan_id: &str,
    kind: TransactionKind,
) -> std::collections::BTreeMap<String, String> {
    std::collections::BTreeMap::from([
        ("transaction_id".to_owned(), transaction_id.to_owned()),
        ("user_id".to_owned(), user_id.to_owned()),
        ("plan_id".to_owned(), plan_id.to_owned()),
        ("kind".to_owned(), kind.as_str().to_owned()),
    ])
}
