//! The billing portal an end user sees (issue 5): overview and cancellation, plans and checkout,
//! the return page, usage meters, payment history and API tokens. Every server function checks
//! the session itself and calls the same service layer as the JSON API.

pub mod overview;
pub mod payments;
pub mod plans;
pub mod tokens;
pub mod usage;

use super::i18n::{t, use_locale};
use leptos::prelude::*;
use leptos_router::hooks::use_location;

/// `Overview · Usage · Payments · Plans · API tokens`, the current page marked.
#[component]
pub fn PortalNav() -> impl IntoView {
    let locale = use_locale();
    let location = use_location();
    let links: [(&'static str, &'static str, &'static str); 5] = [
        ("/billing", "Overview", "Обзор"),
        ("/billing/usage", "Usage", "Использование"),
        ("/billing/transactions", "Payments", "Платежи"),
        ("/billing/plans", "Plans", "Тарифы"),
        ("/settings/tokens", "API tokens", "API-токены"),
    ];
    view! {
        <nav class="subnav" aria-label=move || t(locale.get(), "Billing", "Оплата")>
            {links
                .into_iter()
                .map(|(href, en, ru)| {
                    let current = move || location.pathname.get() == href;
                    view! {
                        <a href=href class:current=current aria-current=move || current().then_some("page")>
                            {move || t(locale.get(), en, ru)}
                        </a>
                    }
                })
                .collect_view()}
        </nav>
    }
}

/// "Loading…" in the viewer's language, for `Suspense` fallbacks.
pub fn loading() -> impl IntoView {
    let locale = use_locale();
    view! { <p class="muted" aria-live="polite">{move || t(locale.get(), "Loading…", "Загрузка…")}</p> }
}
