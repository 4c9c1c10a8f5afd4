//! Signing up, in and out (issue 5 §1), and the viewer of the top bar.

use super::UiError;
use leptos::prelude::*;
use tariff_model::Viewer;

/// Logs in with email and password, then goes to `next` (a path on this site) or the portal.
/// The session id is cycled, so a session fixed before login is worthless after it.
///
/// # Errors
/// [`tariff_model::Message::WrongCredentials`] for an unknown email or a wrong password (one
/// answer for both); [`tariff_model::Message::TooManyAttempts`] after repeated failures for the
/// email or the client address.
#[server(prefix = "/api/ui", endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), UiError> {
    crate::server::pages::auth::login(email, password, next).await
}

/// Creates an account (on the Free plan), logs it in and goes to `next` or the portal. The
/// language the page was shown in becomes the user's language.
///
/// # Errors
/// Field messages for a malformed email, a short password or an email already registered.
#[server(prefix = "/api/ui", endpoint = "signup")]
pub async fn signup(name: String, email: String, password: String, next: Option<String>) -> Result<(), UiError> {
    crate::server::pages::auth::signup(name, email, password, next).await
}

/// Ends the session and goes to the public pricing page.
///
/// # Errors
/// [`tariff_model::Message::ServerError`] when the session store fails.
#[server(prefix = "/api/ui", endpoint = "logout")]
pub async fn logout() -> Result<(), UiError> {
    crate::server::pages::auth::logout().await
}

/// Who is signed in (for the top bar), or `None`.
///
/// # Errors
/// None in practice: an anonymous visitor gets `Ok(None)`.
#[server(prefix = "/api/ui", endpoint = "viewer")]
pub async fn current_viewer() -> Result<Option<Viewer>, UiError> {
    Ok(crate::server::pages::viewer())
}
