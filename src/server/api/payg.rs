//! Pay-as-you-go JSON routes (seed 004 "API Endpoints"): the balance, top-ups, priced features
//! and charges under `/api/v1/billing`, and the feature catalogue and manual balance
//! adjustments under `/api/v1/admin/billing`.

use super::error::ApiResult;
use super::extract::{Acting, ActingQuery, Admin, ApiJson};
use super::responses::{ActsForUser, AdminOnly, BadBody};
use crate::server::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use tariff_core::{balance, features};
use tariff_model::api::{Checkout, Deleted, ForUser, Limits, UsageHistoryItem, UsageHistoryQuery};
use tariff_model::balance::{AdjustmentBody, ChargeBody, FeatureOffer, FeaturePrice, ThresholdBody, TopupBody};
use tariff_model::portal::Page;
use tariff_model::{Balance, Charged, Feature, FeatureChanges, Problem};

/// `GET /api/v1/billing/balance`: the account's balance (exact in `balance_micros`), what it
/// owes, whether it is low, and the newest ledger entries.
#[utoipa::path(
    get, path = "/api/v1/billing/balance", tag = "balance", params(ForUser),
    responses((status = 200, body = Balance), (status = 404, description = "Unknown user_id", body = Problem, content_type = "application/problem+json"), ActsForUser)
)]
pub async fn get_balance(State(state): State<AppState>, acting: ActingQuery<ForUser>) -> ApiResult<Json<Balance>> {
    let low = state.billing.settings.low_balance_minor;
    Ok(Json(balance::balance_of(&state.billing.store, &acting.user.account_id, low).await?))
}

/// `POST /api/v1/billing/topup {"amount": 500.00, "return_url"}`: start a top-up through YooKassa;
/// send the payer to `confirmation_url`. The paid top-up credits the balance once.
#[utoipa::path(
    post, path = "/api/v1/billing/topup", tag = "balance", request_body = TopupBody,
    responses((status = 200, body = Checkout),
        (status = 404, description = "Unknown user_id", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "YooKassa refused", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Payments unavailable; try again", body = Problem, content_type = "application/problem+json"),
        BadBody, ActsForUser)
)]
pub async fn create_topup(State(state): State<AppState>, acting: Acting<TopupBody>) -> ApiResult<Json<Checkout>> {
    let body = &acting.body;
    Ok(Json(balance::topup(&state.billing, &acting.user, &body.amount, &body.return_url).await?))
}

/// `POST /api/v1/billing/charge {"feature", "units", "event_id"?}`: charge units of a feature,
/// first from the plan's included units, the rest from the balance at the discounted price.
/// 200 with what was charged (`duplicate: true` for a repeated `event_id`, charged once).
#[utoipa::path(
    post, path = "/api/v1/billing/charge", tag = "balance", request_body = ChargeBody,
    responses((status = 200, body = Charged),
        (status = 402, description = "The balance cannot pay; `required` and `balance` say how much. Nothing recorded", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`feature_not_available`: the plan does not include the feature (or a user token named another user)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown or inactive feature, or unknown user_id", body = Problem, content_type = "application/problem+json"),
        BadBody, ActsForUser)
)]
pub async fn charge(State(state): State<AppState>, acting: Acting<ChargeBody>) -> ApiResult<Json<Charged>> {
    let policy = state.billing.settings.no_subscription_policy;
    Ok(Json(balance::charge(&state.billing.store, state.now(), policy, &acting.user, acting.body).await?))
}

/// `GET /api/v1/billing/features`: every active feature with its access level, whether this
/// account may use it, its list price and price after the plan's discount, and included units.
#[utoipa::path(
    get, path = "/api/v1/billing/features", tag = "balance", params(ForUser),
    responses((status = 200, body = [FeatureOffer]), (status = 404, description = "Unknown user_id", body = Problem, content_type = "application/problem+json"), ActsForUser)
)]
pub async fn list_features(
    State(state): State<AppState>,
    acting: ActingQuery<ForUser>,
) -> ApiResult<Json<Vec<FeatureOffer>>> {
    let policy = state.billing.settings.no_subscription_policy;
    Ok(Json(balance::feature_offers(&state.billing.store, state.now(), policy, &acting.user).await?))
}

/// `GET /api/v1/billing/features/{name}/price`: seed 004's `get_price()` for this account.
#[utoipa::path(
    get, path = "/api/v1/billing/features/{name}/price", tag = "balance",
    params(("name" = String, Path, description = "The feature's name, e.g. gpt-4o"), ForUser),
    responses((status = 200, body = FeaturePrice), (status = 404, description = "Unknown or inactive feature", body = Problem, content_type = "application/problem+json"), ActsForUser)
)]
pub async fn feature_price(
    State(state): State<AppState>,
    Path(name): Path<String>,
    acting: ActingQuery<ForUser>,
) -> ApiResult<Json<FeaturePrice>> {
    let policy = state.billing.settings.no_subscription_policy;
    Ok(Json(balance::feature_price(&state.billing.store, state.now(), policy, &acting.user, &name).await?))
}

/// `GET /api/v1/billing/limits`: every metric's quota and every feature's included units this
/// period, with what is used and left (seed 004 `check_limit()`).
#[utoipa::path(
    get, path = "/api/v1/billing/limits", tag = "balance", params(ForUser),
    responses((status = 200, body = Limits), (status = 404, description = "Unknown user_id", body = Problem, content_type = "application/problem+json"), ActsForUser)
)]
pub async fn get_limits(State(state): State<AppState>, acting: ActingQuery<ForUser>) -> ApiResult<Json<Limits>> {
    let policy = state.billing.settings.no_subscription_policy;
    Ok(Json(balance::limits(&state.billing.store, state.now(), policy, &acting.user).await?))
}

/// `GET /api/v1/billing/usage?metric=&feature=&from=&to=&page=&page_size=`: the usage history,
/// newest first — metric events and feature charges with what each cost from the balance.
#[utoipa::path(
    get, path = "/api/v1/billing/usage", tag = "usage", params(UsageHistoryQuery),
    responses((status = 200, body = Page<UsageHistoryItem>),
        (status = 404, description = "Unknown user_id", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown metric, bad feature name or paging", body = Problem, content_type = "application/problem+json"), ActsForUser)
)]
pub async fn usage_history(
    State(state): State<AppState>,
    acting: ActingQuery<UsageHistoryQuery>,
) -> ApiResult<Json<Page<UsageHistoryItem>>> {
    Ok(Json(balance::history(&state.billing.store, &acting.user.account_id, &acting.query).await?))
}

/// `GET /api/v1/admin/billing/features`: every feature, active or not.
#[utoipa::path(
    get, path = "/api/v1/admin/billing/features", tag = "admin",
    responses((status = 200, body = [Feature]), AdminOnly)
)]
pub async fn admin_list_features(State(state): State<AppState>, _admin: Admin) -> ApiResult<Json<Vec<Feature>>> {
    Ok(Json(features::list(&state.billing.store).await?))
}

/// `POST /api/v1/admin/billing/features`: create a feature → 201. Audited.
#[utoipa::path(
    post, path = "/api/v1/admin/billing/features", tag = "admin", request_body = FeatureChanges,
    responses((status = 201, body = Feature), (status = 409, description = "The name exists", body = Problem, content_type = "application/problem+json"), BadBody, AdminOnly)
)]
pub async fn admin_create_feature(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<FeatureChanges>,
) -> ApiResult<(StatusCode, Json<Feature>)> {
    let feature = features::create(&state.billing.store, state.now(), &admin.actor, body).await?;
    Ok((StatusCode::CREATED, Json(feature)))
}

/// `GET /api/v1/admin/billing/features/{name}`: one feature, active or not.
#[utoipa::path(
    get, path = "/api/v1/admin/billing/features/{name}", tag = "admin", params(("name" = String, Path)),
    responses((status = 200, body = Feature), (status = 404, body = Problem, content_type = "application/problem+json"), AdminOnly)
)]
pub async fn admin_get_feature(
    State(state): State<AppState>,
    _admin: Admin,
    Path(name): Path<String>,
) -> ApiResult<Json<Feature>> {
    Ok(Json(features::get(&state.billing.store, &name).await?))
}

/// `PUT /api/v1/admin/billing/features/{name}`: partial update. Audited.
#[utoipa::path(
    put, path = "/api/v1/admin/billing/features/{name}", tag = "admin", params(("name" = String, Path)), request_body = FeatureChanges,
    responses((status = 200, body = Feature), (status = 404, body = Problem, content_type = "application/problem+json"), BadBody, AdminOnly)
)]
pub async fn admin_update_feature(
    State(state): State<AppState>,
    admin: Admin,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<FeatureChanges>,
) -> ApiResult<Json<Feature>> {
    Ok(Json(features::update(&state.billing.store, state.now(), &admin.actor, &name, body).await?))
}

/// `DELETE /api/v1/admin/billing/features/{name}`: delete; past charges keep the name. Audited.
#[utoipa::path(
    delete, path = "/api/v1/admin/billing/features/{name}", tag = "admin", params(("name" = String, Path)),
    responses((status = 200, body = Deleted), (status = 404, body = Problem, content_type = "application/problem+json"), AdminOnly)
)]
pub async fn admin_delete_feature(
    State(state): State<AppState>,
    admin: Admin,
    Path(name): Path<String>,
) -> ApiResult<Json<Deleted>> {
    features::delete(&state.billing.store, state.now(), &admin.actor, &name).await?;
    Ok(Json(Deleted { id: name, deleted: true }))
}

/// `POST /api/v1/admin/billing/users/{user_id}/balance {"amount": 50.00, "reason"}`: credit
/// (positive) or debit (negative) the user's billing account; never below zero. Audited.
#[utoipa::path(
    post, path = "/api/v1/admin/billing/users/{user_id}/balance", tag = "admin", params(("user_id" = String, Path)),
    request_body = AdjustmentBody,
    responses((status = 200, description = "The balance after the adjustment", body = Balance),
        (status = 404, description = "Unknown user", body = Problem, content_type = "application/problem+json"), BadBody, AdminOnly)
)]
pub async fn admin_adjust_balance(
    State(state): State<AppState>,
    admin: Admin,
    Path(user_id): Path<String>,
    ApiJson(body): ApiJson<AdjustmentBody>,
) -> ApiResult<Json<Balance>> {
    let low = state.billing.settings.low_balance_minor;
    Ok(Json(balance::adjust(&state.billing.store, state.now(), &admin.actor, &user_id, &body, low).await?))
}

/// `PATCH /api/v1/admin/billing/users/{user_id}/balance {"low_balance_threshold": 200.00}`: the
/// account's own low-balance threshold (`null`: the server's default). Audited.
#[utoipa::path(
    patch, path = "/api/v1/admin/billing/users/{user_id}/balance", tag = "admin", params(("user_id" = String, Path)),
    request_body = ThresholdBody,
    responses((status = 200, description = "The balance with its threshold", body = Balance),
        (status = 404, description = "Unknown user", body = Problem, content_type = "application/problem+json"), BadBody, AdminOnly)
)]
pub async fn admin_set_threshold(
    State(state): State<AppState>,
    admin: Admin,
    Path(user_id): Path<String>,
    ApiJson(body): ApiJson<ThresholdBody>,
) -> ApiResult<Json<Balance>> {
    let low = state.billing.settings.low_balance_minor;
    let threshold = body.low_balance_threshold.as_ref();
    Ok(Json(balance::set_threshold(&state.billing.store, state.now(), &admin.actor, &user_id, threshold, low).await?))
}
