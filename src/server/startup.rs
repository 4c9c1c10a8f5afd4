//! The one place that wires Tariff together: [`Application::build`] opens and migrates the
//! store, seeds the default plans, creates the first admin, sets up YooKassa (or its sandbox),
//! binds the listener and assembles the router; `main` and the tests both run exactly this.

use super::config::{Config, DEFAULT_YOOKASSA_API_URL};
use super::rate_limit::RateLimiter;
use super::state::AppState;
use super::{api, jobs, metrics, rate_limit, web};
use crate::ui::app::{App, SiteMode, shell};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Uri;
use axum::response::Response;
use leptos::config::{Env, LeptosOptions};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::sync::Arc;
use tariff_core::accounts::{self, AdminBootstrap};
use tariff_core::clock::Clock;
use tariff_core::gateway::PaymentGateway;
use tariff_core::store::Store;
use tariff_core::{Billing, plans};
use tariff_yookassa::sandbox::Sandbox;
use tariff_yookassa::{Client as YooKassaClient, ClientConfig};
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

/// Largest request body accepted, in bytes (a usage batch of 1,000 events fits comfortably).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// A built, listening Tariff server that has not started serving yet.
pub struct Application {
    listener: tokio::net::TcpListener,
    address: SocketAddr,
    state: AppState,
}

impl Application {
    /// Binds `LEPTOS_SITE_ADDR` (port 0 picks a free port) and prepares everything the server
    /// needs, with `clock` as the source of "now".
    ///
    /// # Errors
    /// A message naming what failed: listening, connecting, migrating, seeding, the first admin or
    /// the YooKassa client.
    pub async fn build(mut config: Config, clock: Arc<dyn Clock>) -> Result<Application, String> {
        let listener = tokio::net::TcpListener::bind(config.site_addr)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.site_addr))?;
        let address = listener.local_addr().map_err(|e| format!("cannot read the listening address: {e}"))?;
        // With port 0 the real port is known only now; URLs derived from the address use it.
        config.site_addr = address;
        let state = prepare(config, clock).await?;
        Ok(Application { listener, address, state })
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The state every request and job shares.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, with the background jobs running; in-flight requests
    /// finish, then the pool closes.
    ///
    /// # Errors
    /// A message when the server fails.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), String> {
        let jobs = jobs::spawn(self.state.clone());
        let result = self.run_without_jobs_until(shutdown).await;
        jobs.abort();
        result
    }

    /// Serves until `shutdown` resolves without the background jobs (tests run them themselves,
    /// with their clock).
    ///
    /// # Errors
    /// A message when the server fails.
    pub async fn run_without_jobs_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), String> {
        let Application { listener, address, state } = self;
        tracing::info!(%address, url = %state.config.base_url(), "Tariff is listening");
        let store = state.billing.store.clone();
        let result = axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|e| format!("server error: {e}"));
        store.close().await;
        result
    }
}

/// Opens and migrates the store (a failure here stops every command).
///
/// # Errors
/// A message naming what failed.
pub async fn open_store(config: &Config) -> Result<Store, String> {
    let store =
        Store::connect(&config.database_url, config.database_max_connections).await.map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    store.set_low_balance_default(config.low_balance_minor);
    Ok(store)
}

/// The state the server runs with: store opened and migrated, plans seeded, first admin, the
/// payment gateway.
async fn prepare(config: Config, clock: Arc<dyn Clock>) -> Result<AppState, String> {
    // The metrics recorder first, so that nothing recorded from here on is lost.
    metrics::handle();
    let store = open_store(&config).await?;
    tracing::info!(database = store.dialect().name(), "database ready, migrations applied");

    if let Some(summary) = plans::seed_defaults_if_empty(&store, clock.now())
        .await
        .map_err(|e| format!("seeding default plans failed: {e}"))?
    {
        tracing::info!(created = ?summary.created, "plan table was empty: default plans created");
    }

    match accounts::ensure_first_admin(&store, clock.now(), &config.first_admin())
        .await
        .map_err(|e| format!("creating the first admin failed: {e}"))?
    {
        AdminBootstrap::Exists => {}
        AdminBootstrap::Created { email } => tracing::info!(%email, "first admin created from ADMIN_EMAIL"),
        AdminBootstrap::Generated { email, password } => {
            // Shown once, on stdout only, never through the logger.
            println!(
                "\n  First admin created: {email}\n  Generated password:  {password}\n  (shown once; set ADMIN_EMAIL/ADMIN_PASSWORD to choose your own)\n"
            );
        }
        AdminBootstrap::Missing => {
            tracing::warn!("no admin user exists; set ADMIN_EMAIL and ADMIN_PASSWORD to create one")
        }
    }

    let (gateway, sandbox) = yookassa_setup(&config)?;
    // With the sandbox on, "now" is the test clock's: the wall clock (or the tests' clock) plus
    // the offset admins moved it by, stored in the database for every process.
    let test_clock = match sandbox {
        Some(_) => {
            let test_clock = Arc::new(tariff_core::clock::TestClock::new(clock.clone()));
            tariff_core::test_clock::refresh(&store, &test_clock)
                .await
                .map_err(|e| format!("reading the test clock failed: {e}"))?;
            if test_clock.offset() != 0 {
                tracing::info!(offset_seconds = test_clock.offset(), "sandbox test clock runs ahead of the wall clock");
            }
            Some(test_clock)
        }
        None => None,
    };
    let clock: Arc<dyn Clock> = match &test_clock {
        Some(test_clock) => test_clock.clone(),
        None => clock,
    };
    match tariff_core::revenue::backfill(&store).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(accounts = n, "MRR movements backfilled from the paying subscriptions"),
        Err(e) => return Err(format!("backfilling MRR movements failed: {e}")),
    }
    // Bundle files with hashed names (a release build by cargo-leptos) and their compressed twins.
    let hashed = super::assets::hash_file().is_some();
    super::assets::precompress_in_background(&config.site_root);
    let leptos_options = LeptosOptions::builder()
        .hash_files(hashed)
        .output_name("tariff")
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(config.site_addr)
        .env(Env::PROD)
        .build();
    let billing = Billing { store, clock, gateway, settings: Arc::new(config.billing_settings()) };
    let token_sealer =
        Arc::new(web::TokenSealer::new(config.session_secret.as_ref().map(secrecy::ExposeSecret::expose_secret)));
    let rate_limiter = Arc::new(RateLimiter::new(config.rate_limit.clone(), config.redis_url.as_deref())?);
    let access_log = Arc::new(super::access_log::AccessLog::new(config.access_log.clone())?);
    match (config.rate_limit.enabled, &config.redis_url) {
        (false, _) => tracing::info!("rate limiter off (RATE_LIMIT_ENABLED=off)"),
        (true, Some(url)) => tracing::info!(
            redis = %super::config::redact_url(url),
            requests = config.rate_limit.requests, window_seconds = config.rate_limit.window_seconds,
            "rate limiter on Redis (in memory while Redis cannot be reached)"
        ),
        (true, None) => tracing::info!(
            requests = config.rate_limit.requests,
            window_seconds = config.rate_limit.window_seconds,
            "rate limiter in memory (set REDIS_URL to share it between replicas)"
        ),
    }
    Ok(AppState::new(super::state::Shared {
        billing,
        config: Arc::new(config),
        leptos_options,
        sandbox,
        login_throttle: Arc::default(),
        attempt_limits: Arc::default(),
        token_sealer,
        test_clock,
        clock_lock: Arc::default(),
        rate_limiter,
        access_log,
    }))
}

/// The payment gateway, if payments are configured, and the sandbox it talks to in sandbox mode.
type Payments = (Option<Arc<dyn PaymentGateway>>, Option<Arc<Sandbox>>);

/// The payment gateway (YooKassa's client) and, in sandbox mode, the emulator it talks to, with
/// the start-up lines of the setup guide (spec 003 §2).
fn yookassa_setup(config: &Config) -> Result<Payments, String> {
    let yk = &config.yookassa;
    if yk.is_configured() {
        tracing::info!("YooKassa billing client initialized");
    } else {
        tracing::info!("YooKassa billing not configured (set YOOKASSA_SHOP_ID and YOOKASSA_SECRET_KEY to enable)");
    }
    let client = |base: &str, shop_id: &str, secret: SecretString| -> Result<Arc<dyn PaymentGateway>, String> {
        Ok(Arc::new(YooKassaClient::new(ClientConfig::new(base, shop_id, secret)).map_err(|e| e.to_string())?))
    };
    if yk.sandbox {
        // The sandbox has its own credentials unless the operator set some.
        let shop_id = yk.shop_id.clone().unwrap_or_else(|| "sandbox-shop".to_owned());
        let secret = yk
            .secret_key
            .clone()
            .unwrap_or_else(|| SecretString::from(format!("test_{}", uuid::Uuid::new_v4().simple())));
        let local = match config.site_addr.ip() {
            ip if ip.is_unspecified() => format!("http://127.0.0.1:{}", config.site_addr.port()),
            _ => format!("http://{}", config.site_addr),
        };
        let webhook = format!("{local}/api/v1/billing/webhook/yookassa");
        let sandbox = Arc::new(Sandbox::new(&shop_id, secret.clone(), &config.base_url(), &webhook));
        let base = yk.api_url.clone().unwrap_or_else(|| format!("{local}/sandbox/yookassa/v3"));
        let gateway = client(&base, &shop_id, secret)?;
        tracing::info!(api = %base, "YooKassa sandbox mode: payments go to the built-in emulator, no real money moves");
        return Ok((Some(gateway), Some(sandbox)));
    }
    match (&yk.shop_id, &yk.secret_key) {
        (Some(shop_id), Some(secret)) => {
            let base = yk.api_url.clone().unwrap_or_else(|| DEFAULT_YOOKASSA_API_URL.to_owned());
            Ok((Some(client(&base, shop_id, secret.clone())?), None))
        }
        _ => Ok((None, None)),
    }
}

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

/// The whole router. Which requests get a session and the Origin check is decided by route:
/// - the JSON API and `/healthz` (Bearer tokens; no session);
/// - the sandbox at `/sandbox/yookassa` in sandbox mode (its own Basic auth);
/// - the built bundle at `/pkg` and the other public files of the site root (static files);
/// - the pages and their server functions, with the web layers (sessions, viewer, Origin check),
///   and the 404 page.
pub fn app(state: AppState) -> Router {
    let leptos_state = state.clone();
    let pages = Router::new().leptos_routes_with_context(&state, route_list(), move || page_context(&leptos_state), {
        let options = state.leptos_options.clone();
        move || shell(options.clone())
    });
    // Paths that are neither a route nor a public file get the 404 page, with the web layers (it
    // shows the signed-in viewer's top bar).
    let not_found = web::layer(Router::new().fallback(not_found_page), &state).with_state(state.clone());
    let mut router = api::routes()
        .route("/api", axum::routing::any(|uri: Uri| async move { api::no_route(&uri) }))
        .route("/api/{*rest}", axum::routing::any(|uri: Uri| async move { api::no_route(&uri) }))
        .layer(axum::middleware::from_fn_with_state(state.clone(), rate_limit::limit_api))
        .route("/metrics", axum::routing::get(metrics::render))
        .nest_service("/pkg", super::assets::pkg_service(&state.config.site_root, state.leptos_options.hash_files));
    if let Some(sandbox) = &state.sandbox {
        router = router.nest("/sandbox/yookassa", tariff_yookassa::sandbox::router(sandbox.clone()));
    }
    router
        .merge(web::layer(pages, &state))
        .fallback_service(ServeDir::new(&state.config.site_root).fallback(not_found))
        .layer(axum::middleware::from_fn(metrics::track_requests))
        .layer(axum::middleware::from_fn_with_state(state.clone(), super::access_log::log_access))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<Body>| {
                    let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %request.method(), uri = %request.uri(), request_id)
                }))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(security_headers::nosniff())
                .layer(security_headers::referrer_policy())
                .layer(security_headers::frame_options())
                .layer(security_headers::frame_ancestors())
                .layer(CompressionLayer::new())
                .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES)),
        )
        .with_state(state)
}

/// Headers every answer carries (pages set their full Content-Security-Policy themselves; other
/// answers get one that forbids framing).
mod security_headers {
    use axum::http::{HeaderName, HeaderValue, header};
    use tower_http::set_header::SetResponseHeaderLayer;

    fn layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    }

    pub fn nosniff() -> SetResponseHeaderLayer<HeaderValue> {
        layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
    }

    pub fn referrer_policy() -> SetResponseHeaderLayer<HeaderValue> {
        layer(header::REFERRER_POLICY, "strict-origin-when-cross-origin")
    }

    pub fn frame_options() -> SetResponseHeaderLayer<HeaderValue> {
        layer(header::X_FRAME_OPTIONS, "DENY")
    }

    pub fn frame_ancestors() -> SetResponseHeaderLayer<HeaderValue> {
        layer(header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'")
    }
}

/// What every page and server function finds in its context: the state and the site's mode.
fn page_context(state: &AppState) {
    provide_context(state.clone());
    provide_context(SiteMode { test_payments: state.sandbox.is_some() });
}

/// The Leptos 404 page (status 404).
async fn not_found_page(uri: Uri, State(state): State<AppState>, request: Request<Body>) -> Response {
    let context_state = state.clone();
    let handler =
        leptos_axum::file_and_error_handler_with_context::<AppState, _>(move || page_context(&context_state), shell);
    handler(uri, State(state), request).await
}
