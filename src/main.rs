//! The `tariff` server binary; see `tariff --help`.

use clap::Parser;
use std::process::ExitCode;
use tariff::server::cli::{Cli, run};

#[tokio::main]
async fn main() -> ExitCode {
    run(Cli::parse()).await
}
