//! Reservations of usage under `/api/v1/billing/usage/reservations` (issue 15 §2): hold an
//! estimate before a streamed call, commit what it really used, or release it. With a service
//! token, name the user as on every route (`user_id` in the body, or `?user_id=`).

use super::error::ApiResult;
use super::extract::{Acting, ActingQuery, ApiJson};
use super::responses::{ActsForUser, BadBody};
use crate::server::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use tariff_core::usage::reserve;
use tariff_model::Problem;
use tariff_model::api::ForUser;
use tariff_model::usage::{CommitBody, Reservation, ReservationBody};

/// `POST /api/v1/billing/usage/reservations {"metric", "amount", "ttl_seconds"?}`: hold the
/// estimate against the quota (and, beyond it with an overage price, the balance).
#[utoipa::path(
    post, path = "/api/v1/billing/usage/reservations", tag = "usage", request_body = ReservationBody,
    responses((status = 201, description = "Held; counts as used until committed, released or expired", body = Reservation),
        (status = 404, description = "Unknown metric", body = Problem, content_type = "application/problem+json"),
        (status = 402, description = "The part beyond the quota cannot be held on the balance; nothing held", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The hold does not fit in the quota; nothing held", body = Problem, content_type = "application/problem+json"),
        BadBody, ActsForUser)
)]
pub async fn create(
    State(state): State<AppState>,
    acting: Acting<ReservationBody>,
) -> ApiResult<(StatusCode, Json<Reservation>)> {
    let policy = state.billing.settings.no_subscription_policy;
    let held = reserve::reserve(&state.billing.store, state.now(), policy, &acting.user, &acting.body).await?;
    Ok((StatusCode::CREATED, Json(held)))
}

/// `GET /api/v1/billing/usage/reservations/{id}`: one reservation made for the caller (on
/// whichever account it holds against); a service or admin token reaches one made for the user
/// it names with `user_id`.
#[utoipa::path(
    get, path = "/api/v1/billing/usage/reservations/{id}", tag = "usage",
    params(("id" = String, Path, description = "Reservation id"), ForUser),
    responses((status = 200, body = Reservation),
        (status = 404, description = "No such reservation, or one made for another user", body = Problem, content_type = "application/problem+json"),
        ActsForUser)
)]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    acting: ActingQuery<ForUser>,
) -> ApiResult<Json<Reservation>> {
    Ok(Json(reserve::get(&state.billing.store, &acting.user, &id).await?))
}

/// `POST /api/v1/billing/usage/reservations/{id}/commit {"amount"}`: record the actual usage
/// and end the hold, in one transaction.
#[utoipa::path(
    post, path = "/api/v1/billing/usage/reservations/{id}/commit", tag = "usage", request_body = CommitBody,
    params(("id" = String, Path, description = "Reservation id"), ForUser),
    responses((status = 200, description = "Committed: the usage is recorded and the hold ended", body = Reservation),
        (status = 404, description = "No such reservation, or one made for another user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not held any more (committed, released or expired)", body = Problem, content_type = "application/problem+json"),
        (status = 402, description = "The usage beyond the hold cannot be paid; nothing changed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The usage beyond the hold does not fit the quota; nothing changed", body = Problem, content_type = "application/problem+json"),
        BadBody, ActsForUser)
)]
pub async fn commit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    acting: ActingQuery<ForUser>,
    ApiJson(body): ApiJson<CommitBody>,
) -> ApiResult<Json<Reservation>> {
    let policy = state.billing.settings.no_subscription_policy;
    Ok(Json(reserve::commit(&state.billing.store, state.now(), policy, &acting.user, &id, body).await?))
}

/// `POST /api/v1/billing/usage/reservations/{id}/release`: end the hold without usage.
#[utoipa::path(
    post, path = "/api/v1/billing/usage/reservations/{id}/release", tag = "usage",
    params(("id" = String, Path, description = "Reservation id"), ForUser),
    responses((status = 200, description = "Released", body = Reservation),
        (status = 404, description = "No such reservation, or one made for another user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not held any more (committed, released or expired)", body = Problem, content_type = "application/problem+json"),
        ActsForUser)
)]
pub async fn release(
    State(state): State<AppState>,
    Path(id): Path<String>,
    acting: ActingQuery<ForUser>,
) -> ApiResult<Json<Reservation>> {
    Ok(Json(reserve::release(&state.billing.store, state.now(), &acting.user, &id).await?))
}
