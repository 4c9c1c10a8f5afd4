//! The subscription lifecycle's JSON routes (issue 14): plan changes with proration and their
//! preview, trials and the trial's card check, pause and resume, the admin's plan change, the
//! sandbox's test clock and the MRR series.

use super::error::ApiResult;
use super::extract::{Acting, ActingQuery, Admin, ApiJson, ApiQuery};
use super::responses::{ActsForUser, AdminOnly, BadBody};
use crate::server::state::AppState;
use crate::ui::i18n::message;
use axum::Json;
use axum::extract::{Path, State};
use tariff_core::{accounts, revenue, subscriptions};
use tariff_model::admin::MrrSeries;
use tariff_model::api::{
    AdminChangeBody, CardBody, ChangeBody, Checkout, ClockBody, ClockState, ForUser, MrrQuery, PreviewQuery, TrialBody,
};
use tariff_model::{ChangeOutcome, ChangePreview, Locale, Problem, Subscription};

/// `GET /api/v1/billing/subscription/change/preview?plan_id=`: what changing to the plan would
/// cost now and when it applies, with a sentence in the user's language. Changes nothing.
#[utoipa::path(
    get, path = "/api/v1/billing/subscription/change/preview", tag = "subscription", params(PreviewQuery),
    responses((status = 200, body = ChangePreview),
        (status = 404, description = "Unknown plan, or no live subscription", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The subscription is paused", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The current plan, an inactive plan or another currency", body = Problem, content_type = "application/problem+json"),
        ActsForUser)
)]
pub async fn preview_change(
    State(state): State<AppState>,
    acting: ActingQuery<PreviewQuery>,
) -> ApiResult<Json<ChangePreview>> {
    let db = &state.billing.store;
    let (mut preview, plan) =
        subscriptions::preview(db, state.now(), &acting.user.account_id, &acting.query.plan_id).await?;
    let locale = accounts::find_user(db, &acting.user.id).await?.map_or(Locale::En, |u| u.locale);
    let mut named = plan.clone();
    named.name = crate::ui::portal::overview::plan_name(&plan, locale);
    preview.message = message(&subscriptions::change::preview_message(&preview, &named), locale);
    Ok(Json(preview))
}

/// `POST /api/v1/billing/subscription/change {"plan_id", "return_url"?}`: upgrade now (the
/// prorated amount charged to the saved card, or confirmed by the payer at `confirmation_url`) or
/// schedule a downgrade for the period's end.
#[utoipa::path(
    post, path = "/api/v1/billing/subscription/change", tag = "subscription", request_body = ChangeBody,
    responses((status = 200, body = ChangeOutcome),
        (status = 403, description = "A plain member of the organisation billed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown plan, or no live subscription", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The subscription is paused or changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "YooKassa refused", body = Problem, content_type = "application/problem+json"),
        BadBody, ActsForUser)
)]
pub async fn change_plan(State(state): State<AppState>, acting: Acting<ChangeBody>) -> ApiResult<Json<ChangeOutcome>> {
    let body = &acting.body;
    Ok(Json(subscriptions::change(&state.billing, &acting.user, &body.plan_id, body.return_url.as_deref()).await?))
}

/// `DELETE /api/v1/billing/subscription/change`: withdraw the scheduled downgrade.
#[utoipa::path(
    delete, path = "/api/v1/billing/subscription/change", tag = "subscription", params(ForUser),
    responses((status = 200, body = Subscription),
        (status = 404, description = "No live subscription", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No change is scheduled", body = Problem, content_type = "application/problem+json"),
        ActsForUser)
)]
pub async fn cancel_change(
    State(state): State<AppState>,
    acting: ActingQuery<ForUser>,
) -> ApiResult<Json<Subscription>> {
    Ok(Json(subscriptions::cancel_change(&state.billing.store, state.now(), &acting.user).await?))
}

/// `POST /api/v1/billing/subscription/trial {"plan_id"}`: start the plan's trial, once per
/// account and plan family.
#[utoipa::path(
    post, path = "/api/v1/billing/subscription/trial", tag = "subscription", request_body = TrialBody,
    responses((status = 200, body = Subscription),
        (status = 404, description = "Unknown plan", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A trial of this plan was had already, or a paid plan is running", body = Problem, content_type = "application/problem+json"),
        BadBody, ActsForUser)
)]
pub async fn start_trial(State(state): State<AppState>, acting: Acting<TrialBody>) -> ApiResult<Json<Subscription>> {
    Ok(Json(subscriptions::start_trial(&state.billing, &acting.user, &acting.body.plan_id).await?))
}

/// `POST /api/v1/billing/subscription/card {"return_url"}`: a trial's card check — a 1 ₽
/// payment that saves the card for the charge at the trial's end and is refunded at once.
#[utoipa::path(
    post, path = "/api/v1/billing/subscription/card", tag = "subscription", request_body = CardBody,
    responses((status = 200, body = Checkout),
        (status = 404, description = "No live subscription", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The subscription is not a trial", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "YooKassa refused", body = Problem, content_type = "application/problem+json"),
        BadBody, ActsForUser)
)]
pub async fn add_card(State(state): State<AppState>, acting: Acting<CardBody>) -> ApiResult<Json<Checkout>> {
    Ok(Json(subscriptions::add_card(&state.billing, &acting.user, &acting.body.return_url).await?))
}

/// `POST /api/v1/billing/subscription/pause`: pause one's own subscription, when the plan's
/// metadata allows it (`"allow_pause": true`).
#[utoipa::path(
    post, path = "/api/v1/billing/subscription/pause", tag = "subscription", params(ForUser),
    responses((status = 200, body = Subscription),
        (status = 403, description = "The plan does not allow it, or a plain organisation member", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No live subscription", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Paused already", body = Problem, content_type = "application/problem+json"),
        ActsForUser)
)]
pub async fn pause_own(State(state): State<AppState>, acting: ActingQuery<ForUser>) -> ApiResult<Json<Subscription>> {
    Ok(Json(subscriptions::pause_own(&state.billing, &acting.user, true).await?))
}

/// `POST /api/v1/admin/billing/subscriptions/{id}/pause`.
#[utoipa::path(
    post, path = "/api/v1/admin/billing/subscriptions/{subscription_id}/pause", tag = "admin",
    params(("subscription_id" = String, Path)),
    responses((status = 200, body = Subscription),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Canceled, or paused already", body = Problem, content_type = "application/problem+json"),
        AdminOnly)
)]
pub async fn admin_pause(
    State(state): State<AppState>,
    admin: Admin,
    Path(subscription_id): Path<String>,
) -> ApiResult<Json<Subscription>> {
    Ok(Json(subscriptions::pause_by_admin(&state.billing, &admin.actor, &subscription_id, true).await?))
}

/// `POST /api/v1/admin/billing/subscriptions/{id}/resume`: a fresh period starts now and is
/// charged like a renewal.
#[utoipa::path(
    post, path = "/api/v1/admin/billing/subscriptions/{subscription_id}/resume", tag = "admin",
    params(("subscription_id" = String, Path)),
    responses((status = 200, body = Subscription),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not paused", body = Problem, content_type = "application/problem+json"),
        AdminOnly)
)]
pub async fn admin_resume(
    State(state): State<AppState>,
    admin: Admin,
    Path(subscription_id): Path<String>,
) -> ApiResult<Json<Subscription>> {
    Ok(Json(subscriptions::pause_by_admin(&state.billing, &admin.actor, &subscription_id, false).await?))
}

/// `POST /api/v1/admin/billing/subscriptions/{id}/change {"plan_id", "prorate"}`: change any
/// subscription's plan, with proration (as the user's own change) or without (switch now, no
/// charge); audited.
#[utoipa::path(
    post, path = "/api/v1/admin/billing/subscriptions/{subscription_id}/change", tag = "admin",
    params(("subscription_id" = String, Path)), request_body = AdminChangeBody,
    responses((status = 200, body = ChangeOutcome),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "YooKassa refused", body = Problem, content_type = "application/problem+json"),
        BadBody, AdminOnly)
)]
pub async fn admin_change(
    State(state): State<AppState>,
    admin: Admin,
    Path(subscription_id): Path<String>,
    ApiJson(body): ApiJson<AdminChangeBody>,
) -> ApiResult<Json<ChangeOutcome>> {
    Ok(Json(
        subscriptions::admin_change(&state.billing, &admin.actor, &subscription_id, &body.plan_id, body.prorate)
            .await?,
    ))
}

/// `GET /api/v1/admin/billing/clock`: the sandbox's "now". 404 when the sandbox is off.
#[utoipa::path(
    get, path = "/api/v1/admin/billing/clock", tag = "admin",
    responses((status = 200, body = ClockState),
        (status = 404, description = "The sandbox is off", body = Problem, content_type = "application/problem+json"),
        AdminOnly)
)]
pub async fn get_clock(State(state): State<AppState>, _admin: Admin) -> ApiResult<Json<ClockState>> {
    if state.test_clock.is_none() {
        return Err(tariff_core::Error::not_found(tariff_model::Entity::Route, "/api/v1/admin/billing/clock").into());
    }
    Ok(Json(crate::server::jobs::clock_state(&state, 0)))
}

/// `POST /api/v1/admin/billing/clock {"advance_seconds"}`: move the sandbox's clock forward and
/// run what falls due on the way, in order. 404 when the sandbox is off; 422 for a move that is
/// not 1 second to 5 years forward.
#[utoipa::path(
    post, path = "/api/v1/admin/billing/clock", tag = "admin", request_body = ClockBody,
    responses((status = 200, body = ClockState),
        (status = 404, description = "The sandbox is off", body = Problem, content_type = "application/problem+json"),
        BadBody, AdminOnly)
)]
pub async fn advance_clock(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<ClockBody>,
) -> ApiResult<Json<ClockState>> {
    let moved = crate::server::jobs::advance_clock(&state, &admin.actor, body.advance_seconds).await?;
    Ok(Json(moved))
}

/// `GET /api/v1/admin/billing/stats/mrr?months=12`: MRR month by month per currency, and what
/// moved it (new, expansion, contraction, churn, reactivation).
#[utoipa::path(
    get, path = "/api/v1/admin/billing/stats/mrr", tag = "admin", params(MrrQuery),
    responses((status = 200, body = MrrSeries), BadBody, AdminOnly)
)]
pub async fn mrr_series(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(q): ApiQuery<MrrQuery>,
) -> ApiResult<Json<MrrSeries>> {
    Ok(Json(revenue::series(&state.billing.store, state.now(), q.months.unwrap_or(12)).await?))
}
