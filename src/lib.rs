//! Tariff: a self-hosted billing server for AI products.
//!
//! One crate, two builds: the server (feature `ssr`: axum, sqlx, the billing service layer) and
//! the browser bundle (feature `hydrate`: the same Leptos components, hydrated). `model` and `ui`
//! compile in both; `server` only with `ssr`.

#![recursion_limit = "256"]

pub mod model;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod server;

/// Entry point of the wasm bundle: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(ui::app::App);
}
