//! The HTML shell, the router and the page frame shared by every page.

use super::admin::audit::AuditPage;
use super::admin::features::AdminFeaturesPage;
use super::admin::orgs::{AdminOrgPage, AdminOrgsPage};
use super::admin::overview::AdminOverviewPage;
use super::admin::plans::{AdminPlansPage, PlanEditorPage};
use super::admin::users::{AdminUserPage, AdminUsersPage, PlanSubscribersPage};
use super::admin::webhooks::AdminWebhooksPage;
use super::auth::{LoginPage, LogoutButton, SignupPage};
use super::i18n::{Locale, provide_locale, t, use_locale};
use super::portal::balance::BalancePage;
use super::portal::notifications::NotificationsPage;
use super::portal::orgs::{OrgPage, account_switcher};
use super::portal::overview::BillingPage;
use super::portal::payments::TransactionsPage;
use super::portal::plans::{PlansPage, ReturnPage};
use super::portal::tokens::TokensPage;
use super::portal::usage::UsagePage;
use super::pricing::PricingPage;
use crate::actions::auth::current_viewer;
use crate::ui::i18n::LocaleText;
use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, Html, Link, Meta, MetaTags, provide_meta_context};
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::hooks::{use_location, use_query_map};
use leptos_router::{SsrMode, path};

/// What the server tells every page about itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SiteMode {
    /// Payments go to the YooKassa sandbox (development or a staging server): every page says so.
    pub test_payments: bool,
}

/// The document around the app, rendered on the server only. In test mode `<html>` carries
/// `data-test-mode`, which the stylesheet turns into a banner on every page. The head loads the
/// browser bundle (`HydrationScripts` calls `crate::hydrate`, which installs the enhancer of
/// `crate::enhance`; the page itself is not hydrated).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let test_mode = use_context::<SiteMode>().unwrap_or_default().test_payments.then_some("true");
    content_security_policy();
    // Nothing in the browser reads the resources' data (the pages are not hydrated), so the
    // render does not write it into the page (as Leptos' islands mode does outside islands).
    if let Some(context) = Owner::current_shared_context() {
        context.set_is_hydrating(false);
    }
    view! {
        <!DOCTYPE html>
        <html data-test-mode=test_mode>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <HashedStylesheet options=options.clone() id="tariff"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The page's Content-Security-Policy, with this response's nonce for the bundle's loader script (set
/// as a response header while the page renders on the server): scripts only from this site or
/// with the nonce, wasm allowed to compile, styles from this site (and inline `style` attributes,
/// which the meters use), nothing framed or embedded.
fn content_security_policy() {
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
        && let Ok(value) = axum::http::HeaderValue::from_str(&format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
             style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
             object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
        ))
    {
        response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The root component: every page, rendered on the server.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg"/>
        <Meta name="description" content="Tariff: plans, quotas and payments for AI products"/>
        <Router>
            <Frame/>
        </Router>
    }
}

/// Top bar, routed content and footer.
#[component]
fn Frame() -> impl IntoView {
    let locale = provide_locale();
    // The server reads <html> attributes outside the request's reactive arena (see
    // `widgets::page_title`), so it gets a plain value.
    let lang = locale.get_untracked().code();
    view! {
        <Html {..} lang=lang/>
        <a class="skip-link" href="#main">{move || if locale.get() == Locale::Ru { "К содержимому" } else { "Skip to content" }}</a>
        <header class="topbar">
            <div class="topbar-inner">
                <A href="/" attr:class="brand">
                    <span class="brand-mark" aria-hidden="true">"₸"</span>
                    <span class="brand-name">"Tariff"</span>
                </A>
                <span class="brand-tagline">{move || locale.get().text().product_tagline}</span>
                <LanguageSwitch/>
                <AccountMenu/>
            </div>
        </header>
        <main id="main" class="content">
            <Routes fallback=NotFound>
                <Route path=path!("/") view=PricingPage ssr=SsrMode::Async/>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/signup") view=SignupPage ssr=SsrMode::Async/>
                <Route path=path!("/billing") view=BillingPage ssr=SsrMode::Async/>
                <Route path=path!("/billing/plans") view=PlansPage ssr=SsrMode::Async/>
                <Route path=path!("/billing/return") view=ReturnPage ssr=SsrMode::Async/>
                <Route path=path!("/billing/usage") view=UsagePage ssr=SsrMode::Async/>
                <Route path=path!("/billing/balance") view=BalancePage ssr=SsrMode::Async/>
                <Route path=path!("/billing/transactions") view=TransactionsPage ssr=SsrMode::Async/>
                <Route path=path!("/settings/tokens") view=TokensPage ssr=SsrMode::Async/>
                <Route path=path!("/settings/notifications") view=NotificationsPage ssr=SsrMode::Async/>
                <Route path=path!("/org/:id") view=OrgPage ssr=SsrMode::Async/>
                <Route path=path!("/admin") view=AdminOverviewPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/plans") view=AdminPlansPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/plans/new") view=PlanEditorPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/plans/:id/edit") view=PlanEditorPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/plans/:id/subscribers") view=PlanSubscribersPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/features") view=AdminFeaturesPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/webhooks") view=AdminWebhooksPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/users") view=AdminUsersPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/users/:id") view=AdminUserPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/orgs") view=AdminOrgsPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/orgs/:id") view=AdminOrgPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/audit") view=AuditPage ssr=SsrMode::Async/>
            </Routes>
        </main>
        <footer class="footer">
            <p>{move || locale.get().text().footer}</p>
        </footer>
    }
}

/// The right end of the top bar: plan badge, email and "Log out", or "Log in" / "Sign up".
/// Asked again on every navigation, so logging in or out shows at once.
#[component]
fn AccountMenu() -> impl IntoView {
    let locale = use_locale();
    let location = use_location();
    let viewer = Resource::new(move || location.pathname.get(), |_| current_viewer());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let locale = locale.get();
                match viewer.await {
                    Ok(Some(viewer)) => {
                        let plan = match locale {
                            Locale::Ru => viewer.plan_name_ru.clone().or(viewer.plan_name.clone()),
                            Locale::En => viewer.plan_name.clone(),
                        };
                        view! {
                            <nav class="account-menu" aria-label=t(locale, "Account", "Аккаунт")>
                                {account_switcher(viewer.accounts.clone(), viewer.account_id.clone(), locale)}
                                {plan.map(|p| view! { <a class="badge badge-plan" href="/billing" data-testid="plan-badge">{p}</a> })}
                                {viewer.is_admin.then(|| view! { <a href="/admin">{t(locale, "Admin", "Админка")}</a> })}
                                <a href="/billing" class="account-email" data-testid="account-email">{viewer.email.clone()}</a>
                                <LogoutButton/>
                            </nav>
                        }
                        .into_any()
                    }
                    _ => view! {
                        <nav class="account-menu" aria-label=t(locale, "Account", "Аккаунт")>
                            <a href="/login">{t(locale, "Log in", "Войти")}</a>
                            <a class="button primary small" href="/signup">{t(locale, "Sign up", "Регистрация")}</a>
                        </nav>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
}

/// English / Русский links. They keep the current path and query and only change `lang`, so they
/// are plain links.
#[component]
fn LanguageSwitch() -> impl IntoView {
    let locale = use_locale();
    let location = use_location();
    let query = use_query_map();
    let href = move |target: Locale| {
        let mut params = query.get();
        params.replace("lang", target.code().to_owned());
        // A server function's error (after a refused form post) belongs to this render only.
        params.remove("__err");
        params.remove("__path");
        format!("{}{}", location.pathname.get(), params.to_query_string())
    };
    view! {
        <nav class="lang-switch" aria-label=move || locale.get().text().language>
            {[Locale::En, Locale::Ru]
                .into_iter()
                .map(|target| {
                    view! {
                        <a
                            href=move || href(target)
                            hreflang=target.code()
                            lang=target.code()
                            class:current=move || locale.get() == target
                            aria-current=move || (locale.get() == target).then_some("true")
                        >
                            {target.native_name()}
                        </a>
                    }
                })
                .collect_view()}
        </nav>
    }
}

/// The 404 page for unknown paths outside the API.
#[component]
fn NotFound() -> impl IntoView {
    let locale = use_locale();
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        {super::widgets::page_title(move || locale.get().text().not_found_title.to_owned())}
        <section class="empty-state">
            <h1>{move || locale.get().text().not_found_title}</h1>
            <p>{move || locale.get().text().not_found_text}</p>
            <A href="/">{move || locale.get().text().back_to_pricing}</A>
        </section>
    }
}
