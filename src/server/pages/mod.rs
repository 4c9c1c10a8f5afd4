//! The server-side bodies of the pages' server functions (`crate::actions`): each checks the
//! session itself, calls one billing function and maps its error to a [`UiError`] of message
//! codes. Also what every body starts with: the app state, the signed-in viewer, the request's
//! language and the response status.

pub mod admin;
pub mod auth;
pub mod orgs;
pub mod portal;

use crate::actions::UiError;
use crate::server::state::AppState;
use crate::server::web::CurrentViewer;
use crate::ui::i18n::{RequestLocale, message};
use axum::http::StatusCode;
use axum::http::request::Parts;
use leptos::prelude::*;
use tariff_core::Error;
use tariff_core::accounts::UserRef;
use tariff_core::audit::Actor;
use tariff_model::{Locale, Message, Viewer};

/// The application state.
pub fn state() -> AppState {
    expect_context::<AppState>()
}

/// Redirects a plain form post to `url`, a page off the site (YooKassa's payment page, or the
/// sandbox's), and marks the answer so that a request of the browser's enhancer gets the address
/// to go to instead of a redirect (see [`crate::server::web::leave_site`]).
pub fn leave_site_for(url: &str) {
    leptos_axum::redirect(url);
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            axum::http::HeaderName::from_static(crate::server::web::LEAVING_MARK),
            axum::http::HeaderValue::from_static("1"),
        );
    }
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
        set_status(StatusCode::UNAUTHORIZED);
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
        set_status(StatusCode::FORBIDDEN);
        Err(UiError::Forbidden)
    }
}

/// The viewer as the billing rules name a user, billing the account chosen in the top bar.
pub fn user_ref(viewer: &Viewer) -> UserRef {
    UserRef {
        id: viewer.id.clone(),
        account_id: viewer.account_id.clone(),
        email: viewer.email.clone(),
        is_admin: viewer.is_admin,
        personal_account_id: viewer.personal_account_id.clone(),
        // Pages never consume usage, so the caps are not needed here; the role decides who pays.
        membership: viewer
            .organization
            .as_ref()
            .map(|o| tariff_core::tokens::Membership { role: o.role, caps: Default::default() }),
    }
}

/// The client's address (behind `TRUSTED_PROXIES`, from `X-Forwarded-For`).
pub fn client_ip() -> Option<String> {
    let parts = use_context::<Parts>()?;
    let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()?.0.ip();
    Some(crate::server::client_ip::client_ip(peer, &parts.headers, &state().config.trusted_proxies).to_string())
}

/// The request id (`x-request-id`), for audit entries.
pub fn request_id() -> Option<String> {
    use_context::<Parts>()?.headers.get("x-request-id")?.to_str().ok().map(str::to_owned)
}

/// A message in the request's language.
pub fn say(m: &Message) -> String {
    message(m, locale())
}

/// The session of this request.
///
/// # Errors
/// [`Message::ServerError`] when the session layer is missing (a server misconfiguration).
pub async fn session() -> Result<tower_sessions::Session, UiError> {
    leptos_axum::extract::<tower_sessions::Session>().await.map_err(|e| {
        tracing::error!(error = %e, "no session on a page request");
        UiError::Message(say(&Message::ServerError))
    })
}

/// Keeps `secret` (an API token's, a webhook endpoint's) for this session's next render of the
/// page that shows it once, under `key` with `label` (the token's name, the endpoint's URL):
/// sealed ([`crate::server::web::TokenSealer`]), so the session store never holds the secret.
///
/// # Errors
/// [`session_failed`] when the session store fails.
pub async fn keep_secret_once(key: &str, label: &str, secret: &str) -> Result<(), UiError> {
    let sealed = state().token_sealer.seal(secret);
    session().await?.insert(key, (label, sealed)).await.map_err(session_failed)
}

/// The `(label, secret)` [`keep_secret_once`] kept under `key`, taken out of the session (shown
/// once). `None` when there is none; a store that cannot be read is logged and gives `None`.
///
/// # Errors
/// [`session`]'s.
pub async fn take_secret(key: &str) -> Result<Option<(String, String)>, UiError> {
    let sealed = session().await?.remove::<(String, String)>(key).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, key, "reading a secret kept in the session failed");
        None
    });
    Ok(sealed.and_then(|(label, sealed)| state().token_sealer.open(&sealed).map(|secret| (label, secret))))
}

/// An amount as people type it into a form (`1 250,50`) in the form the money parser reads
/// (`1250.50`): spaces (also no-break ones) go, a decimal comma becomes a point.
pub fn decimal_input(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).map(|c| if c == ',' { '.' } else { c }).collect()
}

/// A session store failure as the page shows it: the detail is logged, and a server function
/// call answers 503 with `Retry-After: 1` (see [`set_status`]; the store is the database, which
/// was busy or unreachable; a plain form post shows the message on the page).
pub fn session_failed(e: tower_sessions::session::Error) -> UiError {
    tracing::error!(error = %e, "the session store failed");
    set_status(StatusCode::SERVICE_UNAVAILABLE);
    UiError::Message(say(&Message::ServerError))
}

/// A billing error for the viewer: validation into per-field messages, refusals into messages,
/// internal failures into [`Message::ServerError`] (the detail is logged, never shown). Sets the
/// server function's status from the error's code.
pub fn fail(error: Error) -> UiError {
    set_status(StatusCode::from_u16(error.code().status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    match error {
        Error::Validation(fields) => fields_in_words(fields),
        Error::Unauthorized => UiError::SignedOut,
        // Refusals of an organisation's rules say what is missing; the rest are the 403 page.
        Error::Forbidden(m @ (Message::OrgManagersOnly | Message::OrgOwnersOnly | Message::NotAMember)) => {
            UiError::Message(say(&m))
        }
        Error::Forbidden(_) => UiError::Forbidden,
        e @ Error::NotFound { .. } => UiError::NotFound(say(&e.message())),
        e @ (Error::Database(_) | Error::Internal(_)) => {
            tracing::error!(error = %e, "a page action failed");
            UiError::Message(say(&Message::ServerError))
        }
        other => UiError::Message(say(&other.message())),
    }
}

/// Field errors in the request's language.
fn fields_in_words(fields: Vec<tariff_model::InvalidField>) -> UiError {
    UiError::Fields(fields.into_iter().map(|f| (f.field, say(&f.message))).collect())
}

/// Field errors the page found itself (422).
pub fn invalid(fields: Vec<tariff_model::InvalidField>) -> UiError {
    set_status(StatusCode::UNPROCESSABLE_ENTITY);
    fields_in_words(fields)
}

/// Gives a server function's JSON answer the status its error deserves (401, 403, 404, 422, …)
/// instead of the framework's 500. Plain form posts (no JavaScript) keep their redirect back to
/// the page, which shows the error; pages rendered on the server keep their own status. A 503
/// (the database busy or unreachable) comes with `Retry-After: 1`.
pub fn set_status(status: StatusCode) {
    let server_function = use_context::<Parts>().is_some_and(|p| p.uri.path().starts_with("/api/ui/"));
    if server_function
        && !is_form_post()
        && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
    {
        response.set_status(status);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
        }
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
pub fn admin_actor(viewer: &Viewer) -> Actor {
    Actor {
        user_id: viewer.id.clone(),
        metadata: serde_json::json!({
            "channel": "web",
            "email": viewer.email,
            "request_id": request_id(),
            "source_ip": client_ip(),
        }),
    }
}
