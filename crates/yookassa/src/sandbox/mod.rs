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
//!
//! One file per concern: `auth` (Basic credentials), `idempotence` (keys, fingerprints, faults),
//! `payments`, `refunds`, `notify` (the notifications it sends), `control` (test controls) and
//! `checkout` (the hosted confirmation page).

mod auth;
pub mod cards;
mod checkout;
mod control;
mod idempotence;
mod notify;
mod payments;
mod refunds;

use crate::{Amount, ApiError, Payment, PaymentMethod, Refund};
use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use secrecy::SecretString;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

/// How long an idempotence key is remembered (ref §1.3).
pub(crate) const IDEMPOTENCE_TTL: Duration = Duration::from_secs(24 * 3600);
/// Currencies the sandbox accepts (ref §2.1).
pub(crate) const CURRENCIES: [&str; 3] = ["RUB", "USD", "EUR"];

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
}

/// The sandbox routes, to be nested at `/sandbox/yookassa`.
pub fn router<S: Clone + Send + Sync + 'static>(sandbox: Arc<Sandbox>) -> Router<S> {
    Router::new()
        .route("/v3/payments", post(payments::create_payment).get(payments::list_payments))
        .route("/v3/payments/{id}", get(payments::get_payment))
        .route("/v3/payments/{id}/capture", post(payments::capture_payment))
        .route("/v3/payments/{id}/cancel", post(payments::cancel_payment))
        .route("/v3/refunds", post(refunds::create_refund))
        .route("/v3/refunds/{id}", get(refunds::get_refund))
        .route("/control/faults", post(control::add_fault))
        .route("/control/payment-methods/{id}/decline", post(control::decline_method))
        .route("/checkout/{id}", get(checkout::page).post(checkout::submit))
        .with_state(sandbox)
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<(T, serde_json::Value), (StatusCode, String)> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| invalid("Request body is not valid JSON", "body"))?;
    let parsed =
        serde_json::from_value(value.clone()).map_err(|e| invalid(&format!("Invalid request: {e}"), "body"))?;
    Ok((parsed, value))
}

pub(crate) fn fingerprint(method: &str, path: &str, body: &Bytes) -> String {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
    format!("{method} {path} {}", idempotence::canonical(&value))
}
