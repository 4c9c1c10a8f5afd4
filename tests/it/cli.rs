//! The `tariff` binary as an operator runs it: init-plans, migrate, failures, serve and shutdown.

use crate::common::{Backend, TestDb};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn tariff(database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tariff"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run tariff")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn init_plans_reports_created_then_skipped_then_updated(backend: Backend) {
    let db = TestDb::new(backend).await;
    let first = tariff(&db.url, &["init-plans"]);
    assert!(first.status.success(), "{first:?}");
    assert!(stdout(&first).contains("Summary: 5 created, 0 updated, 0 skipped."), "{}", stdout(&first));

    let second = tariff(&db.url, &["init-plans"]);
    assert!(second.status.success());
    assert!(stdout(&second).contains("Summary: 0 created, 0 updated, 5 skipped."), "{}", stdout(&second));

    let forced = tariff(&db.url, &["init-plans", "--force", "--include-annual", "--include-promo"]);
    assert!(forced.status.success());
    assert!(stdout(&forced).contains("Summary: 4 created, 5 updated, 0 skipped."), "{}", stdout(&forced));
    db.cleanup().await;
}
on_both_databases!(init_plans_cli, init_plans_reports_created_then_skipped_then_updated);

#[test]
fn an_unreachable_database_is_a_clear_error_and_a_failed_exit() {
    let output = tariff("postgres://nobody@127.0.0.1:1/none?connect_timeout=2", &["init-plans"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot connect to the PostgreSQL database"), "{stderr}");
}

#[test]
fn invalid_configuration_names_the_variable() {
    let output = tariff("mysql://localhost/x", &["migrate"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("DATABASE_URL"));
}

#[tokio::test]
async fn a_changed_migration_stops_with_a_clear_message() {
    let db = TestDb::new(Backend::Sqlite).await;
    let migrated = tariff(&db.url, &["migrate"]);
    assert!(migrated.status.success(), "{migrated:?}");
    assert!(stdout(&migrated).contains("Migrations applied (SQLite database)."));

    // Simulate an edited migration: its recorded checksum no longer matches.
    let pool = db.reader().await;
    sqlx::query("update _sqlx_migrations set checksum = x'00'").execute(&pool).await.unwrap();
    pool.close().await;

    let output = tariff(&db.url, &["serve"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("database migration failed"), "{stderr}");
}

/// `tariff serve` starts, logs the YooKassa line of the setup guide, answers, and exits 0 on SIGTERM.
#[tokio::test]
async fn serve_logs_its_setup_and_shuts_down_gracefully_on_sigterm() {
    let db = TestDb::new(Backend::Sqlite).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tariff"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tariff serve");

    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = client.get(format!("http://127.0.0.1:{port}/healthz")).send().await {
            assert_eq!(response.status(), 200);
            break;
        }
        assert!(Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let plans: serde_json::Value =
        client.get(format!("http://127.0.0.1:{port}/api/v1/billing/plans")).send().await.unwrap().json().await.unwrap();
    assert_eq!(plans.as_array().unwrap().len(), 4, "default plans were seeded on first start");

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let output = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "server did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "exit status {:?}", output.status);
    let logs = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(
        logs.contains("YooKassa billing not configured (set YOOKASSA_SHOP_ID and YOOKASSA_SECRET_KEY to enable)"),
        "{logs}"
    );
    assert!(logs.contains("First admin created: admin@tariff.local"), "development admin is shown once");
    assert!(logs.contains("shut down cleanly"), "{logs}");
}

async fn users_and_tokens_are_managed_from_the_command_line(backend: Backend) {
    let db = TestDb::new(backend).await;
    let created = tariff(&db.url, &["user", "create", "--email", "Ops@Example.com", "--admin"]);
    assert!(created.status.success(), "{created:?}");
    let out = stdout(&created);
    assert!(out.contains("Created admin ops@example.com"), "{out}");
    assert!(out.contains("Generated password: "), "{out}");
    let again = tariff(&db.url, &["user", "create", "--email", "ops@example.com", "--password", "long enough pw"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let short = tariff(&db.url, &["user", "create", "--email", "x@example.com", "--password", "short"]);
    assert!(String::from_utf8_lossy(&short.stderr).contains("password: Use at least 8 characters"));

    let token = tariff(&db.url, &["token", "create", "--email", "ops@example.com", "--name", "ci", "--scope", "admin"]);
    assert!(token.status.success(), "{token:?}");
    let out = stdout(&token);
    let secret = out.lines().last().unwrap().trim().to_owned();
    assert!(secret.starts_with("trf_") && secret.len() == 68, "{out}");
    let id = out.split("(id ").nth(1).unwrap().split(')').next().unwrap().to_owned();

    let listed = stdout(&tariff(&db.url, &["token", "list", "--email", "ops@example.com"]));
    assert!(listed.contains(&id) && listed.contains("active") && !listed.contains(&secret), "{listed}");
    let bad_scope =
        tariff(&db.url, &["token", "create", "--email", "ops@example.com", "--name", "x", "--scope", "root"]);
    assert!(!bad_scope.status.success());
    let unknown = tariff(&db.url, &["token", "create", "--email", "ghost@example.com", "--name", "x"]);
    assert!(!unknown.status.success());

    let revoked = tariff(&db.url, &["token", "revoke", "--email", "ops@example.com", "--id", &id]);
    assert!(revoked.status.success(), "{revoked:?}");
    assert!(stdout(&tariff(&db.url, &["token", "list", "--email", "ops@example.com"])).contains("revoked"));
    assert!(!tariff(&db.url, &["token", "revoke", "--email", "ops@example.com", "--id", &id]).status.success());
    db.cleanup().await;
}
on_both_databases!(user_and_token_cli, users_and_tokens_are_managed_from_the_command_line);
