//! YooKassa API v3 for Tariff: the objects Tariff reads and writes, the HTTP client, the
//! notification format, the built-in sandbox that emulates the API for development and tests,
//! and the [`tariff_core::gateway::PaymentGateway`] implementation that the billing core pays
//! through.
//!
//! Field names and limits follow `shared/reference/yookassa-api.md` (cited as "ref §N"). Parsing is
//! tolerant (unknown fields ignored, amounts as strings or numbers, missing "required" fields in
//! notifications), because real payloads vary (ref §8 B0, D1, D2).

pub mod client;
pub mod gateway;
pub mod notification;
pub mod sandbox;

pub use client::{Client, ClientConfig, YooKassaError};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use tariff_model::money::{MoneyError, minor_from_decimal, yookassa_amount};

/// MonetaryAmount (ref §2.1): `value` is a decimal string with a dot, e.g. `"990.00"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    #[serde(deserialize_with = "string_or_number")]
    pub value: String,
    pub currency: String,
}

impl Amount {
    /// An amount of `minor` units as YooKassa expects it (`99000` → `"990.00"`).
    pub fn from_minor(minor: i64, currency: &str) -> Amount {
        Amount { value: yookassa_amount(minor), currency: currency.to_owned() }
    }

    /// The amount in minor units; `"1"` and `"1.5"` are accepted (ref §8 D1).
    ///
    /// # Errors
    /// [`MoneyError`] for a value that is not a decimal with at most two places.
    pub fn minor(&self) -> Result<i64, MoneyError> {
        minor_from_decimal(self.value.trim())
    }
}

/// Accepts `"250.00"` and `250.0` (ref §8 D2) and keeps the text.
fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Value {
        Text(String),
        Number(serde_json::Number),
    }
    Ok(match Value::deserialize(deserializer)? {
        Value::Text(text) => text,
        Value::Number(number) => match number.as_f64() {
            Some(f) if number.is_f64() => format!("{f:.2}"),
            _ => number.to_string(),
        },
    })
}

/// `confirmation` of a payment (ref §2, redirect type).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
}

/// A bank card inside `payment_method` (ref §2.2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first6: Option<String>,
    #[serde(default)]
    pub last4: String,
    #[serde(default)]
    pub expiry_month: String,
    #[serde(default)]
    pub expiry_year: String,
    #[serde(default)]
    pub card_type: String,
}

/// `payment_method` of a payment (ref §2.2); `id` is the saved-method id for autopayments.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethod {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub saved: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<Card>,
}

/// Why a payment or refund was canceled (ref §6.3). Both are open strings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancellationDetails {
    pub party: String,
    pub reason: String,
}

/// A payment (ref §2). Only the fields Tariff uses are typed; others are ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: String,
    /// `pending` | `waiting_for_capture` | `succeeded` | `canceled`.
    pub status: String,
    pub amount: Amount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<Confirmation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<PaymentMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation_details: Option<CancellationDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded_amount: Option<Amount>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub paid: bool,
    #[serde(default)]
    pub refundable: bool,
    #[serde(default)]
    pub test: bool,
    #[serde(default)]
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_registration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<Recipient>,
}

/// `recipient` of a payment: the shop (ref §2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    #[serde(default)]
    pub account_id: String,
    #[serde(default)]
    pub gateway_id: String,
}

/// A refund (ref §4.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub id: String,
    pub payment_id: String,
    /// `pending` | `succeeded` | `canceled`.
    pub status: String,
    pub amount: Amount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation_details: Option<CancellationDetails>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub created_at: String,
}

/// YooKassa's error body (ref §1.6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// Milliseconds to wait before retrying (legacy 202 and some errors, ref §1.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// An HTTP notification (ref §5.1): `{type: "notification", event, object}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    #[serde(rename = "type")]
    pub kind: String,
    pub event: String,
    pub object: serde_json::Value,
}

/// Receipt data for 54-FZ (ref §3.2): one customer contact and the items.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    pub customer: ReceiptCustomer,
    pub items: Vec<ReceiptItem>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceiptCustomer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceiptItem {
    pub description: String,
    pub quantity: String,
    pub amount: Amount,
    pub vat_code: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_mode: Option<String>,
}

/// Body of `POST /payments` (ref §3.1).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CreatePayment {
    pub amount: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub capture: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<Confirmation>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub save_payment_method: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_id: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
}

/// Body of `POST /refunds` (ref §4.1).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateRefund {
    pub payment_id: String,
    pub amount: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// Metadata limits (ref §2): at most 16 keys, keys ≤ 32 characters, values ≤ 512.
pub const METADATA_MAX_KEYS: usize = 16;
pub const METADATA_MAX_KEY_LEN: usize = 32;
pub const METADATA_MAX_VALUE_LEN: usize = 512;

/// Whether metadata fits YooKassa's limits.
pub fn metadata_fits(metadata: &BTreeMap<String, String>) -> bool {
    metadata.len() <= METADATA_MAX_KEYS
        && metadata
            .iter()
            .all(|(k, v)| k.chars().count() <= METADATA_MAX_KEY_LEN && v.chars().count() <= METADATA_MAX_VALUE_LEN)
}

/// The addresses YooKassa sends notifications from (ref §5.5, docs list of 2026-07-04).
pub const NOTIFICATION_IP_RANGES: [&str; 7] = [
    "185.71.76.0/27",
    "185.71.77.0/27",
    "77.75.153.0/25",
    "77.75.156.11/32",
    "77.75.156.35/32",
    "77.75.154.128/25",
    "2a02:5180::/32",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_leniently() {
        let a: Amount = serde_json::from_str(r#"{"value": "1", "currency": "RUB"}"#).unwrap();
        assert_eq!(a.minor(), Ok(100));
        let b: Amount = serde_json::from_str(r#"{"value": 250.0, "currency": "RUB"}"#).unwrap();
        assert_eq!(b.minor(), Ok(25_000));
        assert_eq!(Amount::from_minor(99_000, "RUB").value, "990.00");
    }

    #[test]
    fn metadata_limits_are_enforced() {
        let mut m = BTreeMap::new();
        m.insert("k".repeat(32), "v".repeat(512));
        assert!(metadata_fits(&m));
        m.insert("k".repeat(33), String::new());
        assert!(!metadata_fits(&m));
    }
}
