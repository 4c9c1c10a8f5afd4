//! Shared application state handed to every route, server function and job.

use super::clock::Clock;
use super::config::Config;
use super::store::Store;
use super::web::{LoginThrottle, SessionBackend};
use super::yookassa::client::Client;
use super::yookassa::sandbox::Sandbox;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

/// Everything a request needs. Cheap to clone (all fields are shared handles).
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub leptos_options: LeptosOptions,
    /// The YooKassa client: the live API, or the built-in sandbox in sandbox mode; `None` when
    /// neither is configured (payments are then refused).
    pub yookassa: Option<Client>,
    /// The built-in emulator, mounted at `/sandbox/yookassa` in sandbox mode.
    pub sandbox: Option<Arc<Sandbox>>,
    /// Where web sessions are kept (the same database as the billing data).
    pub sessions: SessionBackend,
    /// Failed-login counters of the web login form.
    pub login_throttle: Arc<LoginThrottle>,
}

impl AppState {
    /// Current time in Unix seconds, from the injectable clock.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
