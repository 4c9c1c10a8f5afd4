//! Leptos components, rendered on the server (the pages are not hydrated; see `crate::enhance`).

pub mod admin;
pub mod app;
pub mod auth;
pub mod format;
pub mod i18n;
pub mod portal;
pub mod pricing;
pub mod widgets;
