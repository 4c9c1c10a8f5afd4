//! Tariff: a self-hosted billing server for AI products — the Leptos app.
//!
//! One package, two builds: the server (feature `ssr`: axum, the billing core, YooKassa) and the
//! browser bundle (feature `hydrate`: the same components, hydrated). `ui` (components) and
//! `actions` (server functions) compile in both; `server` only with `ssr`. The shared types are
//! `tariff-model`, re-exported as [`model`].

#![recursion_limit = "256"]

pub use tariff_model as model;

pub mod actions;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod server;

/// Entry point of the wasm bundle: hydrates the server-rendered page once the lazily loaded
/// module of its route (see `ui::app`) has arrived, then marks `<body data-hydrated="true">`, so
/// tests (and people debugging) can tell a fully hydrated page from server HTML. Marked any
/// earlier (from an effect of the frame, say), a click could navigate while the page's own module
/// is still loading, and the page would hydrate showing the server's text for the old URL.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    use leptos::prelude::document;
    console_error_panic_hook::set_once();
    // `Err` only when the executor is already set up, which is fine.
    _ = any_spawner::Executor::init_wasm_bindgen();
    leptos::task::spawn_local(async {
        let Some(body) = document().body() else { return };
        leptos::mount::hydrate_from_async(body.clone(), ui::app::App).await.forget();
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
