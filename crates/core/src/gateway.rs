//! The payment gateway the billing rules talk to (DESIGN.md "Paying", "Idempotency everywhere
//! money moves"). The core knows payments and refunds only through this trait; the
//! `tariff-yookassa` crate implements it for YooKassa API v3 (and its built-in sandbox).
//!
//! Amounts are minor units with their currency. Every creating call carries an idempotence key
//! that the caller stored *before* calling and reuses on every retry of the same operation.

use async_trait::async_trait;
use std::collections::BTreeMap;
use tariff_model::Currency;

/// A payment's state at the provider (YooKassa ref §2: `pending`, `waiting_for_capture`,
/// `succeeded`, `canceled`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentState {
    Pending,
    WaitingForCapture,
    Succeeded,
    Canceled,
}

impl PaymentState {
    /// The provider's name of the state, as stored in `yookassa_status`.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Pending => "pending",
            PaymentState::WaitingForCapture => "waiting_for_capture",
            PaymentState::Succeeded => "succeeded",
            PaymentState::Canceled => "canceled",
        }
    }
}

/// A refund's state at the provider (YooKassa ref §4.2: `pending`, `succeeded`, `canceled`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundState {
    Pending,
    Succeeded,
    Canceled,
}

impl RefundState {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundState::Pending => "pending",
            RefundState::Succeeded => "succeeded",
            RefundState::Canceled => "canceled",
        }
    }
}

/// One line of a 54-FZ receipt (YooKassa ref §3.2).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReceiptLine {
    /// At most 128 characters.
    pub description: String,
    /// Price of the line in minor units (quantity 1).
    pub amount_minor: i64,
    /// VAT code 1–12 (YooKassa's codes).
    pub vat_code: u8,
}

/// A 54-FZ receipt: the customer's email and the lines.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Receipt {
    pub customer_email: String,
    pub lines: Vec<ReceiptLine>,
}

/// What to charge. With `return_url` the payer confirms on the provider's page; with
/// `payment_method_id` a saved card is charged without the payer (autopayment). Serialised into
/// the transaction (`gateway_request`) before it is sent, so a create call that got no answer
/// can be sent again unchanged.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PaymentRequest {
    pub amount_minor: i64,
    pub currency: Currency,
    /// At most 128 characters.
    pub description: String,
    pub return_url: Option<String>,
    pub payment_method_id: Option<String>,
    /// Ask the provider to keep the card for later charges.
    pub save_payment_method: bool,
    /// Our ids (transaction, user, plan, kind), at most 16 keys.
    pub metadata: BTreeMap<String, String>,
    pub receipt: Option<Receipt>,
}

/// A saved or used payment method of a payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentMethodRef {
    /// The provider's id, used as `payment_method_id` for later charges.
    pub id: String,
    /// Whether later charges may use it.
    pub saved: bool,
}

/// A payment as the provider reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    pub id: String,
    pub state: PaymentState,
    pub amount_minor: i64,
    /// ISO code as the provider sent it (`RUB`).
    pub currency: String,
    /// Where to send the payer (redirect confirmation).
    pub confirmation_url: Option<String>,
    pub payment_method: Option<PaymentMethodRef>,
    /// Why it was canceled (YooKassa ref §6.3), e.g. `insufficient_funds`.
    pub cancellation_reason: Option<String>,
    /// Made in the provider's test mode.
    pub test: bool,
}

/// What to refund: `amount_minor` of the payment `payment_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundRequest {
    pub payment_id: String,
    pub amount_minor: i64,
    pub currency: Currency,
    pub description: String,
    pub metadata: BTreeMap<String, String>,
}

/// A refund as the provider reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refund {
    pub id: String,
    pub payment_id: String,
    pub state: RefundState,
    pub amount_minor: i64,
}

/// How a gateway call failed.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The provider answered with an error that retrying will not fix (`status` is its HTTP
    /// status; 404 for an unknown id). `detail` is the provider's own text, for operators.
    #[error("the payment provider refused the request (HTTP {status}, {code}): {detail}")]
    Refused { status: u16, code: String, detail: String },
    /// No final answer (network errors, timeouts, 5xx after retries): the outcome of a create
    /// call is unknown; retry later with the same idempotence key.
    #[error("the payment provider gave no final answer: {0}")]
    Unavailable(String),
    /// A success answer that is not the expected object.
    #[error("unexpected payment provider response: {0}")]
    Decode(String),
}

/// A notification of the provider, reduced to what the billing rules use: the event, the id of
/// the object it is about and the status the notification claims (never trusted: the object is
/// fetched again before anything is applied).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// e.g. `payment.succeeded`, `refund.succeeded`.
    pub event: String,
    pub object_id: String,
    pub object_status: String,
}

/// The payment provider. Implementations retry transient failures themselves and send the given
/// idempotence key with every attempt.
#[async_trait]
pub trait PaymentGateway: Send + Sync + std::fmt::Debug {
    /// Creates a payment (YooKassa `POST /payments`).
    async fn create_payment(&self, request: &PaymentRequest, idempotence_key: &str) -> Result<Payment, GatewayError>;
    /// Fetches a payment (YooKassa `GET /payments/{id}`).
    async fn get_payment(&self, payment_id: &str) -> Result<Payment, GatewayError>;
    /// Captures a payment waiting for capture, in full (YooKassa `POST /payments/{id}/capture`).
    async fn capture_payment(&self, payment_id: &str, idempotence_key: &str) -> Result<Payment, GatewayError>;
    /// Refunds part or all of a succeeded payment (YooKassa `POST /refunds`).
    async fn create_refund(&self, request: &RefundRequest, idempotence_key: &str) -> Result<Refund, GatewayError>;
    /// Fetches a refund (YooKassa `GET /refunds/{id}`).
    async fn get_refund(&self, refund_id: &str) -> Result<Refund, GatewayError>;
}
