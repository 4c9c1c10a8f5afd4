//! Prometheus metrics (issue 15 §4): `GET /metrics` in the Prometheus text format, recorded
//! through the `metrics` facade and rendered by `metrics-exporter-prometheus`.
//!
//! What is measured, and where:
//! - `tariff_http_requests_total{method, route, status}` and
//!   `tariff_http_request_duration_seconds{method, route}` (histogram): every request, by its
//!   route pattern (`/api/v1/billing/usage/{metric}`), here;
//! - `tariff_quota_decisions_total{metric, decision}` (allowed, refused, duplicate, balance),
//!   `tariff_consume_group_size`, `tariff_charge_group_size` and `tariff_reservation_group_size`
//!   (histograms: consumes, feature charges and reservation writes per commit),
//!   `tariff_consume_groups_total{outcome}` and `tariff_reservation_groups_total{outcome}`
//!   (committed, rolled_back, commit_failed, no_transaction),
//!   `tariff_reservation_writes_alone_total{reason}` (database_error, group_failed: reservation
//!   writes sent back from a group to run in a transaction of their own),
//!   `tariff_reservation_group_retries_total` (groups tried again with a savepoint for every
//!   write after a hold without one failed),
//!   `tariff_payments_total{kind,
//!   outcome}`, `tariff_refunds_total{outcome}`, `tariff_jobs_runs_total{job, outcome}` and
//!   `tariff_job_duration_seconds{job}`: in the billing core and the jobs;
//! - `tariff_webhook_notifications_total{outcome}`: the YooKassa webhook route;
//! - `tariff_rate_limited_total` and `tariff_rate_limiter_redis` (1 while decisions are taken
//!   in Redis): the rate limiter;
//! - `tariff_db_pool_connections{state="in_use"|"idle"}`, `tariff_db_pool_max`,
//!   `tariff_db_hot_connections{state="in_use"|"idle"}` (the quota reads' own connections, beside
//!   the pool) and `tariff_consume_queue_waiting` (consumes waiting for the committer): sampled at
//!   each scrape.
//!
//! Access: with `METRICS_TOKEN` set, `/metrics` requires it as a Bearer token; without it,
//! `/metrics` is open in development and answers 404 in production.

use super::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use secrecy::ExposeSecret;
use std::sync::OnceLock;
use std::time::Instant;

/// Upper bounds of the latency histograms, in seconds.
const LATENCY_BUCKETS: [f64; 14] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0];

/// Upper bounds of the group-size histograms (`tariff_consume_group_size`,
/// `tariff_charge_group_size`, `tariff_reservation_group_size`), in items per commit; the
/// largest group is 128 (each committer's `MAX_GROUP`).
const GROUP_SIZE_BUCKETS: [f64; 8] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0];

/// The process's recorder, installed on first use (one per process: the tests build many apps).
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(&LATENCY_BUCKETS)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_group_size".into()), &GROUP_SIZE_BUCKETS))
                .expect("the buckets are not empty");
            match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder is installed (only possible when embedding Tariff): render
                // from a recorder of our own that nothing records into.
                Err(e) => {
                    tracing::warn!(error = %e, "a metrics recorder was installed already; /metrics shows none of Tariff's");
                    PrometheusBuilder::new().build_recorder().handle()
                }
            }
        })
        .clone()
}

/// Middleware of every route: counts the request and times it by its route pattern.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("tariff_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("tariff_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`: the Prometheus text format (see the module docs for access).
pub async fn render(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match &state.config.metrics_token {
        Some(token) => {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            let expected = token.expose_secret().as_bytes();
            if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), expected)) {
                return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")])
                    .into_response();
            }
        }
        None if state.config.environment == super::config::Environment::Production => {
            return StatusCode::NOT_FOUND.into_response();
        }
        None => {}
    }
    let (size, idle) = state.billing.store.pool_connections();
    metrics::gauge!("tariff_db_pool_connections", "state" => "in_use").set(f64::from(size.saturating_sub(idle)));
    metrics::gauge!("tariff_db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("tariff_db_pool_max").set(f64::from(state.config.database_max_connections));
    let (size, idle) = state.billing.store.hot_connections();
    metrics::gauge!("tariff_db_hot_connections", "state" => "in_use").set(size.saturating_sub(idle) as f64);
    metrics::gauge!("tariff_db_hot_connections", "state" => "idle").set(idle as f64);
    metrics::gauge!("tariff_consume_queue_waiting").set(state.billing.store.consumes_waiting() as f64);
    metrics::gauge!("tariff_rate_limiter_redis").set(if state.rate_limiter.on_redis() { 1.0 } else { 0.0 });
    let handle = handle();
    handle.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
