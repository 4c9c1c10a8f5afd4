//! Test controls (not part of YooKassa's API): inject faults, decline a saved method.

use super::{Fault, Sandbox, api_error, invalid, json_response, not_found, parse_body};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Body of `POST /sandbox/yookassa/control/faults`.
#[derive(Deserialize)]
pub(super) struct FaultBody {
    /// `error_500` or `delay`.
    kind: String,
    #[serde(default)]
    delay_ms: u64,
    /// How many of the next requests get the fault (default 1).
    #[serde(default)]
    count: Option<usize>,
}

/// Test control: the next `count` API requests fail with 500 (after doing their work) or wait.
pub(super) async fn add_fault(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap, body: Bytes) -> Response {
    if !sandbox.authorized(&headers) {
        return json_response(api_error(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "Login or password are incorrect",
            None,
        ));
    }
    let request: FaultBody = match parse_body(&body) {
        Ok((parsed, _)) => parsed,
        Err(e) => return json_response(e),
    };
    let fault = match request.kind.as_str() {
        "error_500" => Fault::Error500,
        "delay" => Fault::Delay(Duration::from_millis(request.delay_ms.min(60_000))),
        _ => return json_response(invalid("kind must be error_500 or delay", "kind")),
    };
    let mut ledger = sandbox.ledger();
    for _ in 0..request.count.unwrap_or(1).min(100) {
        ledger.faults.push_back(fault);
    }
    json_response((StatusCode::OK, serde_json::json!({ "queued": ledger.faults.len() }).to_string()))
}

/// Test control: later autopayments with this saved method are declined with `reason`.
pub(super) async fn decline_method(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if !sandbox.authorized(&headers) {
        return json_response(api_error(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "Login or password are incorrect",
            None,
        ));
    }
    let reason = serde_json::from_slice::<BTreeMap<String, String>>(&body)
        .ok()
        .and_then(|m| m.get("reason").cloned())
        .unwrap_or_else(|| "insufficient_funds".to_owned());
    let mut ledger = sandbox.ledger();
    match ledger.saved_methods.get_mut(&id) {
        Some(saved) => {
            saved.decline_reason = Some(reason);
            json_response((StatusCode::OK, "{}".to_owned()))
        }
        None => json_response(not_found("Payment method")),
    }
}
