//! The `tariff` command line (clap): `serve` (default), `migrate`, `init-plans`, `user`, `token`.
//! Every failure prints one clear line to stderr and exits non-zero.

use super::config::Config;
use super::startup::{Application, open_store};
use super::telemetry;
use crate::ui::i18n::message;
use clap::{Parser, Subcommand};
use std::process::ExitCode;
use std::sync::Arc;
use tariff_core::accounts::{self, passwords};
use tariff_core::audit::Actor;
use tariff_core::clock::{Clock, SystemClock};
use tariff_core::plans::{self, InitOptions};
use tariff_core::{Error, tokens};
use tariff_model::Locale;

/// Tariff: a self-hosted billing server for AI products.
#[derive(Debug, Parser)]
#[command(name = "tariff", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server: migrations, plan seeding, first admin, then serve (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create the template plans; existing plans are skipped unless --force updates them.
    InitPlans {
        /// Also write the annual variants (interval year, 20% off twelve monthly prices).
        #[arg(long)]
        include_annual: bool,
        /// Also write the promotional plans.
        #[arg(long)]
        include_promo: bool,
        /// Also write seed 004's pay-as-you-go example: Free/Pro/Team with included feature
        /// units and discounts, and one feature of each access level.
        #[arg(long)]
        include_payg: bool,
        /// Overwrite existing plans with the template values.
        #[arg(long)]
        force: bool,
    },
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (with a personal account on the free plan). Prints a generated password
    /// when --password is not given.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: Option<String>,
        #[arg(long, default_value = "")]
        name: String,
        /// Give the user the admin role.
        #[arg(long)]
        admin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token and print it once.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// user (acts as its owner), service (acts for any user), admin (admin routes; admins only).
        #[arg(long, default_value = "user")]
        scope: String,
    },
    /// Revoke a token by id.
    Revoke {
        #[arg(long)]
        email: String,
        /// The token id printed at creation or by `token list`.
        #[arg(long)]
        id: String,
    },
    /// List a user's tokens (never the secrets).
    List {
        #[arg(long)]
        email: String,
    },
}

/// Runs the parsed command line to completion.
pub async fn run(cli: Cli) -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(&config).await,
        Command::InitPlans { include_annual, include_promo, include_payg, force } => {
            init_plans(&config, InitOptions { include_annual, include_promo, include_payg, force }).await
        }
        Command::User(command) => user(&config, command).await,
        Command::Token(command) => token(&config, command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate(config: &Config) -> Result<(), String> {
    let store = open_store(config).await?;
    println!("Migrations applied ({} database).", store.dialect().name());
    store.close().await;
    Ok(())
}

async fn init_plans(config: &Config, options: InitOptions) -> Result<(), String> {
    let store = open_store(config).await?;
    let summary = plans::init_plans(&store, SystemClock.now(), &Actor::cli(), options)
        .await
        .map_err(|e| format!("plan initialisation failed: {e}"))?;
    for id in &summary.created {
        println!("created  {id}");
    }
    for id in &summary.updated {
        println!("updated  {id}");
    }
    for id in &summary.skipped {
        println!("skipped  {id} (exists; use --force to update)");
    }
    for (names, verb) in [
        (&summary.features_created, "created  feature"),
        (&summary.features_updated, "updated  feature"),
        (&summary.features_skipped, "skipped  feature"),
    ] {
        for name in names {
            println!("{verb} {name}");
        }
    }
    println!(
        "Summary: {} created, {} updated, {} skipped.",
        summary.created.len() + summary.features_created.len(),
        summary.updated.len() + summary.features_updated.len(),
        summary.skipped.len() + summary.features_skipped.len()
    );
    store.close().await;
    Ok(())
}

async fn user(config: &Config, command: UserCommand) -> Result<(), String> {
    let store = open_store(config).await?;
    let UserCommand::Create { email, password, name, admin } = command;
    let (password, generated) = match password {
        Some(p) => (p, false),
        None => (passwords::generate(), true),
    };
    let new_user = accounts::NewUser { email: email.clone(), password: password.clone(), name, admin };
    let user_id = accounts::create_user(&store, SystemClock.now(), new_user).await.map_err(describe)?;
    println!("Created {} {} (id {user_id}).", if admin { "admin" } else { "user" }, email.trim().to_lowercase());
    if generated {
        println!("Generated password: {password}");
    }
    store.close().await;
    Ok(())
}

async fn token(config: &Config, command: TokenCommand) -> Result<(), String> {
    let store = open_store(config).await?;
    let clock = SystemClock;
    match command {
        TokenCommand::Create { email, name, scope } => {
            let scope = tokens::parse_scope(&scope).map_err(describe)?;
            let created = tokens::create(&store, &clock, &email, &name, scope).await.map_err(describe)?;
            println!(
                "Created {} token {:?} for {email} (id {}). It is shown only now:",
                created.scope, name, created.id
            );
            println!("{}", created.token);
        }
        TokenCommand::Revoke { email, id } => {
            tokens::revoke(&store, &clock, &email, &id).await.map_err(describe)?;
            println!("Revoked token {id}.");
        }
        TokenCommand::List { email } => {
            for t in tokens::list(&store, &email).await.map_err(describe)? {
                let state = if t.revoked_at.is_some() { "revoked" } else { "active" };
                println!("{}  {:<8} {:<8} {}", t.id, t.scope, state, t.name);
            }
        }
    }
    store.close().await;
    Ok(())
}

/// A billing error as one line for the terminal, with field messages for validation errors.
fn describe(error: Error) -> String {
    match &error {
        Error::Validation(fields) => fields
            .iter()
            .map(|f| format!("{}: {}", f.field, message(&f.message, Locale::En)))
            .collect::<Vec<_>>()
            .join("; "),
        Error::NotFound { .. } => error.to_string(),
        other => message(&other.message(), Locale::En),
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let application = Application::build(config, Arc::new(SystemClock)).await?;
    application.run_until(shutdown_signal()).await?;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received, finishing in-flight requests");
}
