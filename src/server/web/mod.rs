//! The web UI's front door: cookie sessions (tower-sessions over the billing database), the
//! signed-in viewer and their language for every page and server function, the Origin check on
//! state-changing requests, and throttling of failed logins. These layers wrap the page and
//! server-function routes only ([`layer`]); the JSON API, the sandbox and static files are routed
//! beside them without sessions.

pub mod origin;
pub mod sealed;
pub mod sessions;
pub mod throttle;
pub mod viewer;

use super::config::Config;
use super::state::AppState;
use axum::Router;
use sha2::{Digest, Sha512};
use tower_sessions::cookie::{Key, SameSite};
use tower_sessions::{Expiry, SessionManagerLayer};

pub use sealed::TokenSealer;
pub use sessions::DatabaseSessions;
pub use throttle::{AttemptLimits, LoginThrottle};
pub use viewer::{CurrentViewer, safe_next};

/// Session key holding the signed-in user's id.
pub const USER_ID_KEY: &str = "user_id";
/// Session key holding a just-created API token `(name, sealed secret)`, shown once (see
/// [`TokenSealer`]: the session never holds the secret itself).
pub const FRESH_TOKEN_KEY: &str = "fresh_token";
/// Session key holding a just-registered webhook endpoint's `(url, sealed signing secret)`,
/// shown once on `/admin/webhooks` after the form post (plain or sent by the browser's enhancer;
/// a script calling the server function gets it in the answer instead).
pub const FRESH_WEBHOOK_SECRET_KEY: &str = "fresh_webhook_secret";
/// The response header a page's server function sets (with [`crate::server::pages::leave_site_for`])
/// when its redirect leaves the site, read and removed by [`leave_site`].
pub const LEAVING_MARK: &str = "x-tariff-leaving";
/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "tariff_session";
/// A session ends after this many days without a request.
pub const SESSION_IDLE_DAYS: i64 = 14;

/// The signing key of session cookies: SHA-512 of `SESSION_SECRET`, or a random key (sessions
/// then end when the process restarts; [`Config`] refuses that in production).
fn cookie_key(config: &Config) -> Key {
    use secrecy::ExposeSecret;
    match &config.session_secret {
        Some(secret) => Key::from(&Sha512::digest(secret.expose_secret().as_bytes())),
        None => Key::generate(),
    }
}

/// Wraps the web routes in `router` with their layers: sessions (outermost), then the Origin
/// check, then the viewer.
pub fn layer(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    let sessions = DatabaseSessions::new(state.billing.store.clone());
    let manager = SessionManagerLayer::new(sessions)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.base_url().starts_with("https://"))
        .with_expiry(Expiry::OnInactivity(time::Duration::days(SESSION_IDLE_DAYS)))
        .with_signed(cookie_key(&state.config));
    router
        .layer(axum::middleware::from_fn(leave_site))
        .layer(axum::middleware::from_fn_with_state(state.clone(), viewer::viewer))
        .layer(axum::middleware::from_fn_with_state(state.clone(), origin::same_origin))
        .layer(manager)
}

/// Answers a redirect that leaves the site (marked [`LEAVING_MARK`]: a payment page) as `200`
/// with its address in [`crate::LEAVE_SITE_HEADER`] when the browser's enhancer sent the request
/// ([`crate::ENHANCED_REQUEST_HEADER`]): `fetch` cannot follow a redirect to another origin, and
/// the enhancer must not show YooKassa's page inside ours. A plain form post keeps its `302`.
/// The mark itself never leaves the server.
pub async fn leave_site(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::http::{StatusCode, header::LOCATION};
    let enhanced = request.headers().contains_key(crate::ENHANCED_REQUEST_HEADER);
    let mut response = next.run(request).await;
    let leaving = response.headers_mut().remove(LEAVING_MARK).is_some();
    if enhanced
        && leaving
        && response.status().is_redirection()
        && let Some(location) = response.headers_mut().remove(LOCATION)
    {
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(crate::LEAVE_SITE_HEADER, location);
        headers.insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
        headers.append(axum::http::header::VARY, axum::http::HeaderValue::from_static(crate::ENHANCED_REQUEST_HEADER));
    }
    response
}
