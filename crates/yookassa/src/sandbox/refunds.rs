//! Refunds: create (never beyond what is left of the payment) and get (ref §4).

use super::idempotence::api;
use super::{Sandbox, check_amount, fingerprint, invalid, not_found, now_iso, parse_body};
use crate::{Amount, CreateRefund, Refund};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::sync::Arc;

pub(super) async fn create_refund(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap, body: Bytes) -> Response {
    let print = fingerprint("POST", "/refunds", &body);
    api(&sandbox, &headers, Some(print), |sandbox| {
        let (request, _) = match parse_body::<CreateRefund>(&body) {
            Ok(parsed) => parsed,
            Err(e) => return e,
        };
        let minor = match check_amount(&request.amount, "amount") {
            Ok(minor) => minor,
            Err(e) => return e,
        };
        if request.description.as_ref().is_some_and(|d| d.chars().count() > 250) {
            return invalid("Description is longer than 250 characters", "description");
        }
        let refund = {
            let mut ledger = sandbox.ledger();
            let Some(entry) = ledger.payments.get_mut(&request.payment_id) else {
                return invalid("Payment not found", "payment_id");
            };
            if entry.payment.status != "succeeded" {
                return invalid("Only succeeded payments can be refunded", "payment_id");
            }
            let currency = entry.payment.amount.currency.clone();
            if request.amount.as_ref().is_some_and(|a| a.currency != currency) {
                return invalid("Refund currency must match the payment", "amount.currency");
            }
            let paid = entry.payment.amount.minor().unwrap_or(0);
            let refunded = entry.payment.refunded_amount.as_ref().and_then(|a| a.minor().ok()).unwrap_or(0);
            if minor > paid - refunded {
                return invalid("Refund amount exceeds the amount available for refund", "amount");
            }
            entry.payment.refunded_amount = Some(Amount::from_minor(refunded + minor, &currency));
            if refunded + minor == paid {
                entry.payment.refundable = false;
            }
            let refund = Refund {
                id: uuid::Uuid::new_v4().to_string(),
                payment_id: request.payment_id.clone(),
                status: "succeeded".into(),
                amount: Amount::from_minor(minor, &currency),
                description: request.description.clone(),
                cancellation_details: None,
                metadata: request.metadata.clone(),
                created_at: now_iso(),
            };
            ledger.refunds.insert(refund.id.clone(), refund.clone());
            refund
        };
        sandbox.notify("refund.succeeded", serde_json::to_value(&refund).unwrap_or_default());
        (StatusCode::OK, serde_json::to_string(&refund).unwrap_or_default())
    })
    .await
}

pub(super) async fn get_refund(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    api(&sandbox, &headers, None, |sandbox| match sandbox.ledger().refunds.get(&id) {
        Some(r) => (StatusCode::OK, serde_json::to_string(r).unwrap_or_default()),
        None => not_found("Refund"),
    })
    .await
}
