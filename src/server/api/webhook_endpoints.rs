//! Outgoing webhook endpoints under `/api/v1/admin/webhooks` (issue 16 §2, §4): register,
//! list, change, delete, rotate the secret, send a test event, list deliveries and redeliver.
//! Admin tokens only; every change is audited.

use super::error::ApiResult;
use super::extract::{Admin, ApiJson, ApiQuery};
use super::responses::{AdminOnly, BadBody};
use crate::server::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use tariff_core::events::endpoints;
use tariff_model::api::Deleted;
use tariff_model::events::{RotateSecretBody, TestEventBody, WebhookEndpointBody};
use tariff_model::{Problem, WebhookDelivery, WebhookEndpoint};

/// `?limit=` of the deliveries list (1–200, default 50).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// `POST /api/v1/admin/webhooks {"url", "description"?, "event_types", "enabled"?}`: register an
/// endpoint → 201 with its signing `secret` (shown only here). Audited.
#[utoipa::path(
    post, path = "/api/v1/admin/webhooks", tag = "outgoing webhooks", request_body = WebhookEndpointBody,
    responses((status = 201, description = "Registered; `secret` is shown this once", body = WebhookEndpoint), BadBody, AdminOnly)
)]
pub async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<WebhookEndpointBody>,
) -> ApiResult<(StatusCode, Json<WebhookEndpoint>)> {
    let policy = state.config.webhook_policy();
    let endpoint = endpoints::create(&state.billing.store, state.now(), &admin.actor, &policy, body).await?;
    Ok((StatusCode::CREATED, Json(endpoint)))
}

/// `GET /api/v1/admin/webhooks`: every endpoint (without secrets).
#[utoipa::path(get, path = "/api/v1/admin/webhooks", tag = "outgoing webhooks", responses((status = 200, body = [WebhookEndpoint]), AdminOnly))]
pub async fn list(State(state): State<AppState>, _admin: Admin) -> ApiResult<Json<Vec<WebhookEndpoint>>> {
    Ok(Json(endpoints::list(&state.billing.store).await?))
}

/// `GET /api/v1/admin/webhooks/{id}`: one endpoint, with why it was disabled if it was.
#[utoipa::path(
    get, path = "/api/v1/admin/webhooks/{id}", tag = "outgoing webhooks", params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, body = WebhookEndpoint), (status = 404, body = Problem, content_type = "application/problem+json"), AdminOnly)
)]
pub async fn get(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<WebhookEndpoint>> {
    Ok(Json(endpoints::get(&state.billing.store, &id).await?))
}

/// `PATCH /api/v1/admin/webhooks/{id}`: change any of `url`, `description`, `event_types`,
/// `enabled` (enabling clears why it was disabled). Audited.
#[utoipa::path(
    patch, path = "/api/v1/admin/webhooks/{id}", tag = "outgoing webhooks", request_body = WebhookEndpointBody,
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, body = WebhookEndpoint), (status = 404, body = Problem, content_type = "application/problem+json"), BadBody, AdminOnly)
)]
pub async fn update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<WebhookEndpointBody>,
) -> ApiResult<Json<WebhookEndpoint>> {
    let policy = state.config.webhook_policy();
    Ok(Json(endpoints::update(&state.billing.store, state.now(), &admin.actor, &policy, &id, body).await?))
}

/// `DELETE /api/v1/admin/webhooks/{id}`: delete the endpoint and its deliveries. Audited.
#[utoipa::path(
    delete, path = "/api/v1/admin/webhooks/{id}", tag = "outgoing webhooks", params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, body = Deleted), (status = 404, body = Problem, content_type = "application/problem+json"), AdminOnly)
)]
pub async fn delete(State(state): State<AppState>, admin: Admin, Path(id): Path<String>) -> ApiResult<Json<Deleted>> {
    endpoints::delete(&state.billing.store, state.now(), &admin.actor, &id).await?;
    Ok(Json(Deleted { id, deleted: true }))
}

/// `POST /api/v1/admin/webhooks/{id}/rotate {"overlap_seconds"?}`: a new signing secret (in the
/// answer, once); the old one keeps signing beside it for the overlap (default a day). Audited.
#[utoipa::path(
    post, path = "/api/v1/admin/webhooks/{id}/rotate", tag = "outgoing webhooks", request_body = RotateSecretBody,
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, description = "Rotated; `secret` is shown this once", body = WebhookEndpoint),
        (status = 404, body = Problem, content_type = "application/problem+json"), BadBody, AdminOnly)
)]
pub async fn rotate(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RotateSecretBody>,
) -> ApiResult<Json<WebhookEndpoint>> {
    Ok(Json(endpoints::rotate(&state.billing.store, state.now(), &admin.actor, &id, body).await?))
}

/// `POST /api/v1/admin/webhooks/{id}/test {"event_type"?}`: send a test event to this endpoint
/// only → 202 with its delivery. Audited.
#[utoipa::path(
    post, path = "/api/v1/admin/webhooks/{id}/test", tag = "outgoing webhooks", request_body = TestEventBody,
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 202, description = "Queued for delivery", body = WebhookDelivery),
        (status = 404, body = Problem, content_type = "application/problem+json"), BadBody, AdminOnly)
)]
pub async fn send_test(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TestEventBody>,
) -> ApiResult<(StatusCode, Json<WebhookDelivery>)> {
    let delivery = endpoints::send_test(&state.billing.store, state.now(), &admin.actor, &id, body).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}

/// `GET /api/v1/admin/webhooks/{id}/deliveries?limit=`: the endpoint's deliveries, newest first,
/// with status, attempts, last response code, latency and payload.
#[utoipa::path(
    get, path = "/api/v1/admin/webhooks/{id}/deliveries", tag = "outgoing webhooks",
    params(("id" = String, Path, description = "Endpoint id"), DeliveriesQuery),
    responses((status = 200, body = [WebhookDelivery]), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"), AdminOnly)
)]
pub async fn deliveries(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<DeliveriesQuery>,
) -> ApiResult<Json<Vec<WebhookDelivery>>> {
    Ok(Json(endpoints::deliveries(&state.billing.store, &id, query.limit.unwrap_or(50)).await?))
}

/// `GET /api/v1/admin/webhooks/{id}/deliveries/{delivery_id}`: one delivery.
#[utoipa::path(
    get, path = "/api/v1/admin/webhooks/{id}/deliveries/{delivery_id}", tag = "outgoing webhooks",
    params(("id" = String, Path, description = "Endpoint id"), ("delivery_id" = String, Path)),
    responses((status = 200, body = WebhookDelivery), (status = 404, body = Problem, content_type = "application/problem+json"), AdminOnly)
)]
pub async fn delivery(
    State(state): State<AppState>,
    _admin: Admin,
    Path((id, delivery_id)): Path<(String, String)>,
) -> ApiResult<Json<WebhookDelivery>> {
    Ok(Json(endpoints::delivery(&state.billing.store, &id, &delivery_id).await?))
}

/// `POST /api/v1/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver`: make the delivery due
/// again now (same `webhook-id`) → 202. Audited.
#[utoipa::path(
    post, path = "/api/v1/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "outgoing webhooks",
    params(("id" = String, Path, description = "Endpoint id"), ("delivery_id" = String, Path)),
    responses((status = 202, description = "Due again now", body = WebhookDelivery), (status = 404, body = Problem, content_type = "application/problem+json"), AdminOnly)
)]
pub async fn redeliver(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, delivery_id)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<WebhookDelivery>)> {
    let delivery = endpoints::redeliver(&state.billing.store, state.now(), &admin.actor, &id, &delivery_id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}
