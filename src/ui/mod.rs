//! Leptos components, rendered on the server and hydrated in the browser.

pub mod app;
pub mod format;
pub mod i18n;
pub mod pricing;
