//! Admin JSON routes under `/api/v1/admin/billing` (spec 000 "Admin Endpoints") and the setup
//! guide's `POST /api/v1/billing/plans`. Every route needs an admin token (403 otherwise); every
//! mutation is audited with the caller, the request id and the source address.

use super::auth::Admin;
use super::json::ApiJson;
use super::openapi::{AdminOnly, BadBody};
use crate::model::{Plan, PlanChanges};
use crate::server::billing::{self, stats};
use crate::server::error::Problem;
use crate::server::error::{Error, Result};
use crate::server::state::AppState;
use crate::server::store::audit::{AuditFilter, AuditRow};
use crate::server::store::subscriptions::SubscriberRow;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State, rejection::QueryRejection};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;

/// Default and largest page sizes of paginated lists.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 200;

pub use crate::model::portal::Page;

/// `page` (from 1) and `page_size` (1–200, default 50) → (limit, offset).
pub fn paging(page: Option<i64>, page_size: Option<i64>) -> Result<(i64, i64, i64)> {
    let page = page.unwrap_or(1);
    let size = page_size.unwrap_or(DEFAULT_PAGE_SIZE);
    if page < 1 {
        return Err(Error::invalid("page", "must be 1 or more"));
    }
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(Error::invalid("page_size", "must be between 1 and 200"));
    }
    Ok((page, size, (page - 1).saturating_mul(size)))
}

/// A query string that does not parse answers 422 naming the problem.
pub fn query<T>(result: std::result::Result<Query<T>, QueryRejection>) -> Result<T> {
    result.map(|Query(q)| q).map_err(|e| Error::invalid("query", e.body_text()))
}

/// `GET /api/v1/admin/billing/plans`: every plan with its subscription counts and MRR.
#[utoipa::path(
    get, path = "/api/v1/admin/billing/plans", tag = "admin",
    responses((status = 200, body = [stats::PlanWithStats]), AdminOnly)
)]
pub async fn list_plans(State(state): State<AppState>, _admin: Admin) -> Result<Json<Vec<stats::PlanWithStats>>> {
    let (plans, _) = stats::plans_with_stats(&state.store).await?;
    Ok(Json(plans))
}

/// `GET /api/v1/admin/billing/stats`: subscription counts and MRR / committed MRR per currency.
#[utoipa::path(
    get, path = "/api/v1/admin/billing/stats", tag = "admin",
    responses((status = 200, body = stats::Totals), AdminOnly)
)]
pub async fn totals(State(state): State<AppState>, _admin: Admin) -> Result<Json<stats::Totals>> {
    let (_, totals) = stats::plans_with_stats(&state.store).await?;
    Ok(Json(totals))
}

/// `POST /api/v1/admin/billing/plans` (and `POST /api/v1/billing/plans`): create a plan → 201.
#[utoipa::path(
    post, path = "/api/v1/admin/billing/plans", tag = "admin", request_body = PlanChanges,
    responses((status = 201, body = Plan), (status = 409, description = "The id exists", body = Problem, content_type = "application/problem+json"), BadBody, AdminOnly)
)]
pub async fn create_plan(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<PlanChanges>,
) -> Result<(StatusCode, Json<Plan>)> {
    let plan = billing::plans::create(&state.store, state.now(), &admin.actor, body).await?;
    Ok((StatusCode::CREATED, Json(plan)))
}

/// `POST /api/v1/billing/plans`: the setup guide's plan creation route (spec 003 §3), the same as
/// `POST /api/v1/admin/billing/plans`.
#[utoipa::path(
    post, path = "/api/v1/billing/plans", tag = "admin", request_body = PlanChanges,
    responses((status = 201, body = Plan), (status = 409, body = Problem, content_type = "application/problem+json"), BadBody, AdminOnly)
)]
pub async fn create_plan_setup_guide(
    state: State<AppState>,
    admin: Admin,
    body: ApiJson<PlanChanges>,
) -> Result<(StatusCode, Json<Plan>)> {
    create_plan(state, admin, body).await
}

/// `GET /api/v1/admin/billing/plans/{plan_id}`: one plan, active or not, with statistics.
#[utoipa::path(
    get, path = "/api/v1/admin/billing/plans/{plan_id}", tag = "admin", params(("plan_id" = String, Path)),
    responses((status = 200, body = stats::PlanWithStats), (status = 404, body = Problem, content_type = "application/problem+json"), AdminOnly)
)]
pub async fn get_plan(
    State(state): State<AppState>,
    _admin: Admin,
    Path(plan_id): Path<String>,
) -> Result<Json<stats::PlanWithStats>> {
    let (plans, _) = stats::plans_with_stats(&state.store).await?;
    plans.into_iter().find(|p| p.plan.id == plan_id).map(Json).ok_or_else(|| Error::not_found("plan", plan_id))
}

/// `PUT /api/v1/admin/billing/plans/{plan_id}`: partial update.
#[utoipa::path(
    put, path = "/api/v1/admin/billing/plans/{plan_id}", tag = "admin", params(("plan_id" = String, Path)), request_body = PlanChanges,
    responses((status = 200, body = Plan), (status = 404, body = Problem, content_type = "application/problem+json"), BadBody, AdminOnly)
)]
pub async fn update_plan(
    State(state): State<AppState>,
    admin: Admin,
    Path(plan_id): Path<String>,
    ApiJson(body): ApiJson<PlanChanges>,
) -> Result<Json<Plan>> {
    let plan = billing::plans::update(&state.store, state.now(), &admin.actor, &plan_id, body).await?;
    Ok(Json(plan))
}

/// `DELETE /api/v1/admin/billing/plans/{plan_id}`: 409 while subscriptions refer to it.
#[utoipa::path(
    delete, path = "/api/v1/admin/billing/plans/{plan_id}", tag = "admin", params(("plan_id" = String, Path)),
    responses((status = 200, description = "`{\"id\", \"deleted\": true}`"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Subscriptions or payments refer to the plan", body = Problem, content_type = "application/problem+json"), AdminOnly)
)]
pub async fn delete_plan(
    State(state): State<AppState>,
    admin: Admin,
    Path(plan_id): Path<String>,
) -> Result<Json<serde_json::Value>> {
    billing::plans::delete(&state.store, state.now(), &admin.actor, &plan_id).await?;
    Ok(Json(json!({ "id": plan_id, "deleted": true })))
}

/// `PATCH /api/v1/admin/billing/plans/{plan_id}/toggle`: flip `is_active`.
#[utoipa::path(
    patch, path = "/api/v1/admin/billing/plans/{plan_id}/toggle", tag = "admin", params(("plan_id" = String, Path)),
    responses((status = 200, body = Plan), (status = 404, body = Problem, content_type = "application/problem+json"), AdminOnly)
)]
pub async fn toggle_plan(
    State(state): State<AppState>,
    admin: Admin,
    Path(plan_id): Path<String>,
) -> Result<Json<Plan>> {
    let plan = billing::plans::toggle(&state.store, state.now(), &admin.actor, &plan_id).await?;
    Ok(Json(plan))
}

/// Optional body of the duplicate route.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct DuplicateBody {
    pub id: Option<String>,
    pub name: Option<String>,
}

/// `POST /api/v1/admin/billing/plans/{plan_id}/duplicate` (body optional: `{id, name}`) → 201.
#[utoipa::path(
    post, path = "/api/v1/admin/billing/plans/{plan_id}/duplicate", tag = "admin", params(("plan_id" = String, Path)), request_body(content = Option<DuplicateBody>),
    responses((status = 201, body = Plan), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), BadBody, AdminOnly)
)]
pub async fn duplicate_plan(
    State(state): State<AppState>,
    admin: Admin,
    Path(plan_id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Plan>)> {
    let body: DuplicateBody =
        if body.iter().all(u8::is_ascii_whitespace) { DuplicateBody::default() } else { super::json::parse(&body)? };
    let plan = billing::plans::duplicate(&state.store, state.now(), &admin.actor, &plan_id, body.id, body.name).await?;
    Ok((StatusCode::CREATED, Json(plan)))
}

/// Query of the subscriber list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SubscribersQuery {
    pub status: Option<String>,
    /// Only subscribers whose email contains this text (case-insensitive).
    pub email: Option<String>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
}

/// `GET /api/v1/admin/billing/plans/{plan_id}/subscribers?status=&email=&page=&page_size=`.
#[utoipa::path(
    get, path = "/api/v1/admin/billing/plans/{plan_id}/subscribers", tag = "admin", params(("plan_id" = String, Path), SubscribersQuery),
    responses((status = 200, body = Page<SubscriberRow>), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"), AdminOnly)
)]
pub async fn plan_subscribers(
    State(state): State<AppState>,
    _admin: Admin,
    Path(plan_id): Path<String>,
    q: std::result::Result<Query<SubscribersQuery>, QueryRejection>,
) -> Result<Json<Page<SubscriberRow>>> {
    let q = query(q)?;
    let (page, page_size, offset) = paging(q.page, q.page_size)?;
    let (items, total) = billing::subscriptions::plan_subscribers(
        &state.store,
        &plan_id,
        q.status.as_deref(),
        q.email.as_deref(),
        page_size,
        offset,
    )
    .await?;
    Ok(Json(Page { items, total, page, page_size }))
}

/// Query of the audit list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub user_id: Option<String>,
    pub action: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
}

/// `GET /api/v1/admin/billing/audit?entity_type=&entity_id=&user_id=&action=&since=&until=`.
#[utoipa::path(
    get, path = "/api/v1/admin/billing/audit", tag = "admin", params(AuditQuery),
    responses((status = 200, body = Page<AuditRow>), (status = 422, body = Problem, content_type = "application/problem+json"), AdminOnly)
)]
pub async fn audit_log(
    State(state): State<AppState>,
    _admin: Admin,
    q: std::result::Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Page<AuditRow>>> {
    let q = query(q)?;
    let (page, page_size, offset) = paging(q.page, q.page_size)?;
    let filter = AuditFilter {
        entity_type: q.entity_type,
        entity_id: q.entity_id,
        user_id: q.user_id,
        action: q.action,
        since: q.since,
        until: q.until,
    };
    let (items, total) = billing::audit::list(&state.store, &filter, page_size, offset).await?;
    Ok(Json(Page { items, total, page, page_size }))
}

/// Body of `POST /api/v1/admin/billing/subscriptions`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AssignBody {
    pub user_id: String,
    pub plan_id: String,
}

/// `POST /api/v1/admin/billing/subscriptions {"user_id", "plan_id"}`: assign or comp a plan now.
#[utoipa::path(
    post, path = "/api/v1/admin/billing/subscriptions", tag = "admin", request_body = AssignBody,
    responses((status = 200, body = crate::model::Subscription), (status = 404, description = "Unknown user or plan", body = Problem, content_type = "application/problem+json"), BadBody, AdminOnly)
)]
pub async fn assign_subscription(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<AssignBody>,
) -> Result<Json<crate::model::Subscription>> {
    let user = admin.principal.subject(&state.store, Some(&body.user_id)).await?;
    Ok(Json(billing::subscriptions::assign(&state.store, state.now(), &admin.actor, &user, &body.plan_id).await?))
}

/// Body of the refund route: `amount` in major units (`300.00`); omitted = everything left.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RefundBody {
    #[schema(value_type = Option<f64>, example = 300.00)]
    pub amount: Option<serde_json::Number>,
}

/// `POST /api/v1/admin/billing/transactions/{transaction_id}/refund {"amount": 300.00}`: refund all
/// or part of a payment, never more than was paid; audited. Answers the refund transaction.
#[utoipa::path(
    post, path = "/api/v1/admin/billing/transactions/{transaction_id}/refund", tag = "admin",
    params(("transaction_id" = String, Path)), request_body(content = Option<RefundBody>),
    responses((status = 200, body = crate::model::Transaction), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "YooKassa refused", body = Problem, content_type = "application/problem+json"), BadBody, AdminOnly)
)]
pub async fn refund_transaction(
    State(state): State<AppState>,
    admin: Admin,
    Path(transaction_id): Path<String>,
    body: Bytes,
) -> Result<Json<crate::model::Transaction>> {
    let body: RefundBody =
        if body.iter().all(u8::is_ascii_whitespace) { RefundBody::default() } else { super::json::parse(&body)? };
    let amount = match body.amount {
        None => None,
        Some(number) => match crate::model::money::minor_from_decimal(&number.to_string()) {
            Ok(minor) if minor > 0 => Some(minor),
            Ok(_) => return Err(Error::invalid("amount", "must be greater than zero")),
            Err(e) => return Err(Error::invalid("amount", e.to_string())),
        },
    };
    Ok(Json(billing::payments::refund(&state, &admin.actor, &transaction_id, amount).await?))
}
