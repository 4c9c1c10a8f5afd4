//! Cross-site request forgery protection of the web UI: state-changing requests (POST, PUT,
//! PATCH, DELETE) to pages and server functions must come from this site, on top of
//! `SameSite=Lax` cookies. Only the web router has this layer; the JSON API (Bearer tokens) and
//! the sandbox are routed elsewhere.

use crate::server::config::Config;
use crate::server::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The origins a browser form may post from: `APP_BASE_URL`'s and the request's own `Host`.
fn allowed_origin(origin: &str, headers: &HeaderMap, config: &Config) -> bool {
    let origin = origin.trim_end_matches('/');
    let base = config.base_url();
    let base = base.as_str();
    let base_origin =
        base.find("://").and_then(|i| base[i + 3..].find('/').map(|j| &base[..i + 3 + j])).unwrap_or(base);
    if origin.eq_ignore_ascii_case(base_origin) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    !host.is_empty()
        && [format!("http://{host}"), format!("https://{host}")].iter().any(|o| o.eq_ignore_ascii_case(origin))
}

/// Refuses state-changing requests whose `Origin` (or, without one, `Referer`) is not this site.
pub async fn same_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe {
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
        let locale = headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::ui::i18n::locale_from_cookie_header)
            .unwrap_or_default();
        let text = crate::ui::i18n::message(&tariff_model::Message::CrossOriginRefused, locale);
        (StatusCode::FORBIDDEN, text).into_response()
    }
}
