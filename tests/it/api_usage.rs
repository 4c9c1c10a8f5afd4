//! Subscriptions over time and usage metering with atomic quotas, through the JSON API, on SQLite
//! and PostgreSQL.

use crate::common::{Backend, TestApp, TestUser, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};
use tariff_model::Scope;

const DAY: i64 = 86_400;

async fn subscription(app: &TestApp, user: &TestUser) -> (u16, Value) {
    app.get_json("/api/v1/billing/subscription", &user.token).await
}

async fn new_accounts_start_on_free_and_usage_is_metered(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.customer("alice").await;
    let (status, sub) = subscription(&app, &alice).await;
    assert_eq!(status, 200, "{sub}");
    assert_eq!(sub["plan_id"], "free");
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["plan"]["quotas"]["tokens_input"], 100_000);
    let period = sub["current_period_end"].as_i64().unwrap() - sub["current_period_start"].as_i64().unwrap();
    assert!((28 * DAY..=31 * DAY).contains(&period), "one month: {period}");

    // The spec's quota check (spec 003 §4): read-only.
    let (status, check) = app
        .post_json("/api/v1/billing/usage/check", &alice.token, json!({"metric": "tokens_input", "amount": 1000}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(check["allowed"], true);
    assert_eq!(check["current_usage"], 0);
    assert_eq!(check["quota_limit"], 100_000);
    assert_eq!(check["remaining"], 100_000);
    let (_, check) = app
        .post_json("/api/v1/billing/usage/check", &alice.token, json!({"metric": "tokens_input", "amount": 100_001}))
        .await;
    assert_eq!(check["allowed"], false);

    // Track, idempotently.
    let event = json!({"metric": "tokens_input", "amount": 150, "model_id": "gpt-4", "chat_id": "chat_123", "event_id": "evt-1"});
    let (status, tracked) = app.post_json("/api/v1/billing/usage", &alice.token, event.clone()).await;
    assert_eq!(status, 201, "{tracked}");
    assert_eq!(tracked["usage"]["current_usage"], 150);
    let (status, again) = app.post_json("/api/v1/billing/usage", &alice.token, event).await;
    assert_eq!(status, 200);
    assert_eq!(again["duplicate"], true);
    let (status, usage) = app.get_json("/api/v1/billing/usage/tokens_input", &alice.token).await;
    assert_eq!(status, 200);
    assert_eq!(usage["current_usage"], 150, "the repeated event_id counted once");
    assert_eq!(usage["remaining"], 100_000 - 150);
    let (_, unlimited) = app.get_json("/api/v1/billing/usage/images", &alice.token).await;
    assert_eq!(unlimited["quota_limit"], Value::Null, "a metric without a quota is unlimited");

    // Over quota: 429 with the numbers, and nothing recorded.
    let (status, problem) =
        app.post_json("/api/v1/billing/usage", &alice.token, json!({"metric": "requests", "amount": 1001})).await;
    assert_eq!(status, 429, "{problem}");
    assert_eq!(problem["code"], "quota_exceeded");
    assert_eq!(problem["metric"], "requests");
    assert_eq!(problem["quota_limit"], 1000);
    assert_eq!(problem["remaining"], 1000);
    let (_, usage) = app.get_json("/api/v1/billing/usage/requests", &alice.token).await;
    assert_eq!(usage["current_usage"], 0);

    // Unhappy paths.
    assert_eq!(app.get_json("/api/v1/billing/usage/tokens", &alice.token).await.0, 404);
    assert_eq!(
        app.post_json("/api/v1/billing/usage/check", &alice.token, json!({"metric": "bogus", "amount": 1})).await.0,
        404
    );
    assert_eq!(
        app.post_json("/api/v1/billing/usage", &alice.token, json!({"metric": "bogus", "amount": 1})).await.0,
        404
    );
    for amount in [0, -5] {
        assert_eq!(
            app.post_json("/api/v1/billing/usage", &alice.token, json!({"metric": "requests", "amount": amount}))
                .await
                .0,
            422
        );
        assert_eq!(
            app.post_json("/api/v1/billing/usage/check", &alice.token, json!({"metric": "requests", "amount": amount}))
                .await
                .0,
            422
        );
    }
    assert_eq!(app.call(Method::GET, "/api/v1/billing/usage/requests", None, None).await.0, 401);

    // The whole picture.
    let (status, me) = app.get_json("/api/v1/billing/me", &alice.token).await;
    assert_eq!(status, 200);
    assert_eq!(me["plan"]["id"], "free");
    assert_eq!(me["usage"].as_array().unwrap().len(), 5);
    assert_eq!(me["recent_usage"][0]["chat_id"], "chat_123");
    assert_eq!(me["transactions"], json!([]));
    let (status, page) = app.get_json("/api/v1/billing/transactions?page=1&page_size=10", &alice.token).await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 0);
    app.stop().await;
}
on_both_databases!(metering, new_accounts_start_on_free_and_usage_is_metered);

async fn concurrent_clients_never_exceed_the_quota(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let body = json!({"id": "tight", "name": "Tight", "price": 0, "quotas": {"requests": 1000}});
    assert_eq!(app.post_json("/api/v1/admin/billing/plans", &admin.token, body).await.0, 201);
    let user = app.customer("racer").await;
    let (status, _) = app
        .post_json("/api/v1/admin/billing/subscriptions", &admin.token, json!({"user_id": user.id, "plan_id": "tight"}))
        .await;
    assert_eq!(status, 200);

    let mut tasks = Vec::new();
    for _ in 0..64 {
        let client = app.client.clone();
        let url = app.url("/api/v1/billing/usage");
        let token = user.token.clone();
        tasks.push(tokio::spawn(async move {
            let (mut accepted, mut refused) = (0u32, 0u32);
            // Each client keeps consuming until the quota says no (bounded).
            for _ in 0..200 {
                let response = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"metric": "requests", "amount": 1}))
                    .send()
                    .await
                    .unwrap();
                match response.status().as_u16() {
                    201 => accepted += 1,
                    429 => {
                        refused += 1;
                        break;
                    }
                    other => panic!("unexpected status {other}: {}", response.text().await.unwrap()),
                }
            }
            (accepted, refused)
        }));
    }
    let mut accepted = 0;
    let mut refused = 0;
    for task in tasks {
        let (a, r) = task.await.unwrap();
        accepted += a;
        refused += r;
    }
    assert_eq!(accepted, 1000, "exactly the quota was accepted");
    assert_eq!(refused, 64, "every client was refused once the quota ran out");
    let (_, usage) = app.get_json("/api/v1/billing/usage/requests", &user.token).await;
    assert_eq!(usage["current_usage"], 1000);
    let rows: i64 = sqlx::query_scalar("select count(*) from billing_usage where account_id = $1")
        .bind(&user.account_id)
        .fetch_one(&app.reader().await)
        .await
        .unwrap();
    assert_eq!(rows, 1000, "refused events left no usage rows");
    app.stop().await;
}
on_both_databases!(concurrency, concurrent_clients_never_exceed_the_quota);

async fn batches_are_validated_whole_and_counted_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let service = app.user("ingest@example.com", false, Scope::Service).await;
    let alice = app.customer("alice").await;
    let bob = app.customer("bob").await;
    let batch = json!({"events": [
        {"user_id": alice.id, "metric": "tokens_input", "amount": 100, "event_id": "a1"},
        {"user_id": alice.id, "metric": "tokens_output", "amount": 40, "event_id": "a2", "model_id": "gpt-4"},
        {"user_id": bob.id, "metric": "requests", "amount": 1, "event_id": "b1"},
        {"user_id": bob.id, "metric": "requests", "amount": 1}
    ]});
    let (status, outcome) = app.post_json("/api/v1/billing/usage/batch", &service.token, batch.clone()).await;
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome, json!({"accepted": 4, "duplicates": 0}));
    let (_, outcome) = app.post_json("/api/v1/billing/usage/batch", &service.token, batch).await;
    assert_eq!(outcome, json!({"accepted": 1, "duplicates": 3}), "only the event without an id is new");
    let (_, usage) = app.get_json("/api/v1/billing/usage/tokens_input", &alice.token).await;
    assert_eq!(usage["current_usage"], 100);
    let (_, usage) = app.get_json("/api/v1/billing/usage/requests", &bob.token).await;
    assert_eq!(usage["current_usage"], 3);

    // One bad event rejects the whole batch.
    let bad = json!({"events": [
        {"user_id": alice.id, "metric": "tokens_input", "amount": 5, "event_id": "new-1"},
        {"user_id": alice.id, "metric": "tokenz", "amount": 5},
        {"user_id": "ghost", "metric": "requests", "amount": 1},
        {"user_id": alice.id, "metric": "requests", "amount": 0}
    ]});
    let (status, problem) = app.post_json("/api/v1/billing/usage/batch", &service.token, bad).await;
    assert_eq!(status, 422, "{problem}");
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(
        fields.contains(&"events[1].metric")
            && fields.contains(&"events[2].user_id")
            && fields.contains(&"events[3].amount"),
        "{fields:?}"
    );
    let (_, usage) = app.get_json("/api/v1/billing/usage/tokens_input", &alice.token).await;
    assert_eq!(usage["current_usage"], 100, "nothing from the rejected batch was counted");

    let too_many: Vec<Value> = (0..1001).map(|_| json!({"metric": "requests", "amount": 1})).collect();
    assert_eq!(app.post_json("/api/v1/billing/usage/batch", &service.token, json!({"events": too_many})).await.0, 422);
    assert_eq!(app.post_json("/api/v1/billing/usage/batch", &service.token, json!({"events": []})).await.0, 422);
    let (status, _) = app
        .post_json(
            "/api/v1/billing/usage/batch",
            &alice.token,
            json!({"events": [{"metric": "requests", "amount": 1}]}),
        )
        .await;
    assert_eq!(status, 403, "batches are for service tokens");
    app.stop().await;
}
on_both_databases!(batch, batches_are_validated_whole_and_counted_once);

async fn periods_roll_on_time(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let alice = app.customer("alice").await;
    let bob = app.customer("bob").await;
    let carol = app.customer("carol").await;

    // Free renews itself and its quota resets.
    app.post_json("/api/v1/billing/usage", &alice.token, json!({"metric": "requests", "amount": 1000})).await;
    let (_, before) = subscription(&app, &alice).await;
    app.clock.advance(40 * DAY);
    let (_, after) = subscription(&app, &alice).await;
    assert_eq!(after["id"], before["id"], "the same free subscription renews");
    assert!(after["current_period_start"].as_i64().unwrap() > before["current_period_start"].as_i64().unwrap());
    assert!(after["current_period_end"].as_i64().unwrap() > app.state.now());
    let (_, usage) = app.get_json("/api/v1/billing/usage/requests", &alice.token).await;
    assert_eq!(usage["current_usage"], 0, "a new period starts from zero");

    // Pro, canceled at period end: keeps Pro until the end, then falls back to free.
    for user in [&bob, &carol] {
        let (status, _) = app
            .post_json(
                "/api/v1/admin/billing/subscriptions",
                &admin.token,
                json!({"user_id": user.id, "plan_id": "pro"}),
            )
            .await;
        assert_eq!(status, 200);
    }
    let (status, canceled) =
        app.post_json("/api/v1/billing/subscription/cancel", &bob.token, json!({"immediate": false})).await;
    assert_eq!(status, 200);
    assert_eq!(canceled["cancel_at_period_end"], true);
    assert_eq!(canceled["status"], "active");
    let (_, still) = subscription(&app, &bob).await;
    assert_eq!(still["plan_id"], "pro", "access continues until the period ends");

    app.clock.advance(32 * DAY);
    let (_, fallback) = subscription(&app, &bob).await;
    assert_eq!(fallback["plan_id"], "free");
    assert_eq!(fallback["status"], "active");
    // Carol's paid period ended without a renewal payment: past due, usage still allowed.
    let (_, due) = subscription(&app, &carol).await;
    assert_eq!(due["status"], "past_due");
    assert_eq!(due["plan_id"], "pro");
    let (status, _) =
        app.post_json("/api/v1/billing/usage", &carol.token, json!({"metric": "requests", "amount": 1})).await;
    assert_eq!(status, 201, "grace period");
    // After the dunning grace period it is canceled and she is on free.
    app.clock.advance(6 * DAY);
    let (_, after_grace) = subscription(&app, &carol).await;
    assert_eq!(after_grace["plan_id"], "free");

    // The job applies the same rollover without anyone asking.
    let dave = app.customer("dave").await;
    let (_, pro) = app
        .post_json("/api/v1/admin/billing/subscriptions", &admin.token, json!({"user_id": dave.id, "plan_id": "pro"}))
        .await;
    // One day past the period end: inside the 5-day grace.
    app.clock.advance(pro["current_period_end"].as_i64().unwrap() - app.state.now() + DAY);
    let visited = tariff_core::subscriptions::rollover_due(app.store(), app.state.now()).await.unwrap();
    assert!(visited >= 1);
    let status: String =
        sqlx::query_scalar("select status from billing_subscription where account_id = $1 and plan_id = 'pro'")
            .bind(&dave.account_id)
            .fetch_one(&app.reader().await)
            .await
            .unwrap();
    assert_eq!(status, "past_due");

    // Immediate cancel of a paid plan ends it now; of the free plan leaves no subscription.
    let erin = app.customer("erin").await;
    app.post_json("/api/v1/admin/billing/subscriptions", &admin.token, json!({"user_id": erin.id, "plan_id": "pro"}))
        .await;
    let (status, ended) =
        app.post_json("/api/v1/billing/subscription/cancel", &erin.token, json!({"immediate": true})).await;
    assert_eq!(status, 200);
    assert_eq!(ended["status"], "canceled");
    let (_, now_free) = subscription(&app, &erin).await;
    assert_eq!(now_free["plan_id"], "free");
    // The free plan is the floor: it cannot be canceled, now or at the period end.
    for immediate in [true, false] {
        let (status, body) =
            app.post_json("/api/v1/billing/subscription/cancel", &erin.token, json!({"immediate": immediate})).await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["code"], "conflict", "{body}");
        assert!(body["detail"].as_str().unwrap().contains("free plan"), "{body}");
    }
    assert_eq!(subscription(&app, &erin).await.1["plan_id"], "free");
    assert_eq!(
        app.post_json(
            "/api/v1/admin/billing/subscriptions",
            &admin.token,
            json!({"user_id": erin.id, "plan_id": "ghost"})
        )
        .await
        .0,
        404
    );
    assert_eq!(
        app.post_json(
            "/api/v1/admin/billing/subscriptions",
            &erin.token,
            json!({"user_id": erin.id, "plan_id": "pro"})
        )
        .await
        .0,
        403
    );
    app.stop().await;
}
on_both_databases!(rollover, periods_roll_on_time);

async fn trials_end_without_a_payment_method(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let user = app.customer("trial").await;
    let body = json!({"id": "pro_trial", "name": "Pro trial", "price": 990, "trial_days": 7});
    assert_eq!(app.post_json("/api/v1/admin/billing/plans", &admin.token, body).await.0, 201);
    let (_, sub) = app
        .post_json(
            "/api/v1/admin/billing/subscriptions",
            &admin.token,
            json!({"user_id": user.id, "plan_id": "pro_trial"}),
        )
        .await;
    assert_eq!(sub["status"], "trialing");
    assert_eq!(sub["trial_end"], sub["current_period_end"]);
    app.clock.advance(8 * DAY);
    let (_, after) = subscription(&app, &user).await;
    assert_eq!(after["plan_id"], "free", "no saved card to charge: the trial ends");
    app.stop().await;
}
on_both_databases!(trials, trials_end_without_a_payment_method);
