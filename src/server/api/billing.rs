//! Public and user-facing JSON routes under `/api/v1/billing` (spec 000 "User Endpoints",
//! spec 003 "API Endpoints"). With a `service` token, routes act for the user named by a
//! `user_id` body field or query parameter.

use super::error::ApiResult;
use super::extract::{Acting, ActingQuery, ApiJson, Auth};
use super::responses::{ActsForUser, BadBody, Unauthenticated};
use crate::server::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use tariff_core::accounts::picture;
use tariff_core::paging::paging;
use tariff_core::{Error, payments, plans, subscriptions, usage};
use tariff_model::api::{BillingInfo, CancelBody, Checkout, ForUser, PaymentBody, TransactionsQuery};
use tariff_model::portal::Page;
use tariff_model::usage::{BatchBody, CheckBody};
use tariff_model::{BatchOutcome, Entity, Plan, Problem, QuotaStatus, Subscription, Tracked, Transaction, UsageEvent};

/// `GET /api/v1/billing/plans`: active plans ordered by `display_order`, each with every spec
/// field, `price` as a decimal number and `price_minor` in minor units. Public.
#[utoipa::path(
    get, path = "/api/v1/billing/plans", tag = "plans", security(()),
    responses((status = 200, description = "Active plans by display_order", body = [Plan]))
)]
pub async fn list_plans(State(state): State<AppState>) -> ApiResult<Json<Vec<Plan>>> {
    Ok(Json(plans::list_active(&state.billing.store).await?))
}

/// `GET /api/v1/billing/plans/{plan_id}`: one active plan; 404 problem JSON for an unknown or
/// inactive plan. Public.
#[utoipa::path(
    get, path = "/api/v1/billing/plans/{plan_id}", tag = "plans", security(()),
    params(("plan_id" = String, Path, description = "Plan id, e.g. pro")),
    responses((status = 200, body = Plan), (status = 404, description = "Unknown or inactive plan", body = Problem, content_type = "application/problem+json"))
)]
pub async fn get_plan(State(state): State<AppState>, Path(plan_id): Path<String>) -> ApiResult<Json<Plan>> {
    Ok(Json(plans::get_active(&state.billing.store, &plan_id).await?))
}

/// `GET /api/v1/billing/subscription`: the live subscription with its plan; 404 when there is none.
#[utoipa::path(
    get, path = "/api/v1/billing/subscription", tag = "subscription", params(ForUser),
    responses((status = 200, body = Subscription), (status = 404, description = "No live subscription", body = Problem, content_type = "application/problem+json"), ActsForUser)
)]
pub async fn get_subscription(
    State(state): State<AppState>,
    acting: ActingQuery<ForUser>,
) -> ApiResult<Json<Subscription>> {
    let user = acting.user;
    subscriptions::current(&state.billing.store, state.now(), &user.account_id)
        .await?
        .map(Json)
        .ok_or_else(|| Error::not_found(Entity::Subscription, user.id).into())
}

/// `POST /api/v1/billing/subscription/cancel {"immediate": false}`: cancel at period end, or now.
#[utoipa::path(
    post, path = "/api/v1/billing/subscription/cancel", tag = "subscription", request_body = CancelBody,
    responses((status = 200, body = Subscription), (status = 404, description = "No live subscription", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The free plan cannot be canceled, or the subscription changed meanwhile", body = Problem, content_type = "application/problem+json"),
        BadBody, ActsForUser)
)]
pub async fn cancel_subscription(
    State(state): State<AppState>,
    acting: Acting<CancelBody>,
) -> ApiResult<Json<Subscription>> {
    acting.user.require_payer()?;
    let account = &acting.user.account_id;
    Ok(Json(subscriptions::cancel(&state.billing.store, state.now(), account, acting.body.immediate).await?))
}

/// `POST /api/v1/billing/subscription/resume`: withdraw a pending cancellation; for a paused
/// subscription (when the plan lets its subscribers pause), resume it: a fresh period starts now
/// and is charged like a renewal.
#[utoipa::path(
    post, path = "/api/v1/billing/subscription/resume", tag = "subscription", params(ForUser),
    responses((status = 200, body = Subscription), (status = 404, description = "No live subscription", body = Problem, content_type = "application/problem+json"), ActsForUser)
)]
pub async fn resume_subscription(
    State(state): State<AppState>,
    acting: ActingQuery<ForUser>,
) -> ApiResult<Json<Subscription>> {
    Ok(Json(subscriptions::pause::resume_own(&state.billing, &acting.user).await?))
}

/// `GET /api/v1/billing/usage/{metric}`: usage, limit, remaining and the period.
#[utoipa::path(
    get, path = "/api/v1/billing/usage/{metric}", tag = "usage",
    params(("metric" = String, Path, description = "tokens_input, tokens_output, requests, images or audio_minutes"), ForUser),
    responses((status = 200, body = QuotaStatus), (status = 404, description = "Unknown metric", body = Problem, content_type = "application/problem+json"), ActsForUser)
)]
pub async fn get_usage(
    State(state): State<AppState>,
    Path(metric): Path<String>,
    acting: ActingQuery<ForUser>,
) -> ApiResult<Json<QuotaStatus>> {
    let metric = usage::parse_metric(&metric)?;
    let policy = state.billing.settings.no_subscription_policy;
    Ok(Json(usage::standing_of(&state.billing.store, state.now(), policy, &acting.user, metric).await?))
}

/// `POST /api/v1/billing/usage/check {"metric", "amount"}`: would `amount` fit? Changes nothing.
#[utoipa::path(
    post, path = "/api/v1/billing/usage/check", tag = "usage", request_body = CheckBody,
    responses((status = 200, description = "Read-only: would the amount fit?", body = QuotaStatus), (status = 404, description = "Unknown metric", body = Problem, content_type = "application/problem+json"), BadBody, ActsForUser)
)]
pub async fn check_usage(State(state): State<AppState>, acting: Acting<CheckBody>) -> ApiResult<Json<QuotaStatus>> {
    let policy = state.billing.settings.no_subscription_policy;
    let body = &acting.body;
    Ok(Json(usage::check(&state.billing.store, state.now(), policy, &acting.user, &body.metric, body.amount).await?))
}

/// `POST /api/v1/billing/usage`: record one event and consume it from the quota atomically.
/// 201 when recorded, 200 when its `event_id` was recorded before, 429 when over quota; with an
/// overage price for the metric the excess is paid from the balance instead (402 when it cannot).
#[utoipa::path(
    post, path = "/api/v1/billing/usage", tag = "usage", request_body = UsageEvent,
    responses((status = 201, description = "Recorded and consumed", body = Tracked), (status = 200, description = "event_id seen before; counted once", body = Tracked),
        (status = 404, description = "Unknown metric", body = Problem, content_type = "application/problem+json"),
        (status = 402, description = "Over quota with an overage price, and the balance cannot pay the excess; nothing recorded", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over quota without an overage price; nothing recorded", body = Problem, content_type = "application/problem+json"), BadBody, ActsForUser)
)]
pub async fn track_usage(
    State(state): State<AppState>,
    acting: Acting<UsageEvent>,
) -> ApiResult<(StatusCode, Json<Tracked>)> {
    let policy = state.billing.settings.no_subscription_policy;
    let tracked = usage::track(&state.billing.store, state.now(), policy, &acting.user, acting.body).await?;
    let status = if tracked.recorded { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(tracked)))
}

/// `POST /api/v1/billing/usage/batch {"events": [...]}` (service tokens): up to 1,000 events,
/// validated as a whole, idempotent per `event_id` → `{accepted, duplicates}`.
#[utoipa::path(
    post, path = "/api/v1/billing/usage/batch", tag = "usage", request_body = BatchBody,
    responses((status = 200, body = BatchOutcome), (status = 403, description = "Not a service token", body = Problem, content_type = "application/problem+json"), BadBody, Unauthenticated)
)]
pub async fn track_batch(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<BatchBody>,
) -> ApiResult<Json<BatchOutcome>> {
    let policy = state.billing.settings.no_subscription_policy;
    Ok(Json(usage::record_batch(&state.billing.store, state.now(), policy, &principal, body.events).await?))
}

/// `GET /api/v1/billing/transactions?page=&page_size=`: payment history, newest first.
#[utoipa::path(
    get, path = "/api/v1/billing/transactions", tag = "transactions", params(TransactionsQuery),
    responses((status = 200, body = Page<Transaction>), (status = 404, description = "Unknown user_id", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad paging", body = Problem, content_type = "application/problem+json"), ActsForUser)
)]
pub async fn list_transactions(
    State(state): State<AppState>,
    acting: ActingQuery<TransactionsQuery>,
) -> ApiResult<Json<Page<Transaction>>> {
    let (page, page_size, offset) = paging(acting.query.page, acting.query.page_size)?;
    let (items, total) = payments::history(&state.billing.store, &acting.user.account_id, page_size, offset).await?;
    Ok(Json(Page { items, total, page, page_size }))
}

/// `GET /api/v1/billing/me`: subscription, plan, usage of every metric with limits, recent
/// usage events, recent transactions and the balance.
#[utoipa::path(
    get, path = "/api/v1/billing/me", tag = "subscription", params(ForUser),
    responses((status = 200, body = BillingInfo), (status = 404, description = "Unknown user_id", body = Problem, content_type = "application/problem+json"), ActsForUser)
)]
pub async fn me(State(state): State<AppState>, acting: ActingQuery<ForUser>) -> ApiResult<Json<BillingInfo>> {
    let policy = state.billing.settings.no_subscription_policy;
    let low = state.billing.settings.low_balance_minor;
    Ok(Json(picture::billing_info(&state.billing.store, state.now(), policy, &acting.user, low).await?))
}

/// `POST /api/v1/billing/payment {"plan_id", "return_url"}`: start paying for a plan; send the
/// payer to `confirmation_url`.
#[utoipa::path(
    post, path = "/api/v1/billing/payment", tag = "payments", request_body = PaymentBody,
    responses((status = 200, body = Checkout),
        (status = 404, description = "Unknown plan", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "YooKassa refused", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Payments unavailable; try again", body = Problem, content_type = "application/problem+json"),
        BadBody, ActsForUser)
)]
pub async fn create_payment(State(state): State<AppState>, acting: Acting<PaymentBody>) -> ApiResult<Json<Checkout>> {
    let body = &acting.body;
    Ok(Json(payments::checkout(&state.billing, &acting.user, &body.plan_id, &body.return_url).await?))
}

/// `GET /api/v1/billing/transactions/{id}`: one of the caller's transactions (the return page
/// follows it until it is final; the return itself changes nothing).
#[utoipa::path(
    get, path = "/api/v1/billing/transactions/{transaction_id}", tag = "transactions",
    params(("transaction_id" = String, Path), ForUser),
    responses((status = 200, body = Transaction), (status = 404, body = Problem, content_type = "application/problem+json"), ActsForUser)
)]
pub async fn get_transaction(
    State(state): State<AppState>,
    Path(transaction_id): Path<String>,
    acting: ActingQuery<ForUser>,
) -> ApiResult<Json<Transaction>> {
    Ok(Json(payments::transaction(&state.billing.store, &acting.user, &transaction_id).await?))
}
