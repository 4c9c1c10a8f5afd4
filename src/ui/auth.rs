//! Sign-up, log-in and log-out pages (issue 5 §1). Plain HTML forms posting to server functions,
//! so they work without JavaScript; with it they submit without a reload.

use super::i18n::{t, use_locale};
use super::widgets::{action_message, field_message, page_title};
use crate::actions::auth::{Login, Logout, Signup};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

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
                <button type="submit" class="button primary" data-pending=move || t(locale.get(), "Logging in…", "Входим…")>
                    {move || t(locale.get(), "Log in", "Войти")}
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
                <button type="submit" class="button primary" data-pending=move || t(locale.get(), "Creating…", "Создаём…")>
                    {move || t(locale.get(), "Create account", "Зарегистрироваться")}
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
