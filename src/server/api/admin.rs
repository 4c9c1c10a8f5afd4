//! Admin JSON routes under `/api/v1/admin/billing` (spec 000 "Admin Endpoints") and the setup
//! guide's `POST /api/v1/billing/plans`. Every route needs an admin token (403 otherwise); every
//! mutation is audited with the caller, the request id and the source address.

use super::error::ApiResult;
use super::extract::{Admin, ApiJson, ApiQuery, OptionalJson};
use super::responses::{AdminOnly, BadBody};
use crate::server::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use tariff_core::paging::paging;
use tariff_core::{Error, accounts, audit, organizations, payments, plans, stats, subscriptions};
use tariff_model::admin::{AuditRow, PlanWithStats, SubscriberRow, Totals};
use tariff_model::api::{AssignBody, AuditQuery, Deleted, DuplicateBody, RefundBody, SubscribersQuery};
use tariff_model::portal::Page;
use tariff_model::{Entity, Message, Plan, PlanChanges, Problem, Subscription, SubscriptionStatus, Transaction};

/// `GET /api/v1/admin/billing/plans`: every plan with its subscription counts and MRR.
#[utoipa::path(
    get, path = "/api/v1/admin/billing/plans", tag = "admin",
    responses((status = 200, body = [PlanWithStats]), AdminOnly)
)]
pub async fn list_plans(State(state): State<AppState>, _admin: Admin) -> ApiResult<Json<Vec<PlanWithStats>>> {
    let (plans, _) = stats::plans_with_stats(&state.billing.store).await?;
    Ok(Json(plans))
}

/// `GET /api/v1/admin/billing/stats`: subscription counts and MRR / committed MRR per currency.
#[utoipa::path(
    get, path = "/api/v1/admin/billing/stats", tag = "admin",
    responses((status = 200, body = Totals), AdminOnly)
)]
pub async fn totals(State(state): State<AppState>, _admin: Admin) -> ApiResult<Json<Totals>> {
    let (_, totals) = stats::plans_with_stats(&state.billing.store).await?;
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
) -> ApiResult<(StatusCode, Json<Plan>)> {
    let plan = plans::create(&state.billing.store, state.now(), &admin.actor, body).await?;
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
) -> ApiResult<(StatusCode, Json<Plan>)> {
    create_plan(state, admin, body).await
}

/// `GET /api/v1/admin/billing/plans/{plan_id}`: one plan, active or not, with statistics.
#[utoipa::path(
    get, path = "/api/v1/admin/billing/plans/{plan_id}", tag = "admin", params(("plan_id" = String, Path)),
    responses((status = 200, body = PlanWithStats), (status = 404, body = Problem, content_type = "application/problem+json"), AdminOnly)
)]
pub async fn get_plan(
    State(state): State<AppState>,
    _admin: Admin,
    Path(plan_id): Path<String>,
) -> ApiResult<Json<PlanWithStats>> {
    let (plans, _) = stats::plans_with_stats(&state.billing.store).await?;
    plans
        .into_iter()
        .find(|p| p.plan.id == plan_id)
        .map(Json)
        .ok_or_else(|| Error::not_found(Entity::Plan, plan_id).into())
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
) -> ApiResult<Json<Plan>> {
    let plan = plans::update(&state.billing.store, state.now(), &admin.actor, &plan_id, body).await?;
    Ok(Json(plan))
}

/// `DELETE /api/v1/admin/billing/plans/{plan_id}`: 409 while subscriptions refer to it.
#[utoipa::path(
    delete, path = "/api/v1/admin/billing/plans/{plan_id}", tag = "admin", params(("plan_id" = String, Path)),
    responses((status = 200, description = "`{\"id\", \"deleted\": true}`", body = Deleted), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Subscriptions or payments refer to the plan", body = Problem, content_type = "application/problem+json"), AdminOnly)
)]
pub async fn delete_plan(
    State(state): State<AppState>,
    admin: Admin,
    Path(plan_id): Path<String>,
) -> ApiResult<Json<Deleted>> {
    plans::delete(&state.billing.store, state.now(), &admin.actor, &plan_id).await?;
    Ok(Json(Deleted { id: plan_id, deleted: true }))
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
) -> ApiResult<Json<Plan>> {
    let plan = plans::toggle(&state.billing.store, state.now(), &admin.actor, &plan_id).await?;
    Ok(Json(plan))
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
    OptionalJson(body): OptionalJson<DuplicateBody>,
) -> ApiResult<(StatusCode, Json<Plan>)> {
    let plan = plans::duplicate(&state.billing.store, state.now(), &admin.actor, &plan_id, body.id, body.name).await?;
    Ok((StatusCode::CREATED, Json(plan)))
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
    ApiQuery(q): ApiQuery<SubscribersQuery>,
) -> ApiResult<Json<Page<SubscriberRow>>> {
    let (page, page_size, offset) = paging(q.page, q.page_size)?;
    // The page's filter form may send an empty status ("all"); the API names one or none.
    if q.status.as_deref().is_some_and(|s| SubscriptionStatus::parse(s).is_none()) {
        return Err(Error::invalid("status", tariff_model::Message::StatusUnknown).into());
    }
    let (items, total) = subscriptions::plan_subscribers(
        &state.billing.store,
        &plan_id,
        q.status.as_deref(),
        q.email.as_deref(),
        page_size,
        offset,
    )
    .await?;
    Ok(Json(Page { items, total, page, page_size }))
}

/// `GET /api/v1/admin/billing/audit?entity_type=&entity_id=&user_id=&action=&since=&until=`.
#[utoipa::path(
    get, path = "/api/v1/admin/billing/audit", tag = "admin", params(AuditQuery),
    responses((status = 200, body = Page<AuditRow>), (status = 422, body = Problem, content_type = "application/problem+json"), AdminOnly)
)]
pub async fn audit_log(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Page<AuditRow>>> {
    let (page, page_size, offset) = paging(q.page, q.page_size)?;
    let filter = audit::AuditFilter {
        entity_type: q.entity_type,
        entity_id: q.entity_id,
        user_id: q.user_id,
        action: q.action,
        since: q.since,
        until: q.until,
    };
    let (items, total) = audit::list(&state.billing.store, &filter, page_size, offset).await?;
    Ok(Json(Page { items, total, page, page_size }))
}

/// `POST /api/v1/admin/billing/subscriptions {"user_id" | "organization_id", "plan_id"}`: assign
/// or comp a plan now to a user's personal account or to an organisation.
#[utoipa::path(
    post, path = "/api/v1/admin/billing/subscriptions", tag = "admin", request_body = AssignBody,
    responses((status = 200, body = Subscription), (status = 404, description = "Unknown user or plan", body = Problem, content_type = "application/problem+json"), BadBody, AdminOnly)
)]
pub async fn assign_subscription(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<AssignBody>,
) -> ApiResult<Json<Subscription>> {
    let db = &state.billing.store;
    let user = match (&body.user_id, &body.organization_id) {
        (Some(user_id), None) => accounts::user_ref(db, user_id).await?,
        (None, Some(org_id)) => organizations::billing_ref(db, org_id).await?,
        _ => {
            return Err(Error::invalid("user_id", Message::AssignTargetRequired).into());
        }
    };
    Ok(Json(subscriptions::assign(&state.billing.store, state.now(), &admin.actor, &user, &body.plan_id).await?))
}

/// `POST /api/v1/admin/billing/transactions/{transaction_id}/refund {"amount": 300.00}`: refund all
/// or part of a payment, never more than was paid; audited. Answers the refund transaction.
#[utoipa::path(
    post, path = "/api/v1/admin/billing/transactions/{transaction_id}/refund", tag = "admin",
    params(("transaction_id" = String, Path)), request_body(content = Option<RefundBody>),
    responses((status = 200, body = Transaction), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "YooKassa refused", body = Problem, content_type = "application/problem+json"), BadBody, AdminOnly)
)]
pub async fn refund_transaction(
    State(state): State<AppState>,
    admin: Admin,
    Path(transaction_id): Path<String>,
    OptionalJson(body): OptionalJson<RefundBody>,
) -> ApiResult<Json<Transaction>> {
    let amount = match body.amount {
        None => None,
        Some(number) => Some(number.minor().map_err(|e| Error::invalid("amount", e.into()))?),
    };
    Ok(Json(payments::refund(&state.billing, &admin.actor, &transaction_id, amount).await?))
}
