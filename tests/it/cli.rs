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

/// Seed 003 "Мониторинг" and "Troubleshooting" tell operators to grep the logs for billing
/// activity, `webhook`, `quota` and `Tracked.*tokens` (issue 17). With
/// `RUST_LOG=info,tariff=debug` a quota refusal, a sandbox payment's notification and a usage
/// event each leave such a line, with the `tariff::billing` target; no line carries the YooKassa
/// secret or an API token.
#[tokio::test]
async fn billing_activity_leaves_the_log_lines_seed_003_greps_for() {
    const SECRET: &str = "log-test-yookassa-secret";
    let db = TestDb::new(Backend::Sqlite).await;
    assert!(tariff(&db.url, &["migrate"]).status.success());
    assert!(tariff(&db.url, &["init-plans"]).status.success());
    let created = tariff(&db.url, &["user", "create", "--email", "logs@example.com", "--password", "log-password-1"]);
    assert!(created.status.success(), "{created:?}");
    let token_output = tariff(&db.url, &["token", "create", "--email", "logs@example.com", "--name", "logs"]);
    let token = stdout(&token_output).trim().lines().last().unwrap().to_owned();
    assert!(token.starts_with("trf_"), "{token}");

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let log_path = std::env::temp_dir().join(format!("tariff-logs-{port}.log"));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tariff"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("APP_BASE_URL", &base)
        .env("YOOKASSA_SECRET_KEY", SECRET)
        .env("RUST_LOG", "info,tariff=debug")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start tariff serve");
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let post = |path: &str, body: serde_json::Value| {
        client.post(format!("{base}{path}")).bearer_auth(&token).json(&body).send()
    };
    let tracked =
        post("/api/v1/billing/usage", serde_json::json!({"metric": "tokens_input", "amount": 1200})).await.unwrap();
    assert_eq!(tracked.status(), 201);
    let refused = post("/api/v1/billing/usage", serde_json::json!({"metric": "tokens_input", "amount": 10_000_000}))
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let checkout: serde_json::Value = post(
        "/api/v1/billing/payment",
        serde_json::json!({"plan_id": "pro", "return_url": "https://shop.example/back"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let paid = client
        .post(checkout["confirmation_url"].as_str().unwrap())
        .form(&[("card_number", "5555555555554444"), ("expiry", "12/30"), ("csc", "123")])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 303);
    let transaction = checkout["transaction_id"].as_str().unwrap();
    for _ in 0..100 {
        let t: serde_json::Value = client
            .get(format!("{base}/api/v1/billing/transactions/{transaction}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if t["status"] == "succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    let logs = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);
    let lines: Vec<&str> = logs.lines().collect();
    let tracked_line = regex_lite_tracked(&lines);
    assert!(tracked_line.is_some(), "a `Tracked <amount> tokens_input for user <id>` line:\n{logs}");
    let find = |needle: &str| lines.iter().find(|l| l.contains(needle)).copied();
    assert!(find("quota exceeded").is_some_and(|l| l.contains("tariff::billing")), "{logs}");
    assert!(find("webhook applied").is_some_and(|l| l.contains("tariff::billing")), "{logs}");
    assert!(find("payment created").is_some(), "{logs}");
    assert!(!logs.contains(SECRET), "the YooKassa secret never reaches the log");
    assert!(!logs.contains("trf_"), "no API token reaches the log");
    db.cleanup().await;
}

/// The line seed 003 finds with `grep "Tracked.*tokens"`, for the usage recorded above.
fn regex_lite_tracked<'a>(lines: &[&'a str]) -> Option<&'a str> {
    lines.iter().copied().find(|l| {
        l.find("Tracked ").is_some_and(|i| l[i..].contains("1200 tokens_input for user "))
            && l.contains("tariff::billing")
    })
}
