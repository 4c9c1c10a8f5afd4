//! Payments through YooKassa (DESIGN.md "Paying", "Idempotency everywhere money moves",
//! "Webhooks are never trusted").
//!
//! Checkout: a pending transaction with a fresh idempotence key is stored *before* YooKassa is
//! called, and the key is reused on every retry. Notifications are stored in the inbox first; the
//! object is then re-fetched from YooKassa and only its answer is acted on. Applying is
//! idempotent and order-safe: every transaction move is a conditional update from the states it
//! may leave, so a redelivered `payment.succeeded` extends nothing twice and a late
//! `payment.canceled` cannot undo a success.

use super::subscriptions;
use super::tokens::UserRef;
use crate::model::Transaction;
use crate::server::error::{Error, Result};
use crate::server::state::AppState;
use crate::server::store::{plans, transactions as store, webhooks};
use crate::server::yookassa::client::YooKassaError;
use crate::server::yookassa::{
    Amount, Confirmation, CreatePayment, Notification, Payment, Receipt, ReceiptCustomer, ReceiptItem,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// What `POST /api/v1/billing/payment` answers: where to send the payer.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Checkout {
    pub transaction_id: String,
    pub payment_id: String,
    pub confirmation_url: String,
    /// YooKassa's status of the new payment, normally `pending`.
    pub status: String,
}

fn provider_error(e: YooKassaError) -> Error {
    match e {
        YooKassaError::Api { error, .. } => Error::PaymentProvider(error.description.unwrap_or(error.code)),
        YooKassaError::Unavailable { .. } => {
            Error::Unavailable("The payment provider did not answer; try again in a minute.".into())
        }
        YooKassaError::Decode(message) => Error::Internal(format!("unexpected YooKassa response: {message}")),
    }
}

/// A pending payment of one period of `plan` (`subscription` for a checkout, `renewal` for a
/// charge of the saved card), described in both languages.
fn plan_transaction(
    kind: &'static str,
    user_id: &str,
    account_id: &str,
    plan: &crate::model::Plan,
    now: i64,
) -> store::NewTransaction {
    use crate::ui::{format::per_interval, i18n::Locale};
    let period = per_interval(plan.interval, Locale::En);
    let period_ru = per_interval(plan.interval, Locale::Ru);
    let name_ru = plan.name_ru.as_deref().unwrap_or(&plan.name);
    let (description, description_ru) = if kind == "renewal" {
        (format!("{} plan renewal, 1 {period}", plan.name), format!("Продление тарифа «{name_ru}», 1 {period_ru}"))
    } else {
        (format!("{} plan, 1 {period}", plan.name), format!("Тариф «{name_ru}», 1 {period_ru}"))
    };
    let mut row = store::NewTransaction::pending(
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
    row
}

fn valid_return_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2048
        && !url.contains(char::is_whitespace)
}

/// Starts paying for `plan_id`: stores a pending transaction, creates the YooKassa payment
/// (`capture: true`, `save_payment_method: true` for recurring plans, a 54-FZ receipt when
/// configured) and returns the `confirmation_url` to send the payer to.
///
/// # Errors
/// [`Error::NotFound`] for an unknown plan; [`Error::Validation`] for a free or inactive plan or a
/// bad `return_url`; [`Error::Unavailable`] when payments are not configured or YooKassa does not
/// answer (the transaction stays pending with its key, for the sweeper); [`Error::PaymentProvider`]
/// when YooKassa refuses (the transaction is marked failed); [`Error::Database`].
pub async fn checkout(state: &AppState, user: &UserRef, plan_id: &str, return_url: &str) -> Result<Checkout> {
    checkout_returning(state, user, plan_id, |_| return_url.to_owned()).await
}

/// [`checkout`] with a return URL built from the new transaction's id (the portal's return page
/// follows that transaction).
///
/// # Errors
/// As [`checkout`].
pub async fn checkout_returning(
    state: &AppState,
    user: &UserRef,
    plan_id: &str,
    return_url: impl FnOnce(&str) -> String,
) -> Result<Checkout> {
    let plan = plans::get(state.store.pool(), plan_id).await?.ok_or_else(|| Error::not_found("plan", plan_id))?;
    if !plan.is_active {
        return Err(Error::invalid("plan_id", "This plan is not available for purchase"));
    }
    if plan.is_free() {
        return Err(Error::invalid("plan_id", "Free plans need no payment"));
    }
    let now = state.now();
    let transaction = plan_transaction("subscription", &user.id, &user.account_id, &plan, now);
    let return_url = return_url(&transaction.id);
    if !valid_return_url(&return_url) {
        return Err(Error::invalid("return_url", "Give an http(s) URL of at most 2048 characters"));
    }
    let Some(client) = &state.yookassa else {
        return Err(Error::Unavailable("Payments are not configured on this server.".into()));
    };
    // The key is durable before YooKassa hears of the payment.
    store::insert(state.store.pool(), &transaction).await?;

    let metadata = BTreeMap::from([
        ("transaction_id".to_owned(), transaction.id.clone()),
        ("user_id".to_owned(), user.id.clone()),
        ("plan_id".to_owned(), plan.id.clone()),
        ("kind".to_owned(), transaction.kind.to_owned()),
    ]);
    let amount = Amount::from_minor(plan.price_minor, plan.currency.code());
    let receipt = state.config.receipts.then(|| Receipt {
        customer: ReceiptCustomer { email: Some(user.email.clone()) },
        items: vec![ReceiptItem {
            description: transaction.description.chars().take(128).collect(),
            quantity: "1.00".into(),
            amount: amount.clone(),
            vat_code: state.config.vat_code,
            payment_subject: Some("service".into()),
            payment_mode: Some("full_payment".into()),
        }],
    });
    let request = CreatePayment {
        amount: Some(amount),
        description: Some(transaction.description.chars().take(128).collect()),
        capture: true,
        confirmation: Some(Confirmation {
            kind: "redirect".into(),
            confirmation_url: None,
            return_url: Some(return_url),
        }),
        save_payment_method: true,
        payment_method_id: None,
        metadata,
        receipt,
    };
    match client.create_payment(&request, &transaction.idempotence_key).await {
        Ok(payment) => {
            store::set_payment(state.store.pool(), &transaction.id, &payment.id, &payment.status, state.now()).await?;
            let confirmation_url = payment
                .confirmation
                .and_then(|c| c.confirmation_url)
                .ok_or_else(|| Error::Internal("YooKassa returned no confirmation_url".into()))?;
            Ok(Checkout {
                transaction_id: transaction.id,
                payment_id: payment.id,
                confirmation_url,
                status: payment.status,
            })
        }
        Err(e @ YooKassaError::Api { .. }) => {
            store::mark_rejected(state.store.pool(), &transaction.id, state.now()).await?;
            Err(provider_error(e))
        }
        Err(e) => Err(provider_error(e)),
    }
}

/// One of the account's transactions (the return page follows it until it is final).
///
/// # Errors
/// [`Error::NotFound`] for another account's or an unknown transaction; [`Error::Database`].
pub async fn transaction(state: &AppState, user: &UserRef, id: &str) -> Result<Transaction> {
    store::get_for_account(state.store.pool(), id, &user.account_id)
        .await?
        .ok_or_else(|| Error::not_found("transaction", id))
}

/// One of the account's transactions, brought up to date first: while it is pending, YooKassa is
/// asked for the payment's status and the answer applied (as the notification would), so the
/// return page never waits on a slow or lost notification.
///
/// # Errors
/// As [`transaction`]. YooKassa failures are logged; the stored state is returned then.
pub async fn follow(state: &AppState, user: &UserRef, id: &str) -> Result<Transaction> {
    let current = transaction(state, user, id).await?;
    let pending = matches!(current.status.as_str(), "pending" | "waiting_for_capture");
    if let (true, Some(client), Some(payment_id)) = (pending, &state.yookassa, &current.yookassa_payment_id) {
        match client.get_payment(payment_id).await {
            Ok(payment) => {
                if let Err(e) = apply_payment(state, &payment).await {
                    tracing::warn!(error = %e, %payment_id, "could not apply a followed payment");
                }
                return transaction(state, user, id).await;
            }
            Err(e) => tracing::warn!(error = %e, %payment_id, "could not ask YooKassa about a payment"),
        }
    }
    Ok(current)
}

/// What handling a notification did, stored as the inbox row's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The state moved (e.g. `transaction succeeded, subscription extended`).
    Applied(String),
    /// Nothing to do (a redelivery, an unknown event, a status that does not match YooKassa's).
    Ignored(String),
}

/// Applies a payment as YooKassa reports it (after a re-fetch). Idempotent.
///
/// # Errors
/// [`Error::Database`]; [`Error::Unavailable`] / [`Error::PaymentProvider`] when capturing fails.
pub async fn apply_payment(state: &AppState, payment: &Payment) -> Result<Outcome> {
    let Some(transaction) = store::find_by_payment(state.store.pool(), &payment.id).await? else {
        return Ok(Outcome::Ignored(format!("no transaction for payment {}", payment.id)));
    };
    match payment.status.as_str() {
        "succeeded" => {
            let now = state.now();
            let method = payment.payment_method.as_ref().filter(|m| m.saved && !m.id.is_empty()).map(|m| m.id.as_str());
            let mut tx = state.store.begin_write().await?;
            let moved = store::transition(
                &mut *tx,
                &transaction.id,
                &["pending", "waiting_for_capture", "failed"],
                "succeeded",
                "succeeded",
                method,
                None,
                None,
                now,
            )
            .await?;
            if !moved {
                return Ok(Outcome::Ignored(format!(
                    "transaction {} was already {}",
                    transaction.id, transaction.status
                )));
            }
            let mut outcome = format!("transaction {} succeeded", transaction.id);
            if matches!(transaction.kind.as_str(), "subscription" | "renewal") {
                let plan_id = transaction.plan_id.clone().unwrap_or_default();
                let plan = plans::get(&mut *tx, &plan_id).await?.ok_or_else(|| Error::not_found("plan", &plan_id))?;
                let subscription_id = subscriptions::apply_paid_period(
                    &mut tx,
                    now,
                    &transaction.user_id,
                    &transaction.account_id,
                    &plan,
                    method,
                    &payment.id,
                )
                .await?;
                store::transition(
                    &mut *tx,
                    &transaction.id,
                    &["succeeded"],
                    "succeeded",
                    "succeeded",
                    None,
                    None,
                    Some(&subscription_id),
                    now,
                )
                .await?;
                outcome.push_str(&format!("; subscription {subscription_id} paid on plan {plan_id}"));
            }
            tx.commit().await?;
            Ok(Outcome::Applied(outcome))
        }
        "waiting_for_capture" => {
            let Some(client) = &state.yookassa else {
                return Err(Error::Unavailable("Payments are not configured on this server.".into()));
            };
            // A deterministic key: every attempt to capture this payment is the same operation.
            let captured = client
                .capture_payment(&payment.id, None, &format!("capture-{}", payment.id))
                .await
                .map_err(provider_error)?;
            if captured.status == "succeeded" {
                Box::pin(apply_payment(state, &captured)).await
            } else {
                Ok(Outcome::Ignored(format!("capture left payment {} {}", payment.id, captured.status)))
            }
        }
        "canceled" => {
            let reason = payment.cancellation_details.as_ref().map(|d| d.reason.as_str()).unwrap_or("unknown");
            let mut tx = state.store.begin_write().await?;
            let moved = store::transition(
                &mut *tx,
                &transaction.id,
                &["pending", "waiting_for_capture"],
                "canceled",
                "canceled",
                None,
                Some(reason),
                None,
                state.now(),
            )
            .await?;
            tx.commit().await?;
            Ok(if moved {
                Outcome::Applied(format!("transaction {} canceled: {reason}", transaction.id))
            } else {
                Outcome::Ignored(format!(
                    "transaction {} is {}; a cancellation does not move it back",
                    transaction.id, transaction.status
                ))
            })
        }
        other => Ok(Outcome::Ignored(format!("payment {} is {other}; nothing to do yet", payment.id))),
    }
}

/// Handles one stored notification: re-fetches its object from YooKassa and applies what
/// YooKassa says, never what the body says.
///
/// # Errors
/// [`Error::Unavailable`] / [`Error::PaymentProvider`] when YooKassa cannot be asked;
/// [`Error::Database`].
pub async fn process_notification(state: &AppState, notification: &Notification) -> Result<Outcome> {
    let Some(client) = &state.yookassa else {
        return Err(Error::Unavailable("Payments are not configured on this server.".into()));
    };
    let object_id = notification.object.get("id").and_then(|v| v.as_str()).unwrap_or_default();
    match notification.event.as_str() {
        "payment.succeeded" | "payment.waiting_for_capture" | "payment.canceled" => {
            let payment = match client.get_payment(object_id).await {
                Ok(p) => p,
                Err(YooKassaError::Api { status: 404, .. }) => {
                    return Ok(Outcome::Ignored(format!("YooKassa does not know payment {object_id}")));
                }
                Err(e) => return Err(provider_error(e)),
            };
            apply_payment(state, &payment).await
        }
        "refund.succeeded" => match client.get_refund(object_id).await {
            Ok(refund) => Ok(Outcome::Ignored(format!(
                "refund {} is {} (refunds are applied when issued)",
                refund.id, refund.status
            ))),
            Err(YooKassaError::Api { status: 404, .. }) => {
                Ok(Outcome::Ignored(format!("YooKassa does not know refund {object_id}")))
            }
            Err(e) => Err(provider_error(e)),
        },
        other => Ok(Outcome::Ignored(format!("event {other} is not used"))),
    }
}

/// Stores a verified notification body in the inbox, then processes it. A storage failure is an
/// error (the route answers 500 so YooKassa redelivers); a processing failure is recorded on the
/// inbox row for the sweeper and is not an error.
///
/// # Errors
/// [`Error::BadRequest`] for a body that is not a notification; [`Error::Database`] when it
/// cannot be stored.
pub async fn receive_notification(state: &AppState, body: &[u8], source_ip: Option<&str>) -> Result<Outcome> {
    let notification: Notification =
        serde_json::from_slice(body).map_err(|e| Error::BadRequest(format!("not a notification: {e}")))?;
    if notification.kind != "notification" {
        return Err(Error::BadRequest("type must be \"notification\"".into()));
    }
    let object_id = notification.object.get("id").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let object_status = notification.object.get("status").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    if object_id.is_empty() {
        return Err(Error::BadRequest("object.id is missing".into()));
    }
    let text = String::from_utf8_lossy(body);
    let (event_id, status) = webhooks::store(
        state.store.pool(),
        "yookassa",
        &notification.event,
        &object_id,
        &object_status,
        source_ip,
        &text,
        state.now(),
    )
    .await?;
    if status == "processed" || status == "ignored" {
        return Ok(Outcome::Ignored(format!("notification {event_id} was handled before")));
    }
    finish(state, &event_id, &notification).await
}

async fn finish(state: &AppState, event_id: &str, notification: &Notification) -> Result<Outcome> {
    let result = process_notification(state, notification).await;
    let now = state.now();
    match &result {
        Ok(Outcome::Applied(text)) => {
            webhooks::finish(state.store.pool(), event_id, "processed", text, None, now).await?
        }
        Ok(Outcome::Ignored(text)) => {
            webhooks::finish(state.store.pool(), event_id, "ignored", text, None, now).await?
        }
        Err(e) => {
            tracing::warn!(error = %e, event_id, "notification stored but not applied yet; the sweeper retries it");
            webhooks::finish(state.store.pool(), event_id, "failed", "will retry", Some(&e.to_string()), now).await?;
        }
    }
    Ok(result.unwrap_or_else(|e| Outcome::Ignored(format!("deferred: {e}"))))
}

/// Re-applies stored notifications that failed or never finished (the sweeper job).
/// Returns how many it looked at.
///
/// # Errors
/// [`Error::Database`].
pub async fn sweep_notifications(state: &AppState) -> Result<usize> {
    let rows = webhooks::unfinished(state.store.pool(), state.now() - 30, 100).await?;
    let count = rows.len();
    for (id, body) in rows {
        match serde_json::from_str::<Notification>(&body) {
            Ok(notification) => {
                finish(state, &id, &notification).await?;
            }
            Err(e) => {
                webhooks::finish(
                    state.store.pool(),
                    &id,
                    "ignored",
                    "unparseable body",
                    Some(&e.to_string()),
                    state.now(),
                )
                .await?
            }
        }
    }
    Ok(count)
}

/// Refunds all or part of a succeeded payment (admin; DESIGN.md, issue "YooKassa" §5). The amount
/// (minor units; default: everything not yet refunded) is reserved on the payment with one
/// conditional update before YooKassa is asked, so refunds can never exceed what was paid; a
/// refund transaction with its own idempotence key records it; the whole change is audited.
///
/// # Errors
/// [`Error::NotFound`] for an unknown transaction; [`Error::Validation`] for a non-positive
/// amount, a transaction that is not a succeeded payment, or more than is left to refund;
/// [`Error::PaymentProvider`] when YooKassa refuses (the reservation is released);
/// [`Error::Unavailable`] when it does not answer (the refund stays pending); [`Error::Database`].
pub async fn refund(
    state: &AppState,
    actor: &super::audit::Actor,
    transaction_id: &str,
    amount: Option<i64>,
) -> Result<Transaction> {
    let Some(client) = &state.yookassa else {
        return Err(Error::Unavailable("Payments are not configured on this server.".into()));
    };
    let original = store::find(state.store.pool(), transaction_id)
        .await?
        .ok_or_else(|| Error::not_found("transaction", transaction_id))?;
    let payment_id = match (&original.yookassa_payment_id, original.kind.as_str(), original.status.as_str()) {
        (Some(id), "subscription" | "renewal" | "topup", "succeeded") => id.clone(),
        _ => return Err(Error::invalid("transaction_id", "Only a succeeded payment can be refunded")),
    };
    let refunded = original.refunded_minor;
    let amount = amount.unwrap_or(original.amount - refunded);
    if amount <= 0 {
        return Err(Error::invalid("amount", "Nothing is left to refund"));
    }
    let now = state.now();
    let mut refund_row = store::NewTransaction::pending(
        "refund",
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
    let mut tx = state.store.begin_write().await?;
    if !store::reserve_refund(&mut *tx, &original.id, amount, now).await? {
        return Err(Error::invalid(
            "amount",
            format!("At most {} can be refunded", crate::model::money::yookassa_amount(original.amount - refunded)),
        ));
    }
    store::insert(&mut *tx, &refund_row).await?;
    let changes = serde_json::json!({ "refunded_minor": { "before": refunded, "after": refunded + amount } });
    let description = format!(
        "Refund of {} {} on payment {}",
        crate::model::money::yookassa_amount(amount),
        original.currency,
        original.id
    );
    super::audit::record(&mut *tx, actor, "transaction.refund", "transaction", &original.id, description, changes, now)
        .await?;
    tx.commit().await?;

    let request = crate::server::yookassa::CreateRefund {
        payment_id,
        amount: Some(Amount::from_minor(amount, &original.currency)),
        description: Some(refund_row.description.clone()),
        metadata: BTreeMap::from([("transaction_id".to_owned(), refund_row.id.clone())]),
    };
    match client.create_refund(&request, &refund_row.idempotence_key).await {
        Ok(refund) => {
            store::set_refund(state.store.pool(), &refund_row.id, &refund.id, &refund.status, state.now()).await?;
            store::mark_refunded_if_full(state.store.pool(), &original.id, state.now()).await?;
        }
        Err(e @ YooKassaError::Api { .. }) => {
            let mut tx = state.store.begin_write().await?;
            store::release_refund(&mut *tx, &original.id, amount, state.now()).await?;
            store::mark_rejected(&mut *tx, &refund_row.id, state.now()).await?;
            tx.commit().await?;
            return Err(provider_error(e));
        }
        Err(e) => return Err(provider_error(e)),
    }
    store::get_by_id(state.store.pool(), &refund_row.id)
        .await?
        .ok_or_else(|| Error::Internal("refund transaction vanished".into()))
}

/// How long a payment may stay pending before the sweeper asks YooKassa about it, in seconds.
pub const POLL_PENDING_AFTER: i64 = 10 * 60;

/// Asks YooKassa about payments left pending longer than [`POLL_PENDING_AFTER`] (a notification
/// that never arrived) and applies what it says. Returns how many it asked about.
///
/// # Errors
/// [`Error::Database`]. YooKassa failures are logged and retried on the next run.
pub async fn poll_pending(state: &AppState) -> Result<usize> {
    let Some(client) = &state.yookassa else {
        return Ok(0);
    };
    let now = state.now();
    let ids = store::stale_pending_payments(state.store.pool(), now - POLL_PENDING_AFTER, 50).await?;
    for payment_id in &ids {
        match client.get_payment(payment_id).await {
            Ok(payment) => {
                if let Err(e) = apply_payment(state, &payment).await {
                    tracing::warn!(error = %e, %payment_id, "could not apply a polled payment; will retry");
                }
            }
            Err(e) => tracing::warn!(error = %e, %payment_id, "could not poll a pending payment; will retry"),
        }
        store::touch(state.store.pool(), payment_id, now).await?;
    }
    Ok(ids.len())
}

/// When the failed renewal charges are retried, counted from the end of the period
/// (DESIGN.md "Renewals and dunning": after 1, 3 and 5 days, then canceled).
pub const RENEWAL_RETRY_AFTER: [i64; 3] = [86_400, 3 * 86_400, 5 * 86_400];

/// Charges the saved card of every paid subscription whose period has ended (and retries failed
/// charges on the dunning schedule), without the payer. A success pays the next period from the
/// old end; a decline leaves the subscription `past_due` until the next retry; after the last
/// retry fails the subscription is canceled and the account falls back to free. Returns how
/// many subscriptions it charged.
///
/// # Errors
/// [`Error::Database`]. Provider failures are recorded and retried on the next run.
pub async fn charge_due_renewals(state: &AppState) -> Result<usize> {
    if state.yookassa.is_none() {
        return Ok(0);
    }
    let due = crate::server::store::subscriptions::due_renewals(state.store.pool(), state.now(), 50).await?;
    for renewal in &due {
        if let Err(e) = charge_renewal(state, renewal).await {
            tracing::warn!(error = %e, subscription_id = %renewal.subscription_id, "renewal charge failed; will retry");
        }
    }
    Ok(due.len())
}

async fn charge_renewal(state: &AppState, due: &crate::server::store::subscriptions::DueRenewal) -> Result<()> {
    let Some(client) = &state.yookassa else {
        return Ok(());
    };
    let now = state.now();
    let plan =
        plans::get(state.store.pool(), &due.plan_id).await?.ok_or_else(|| Error::not_found("plan", &due.plan_id))?;
    // A renewal stored before but never answered keeps its idempotence key.
    let (transaction_id, key) = match store::unsent_renewal(state.store.pool(), &due.subscription_id).await? {
        Some(t) => (t.id, t.idempotence_key),
        None => {
            let mut row = plan_transaction("renewal", &due.user_id, &due.account_id, &plan, now);
            row.subscription_id = Some(due.subscription_id.clone());
            store::insert(state.store.pool(), &row).await?;
            (row.id, row.idempotence_key)
        }
    };
    let request = CreatePayment {
        amount: Some(Amount::from_minor(plan.price_minor, plan.currency.code())),
        description: Some(format!("{} plan renewal", plan.name).chars().take(128).collect()),
        capture: true,
        payment_method_id: Some(due.payment_method_id.clone()),
        metadata: BTreeMap::from([
            ("transaction_id".to_owned(), transaction_id.clone()),
            ("user_id".to_owned(), due.user_id.clone()),
            ("plan_id".to_owned(), plan.id.clone()),
            ("kind".to_owned(), "renewal".to_owned()),
        ]),
        ..Default::default()
    };
    let declined = match client.create_payment(&request, &key).await {
        Ok(payment) => {
            store::set_payment(state.store.pool(), &transaction_id, &payment.id, &payment.status, state.now()).await?;
            apply_payment(state, &payment).await?;
            payment.status == "canceled"
        }
        Err(YooKassaError::Api { .. }) => {
            store::mark_rejected(state.store.pool(), &transaction_id, state.now()).await?;
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
                crate::server::store::subscriptions::record_failed_renewal(
                    state.store.pool(),
                    &due.subscription_id,
                    attempts,
                    next_at,
                    state.now(),
                )
                .await?;
                tracing::info!(subscription_id = %due.subscription_id, attempts, next_at, "renewal declined; past due until the next retry");
            }
            None => {
                super::subscriptions::cancel(&state.store, state.now(), &due.account_id, true).await?;
                tracing::info!(subscription_id = %due.subscription_id, "renewal declined after the last retry; subscription canceled");
            }
        }
    }
    Ok(())
}

/// A page of the account's transactions (payments, renewals, refunds), newest first, and the
/// total count.
///
/// # Errors
/// [`Error::Database`].
pub async fn history(state: &AppState, account_id: &str, limit: i64, offset: i64) -> Result<(Vec<Transaction>, i64)> {
    Ok(store::list_for_account(state.store.pool(), account_id, limit, offset).await?)
}
