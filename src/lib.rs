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

/// Entry point of the wasm bundle: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(ui::app::App);
}
