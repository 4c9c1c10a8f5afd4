//! `POST /api/v1/billing/webhook/yookassa` (DESIGN.md "Webhooks are never trusted"):
//! 1. the source address must be in `YOOKASSA_WEBHOOK_ALLOWED_IPS` (YooKassa's ranges; loopback
//!    in sandbox mode), taking `X-Forwarded-For` into account only from `TRUSTED_PROXIES`;
//! 2. with `YOOKASSA_WEBHOOK_SECRET` set, `X-Webhook-Signature` must be the hex HMAC-SHA256 of the
//!    raw body (optionally prefixed `sha256=`), for proxies that sign;
//! 3. the notification is stored before anything else, and its object is fetched again from
//!    YooKassa (see `tariff_core::payments::notifications`). 200 once stored; 500 if it cannot be
//!    stored (503 when the database cannot be reached), so YooKassa redelivers.

use super::error::{ApiError, ApiResult};
use crate::server::client_ip::client_ip;
use crate::server::state::AppState;
use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use secrecy::ExposeSecret;
use std::net::SocketAddr;
use tariff_core::payments::{self, Outcome};
use tariff_core::{Error, gateway};
use tariff_model::Message;
use tariff_model::api::Acknowledged;
use tariff_yookassa::notification;

/// Largest notification body accepted, in bytes.
const MAX_NOTIFICATION_BYTES: usize = 256 * 1024;

/// What a YooKassa notification looks like (ref §5.1), for the OpenAPI document only: the
/// handler parses the raw body itself (it must see the exact bytes for the signature).
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct NotificationBody {
    /// Always `notification`.
    #[serde(rename = "type")]
    kind: NotificationKind,
    /// `payment.succeeded`, `payment.waiting_for_capture`, `payment.canceled`,
    /// `refund.succeeded`, `refund.canceled`, ...
    #[schema(min_length = 1, example = "payment.succeeded")]
    event: String,
    /// The payment or refund the event is about; only its `id` is used (it is fetched again).
    object: NotificationObject,
}

/// The only notification type YooKassa sends.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NotificationKind {
    Notification,
}

/// The object of a notification: a payment or refund, of which only `id` is read.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct NotificationObject {
    /// The YooKassa payment or refund id.
    #[schema(min_length = 1)]
    id: String,
}

/// The webhook handler.
#[utoipa::path(
    post, path = "/api/v1/billing/webhook/yookassa", tag = "webhooks", security(()),
    request_body(content = NotificationBody, description = "A YooKassa notification: {type, event, object}"),
    responses(
        (status = 200, description = "Stored (and applied, or queued for the sweeper)"),
        (status = 400, description = "Not a notification", body = tariff_model::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Bad signature (when a webhook secret is set)", body = tariff_model::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Source address not allowed", body = tariff_model::Problem, content_type = "application/problem+json"),
        (status = 500, description = "Could not be stored; YooKassa will redeliver", body = tariff_model::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database cannot be reached; YooKassa will redeliver", body = tariff_model::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn yookassa(State(state): State<AppState>, request: Request) -> ApiResult<Json<Acknowledged>> {
    let (outcome, answer) = match receive(&state, request).await {
        Ok(outcome) => (outcome, Ok(Json(Acknowledged { status: "ok".to_owned() }))),
        Err(e) => {
            let outcome = match e.code() {
                tariff_model::ErrorCode::Forbidden => "source_refused",
                tariff_model::ErrorCode::Unauthorized => "bad_signature",
                tariff_model::ErrorCode::BadRequest | tariff_model::ErrorCode::PayloadTooLarge => "malformed",
                _ => "failed",
            };
            (outcome, Err(e))
        }
    };
    metrics::counter!("tariff_webhook_notifications_total", "outcome" => outcome).increment(1);
    answer
}

/// Checks, stores and applies one notification; answers how it ended (`applied`, `ignored`).
async fn receive(state: &AppState, request: Request) -> ApiResult<&'static str> {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
    let headers = request.headers().clone();
    let peer = peer.ok_or(Error::Forbidden(Message::SourceUnknown))?;
    let ip = client_ip(peer, &headers, &state.config.trusted_proxies);
    if !state.config.webhook_allowed_ips.iter().any(|n| n.contains(&ip)) {
        tracing::warn!(target: tariff_core::LOG_TARGET, %ip, "webhook refused: source address not allowed");
        return Err(Error::Forbidden(Message::SourceNotAllowed).into());
    }
    let body = axum::body::to_bytes(request.into_body(), MAX_NOTIFICATION_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    if let Some(secret) = &state.config.yookassa.webhook_secret {
        let header = headers.get("x-webhook-signature").and_then(|v| v.to_str().ok());
        if !notification::signature_valid(secret.expose_secret(), &body, header) {
            tracing::warn!(target: tariff_core::LOG_TARGET, %ip, "webhook refused: bad signature");
            return Err(Error::Unauthorized.into());
        }
    }
    let parsed: gateway::Notification = notification::parse(&body).map_err(|e| {
        tracing::warn!(target: tariff_core::LOG_TARGET, %ip, error = %e, "webhook refused: not a notification");
        ApiError::BadRequest(e.to_string())
    })?;
    tracing::info!(
        target: tariff_core::LOG_TARGET,
        %ip, event = %parsed.event, object_id = %parsed.object_id, "webhook received: YooKassa {}", parsed.event
    );
    let text = String::from_utf8_lossy(&body);
    let outcome =
        payments::receive_notification(&state.billing, "yookassa", &parsed, &text, Some(&ip.to_string())).await?;
    Ok(match outcome {
        Outcome::Applied(text) => {
            tracing::info!(target: tariff_core::LOG_TARGET, outcome = %text, "webhook applied");
            "applied"
        }
        Outcome::Ignored(text) => {
            tracing::info!(target: tariff_core::LOG_TARGET, outcome = %text, "webhook stored, nothing to apply");
            "ignored"
        }
    })
}
