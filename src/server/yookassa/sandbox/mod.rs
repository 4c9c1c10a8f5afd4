//! The built-in YooKassa sandbox (DESIGN.md "The YooKassa sandbox"), mounted at
//! `/sandbox/yookassa` when sandbox mode is on: the API subset Tariff uses under `/v3`
//! (`POST/GET /payments`, `/payments/{id}/capture`, `/payments/{id}/cancel`, `POST/GET /refunds`)
//! with Basic auth, `Idempotence-Key` semantics (same key and body → the original response for
//! 24 h; same key, other body → 400), the documented error bodies, and a hosted confirmation page
//! where a person or a browser test pays with a test card (ref §7.2). Settling a payment POSTs
//! the documented notification (ref §5.1) to the webhook URL and redirects to `return_url`.
//!
//! It is a test double written from the reference, not from Tariff's client: the client talks HTTP
//! to it exactly as to YooKassa. State lives in memory and is lost on restart (no real money
//! moves). `POST /sandbox/yookassa/control/faults` makes the next API request answer 500 (after
//! doing its work, as a real timeout may) or wait, so tests can exercise retries.

pub mod cards;
mod checkout;

use super::{
    Amount, ApiError, CancellationDetails, Card, Confirmation, CreatePayment, CreateRefund, Payment, PaymentMethod,
    Recipient, Refund,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How long an idempotence key is remembered (ref §1.3).
const IDEMPOTENCE_TTL: Duration = Duration::from_secs(24 * 3600);
/// Currencies the sandbox accepts (ref §2.1).
const CURRENCIES: [&str; 3] = ["RUB", "USD", "EUR"];

/// A payment plus what the sandbox needs to settle it.
#[derive(Clone, Debug)]
struct SandboxPayment {
    payment: Payment,
    capture: bool,
    save_payment_method: bool,
    seq: u64,
}

/// A saved card that autopayments (`payment_method_id`) charge.
#[derive(Clone, Debug)]
struct SavedMethod {
    method: PaymentMethod,
    /// When set, charges with this method are declined with this reason.
    decline_reason: Option<String>,
}

#[derive(Clone, Debug)]
struct Remembered {
    fingerprint: String,
    status: u16,
    body: String,
    at: Instant,
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    Error500,
    Delay(Duration),
}

#[derive(Default, Debug)]
struct Ledger {
    payments: HashMap<String, SandboxPayment>,
    refunds: HashMap<String, Refund>,
    saved_methods: HashMap<String, SavedMethod>,
    idempotence: HashMap<String, Remembered>,
    faults: VecDeque<Fault>,
    seq: u64,
}

/// The emulator. Share it in an `Arc`.
pub struct Sandbox {
    shop_id: String,
    secret_key: SecretString,
    /// Public base URL of this server, for `confirmation_url` (no trailing slash).
    public_base: String,
    webhook_url: RwLock<String>,
    ledger: Mutex<Ledger>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("shop_id", &self.shop_id)
            .field("public_base", &self.public_base)
            .finish_non_exhaustive()
    }
}

/// An error body as YooKassa sends it (ref §1.6), with its HTTP status.
fn api_error(status: StatusCode, code: &str, description: &str, parameter: Option<&str>) -> (StatusCode, String) {
    let error = ApiError {
        kind: "error".into(),
        id: uuid::Uuid::new_v4().to_string(),
        code: code.into(),
        description: Some(description.into()),
        parameter: parameter.map(str::to_owned),
        retry_after: None,
    };
    (status, serde_json::to_string(&error).unwrap_or_default())
}

fn invalid(description: &str, parameter: &str) -> (StatusCode, String) {
    api_error(StatusCode::BAD_REQUEST, "invalid_request", description, Some(parameter))
}

fn not_found(what: &str) -> (StatusCode, String) {
    api_error(StatusCode::NOT_FOUND, "not_found", &format!("{what} not found"), None)
}

fn json_response((status, body): (StatusCode, String)) -> Response {
    (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// ISO 8601 UTC with milliseconds, as YooKassa writes times.
fn timestamp(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn now_iso() -> String {
    timestamp(time::OffsetDateTime::now_utc())
}

/// `"990.00"`-style values only: digits, a dot, exactly two decimals (ref §2.1).
fn valid_value(value: &str) -> bool {
    match value.split_once('.') {
        Some((whole, cents)) => {
            !whole.is_empty()
                && whole.bytes().all(|b| b.is_ascii_digit())
                && cents.len() == 2
                && cents.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

fn check_amount(amount: &Option<Amount>, parameter: &str) -> Result<i64, (StatusCode, String)> {
    let Some(amount) = amount else {
        return Err(invalid("Amount is required", parameter));
    };
    if !CURRENCIES.contains(&amount.currency.as_str()) {
        return Err(invalid("Unsupported currency", &format!("{parameter}.currency")));
    }
    if !valid_value(&amount.value) {
        return Err(invalid(
            "Amount value must be a decimal with two digits after the point",
            &format!("{parameter}.value"),
        ));
    }
    match amount.minor() {
        Ok(minor) if minor > 0 => Ok(minor),
        _ => Err(invalid("Amount must be greater than zero", &format!("{parameter}.value"))),
    }
}

/// Canonical JSON (object keys sorted) so that key order does not change an idempotence fingerprint.
fn canonical(value: &serde_json::Value) -> String {
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

impl Sandbox {
    /// A sandbox for the shop `shop_id` with `secret_key`, whose confirmation pages live under
    /// `public_base` and whose notifications go to `webhook_url`.
    pub fn new(shop_id: &str, secret_key: SecretString, public_base: &str, webhook_url: &str) -> Sandbox {
        Sandbox {
            shop_id: shop_id.to_owned(),
            secret_key,
            public_base: public_base.trim_end_matches('/').to_owned(),
            webhook_url: RwLock::new(webhook_url.to_owned()),
            ledger: Mutex::new(Ledger::default()),
            http: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default(),
        }
    }

    pub fn shop_id(&self) -> &str {
        &self.shop_id
    }

    /// Sends later notifications to `url` (tests point it at their own listener).
    pub fn set_webhook_url(&self, url: &str) {
        if let Ok(mut current) = self.webhook_url.write() {
            *current = url.to_owned();
        }
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        use base64ct::{Base64, Encoding};
        let Some(value) = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let Some(encoded) = value.strip_prefix("Basic ") else {
            return false;
        };
        let Ok(decoded) = Base64::decode_vec(encoded.trim()) else {
            return false;
        };
        let expected = format!("{}:{}", self.shop_id, self.secret_key.expose_secret());
        // Constant-time comparison of the credentials.
        decoded.len() == expected.len()
            && decoded.iter().zip(expected.as_bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }

    /// POSTs `{type: notification, event, object}` to the webhook URL in the background,
    /// retrying a few times on failure (YooKassa retries for 24 h, ref §5.4).
    fn notify(self: &Arc<Self>, event: &str, object: serde_json::Value) {
        let body = serde_json::json!({ "type": "notification", "event": event, "object": object });
        let url = self.webhook_url.read().map(|u| u.clone()).unwrap_or_default();
        let http = self.http.clone();
        tokio::spawn(async move {
            for attempt in 0..5u32 {
                match http.post(&url).json(&body).send().await {
                    Ok(response) if response.status() == StatusCode::OK => return,
                    Ok(response) => {
                        tracing::warn!(status = response.status().as_u16(), %url, "sandbox notification not accepted")
                    }
                    Err(e) => tracing::warn!(error = %e, %url, "sandbox notification failed"),
                }
                tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
            }
        });
    }

    /// Settles a pending payment with a test card (the confirmation page's form).
    fn pay_with_card(self: &Arc<Self>, payment_id: &str, number: &str, expiry: &str) -> Result<Payment, String> {
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

/// The sandbox routes, to be nested at `/sandbox/yookassa`.
pub fn router<S: Clone + Send + Sync + 'static>(sandbox: Arc<Sandbox>) -> Router<S> {
    Router::new()
        .route("/v3/payments", post(create_payment).get(list_payments))
        .route("/v3/payments/{id}", get(get_payment))
        .route("/v3/payments/{id}/capture", post(capture_payment))
        .route("/v3/payments/{id}/cancel", post(cancel_payment))
        .route("/v3/refunds", post(create_refund))
        .route("/v3/refunds/{id}", get(get_refund))
        .route("/control/faults", post(add_fault))
        .route("/control/payment-methods/{id}/decline", post(decline_method))
        .route("/checkout/{id}", get(checkout::page).post(checkout::submit))
        .with_state(sandbox)
}

/// Runs one API operation with authentication, idempotence and injected faults.
async fn api(
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

fn parse_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<(T, serde_json::Value), (StatusCode, String)> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| invalid("Request body is not valid JSON", "body"))?;
    let parsed =
        serde_json::from_value(value.clone()).map_err(|e| invalid(&format!("Invalid request: {e}"), "body"))?;
    Ok((parsed, value))
}

fn fingerprint(method: &str, path: &str, body: &Bytes) -> String {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
    format!("{method} {path} {}", canonical(&value))
}

async fn create_payment(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap, body: Bytes) -> Response {
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
        if !super::metadata_fits(&request.metadata) {
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
struct ListQuery {
    limit: Option<usize>,
}

async fn list_payments(
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

async fn get_payment(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    api(&sandbox, &headers, None, |sandbox| match sandbox.ledger().payments.get(&id) {
        Some(p) => (StatusCode::OK, serde_json::to_string(&p.payment).unwrap_or_default()),
        None => not_found("Payment"),
    })
    .await
}

#[derive(Deserialize, Default)]
struct CaptureBody {
    amount: Option<Amount>,
}

async fn capture_payment(
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

async fn cancel_payment(
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

async fn create_refund(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap, body: Bytes) -> Response {
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

async fn get_refund(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    api(&sandbox, &headers, None, |sandbox| match sandbox.ledger().refunds.get(&id) {
        Some(r) => (StatusCode::OK, serde_json::to_string(r).unwrap_or_default()),
        None => not_found("Refund"),
    })
    .await
}

/// Body of `POST /sandbox/yookassa/control/faults`.
#[derive(Deserialize)]
struct FaultBody {
    /// `error_500` or `delay`.
    kind: String,
    #[serde(default)]
    delay_ms: u64,
    /// How many of the next requests get the fault (default 1).
    #[serde(default)]
    count: Option<usize>,
}

/// Test control: the next `count` API requests fail with 500 (after doing their work) or wait.
async fn add_fault(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap, body: Bytes) -> Response {
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
async fn decline_method(
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
