//! The `tariff` server binary; see `tariff --help`.

use clap::Parser;
use std::process::ExitCode;
use tariff::server::cli::{Cli, run};

/// mimalloc instead of glibc's allocator: the hot path allocates per request on every worker
/// thread, and a profile of `check` at 25,000 requests/s spent a fifth of its time in glibc's
/// malloc and free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    run(Cli::parse()).await
}
