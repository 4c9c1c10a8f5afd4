//! Everything that runs only on the server (feature `ssr`): configuration, the store, the
//! billing service layer, the HTTP adapters and the command line.

pub mod billing;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod http;
pub mod jobs;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod web;
pub mod yookassa;

pub use error::Error;
pub use state::AppState;
