//! The holes of the review (issue 11), each through the front door: no way out of quotas, each
//! renewal charged once, the price of the moment of choice, refunds that never stick, throttled
//! sign-in and sign-up, production without test money, redirects that stay on the site, and the
//! smaller items.

use crate::common::{Backend, TestApp, spawn_app, spawn_app_with};
use crate::portal::{Browser, PASSWORD, email};
use reqwest::Method;
use serde_json::{Value, json};

const DAY: i64 = 86_400;

async fn subscription(app: &TestApp, token: &str) -> (u16, Value) {
    app.get_json("/api/v1/billing/subscription", token).await
}

async fn the_free_plan_is_a_floor_nobody_falls_through(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let user = app.customer("free").await;
    // The repro: cancel Free at once, then a billion tokens. Free cannot be canceled.
    for immediate in [true, false] {
        let (status, body) =
            app.post_json("/api/v1/billing/subscription/cancel", &user.token, json!({"immediate": immediate})).await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["code"], "conflict");
    }
    let (status, body) = app
        .post_json("/api/v1/billing/usage", &user.token, json!({"metric": "tokens_input", "amount": 1_000_000_000}))
        .await;
    assert_eq!(status, 429, "the free quota still applies: {body}");

    // An operator deactivates free: it leaves the catalogue but stays every account's floor.
    let (status, _) =
        app.call(Method::PATCH, "/api/v1/admin/billing/plans/free/toggle", Some(&admin.token), None).await;
    assert_eq!(status, 200);
    let newcomer = app.customer("late").await;
    let (status, sub) = subscription(&app, &newcomer.token).await;
    assert_eq!((status, sub["plan_id"].as_str()), (200, Some("free")), "{sub}");
    let (status, _) = app
        .post_json("/api/v1/billing/usage", &newcomer.token, json!({"metric": "tokens_input", "amount": 1_000_000_000}))
        .await;
    assert_eq!(status, 429);
    // A paid plan that ends falls back to the (inactive) free plan, not to nothing.
    app.post_json(
        "/api/v1/admin/billing/subscriptions",
        &admin.token,
        json!({"user_id": newcomer.id, "plan_id": "pro"}),
    )
    .await;
    let (status, _) =
        app.post_json("/api/v1/billing/subscription/cancel", &newcomer.token, json!({"immediate": true})).await;
    assert_eq!(status, 200);
    let (_, sub) = subscription(&app, &newcomer.token).await;
    assert_eq!(sub["plan_id"], "free");
    assert_eq!(sub["plan"]["quotas"]["tokens_input"], 100_000);
    // A legacy free subscription marked to cancel renews instead of lapsing.
    let reader = app.reader().await;
    sqlx::query("update billing_subscription set cancel_at_period_end = $1 where account_id = $2")
        .bind(true)
        .bind(&user.account_id)
        .execute(&reader)
        .await
        .unwrap();
    app.clock.advance(40 * DAY);
    tariff_core::subscriptions::rollover_due(app.store(), app.state.now()).await.unwrap();
    let (status, sub) = subscription(&app, &user.token).await;
    assert_eq!((status, sub["plan_id"].as_str()), (200, Some("free")), "{sub}");
    assert_eq!(sub["cancel_at_period_end"], false);
    // Nor can the floor be deleted, even once nobody is on it.
    sqlx::query("delete from billing_subscription where plan_id = 'free'").execute(&reader).await.unwrap();
    let (status, body) = app.call(Method::DELETE, "/api/v1/admin/billing/plans/free", Some(&admin.token), None).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("cannot be deleted"), "{body}");
    app.stop().await;
}
on_both_databases!(free_is_a_floor, the_free_plan_is_a_floor_nobody_falls_through);

/// Makes the sandbox answer the next `count` API requests with 500 (after doing their work).
pub(crate) async fn fail_next_requests(app: &TestApp, count: u32) {
    let queued = app
        .client
        .post(app.url("/sandbox/yookassa/control/faults"))
        .basic_auth("sandbox-shop", Some(crate::common::SANDBOX_SECRET))
        .json(&json!({"kind": "error_500", "count": count}))
        .send()
        .await
        .unwrap();
    assert_eq!(queued.status(), 200);
}

/// Refunds `amount` (major units) of `transaction` as the admin.
async fn refund(app: &TestApp, admin_token: &str, transaction: &str, amount: i64) -> (u16, Value) {
    app.post_json(
        &format!("/api/v1/admin/billing/transactions/{transaction}/refund"),
        admin_token,
        json!({"amount": amount}),
    )
    .await
}

/// Checkout of `plan_id` for `user`, paid with the success card; returns the transaction id.
async fn buy(app: &TestApp, token: &str, plan_id: &str) -> String {
    let (status, started) = app
        .post_json(
            "/api/v1/billing/payment",
            token,
            json!({"plan_id": plan_id, "return_url": "https://shop.example/back"}),
        )
        .await;
    assert_eq!(status, 200, "{started}");
    crate::portal::pay_in_sandbox(app, started["confirmation_url"].as_str().unwrap()).await;
    let id = started["transaction_id"].as_str().unwrap().to_owned();
    for _ in 0..100 {
        let (_, t) = app.get_json(&format!("/api/v1/billing/transactions/{id}"), token).await;
        if t["status"] != "pending" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    id
}

async fn a_renewal_is_charged_once_however_many_processes_run_the_job(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.customer("renew").await;
    buy(&app, &user.token, "pro").await;
    let (_, sub) = subscription(&app, &user.token).await;
    let end = sub["current_period_end"].as_i64().unwrap();
    app.clock.advance(end - app.state.now() + 60);
    // A second process on the same database, with its own pool.
    let second = tariff_core::Billing { store: app.db.store().await, ..app.billing().clone() };
    let (a, b) = tokio::join!(
        tariff_core::payments::charge_due_renewals(app.billing()),
        tariff_core::payments::charge_due_renewals(&second)
    );
    a.unwrap();
    b.unwrap();
    let reader = app.reader().await;
    let renewals: i64 =
        sqlx::query_scalar("select count(*) from billing_transaction where account_id = $1 and kind = 'renewal'")
            .bind(&user.account_id)
            .fetch_one(&reader)
            .await
            .unwrap();
    assert_eq!(renewals, 1, "one charge for the period");
    let (_, renewed) = subscription(&app, &user.token).await;
    assert_eq!(renewed["current_period_start"], end, "one period added");
    let next = renewed["current_period_end"].as_i64().unwrap();
    assert!((28 * DAY..=31 * DAY).contains(&(next - end)));
    // Running the job again (either process) charges nothing more.
    tariff_core::payments::charge_due_renewals(&second).await.unwrap();
    let again: i64 =
        sqlx::query_scalar("select count(*) from billing_transaction where account_id = $1 and kind = 'renewal'")
            .bind(&user.account_id)
            .fetch_one(&reader)
            .await
            .unwrap();
    assert_eq!(again, 1);
    // The jobs' lease: one holder at a time, until it expires.
    let now = app.state.now();
    assert!(tariff_core::leases::acquire(app.store(), "test-lease", "a", now, 300).await.unwrap());
    assert!(!tariff_core::leases::acquire(&second.store, "test-lease", "b", now, 300).await.unwrap());
    assert!(tariff_core::leases::acquire(app.store(), "test-lease", "a", now + 10, 300).await.unwrap(), "renewed");
    assert!(tariff_core::leases::acquire(&second.store, "test-lease", "b", now + 311, 300).await.unwrap(), "expired");
    second.store.close().await;
    app.stop().await;
}
on_both_databases!(renewals_once, a_renewal_is_charged_once_however_many_processes_run_the_job);

async fn a_payment_buys_what_the_plan_was_when_chosen(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let user = app.customer("early").await;
    let (status, started) = app
        .post_json(
            "/api/v1/billing/payment",
            &user.token,
            json!({"plan_id": "pro", "return_url": "https://shop.example/back"}),
        )
        .await;
    assert_eq!(status, 200);
    // The repro: Pro becomes 9,900 ₽ a year while the payer is on the payment page.
    let change = json!({"price": 9900, "interval": "year", "confirm_price_change": true});
    let (status, _) = app.call(Method::PUT, "/api/v1/admin/billing/plans/pro", Some(&admin.token), Some(change)).await;
    assert_eq!(status, 200);
    crate::portal::pay_in_sandbox(&app, started["confirmation_url"].as_str().unwrap()).await;
    let id = started["transaction_id"].as_str().unwrap();
    for _ in 0..100 {
        let (_, t) = app.get_json(&format!("/api/v1/billing/transactions/{id}"), &user.token).await;
        if t["status"] != "pending" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (_, sub) = subscription(&app, &user.token).await;
    let length = sub["current_period_end"].as_i64().unwrap() - sub["current_period_start"].as_i64().unwrap();
    assert!((28 * DAY..=31 * DAY).contains(&length), "990 ₽ bought one month, not a year: {length}");

    // A payment of another amount than its transaction asked for buys nothing and is given back.
    let other = app.customer("tampered").await;
    let (_, started) = app
        .post_json(
            "/api/v1/billing/payment",
            &other.token,
            json!({"plan_id": "starter", "return_url": "https://shop.example/back"}),
        )
        .await;
    let id = started["transaction_id"].as_str().unwrap().to_owned();
    sqlx::query("update billing_transaction set amount = 1000 where id = $1")
        .bind(&id)
        .execute(&app.reader().await)
        .await
        .unwrap();
    crate::portal::pay_in_sandbox(&app, started["confirmation_url"].as_str().unwrap()).await;
    let mut transaction = Value::Null;
    for _ in 0..100 {
        let (_, t) = app.get_json(&format!("/api/v1/billing/transactions/{id}"), &other.token).await;
        transaction = t;
        if transaction["status"] != "pending" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(transaction["status"], "failed", "{transaction}");
    assert_eq!(transaction["cancellation_reason"], "amount_mismatch");
    let (_, sub) = subscription(&app, &other.token).await;
    assert_eq!(sub["plan_id"], "free", "nothing was sold");
    let refund: Value = app
        .yookassa()
        .get_payment(transaction["yookassa_payment_id"].as_str().unwrap())
        .await
        .map(|p| serde_json::to_value(p).unwrap())
        .unwrap();
    assert_eq!(refund["refunded_amount"]["value"], "490.00", "the whole payment went back: {refund}");
    app.stop().await;
}
on_both_databases!(price_of_the_moment, a_payment_buys_what_the_plan_was_when_chosen);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_that_never_reached_yookassa_expires() {
    let app = spawn_app(Backend::Sqlite).await;
    let user = app.customer("silent").await;
    // Every attempt of the create call fails: the transaction keeps its key, no payment id.
    fail_next_requests(&app, 4).await;
    let (status, _) = app
        .post_json(
            "/api/v1/billing/payment",
            &user.token,
            json!({"plan_id": "pro", "return_url": "https://shop.example/back"}),
        )
        .await;
    assert_eq!(status, 503);
    assert_eq!(tariff_core::payments::expire_unsent(app.billing()).await.unwrap(), 0, "not yet");
    app.clock.advance(tariff_core::payments::EXPIRE_UNSENT_AFTER + 1);
    assert_eq!(tariff_core::payments::expire_unsent(app.billing()).await.unwrap(), 1);
    let (_, history) = app.get_json("/api/v1/billing/transactions", &user.token).await;
    assert_eq!(history["items"][0]["status"], "canceled");
    assert_eq!(history["items"][0]["cancellation_reason"], "expired");
    app.stop().await;
}

async fn a_refund_without_an_answer_is_reconciled(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let user = app.customer("refundee").await;
    let transaction = buy(&app, &user.token, "pro").await;
    // YooKassa does the refund but every answer is lost, and so is its notification (which
    // would otherwise settle the refund, and whose check would use up the injected faults).
    app.state.sandbox.as_ref().unwrap().set_webhook_url("http://127.0.0.1:9/unreachable");
    fail_next_requests(&app, 4).await;
    let (status, body) = refund(&app, &admin.token, &transaction, 100).await;
    assert_eq!(status, 503, "{body}");
    let (_, history) = app.get_json("/api/v1/billing/transactions", &user.token).await;
    let refund = history["items"].as_array().unwrap().iter().find(|t| t["kind"] == "refund").unwrap().clone();
    assert_eq!(refund["status"], "pending");
    // The reconciler sends it again with its key: YooKassa answers the refund it made, once.
    app.clock.advance(tariff_core::payments::RECONCILE_REFUNDS_AFTER + 1);
    assert_eq!(tariff_core::payments::reconcile_refunds(app.billing()).await.unwrap(), 1);
    let (_, after) =
        app.get_json(&format!("/api/v1/billing/transactions/{}", refund["id"].as_str().unwrap()), &user.token).await;
    assert_eq!(after["status"], "succeeded", "{after}");
    let (_, paid) = app.get_json(&format!("/api/v1/billing/transactions/{transaction}"), &user.token).await;
    assert_eq!(paid["refunded_minor"], 10_000);
    let payment = app.yookassa().get_payment(paid["yookassa_payment_id"].as_str().unwrap()).await.unwrap();
    assert_eq!(payment.refunded_amount.unwrap().value, "100.00", "refunded once at YooKassa");
    app.stop().await;
}
on_both_databases!(refunds_reconciled, a_refund_without_an_answer_is_reconciled);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_guesses_cannot_pass_the_throttle_and_sign_ups_are_limited_per_address() {
    let app = spawn_app(Backend::Sqlite).await;
    let address = email("target");
    Browser::new(&app).sign_up(&address).await;
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..20 {
        let browser = Browser::new(&app);
        let address = address.clone();
        guesses.spawn(async move {
            browser.call("login", &[("email", &address), ("password", &format!("guess {i}"))]).await.0
        });
    }
    let statuses = guesses.join_all().await;
    let refused_after_check = statuses.iter().filter(|s| **s == 401).count();
    assert!(refused_after_check <= 5, "at most 5 guesses reach the password check: {statuses:?}");
    assert!(statuses.iter().all(|s| *s == 401 || *s == 429), "{statuses:?}");
    let (status, _, _) = Browser::new(&app).call("login", &[("email", &address), ("password", PASSWORD)]).await;
    assert_eq!(status, 429, "the email is locked, even with the right password");

    // Sign-ups from one address: a burst, then 429.
    let mut statuses = Vec::new();
    for _ in 0..22 {
        let (status, _, _) = Browser::new(&app)
            .call("signup", &[("name", "n"), ("email", &email("flood")), ("password", PASSWORD), ("next", "")])
            .await;
        statuses.push(status);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_input_is_refused_and_changes_nothing() {
    let app = spawn_app(Backend::Sqlite).await;
    let user = app.customer("big").await;
    let metadata = json!({"blob": "x".repeat(5_000)});
    let (status, body) = app
        .post_json(
            "/api/v1/billing/usage",
            &user.token,
            json!({"metric": "requests", "amount": 1, "metadata": metadata}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "metadata");
    let (status, body) = app
        .post_json(
            "/api/v1/billing/usage",
            &user.token,
            json!({"metric": "requests", "amount": 9_000_000_000_000_000_000i64}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (_, usage) = app.get_json("/api/v1/billing/usage/requests", &user.token).await;
    assert_eq!(usage["current_usage"], 0);
    // Even without a quota a counter stops at its ceiling rather than overflowing.
    let admin = app.admin().await;
    let (status, body) = app
        .post_json(
            "/api/v1/admin/billing/subscriptions",
            &admin.token,
            json!({"user_id": user.id, "plan_id": "unlimited"}),
        )
        .await;
    assert!(status == 200 || status == 201, "{status} {body}");
    let track = |amount: i64| {
        app.post_json("/api/v1/billing/usage", &user.token, json!({"metric": "tokens_input", "amount": amount}))
    };
    assert_eq!(track(1).await.0, 201);
    let ceiling = tariff_core::usage::MAX_COUNTER;
    sqlx::query("update billing_usage_counter set used = $1 where account_id = $2 and metric = 'tokens_input'")
        .bind(ceiling - 10)
        .bind(&user.account_id)
        .execute(&app.reader().await)
        .await
        .unwrap();
    let (status, body) = track(11).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["quota_limit"], ceiling, "{body}");
    assert_eq!(track(10).await.0, 201);
    let (status, usage) = app.get_json("/api/v1/billing/usage/tokens_input", &user.token).await;
    assert_eq!((status, usage["current_usage"].as_i64()), (200, Some(ceiling)), "{usage}");
    let (status, _, _) = Browser::new(&app)
        .call(
            "signup",
            &[
                ("name", "n"),
                ("email", &format!("{}@example.com", "a".repeat(300))),
                ("password", PASSWORD),
                ("next", ""),
            ],
        )
        .await;
    assert_eq!(status, 422);
    // Exact decimals: an exponent is refused, not rounded through a float.
    let (status, body) =
        app.post_json("/api/v1/admin/billing/plans", &admin.token, json!({"name": "Float", "price": 1e3})).await;
    assert_eq!(status, 201, "1e3 written by serde_json is 1000.0: {body}");
    let raw = r#"{"name": "Exp", "price": 1e3}"#;
    let response = app
        .client
        .post(app.url("/api/v1/admin/billing/plans"))
        .bearer_auth(&admin.token)
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422, "a price written as 1e3 is refused");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_stay_on_the_site_and_pages_carry_security_headers() {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = Browser::new(&app);
    browser.sign_up(&email("nav")).await;
    let (status, _, headers) = browser.page("/login?next=/%09/evil.example").await;
    assert_eq!(status, 303);
    assert_eq!(headers["location"], "/billing", "a TAB cannot take the visitor off the site");
    let (status, _, headers) = browser.page("/login?next=/billing%0d%0aSet-Cookie:%20x=1").await;
    assert_eq!(status, 303, "a newline does not break the answer");
    assert_eq!(headers["location"], "/billing");
    let (_, html, headers) = browser.page("/billing").await;
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("'nonce-"), "{csp}");
    let nonce = csp.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap();
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the bundle's loader script carries this response's nonce");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "strict-origin-when-cross-origin");
    let api = app.client.get(app.url("/api/v1/billing/plans")).send().await.unwrap();
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
    assert_eq!(api.headers()["content-security-policy"], "frame-ancestors 'none'");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_tokens_secret_never_reaches_the_session_table() {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = Browser::new(&app);
    browser.sign_up(&email("sealed")).await;
    let (status, _, _) = browser.call("tokens/create", &[("name", "ci")]).await;
    assert_eq!(status, 200);
    let sessions: Vec<String> =
        sqlx::query_scalar("select data from app_session").fetch_all(&app.reader().await).await.unwrap();
    assert!(!sessions.iter().any(|d| d.contains("trf_")), "{sessions:?}");
    let (_, list, _) = browser.call("tokens/list", &[]).await;
    assert!(list["fresh"][1].as_str().unwrap().starts_with("trf_"), "the page still shows it once: {list}");
    let (_, again, _) = browser.call("tokens/list", &[]).await;
    assert!(again["fresh"].is_null());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_refusal_does_not_show_its_raw_text() {
    let app = spawn_app_with(Backend::Sqlite, &[]).await;
    let admin = app.admin().await;
    let user = app.customer("refusal").await;
    let transaction = buy(&app, &user.token, "pro").await;
    // YooKassa refuses a refund beyond what is left (the sandbox's own check): 502 without its text.
    sqlx::query("update billing_transaction set amount = 999999 where id = $1")
        .bind(&transaction)
        .execute(&app.reader().await)
        .await
        .unwrap();
    let (status, body) = refund(&app, &admin.token, &transaction, 5000).await;
    assert_eq!(status, 502, "{body}");
    assert!(!body["detail"].as_str().unwrap().contains("exceeds"), "{body}");
    app.stop().await;
}

/// A payment whose `test` flag is not the shop's mode moves nothing (issue 11.8): a live shop
/// never takes a sandbox payment as money.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_of_the_other_mode_is_ignored() {
    let app = spawn_app(Backend::Sqlite).await;
    let user = app.customer("mode").await;
    // The notification is lost, so only the poll below can settle the payment.
    app.state.sandbox.as_ref().unwrap().set_webhook_url("http://127.0.0.1:9/unreachable");
    let (status, started) = app
        .post_json(
            "/api/v1/billing/payment",
            &user.token,
            json!({"plan_id": "pro", "return_url": "https://shop.example/back"}),
        )
        .await;
    assert_eq!(status, 200, "{started}");
    crate::portal::pay_in_sandbox(&app, started["confirmation_url"].as_str().unwrap()).await;
    app.clock.advance(tariff_core::payments::POLL_PENDING_AFTER + 1);

    // The same server believing it is live: the sandbox's test payment is ignored.
    let mut live = app.billing().clone();
    live.settings = std::sync::Arc::new(tariff_core::Settings { test_payments: false, ..(*live.settings).clone() });
    tariff_core::payments::poll_pending(&live).await.unwrap();
    let id = started["transaction_id"].as_str().unwrap();
    let (_, t) = app.get_json(&format!("/api/v1/billing/transactions/{id}"), &user.token).await;
    assert_eq!(t["status"], "pending", "{t}");
    assert_eq!(subscription(&app, &user.token).await.1["plan_id"], "free");

    // In its real (test) mode the same payment pays for Pro (at the next poll).
    app.clock.advance(tariff_core::payments::POLL_PENDING_AFTER + 1);
    tariff_core::payments::poll_pending(app.billing()).await.unwrap();
    let (_, t) = app.get_json(&format!("/api/v1/billing/transactions/{id}"), &user.token).await;
    assert_eq!(t["status"], "succeeded", "{t}");
    assert_eq!(subscription(&app, &user.token).await.1["plan_id"], "pro");
    app.stop().await;
}
