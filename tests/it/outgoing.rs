//! Outgoing events and signed webhooks (issue 16) over real HTTP: a receiver started by the test
//! (a real axum server on a random port) gets every delivery, and each signature is verified with
//! the Standard Webhooks reference library (`standardwebhooks`), not with Tariff's own code.

use crate::common::{Backend, TestApp, TestUser, spawn_app_with};
use crate::payments::{checkout, final_transaction, pay};
use axum::http::HeaderMap;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Hit {
    headers: HeaderMap,
    body: String,
}

impl Hit {
    fn id(&self) -> &str {
        self.headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    fn event(&self) -> Value {
        serde_json::from_str(&self.body).expect("the body is JSON")
    }
}

/// A webhook receiver: answers 500 to its first `failures` requests, then 200 after `delay`.
struct Receiver {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Receiver {
    async fn start(failures: usize, delay: Duration) -> Receiver {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let failed = Arc::new(AtomicUsize::new(0));
        let recorded = hits.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let recorded = recorded.clone();
                let failed = failed.clone();
                async move {
                    recorded.lock().unwrap().push(Hit { headers, body });
                    if failed.fetch_add(1, Ordering::SeqCst) < failures {
                        return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    tokio::time::sleep(delay).await;
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, hits }
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// The events received of `event_type`, each verified with `secret`.
    fn events(&self, secret: &str, event_type: &str) -> Vec<Value> {
        let verifier = standardwebhooks::Webhook::new(secret).expect("a Standard Webhooks secret");
        self.hits()
            .iter()
            .filter(|h| h.event()["type"] == event_type)
            .map(|h| {
                verifier
                    .verify(h.body.as_bytes(), &h.headers)
                    .unwrap_or_else(|e| panic!("bad signature ({e:?}): {h:?}"));
                assert_eq!(h.id(), h.event()["id"], "webhook-id is the event id");
                h.event()
            })
            .collect()
    }

    /// Waits (up to 20 s) until `done` holds for what was received.
    async fn wait_for(&self, what: &str, done: impl Fn(&[Hit]) -> bool) {
        for _ in 0..200 {
            if done(&self.hits()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the receiver never got {what}: {:#?}", self.hits().iter().map(Hit::event).collect::<Vec<_>>());
    }
}

/// Registers an endpoint for `types`; answers `(id, secret)`.
async fn register(app: &TestApp, admin: &TestUser, url: &str, types: &[&str]) -> (String, String) {
    let (status, body) = app
        .post_json(
            "/api/v1/admin/webhooks",
            &admin.token,
            json!({"url": url, "event_types": types, "description": "test"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let secret = body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{body}");
    (body["id"].as_str().unwrap().to_owned(), secret)
}

async fn event_count(app: &TestApp, account_id: &str, event_type: &str) -> i64 {
    sqlx::query_scalar("select count(*) from billing_event where account_id = $1 and type = $2")
        .bind(account_id)
        .bind(event_type)
        .fetch_one(&app.reader().await)
        .await
        .unwrap()
}

async fn endpoint_crud_and_bad_input(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let admin = app.admin().await;
    let user = app.customer("not-admin").await;
    let (id, secret) = register(&app, &admin, "https://hooks.example.com/tariff", &["usage.threshold"]).await;

    let (status, listed) = app.get_json("/api/v1/admin/webhooks", &admin.token).await;
    assert_eq!(status, 200);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(listed[0].get("secret").is_none(), "the secret is shown only once: {listed}");
    assert_eq!(listed[0]["enabled"], true);

    for (body, field) in [
        (json!({"url": "ftp://example.com/x", "event_types": ["*"]}), "url"),
        (json!({"url": "not a url", "event_types": ["*"]}), "url"),
        (json!({"url": "https://example.com/x", "event_types": ["invoice.paid"]}), "event_types"),
        (json!({"url": "https://example.com/x", "event_types": []}), "event_types"),
        (json!({"event_types": ["*"]}), "url"),
    ] {
        let (status, problem) = app.post_json("/api/v1/admin/webhooks", &admin.token, body.clone()).await;
        assert_eq!(status, 422, "{body} → {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let (status, _) = app
        .post_json("/api/v1/admin/webhooks", &user.token, json!({"url": "https://a.example/x", "event_types": ["*"]}))
        .await;
    assert_eq!(status, 403);
    let (status, _) = app.call(Method::GET, "/api/v1/admin/webhooks", None, None).await;
    assert_eq!(status, 401);
    let (status, _) = app.get_json("/api/v1/admin/webhooks/we_nope", &admin.token).await;
    assert_eq!(status, 404);
    let (status, listed) = app.get_json("/api/v1/admin/webhooks", &admin.token).await;
    assert_eq!((status, listed.as_array().unwrap().len()), (200, 1), "bad input created nothing");

    let path = format!("/api/v1/admin/webhooks/{id}");
    let (status, changed) = app
        .call(
            Method::PATCH,
            &path,
            Some(&admin.token),
            Some(json!({"event_types": ["*", "usage.threshold"], "enabled": false})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["event_types"], json!(["*"]));
    assert_eq!(changed["enabled"], false);
    let (status, _) = app.call(Method::PATCH, &path, Some(&admin.token), Some(json!({"url": "gopher://x"}))).await;
    assert_eq!(status, 422);

    // A whole number written as `3600.0` is a whole number (JSON Schema's `integer`).
    let before = app.state.now();
    let (status, rotated) =
        app.post_json(&format!("{path}/rotate"), &admin.token, json!({"overlap_seconds": 3600.0})).await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    // The server's clock read falls between ours (a second may turn over during the request).
    let expires = rotated["previous_secret_expires_at"].as_i64().unwrap();
    assert!((before + 3600..=app.state.now() + 3600).contains(&expires), "{rotated}");
    for overlap in [json!(-1), json!(1.5), json!("60")] {
        let (status, _) =
            app.post_json(&format!("{path}/rotate"), &admin.token, json!({"overlap_seconds": overlap})).await;
        assert_eq!(status, 422, "overlap_seconds {overlap}");
    }

    let (status, audit) = app.get_json("/api/v1/admin/billing/audit?entity_type=webhook_endpoint", &admin.token).await;
    assert_eq!(status, 200, "{audit}");
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for action in ["webhook.create", "webhook.update", "webhook.rotate_secret"] {
        assert!(actions.contains(&action), "{action} audited: {actions:?}");
    }
    for limit in ["0", "201", "x", "null"] {
        let (status, _) = app.get_json(&format!("{path}/deliveries?limit={limit}"), &admin.token).await;
        assert_eq!(status, 422, "limit={limit}");
    }
    let (status, deliveries) = app.get_json(&format!("{path}/deliveries?limit=5"), &admin.token).await;
    assert_eq!((status, deliveries), (200, json!([])));
    let (status, _) = app.get_json(&format!("{path}/deliveries/nope"), &admin.token).await;
    assert_eq!(status, 404);
    let (status, _) = app.call(Method::DELETE, &path, Some(&admin.token), None).await;
    assert_eq!(status, 200);
    let (status, _) = app.get_json(&path, &admin.token).await;
    assert_eq!(status, 404);
    app.stop().await;
}
on_both_databases!(endpoints, endpoint_crud_and_bad_input);

async fn quota_thresholds_are_sent_once_signed_and_resolved_by_a_new_period(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let admin = app.admin().await;
    let receiver = Receiver::start(0, Duration::ZERO).await;
    let (_, secret) = register(&app, &admin, &receiver.url, &["usage.threshold", "usage.threshold.resolved"]).await;
    let worker = tariff::server::outbox::spawn(app.state.clone());
    let user = app.customer("heavy").await;
    let usage = |amount: i64| json!({"metric": "requests", "amount": amount});

    // The free plan allows 1,000 requests: 799, then 1 (80 %), then 150, then 50 (100 %).
    for amount in [799, 1, 150, 50] {
        let (status, body) = app.post_json("/api/v1/billing/usage", &user.token, usage(amount)).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, _) = app.post_json("/api/v1/billing/usage", &user.token, usage(1)).await;
    assert_eq!(status, 429, "the quota is used up");
    receiver.wait_for("two thresholds", |hits| hits.len() >= 2).await;
    let thresholds = receiver.events(&secret, "usage.threshold");
    assert_eq!(thresholds.len(), 2, "{thresholds:?}");
    assert_eq!(thresholds[0]["data"]["threshold"], 80);
    assert_eq!(thresholds[0]["data"]["used"], 800);
    assert_eq!(thresholds[1]["data"]["threshold"], 100);
    assert_eq!(thresholds[1]["data"]["limit"], 1000);
    assert_eq!(thresholds[0]["account_id"], user.account_id.as_str());
    assert_eq!(thresholds[0]["user_id"], user.id.as_str());
    assert_eq!(event_count(&app, &user.account_id, "usage.threshold").await, 2, "once per threshold and period");

    // A new period frees the quota: resolved, through the scheduler's rollover.
    let (_, subscription) = app.get_json("/api/v1/billing/subscription", &user.token).await;
    let end = subscription["current_period_end"].as_i64().unwrap();
    app.clock.advance(end - app.state.now() + 60);
    tariff::server::jobs::run_billing(app.billing()).await;
    receiver.wait_for("the resolution", |hits| hits.len() >= 3).await;
    let resolved = receiver.events(&secret, "usage.threshold.resolved");
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0]["data"]["metric"], "requests");
    assert_eq!(resolved[0]["data"]["reason"], "new_period");
    let (status, _) = app.post_json("/api/v1/billing/usage", &user.token, usage(1)).await;
    assert_eq!(status, 201, "usable again");
    worker.abort();
    app.stop().await;
}
on_both_databases!(thresholds, quota_thresholds_are_sent_once_signed_and_resolved_by_a_new_period);

async fn a_failing_receiver_gets_the_same_id_until_it_answers(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let admin = app.admin().await;
    let receiver = Receiver::start(3, Duration::ZERO).await;
    let (id, secret) = register(&app, &admin, &receiver.url, &["*"]).await;
    let worker = tariff::server::outbox::spawn(app.state.clone());
    let (status, queued) = app
        .post_json(&format!("/api/v1/admin/webhooks/{id}/test"), &admin.token, json!({"event_type": "payment.failed"}))
        .await;
    assert_eq!(status, 202, "{queued}");
    let delivery_path = format!("/api/v1/admin/webhooks/{id}/deliveries/{}", queued["id"].as_str().unwrap());

    // Three 500s, each retried after its back-off (moved past by the clock), then a 200.
    for attempt in 1..=4 {
        receiver.wait_for(&format!("attempt {attempt}"), |hits| hits.len() >= attempt).await;
        if attempt < 4 {
            // Let the worker record the failure, then move past the back-off (at most 2 min + 20 %).
            for _ in 0..100 {
                let (_, d) = app.get_json(&delivery_path, &admin.token).await;
                if d["attempts"] == attempt as i64 && d["last_status_code"] == 500 && d["status"] == "pending" {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            app.clock.advance(150);
            app.store().events_notify().notify_one();
        }
    }
    let hits = receiver.hits();
    assert_eq!(hits.len(), 4);
    assert!(hits.iter().all(|h| h.id() == hits[0].id()), "the same webhook-id on every attempt");
    assert_eq!(receiver.events(&secret, "payment.failed").len(), 4, "each attempt signed");
    for _ in 0..100 {
        let (_, d) = app.get_json(&delivery_path, &admin.token).await;
        if d["status"] == "delivered" {
            assert_eq!(d["attempts"], 4, "{d}");
            assert_eq!(d["last_status_code"], 200, "{d}");
            let (_, endpoint) = app.get_json(&format!("/api/v1/admin/webhooks/{id}"), &admin.token).await;
            assert_eq!(endpoint["failing_since"], Value::Null, "healthy again: {endpoint}");
            worker.abort();
            app.stop().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the delivery was never recorded as delivered");
}
on_both_databases!(retries, a_failing_receiver_gets_the_same_id_until_it_answers);

async fn a_declined_renewal_sends_payment_failed_and_past_due(backend: Backend) {
    use tariff_core::payments::charge_due_renewals;
    let app = spawn_app_with(backend, &[("YOOKASSA_SECRET_KEY", "test_events")]).await;
    let admin = app.admin().await;
    let receiver = Receiver::start(0, Duration::ZERO).await;
    let (_, secret) = register(&app, &admin, &receiver.url, &["*"]).await;
    let worker = tariff::server::outbox::spawn(app.state.clone());
    let user = app.customer("declined-renewal").await;
    let started = checkout(&app, &user, "pro").await;
    pay(&app, started["confirmation_url"].as_str().unwrap(), "5555555555554444").await;
    final_transaction(&app, &user, started["transaction_id"].as_str().unwrap()).await;
    receiver
        .wait_for("the checkout's events", |hits| hits.iter().any(|h| h.event()["type"] == "payment.succeeded"))
        .await;
    // Settle: a second event for the same payment would arrive right behind the first.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let paid = receiver.events(&secret, "payment.succeeded");
    assert_eq!(paid.len(), 1, "one event per payment: {paid:#?}");
    assert_eq!(event_count(&app, &user.account_id, "payment.succeeded").await, 1);
    assert_eq!(paid[0]["data"]["kind"], "subscription");
    assert_eq!(paid[0]["data"]["amount"], 99_000);

    let (_, sub) = app.get_json("/api/v1/billing/subscription", &user.token).await;
    let method: String = sqlx::query_scalar("select payment_method_id from billing_subscription where id = $1")
        .bind(sub["id"].as_str().unwrap())
        .fetch_one(&app.reader().await)
        .await
        .unwrap();
    let declined = app
        .client
        .post(app.url(&format!("/sandbox/yookassa/control/payment-methods/{method}/decline")))
        .basic_auth("sandbox-shop", Some("test_events"))
        .json(&json!({"reason": "insufficient_funds"}))
        .send()
        .await
        .unwrap();
    assert_eq!(declined.status(), 200);
    app.clock.advance(sub["current_period_end"].as_i64().unwrap() - app.state.now() + 60);
    assert_eq!(charge_due_renewals(app.billing()).await.unwrap(), 1);
    receiver
        .wait_for("payment.failed and subscription.past_due", |hits| {
            hits.iter().any(|h| h.event()["type"] == "subscription.past_due")
                && hits.iter().any(|h| h.event()["type"] == "payment.failed")
        })
        .await;
    let failed = receiver.events(&secret, "payment.failed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["data"]["kind"], "renewal");
    assert_eq!(failed[0]["data"]["cancellation_reason"], "insufficient_funds");
    let past_due = receiver.events(&secret, "subscription.past_due");
    assert_eq!(past_due.len(), 1);
    assert_eq!(past_due[0]["data"]["status"], "past_due");
    assert_eq!(past_due[0]["data"]["plan"]["id"], "pro");
    let created = receiver.events(&secret, "subscription.created");
    assert!(!created.is_empty(), "the checkout created a subscription");
    worker.abort();
    app.stop().await;
}
on_both_databases!(declined_renewal, a_declined_renewal_sends_payment_failed_and_past_due);

async fn rolled_back_changes_send_nothing_and_committed_ones_survive_a_stop(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let admin = app.admin().await;
    let receiver = Receiver::start(0, Duration::ZERO).await;
    let (_, secret) = register(&app, &admin, &receiver.url, &["*"]).await;
    let user = app.customer("rollback").await;

    // A plan that prices overage; the user has no balance, so passing the quota is a 402 whose
    // transaction (which had counted the 100 % crossing) rolls back.
    let changes = json!({"quotas": {"requests": 10}, "overage": {"requests": 100}});
    let (status, body) =
        app.call(Method::PUT, "/api/v1/admin/billing/plans/pro", Some(&admin.token), Some(changes)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post_json("/api/v1/admin/billing/subscriptions", &admin.token, json!({"user_id": user.id, "plan_id": "pro"}))
        .await;
    assert!(status == 200 || status == 201, "{body}");
    let (status, _) =
        app.post_json("/api/v1/billing/usage", &user.token, json!({"metric": "requests", "amount": 9})).await;
    assert_eq!(status, 201);
    let (status, problem) =
        app.post_json("/api/v1/billing/usage", &user.token, json!({"metric": "requests", "amount": 5})).await;
    assert_eq!(status, 402, "{problem}");
    let hundred: i64 = sqlx::query_scalar(
        "select count(*) from billing_event where account_id = $1 and type = 'usage.threshold' and payload like '%\"threshold\":100%'",
    )
    .bind(&user.account_id)
    .fetch_one(&app.reader().await)
    .await
    .unwrap();
    assert_eq!(hundred, 0, "the refused usage's event rolled back with it");
    assert_eq!(event_count(&app, &user.account_id, "usage.threshold").await, 1, "the 80 % crossing committed");

    // Nothing was delivered while no worker ran (as after a kill between commit and delivery);
    // a worker started later delivers every committed event.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.hits().is_empty());
    let worker = tariff::server::outbox::spawn(app.state.clone());
    receiver
        .wait_for("the events committed before the worker started", |hits| {
            hits.iter().any(|h| h.event()["type"] == "usage.threshold")
        })
        .await;
    assert_eq!(receiver.events(&secret, "usage.threshold").len(), 1);
    worker.abort();
    app.stop().await;
}
on_both_databases!(rollback, rolled_back_changes_send_nothing_and_committed_ones_survive_a_stop);

/// On PostgreSQL an event's id is taken before its transaction commits, so a later event of the
/// same account can commit first: its delivery waits until the earlier transaction has ended,
/// and the two arrive in the order of their transactions (here also the order they were made). (SQLite's one writer cannot interleave two
/// transactions, so there is no SQLite variant.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_event_committed_first_does_not_overtake_an_earlier_one() {
    if crate::common::postgres_url().is_none() {
        eprintln!("TEST_DATABASE_URL is not set: PostgreSQL test skipped");
        return;
    }
    use tariff_core::events::emit;
    use tariff_model::events::EventType;
    let app = spawn_app_with(Backend::Postgres, &[]).await;
    let admin = app.admin().await;
    let receiver = Receiver::start(0, Duration::ZERO).await;
    let (_, secret) = register(&app, &admin, &receiver.url, &["subscription.updated"]).await;
    let user = app.customer("order").await;
    let worker = tariff::server::outbox::spawn(app.state.clone());
    let ours = |hits: &[Hit]| hits.iter().filter(|h| h.event()["account_id"] == json!(user.account_id)).count();

    let now = app.state.now();
    let mut earlier = app.store().begin_write().await.unwrap();
    let first =
        emit(&mut earlier, EventType::SubscriptionUpdated, &user.account_id, Some(&user.id), json!({"step": 1}), now)
            .await
            .unwrap();
    let mut later = app.store().begin_write().await.unwrap();
    let second =
        emit(&mut later, EventType::SubscriptionUpdated, &user.account_id, Some(&user.id), json!({"step": 2}), now)
            .await
            .unwrap();
    assert!(first.id < second.id, "ids follow the order the events were made");
    later.commit().await.unwrap();
    // The worker was woken by that commit; the later event must wait for the earlier one.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        ours(&receiver.hits()),
        0,
        "the later event did not overtake the earlier one: {:?}",
        receiver.hits().iter().map(Hit::event).collect::<Vec<_>>()
    );
    earlier.commit().await.unwrap();
    receiver.wait_for("both events", |hits| ours(hits) == 2).await;
    let delivered: Vec<Value> = receiver
        .events(&secret, "subscription.updated")
        .into_iter()
        .filter(|e| e["account_id"] == json!(user.account_id))
        .map(|e| e["id"].clone())
        .collect();
    assert_eq!(delivered, vec![json!(first.id), json!(second.id)]);
    worker.abort();
    app.stop().await;
}

async fn two_workers_deliver_each_event_once_and_a_slow_receiver_holds_up_nobody(backend: Backend) {
    let app = spawn_app_with(backend, &[("WEBHOOK_TIMEOUT_SECONDS", "2")]).await;
    let admin = app.admin().await;
    let slow = Receiver::start(0, Duration::from_secs(30)).await;
    let fast = Receiver::start(0, Duration::ZERO).await;
    register(&app, &admin, &slow.url, &["usage.threshold"]).await;
    let (_, secret) = register(&app, &admin, &fast.url, &["usage.threshold"]).await;
    // Two workers on one database, as two replicas would run them.
    let workers = [tariff::server::outbox::spawn(app.state.clone()), tariff::server::outbox::spawn(app.state.clone())];
    let mut users = Vec::new();
    for i in 0..10 {
        users.push(app.customer(&format!("replica-{i}")).await);
    }
    let started = std::time::Instant::now();
    for user in &users {
        let (status, _) =
            app.post_json("/api/v1/billing/usage", &user.token, json!({"metric": "requests", "amount": 900})).await;
        assert_eq!(status, 201);
    }
    fast.wait_for("10 events", |hits| hits.len() >= 10).await;
    assert!(started.elapsed() < Duration::from_secs(15), "the slow receiver held up the fast one");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events = fast.events(&secret, "usage.threshold");
    let mut ids: Vec<String> = events.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((events.len(), ids.len()), (10, 10), "each event once, by one of the two workers");
    for worker in workers {
        worker.abort();
    }
    app.stop().await;
}
on_both_databases!(replicas, two_workers_deliver_each_event_once_and_a_slow_receiver_holds_up_nobody);

/// A real SMTP server (aiosmtpd from the tools' virtualenv) writing each message to a maildir.
struct SmtpServer {
    child: std::process::Child,
    dir: tempfile::TempDir,
    url: String,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpServer {
    /// Starts it; `None` (the test is skipped) when aiosmtpd is not installed, unless
    /// `TARIFF_REQUIRE_SMTP=1` (as `make test` sets) makes that a failure.
    async fn start() -> Option<SmtpServer> {
        let tools = std::env::var("TARIFF_TOOLS_DIR")
            .unwrap_or_else(|_| format!("{}/.local/share/tariff-tools", std::env::var("HOME").unwrap_or_default()));
        let python = format!("{tools}/venv/bin/python");
        let installed =
            std::process::Command::new(&python).args(["-c", "import aiosmtpd"]).status().is_ok_and(|s| s.success());
        if !installed {
            assert!(std::env::var("TARIFF_REQUIRE_SMTP").is_err(), "aiosmtpd is missing: run scripts/setup.sh --test");
            eprintln!("aiosmtpd is not installed ({python}): email test skipped");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("mail");
        let mut child = std::process::Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Some(SmtpServer { child, dir, url: format!("smtp://127.0.0.1:{port}") });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("aiosmtpd did not start on port {port}");
    }

    /// Every message received: `(to, subject, text body)`.
    fn messages(&self) -> Vec<(String, String, String)> {
        let new = self.dir.path().join("mail").join("new");
        let Ok(entries) = std::fs::read_dir(new) else { return Vec::new() };
        entries
            .filter_map(Result::ok)
            .map(|entry| {
                let raw = std::fs::read(entry.path()).unwrap();
                let mail = mailparse::parse_mail(&raw).unwrap();
                use mailparse::MailHeaderMap;
                let to = mail.headers.get_first_value("To").unwrap_or_default();
                let subject = mail.headers.get_first_value("Subject").unwrap_or_default();
                let text = mail
                    .subparts
                    .iter()
                    .find(|p| p.ctype.mimetype == "text/plain")
                    .map(|p| p.get_body().unwrap())
                    .unwrap_or_default();
                let html = mail.subparts.iter().any(|p| p.ctype.mimetype == "text/html");
                assert!(html, "a plain text and an HTML part");
                (to, subject, text)
            })
            .collect()
    }

    async fn wait_for(&self, count: usize) -> Vec<(String, String, String)> {
        for _ in 0..200 {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the SMTP server got {} of {count} messages", self.messages().len());
    }
}

async fn a_declined_renewal_emails_the_user_in_their_language(backend: Backend) {
    use tariff_core::payments::charge_due_renewals;
    let Some(smtp) = SmtpServer::start().await else { return };
    let app = spawn_app_with(backend, &[("YOOKASSA_SECRET_KEY", "test_mail"), ("SMTP_URL", &smtp.url)]).await;
    let mailer = tariff::server::mailer::spawn(app.state.clone()).unwrap().expect("SMTP_URL is set");
    let user = app.customer("mail-ru").await;
    tariff_core::accounts::set_locale(app.store(), app.state.now(), &user.id, tariff_model::Locale::Ru).await.unwrap();
    // Receipts off: only the declined payment is mailed.
    let off = tariff_model::events::EmailPreferences { off: vec![tariff_model::events::EmailKind::Receipts] };
    tariff_core::events::email::set_preferences(app.store(), &user.id, &off, app.state.now()).await.unwrap();
    let started = checkout(&app, &user, "pro").await;
    pay(&app, started["confirmation_url"].as_str().unwrap(), "5555555555554444").await;
    final_transaction(&app, &user, started["transaction_id"].as_str().unwrap()).await;
    let (_, sub) = app.get_json("/api/v1/billing/subscription", &user.token).await;
    let method: String = sqlx::query_scalar("select payment_method_id from billing_subscription where id = $1")
        .bind(sub["id"].as_str().unwrap())
        .fetch_one(&app.reader().await)
        .await
        .unwrap();
    let declined = app
        .client
        .post(app.url(&format!("/sandbox/yookassa/control/payment-methods/{method}/decline")))
        .basic_auth("sandbox-shop", Some("test_mail"))
        .json(&json!({"reason": "insufficient_funds"}))
        .send()
        .await
        .unwrap();
    assert_eq!(declined.status(), 200);
    app.clock.advance(sub["current_period_end"].as_i64().unwrap() - app.state.now() + 60);
    assert_eq!(charge_due_renewals(app.billing()).await.unwrap(), 1);

    let messages = smtp.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages = if smtp.messages().len() > messages.len() { smtp.messages() } else { messages };
    assert_eq!(messages.len(), 1, "one email (the receipt is turned off): {messages:?}");
    let (to, subject, text) = &messages[0];
    assert!(to.contains(&user.email), "{to}");
    assert!(subject.starts_with("Платёж отклонён"), "{subject}");
    assert!(text.contains("На карте недостаточно средств."), "{text}");
    assert!(text.contains("/billing"), "a link to pay: {text}");
    let statuses: Vec<(String, String)> = sqlx::query_as(
        "select type, email_status from billing_event where account_id = $1 and email_status is not null",
    )
    .bind(&user.account_id)
    .fetch_all(&app.reader().await)
    .await
    .unwrap();
    assert!(statuses.contains(&("payment.failed".into(), "sent".into())), "{statuses:?}");
    assert!(statuses.contains(&("payment.succeeded".into(), "skipped".into())), "{statuses:?}");
    mailer.abort();
    app.stop().await;
}
on_both_databases!(emails, a_declined_renewal_emails_the_user_in_their_language);

async fn an_endpoint_failing_for_days_is_disabled_and_says_why(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let admin = app.admin().await;
    let receiver = Receiver::start(usize::MAX, Duration::ZERO).await;
    let (id, _) = register(&app, &admin, &receiver.url, &["*"]).await;
    let worker = tariff::server::outbox::spawn(app.state.clone());
    let (status, queued) = app.post_json(&format!("/api/v1/admin/webhooks/{id}/test"), &admin.token, json!({})).await;
    assert_eq!(status, 202, "{queued}");
    let delivery_path = format!("/api/v1/admin/webhooks/{id}/deliveries/{}", queued["id"].as_str().unwrap());
    let endpoint_path = format!("/api/v1/admin/webhooks/{id}");
    let recorded = |attempts: i64| {
        let app = &app;
        let (admin, delivery_path) = (&admin, &delivery_path);
        async move {
            for _ in 0..200 {
                let (_, d) = app.get_json(delivery_path, &admin.token).await;
                if d["attempts"] == attempts && d["last_status_code"] == 500 {
                    return d;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("attempt {attempts} was never recorded");
        }
    };
    recorded(1).await;
    let (_, failing) = app.get_json(&endpoint_path, &admin.token).await;
    assert!(failing["failing_since"].as_i64().is_some(), "{failing}");
    assert_eq!(failing["enabled"], true);

    // Five days of failures later the next failed attempt disables it (and gives the delivery up:
    // it was retried for more than a day).
    app.clock.advance(5 * 86_400 + 60);
    app.store().events_notify().notify_one();
    receiver.wait_for("the attempt after five days", |hits| hits.len() >= 2).await;
    for _ in 0..200 {
        let (_, endpoint) = app.get_json(&endpoint_path, &admin.token).await;
        if endpoint["enabled"] == false {
            assert!(endpoint["disabled_reason"].as_str().unwrap().contains("HTTP 500"), "{endpoint}");
            let (_, d) = app.get_json(&delivery_path, &admin.token).await;
            assert_eq!(d["status"], "failed", "{d}");
            // Disabled: nothing more is sent, and it takes no new events.
            let before = receiver.hits().len();
            let (status, _) = app
                .post_json(
                    &format!("{endpoint_path}/deliveries/{}/redeliver", d["id"].as_str().unwrap()),
                    &admin.token,
                    json!({}),
                )
                .await;
            assert_eq!(status, 202);
            app.store().events_notify().notify_one();
            tokio::time::sleep(Duration::from_millis(1_500)).await;
            assert_eq!(receiver.hits().len(), before, "a disabled endpoint gets nothing");
            // Enabled again: the failure streak is cleared and the redelivery goes out.
            let (status, enabled) =
                app.call(Method::PATCH, &endpoint_path, Some(&admin.token), Some(json!({"enabled": true}))).await;
            assert_eq!(status, 200, "{enabled}");
            assert_eq!(
                (enabled["disabled_reason"].clone(), enabled["failing_since"].clone()),
                (Value::Null, Value::Null)
            );
            app.store().events_notify().notify_one();
            receiver.wait_for("the redelivery", |hits| hits.len() > before).await;
            worker.abort();
            app.stop().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the endpoint was never disabled");
}
on_both_databases!(disabling, an_endpoint_failing_for_days_is_disabled_and_says_why);
