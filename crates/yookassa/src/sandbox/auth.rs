//! HTTP Basic authentication of the sandbox API: the shop id and secret key (ref §1.2).

use super::Sandbox;
use axum::http::HeaderMap;
use secrecy::ExposeSecret;

impl Sandbox {
    pub(super) fn authorized(&self, headers: &HeaderMap) -> bool {
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
}
