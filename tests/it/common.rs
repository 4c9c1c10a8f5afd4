//! Test harness: a fresh database per test (a temporary SQLite file, or a fresh PostgreSQL schema
//! when `TEST_DATABASE_URL` is set) and the real server on a random loopback port.

use std::sync::Arc;
use tariff::server::AppState;
use tariff::server::config::Config;
use tariff::server::startup::Application;
use tariff_core::clock::OffsetClock;
use tariff_core::store::Store;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";
/// The secret key of the test server's YooKassa sandbox (shop `sandbox-shop`).
pub const SANDBOX_SECRET: &str = "test_sandbox_secret";

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs `$body(backend)` as two tests, `sqlite` and `postgres`, in a module named `$name`.
/// The PostgreSQL one needs `TEST_DATABASE_URL`; without it, it says so and passes.
macro_rules! on_both_databases {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$body($crate::common::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::common::postgres_url().is_none() {
                    eprintln!("TEST_DATABASE_URL is not set: PostgreSQL variant skipped");
                    return;
                }
                super::$body($crate::common::Backend::Postgres).await;
            }
        }
    };
}

/// Runs `$body()` as one test, `postgres`, in a module named `$name`: for what only PostgreSQL
/// has (row locks between processes, terminated backends). Without `TEST_DATABASE_URL` it says
/// so and passes.
macro_rules! on_postgres {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::common::postgres_url().is_none() {
                    eprintln!("TEST_DATABASE_URL is not set: PostgreSQL variant skipped");
                    return;
                }
                super::$body().await;
            }
        }
    };
}

pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.trim().is_empty())
}

/// A database that exists for one test: a temporary SQLite file or a PostgreSQL schema.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    schema: Option<(String, String)>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/tariff.db?mode=rwc", dir.path().display());
                TestDb { url, _dir: Some(dir), schema: None }
            }
            Backend::Postgres => {
                let base = postgres_url().expect("TEST_DATABASE_URL");
                let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
                let admin = raw_pool(&base).await;
                sqlx::query(&format!("create schema {schema}")).execute(&admin).await.expect("create schema");
                admin.close().await;
                let separator = if base.contains('?') { '&' } else { '?' };
                // The application name lets a test find this schema's server connections.
                let url = format!("{base}{separator}options=-c%20search_path%3D{schema}&application_name={schema}");
                TestDb { url, _dir: None, schema: Some((base, schema)) }
            }
        }
    }

    /// The PostgreSQL schema of this test (also its connections' `application_name`).
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_ref().map(|(_, schema)| schema.as_str())
    }

    /// Drops the PostgreSQL schema (SQLite files go with the temp dir).
    pub async fn cleanup(self) {
        if let Some((base, schema)) = &self.schema {
            let admin = raw_pool(base).await;
            let _ = sqlx::query(&format!("drop schema {schema} cascade")).execute(&admin).await;
            admin.close().await;
        }
    }

    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url, 4).await.expect("connect");
        store.migrate().await.expect("migrate");
        store
    }

    /// A pool of the test's own for assertions that read the database directly (the store's
    /// pool is private to it).
    pub async fn reader(&self) -> sqlx::AnyPool {
        raw_pool(&self.url).await
    }
}

/// A plain sqlx pool on `url`.
pub async fn raw_pool(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new().max_connections(2).connect(url).await.expect("connect")
}

/// Configuration for a test server on `db`, with extra variables on top.
pub fn config(db: &TestDb, extra: &[(&str, &str)]) -> Config {
    let mut vars: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), db.url.clone()),
        ("DATABASE_MAX_CONNECTIONS".into(), "8".into()),
        ("LEPTOS_SITE_ADDR".into(), "127.0.0.1:0".into()),
        ("LEPTOS_SITE_ROOT".into(), std::env::temp_dir().join("tariff-test-site").display().to_string()),
        ("ADMIN_EMAIL".into(), ADMIN_EMAIL.into()),
        ("ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
        // The sandbox's credentials, so tests can talk to it with the YooKassa client.
        ("YOOKASSA_SECRET_KEY".into(), SANDBOX_SECRET.into()),
        // Tests make thousands of requests with one token; the rate limiter's own tests turn it on.
        ("RATE_LIMIT_ENABLED".into(), "off".into()),
    ];
    for (k, v) in extra {
        vars.retain(|(key, _)| key != k);
        vars.push((k.to_string(), v.to_string()));
    }
    Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())).expect("test config")
}

/// The real application on a random port.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub clock: Arc<OffsetClock>,
    pub db: TestDb,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request")
    }

    pub async fn stop(self) {
        self.state.billing.store.close().await;
        self.db.cleanup().await;
    }

    /// The billing core of the server under test.
    pub fn billing(&self) -> &tariff_core::Billing {
        &self.state.billing
    }

    /// A pool of the test's own, to read the database directly in assertions.
    pub async fn reader(&self) -> sqlx::AnyPool {
        self.db.reader().await
    }

    /// The one number `sql` selects (a `count(*)`, say), with `binds` bound in order.
    pub async fn scalar(&self, sql: &str, binds: &[&str]) -> i64 {
        let mut query = sqlx::query_scalar(sql);
        for bind in binds {
            query = query.bind(*bind);
        }
        query.fetch_one(&self.reader().await).await.unwrap()
    }

    /// The YooKassa client, talking to the server's sandbox over HTTP (needs the default
    /// `YOOKASSA_SECRET_KEY` or `secret`).
    pub fn yookassa_with(&self, secret: &str) -> tariff_yookassa::Client {
        let base = format!("{}/sandbox/yookassa/v3", self.base);
        let config = tariff_yookassa::ClientConfig::new(&base, "sandbox-shop", secret.to_owned().into());
        tariff_yookassa::Client::new(config).expect("client")
    }

    /// [`TestApp::yookassa_with`] the default secret.
    pub fn yookassa(&self) -> tariff_yookassa::Client {
        self.yookassa_with(SANDBOX_SECRET)
    }

    /// The store of the server under test.
    pub fn store(&self) -> &Store {
        &self.state.billing.store
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

pub async fn spawn_app_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    // Logs of the server under test, filtered by RUST_LOG (off unless set).
    if std::env::var("RUST_LOG").is_ok() {
        tariff::server::telemetry::init(tariff::server::config::LogFormat::Pretty);
    }
    let db = TestDb::new(backend).await;
    let clock = Arc::new(OffsetClock::default());
    let application = Application::build(config(&db, extra), clock.clone()).await.expect("build app");
    let base = format!("http://{}", application.address());
    let state = application.state().clone();
    // The tests drive the background jobs themselves, with the test clock.
    tokio::spawn(async move {
        application.run_without_jobs_until(std::future::pending()).await.expect("server");
    });
    // A request that hangs fails the test after 30 s instead of stalling the whole run.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("client");
    TestApp { base, client, state, clock, db }
}

/// A signed-up user with an API token of the given scope.
pub struct TestUser {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub token: String,
}

impl TestApp {
    /// Signs up a user (on the free plan, like every new account) and gives them a token.
    pub async fn user(&self, email: &str, admin: bool, scope: tariff_model::Scope) -> TestUser {
        use tariff_core::{accounts, tokens};
        let new_user = accounts::NewUser {
            email: email.into(),
            password: "a long enough password".into(),
            name: email.split('@').next().unwrap_or("user").into(),
            admin,
        };
        let id = accounts::create_user(self.store(), self.state.now(), new_user).await.expect("create user");
        let created =
            tokens::create(self.store(), self.state.billing.clock.as_ref(), email, "test", scope).await.expect("token");
        let user = accounts::user_ref(self.store(), &id).await.expect("user");
        TestUser { id, account_id: user.account_id, email: email.into(), token: created.token }
    }

    /// An admin user with an admin-scope token.
    pub async fn admin(&self) -> TestUser {
        self.user(&format!("boss-{}@example.com", uuid::Uuid::new_v4().simple()), true, tariff_model::Scope::Admin)
            .await
    }

    /// A regular user with a user-scope token.
    pub async fn customer(&self, name: &str) -> TestUser {
        self.user(&format!("{name}-{}@example.com", uuid::Uuid::new_v4().simple()), false, tariff_model::Scope::User)
            .await
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, json)
    }

    pub async fn get_json(&self, path: &str, token: &str) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::GET, path, Some(token), None).await
    }

    pub async fn post_json(&self, path: &str, token: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::POST, path, Some(token), Some(body)).await
    }
}
