//! Organisation routes (issue 13, seed 004's organisation-level plan and balance): organisations,
//! members and roles, invitations, the account a user bills to, usage by member, and the
//! admin's organisation list, page and manual credit. Every route acts as the token's own user;
//! a non-member gets 404 for an organisation's routes.

use super::error::ApiResult;
use super::extract::{Admin, ApiJson, ApiQuery, Auth};
use super::responses::{AdminOnly, BadBody, Unauthenticated};
use crate::server::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use tariff_core::paging::paging;
use tariff_core::{balance, organizations};
use tariff_model::balance::AdjustmentBody;
use tariff_model::org::{
    AccountChoice, CurrentAccount, Invitation, InvitationBody, Member, MemberChanges, OrgUsageQuery, Organization,
    OrganizationBody, OrganizationSummary, OrganizationUsage, OrganizationsQuery,
};
use tariff_model::portal::Page;
use tariff_model::{Balance, Problem};

/// `POST /api/v1/organizations {"name"}`: create an organisation with the caller as owner, its
/// own balance and the free plan → 201.
#[utoipa::path(
    post, path = "/api/v1/organizations", tag = "organizations", request_body = OrganizationBody,
    responses((status = 201, body = Organization), BadBody, Unauthenticated)
)]
pub async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<OrganizationBody>,
) -> ApiResult<(StatusCode, Json<Organization>)> {
    let org = organizations::create(&state.billing.store, state.now(), &principal.user, &body).await?;
    Ok((StatusCode::CREATED, Json(org)))
}

/// `GET /api/v1/organizations`: the caller's organisations, with their role in each.
#[utoipa::path(
    get, path = "/api/v1/organizations", tag = "organizations",
    responses((status = 200, body = [OrganizationSummary]), Unauthenticated)
)]
pub async fn list_mine(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Json<Vec<OrganizationSummary>>> {
    Ok(Json(organizations::list_mine(&state.billing.store, &principal.user).await?))
}

/// `GET /api/v1/organizations/{id}`: members with roles, plan and balance (members only); pending
/// invitations for owners and admins.
#[utoipa::path(
    get, path = "/api/v1/organizations/{id}", tag = "organizations", params(("id" = String, Path)),
    responses((status = 200, body = Organization), (status = 404, description = "Unknown, or the caller is not a member", body = Problem, content_type = "application/problem+json"), Unauthenticated)
)]
pub async fn get(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Organization>> {
    Ok(Json(organizations::get(&state.billing.store, state.now(), &id, &principal.user).await?))
}

/// `PATCH /api/v1/organizations/{id} {"name"}`: rename (owners and admins).
#[utoipa::path(
    patch, path = "/api/v1/organizations/{id}", tag = "organizations", params(("id" = String, Path)), request_body = OrganizationBody,
    responses((status = 200, body = Organization),
        (status = 403, description = "A member who is neither owner nor admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown, or the caller is not a member", body = Problem, content_type = "application/problem+json"), BadBody, Unauthenticated)
)]
pub async fn rename(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<OrganizationBody>,
) -> ApiResult<Json<Organization>> {
    Ok(Json(organizations::rename(&state.billing.store, state.now(), &id, &principal.user, &body).await?))
}

/// `POST /api/v1/organizations/{id}/invitations {"email", "role"}`: invite by email, valid for
/// 7 days (owners and admins; only owners invite owners) → 201.
#[utoipa::path(
    post, path = "/api/v1/organizations/{id}/invitations", tag = "organizations", params(("id" = String, Path)), request_body = InvitationBody,
    responses((status = 201, body = Invitation),
        (status = 403, description = "Not an owner or admin (or an admin inviting an owner)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown, or the caller is not a member", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already a member, or already invited", body = Problem, content_type = "application/problem+json"), BadBody, Unauthenticated)
)]
pub async fn invite(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<InvitationBody>,
) -> ApiResult<(StatusCode, Json<Invitation>)> {
    let invitation = organizations::invite(&state.billing.store, state.now(), &id, &principal.user, &body).await?;
    Ok((StatusCode::CREATED, Json(invitation)))
}

/// `DELETE /api/v1/organizations/{id}/invitations/{invitation_id}`: revoke a pending invitation.
#[utoipa::path(
    delete, path = "/api/v1/organizations/{id}/invitations/{invitation_id}", tag = "organizations",
    params(("id" = String, Path), ("invitation_id" = String, Path)),
    responses((status = 200, description = "The revoked invitation", body = Invitation),
        (status = 403, description = "Not an owner or admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "No longer pending", body = Problem, content_type = "application/problem+json"), Unauthenticated)
)]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((id, invitation_id)): Path<(String, String)>,
) -> ApiResult<Json<Invitation>> {
    let db = &state.billing.store;
    Ok(Json(organizations::revoke_invitation(db, state.now(), &id, &invitation_id, &principal.user).await?))
}

/// `PATCH /api/v1/organizations/{id}/members/{user_id} {"role"?, "caps"?}`: change a member's
/// role or caps (owners and admins; owners only for anything about an owner).
#[utoipa::path(
    patch, path = "/api/v1/organizations/{id}/members/{user_id}", tag = "organizations",
    params(("id" = String, Path), ("user_id" = String, Path)), request_body = MemberChanges,
    responses((status = 200, body = Member),
        (status = 403, description = "Not allowed for the caller's role", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The last owner cannot be demoted", body = Problem, content_type = "application/problem+json"), BadBody, Unauthenticated)
)]
pub async fn update_member(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((id, user_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<MemberChanges>,
) -> ApiResult<Json<Member>> {
    let db = &state.billing.store;
    Ok(Json(organizations::update_member(db, state.now(), &id, &user_id, &principal.user, &body).await?))
}

/// `DELETE /api/v1/organizations/{id}/members/{user_id}`: remove a member, or leave (one's own id)
/// → 204. The last owner can neither leave nor be removed (409).
#[utoipa::path(
    delete, path = "/api/v1/organizations/{id}/members/{user_id}", tag = "organizations",
    params(("id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204, description = "Removed; their billing is personal again"),
        (status = 403, description = "Not allowed for the caller's role", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The last owner", body = Problem, content_type = "application/problem+json"), Unauthenticated)
)]
pub async fn remove_member(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    organizations::remove_member(&state.billing.store, state.now(), &id, &user_id, &principal.user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/organizations/{id}/usage?group_by=member`: this period's usage, feature units and
/// spending by member (owners and admins).
#[utoipa::path(
    get, path = "/api/v1/organizations/{id}/usage", tag = "organizations", params(("id" = String, Path), OrgUsageQuery),
    responses((status = 200, body = OrganizationUsage),
        (status = 403, description = "Not an owner or admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "group_by other than member", body = Problem, content_type = "application/problem+json"), Unauthenticated)
)]
pub async fn usage(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<OrgUsageQuery>,
) -> ApiResult<Json<OrganizationUsage>> {
    let db = &state.billing.store;
    Ok(Json(organizations::usage_by_member(db, state.now(), &id, &principal.user, query.group_by.as_deref()).await?))
}

/// `GET /api/v1/invitations`: pending invitations to the caller's email.
#[utoipa::path(
    get, path = "/api/v1/invitations", tag = "organizations",
    responses((status = 200, body = [Invitation]), Unauthenticated)
)]
pub async fn my_invitations(State(state): State<AppState>, Auth(principal): Auth) -> ApiResult<Json<Vec<Invitation>>> {
    Ok(Json(organizations::my_invitations(&state.billing.store, state.now(), &principal.user).await?))
}

/// `POST /api/v1/invitations/{id}/accept`: join the organisation with the invitation's role.
#[utoipa::path(
    post, path = "/api/v1/invitations/{id}/accept", tag = "organizations", params(("id" = String, Path)),
    responses((status = 200, description = "The organisation joined", body = Organization),
        (status = 404, description = "No invitation to the caller's email", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already a member", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Expired, revoked or answered", body = Problem, content_type = "application/problem+json"), Unauthenticated)
)]
pub async fn accept(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Organization>> {
    Ok(Json(organizations::accept(&state.billing.store, state.now(), &id, &principal.user).await?))
}

/// `POST /api/v1/invitations/{id}/decline`.
#[utoipa::path(
    post, path = "/api/v1/invitations/{id}/decline", tag = "organizations", params(("id" = String, Path)),
    responses((status = 200, description = "The declined invitation", body = Invitation),
        (status = 404, description = "No invitation to the caller's email", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Expired, revoked or answered", body = Problem, content_type = "application/problem+json"), Unauthenticated)
)]
pub async fn decline(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Invitation>> {
    Ok(Json(organizations::decline(&state.billing.store, state.now(), &id, &principal.user).await?))
}

/// `GET /api/v1/billing/account`: the account the caller bills to now.
#[utoipa::path(
    get, path = "/api/v1/billing/account", tag = "organizations",
    responses((status = 200, body = CurrentAccount), Unauthenticated)
)]
pub async fn current_account(State(state): State<AppState>, Auth(principal): Auth) -> ApiResult<Json<CurrentAccount>> {
    Ok(Json(organizations::current_account(&state.billing.store, &principal.user).await?))
}

/// `PUT /api/v1/billing/account {"account_id"}`: bill usage, charges, checks and payments to the
/// caller's personal account or an organisation they belong to.
#[utoipa::path(
    put, path = "/api/v1/billing/account", tag = "organizations", request_body = AccountChoice,
    responses((status = 200, body = CurrentAccount),
        (status = 403, description = "Not the caller's account nor an organisation they belong to", body = Problem, content_type = "application/problem+json"), BadBody, Unauthenticated)
)]
pub async fn switch_account(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<AccountChoice>,
) -> ApiResult<Json<CurrentAccount>> {
    Ok(Json(organizations::switch(&state.billing.store, state.now(), &principal.user, &body).await?))
}

/// `GET /api/v1/admin/billing/organizations?search=&page=&page_size=`: every organisation with
/// plan, members and balance, newest first.
#[utoipa::path(
    get, path = "/api/v1/admin/billing/organizations", tag = "admin", params(OrganizationsQuery),
    responses((status = 200, body = Page<OrganizationSummary>), (status = 422, description = "Bad paging", body = Problem, content_type = "application/problem+json"), AdminOnly)
)]
pub async fn admin_list(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(q): ApiQuery<OrganizationsQuery>,
) -> ApiResult<Json<Page<OrganizationSummary>>> {
    let (page, page_size, offset) = paging(q.page, q.page_size)?;
    let (items, total) = organizations::list_all(&state.billing.store, q.search.as_deref(), page_size, offset).await?;
    Ok(Json(Page { items, total, page, page_size }))
}

/// `GET /api/v1/admin/billing/organizations/{id}`: one organisation with members, plan, balance
/// and pending invitations.
#[utoipa::path(
    get, path = "/api/v1/admin/billing/organizations/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = Organization), (status = 404, body = Problem, content_type = "application/problem+json"), AdminOnly)
)]
pub async fn admin_get(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<Organization>> {
    Ok(Json(organizations::get_for_admin(&state.billing.store, state.now(), &id).await?))
}

/// `POST /api/v1/admin/billing/organizations/{id}/balance {"amount", "reason"}`: credit or debit
/// the organisation's shared balance; never below zero. Audited.
#[utoipa::path(
    post, path = "/api/v1/admin/billing/organizations/{id}/balance", tag = "admin", params(("id" = String, Path)),
    request_body = AdjustmentBody,
    responses((status = 200, description = "The balance after the adjustment", body = Balance),
        (status = 404, description = "Unknown organisation", body = Problem, content_type = "application/problem+json"), BadBody, AdminOnly)
)]
pub async fn admin_adjust_balance(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AdjustmentBody>,
) -> ApiResult<Json<Balance>> {
    let low = state.billing.settings.low_balance_minor;
    Ok(Json(balance::adjust_organization(&state.billing.store, state.now(), &admin.actor, &id, &body, low).await?))
}
