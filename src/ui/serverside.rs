//! What every server function of the pages starts with (server build only): the app state, the
//! signed-in viewer from the session (checked by each function itself), the request's language,
//! and the translation of service errors into [`UiError`]s a person can read.

use super::i18n::{Locale, message};
use crate::model::{UiError, Viewer};
use crate::server::billing::tokens::UserRef;
use crate::server::web::{CurrentViewer, RequestLocale};
use crate::server::{AppState, Error};
use axum::http::request::Parts;
use leptos::prelude::*;

/// The application state (database, YooKassa client, clock, configuration).
pub fn state() -> AppState {
    expect_context::<AppState>()
}

/// The request's language, as the web layer settled it.
pub fn locale() -> Locale {
    use_context::<Parts>().and_then(|p| p.extensions.get::<RequestLocale>().copied()).map(|l| l.0).unwrap_or_default()
}

/// The signed-in viewer, if any.
pub fn viewer() -> Option<Viewer> {
    use_context::<Parts>().and_then(|p| p.extensions.get::<CurrentViewer>().cloned()).and_then(|v| v.0)
}

/// The signed-in viewer.
///
/// # Errors
/// [`UiError::SignedOut`] without a valid session.
pub fn require_viewer() -> Result<Viewer, UiError> {
    viewer().ok_or_else(|| {
        set_status(axum::http::StatusCode::UNAUTHORIZED);
        UiError::SignedOut
    })
}

/// The signed-in viewer, who must be an admin.
///
/// # Errors
/// [`UiError::SignedOut`] without a session; [`UiError::Forbidden`] for a non-admin (the page
/// answers 403 then).
pub fn require_admin() -> Result<Viewer, UiError> {
    let viewer = require_viewer()?;
    if viewer.is_admin {
        Ok(viewer)
    } else {
        set_status(axum::http::StatusCode::FORBIDDEN);
        Err(UiError::Forbidden)
    }
}

/// The viewer as the service layer names a user.
pub fn user_ref(viewer: &Viewer) -> UserRef {
    UserRef {
        id: viewer.id.clone(),
        account_id: viewer.account_id.clone(),
        email: viewer.email.clone(),
        is_admin: viewer.is_admin,
    }
}

/// The client's address (behind `TRUSTED_PROXIES`, from `X-Forwarded-For`).
pub fn client_ip() -> Option<String> {
    let parts = use_context::<Parts>()?;
    let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()?.0.ip();
    Some(crate::server::http::webhook::client_ip(peer, &parts.headers, &state().config.trusted_proxies).to_string())
}

/// The request id (`x-request-id`), for audit entries.
pub fn request_id() -> Option<String> {
    use_context::<Parts>()?.headers.get("x-request-id")?.to_str().ok().map(str::to_owned)
}

/// The session of this request.
///
/// # Errors
/// [`UiError::Message`] when the session layer is missing (a server misconfiguration).
pub async fn session() -> Result<tower_sessions::Session, UiError> {
    leptos_axum::extract::<tower_sessions::Session>().await.map_err(|e| {
        tracing::error!(error = %e, "no session on a page request");
        UiError::Message(message("The server could not complete the request. Try again later.", locale()))
    })
}

/// Translates a service error for the viewer: validation into per-field messages, refusals into
/// sentences, internal failures into a generic sentence (the detail is logged, never shown).
pub fn fail(error: Error) -> UiError {
    set_status(error.status());
    let locale = locale();
    match error {
        Error::Validation(fields) => {
            UiError::Fields(fields.into_iter().map(|f| (f.field, message(&f.message, locale))).collect())
        }
        Error::Unauthorized => UiError::SignedOut,
        Error::Forbidden(_) => UiError::Forbidden,
        Error::NotFound { entity, .. } => UiError::NotFound(message(&format!("The {entity} was not found."), locale)),
        e @ (Error::Database(_) | Error::Internal(_)) => {
            tracing::error!(error = %e, "a page action failed");
            UiError::Message(message(&e.public_message(), locale))
        }
        other => UiError::Message(message(&other.public_message(), locale)),
    }
}

/// Gives a server function's JSON answer the status its error deserves (401, 403, 404, 422, …)
/// instead of the framework's 500. Plain form posts (no JavaScript) keep their redirect back to
/// the page, which shows the error; pages rendered on the server keep their own status.
pub fn set_status(status: axum::http::StatusCode) {
    let server_function = use_context::<Parts>().is_some_and(|p| p.uri.path().starts_with("/api/ui/"));
    if server_function
        && !is_form_post()
        && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
    {
        response.set_status(status);
    }
}

/// Whether this server function call is a plain HTML form post (no JavaScript): the browser
/// asked for HTML, so the answer is a redirect.
pub fn is_form_post() -> bool {
    use_context::<Parts>().is_some_and(|parts| {
        parts
            .headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
    })
}

/// The admin as the audit log records them: user id, email, channel `web`, request id and
/// client address.
pub fn admin_actor(viewer: &Viewer) -> crate::server::billing::audit::Actor {
    crate::server::billing::audit::Actor {
        user_id: viewer.id.clone(),
        metadata: serde_json::json!({
            "channel": "web",
            "email": viewer.email,
            "request_id": request_id(),
            "source_ip": client_ip(),
        }),
    }
}
