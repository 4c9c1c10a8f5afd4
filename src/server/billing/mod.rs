//! The service layer (DESIGN.md "One picture"): every billing rule lives here, called alike by
//! the JSON routes, the Leptos server functions, the CLI and the background jobs.

pub mod accounts;
pub mod audit;
pub mod payments;
pub mod periods;
pub mod plans;
pub mod stats;
pub mod subscriptions;
pub mod templates;
pub mod tokens;
pub mod usage;
