//! Payments: create (with a confirmation page, or charged at once with a saved method), get,
//! list, capture, cancel, and settling a payment with a test card (ref §3, §6.2, §7.2).

use super::idempotence::api;
use super::{
    Sandbox, SandboxPayment, SavedMethod, cards, check_amount, fingerprint, invalid, not_found, now_iso, parse_body,
    timestamp,
};
use crate::{Amount, CancellationDetails, Card, Confirmation, CreatePayment, Payment, PaymentMethod, Recipient};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use std::sync::Arc;

impl Sandbox {
    /// Settles a pending payment with a test card (the confirmation page's form).
    pub(super) fn pay_with_card(
        self: &Arc<Self>,
        payment_id: &str,
        number: &str,
        expiry: &str,
    ) -> Result<Payment, String> {
        let outcome =
            cards::outcome(number).ok_or_else(|| "This is not one of the test cards listed below.".to_owned())?;
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        let (month, year) =
            expiry.split_once('/').map(|(m, y)| (m.trim().to_owned(), y.trim().to_owned())).unwrap_or_default();
        let year = if year.len() == 2 { format!("20{year}") } else { year };
        let (event, payment) = {
            let mut guard = self.ledger();
            let ledger = &mut *guard;
            let entry = ledger.payments.get_mut(payment_id).ok_or_else(|| "This payment does not exist.".to_owned())?;
            if entry.payment.status != "pending" {
                return Err(format!("This payment is already {}.", entry.payment.status));
            }
            let card = Card {
                first6: Some(digits.chars().take(6).collect()),
                last4: digits[digits.len().saturating_sub(4)..].to_owned(),
                expiry_month: month,
                expiry_year: year,
                card_type: match outcome {
                    cards::CardOutcome::Success { scheme, .. } | cards::CardOutcome::Decline { scheme, .. } => {
                        scheme.to_owned()
                    }
                },
            };
            let mut method = PaymentMethod {
                kind: "bank_card".into(),
                id: uuid::Uuid::new_v4().to_string(),
                saved: false,
                title: Some(format!("Bank card *{}", card.last4)),
                card: Some(card),
            };
            let p = &mut entry.payment;
            let event = match outcome {
                cards::CardOutcome::Success { .. } => {
                    method.saved = entry.save_payment_method;
                    p.paid = true;
                    p.payment_method = Some(method.clone());
                    if entry.capture {
                        p.status = "succeeded".into();
                        p.captured_at = Some(now_iso());
                        p.refundable = true;
                        p.refunded_amount = Some(Amount::from_minor(0, &p.amount.currency));
                        "payment.succeeded"
                    } else {
                        p.status = "waiting_for_capture".into();
                        p.expires_at = Some(timestamp(time::OffsetDateTime::now_utc() + time::Duration::days(7)));
                        "payment.waiting_for_capture"
                    }
                }
                cards::CardOutcome::Decline { party, reason, .. } => {
                    p.status = "canceled".into();
                    p.payment_method = Some(method.clone());
                    p.cancellation_details = Some(CancellationDetails { party: party.into(), reason: reason.into() });
                    "payment.canceled"
                }
            };
            let payment = p.clone();
            if method.saved {
                ledger.saved_methods.insert(method.id.clone(), SavedMethod { method, decline_reason: None });
            }
            (event, payment)
        };
        self.notify(event, serde_json::to_value(&payment).unwrap_or_default());
        Ok(payment)
    }
}

pub(super) async fn create_payment(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap, body: Bytes) -> Response {
    let print = fingerprint("POST", "/payments", &body);
    api(&sandbox, &headers, Some(print), |sandbox| {
        let (request, _) = match parse_body::<CreatePayment>(&body) {
            Ok(parsed) => parsed,
            Err(e) => return e,
        };
        if let Err(e) = check_amount(&request.amount, "amount") {
            return e;
        }
        if request.description.as_ref().is_some_and(|d| d.chars().count() > 128) {
            return invalid("Description is longer than 128 characters", "description");
        }
        if !crate::metadata_fits(&request.metadata) {
            return invalid("Metadata exceeds 16 keys, 32-character keys or 512-character values", "metadata");
        }
        if let Some(receipt) = &request.receipt {
            if receipt.customer.email.as_deref().is_none_or(|e| !e.contains('@')) {
                return invalid("Receipt customer email is required", "receipt.customer.email");
            }
            if receipt.items.is_empty() || receipt.items.len() > 100 {
                return invalid("Receipt needs 1 to 100 items", "receipt.items");
            }
            if receipt.items.iter().any(|i| !(1..=12).contains(&i.vat_code)) {
                return invalid("vat_code must be between 1 and 12", "receipt.items.vat_code");
            }
        }
        let amount = request.amount.clone().unwrap_or(Amount { value: String::new(), currency: String::new() });
        let id = uuid::Uuid::new_v4().to_string();
        let mut payment = Payment {
            id: id.clone(),
            status: "pending".into(),
            amount,
            description: request.description.clone(),
            confirmation: None,
            payment_method: None,
            cancellation_details: None,
            refunded_amount: None,
            metadata: request.metadata.clone(),
            paid: false,
            refundable: false,
            test: true,
            created_at: now_iso(),
            captured_at: None,
            expires_at: None,
            receipt_registration: request.receipt.as_ref().map(|_| "pending".to_owned()),
            recipient: Some(Recipient {
                account_id: sandbox.shop_id.clone(),
                gateway_id: format!("{}-gateway", sandbox.shop_id),
            }),
        };
        let mut event = None;
        if let Some(method_id) = &request.payment_method_id {
            // An autopayment: charged at once, without the payer (ref §6.2).
            let saved = sandbox.ledger().saved_methods.get(method_id).cloned();
            let Some(saved) = saved else {
                return invalid("Payment method not found or not saved", "payment_method_id");
            };
            payment.payment_method = Some(saved.method.clone());
            match saved.decline_reason {
                Some(reason) => {
                    payment.status = "canceled".into();
                    payment.cancellation_details =
                        Some(CancellationDetails { party: "payment_network".into(), reason });
                    event = Some("payment.canceled");
                }
                None if request.capture => {
                    payment.status = "succeeded".into();
                    payment.paid = true;
                    payment.refundable = true;
                    payment.captured_at = Some(now_iso());
                    payment.refunded_amount = Some(Amount::from_minor(0, &payment.amount.currency));
                    event = Some("payment.succeeded");
                }
                None => {
                    payment.status = "waiting_for_capture".into();
                    payment.paid = true;
                    event = Some("payment.waiting_for_capture");
                }
            }
        } else {
            let Some(confirmation) = request.confirmation.as_ref().filter(|c| c.kind == "redirect") else {
                return invalid("Confirmation of type redirect is required", "confirmation");
            };
            let Some(return_url) = confirmation.return_url.clone().filter(|u| !u.is_empty() && u.len() <= 2048) else {
                return invalid("return_url is required for redirect confirmation", "confirmation.return_url");
            };
            payment.confirmation = Some(Confirmation {
                kind: "redirect".into(),
                confirmation_url: Some(format!("{}/sandbox/yookassa/checkout/{id}", sandbox.public_base)),
                return_url: Some(return_url),
            });
        }
        {
            let mut ledger = sandbox.ledger();
            ledger.seq += 1;
            let seq = ledger.seq;
            let entry = SandboxPayment {
                payment: payment.clone(),
                capture: request.capture,
                save_payment_method: request.save_payment_method,
                seq,
            };
            ledger.payments.insert(id, entry);
        }
        if let Some(event) = event {
            sandbox.notify(event, serde_json::to_value(&payment).unwrap_or_default());
        }
        (StatusCode::OK, serde_json::to_string(&payment).unwrap_or_default())
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    limit: Option<usize>,
}

pub(super) async fn list_payments(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    api(&sandbox, &headers, None, |sandbox| {
        let limit = q.limit.unwrap_or(10).clamp(1, 100);
        let ledger = sandbox.ledger();
        let mut items: Vec<&SandboxPayment> = ledger.payments.values().collect();
        items.sort_by_key(|p| std::cmp::Reverse(p.seq));
        let items: Vec<&Payment> = items.into_iter().take(limit).map(|p| &p.payment).collect();
        (StatusCode::OK, serde_json::json!({ "type": "list", "items": items }).to_string())
    })
    .await
}

pub(super) async fn get_payment(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    api(&sandbox, &headers, None, |sandbox| match sandbox.ledger().payments.get(&id) {
        Some(p) => (StatusCode::OK, serde_json::to_string(&p.payment).unwrap_or_default()),
        None => not_found("Payment"),
    })
    .await
}

#[derive(Deserialize, Default)]
pub(super) struct CaptureBody {
    amount: Option<Amount>,
}

pub(super) async fn capture_payment(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let print = fingerprint("POST", &format!("/payments/{id}/capture"), &body);
    api(&sandbox, &headers, Some(print), |sandbox| {
        let request: CaptureBody = if body.is_empty() {
            CaptureBody::default()
        } else {
            match parse_body(&body) {
                Ok((parsed, _)) => parsed,
                Err(e) => return e,
            }
        };
        let payment = {
            let mut ledger = sandbox.ledger();
            let Some(entry) = ledger.payments.get_mut(&id) else {
                return not_found("Payment");
            };
            if entry.payment.status != "waiting_for_capture" {
                return invalid(
                    &format!("Payment is {}; only waiting_for_capture can be captured", entry.payment.status),
                    "payment_id",
                );
            }
            if request.amount.is_some() {
                let minor = match check_amount(&request.amount, "amount") {
                    Ok(minor) => minor,
                    Err(e) => return e,
                };
                if minor > entry.payment.amount.minor().unwrap_or(0) {
                    return invalid("Capture amount exceeds the payment amount", "amount");
                }
                entry.payment.amount = Amount::from_minor(minor, &entry.payment.amount.currency);
            }
            entry.payment.status = "succeeded".into();
            entry.payment.captured_at = Some(now_iso());
            entry.payment.refundable = true;
            entry.payment.refunded_amount = Some(Amount::from_minor(0, &entry.payment.amount.currency));
            entry.payment.expires_at = None;
            entry.payment.clone()
        };
        sandbox.notify("payment.succeeded", serde_json::to_value(&payment).unwrap_or_default());
        (StatusCode::OK, serde_json::to_string(&payment).unwrap_or_default())
    })
    .await
}

pub(super) async fn cancel_payment(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let print = fingerprint("POST", &format!("/payments/{id}/cancel"), &body);
    api(&sandbox, &headers, Some(print), |sandbox| {
        let payment = {
            let mut ledger = sandbox.ledger();
            let Some(entry) = ledger.payments.get_mut(&id) else {
                return not_found("Payment");
            };
            if entry.payment.status != "waiting_for_capture" {
                return invalid(
                    &format!("Payment is {}; only waiting_for_capture can be canceled", entry.payment.status),
                    "payment_id",
                );
            }
            entry.payment.status = "canceled".into();
            entry.payment.cancellation_details =
                Some(CancellationDetails { party: "merchant".into(), reason: "canceled_by_merchant".into() });
            entry.payment.clone()
        };
        sandbox.notify("payment.canceled", serde_json::to_value(&payment).unwrap_or_default());
        (StatusCode::OK, serde_json::to_string(&payment).unwrap_or_default())
    })
    .await
}
