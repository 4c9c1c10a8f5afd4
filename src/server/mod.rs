//! Everything that runs only on the server (feature `ssr`): configuration, the one
//! [`startup::Application`] that wires the app, the JSON API (`api`), the web UI's sessions and
//! Origin check (`web`), the server-side bodies of the pages' server functions (`pages`), the
//! background jobs, the command line and logging. The billing rules live in `tariff-core`.

pub mod access_log;
pub mod api;
pub mod assets;
pub mod cli;
pub mod client_ip;
pub mod config;
pub mod jobs;
pub mod mailer;
pub mod metrics;
pub mod outbox;
pub mod pages;
pub mod rate_limit;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod web;

pub use state::AppState;
