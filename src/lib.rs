//! Tariff: a self-hosted billing server for AI products — the Leptos app.
//!
//! One package, two builds: the server (feature `ssr`: axum, the billing core, YooKassa, and the
//! pages, rendered on the server) and the browser bundle (feature `hydrate`: [`enhance`], which
//! makes the server-rendered forms submit without reloading the page). `ui` (components) and
//! `actions` (server functions) are the server's; the shared types are `tariff-model`,
//! re-exported as [`model`].

#![recursion_limit = "256"]

#[cfg(feature = "ssr")]
pub use tariff_model as model;

#[cfg(feature = "ssr")]
pub mod actions;
#[cfg(feature = "ssr")]
pub mod ui;

#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "hydrate")]
pub mod enhance;

/// The request header that marks a request sent by [`enhance`] (value `1`). The server then
/// answers a redirect that leaves the site (a payment page) with [`LEAVE_SITE_HEADER`] instead of
/// a `302`, which `fetch` could not follow (see `server::web::leave_site`).
pub const ENHANCED_REQUEST_HEADER: &str = "x-tariff-enhanced";

/// The response header naming the address off the site the browser should go to (on a `200`
/// answering a request with [`ENHANCED_REQUEST_HEADER`]).
pub const LEAVE_SITE_HEADER: &str = "x-tariff-location";

/// Entry point of the wasm bundle, called by the script the server writes into every page's head
/// (leptos' `HydrationScripts`). The pages are not hydrated: every one is complete HTML from the
/// server, and this installs [`enhance`], which sends their forms with `fetch` and swaps in the
/// page that comes back. It then marks `<html data-enhanced="true">`, so tests (and people
/// debugging) can tell an enhanced page from plain server HTML.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    enhance::install();
}
