//! The JSON API under `/api/v1` and `GET /healthz`: thin adapters that extract (`extract`),
//! call one billing function and answer JSON or problem JSON (`error`). No session and no Origin
//! check here: callers authenticate with Bearer tokens.

pub mod admin;
pub mod billing;
pub mod error;
pub mod extract;
pub mod json;
pub mod lifecycle;
pub mod openapi;
pub mod orgs;
pub mod payg;
pub mod reservations;
pub mod responses;
pub mod webhook;
pub mod webhook_endpoints;

use crate::server::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use error::ApiError;
use tariff_model::api::Health;

/// The routes of the JSON API, the OpenAPI document and the health check.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/billing/plans", get(billing::list_plans).post(admin::create_plan_setup_guide))
        .route("/api/v1/billing/plans/{plan_id}", get(billing::get_plan))
        .route("/api/v1/billing/subscription", get(billing::get_subscription))
        .route("/api/v1/billing/subscription/cancel", post(billing::cancel_subscription))
        .route("/api/v1/billing/subscription/resume", post(billing::resume_subscription))
        .route("/api/v1/billing/subscription/pause", post(lifecycle::pause_own))
        .route("/api/v1/billing/subscription/change", post(lifecycle::change_plan).delete(lifecycle::cancel_change))
        .route("/api/v1/billing/subscription/change/preview", get(lifecycle::preview_change))
        .route("/api/v1/billing/subscription/trial", post(lifecycle::start_trial))
        .route("/api/v1/billing/subscription/card", post(lifecycle::add_card))
        .route("/api/v1/billing/usage", post(billing::track_usage).get(payg::usage_history))
        .route("/api/v1/billing/usage/check", post(billing::check_usage))
        .route("/api/v1/billing/usage/batch", post(billing::track_batch))
        .route("/api/v1/billing/usage/reservations", post(reservations::create))
        .route("/api/v1/billing/usage/reservations/{id}", get(reservations::get))
        .route("/api/v1/billing/usage/reservations/{id}/commit", post(reservations::commit))
        .route("/api/v1/billing/usage/reservations/{id}/release", post(reservations::release))
        .route("/api/v1/billing/usage/{metric}", get(billing::get_usage))
        .route("/api/v1/billing/transactions", get(billing::list_transactions))
        .route("/api/v1/billing/transactions/{transaction_id}", get(billing::get_transaction))
        .route("/api/v1/billing/payment", post(billing::create_payment))
        .route("/api/v1/billing/webhook/yookassa", post(webhook::yookassa))
        .route("/api/v1/billing/me", get(billing::me))
        .route("/api/v1/billing/balance", get(payg::get_balance))
        .route("/api/v1/billing/topup", post(payg::create_topup))
        .route("/api/v1/billing/charge", post(payg::charge))
        .route("/api/v1/billing/limits", get(payg::get_limits))
        .route("/api/v1/billing/features", get(payg::list_features))
        .route("/api/v1/billing/features/{name}/price", get(payg::feature_price))
        .route("/api/v1/admin/billing/features", get(payg::admin_list_features).post(payg::admin_create_feature))
        .route(
            "/api/v1/admin/billing/features/{name}",
            get(payg::admin_get_feature).put(payg::admin_update_feature).delete(payg::admin_delete_feature),
        )
        .route(
            "/api/v1/admin/billing/users/{user_id}/balance",
            post(payg::admin_adjust_balance).patch(payg::admin_set_threshold),
        )
        .route("/api/v1/billing/account", get(orgs::current_account).put(orgs::switch_account))
        .route("/api/v1/organizations", get(orgs::list_mine).post(orgs::create))
        .route("/api/v1/organizations/{id}", get(orgs::get).patch(orgs::rename))
        .route("/api/v1/organizations/{id}/invitations", post(orgs::invite))
        .route("/api/v1/organizations/{id}/invitations/{invitation_id}", delete(orgs::revoke_invitation))
        .route("/api/v1/organizations/{id}/members/{user_id}", patch(orgs::update_member).delete(orgs::remove_member))
        .route("/api/v1/organizations/{id}/usage", get(orgs::usage))
        .route("/api/v1/invitations", get(orgs::my_invitations))
        .route("/api/v1/invitations/{id}/accept", post(orgs::accept))
        .route("/api/v1/invitations/{id}/decline", post(orgs::decline))
        .route("/api/v1/admin/billing/organizations", get(orgs::admin_list))
        .route("/api/v1/admin/billing/organizations/{id}", get(orgs::admin_get))
        .route("/api/v1/admin/billing/organizations/{id}/balance", post(orgs::admin_adjust_balance))
        .merge(admin_plan_routes(ADMIN_PLANS, false))
        .merge(admin_plan_routes(SEED_001_ADMIN_PLANS, true))
        .route("/api/v1/admin/billing/stats", get(admin::totals))
        .route("/api/v1/admin/billing/audit", get(admin::audit_log))
        .route("/api/v1/admin/billing/subscriptions", post(admin::assign_subscription))
        .route("/api/v1/admin/billing/subscriptions/{subscription_id}/pause", post(lifecycle::admin_pause))
        .route("/api/v1/admin/billing/subscriptions/{subscription_id}/resume", post(lifecycle::admin_resume))
        .route("/api/v1/admin/billing/subscriptions/{subscription_id}/change", post(lifecycle::admin_change))
        .route("/api/v1/admin/billing/clock", get(lifecycle::get_clock).post(lifecycle::advance_clock))
        .route("/api/v1/admin/billing/stats/mrr", get(lifecycle::mrr_series))
        .route("/api/v1/admin/billing/transactions/{transaction_id}/refund", post(admin::refund_transaction))
        .route("/api/v1/admin/webhooks", get(webhook_endpoints::list).post(webhook_endpoints::create))
        .route(
            "/api/v1/admin/webhooks/{id}",
            get(webhook_endpoints::get).patch(webhook_endpoints::update).delete(webhook_endpoints::delete),
        )
        .route("/api/v1/admin/webhooks/{id}/rotate", post(webhook_endpoints::rotate))
        .route("/api/v1/admin/webhooks/{id}/test", post(webhook_endpoints::send_test))
        .route("/api/v1/admin/webhooks/{id}/deliveries", get(webhook_endpoints::deliveries))
        .route("/api/v1/admin/webhooks/{id}/deliveries/{delivery_id}", get(webhook_endpoints::delivery))
        .route("/api/v1/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver", post(webhook_endpoints::redeliver))
        .route("/api/v1/openapi.json", get(openapi::document))
}

/// Where the plan administration lives (seed 000 "Admin Endpoints").
pub const ADMIN_PLANS: &str = "/api/v1/admin/billing/plans";
/// The same routes under the paths seed 001's appendix lists (`/billing/admin/plans`): aliases
/// with the same handlers, auth and answers; `PATCH` on a plan is its partial update.
pub const SEED_001_ADMIN_PLANS: &str = "/api/v1/billing/admin/plans";

/// The plan administration routes under `prefix`; `patch_updates` also routes a plan's `PATCH`
/// to its partial update (seed 001 lists `PATCH /billing/admin/plans`).
fn admin_plan_routes(prefix: &str, patch_updates: bool) -> Router<AppState> {
    let mut plan = get(admin::get_plan).put(admin::update_plan).delete(admin::delete_plan);
    if patch_updates {
        plan = plan.patch(admin::update_plan);
    }
    Router::new()
        .route(prefix, get(admin::list_plans).post(admin::create_plan))
        .route(&format!("{prefix}/{{plan_id}}"), plan)
        .route(&format!("{prefix}/{{plan_id}}/toggle"), patch(admin::toggle_plan))
        .route(&format!("{prefix}/{{plan_id}}/duplicate"), post(admin::duplicate_plan))
        .route(&format!("{prefix}/{{plan_id}}/subscribers"), get(admin::plan_subscribers))
}

/// `GET /healthz`: 200 `{"status":"ok","database":"ok"}` when the database answers, else 503.
async fn healthz(State(state): State<AppState>) -> Response {
    match state.billing.store.ping().await {
        Ok(()) => axum::Json(Health { status: "ok".into(), database: "ok".into() }).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            let body = Health { status: "error".into(), database: "unreachable".into() };
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
        }
    }
}

/// What unknown paths under `/api` answer: 404 problem JSON (not the web UI's 404 page).
pub fn no_route(uri: &Uri) -> Response {
    ApiError::NoRoute(uri.path().to_owned()).into_response()
}
