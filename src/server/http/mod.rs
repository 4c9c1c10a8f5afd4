//! The axum router: JSON API under `/api/v1`, health check, Leptos pages and static files.
//! Handlers are thin adapters: parse, call one service function, map the result.

pub mod api_admin;
pub mod api_user;
pub mod auth;
pub mod json;
pub mod openapi;
pub mod webhook;

use super::error::Error;
use super::state::AppState;
use crate::ui::app::{App, shell};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use serde_json::json;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// Largest request body accepted, in bytes (a usage batch of 1,000 events fits comfortably).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The Leptos routes, generated once per process.
///
/// Generating them renders the app with resource loading suppressed through a process-wide flag
/// (leptos_server 0.8.8), and a resource first polled while that flag is set never completes
/// (leptos-rs/leptos#4773). `serve` builds one app before it listens, but the tests build an app
/// per test while other tests render pages, so building the list twice made a page hang now and
/// then. One generation per process removes the window.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// Builds the whole application. Kept apart from `serve` so tests can run it on a random port.
pub fn app(state: AppState) -> Router {
    let routes = route_list();
    let api = Router::new()
        .route("/api/v1/billing/plans", get(api_user::list_plans).post(api_admin::create_plan_setup_guide))
        .route("/api/v1/billing/plans/{plan_id}", get(api_user::get_plan))
        .route("/api/v1/billing/subscription", get(api_user::get_subscription))
        .route("/api/v1/billing/subscription/cancel", post(api_user::cancel_subscription))
        .route("/api/v1/billing/subscription/resume", post(api_user::resume_subscription))
        .route("/api/v1/billing/usage", post(api_user::track_usage))
        .route("/api/v1/billing/usage/check", post(api_user::check_usage))
        .route("/api/v1/billing/usage/batch", post(api_user::track_batch))
        .route("/api/v1/billing/usage/{metric}", get(api_user::get_usage))
        .route("/api/v1/billing/transactions", get(api_user::list_transactions))
        .route("/api/v1/billing/transactions/{transaction_id}", get(api_user::get_transaction))
        .route("/api/v1/billing/payment", post(api_user::create_payment))
        .route("/api/v1/billing/webhook/yookassa", post(webhook::yookassa))
        .route("/api/v1/billing/me", get(api_user::me))
        .route("/api/v1/admin/billing/plans", get(api_admin::list_plans).post(api_admin::create_plan))
        .route(
            "/api/v1/admin/billing/plans/{plan_id}",
            get(api_admin::get_plan).put(api_admin::update_plan).delete(api_admin::delete_plan),
        )
        .route("/api/v1/admin/billing/plans/{plan_id}/toggle", patch(api_admin::toggle_plan))
        .route("/api/v1/admin/billing/plans/{plan_id}/duplicate", post(api_admin::duplicate_plan))
        .route("/api/v1/admin/billing/plans/{plan_id}/subscribers", get(api_admin::plan_subscribers))
        .route("/api/v1/admin/billing/stats", get(api_admin::totals))
        .route("/api/v1/admin/billing/audit", get(api_admin::audit_log))
        .route("/api/v1/admin/billing/subscriptions", post(api_admin::assign_subscription))
        .route("/api/v1/admin/billing/transactions/{transaction_id}/refund", post(api_admin::refund_transaction))
        .route("/api/v1/openapi.json", get(openapi::document));

    let leptos_state = state.clone();
    let mut router = Router::new().route("/healthz", get(healthz)).merge(api);
    if let Some(sandbox) = &state.sandbox {
        router = router.nest("/sandbox/yookassa", crate::server::yookassa::sandbox::router(sandbox.clone()));
    }
    let router = router
        .leptos_routes_with_context(&state, routes, move || provide_context(leptos_state.clone()), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(fallback);
    crate::server::web::layer(router, &state)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<Body>| {
                    let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %request.method(), uri = %request.uri(), request_id)
                }))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(CompressionLayer::new())
                .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES)),
        )
        .with_state(state)
}

/// `GET /healthz`: 200 `{"status":"ok","database":"ok"}` when the database answers, else 503.
async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(json!({ "status": "ok", "database": "ok" })).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "error", "database": "unreachable" })))
                .into_response()
        }
    }
}

/// Unknown `/api/...` paths answer problem JSON; everything else is a static file from the site
/// root or the Leptos 404 page.
async fn fallback(uri: Uri, State(state): State<AppState>, request: Request<Body>) -> Response {
    if uri.path() == "/api" || uri.path().starts_with("/api/") {
        return Error::not_found("route", uri.path()).into_response();
    }
    let context_state = state.clone();
    let handler = leptos_axum::file_and_error_handler_with_context::<AppState, _>(
        move || provide_context(context_state.clone()),
        shell,
    );
    handler(uri, State(state), request).await
}
