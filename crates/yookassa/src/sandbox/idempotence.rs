//! `Idempotence-Key` semantics (ref §1.3): the same key with the same body answers the original
//! response for 24 hours; the same key with another body is a 400. Also where injected faults
//! (500 after the work is done, or a delay) take effect.

use super::{Fault, IDEMPOTENCE_TTL, Remembered, Sandbox, api_error, invalid, json_response};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::sync::Arc;
use std::time::Instant;

/// Canonical JSON (object keys sorted) so that key order does not change an idempotence fingerprint.
pub(crate) fn canonical(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<_> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", serde_json::Value::String((*k).clone()), canonical(&map[*k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        serde_json::Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// Runs one API operation with authentication, idempotence and injected faults.
pub(crate) async fn api(
    sandbox: &Arc<Sandbox>,
    headers: &HeaderMap,
    fingerprint: Option<String>,
    operation: impl FnOnce(&Arc<Sandbox>) -> (StatusCode, String),
) -> Response {
    if !sandbox.authorized(headers) {
        return json_response(api_error(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "Login or password are incorrect",
            None,
        ));
    }
    let fault = sandbox.ledger().faults.pop_front();
    if let Some(Fault::Delay(delay)) = fault {
        tokio::time::sleep(delay).await;
    }
    let answer = match fingerprint {
        None => operation(sandbox),
        Some(fingerprint) => {
            let Some(key) = headers.get("idempotence-key").and_then(|v| v.to_str().ok()).map(str::to_owned) else {
                return json_response(invalid("Idempotence-Key header is required", "Idempotence-Key"));
            };
            if key.is_empty() || key.len() > 64 {
                return json_response(invalid(
                    "Idempotence key is too long. Send the value in accordance with the documentation",
                    "Idempotence-Key",
                ));
            }
            let remembered = {
                let mut ledger = sandbox.ledger();
                ledger.idempotence.retain(|_, r| r.at.elapsed() < IDEMPOTENCE_TTL);
                ledger.idempotence.get(&key).cloned()
            };
            match remembered {
                Some(r) if r.fingerprint == fingerprint => {
                    (StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK), r.body)
                }
                Some(_) => invalid("Idempotence key duplicated", "Idempotence-Key"),
                None => {
                    let (status, body) = operation(sandbox);
                    // 500s are not remembered, as YooKassa's result was unknown.
                    if !status.is_server_error() {
                        let remembered =
                            Remembered { fingerprint, status: status.as_u16(), body: body.clone(), at: Instant::now() };
                        sandbox.ledger().idempotence.insert(key, remembered);
                    }
                    (status, body)
                }
            }
        }
    };
    if let Some(Fault::Error500) = fault {
        return json_response(api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_server_error",
            "Internal server error (injected by the sandbox)",
            None,
        ));
    }
    json_response(answer)
}
