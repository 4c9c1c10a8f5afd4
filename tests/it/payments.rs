//! Checkout and notifications over real HTTP against the built-in sandbox: a paid plan becomes an
//! active subscription for one period; declines, redeliveries, out-of-order and forged
//! notifications and foreign addresses change nothing they should not.

use crate::common::{Backend, TestApp, TestUser, spawn_app_with};
use serde_json::{Value, json};
use std::time::Duration;

pub(crate) const RETURN_URL: &str = "https://app.example/billing/return";

pub(crate) async fn checkout(app: &TestApp, user: &TestUser, plan: &str) -> Value {
    let (status, body) =
        app.post_json("/api/v1/billing/payment", &user.token, json!({"plan_id": plan, "return_url": RETURN_URL})).await;
    assert_eq!(status, 200, "{body}");
    body
}

pub(crate) async fn pay(app: &TestApp, confirmation_url: &str, card: &str) {
    let response = app
        .client
        .post(confirmation_url)
        .form(&[("card_number", card), ("expiry", "12/30"), ("csc", "123")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], RETURN_URL);
}

/// Follows the transaction as the return page does, until it is final.
pub(crate) async fn final_transaction(app: &TestApp, user: &TestUser, id: &str) -> Value {
    for _ in 0..100 {
        let (status, t) = app.get_json(&format!("/api/v1/billing/transactions/{id}"), &user.token).await;
        assert_eq!(status, 200);
        if t["status"] != "pending" {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("transaction {id} stayed pending");
}

pub(crate) async fn notify(app: &TestApp, body: &Value) -> u16 {
    app.client.post(app.url("/api/v1/billing/webhook/yookassa")).json(body).send().await.unwrap().status().as_u16()
}

async fn a_paid_plan_becomes_one_active_period_and_redeliveries_change_nothing(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let user = app.customer("payer").await;
    let started = checkout(&app, &user, "pro").await;
    assert_eq!(started["status"], "pending");
    let transaction_id = started["transaction_id"].as_str().unwrap().to_owned();
    let (_, pending) = app.get_json(&format!("/api/v1/billing/transactions/{transaction_id}"), &user.token).await;
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["amount"], 99_000);
    assert_eq!(pending["yookassa_payment_id"], started["payment_id"]);

    pay(&app, started["confirmation_url"].as_str().unwrap(), "5555 5555 5555 4444").await;
    let paid = final_transaction(&app, &user, &transaction_id).await;
    assert_eq!(paid["status"], "succeeded");
    let (_, sub) = app.get_json("/api/v1/billing/subscription", &user.token).await;
    assert_eq!(sub["plan_id"], "pro");
    assert_eq!(sub["status"], "active");
    let end = sub["current_period_end"].as_i64().unwrap();
    let length = end - sub["current_period_start"].as_i64().unwrap();
    assert!((28 * 86_400..=31 * 86_400).contains(&length), "one month: {length}");
    let saved: Option<String> = sqlx::query_scalar("select payment_method_id from billing_subscription where id = $1")
        .bind(sub["id"].as_str().unwrap())
        .fetch_one(&app.reader().await)
        .await
        .unwrap();
    assert!(saved.is_some(), "the card is saved for renewals");

    // The same notification 100 more times: the period is extended once.
    let payment = app.yookassa().get_payment(started["payment_id"].as_str().unwrap()).await.unwrap();
    let note = json!({"type": "notification", "event": "payment.succeeded", "object": payment});
    for _ in 0..100 {
        assert_eq!(notify(&app, &note).await, 200);
    }
    let (_, after) = app.get_json("/api/v1/billing/subscription", &user.token).await;
    assert_eq!(after["current_period_end"], end);
    // A late payment.canceled for the same payment: YooKassa says succeeded, nothing moves back.
    let canceled = json!({"type": "notification", "event": "payment.canceled",
        "object": {"id": payment.id, "status": "canceled", "cancellation_details": {"party": "merchant", "reason": "canceled_by_merchant"}}});
    assert_eq!(notify(&app, &canceled).await, 200);
    let (_, still) = app.get_json(&format!("/api/v1/billing/transactions/{transaction_id}"), &user.token).await;
    assert_eq!(still["status"], "succeeded");
    let deliveries: i64 = sqlx::query_scalar(
        "select deliveries from billing_webhook_event where object_id = $1 and event = 'payment.succeeded'",
    )
    .bind(&payment.id)
    .fetch_one(&app.reader().await)
    .await
    .unwrap();
    assert!(deliveries >= 100, "every delivery is counted in the inbox: {deliveries}");
    app.stop().await;
}
on_both_databases!(paid_checkout, a_paid_plan_becomes_one_active_period_and_redeliveries_change_nothing);

async fn a_declined_card_cancels_the_transaction_with_its_reason(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let user = app.customer("declined").await;
    let started = checkout(&app, &user, "pro").await;
    pay(&app, started["confirmation_url"].as_str().unwrap(), "5555555555554600").await;
    let t = final_transaction(&app, &user, started["transaction_id"].as_str().unwrap()).await;
    assert_eq!(t["status"], "canceled");
    assert_eq!(t["cancellation_reason"], "insufficient_funds");
    let (_, sub) = app.get_json("/api/v1/billing/subscription", &user.token).await;
    assert_eq!(sub["plan_id"], "free", "no subscription change");
    app.stop().await;
}
on_both_databases!(declined_checkout, a_declined_card_cancels_the_transaction_with_its_reason);

#[tokio::test]
async fn forged_and_foreign_notifications_change_nothing() {
    let app = spawn_app_with(Backend::Sqlite, &[("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let user = app.customer("victim").await;
    let started = checkout(&app, &user, "pro").await;
    let payment_id = started["payment_id"].as_str().unwrap();
    let forged = json!({"type": "notification", "event": "payment.succeeded",
        "object": {"id": payment_id, "status": "succeeded", "paid": true, "amount": {"value": "990.00", "currency": "RUB"}}});

    // From outside YooKassa's ranges (via the trusted proxy): refused, nothing stored.
    let response = app
        .client
        .post(app.url("/api/v1/billing/webhook/yookassa"))
        .header("x-forwarded-for", "8.8.8.8")
        .json(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let stored: i64 =
        sqlx::query_scalar("select count(*) from billing_webhook_event").fetch_one(&app.reader().await).await.unwrap();
    assert_eq!(stored, 0);

    // From a YooKassa address, claiming success for a payment YooKassa reports as pending.
    let response = app
        .client
        .post(app.url("/api/v1/billing/webhook/yookassa"))
        .header("x-forwarded-for", "185.71.76.10")
        .json(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (_, t) = app
        .get_json(&format!("/api/v1/billing/transactions/{}", started["transaction_id"].as_str().unwrap()), &user.token)
        .await;
    assert_eq!(t["status"], "pending", "only YooKassa's own answer counts");
    let (_, sub) = app.get_json("/api/v1/billing/subscription", &user.token).await;
    assert_eq!(sub["plan_id"], "free");

    // Not a notification at all.
    assert_eq!(notify(&app, &json!({"hello": "world"})).await, 400);
    app.stop().await;
}

#[tokio::test]
async fn the_reference_test_vectors_are_accepted() {
    let app = spawn_app_with(Backend::Sqlite, &[]).await;
    let reference =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference/yookassa-api.md")).ok();
    let Some(reference) = reference else {
        eprintln!("shared/reference/yookassa-api.md not found beside the project: vectors skipped");
        app.stop().await;
        return;
    };
    // Every JSON block of §8 that is a notification.
    let mut posted = 0;
    for block in reference.split("```json").skip(1) {
        let json_text = block.split("```").next().unwrap_or_default();
        let Ok(value) = serde_json::from_str::<Value>(json_text) else { continue };
        if value["type"] != "notification" {
            continue;
        }
        assert_eq!(notify(&app, &value).await, 200, "{json_text}");
        posted += 1;
    }
    assert!(posted >= 5, "B0, B1, C1, D2 and D3 were posted ({posted})");
    let events: i64 = sqlx::query_scalar("select count(*) from billing_webhook_event where status = 'ignored'")
        .fetch_one(&app.reader().await)
        .await
        .unwrap();
    assert_eq!(events, posted, "stored, re-fetched (unknown to YooKassa) and ignored");
    app.stop().await;
}

#[tokio::test]
async fn signed_webhooks_need_a_valid_signature() {
    use hmac::{Hmac, Mac};
    let app = spawn_app_with(Backend::Sqlite, &[("YOOKASSA_WEBHOOK_SECRET", "hook-secret")]).await;
    let body = serde_json::to_vec(
        &json!({"type": "notification", "event": "payment.succeeded", "object": {"id": "x", "status": "succeeded"}}),
    )
    .unwrap();
    let unsigned =
        app.client.post(app.url("/api/v1/billing/webhook/yookassa")).body(body.clone()).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"hook-secret").unwrap();
    mac.update(&body);
    let signature: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let signed = app
        .client
        .post(app.url("/api/v1/billing/webhook/yookassa"))
        .header("x-webhook-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn checkout_refuses_what_cannot_be_bought() {
    let app = spawn_app_with(Backend::Sqlite, &[]).await;
    let user = app.customer("buyer").await;
    let other = app.customer("other").await;
    let post = |body: Value| {
        let app = &app;
        let token = user.token.clone();
        async move { app.post_json("/api/v1/billing/payment", &token, body).await }
    };
    assert_eq!(post(json!({"plan_id": "free", "return_url": RETURN_URL})).await.0, 422);
    assert_eq!(post(json!({"plan_id": "unlimited", "return_url": RETURN_URL})).await.0, 422, "inactive");
    assert_eq!(post(json!({"plan_id": "ghost", "return_url": RETURN_URL})).await.0, 404);
    let (status, problem) = post(json!({"plan_id": "pro", "return_url": "javascript:alert(1)"})).await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "return_url");
    assert_eq!(post(json!({"plan_id": "pro"})).await.0, 422);
    assert_eq!(
        app.call(
            reqwest::Method::POST,
            "/api/v1/billing/payment",
            None,
            Some(json!({"plan_id": "pro", "return_url": RETURN_URL}))
        )
        .await
        .0,
        401
    );
    let count: i64 =
        sqlx::query_scalar("select count(*) from billing_transaction").fetch_one(&app.reader().await).await.unwrap();
    assert_eq!(count, 0, "refused checkouts leave no transaction");

    let started = checkout(&app, &user, "pro").await;
    let (status, _) = app
        .get_json(
            &format!("/api/v1/billing/transactions/{}", started["transaction_id"].as_str().unwrap()),
            &other.token,
        )
        .await;
    assert_eq!(status, 404, "another account's transaction is not visible");
    app.stop().await;
}

async fn partial_then_full_refund_then_nothing_more(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let admin = app.admin().await;
    let user = app.customer("refundee").await;
    let started = checkout(&app, &user, "pro").await;
    pay(&app, started["confirmation_url"].as_str().unwrap(), "5555555555554444").await;
    let id = started["transaction_id"].as_str().unwrap().to_owned();
    assert_eq!(final_transaction(&app, &user, &id).await["status"], "succeeded");
    let route = format!("/api/v1/admin/billing/transactions/{id}/refund");

    assert_eq!(app.post_json(&route, &user.token, json!({"amount": 1})).await.0, 403);
    assert_eq!(app.post_json("/api/v1/admin/billing/transactions/ghost/refund", &admin.token, json!({})).await.0, 404);
    assert_eq!(app.post_json(&route, &admin.token, json!({"amount": 0})).await.0, 422);
    assert_eq!(app.post_json(&route, &admin.token, json!({"amount": 990.01})).await.0, 422, "more than was paid");

    let (status, partial) = app.post_json(&route, &admin.token, json!({"amount": 300.00})).await;
    assert_eq!(status, 200, "{partial}");
    assert_eq!(
        (partial["kind"].as_str(), partial["status"].as_str(), partial["amount"].as_i64()),
        (Some("refund"), Some("succeeded"), Some(30_000))
    );
    let (_, original) = app.get_json(&format!("/api/v1/billing/transactions/{id}"), &user.token).await;
    assert_eq!(original["refunded_minor"], 30_000);
    assert_eq!(original["status"], "succeeded");

    let (status, rest) = app.post_json(&route, &admin.token, json!({})).await;
    assert_eq!(status, 200, "{rest}");
    assert_eq!(rest["amount"], 69_000, "the rest");
    let (_, original) = app.get_json(&format!("/api/v1/billing/transactions/{id}"), &user.token).await;
    assert_eq!(original["refunded_minor"], 99_000);
    assert_eq!(original["status"], "refunded");
    let (status, problem) = app.post_json(&route, &admin.token, json!({"amount": 1})).await;
    assert_eq!(status, 422, "a third refund is refused: {problem}");

    let (_, audit) = app
        .get_json(&format!("/api/v1/admin/billing/audit?action=transaction.refund&entity_id={id}"), &admin.token)
        .await;
    assert_eq!(audit["total"], 2);
    let (_, history) = app.get_json("/api/v1/billing/transactions", &user.token).await;
    assert_eq!(history["total"], 3, "the payment and its two refunds");
    app.stop().await;
}
on_both_databases!(refunds, partial_then_full_refund_then_nothing_more);

#[tokio::test]
async fn receipts_are_sent_when_configured() {
    let app = spawn_app_with(Backend::Sqlite, &[("YOOKASSA_RECEIPTS", "on"), ("YOOKASSA_VAT_CODE", "4")]).await;
    let user = app.customer("receipt").await;
    let started = checkout(&app, &user, "pro").await;
    let payment = app.yookassa().get_payment(started["payment_id"].as_str().unwrap()).await.unwrap();
    assert_eq!(payment.receipt_registration.as_deref(), Some("pending"), "the sandbox accepted the 54-FZ receipt");
    app.stop().await;
}

#[tokio::test]
async fn payments_whose_notification_never_came_are_polled() {
    let app = spawn_app_with(Backend::Sqlite, &[]).await;
    let user = app.customer("lost").await;
    // The notification goes nowhere.
    app.state.sandbox.as_ref().unwrap().set_webhook_url("http://127.0.0.1:9/nowhere");
    let started = checkout(&app, &user, "pro").await;
    pay(&app, started["confirmation_url"].as_str().unwrap(), "4111111111111111").await;
    let id = started["transaction_id"].as_str().unwrap();
    assert_eq!(tariff_core::payments::poll_pending(app.billing()).await.unwrap(), 0, "too early to poll");
    let (_, t) = app.get_json(&format!("/api/v1/billing/transactions/{id}"), &user.token).await;
    assert_eq!(t["status"], "pending");
    app.clock.advance(tariff_core::payments::POLL_PENDING_AFTER + 1);
    assert_eq!(tariff_core::payments::poll_pending(app.billing()).await.unwrap(), 1);
    let (_, t) = app.get_json(&format!("/api/v1/billing/transactions/{id}"), &user.token).await;
    assert_eq!(t["status"], "succeeded");
    let (_, sub) = app.get_json("/api/v1/billing/subscription", &user.token).await;
    assert_eq!(sub["plan_id"], "pro");
    app.stop().await;
}

#[tokio::test]
async fn a_notification_that_cannot_be_stored_answers_503_for_redelivery() {
    let app = spawn_app_with(Backend::Sqlite, &[]).await;
    app.store().close().await;
    let note =
        json!({"type": "notification", "event": "payment.succeeded", "object": {"id": "p-1", "status": "succeeded"}});
    assert_eq!(notify(&app, &note).await, 503, "the database is away: YooKassa redelivers later");
    app.db.cleanup().await;
}

async fn renewals_charge_the_saved_card_and_dunning_cancels_after_the_last_retry(backend: Backend) {
    use tariff_core::payments::charge_due_renewals;
    let app = spawn_app_with(backend, &[("YOOKASSA_SECRET_KEY", "test_dunning")]).await;
    let user = app.customer("renewer").await;
    let started = checkout(&app, &user, "pro").await;
    pay(&app, started["confirmation_url"].as_str().unwrap(), "5555555555554444").await;
    final_transaction(&app, &user, started["transaction_id"].as_str().unwrap()).await;
    let (_, sub) = app.get_json("/api/v1/billing/subscription", &user.token).await;
    let end1 = sub["current_period_end"].as_i64().unwrap();
    assert_eq!(charge_due_renewals(app.billing()).await.unwrap(), 0, "nothing is due before the period ends");

    // At the end of the period the saved card pays the next one, from the old end.
    app.clock.advance(end1 - app.state.now() + 60);
    assert_eq!(charge_due_renewals(app.billing()).await.unwrap(), 1);
    let (_, renewed) = app.get_json("/api/v1/billing/subscription", &user.token).await;
    assert_eq!(renewed["status"], "active");
    assert_eq!(renewed["current_period_start"], end1);
    let end2 = renewed["current_period_end"].as_i64().unwrap();
    assert!(end2 - end1 >= 28 * 86_400);
    let (_, history) = app.get_json("/api/v1/billing/transactions", &user.token).await;
    assert_eq!(history["items"][0]["kind"], "renewal");
    assert_eq!(history["items"][0]["status"], "succeeded");

    // The card starts declining: past due, retried after 1, 3 and 5 days, then canceled.
    let method: String = sqlx::query_scalar("select payment_method_id from billing_subscription where id = $1")
        .bind(renewed["id"].as_str().unwrap())
        .fetch_one(&app.reader().await)
        .await
        .unwrap();
    let declined = app
        .client
        .post(app.url(&format!("/sandbox/yookassa/control/payment-methods/{method}/decline")))
        .basic_auth("sandbox-shop", Some("test_dunning"))
        .json(&json!({"reason": "insufficient_funds"}))
        .send()
        .await
        .unwrap();
    assert_eq!(declined.status(), 200);
    app.clock.advance(end2 - app.state.now() + 60);
    assert_eq!(charge_due_renewals(app.billing()).await.unwrap(), 1);
    let (_, due) = app.get_json("/api/v1/billing/subscription", &user.token).await;
    assert_eq!(due["status"], "past_due");
    assert_eq!(charge_due_renewals(app.billing()).await.unwrap(), 0, "the next retry waits a day");
    for (day, expected_status) in [(1, "past_due"), (3, "past_due")] {
        app.clock.advance(end2 + day * 86_400 - app.state.now() + 60);
        assert_eq!(charge_due_renewals(app.billing()).await.unwrap(), 1, "retry after {day} day(s)");
        let (_, s) = app.get_json("/api/v1/billing/subscription", &user.token).await;
        assert_eq!(s["status"], expected_status);
        assert_eq!(s["plan_id"], "pro");
    }
    app.clock.advance(end2 + 5 * 86_400 - app.state.now() + 60);
    assert_eq!(charge_due_renewals(app.billing()).await.unwrap(), 1);
    let (_, after) = app.get_json("/api/v1/billing/subscription", &user.token).await;
    assert_eq!(after["plan_id"], "free", "canceled after the last retry");
    let declines: i64 = sqlx::query_scalar(
        "select count(*) from billing_transaction where account_id = $1 and kind = 'renewal' and status = 'canceled'",
    )
    .bind(&user.account_id)
    .fetch_one(&app.reader().await)
    .await
    .unwrap();
    assert_eq!(declines, 4, "the charge at period end and three retries");
    app.stop().await;
}
on_both_databases!(dunning, renewals_charge_the_saved_card_and_dunning_cancels_after_the_last_retry);
