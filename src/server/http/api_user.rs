//! Public and user-facing JSON routes under `/api/v1/billing` (spec 000 "User Endpoints",
//! spec 003 "API Endpoints"). With a `service` token, routes act for the user named by a
//! `user_id` body field or query parameter.

use super::api_admin::{Page, paging, query};
use super::auth::Auth;
use super::json::ApiJson;
use super::openapi::{BadBody, Unauthenticated};
use crate::model::{Plan, QuotaStatus, Subscription, Transaction};
use crate::server::billing::{self, usage};
use crate::server::error::Problem;
use crate::server::error::{Error, Result};
use crate::server::state::AppState;
use crate::server::store::usage::UsageRow;
use axum::Json;
use axum::extract::{Path, Query, State, rejection::QueryRejection};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

/// `GET /api/v1/billing/plans`: active plans ordered by `display_order`, each with every spec
/// field, `price` as a decimal number and `price_minor` in minor units. Public.
#[utoipa::path(
    get, path = "/api/v1/billing/plans", tag = "plans", security(()),
    responses((status = 200, description = "Active plans by display_order", body = [crate::model::Plan]))
)]
pub async fn list_plans(State(state): State<AppState>) -> Result<Json<Vec<Plan>>> {
    Ok(Json(billing::plans::list_active(&state.store).await?))
}

/// `GET /api/v1/billing/plans/{plan_id}`: one active plan; 404 problem JSON for an unknown or
/// inactive plan. Public.
#[utoipa::path(
    get, path = "/api/v1/billing/plans/{plan_id}", tag = "plans", security(()),
    params(("plan_id" = String, Path, description = "Plan id, e.g. pro")),
    responses((status = 200, body = crate::model::Plan), (status = 404, description = "Unknown or inactive plan", body = Problem, content_type = "application/problem+json"))
)]
pub async fn get_plan(State(state): State<AppState>, Path(plan_id): Path<String>) -> Result<Json<Plan>> {
    Ok(Json(billing::plans::get_active(&state.store, &plan_id).await?))
}

/// `?user_id=` for service tokens.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ForUser {
    pub user_id: Option<String>,
}

/// `GET /api/v1/billing/subscription`: the live subscription with its plan; 404 when there is none.
#[utoipa::path(
    get, path = "/api/v1/billing/subscription", tag = "subscription", params(ForUser),
    responses((status = 200, body = crate::model::Subscription), (status = 404, description = "No live subscription", body = Problem, content_type = "application/problem+json"), Unauthenticated)
)]
pub async fn get_subscription(
    State(state): State<AppState>,
    Auth(principal): Auth,
    q: std::result::Result<Query<ForUser>, QueryRejection>,
) -> Result<Json<Subscription>> {
    let user = principal.subject(&state.store, query(q)?.user_id.as_deref()).await?;
    billing::subscriptions::current(&state.store, state.now(), &user.account_id)
        .await?
        .map(Json)
        .ok_or_else(|| Error::not_found("subscription", user.id))
}

/// Body of `POST /api/v1/billing/subscription/cancel`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct CancelBody {
    #[serde(default)]
    pub immediate: bool,
    pub user_id: Option<String>,
}

/// `POST /api/v1/billing/subscription/cancel {"immediate": false}`: cancel at period end, or now.
#[utoipa::path(
    post, path = "/api/v1/billing/subscription/cancel", tag = "subscription", request_body = CancelBody,
    responses((status = 200, body = crate::model::Subscription), (status = 404, description = "No live subscription", body = Problem, content_type = "application/problem+json"), BadBody, Unauthenticated)
)]
pub async fn cancel_subscription(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<CancelBody>,
) -> Result<Json<Subscription>> {
    let user = principal.subject(&state.store, body.user_id.as_deref()).await?;
    Ok(Json(billing::subscriptions::cancel(&state.store, state.now(), &user.account_id, body.immediate).await?))
}

/// `POST /api/v1/billing/subscription/resume`: withdraw a pending cancellation.
#[utoipa::path(
    post, path = "/api/v1/billing/subscription/resume", tag = "subscription", params(ForUser),
    responses((status = 200, body = crate::model::Subscription), (status = 404, description = "No live subscription", body = Problem, content_type = "application/problem+json"), Unauthenticated)
)]
pub async fn resume_subscription(
    State(state): State<AppState>,
    Auth(principal): Auth,
    q: std::result::Result<Query<ForUser>, QueryRejection>,
) -> Result<Json<Subscription>> {
    let user = principal.subject(&state.store, query(q)?.user_id.as_deref()).await?;
    Ok(Json(billing::subscriptions::resume(&state.store, state.now(), &user.account_id).await?))
}

/// `GET /api/v1/billing/usage/{metric}`: usage, limit, remaining and the period.
#[utoipa::path(
    get, path = "/api/v1/billing/usage/{metric}", tag = "usage",
    params(("metric" = String, Path, description = "tokens_input, tokens_output, requests, images or audio_minutes"), ForUser),
    responses((status = 200, body = crate::model::QuotaStatus), (status = 404, description = "Unknown metric", body = Problem, content_type = "application/problem+json"), Unauthenticated)
)]
pub async fn get_usage(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(metric): Path<String>,
    q: std::result::Result<Query<ForUser>, QueryRejection>,
) -> Result<Json<QuotaStatus>> {
    let metric = usage::parse_metric(&metric)?;
    let user = principal.subject(&state.store, query(q)?.user_id.as_deref()).await?;
    Ok(Json(usage::check(&state.store, state.now(), state.config.no_subscription_policy, &user, metric, 0).await?))
}

fn one() -> i64 {
    1
}

/// Body of `POST /api/v1/billing/usage/check`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CheckBody {
    pub metric: String,
    #[serde(default = "one")]
    pub amount: i64,
    pub user_id: Option<String>,
}

/// `POST /api/v1/billing/usage/check {"metric", "amount"}`: would `amount` fit? Changes nothing.
#[utoipa::path(
    post, path = "/api/v1/billing/usage/check", tag = "usage", request_body = CheckBody,
    responses((status = 200, description = "Read-only: would the amount fit?", body = crate::model::QuotaStatus), (status = 404, description = "Unknown metric", body = Problem, content_type = "application/problem+json"), BadBody, Unauthenticated)
)]
pub async fn check_usage(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<CheckBody>,
) -> Result<Json<QuotaStatus>> {
    let metric = usage::parse_metric(&body.metric)?;
    if body.amount <= 0 {
        return Err(Error::invalid("amount", "must be a positive whole number"));
    }
    let user = principal.subject(&state.store, body.user_id.as_deref()).await?;
    Ok(Json(
        usage::check(&state.store, state.now(), state.config.no_subscription_policy, &user, metric, body.amount)
            .await?,
    ))
}

/// `POST /api/v1/billing/usage`: record one event and consume it from the quota atomically.
/// 201 when recorded, 200 when its `event_id` was recorded before, 429 when over quota.
#[utoipa::path(
    post, path = "/api/v1/billing/usage", tag = "usage", request_body = usage::UsageEvent,
    responses((status = 201, description = "Recorded and consumed", body = usage::Tracked), (status = 200, description = "event_id seen before; counted once", body = usage::Tracked),
        (status = 404, description = "Unknown metric", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over quota; nothing recorded", body = Problem, content_type = "application/problem+json"), BadBody, Unauthenticated)
)]
pub async fn track_usage(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(event): ApiJson<usage::UsageEvent>,
) -> Result<(StatusCode, Json<usage::Tracked>)> {
    usage::parse_metric(&event.metric)?;
    let user = principal.subject(&state.store, event.user_id.as_deref()).await?;
    let tracked = usage::track(&state.store, state.now(), state.config.no_subscription_policy, &user, event).await?;
    let status = if tracked.recorded { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(tracked)))
}

/// Body of `POST /api/v1/billing/usage/batch`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct BatchBody {
    pub events: Vec<usage::UsageEvent>,
}

/// `POST /api/v1/billing/usage/batch {"events": [...]}` (service tokens): up to 1,000 events,
/// validated as a whole, idempotent per `event_id` → `{accepted, duplicates}`.
#[utoipa::path(
    post, path = "/api/v1/billing/usage/batch", tag = "usage", request_body = BatchBody,
    responses((status = 200, body = usage::BatchOutcome), (status = 403, description = "Not a service token", body = Problem, content_type = "application/problem+json"), BadBody, Unauthenticated)
)]
pub async fn track_batch(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<BatchBody>,
) -> Result<Json<usage::BatchOutcome>> {
    principal.require_service()?;
    let outcome =
        usage::record_batch(&state.store, state.now(), state.config.no_subscription_policy, &principal, body.events)
            .await?;
    Ok(Json(outcome))
}

/// Query of the transaction list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TransactionsQuery {
    pub user_id: Option<String>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
}

/// `GET /api/v1/billing/transactions?page=&page_size=`: payment history, newest first.
#[utoipa::path(
    get, path = "/api/v1/billing/transactions", tag = "transactions", params(TransactionsQuery),
    responses((status = 200, body = Page<crate::model::Transaction>), (status = 422, description = "Bad paging", body = Problem, content_type = "application/problem+json"), Unauthenticated)
)]
pub async fn list_transactions(
    State(state): State<AppState>,
    Auth(principal): Auth,
    q: std::result::Result<Query<TransactionsQuery>, QueryRejection>,
) -> Result<Json<Page<Transaction>>> {
    let q = query(q)?;
    let (page, page_size, offset) = paging(q.page, q.page_size)?;
    let user = principal.subject(&state.store, q.user_id.as_deref()).await?;
    let (items, total) = billing::payments::history(&state, &user.account_id, page_size, offset).await?;
    Ok(Json(Page { items, total, page, page_size }))
}

/// The whole billing picture of a user (`GET /api/v1/billing/me`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BillingInfo {
    pub user_id: String,
    pub email: String,
    pub subscription: Option<Subscription>,
    pub plan: Option<Plan>,
    pub usage: Vec<QuotaStatus>,
    pub recent_usage: Vec<UsageRow>,
    pub transactions: Vec<Transaction>,
}

/// `GET /api/v1/billing/me`: subscription, plan, usage of every metric with limits, recent
/// usage events and recent transactions.
#[utoipa::path(
    get, path = "/api/v1/billing/me", tag = "subscription", params(ForUser),
    responses((status = 200, body = BillingInfo), Unauthenticated)
)]
pub async fn me(
    State(state): State<AppState>,
    Auth(principal): Auth,
    q: std::result::Result<Query<ForUser>, QueryRejection>,
) -> Result<Json<BillingInfo>> {
    let user = principal.subject(&state.store, query(q)?.user_id.as_deref()).await?;
    let now = state.now();
    let subscription = billing::subscriptions::current(&state.store, now, &user.account_id).await?;
    let usage =
        usage::overview(&state.store, now, state.config.no_subscription_policy, &user, subscription.as_ref()).await?;
    let recent_usage = usage::recent(&state.store, &user.account_id, 20).await?;
    let (transactions, _) = billing::payments::history(&state, &user.account_id, 10, 0).await?;
    Ok(Json(BillingInfo {
        user_id: user.id,
        email: user.email,
        plan: subscription.as_ref().map(|s| s.plan.clone()),
        subscription,
        usage,
        recent_usage,
        transactions,
    }))
}

/// Body of `POST /api/v1/billing/payment`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PaymentBody {
    pub plan_id: String,
    pub return_url: String,
    pub user_id: Option<String>,
}

/// `POST /api/v1/billing/payment {"plan_id", "return_url"}`: start paying for a plan; send the
/// payer to `confirmation_url`.
#[utoipa::path(
    post, path = "/api/v1/billing/payment", tag = "payments", request_body = PaymentBody,
    responses((status = 200, body = crate::server::billing::payments::Checkout),
        (status = 404, description = "Unknown plan", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "YooKassa refused", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Payments unavailable; try again", body = Problem, content_type = "application/problem+json"),
        BadBody, Unauthenticated)
)]
pub async fn create_payment(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<PaymentBody>,
) -> Result<Json<billing::payments::Checkout>> {
    let user = principal.subject(&state.store, body.user_id.as_deref()).await?;
    Ok(Json(billing::payments::checkout(&state, &user, &body.plan_id, &body.return_url).await?))
}

/// `GET /api/v1/billing/transactions/{id}`: one of the caller's transactions (the return page
/// follows it until it is final; the return itself changes nothing).
#[utoipa::path(
    get, path = "/api/v1/billing/transactions/{transaction_id}", tag = "transactions",
    params(("transaction_id" = String, Path), ForUser),
    responses((status = 200, body = Transaction), (status = 404, body = Problem, content_type = "application/problem+json"), Unauthenticated)
)]
pub async fn get_transaction(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(transaction_id): Path<String>,
    q: std::result::Result<Query<ForUser>, QueryRejection>,
) -> Result<Json<Transaction>> {
    let user = principal.subject(&state.store, query(q)?.user_id.as_deref()).await?;
    Ok(Json(billing::payments::transaction(&state, &user, &transaction_id).await?))
}
