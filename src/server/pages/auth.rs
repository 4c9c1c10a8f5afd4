//! Sign-up, log-in, log-out and the stored language, for the pages.

use super::{client_ip, fail, locale, say, session, session_failed, set_status, state};
use crate::actions::UiError;
use crate::server::web::throttle::{ThrottleKey, throttle_key};
use crate::server::web::{USER_ID_KEY, safe_next};
use axum::http::StatusCode;
use tariff_core::Error;
use tariff_core::accounts::{self, NewUser};
use tariff_model::Message;

/// 429 with "try again in N min." (at least one minute).
fn too_many(wait_seconds: i64) -> UiError {
    set_status(StatusCode::TOO_MANY_REQUESTS);
    UiError::Message(say(&Message::TooManyAttempts { minutes: (wait_seconds.max(1) + 59) / 60 }))
}

/// See [`crate::actions::auth::login`].
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), UiError> {
    let state = state();
    let email = email.trim().to_lowercase();
    let ip = client_ip().and_then(|ip| ip.parse::<std::net::IpAddr>().ok());
    if let Some(ip) = ip
        && let Err(wait) = state.attempt_limits.login(ip)
    {
        return Err(too_many(wait as i64));
    }
    let keys: Vec<ThrottleKey> =
        [Some(throttle_key("email", &email)), ip.map(|ip| throttle_key("ip", &ip.to_string()))]
            .into_iter()
            .flatten()
            .collect();
    // The failure is reserved before the password is checked, so parallel guesses cannot all
    // pass; a success gives it back.
    state.login_throttle.begin(&keys, state.now()).map_err(too_many)?;
    let user_id = match accounts::authenticate(&state.billing.store, &email, &password).await {
        Ok(id) => id,
        Err(Error::Unauthorized) => {
            set_status(StatusCode::UNAUTHORIZED);
            return Err(UiError::Message(say(&Message::WrongCredentials)));
        }
        Err(e) => return Err(fail(e)),
    };
    state.login_throttle.succeeded(&keys);
    start_session(&user_id).await?;
    leptos_axum::redirect(&safe_next(next.as_deref()).unwrap_or_else(|| "/billing".to_owned()));
    Ok(())
}

/// Puts `user_id` into a fresh session: the old data is dropped (a secret sealed for the one
/// signed in before, not yet shown, is never shown to the next) and the id is new.
async fn start_session(user_id: &str) -> Result<(), UiError> {
    let session = session().await?;
    session.clear().await;
    session.cycle_id().await.map_err(session_failed)?;
    session.insert(USER_ID_KEY, user_id).await.map_err(session_failed)?;
    Ok(())
}

/// See [`crate::actions::auth::signup`].
pub async fn signup(name: String, email: String, password: String, next: Option<String>) -> Result<(), UiError> {
    let state = state();
    let locale = locale();
    if let Some(ip) = client_ip().and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
        && let Err(wait) = state.attempt_limits.signup(ip)
    {
        return Err(too_many(wait as i64));
    }
    let new_user = NewUser { email, password, name, admin: false };
    let user_id = match accounts::create_user(&state.billing.store, state.now(), new_user).await {
        Ok(id) => id,
        Err(Error::Conflict(Message::EmailTaken { .. })) => {
            set_status(StatusCode::CONFLICT);
            return Err(UiError::Fields(vec![("email".to_owned(), say(&Message::EmailTakenLogIn))]));
        }
        Err(e) => return Err(fail(e)),
    };
    if let Err(e) = accounts::set_locale(&state.billing.store, state.now(), &user_id, locale).await {
        tracing::warn!(error = %e, "storing the new user's language failed");
    }
    start_session(&user_id).await?;
    leptos_axum::redirect(&safe_next(next.as_deref()).unwrap_or_else(|| "/billing".to_owned()));
    Ok(())
}

/// See [`crate::actions::auth::logout`].
pub async fn logout() -> Result<(), UiError> {
    session().await?.flush().await.map_err(session_failed)?;
    leptos_axum::redirect("/");
    Ok(())
}
