//! The `tariff` command line (clap): `serve` (default), `migrate`, `init-plans`.
//! Every failure prints one clear line to stderr and exits non-zero.

use super::billing::{self, accounts::AdminBootstrap, audit::Actor, plans::InitOptions};
use super::clock::{Clock, SystemClock};
use super::config::Config;
use super::http;
use super::state::AppState;
use super::store::Store;
use super::telemetry;
use super::yookassa::client::{Client as YooKassaClient, ClientConfig};
use super::yookassa::sandbox::Sandbox;
use clap::{Parser, Subcommand};
use leptos::config::{Env, LeptosOptions};
use secrecy::SecretString;
use std::process::ExitCode;
use std::sync::Arc;

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
        Command::InitPlans { include_annual, include_promo, force } => {
            init_plans(&config, InitOptions { include_annual, include_promo, force }).await
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

/// Connects and applies migrations; a failure here stops every command.
async fn open_store(config: &Config) -> Result<Store, String> {
    let store =
        Store::connect(&config.database_url, config.database_max_connections).await.map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    Ok(store)
}

async fn migrate(config: &Config) -> Result<(), String> {
    let store = open_store(config).await?;
    println!("Migrations applied ({} database).", store.dialect().name());
    store.close().await;
    Ok(())
}

async fn init_plans(config: &Config, options: InitOptions) -> Result<(), String> {
    let store = open_store(config).await?;
    let summary = billing::plans::init_plans(&store, SystemClock.now(), &Actor::cli(), options)
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
    println!(
        "Summary: {} created, {} updated, {} skipped.",
        summary.created.len(),
        summary.updated.len(),
        summary.skipped.len()
    );
    store.close().await;
    Ok(())
}

async fn user(config: &Config, command: UserCommand) -> Result<(), String> {
    let store = open_store(config).await?;
    let UserCommand::Create { email, password, name, admin } = command;
    let (password, generated) = match password {
        Some(p) => (p, false),
        None => (billing::accounts::generate_password(), true),
    };
    let new_user = billing::accounts::NewUser { email: email.clone(), password: password.clone(), name, admin };
    let user_id = billing::accounts::create_user(&store, SystemClock.now(), new_user).await.map_err(describe)?;
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
            let scope = scope.parse().map_err(describe)?;
            let created = billing::tokens::create(&store, &clock, &email, &name, scope).await.map_err(describe)?;
            println!(
                "Created {} token {:?} for {email} (id {}). It is shown only now:",
                created.scope, name, created.id
            );
            println!("{}", created.token);
        }
        TokenCommand::Revoke { email, id } => {
            billing::tokens::revoke(&store, &clock, &email, &id).await.map_err(describe)?;
            println!("Revoked token {id}.");
        }
        TokenCommand::List { email } => {
            for t in billing::tokens::list(&store, &email).await.map_err(describe)? {
                let state = if t.revoked_at.is_some() { "revoked" } else { "active" };
                println!("{}  {:<8} {:<8} {}", t.id, t.scope, state, t.name);
            }
        }
    }
    store.close().await;
    Ok(())
}

/// A service error as one line for the terminal, with field messages for validation errors.
fn describe(error: super::Error) -> String {
    match &error {
        super::Error::Validation(fields) => {
            fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ")
        }
        other => other.public_message(),
    }
}

/// Builds the state the server runs with: store opened and migrated, plans seeded, first admin.
///
/// # Errors
/// A message naming what failed (connection, migration, seeding, admin creation).
pub async fn prepare(config: Config, clock: Arc<dyn Clock>) -> Result<AppState, String> {
    let store = open_store(&config).await?;
    tracing::info!(database = store.dialect().name(), "database ready, migrations applied");

    if let Some(summary) = billing::plans::seed_defaults_if_empty(&store, clock.now())
        .await
        .map_err(|e| format!("seeding default plans failed: {e}"))?
    {
        tracing::info!(created = ?summary.created, "plan table was empty: default plans created");
    }

    match billing::accounts::ensure_first_admin(&store, clock.now(), &config)
        .await
        .map_err(|e| format!("creating the first admin failed: {e}"))?
    {
        AdminBootstrap::Exists => {}
        AdminBootstrap::Created { email } => {
            tracing::info!(%email, "first admin created from ADMIN_EMAIL")
        }
        AdminBootstrap::Generated { email, password } => {
            // Shown once, on stdout only, never through the logger.
            println!(
                "\n  First admin created: {email}\n  Generated password:  {password}\n  (shown once; set ADMIN_EMAIL/ADMIN_PASSWORD to choose your own)\n"
            );
        }
        AdminBootstrap::Missing => {
            tracing::warn!("no admin user exists; set ADMIN_EMAIL and ADMIN_PASSWORD to create one")
        }
    }

    let (yookassa, sandbox) = yookassa_setup(&config)?;

    let leptos_options = LeptosOptions::builder()
        .output_name("tariff")
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(config.site_addr)
        .env(Env::PROD)
        .build();
    let sessions = crate::server::web::SessionBackend::open(&config.database_url).await?;
    Ok(AppState {
        store,
        config: Arc::new(config),
        clock,
        leptos_options,
        yookassa,
        sandbox,
        sessions,
        login_throttle: Arc::default(),
    })
}

/// The YooKassa client and, in sandbox mode, the emulator it talks to, with the start-up lines
/// of the setup guide (spec 003 §2).
fn yookassa_setup(config: &Config) -> Result<(Option<YooKassaClient>, Option<Arc<Sandbox>>), String> {
    let yk = &config.yookassa;
    if yk.is_configured() {
        tracing::info!("YooKassa billing client initialized");
    } else {
        tracing::info!("YooKassa billing not configured (set YOOKASSA_SHOP_ID and YOOKASSA_SECRET_KEY to enable)");
    }
    if yk.sandbox {
        // The sandbox has its own credentials unless the operator set some.
        let shop_id = yk.shop_id.clone().unwrap_or_else(|| "sandbox-shop".to_owned());
        let secret = yk
            .secret_key
            .clone()
            .unwrap_or_else(|| SecretString::from(format!("test_{}", uuid::Uuid::new_v4().simple())));
        let local = match config.site_addr.ip() {
            ip if ip.is_unspecified() => format!("http://127.0.0.1:{}", config.site_addr.port()),
            _ => format!("http://{}", config.site_addr),
        };
        let webhook = format!("{local}/api/v1/billing/webhook/yookassa");
        let sandbox = Arc::new(Sandbox::new(&shop_id, secret.clone(), &config.app_base_url, &webhook));
        let base = yk.api_url.clone().unwrap_or_else(|| format!("{local}/sandbox/yookassa/v3"));
        let client = YooKassaClient::new(ClientConfig::new(&base, &shop_id, secret)).map_err(|e| e.to_string())?;
        tracing::info!(api = %base, "YooKassa sandbox mode: payments go to the built-in emulator, no real money moves");
        return Ok((Some(client), Some(sandbox)));
    }
    match (&yk.shop_id, &yk.secret_key) {
        (Some(shop_id), Some(secret)) => {
            let base = yk.api_url.clone().unwrap_or_else(|| crate::server::config::DEFAULT_YOOKASSA_API_URL.to_owned());
            let client =
                YooKassaClient::new(ClientConfig::new(&base, shop_id, secret.clone())).map_err(|e| e.to_string())?;
            Ok((Some(client), None))
        }
        _ => Ok((None, None)),
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let addr = config.site_addr;
    let base_url = config.app_base_url.clone();
    let state = prepare(config, Arc::new(SystemClock)).await?;
    let store = state.store.clone();
    let state_for_jobs = state.clone();
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!(%addr, url = %base_url, "Tariff is listening");
    let jobs = super::jobs::spawn(state_for_jobs);
    state.sessions.spawn_cleanup(std::time::Duration::from_secs(3600));
    axum::serve(listener, http::app(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))?;
    jobs.abort();
    store.close().await;
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
