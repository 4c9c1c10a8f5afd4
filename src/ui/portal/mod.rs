//! The billing portal an end user sees (issue 5): overview and cancellation, plans and checkout,
//! the return page, usage meters, payment history and API tokens. Every server function checks
//! the session itself and calls the same service layer as the JSON API.

pub mod balance;
pub mod notifications;
pub mod orgs;
pub mod overview;
pub mod payments;
pub mod plans;
pub mod tokens;
pub mod usage;

use super::i18n::{t, use_locale};
use super::widgets::section_nav;
use leptos::prelude::*;

/// `Overview · Usage · Balance · Payments · Plans · API tokens · Emails`, the current page marked.
#[component]
pub fn PortalNav() -> impl IntoView {
    const LINKS: &[(&str, &str, &str)] = &[
        ("/billing", "Overview", "Обзор"),
        ("/billing/usage", "Usage", "Использование"),
        ("/billing/balance", "Balance", "Баланс"),
        ("/billing/transactions", "Payments", "Платежи"),
        ("/billing/plans", "Plans", "Тарифы"),
        ("/settings/tokens", "API tokens", "API-токены"),
        ("/settings/notifications", "Emails", "Письма"),
    ];
    section_nav("subnav", ("Billing", "Оплата"), LINKS, false, "/billing")
}

/// "Loading…" in the viewer's language, for `Suspense` fallbacks.
pub fn loading() -> impl IntoView {
    let locale = use_locale();
    view! { <p class="muted" aria-live="polite">{move || t(locale.get(), "Loading…", "Загрузка…")}</p> }
}
