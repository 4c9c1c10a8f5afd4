//! The YooKassa HTTP client (ref §1): HTTP Basic with the shop id and secret key, an
//! `Idempotence-Key` on every POST (the caller persists it first and passes the same key on every
//! retry of one operation), bounded retries with exponential back-off on network errors,
//! timeouts, 500, 429 and 202 (honouring `retry_after`), no retry on other 4xx, and YooKassa's
//! error body surfaced as [`YooKassaError::Api`]. The secret key never appears in `Debug` output.

use super::{ApiError, CreatePayment, CreateRefund, Payment, Refund};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Where and how to reach YooKassa.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// API base URL without a trailing slash, e.g. `https://api.yookassa.ru/v3`.
    pub base_url: String,
    pub shop_id: String,
    pub secret_key: SecretString,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Attempts per operation, the first included.
    pub max_attempts: u32,
    /// Delay before the first retry; doubles each time, up to 10 s.
    pub base_backoff: Duration,
}

impl ClientConfig {
    pub fn new(base_url: &str, shop_id: &str, secret_key: SecretString) -> ClientConfig {
        ClientConfig {
            base_url: base_url.trim_end_matches('/').to_owned(),
            shop_id: shop_id.to_owned(),
            secret_key,
            timeout: Duration::from_secs(30),
            max_attempts: 4,
            base_backoff: Duration::from_millis(250),
        }
    }
}

/// How a YooKassa call failed.
#[derive(Debug, thiserror::Error)]
pub enum YooKassaError {
    /// YooKassa answered with an error that retrying will not fix (400, 401, 403, 404, ...).
    #[error("YooKassa refused the request (HTTP {status}, {}): {}", .error.code, .error.description.as_deref().unwrap_or(""))]
    Api { status: u16, error: Box<ApiError> },
    /// Every attempt failed with a network error, a timeout, 500, 429 or 202; the outcome of a
    /// POST is unknown, so retry later with the same idempotence key.
    #[error("YooKassa did not give a final answer after {attempts} attempts: {last}")]
    Unavailable { attempts: u32, last: String },
    /// A 2xx body that is not the expected object.
    #[error("unexpected YooKassa response: {0}")]
    Decode(String),
}

impl YooKassaError {
    /// The YooKassa error code (`invalid_request`, `not_found`, ...) of an API refusal.
    pub fn code(&self) -> Option<&str> {
        match self {
            YooKassaError::Api { error, .. } => Some(&error.code),
            _ => None,
        }
    }
}

/// A YooKassa API client. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    config: ClientConfig,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.config.base_url)
            .field("shop_id", &self.config.shop_id)
            .field("secret_key", &"[REDACTED]")
            .finish()
    }
}

impl Client {
    /// # Errors
    /// [`YooKassaError::Decode`] if the HTTP client cannot be built (no TLS backend).
    pub fn new(config: ClientConfig) -> Result<Client, YooKassaError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("tariff/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| YooKassaError::Decode(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client { http, config })
    }

    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    /// `POST /payments` (ref §3.1) with the caller's idempotence key.
    ///
    /// # Errors
    /// [`YooKassaError`].
    pub async fn create_payment(
        &self,
        request: &CreatePayment,
        idempotence_key: &str,
    ) -> Result<Payment, YooKassaError> {
        self.send(Method::POST, "/payments", Some(request), Some(idempotence_key)).await
    }

    /// `GET /payments/{id}` (ref §3.3).
    ///
    /// # Errors
    /// [`YooKassaError`]; `Api` with code `not_found` for an unknown id.
    pub async fn get_payment(&self, payment_id: &str) -> Result<Payment, YooKassaError> {
        self.send::<(), _>(Method::GET, &format!("/payments/{}", path_segment(payment_id)), None, None).await
    }

    /// `POST /payments/{id}/capture` (ref §3.4); `amount` captures part of the payment.
    ///
    /// # Errors
    /// [`YooKassaError`].
    pub async fn capture_payment(
        &self,
        payment_id: &str,
        amount: Option<&super::Amount>,
        idempotence_key: &str,
    ) -> Result<Payment, YooKassaError> {
        let body = serde_json::json!({ "amount": amount });
        let body = if amount.is_some() { body } else { serde_json::json!({}) };
        let path = format!("/payments/{}/capture", path_segment(payment_id));
        self.send(Method::POST, &path, Some(&body), Some(idempotence_key)).await
    }

    /// `POST /payments/{id}/cancel` (ref §3.5).
    ///
    /// # Errors
    /// [`YooKassaError`].
    pub async fn cancel_payment(&self, payment_id: &str, idempotence_key: &str) -> Result<Payment, YooKassaError> {
        let path = format!("/payments/{}/cancel", path_segment(payment_id));
        self.send(Method::POST, &path, Some(&serde_json::json!({})), Some(idempotence_key)).await
    }

    /// `POST /refunds` (ref §4.1).
    ///
    /// # Errors
    /// [`YooKassaError`].
    pub async fn create_refund(&self, request: &CreateRefund, idempotence_key: &str) -> Result<Refund, YooKassaError> {
        self.send(Method::POST, "/refunds", Some(request), Some(idempotence_key)).await
    }

    /// `GET /refunds/{id}` (ref §4.3).
    ///
    /// # Errors
    /// [`YooKassaError`].
    pub async fn get_refund(&self, refund_id: &str) -> Result<Refund, YooKassaError> {
        self.send::<(), _>(Method::GET, &format!("/refunds/{}", path_segment(refund_id)), None, None).await
    }

    async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        idempotence_key: Option<&str>,
    ) -> Result<T, YooKassaError> {
        let url = format!("{}{path}", self.config.base_url);
        let mut last = String::new();
        let attempts = self.config.max_attempts.max(1);
        for attempt in 1..=attempts {
            let mut request = self
                .http
                .request(method.clone(), &url)
                .basic_auth(&self.config.shop_id, Some(self.config.secret_key.expose_secret()));
            if let Some(key) = idempotence_key {
                request = request.header("Idempotence-Key", key);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let mut wait = self.backoff(attempt);
            match request.send().await {
                Err(e) => {
                    last = if e.is_timeout() { "timeout".to_owned() } else { format!("network error: {e}") };
                    tracing::warn!(target: tariff_core::LOG_TARGET, %method, path, attempt, error = %last, "YooKassa request failed; retrying");
                }
                Ok(response) => {
                    let status = response.status();
                    let text = response.text().await.unwrap_or_default();
                    if status.is_success() && status != StatusCode::ACCEPTED {
                        return serde_json::from_str(&text).map_err(|e| YooKassaError::Decode(e.to_string()));
                    }
                    let error: Option<ApiError> = serde_json::from_str(&text).ok();
                    let retryable = matches!(
                        status,
                        StatusCode::ACCEPTED | StatusCode::INTERNAL_SERVER_ERROR | StatusCode::TOO_MANY_REQUESTS
                    ) || status.is_server_error();
                    if !retryable {
                        let error = error.unwrap_or_else(|| ApiError {
                            kind: "error".into(),
                            id: String::new(),
                            code: format!("http_{}", status.as_u16()),
                            description: Some(text.chars().take(200).collect()),
                            parameter: None,
                            retry_after: None,
                        });
                        return Err(YooKassaError::Api { status: status.as_u16(), error: Box::new(error) });
                    }
                    if let Some(ms) = error.as_ref().and_then(|e| e.retry_after) {
                        wait = Duration::from_millis(ms.min(10_000));
                    }
                    last = format!("HTTP {}", status.as_u16());
                    tracing::warn!(target: tariff_core::LOG_TARGET, %method, path, attempt, status = status.as_u16(), "YooKassa has no final answer yet; retrying with the same idempotence key");
                }
            }
            if attempt < attempts {
                tokio::time::sleep(wait).await;
            }
        }
        Err(YooKassaError::Unavailable { attempts, last })
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        (self.config.base_backoff * factor).min(Duration::from_secs(10))
    }
}

/// Ids go into the path; anything but `[A-Za-z0-9-_]` is percent-encoded so an id cannot change
/// the path.
fn path_segment(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_secret_key() {
        let client = Client::new(ClientConfig::new("http://x", "shop", SecretString::from("live_topsecret"))).unwrap();
        assert!(!format!("{client:?}").contains("topsecret"));
    }

    #[test]
    fn ids_cannot_escape_the_path() {
        assert_eq!(path_segment("2db9930f-000f-5000-9000-18ab22edea46"), "2db9930f-000f-5000-9000-18ab22edea46");
        assert_eq!(path_segment("../refunds"), "%2E%2E%2Frefunds");
    }
}
