//! `POST /api/v1/billing/webhook/yookassa` (DESIGN.md "Webhooks are never trusted"):
//! 1. the source address must be in `YOOKASSA_WEBHOOK_ALLOWED_IPS` (YooKassa's ranges; loopback
//!    in sandbox mode), taking `X-Forwarded-For` into account only from `TRUSTED_PROXIES`;
//! 2. with `YOOKASSA_WEBHOOK_SECRET` set, `X-Webhook-Signature` must be the hex HMAC-SHA256 of the
//!    raw body (optionally prefixed `sha256=`), for proxies that sign;
//! 3. the notification is stored before anything else, and its object is re-fetched from YooKassa
//!    (see `billing::payments`). 200 once stored; 500 if it cannot be stored, so YooKassa redelivers.

use crate::server::billing::payments::{self, Outcome};
use crate::server::error::Error;
use crate::server::state::AppState;
use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use ipnet::IpNet;
use secrecy::ExposeSecret;
use sha2::Sha256;
use std::net::{IpAddr, SocketAddr};

/// Largest notification body accepted, in bytes.
const MAX_NOTIFICATION_BYTES: usize = 256 * 1024;

/// The client address: the peer, or — when the peer is a trusted proxy — the right-most address
/// in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> IpAddr {
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|n| n.contains(ip));
    if !trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    forwarded.into_iter().rev().find(|ip| !trusted(ip)).unwrap_or(peer)
}

fn signature_valid(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(header) = header else {
        return false;
    };
    let hex = header.trim().trim_start_matches("sha256=");
    if hex.len() % 2 != 0 {
        return false;
    }
    let bytes: Option<Vec<u8>> =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok()).collect();
    let Some(bytes) = bytes else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&bytes).is_ok()
}

/// The webhook handler.
#[utoipa::path(
    post, path = "/api/v1/billing/webhook/yookassa", tag = "webhooks", security(()),
    request_body(content = Object, description = "A YooKassa notification: {type, event, object}"),
    responses(
        (status = 200, description = "Stored (and applied, or queued for the sweeper)"),
        (status = 400, description = "Not a notification", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Bad signature (when a webhook secret is set)", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Source address not allowed", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 500, description = "Could not be stored; YooKassa will redeliver", body = crate::server::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn yookassa(State(state): State<AppState>, request: Request) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
    let headers = request.headers().clone();
    let Some(peer) = peer else {
        return Error::Forbidden("the source address is unknown".into()).into_response();
    };
    let ip = client_ip(peer, &headers, &state.config.trusted_proxies);
    if !state.config.webhook_allowed_ips.iter().any(|n| n.contains(&ip)) {
        tracing::warn!(%ip, "notification refused: source address not allowed");
        return Error::Forbidden("notifications are accepted only from YooKassa's addresses".into()).into_response();
    }
    let body = match axum::body::to_bytes(request.into_body(), MAX_NOTIFICATION_BYTES).await {
        Ok(body) => body,
        Err(_) => return Error::PayloadTooLarge.into_response(),
    };
    if let Some(secret) = &state.config.yookassa.webhook_secret {
        let header = headers.get("x-webhook-signature").and_then(|v| v.to_str().ok());
        if !signature_valid(secret.expose_secret(), &body, header) {
            tracing::warn!(%ip, "notification refused: bad signature");
            return Error::Unauthorized.into_response();
        }
    }
    match payments::receive_notification(&state, &body, Some(&ip.to_string())).await {
        Ok(Outcome::Applied(text)) => {
            tracing::info!(outcome = %text, "YooKassa notification applied");
            Json(serde_json::json!({ "status": "ok" })).into_response()
        }
        Ok(Outcome::Ignored(text)) => {
            tracing::info!(outcome = %text, "YooKassa notification stored, nothing to apply");
            Json(serde_json::json!({ "status": "ok" })).into_response()
        }
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "1.2.3.4, 185.71.76.1, 10.0.0.7".parse().unwrap());
        assert_eq!(
            client_ip("10.0.0.1".parse().unwrap(), &headers, &proxies),
            "185.71.76.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip("8.8.8.8".parse().unwrap(), &headers, &proxies), "8.8.8.8".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn signatures_are_hmac_sha256_of_the_raw_body() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
        mac.update(b"{}");
        let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert!(signature_valid("secret", b"{}", Some(&hex)));
        assert!(signature_valid("secret", b"{}", Some(&format!("sha256={hex}"))));
        assert!(!signature_valid("secret", b"{ }", Some(&hex)));
        assert!(!signature_valid("other", b"{}", Some(&hex)));
        assert!(!signature_valid("secret", b"{}", None));
    }
}
