//! The web UI's front door: cookie sessions (tower-sessions on the sqlx store of the configured
//! database), the signed-in viewer and their language for every page and server function, the
//! Origin check on state-changing browser requests, and throttling of failed logins.
//!
//! JSON API routes (`/api/v1/...`) authenticate with Bearer tokens and skip all of this.

use super::billing::accounts;
use super::config::Config;
use super::state::AppState;
use crate::model::Viewer;
use crate::ui::i18n::{Locale, locale_from_cookie_header};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha512};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;
use tower_sessions::cookie::{Key, SameSite};
use tower_sessions::{Expiry, Session, SessionManagerLayer};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// Session key holding the signed-in user's id.
pub const USER_ID_KEY: &str = "user_id";
/// Session key holding a just-created API token `(name, secret)`, shown once.
pub const FRESH_TOKEN_KEY: &str = "fresh_token";
/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "tariff_session";
/// A session ends after this many days without a request.
pub const SESSION_IDLE_DAYS: i64 = 14;

/// Where sessions are kept: a table in the same database as the billing data.
#[derive(Clone, Debug)]
pub enum SessionBackend {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl SessionBackend {
    /// Opens a small pool of the database's own driver (the sqlx store needs a typed pool) and
    /// creates the session table (`web_session`) if missing. On PostgreSQL the table lives in the
    /// connection's current schema.
    ///
    /// # Errors
    /// A message naming what failed (connecting or creating the table).
    pub async fn open(database_url: &str) -> Result<SessionBackend, String> {
        let fail = |what: &str, e: sqlx::Error| format!("session store: {what} failed: {e}");
        if database_url.starts_with("postgres") {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(4)
                .connect(database_url)
                .await
                .map_err(|e| fail("connecting", e))?;
            let schema: String = sqlx::query_scalar("select current_schema()")
                .fetch_one(&pool)
                .await
                .map_err(|e| fail("reading schema", e))?;
            let store = PostgresStore::new(pool)
                .with_schema_name(schema)
                .and_then(|s| s.with_table_name("web_session"))
                .map_err(|e| format!("session store: {e}"))?;
            store.migrate().await.map_err(|e| fail("creating the table", e))?;
            Ok(SessionBackend::Postgres(store))
        } else {
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(database_url)
                .map_err(|e| fail("parsing DATABASE_URL", e))?
                .create_if_missing(true)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(std::time::Duration::from_secs(5));
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await
                .map_err(|e| fail("connecting", e))?;
            let store =
                SqliteStore::new(pool).with_table_name("web_session").map_err(|e| format!("session store: {e}"))?;
            store.migrate().await.map_err(|e| fail("creating the table", e))?;
            Ok(SessionBackend::Sqlite(store))
        }
    }

    /// Deletes expired sessions every `period` until the process ends.
    pub fn spawn_cleanup(&self, period: std::time::Duration) {
        use tower_sessions::session_store::ExpiredDeletion;
        match self.clone() {
            SessionBackend::Sqlite(store) => {
                tokio::spawn(async move { store.continuously_delete_expired(period).await });
            }
            SessionBackend::Postgres(store) => {
                tokio::spawn(async move { store.continuously_delete_expired(period).await });
            }
        }
    }
}

/// The signing key of session cookies: SHA-512 of `SESSION_SECRET`, or a random key (sessions
/// then end when the process restarts; [`Config`] refuses that in production).
fn cookie_key(config: &Config) -> Key {
    use secrecy::ExposeSecret;
    match &config.session_secret {
        Some(secret) => Key::from(&Sha512::digest(secret.expose_secret().as_bytes())),
        None => Key::generate(),
    }
}

/// Adds the web layers to `router`: sessions (outermost), then the viewer and the Origin check.
pub fn layer(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    let router = router
        .layer(axum::middleware::from_fn_with_state(state.clone(), viewer))
        .layer(axum::middleware::from_fn_with_state(state.clone(), same_origin))
        .layer(axum::middleware::from_fn(undecodable_arguments_are_bad_requests));
    let key = cookie_key(&state.config);
    let secure = state.config.app_base_url.starts_with("https://");
    fn manager<S: tower_sessions::SessionStore + Clone>(
        store: S,
        key: Key,
        secure: bool,
    ) -> SessionManagerLayer<S, tower_sessions::service::SignedCookie> {
        SessionManagerLayer::new(store)
            .with_name(SESSION_COOKIE)
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(secure)
            .with_expiry(Expiry::OnInactivity(time::Duration::days(SESSION_IDLE_DAYS)))
            .with_signed(key)
    }
    match &state.sessions {
        SessionBackend::Sqlite(store) => router.layer(manager(store.clone(), key, secure)),
        SessionBackend::Postgres(store) => router.layer(manager(store.clone(), key, secure)),
    }
}

/// Paths that serve the JSON API, the sandbox or files: no session, no viewer.
fn is_api_or_asset(path: &str) -> bool {
    path.starts_with("/api/v1/")
        || path == "/api/v1"
        || path.starts_with("/sandbox/")
        || path.starts_with("/pkg/")
        || path == "/healthz"
        || path.rsplit('/').next().is_some_and(|last| last.contains('.'))
}

/// Pages that need a signed-in viewer; anonymous visitors are sent to log in.
fn needs_login(path: &str) -> bool {
    ["/billing", "/settings", "/admin"].iter().any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

/// The signed-in viewer of this request (`None` when anonymous), in the request's extensions.
#[derive(Clone, Debug, Default)]
pub struct CurrentViewer(pub Option<Viewer>);

/// The language of this request: `?lang=`, else the user's stored language, else the `lang`
/// cookie, else English.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestLocale(pub Locale);

/// Loads the viewer from the session, settles the language (storing a `?lang=` choice on the
/// user, so it follows them to other devices), and sends anonymous visitors of private pages to
/// `/login?next=…`.
async fn viewer(State(state): State<AppState>, session: Session, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if is_api_or_asset(&path) {
        return next.run(request).await;
    }
    let user_id: Option<String> = session.get(USER_ID_KEY).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "reading the session failed");
        None
    });
    let user = match user_id {
        Some(id) => match accounts::find_user(&state.store, &id).await {
            Ok(user) => user,
            Err(e) => {
                tracing::error!(error = %e, "loading the signed-in user failed");
                None
            }
        },
        None => None,
    };
    let query: HashMap<String, String> =
        axum::extract::Query::try_from_uri(request.uri()).map(|q| q.0).unwrap_or_default();
    let chosen = query.get("lang").and_then(|l| Locale::parse(l));
    let remembered =
        request.headers().get(header::COOKIE).and_then(|v| v.to_str().ok()).and_then(locale_from_cookie_header);
    let stored = user.as_ref().and_then(|u| Locale::parse(&u.locale));
    let locale = chosen.or(stored).or(remembered).unwrap_or_default();
    if let (Some(chosen), Some(user)) = (chosen, &user)
        && stored != Some(chosen)
        && let Err(e) = accounts::set_locale(&state.store, state.now(), &user.id, chosen.code()).await
    {
        tracing::warn!(error = %e, "storing the chosen language failed");
    }

    // Someone already signed in has nothing to do on the login and sign-up forms.
    if user.is_some() && (path == "/login" || path == "/signup") && request.method() == Method::GET {
        let next = query.get("next").map(String::as_str);
        return Redirect::to(&safe_next(next).unwrap_or_else(|| "/billing".to_owned())).into_response();
    }
    if user.is_none() && needs_login(&path) && request.method() == Method::GET {
        let target = request.uri().path_and_query().map(|pq| pq.as_str()).unwrap_or("/billing");
        return Redirect::to(&format!("/login?next={}", crate::ui::auth::encode(target))).into_response();
    }

    let viewer = match user {
        Some(user) => {
            let plan = crate::server::billing::subscriptions::current(&state.store, state.now(), &user.account_id)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "loading the viewer's subscription failed");
                    None
                })
                .map(|s| s.plan);
            Some(Viewer {
                id: user.id,
                account_id: user.account_id,
                email: user.email,
                name: user.name,
                is_admin: user.role == "admin",
                locale: locale.code().to_owned(),
                plan_name: plan.as_ref().map(|p| p.name.clone()),
                plan_name_ru: plan.and_then(|p| p.name_ru),
            })
        }
        None => None,
    };
    request.extensions_mut().insert(CurrentViewer(viewer));
    request.extensions_mut().insert(RequestLocale(locale));
    let mut response = next.run(request).await;
    if remembered != Some(locale)
        && let Ok(value) = HeaderValue::from_str(&crate::ui::i18n::locale_cookie(locale))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Whether a `next` target after login is a path on this site (not `//evil.example`).
pub fn safe_next(next: Option<&str>) -> Option<String> {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && n.len() <= 512)
        .map(str::to_owned)
}

/// The origins a browser form may post from: `APP_BASE_URL`'s and the request's own `Host`.
fn allowed_origin(origin: &str, headers: &HeaderMap, config: &Config) -> bool {
    let origin = origin.trim_end_matches('/');
    let base = config.app_base_url.trim_end_matches('/');
    let base_origin =
        base.find("://").and_then(|i| base[i + 3..].find('/').map(|j| &base[..i + 3 + j])).unwrap_or(base);
    if origin.eq_ignore_ascii_case(base_origin) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    !host.is_empty()
        && [format!("http://{host}"), format!("https://{host}")].iter().any(|o| o.eq_ignore_ascii_case(origin))
}

/// Refuses state-changing browser requests (POST/PUT/PATCH/DELETE to pages and server functions)
/// whose `Origin` (or, without one, `Referer`) is not this site: cross-site request forgery
/// protection on top of `SameSite=Lax` cookies. The JSON API uses Bearer tokens and is exempt;
/// so is the sandbox's own payment form.
async fn same_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || is_api_or_asset(request.uri().path()) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).filter(|o| *o != "null");
    let ok = match origin {
        Some(origin) => allowed_origin(origin, headers, &state.config),
        None => headers
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|r| r.find("://").and_then(|i| r[i + 3..].find('/').map(|j| &r[..i + 3 + j])).or(Some(r)))
            .is_some_and(|origin| allowed_origin(origin, headers, &state.config)),
    };
    if ok {
        next.run(request).await
    } else {
        tracing::warn!(method = %request.method(), path = request.uri().path(), ?origin, "cross-origin form post refused");
        (StatusCode::FORBIDDEN, "This form was sent from another site and was refused.").into_response()
    }
}

/// A server function whose arguments cannot be decoded (a missing field, `immediate=maybe`)
/// answers 400 instead of the framework's 500: the client sent something wrong. Such failures
/// are the only source of [`crate::model::UiError::Transport`] on the server, so a 500 carrying
/// one is rewritten; every other answer passes untouched.
async fn undecodable_arguments_are_bad_requests(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/api/ui/") {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "The server could not complete the request.").into_response();
    };
    if bytes.starts_with(br#"{"Transport":"#) {
        parts.status = StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Counts failed logins per key (email, client address) and refuses further attempts for a while
/// once a key has failed [`LoginThrottle::MAX_FAILURES`] times within
/// [`LoginThrottle::WINDOW_SECONDS`]. A success clears the key.
///
/// Kept in memory (per process): a rate-limit library counts every attempt, but a person who
/// logs in and out often must not be locked out, so only failures count here.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, i64)>>,
}

impl LoginThrottle {
    /// Failures allowed per key in a window before attempts are refused.
    pub const MAX_FAILURES: u32 = 5;
    /// Length of the window in seconds; the lock ends when the window that filled up ends.
    pub const WINDOW_SECONDS: i64 = 15 * 60;

    /// `Err(seconds)` until the keys may try again, when any of them is locked at `now`.
    pub fn check(&self, keys: &[String], now: i64) -> Result<(), i64> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let wait = keys
            .iter()
            .filter_map(|k| failures.get(k))
            .filter(|(count, start)| *count >= Self::MAX_FAILURES && now < start + Self::WINDOW_SECONDS)
            .map(|(_, start)| start + Self::WINDOW_SECONDS - now)
            .max();
        wait.map_or(Ok(()), Err)
    }

    /// Records one failure for each key at `now`.
    pub fn failed(&self, keys: &[String], now: i64) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() > 100_000 {
            failures.retain(|_, (_, start)| now < *start + Self::WINDOW_SECONDS);
        }
        for key in keys {
            let entry = failures.entry(key.clone()).or_insert((0, now));
            if now >= entry.1 + Self::WINDOW_SECONDS {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
    }

    /// Forgets the failures of `keys` (after a successful login).
    pub fn succeeded(&self, keys: &[String]) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            failures.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_the_key_until_the_window_ends() {
        let throttle = LoginThrottle::default();
        let keys = vec!["email:a@example.com".to_owned()];
        for i in 0..5 {
            assert_eq!(throttle.check(&keys, 1000 + i), Ok(()));
            throttle.failed(&keys, 1000 + i);
        }
        assert_eq!(throttle.check(&keys, 1010), Err(LoginThrottle::WINDOW_SECONDS - 10));
        assert_eq!(throttle.check(&keys, 1000 + LoginThrottle::WINDOW_SECONDS), Ok(()));
    }

    #[test]
    fn a_success_clears_the_failures() {
        let throttle = LoginThrottle::default();
        let keys = vec!["email:b@example.com".to_owned()];
        for _ in 0..4 {
            throttle.failed(&keys, 10);
        }
        throttle.succeeded(&keys);
        throttle.failed(&keys, 11);
        assert_eq!(throttle.check(&keys, 12), Ok(()));
    }

    #[test]
    fn next_targets_stay_on_this_site() {
        assert_eq!(safe_next(Some("/billing/plans")), Some("/billing/plans".to_owned()));
        assert_eq!(safe_next(Some("//evil.example")), None);
        assert_eq!(safe_next(Some("https://evil.example")), None);
        assert_eq!(safe_next(None), None);
    }
}
