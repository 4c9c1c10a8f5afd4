//! Provider notifications: stored in the inbox first, then the object they name is fetched from
//! the gateway again and only its answer is applied (DESIGN.md "Webhooks are never trusted").

use super::provider_error;
use super::refunds::{Unapplicable, refund_unapplicable};
use crate::gateway::{GatewayError, Notification, Payment, PaymentState};
use crate::store::plans;
use crate::store::transactions::{self as store, TransitionFacts};
use crate::store::webhooks::{self, NewNotification};
use crate::subscriptions::{self, PaidBy, rollover_if_due};
use crate::{Billing, Error, Result};
use tariff_model::{Entity, InboxStatus, Plan, TransactionKind, TransactionStatus};

/// What handling a notification did, stored as the inbox row's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The state moved (e.g. `transaction succeeded, subscription extended`).
    Applied(String),
    /// Nothing to do (a redelivery, an unknown event, a status that does not match the gateway's).
    Ignored(String),
}

/// Applies a payment as the gateway reports it (after a fetch). Idempotent.
///
/// # Errors
/// [`Error::Database`]; [`Error::Unavailable`] / [`Error::PaymentProvider`] when capturing fails.
pub async fn apply_payment(billing: &Billing, payment: &Payment) -> Result<Outcome> {
    let db = &billing.store;
    let Some(transaction) = store::find_by_payment(db.reader(), &payment.id).await? else {
        return Ok(Outcome::Ignored(format!("no transaction for payment {}", payment.id)));
    };
    if payment.test != billing.settings.test_payments {
        // A test payment on a live shop (or the reverse) moves nothing: it is not this shop's money.
        tracing::warn!(target: crate::LOG_TARGET, payment_id = %payment.id, test = payment.test, "payment of the other mode (test/live) ignored");
        return Ok(Outcome::Ignored(format!(
            "payment {} is a {} payment; this shop is {}",
            payment.id,
            if payment.test { "test" } else { "live" },
            if billing.settings.test_payments { "in test mode" } else { "live" }
        )));
    }
    match payment.state {
        PaymentState::Succeeded
            if payment.amount_minor != transaction.amount || payment.currency != transaction.currency =>
        {
            refund_unapplicable(billing, &transaction, payment, Unapplicable::AmountMismatch).await
        }
        PaymentState::Succeeded => {
            let now = billing.now();
            // The period is applied to the subscription as it stands now (a cancellation or a
            // fallback to free that is due is stored first).
            rollover_if_due(db, now, &transaction.account_id).await?;
            let method = payment.payment_method.as_ref().filter(|m| m.saved && !m.id.is_empty()).map(|m| m.id.as_str());
            let mut tx = db.begin_write().await?;
            let facts = TransitionFacts {
                provider_status: Some(PaymentState::Succeeded.as_str()),
                payment_method_id: method,
                ..Default::default()
            };
            let from = [TransactionStatus::Pending, TransactionStatus::WaitingForCapture, TransactionStatus::Failed];
            if !store::transition(&mut tx, &transaction.id, &from, TransactionStatus::Succeeded, facts, now).await? {
                return Ok(Outcome::Ignored(format!(
                    "transaction {} was already {}",
                    transaction.id, transaction.status
                )));
            }
            let mut outcome = format!("transaction {} succeeded", transaction.id);
            let mut card_check = false;
            if transaction.kind == TransactionKind::Topup {
                let credited = crate::balance::topup::credit_paid_topup(
                    &mut tx,
                    &transaction.account_id,
                    &transaction.id,
                    transaction.amount,
                    now,
                )
                .await?;
                if let Some(balance_micros) = credited {
                    tracing::info!(target: crate::LOG_TARGET, transaction_id = %transaction.id, amount_minor = transaction.amount, balance_micros, "balance topped up for user {}", transaction.user_id);
                    outcome.push_str("; balance credited");
                }
            }
            if matches!(transaction.kind, TransactionKind::Subscription | TransactionKind::Renewal) {
                let plan_id = transaction.plan_id.clone().unwrap_or_default();
                // What was sold when the payer chose it, whatever the plan became since.
                let sold = transaction.plan_snapshot.as_deref().and_then(|text| serde_json::from_str(text).ok());
                let plan: Plan = match sold {
                    Some(plan) => plan,
                    None => plans::get(tx.conn(), &plan_id)
                        .await?
                        .ok_or_else(|| Error::not_found(Entity::Plan, &plan_id))?,
                };
                let paid = PaidBy {
                    user_id: &transaction.user_id,
                    account_id: &transaction.account_id,
                    payment_method_id: method,
                    payment_id: &payment.id,
                };
                let subscription_id = match transaction.plan_change.as_deref() {
                    Some("upgrade") => {
                        match subscriptions::apply_upgrade(&mut tx, now, &plan, paid, transaction.change_period_end)
                            .await?
                        {
                            Some(id) => id,
                            None => {
                                // Priced for a subscription that is no longer there: given back.
                                drop(tx);
                                return refund_unapplicable(billing, &transaction, payment, Unapplicable::PlanChanged)
                                    .await;
                            }
                        }
                    }
                    Some("card") => {
                        card_check = true;
                        subscriptions::trial::save_card(&mut tx, now, &transaction.account_id, method)
                            .await?
                            .or_else(|| transaction.subscription_id.clone())
                            .unwrap_or_default()
                    }
                    _ => subscriptions::apply_paid_period(&mut tx, now, &plan, paid).await?,
                };
                let linked = Some(subscription_id.as_str()).filter(|id| !id.is_empty());
                let facts = TransitionFacts { subscription_id: linked, ..Default::default() };
                store::transition(
                    &mut tx,
                    &transaction.id,
                    &[TransactionStatus::Succeeded],
                    TransactionStatus::Succeeded,
                    facts,
                    now,
                )
                .await?;
                outcome.push_str(&format!("; subscription {subscription_id} paid on plan {plan_id}"));
            }
            tx.commit().await?;
            if card_check {
                // The card is saved; the 1 ₽ that checked it goes back at once.
                let actor = crate::audit::Actor::system("trial-card-check");
                match super::refund(billing, &actor, &transaction.id, None).await {
                    Ok(_) => outcome.push_str("; card saved, check refunded"),
                    Err(e) => {
                        tracing::warn!(target: crate::LOG_TARGET, error = %e, transaction_id = %transaction.id, "the card check could not be refunded yet; refund it from the admin dashboard");
                        outcome.push_str("; card saved, refund of the check failed");
                    }
                }
            }
            Ok(Outcome::Applied(outcome))
        }
        PaymentState::WaitingForCapture => {
            let gateway = billing.gateway()?;
            // A deterministic key: every attempt to capture this payment is the same operation.
            let captured = gateway
                .capture_payment(&payment.id, &format!("capture-{}", payment.id))
                .await
                .map_err(provider_error)?;
            if captured.state == PaymentState::Succeeded {
                Box::pin(apply_payment(billing, &captured)).await
            } else {
                Ok(Outcome::Ignored(format!("capture left payment {} {}", payment.id, captured.state.as_str())))
            }
        }
        PaymentState::Canceled => {
            let reason = payment.cancellation_reason.as_deref().unwrap_or("unknown");
            let mut tx = db.begin_write().await?;
            let facts = TransitionFacts {
                provider_status: Some(PaymentState::Canceled.as_str()),
                cancellation_reason: Some(reason),
                ..Default::default()
            };
            let from = [TransactionStatus::Pending, TransactionStatus::WaitingForCapture];
            let moved =
                store::transition(&mut tx, &transaction.id, &from, TransactionStatus::Canceled, facts, billing.now())
                    .await?;
            tx.commit().await?;
            if moved
                && transaction.kind == TransactionKind::Renewal
                && let (Some(subscription_id), Some(period_end), Some(attempt)) =
                    (&transaction.subscription_id, transaction.renewal_period_end, transaction.renewal_attempt)
            {
                // A renewal charge declined, now or later: one failed attempt of the dunning schedule.
                super::renewals::record_decline(billing, subscription_id, period_end, attempt).await?;
            }
            Ok(if moved {
                Outcome::Applied(format!("transaction {} canceled: {reason}", transaction.id))
            } else {
                Outcome::Ignored(format!(
                    "transaction {} is {}; a cancellation does not move it back",
                    transaction.id, transaction.status
                ))
            })
        }
        PaymentState::Pending => Ok(Outcome::Ignored(format!("payment {} is pending; nothing to do yet", payment.id))),
    }
}

/// Handles one notification: fetches its object from the gateway and applies what the gateway
/// says, never what the notification says.
///
/// # Errors
/// [`Error::Unavailable`] / [`Error::PaymentProvider`] when the gateway cannot be asked;
/// [`Error::Database`].
pub async fn process_notification(billing: &Billing, event: &str, object_id: &str) -> Result<Outcome> {
    let gateway = billing.gateway()?;
    match event {
        "payment.succeeded" | "payment.waiting_for_capture" | "payment.canceled" => {
            let payment = match gateway.get_payment(object_id).await {
                Ok(p) => p,
                Err(GatewayError::Refused { status: 404, .. }) => {
                    return Ok(Outcome::Ignored(format!("the payment provider does not know payment {object_id}")));
                }
                Err(e) => return Err(provider_error(e)),
            };
            apply_payment(billing, &payment).await
        }
        "refund.succeeded" | "refund.canceled" => match gateway.get_refund(object_id).await {
            Ok(refund) => match store::refund_by_provider_id(billing.store.reader(), &refund.id).await? {
                Some(row) => super::refunds::apply_refund(billing, &row, &refund).await,
                None => Ok(Outcome::Ignored(format!("no refund transaction for refund {}", refund.id))),
            },
            Err(GatewayError::Refused { status: 404, .. }) => {
                Ok(Outcome::Ignored(format!("the payment provider does not know refund {object_id}")))
            }
            Err(e) => Err(provider_error(e)),
        },
        other => Ok(Outcome::Ignored(format!("event {other} is not used"))),
    }
}

/// Stores a verified notification in the inbox (with its raw `body`), then processes it. A
/// storage failure is an error (the route answers 500 so the provider redelivers); a processing
/// failure is recorded on the inbox row for the sweeper and is not an error.
///
/// # Errors
/// [`Error::Database`] when it cannot be stored.
pub async fn receive_notification(
    billing: &Billing,
    provider: &str,
    notification: &Notification,
    body: &str,
    source_ip: Option<&str>,
) -> Result<Outcome> {
    let mut tx = billing.store.begin_write().await?;
    let row = NewNotification {
        provider,
        event: &notification.event,
        object_id: &notification.object_id,
        object_status: &notification.object_status,
        source_ip,
        body,
        now: billing.now(),
    };
    let (inbox_id, status) = webhooks::store(&mut tx, &row).await?;
    tx.commit().await?;
    if status.is_final() {
        return Ok(Outcome::Ignored(format!("notification {inbox_id} was handled before")));
    }
    finish(billing, &inbox_id, &notification.event, &notification.object_id).await
}

async fn finish(billing: &Billing, inbox_id: &str, event: &str, object_id: &str) -> Result<Outcome> {
    let result = process_notification(billing, event, object_id).await;
    let now = billing.now();
    let mut tx = billing.store.begin_write().await?;
    match &result {
        Ok(Outcome::Applied(text)) => {
            webhooks::finish(&mut tx, inbox_id, InboxStatus::Processed, text, None, now).await?
        }
        Ok(Outcome::Ignored(text)) => {
            webhooks::finish(&mut tx, inbox_id, InboxStatus::Ignored, text, None, now).await?
        }
        Err(e) => {
            tracing::warn!(target: crate::LOG_TARGET, error = %e, inbox_id, "webhook notification stored but not applied yet; the sweeper retries it");
            webhooks::finish(&mut tx, inbox_id, InboxStatus::Failed, "will retry", Some(&e.to_string()), now).await?;
        }
    }
    tx.commit().await?;
    Ok(result.unwrap_or_else(|e| Outcome::Ignored(format!("deferred: {e}"))))
}

/// Handles stored notifications again that failed or never finished (the sweeper job). Returns
/// how many it looked at.
///
/// # Errors
/// [`Error::Database`].
pub async fn sweep_notifications(billing: &Billing) -> Result<usize> {
    let rows = webhooks::unfinished(billing.store.reader(), billing.now() - 30, 100).await?;
    for row in &rows {
        finish(billing, &row.id, &row.event, &row.object_id).await?;
    }
    Ok(rows.len())
}
