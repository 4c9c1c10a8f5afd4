//! Integration tests: the real server on a random port, on SQLite and (with
//! `TEST_DATABASE_URL`) PostgreSQL. One test binary, so the crate links once.

#[macro_use]
mod common;

mod admin_ui;
mod api_admin_plans;
mod api_auth;
mod api_usage;
mod architecture;
mod cli;
mod hardening;
mod hot_path;
mod lifecycle;
mod openapi;
mod orgs;
mod outgoing;
mod payg;
mod payments;
mod plans_api;
mod plans_store;
mod portal;
mod pricing_page;
mod yookassa_sandbox;
