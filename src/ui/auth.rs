//! Sign-up, log-in and log-out pages (issue 5 §1). Plain HTML forms posting to server functions,
//! so they work without JavaScript; with it they submit without a reload.

use super::i18n::{t, use_locale};
use super::widgets::{action_message, field_message, page_title};
use crate::model::UiError;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Logs in with email and password, then goes to `next` (a path on this site) or the portal.
/// The session id is cycled, so a session fixed before login is worthless after it.
///
/// # Errors
/// One generic message for an unknown email or a wrong password; a "try again in N minutes"
/// message after [`crate::server::web::LoginThrottle::MAX_FAILURES`] failures for the email or
/// the client address.
#[server(prefix = "/api/ui", endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), UiError> {
    use super::i18n::Locale;
    use super::serverside::{client_ip, fail, locale, set_status, state};
    use crate::server::billing::accounts;
    use crate::server::web::safe_next;
    use axum::http::StatusCode;
    let state = state();
    let locale = locale();
    let email = email.trim().to_lowercase();
    let keys: Vec<String> =
        [Some(format!("email:{email}")), client_ip().map(|ip| format!("ip:{ip}"))].into_iter().flatten().collect();
    let now = state.now();
    if let Err(wait) = state.login_throttle.check(&keys, now) {
        let minutes = (wait + 59) / 60;
        set_status(StatusCode::TOO_MANY_REQUESTS);
        return Err(UiError::Message(match locale {
            Locale::En => format!("Too many failed attempts. Try again in {minutes} min."),
            Locale::Ru => format!("Слишком много неудачных попыток. Попробуйте через {minutes} мин."),
        }));
    }
    let user_id = match accounts::authenticate(&state.store, &email, &password).await {
        Ok(id) => id,
        Err(crate::server::Error::Unauthorized) => {
            state.login_throttle.failed(&keys, now);
            set_status(StatusCode::UNAUTHORIZED);
            return Err(UiError::Message(
                t(locale, "The email or password is wrong.", "Неверный адрес почты или пароль.").to_owned(),
            ));
        }
        Err(e) => return Err(fail(e)),
    };
    state.login_throttle.succeeded(&keys);
    start_session(&user_id).await?;
    leptos_axum::redirect(&safe_next(next.as_deref()).unwrap_or_else(|| "/billing".to_owned()));
    Ok(())
}

/// Puts `user_id` into a fresh session (new id, old data dropped).
#[cfg(feature = "ssr")]
async fn start_session(user_id: &str) -> Result<(), UiError> {
    use super::i18n::message;
    let session = super::serverside::session().await?;
    let failed = |e: tower_sessions::session::Error| {
        tracing::error!(error = %e, "storing the session failed");
        UiError::Message(message(
            "The server could not complete the request. Try again later.",
            super::serverside::locale(),
        ))
    };
    session.cycle_id().await.map_err(failed)?;
    session.insert(crate::server::web::USER_ID_KEY, user_id).await.map_err(failed)?;
    Ok(())
}

/// Creates an account (on the Free plan), logs it in and goes to `next` or the portal. The
/// language the page was shown in becomes the user's language.
///
/// # Errors
/// Field messages for a malformed email, a short password or an email already registered.
#[server(prefix = "/api/ui", endpoint = "signup")]
pub async fn signup(name: String, email: String, password: String, next: Option<String>) -> Result<(), UiError> {
    use super::serverside::{fail, locale, set_status, state};
    use crate::server::billing::accounts::{self, NewUser};
    use crate::server::web::safe_next;
    let state = state();
    let locale = locale();
    let new_user = NewUser { email: email.clone(), password, name, admin: false };
    let user_id = match accounts::create_user(&state.store, state.now(), new_user).await {
        Ok(id) => id,
        Err(crate::server::Error::Conflict(_)) => {
            set_status(axum::http::StatusCode::CONFLICT);
            return Err(UiError::Fields(vec![(
                "email".to_owned(),
                t(
                    locale,
                    "An account with this email already exists. Log in instead.",
                    "Аккаунт с этим адресом уже есть. Войдите.",
                )
                .to_owned(),
            )]));
        }
        Err(e) => return Err(fail(e)),
    };
    if let Err(e) =
        crate::server::billing::accounts::set_locale(&state.store, state.now(), &user_id, locale.code()).await
    {
        tracing::warn!(error = %e, "storing the new user's language failed");
    }
    start_session(&user_id).await?;
    leptos_axum::redirect(&safe_next(next.as_deref()).unwrap_or_else(|| "/billing".to_owned()));
    Ok(())
}

/// Ends the session and goes to the public pricing page.
///
/// # Errors
/// A generic message when the session store fails.
#[server(prefix = "/api/ui", endpoint = "logout")]
pub async fn logout() -> Result<(), UiError> {
    use super::i18n::message;
    let session = super::serverside::session().await?;
    session.flush().await.map_err(|e| {
        tracing::error!(error = %e, "ending the session failed");
        UiError::Message(message(
            "The server could not complete the request. Try again later.",
            super::serverside::locale(),
        ))
    })?;
    leptos_axum::redirect("/");
    Ok(())
}

/// The `next` query parameter, kept through the form.
fn next_param() -> Memo<Option<String>> {
    let query = use_query_map();
    Memo::new(move |_| query.read().get("next").filter(|n| n.starts_with('/') && !n.starts_with("//")))
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let locale = use_locale();
    let action = ServerAction::<Login>::new();
    let value = action.value();
    let next = next_param();
    let signup_href = move || match next.get() {
        Some(n) => format!("/signup?next={}", encode(&n)),
        None => "/signup".to_owned(),
    };
    view! {
        {page_title(move || t(locale.get(), "Log in", "Вход").to_owned())}
        <section class="auth-card">
            <h1>{move || t(locale.get(), "Log in", "Вход")}</h1>
            <ActionForm action=action attr:class="form" attr:data-form="login">
                <input type="hidden" name="next" value=move || next.get().unwrap_or_default()/>
                <label for="login-email">{move || t(locale.get(), "Email", "Электронная почта")}</label>
                <input id="login-email" type="email" name="email" autocomplete="email" required/>
                <label for="login-password">{move || t(locale.get(), "Password", "Пароль")}</label>
                <input id="login-password" type="password" name="password" autocomplete="current-password" required/>
                {action_message(value, &[])}
                <button type="submit" class="button primary" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { t(locale.get(), "Logging in…", "Входим…") } else { t(locale.get(), "Log in", "Войти") }}
                </button>
            </ActionForm>
            <p class="muted">
                {move || t(locale.get(), "New here?", "Впервые здесь?")} " "
                <a href=signup_href>{move || t(locale.get(), "Create an account", "Создать аккаунт")}</a>
            </p>
        </section>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let locale = use_locale();
    let action = ServerAction::<Signup>::new();
    let value = action.value();
    let next = next_param();
    view! {
        {page_title(move || t(locale.get(), "Create an account", "Регистрация").to_owned())}
        <section class="auth-card">
            <h1>{move || t(locale.get(), "Create an account", "Регистрация")}</h1>
            <p class="muted">{move || t(locale.get(), "You start on the Free plan; upgrade whenever you need more.", "Вы начнёте с бесплатного тарифа и сможете перейти на платный в любой момент.")}</p>
            <ActionForm action=action attr:class="form" attr:data-form="signup">
                <input type="hidden" name="next" value=move || next.get().unwrap_or_default()/>
                <label for="signup-name">{move || t(locale.get(), "Name", "Имя")}</label>
                <input id="signup-name" type="text" name="name" autocomplete="name" maxlength="100"/>
                <label for="signup-email">{move || t(locale.get(), "Email", "Электронная почта")}</label>
                <input id="signup-email" type="email" name="email" autocomplete="email" required/>
                {field_message(value, "email")}
                <label for="signup-password">{move || t(locale.get(), "Password", "Пароль")}</label>
                <input id="signup-password" type="password" name="password" autocomplete="new-password" minlength="8" required/>
                <p class="hint">{move || t(locale.get(), "At least 8 characters.", "Не меньше 8 символов.")}</p>
                {field_message(value, "password")}
                {action_message(value, &["email", "password"])}
                <button type="submit" class="button primary" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { t(locale.get(), "Creating…", "Создаём…") } else { t(locale.get(), "Create account", "Зарегистрироваться") }}
                </button>
            </ActionForm>
            <p class="muted">
                {move || t(locale.get(), "Already have an account?", "Уже есть аккаунт?")} " "
                <a href="/login">{move || t(locale.get(), "Log in", "Войти")}</a>
            </p>
        </section>
    }
}

/// Percent-encodes a query value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The log-out button of the account menu.
#[component]
pub fn LogoutButton() -> impl IntoView {
    let locale = use_locale();
    let action = ServerAction::<Logout>::new();
    view! {
        <ActionForm action=action attr:class="inline-form" attr:data-form="logout">
            <button type="submit" class="link-button">{move || t(locale.get(), "Log out", "Выйти")}</button>
        </ActionForm>
    }
}
