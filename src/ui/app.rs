//! The HTML shell, the router and the page frame shared by every page.

use super::i18n::{Locale, provide_locale, use_locale};
use super::pricing::PricingPage;
use leptos::prelude::*;
use leptos_meta::{Html, Link, Meta, MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::hooks::{use_location, use_query_map};
use leptos_router::{SsrMode, path};

/// The document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The root component, hydrated in the browser.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="tariff" href="/pkg/tariff.css"/>
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
    // Effects run only in the browser, after hydration: mark the body so tests (and people
    // debugging) can tell a hydrated page from server HTML.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Html {..} lang=move || locale.get().code()/>
        <a class="skip-link" href="#main">{move || if locale.get() == Locale::Ru { "К содержимому" } else { "Skip to content" }}</a>
        <header class="topbar">
            <div class="topbar-inner">
                <A href="/" attr:class="brand">
                    <span class="brand-mark" aria-hidden="true">"₸"</span>
                    <span class="brand-name">"Tariff"</span>
                </A>
                <span class="brand-tagline">{move || locale.get().text().product_tagline}</span>
                <LanguageSwitch/>
            </div>
        </header>
        <main id="main" class="content">
            <Routes fallback=NotFound>
                <Route path=path!("/") view=PricingPage ssr=SsrMode::Async/>
            </Routes>
        </main>
        <footer class="footer">
            <p>{move || locale.get().text().footer}</p>
        </footer>
    }
}

/// English / Русский links. They keep the current path and query and only change `lang`, so they
/// work as plain links without JavaScript and as client-side navigation once hydrated.
#[component]
fn LanguageSwitch() -> impl IntoView {
    let locale = use_locale();
    let location = use_location();
    let query = use_query_map();
    let href = move |target: Locale| {
        let mut params = query.get();
        params.replace("lang", target.code().to_owned());
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
        <Title text=move || locale.get().text().not_found_title/>
        <section class="empty-state">
            <h1>{move || locale.get().text().not_found_title}</h1>
            <p>{move || locale.get().text().not_found_text}</p>
            <A href="/">{move || locale.get().text().back_to_pricing}</A>
        </section>
    }
}
