//! `/settings/tokens`: personal API tokens for the JSON API: create (the secret is shown once,
//! with a copy button) and revoke.

use super::{PortalNav, loading};
use crate::actions::portal::{CreateToken, RevokeToken, get_token_list};
use crate::model::portal::{TokenList, TokenView};
use crate::ui::format;
use crate::ui::i18n::{Locale, t, use_locale};
use crate::ui::widgets::{ErrorPanel, action_message, field_message, page_title};
use leptos::prelude::*;

#[component]
pub fn TokensPage() -> impl IntoView {
    let locale = use_locale();
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let data = Resource::new(move || (create.version().get(), revoke.version().get()), |_| get_token_list());
    view! {
        {page_title(move || t(locale.get(), "API tokens", "API-токены").to_owned())}
        <PortalNav/>
        <h1 class="page-title">{move || t(locale.get(), "API tokens", "API-токены")}</h1>
        <p class="lead">{move || t(locale.get(), "Use a token as a Bearer token for the JSON API (/api/v1/billing/...). It acts as you.", "Токен передаётся как Bearer-токен в JSON API (/api/v1/billing/...) и действует от вашего имени.")}</p>
        <section class="card">
            <h2>{move || t(locale.get(), "Create a token", "Создать токен")}</h2>
            <ActionForm action=create attr:class="form row-form" attr:data-form="create-token">
                <label for="token-name">{move || t(locale.get(), "Name", "Название")}</label>
                <input id="token-name" type="text" name="name" maxlength="100" required placeholder=move || t(locale.get(), "e.g. chat backend", "например, бэкенд чата")/>
                <button type="submit" class="button primary">
                    {move || t(locale.get(), "Create token", "Создать токен")}
                </button>
            </ActionForm>
            {field_message(create.value(), "name")}
            {action_message(create.value(), &["name"])}
        </section>
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                let locale = locale.get();
                match data.await {
                    Ok(list) => tokens_view(list, locale, revoke).into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn tokens_view(list: TokenList, locale: Locale, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    let fresh = list.fresh.map(|(name, secret)| {
        view! {
            <section class="card notice-ok" data-testid="new-token">
                <h2>{format!("{} “{name}”", t(locale, "New token", "Новый токен"))}</h2>
                <p>{t(locale, "Copy it now: it is shown only once.", "Скопируйте его сейчас: он показывается только один раз.")}</p>
                <div class="copy-row">
                    <input class="token-secret" type="text" readonly value=secret aria-label=t(locale, "Token", "Токен")/>
                    // The browser bundle copies the input's value (`crate::enhance`).
                    <button type="button" class="button" data-copy="token">
                        {t(locale, "Copy", "Копировать")}
                    </button>
                </div>
            </section>
        }
    });
    let (active, revoked): (Vec<TokenView>, Vec<TokenView>) =
        list.tokens.into_iter().partition(|t| t.revoked_at.is_none());
    view! {
        {fresh}
        <section class="card">
            <h2>{t(locale, "Your tokens", "Ваши токены")}</h2>
            {action_message(revoke.value(), &[])}
            {if active.is_empty() {
                view! { <p class="muted">{t(locale, "No active tokens.", "Активных токенов нет.")}</p> }.into_any()
            } else {
                view! {
                    <table class="table stack" data-table="tokens">
                        <thead>
                            <tr>
                                <th scope="col">{t(locale, "Name", "Название")}</th>
                                <th scope="col">{t(locale, "Created", "Создан")}</th>
                                <th scope="col">{t(locale, "Last used", "Последнее использование")}</th>
                                <th scope="col"></th>
                            </tr>
                        </thead>
                        <tbody>
                            {active.into_iter().map(|token| token_row(token, locale, revoke)).collect_view()}
                        </tbody>
                    </table>
                }
                .into_any()
            }}
            {(!revoked.is_empty()).then(|| view! {
                <p class="muted small">{format!("{} {}", t(locale, "Revoked tokens:", "Отозванных токенов:"), revoked.len())}</p>
            })}
        </section>
    }
}

fn token_row(token: TokenView, locale: Locale, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    let confirm = match locale {
        Locale::En => format!("Requests using “{}” will be refused from now on.", token.name),
        Locale::Ru => format!("Запросы с токеном «{}» будут отклоняться.", token.name),
    };
    let id = token.id.clone();
    view! {
        <tr data-token-id=token.id.clone()>
            <td data-label=t(locale, "Name", "Название")>{token.name.clone()}</td>
            <td data-label=t(locale, "Created", "Создан")>{format::date(token.created_at, locale)}</td>
            <td data-label=t(locale, "Last used", "Последнее использование")>
                {token.last_used_at.map(|at| format::date_time(at, locale)).unwrap_or_else(|| t(locale, "never", "не использовался").to_owned())}
            </td>
            <td>
                <details class="danger-zone compact">
                    <summary>{t(locale, "Revoke", "Отозвать")}</summary>
                    <p>{confirm}</p>
                    <ActionForm action=revoke attr:class="inline-form" attr:data-form="revoke-token">
                        <input type="hidden" name="id" value=id/>
                        <button type="submit" class="button danger">{t(locale, "Yes, revoke", "Да, отозвать")}</button>
                    </ActionForm>
                </details>
            </td>
        </tr>
    }
}
