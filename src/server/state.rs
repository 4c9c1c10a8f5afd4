//! Shared application state handed to every route, server function and job.

use super::config::Config;
use super::web::{AttemptLimits, LoginThrottle, TokenSealer};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;
use tariff_core::Billing;
use tariff_yookassa::sandbox::Sandbox;

/// Everything a request needs, behind one `Arc`: axum clones the state for every extractor and
/// middleware of every request, and one reference count is far cheaper than one per field
/// (a profile of the hot path found a seventh of its time in cloning and dropping the fields).
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The fields of [`AppState`].
#[derive(Debug)]
pub struct Shared {
    /// The billing core: store, clock, payment gateway, settings.
    pub billing: Billing,
    pub config: Arc<Config>,
    pub leptos_options: LeptosOptions,
    /// The built-in YooKassa emulator, mounted at `/sandbox/yookassa` in sandbox mode.
    pub sandbox: Option<Arc<Sandbox>>,
    /// Failed-login counters of the web login form.
    pub login_throttle: Arc<LoginThrottle>,
    /// Logins and sign-ups per client address.
    pub attempt_limits: Arc<AttemptLimits>,
    /// Seals a just-created API token for the session that shows it once.
    pub token_sealer: Arc<TokenSealer>,
    /// The sandbox's test clock (also `billing.clock`); `None` when the sandbox is off.
    pub test_clock: Option<Arc<tariff_core::clock::TestClock>>,
    /// One advance of the test clock at a time in this process.
    pub clock_lock: Arc<tokio::sync::Mutex<()>>,
    /// The API's rate limiter (Redis or memory).
    pub rate_limiter: Arc<super::rate_limit::RateLimiter>,
    /// The access log (`AUDIT_LOG_LEVEL`).
    pub access_log: Arc<super::access_log::AccessLog>,
}

impl AppState {
    /// Current time in Unix seconds, from the injectable clock.
    pub fn now(&self) -> i64 {
        self.billing.now()
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
