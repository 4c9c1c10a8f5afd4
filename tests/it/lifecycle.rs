//! The subscription lifecycle (issue 14) over real HTTP against the sandbox, moved through time
//! with the admin's test clock: prorated upgrades and their preview, scheduled downgrades,
//! trials with and without a card, pause, the MRR movements, the bad input, and two schedulers
//! on one database.

use crate::common::{Backend, TestApp, TestUser, spawn_app_with};
use crate::payments::{RETURN_URL, checkout, final_transaction, pay};
use reqwest::Method;
use serde_json::{Value, json};

const CARD: &str = "5555555555554444";

async fn subscription(app: &TestApp, user: &TestUser) -> Value {
    let (status, body) = app.get_json("/api/v1/billing/subscription", &user.token).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Moves the sandbox's clock forward through the admin route; answers the new "now". The offset
/// grows by exactly the advance, however long the runs on the way take on the wall clock.
async fn advance(app: &TestApp, admin: &TestUser, seconds: i64) -> i64 {
    let (status, before) = app.get_json("/api/v1/admin/billing/clock", &admin.token).await;
    assert_eq!(status, 200, "{before}");
    let (status, body) =
        app.post_json("/api/v1/admin/billing/clock", &admin.token, json!({"advance_seconds": seconds})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["offset_seconds"].as_i64().unwrap() - before["offset_seconds"].as_i64().unwrap(),
        seconds,
        "{body}"
    );
    body["now"].as_i64().unwrap()
}

async fn buy(app: &TestApp, user: &TestUser, plan: &str) -> Value {
    let started = checkout(app, user, plan).await;
    pay(app, started["confirmation_url"].as_str().unwrap(), CARD).await;
    let paid = final_transaction(app, user, started["transaction_id"].as_str().unwrap()).await;
    assert_eq!(paid["status"], "succeeded");
    subscription(app, user).await
}

async fn transactions(app: &TestApp, user: &TestUser) -> Vec<Value> {
    let (_, history) = app.get_json("/api/v1/billing/transactions?page_size=100", &user.token).await;
    history["items"].as_array().cloned().unwrap_or_default()
}

async fn mrr_this_month(app: &TestApp, admin: &TestUser) -> Value {
    let (status, body) = app.get_json("/api/v1/admin/billing/stats/mrr?months=12", &admin.token).await;
    assert_eq!(status, 200, "{body}");
    let rub = body["currencies"].as_array().unwrap().iter().find(|c| c["currency"] == "RUB").cloned();
    let rub = rub.unwrap_or_else(|| panic!("no RUB series: {body}"));
    let points = rub["points"].as_array().unwrap();
    assert_eq!(points.len(), 12);
    points.last().cloned().unwrap()
}

async fn upgrade_half_way_is_prorated_and_a_downgrade_waits_for_the_period_end(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let admin = app.admin().await;
    let user = app.customer("upgrader").await;
    let starter = buy(&app, &user, "starter").await;
    let (start, end) =
        (starter["current_period_start"].as_i64().unwrap(), starter["current_period_end"].as_i64().unwrap());
    let before = mrr_this_month(&app, &admin).await;

    // Exactly half-way through the period (moved by the test clock).
    let now = app.state.now();
    advance(&app, &admin, start + (end - start) / 2 - now).await;
    let (status, preview) = app.get_json("/api/v1/billing/subscription/change/preview?plan_id=pro", &user.token).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["kind"], "upgrade");
    assert_eq!(preview["amount_due_minor"], 25_000);
    assert_eq!(preview["amount_due"], 250.0);
    assert_eq!(preview["credit_minor"], 24_500);
    assert_eq!(preview["next_renewal_at"], end);
    assert_eq!(preview["next_amount_minor"], 99_000);
    assert!(preview["message"].as_str().unwrap().contains("250"), "{preview}");

    let (status, changed) =
        app.post_json("/api/v1/billing/subscription/change", &user.token, json!({"plan_id": "pro"})).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["status"], "applied", "charged to the saved card: {changed}");
    assert_eq!(changed["subscription"]["plan_id"], "pro");
    assert_eq!(changed["subscription"]["current_period_end"], end, "the period continues");
    let latest = &transactions(&app, &user).await[0];
    assert_eq!((latest["amount"].as_i64(), latest["status"].as_str()), (Some(25_000), Some("succeeded")));
    // Pro's quotas at once.
    let (_, check) =
        app.post_json("/api/v1/billing/usage/check", &user.token, json!({"metric": "tokens_input", "amount": 1})).await;
    assert_eq!(check["quota_limit"], 1_000_000);
    let after = mrr_this_month(&app, &admin).await;
    assert_eq!(
        after["expansion_minor"].as_i64().unwrap() - before["expansion_minor"].as_i64().unwrap(),
        50_000,
        "an expansion of 500 ₽"
    );

    // Pro → Starter waits for the period's end; it can be withdrawn and scheduled again.
    let (status, scheduled) =
        app.post_json("/api/v1/billing/subscription/change", &user.token, json!({"plan_id": "starter"})).await;
    assert_eq!(status, 200, "{scheduled}");
    assert_eq!(scheduled["kind"], "downgrade");
    assert_eq!(scheduled["status"], "scheduled");
    assert_eq!(scheduled["effective_at"], end);
    assert_eq!(scheduled["subscription"]["plan_id"], "pro");
    assert_eq!(scheduled["subscription"]["pending_plan_id"], "starter");
    assert_eq!(scheduled["subscription"]["pending_change_at"], end);
    let (status, withdrawn) =
        app.call(Method::DELETE, "/api/v1/billing/subscription/change", Some(&user.token), None).await;
    assert_eq!(status, 200, "{withdrawn}");
    assert_eq!(withdrawn["pending_plan_id"], Value::Null);
    let (status, again) =
        app.call(Method::DELETE, "/api/v1/billing/subscription/change", Some(&user.token), None).await;
    assert_eq!((status, again["code"].as_str()), (409, Some("conflict")));
    let (status, _) =
        app.post_json("/api/v1/billing/subscription/change", &user.token, json!({"plan_id": "starter"})).await;
    assert_eq!(status, 200);

    // At the period's end it renews as Starter at 490 ₽.
    advance(&app, &admin, end - app.state.now() + 60).await;
    let renewed = subscription(&app, &user).await;
    assert_eq!(renewed["plan_id"], "starter");
    assert_eq!(renewed["status"], "active");
    assert_eq!(renewed["current_period_start"], end);
    assert_eq!(renewed["pending_plan_id"], Value::Null);
    let latest = &transactions(&app, &user).await[0];
    assert_eq!(latest["kind"], "renewal");
    assert_eq!((latest["amount"].as_i64(), latest["status"].as_str()), (Some(49_000), Some("succeeded")));
    let (_, series) = app.get_json("/api/v1/admin/billing/stats/mrr?months=3", &admin.token).await;
    let points = series["currencies"][0]["points"].as_array().unwrap();
    let contraction: i64 = points.iter().map(|p| p["contraction_minor"].as_i64().unwrap()).sum();
    assert_eq!(contraction, -50_000, "Pro → Starter is a contraction of 500 ₽: {series}");
    assert_eq!(points.last().unwrap()["mrr_minor"], 49_000);
    app.stop().await;
}
on_both_databases!(upgrade_and_downgrade, upgrade_half_way_is_prorated_and_a_downgrade_waits_for_the_period_end);

/// An active copy of `plan` (`<plan>_copy`) with `changes`.
async fn active_copy(app: &TestApp, admin: &TestUser, plan: &str, changes: Value) -> String {
    let path = format!("/api/v1/admin/billing/plans/{plan}/duplicate");
    let (status, copy) = app.call(Method::POST, &path, Some(&admin.token), None).await;
    assert_eq!(status, 201, "{copy}");
    let id = copy["id"].as_str().unwrap().to_owned();
    let mut changes = changes;
    changes["is_active"] = json!(true);
    let (status, plan) =
        app.call(Method::PUT, &format!("/api/v1/admin/billing/plans/{id}"), Some(&admin.token), Some(changes)).await;
    assert_eq!(status, 200, "{plan}");
    id
}

/// A plan that a scheduled downgrade or a trial names is not deleted (409 and nothing changes,
/// where the database's foreign keys once made it a 500); once nothing names it, it is.
async fn plans_named_by_a_scheduled_change_or_a_trial_are_kept(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let admin = app.admin().await;
    let delete = |id: String| {
        let app = &app;
        let token = admin.token.clone();
        async move { app.call(Method::DELETE, &format!("/api/v1/admin/billing/plans/{id}"), Some(&token), None).await }
    };

    let target = active_copy(&app, &admin, "starter", json!({})).await;
    let user = app.customer("downgrader").await;
    buy(&app, &user, "pro").await;
    let (status, scheduled) =
        app.post_json("/api/v1/billing/subscription/change", &user.token, json!({"plan_id": target})).await;
    assert_eq!((status, scheduled["status"].as_str()), (200, Some("scheduled")), "{scheduled}");
    let (status, problem) = delete(target.clone()).await;
    assert_eq!(status, 409, "a downgrade to it is scheduled: {problem}");
    assert!(problem["detail"].as_str().unwrap().contains("deactivate"), "{problem}");
    assert_eq!(subscription(&app, &user).await["pending_plan_id"], json!(target));
    let (status, _) = app.call(Method::DELETE, "/api/v1/billing/subscription/change", Some(&user.token), None).await;
    assert_eq!(status, 200);
    let (status, deleted) = delete(target.clone()).await;
    assert_eq!((status, &deleted["deleted"]), (200, &json!(true)), "{deleted}");

    // A trial on a plan, then moved to another plan by an admin: the trial is kept on record.
    let tried = active_copy(&app, &admin, "pro", json!({"trial_days": 7})).await;
    let trial_user = app.customer("trier").await;
    let (status, trial) =
        app.post_json("/api/v1/billing/subscription/trial", &trial_user.token, json!({"plan_id": tried})).await;
    assert_eq!(status, 200, "{trial}");
    let id = trial["id"].as_str().unwrap();
    let (status, moved) = app
        .post_json(
            &format!("/api/v1/admin/billing/subscriptions/{id}/change"),
            &admin.token,
            json!({"plan_id": "business", "prorate": false}),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    let (status, problem) = delete(tried.clone()).await;
    assert_eq!(status, 409, "a trial was taken on it: {problem}");
    assert!(problem["detail"].as_str().unwrap().contains("trials"), "{problem}");
    let (status, plan) = app.get_json(&format!("/api/v1/admin/billing/plans/{tried}"), &admin.token).await;
    assert_eq!(status, 200, "still there: {plan}");
    app.stop().await;
}
on_both_databases!(plans_kept, plans_named_by_a_scheduled_change_or_a_trial_are_kept);

async fn trials_charge_the_saved_card_at_their_end_or_fall_back_to_free(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let admin = app.admin().await;
    let (status, plan) = app
        .call(Method::PUT, "/api/v1/admin/billing/plans/pro", Some(&admin.token), Some(json!({"trial_days": 7})))
        .await;
    assert_eq!(status, 200, "{plan}");
    let (with_card, without_card) = (app.customer("trial-card").await, app.customer("trial-nocard").await);
    for user in [&with_card, &without_card] {
        let (status, trial) =
            app.post_json("/api/v1/billing/subscription/trial", &user.token, json!({"plan_id": "pro"})).await;
        assert_eq!(status, 200, "{trial}");
        assert_eq!(trial["status"], "trialing");
        assert_eq!(trial["plan_id"], "pro");
        // Seven days from the start (the clock may tick between the answer and this read).
        let ends_in = trial["trial_end"].as_i64().unwrap() - app.state.now();
        assert!((7 * 86_400 - 2..=7 * 86_400).contains(&ends_in), "{ends_in}");
    }
    let (status, second) =
        app.post_json("/api/v1/billing/subscription/trial", &with_card.token, json!({"plan_id": "pro"})).await;
    assert_eq!(status, 409, "{second}");
    // The trial's quotas are the plan's.
    let (_, check) = app
        .post_json("/api/v1/billing/usage/check", &without_card.token, json!({"metric": "tokens_input", "amount": 1}))
        .await;
    assert_eq!(check["quota_limit"], 1_000_000);

    // A 1 ₽ card check saves the card and is refunded.
    let (status, card) =
        app.post_json("/api/v1/billing/subscription/card", &with_card.token, json!({"return_url": RETURN_URL})).await;
    assert_eq!(status, 200, "{card}");
    pay(&app, card["confirmation_url"].as_str().unwrap(), CARD).await;
    let checked = final_transaction(&app, &with_card, card["transaction_id"].as_str().unwrap()).await;
    assert_eq!(checked["amount"], 100);
    let mut refunded = checked["refunded_minor"].as_i64().unwrap_or(0);
    for _ in 0..50 {
        if refunded == 100 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let (_, t) = app
            .get_json(
                &format!("/api/v1/billing/transactions/{}", card["transaction_id"].as_str().unwrap()),
                &with_card.token,
            )
            .await;
        refunded = t["refunded_minor"].as_i64().unwrap_or(0);
    }
    assert_eq!(refunded, 100, "the card check is refunded");
    assert_eq!(subscription(&app, &with_card).await["status"], "trialing");

    // Day 7: the card pays Pro and the trial becomes active; the other falls back to free.
    advance(&app, &admin, 7 * 86_400 + 60).await;
    let paid = subscription(&app, &with_card).await;
    assert_eq!((paid["status"].as_str(), paid["plan_id"].as_str()), (Some("active"), Some("pro")));
    // The first paid period starts where the trial ended and is a whole month.
    let (start, end) = (paid["current_period_start"].as_i64().unwrap(), paid["current_period_end"].as_i64().unwrap());
    let month = tariff_core::periods::add_intervals(start, tariff_model::Interval::Month, 1);
    assert_eq!(end, month, "a full month after the trial: {paid}");
    let latest = &transactions(&app, &with_card).await[0];
    assert_eq!((latest["kind"].as_str(), latest["amount"].as_i64()), (Some("renewal"), Some(99_000)));
    assert_eq!(latest["status"], "succeeded");
    let ended = subscription(&app, &without_card).await;
    assert_eq!(ended["plan_id"], "free");
    let (status, again) =
        app.post_json("/api/v1/billing/subscription/trial", &without_card.token, json!({"plan_id": "pro"})).await;
    assert_eq!((status, again["code"].as_str()), (409, Some("conflict")), "one trial per account and plan: {again}");
    app.stop().await;
}
on_both_databases!(trials, trials_charge_the_saved_card_at_their_end_or_fall_back_to_free);

async fn a_paused_subscription_is_not_charged_and_refuses_usage(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let admin = app.admin().await;
    let user = app.customer("pauser").await;
    let bought = buy(&app, &user, "starter").await;
    let id = bought["id"].as_str().unwrap().to_owned();
    let end = bought["current_period_end"].as_i64().unwrap();

    let (status, own) = app.post_json("/api/v1/billing/subscription/pause", &user.token, json!({})).await;
    assert_eq!((status, own["code"].as_str()), (403, Some("forbidden")), "the plan does not let users pause: {own}");
    let pause = format!("/api/v1/admin/billing/subscriptions/{id}/pause");
    let (status, paused) = app.post_json(&pause, &admin.token, json!({})).await;
    assert_eq!(status, 200, "{paused}");
    assert_eq!(paused["status"], "paused");
    assert!(paused["paused_at"].as_i64().is_some());
    let (status, twice) = app.post_json(&pause, &admin.token, json!({})).await;
    assert_eq!(status, 409, "{twice}");
    let (status, refused) =
        app.post_json("/api/v1/billing/usage", &user.token, json!({"metric": "requests", "amount": 1})).await;
    assert_eq!((status, refused["code"].as_str()), (403, Some("subscription_paused")), "{refused}");
    let (status, check) =
        app.post_json("/api/v1/billing/usage/check", &user.token, json!({"metric": "requests", "amount": 1})).await;
    assert_eq!((status, check["code"].as_str()), (403, Some("subscription_paused")), "{check}");

    // Past the period's end nothing is charged.
    advance(&app, &admin, end - app.state.now() + 3 * 86_400).await;
    let renewals = transactions(&app, &user).await.iter().filter(|t| t["kind"] == "renewal").count();
    assert_eq!(renewals, 0);
    assert_eq!(subscription(&app, &user).await["status"], "paused");

    // Resuming starts a fresh period from now and charges it like a renewal.
    let (status, resumed) =
        app.post_json(&format!("/api/v1/admin/billing/subscriptions/{id}/resume"), &admin.token, json!({})).await;
    assert_eq!(status, 200, "{resumed}");
    let now = app.state.now();
    let current = subscription(&app, &user).await;
    assert_eq!(current["status"], "active");
    assert!((current["current_period_start"].as_i64().unwrap() - now).abs() <= 5);
    let latest = &transactions(&app, &user).await[0];
    assert_eq!((latest["kind"].as_str(), latest["amount"].as_i64()), (Some("renewal"), Some(49_000)));
    let (status, _) =
        app.post_json("/api/v1/billing/usage", &user.token, json!({"metric": "requests", "amount": 1})).await;
    assert_eq!(status, 201);

    // A canceled subscription cannot be paused.
    let (status, _) =
        app.post_json("/api/v1/billing/subscription/cancel", &user.token, json!({"immediate": true})).await;
    assert_eq!(status, 200);
    let (status, canceled) = app.post_json(&pause, &admin.token, json!({})).await;
    assert_eq!(status, 409, "{canceled}");
    let (status, _) = app.post_json("/api/v1/admin/billing/subscriptions/nope/pause", &admin.token, json!({})).await;
    assert_eq!(status, 404);
    let (status, _) = app.post_json(&pause, &user.token, json!({})).await;
    assert_eq!(status, 403, "admins only");
    app.stop().await;
}
on_both_databases!(pause, a_paused_subscription_is_not_charged_and_refuses_usage);

async fn bad_changes_and_clock_moves_change_nothing(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let admin = app.admin().await;
    let user = app.customer("picky").await;
    let change = |plan: &str| json!({"plan_id": plan});
    let (status, body) = app.post_json("/api/v1/billing/subscription/change", &user.token, change("free")).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (422, Some("plan_id")), "the current plan: {body}");
    let (status, body) = app.post_json("/api/v1/billing/subscription/change", &user.token, change("unlimited")).await;
    assert_eq!(status, 422, "an inactive plan: {body}");
    let (status, _) = app.post_json("/api/v1/billing/subscription/change", &user.token, change("nope")).await;
    assert_eq!(status, 404);
    let (status, usd) = app
        .post_json(
            "/api/v1/admin/billing/plans",
            &admin.token,
            json!({"id": "dollar", "name": "Dollar", "price": 10.00, "currency": "USD", "interval": "month", "is_active": true}),
        )
        .await;
    assert_eq!(status, 201, "{usd}");
    let (status, body) = app.post_json("/api/v1/billing/subscription/change", &user.token, change("dollar")).await;
    assert_eq!(status, 422, "another currency: {body}");
    let (status, body) = app.get_json("/api/v1/billing/subscription/change/preview?plan_id=dollar", &user.token).await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = app.get_json("/api/v1/billing/subscription/change/preview", &user.token).await;
    assert!(status == 400 || status == 422);
    let (status, _) = app.call(Method::POST, "/api/v1/billing/subscription/change", None, Some(change("pro"))).await;
    assert_eq!(status, 401);

    // From free an upgrade is a purchase; without a saved card the payer must confirm.
    let (status, body) = app.post_json("/api/v1/billing/subscription/change", &user.token, change("pro")).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (422, Some("return_url")), "{body}");
    assert_eq!(subscription(&app, &user).await["plan_id"], "free", "nothing changed");
    let (status, pending) = app
        .post_json(
            "/api/v1/billing/subscription/change",
            &user.token,
            json!({"plan_id": "pro", "return_url": RETURN_URL}),
        )
        .await;
    assert_eq!(status, 200, "{pending}");
    assert_eq!((pending["status"].as_str(), pending["amount_due_minor"].as_i64()), (Some("pending"), Some(99_000)));
    assert_eq!(pending["subscription"]["plan_id"], "free", "switched only once paid");
    pay(&app, pending["confirmation_url"].as_str().unwrap(), CARD).await;
    final_transaction(&app, &user, pending["transaction_id"].as_str().unwrap()).await;
    assert_eq!(subscription(&app, &user).await["plan_id"], "pro");

    // The clock only moves forward.
    let before = app.state.now();
    for seconds in [-5, 0, 10 * 366 * 86_400] {
        let (status, body) =
            app.post_json("/api/v1/admin/billing/clock", &admin.token, json!({"advance_seconds": seconds})).await;
        assert_eq!((status, body["errors"][0]["field"].as_str()), (422, Some("advance_seconds")), "{body}");
    }
    let (status, clock) = app.get_json("/api/v1/admin/billing/clock", &admin.token).await;
    assert_eq!(status, 200);
    assert!(clock["now"].as_i64().unwrap() - before < 5);
    let (status, _) = app.post_json("/api/v1/admin/billing/clock", &user.token, json!({"advance_seconds": 60})).await;
    assert_eq!(status, 403);
    let (status, _) = app.get_json("/api/v1/admin/billing/stats/mrr?months=0", &admin.token).await;
    assert_eq!(status, 422);
    app.stop().await;

    // Without the sandbox there is no test clock.
    let live = spawn_app_with(backend, &[("YOOKASSA_SANDBOX", "off")]).await;
    let admin = live.admin().await;
    let (status, _) = live.get_json("/api/v1/admin/billing/clock", &admin.token).await;
    assert_eq!(status, 404);
    let (status, _) = live.post_json("/api/v1/admin/billing/clock", &admin.token, json!({"advance_seconds": 60})).await;
    assert_eq!(status, 404);
    live.stop().await;
}
on_both_databases!(bad_input, bad_changes_and_clock_moves_change_nothing);

async fn two_schedulers_on_one_database_apply_each_due_item_once(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let admin = app.admin().await;
    let (status, _) = app
        .call(Method::PUT, "/api/v1/admin/billing/plans/pro", Some(&admin.token), Some(json!({"trial_days": 7})))
        .await;
    assert_eq!(status, 200);
    let mut users = Vec::new();
    for i in 0..50 {
        let user = app.customer(&format!("due{i}")).await;
        if i % 2 == 0 {
            let (status, body) =
                app.post_json("/api/v1/billing/subscription/trial", &user.token, json!({"plan_id": "pro"})).await;
            assert_eq!(status, 200, "{body}");
        } else {
            let (status, body) = app
                .post_json(
                    "/api/v1/admin/billing/subscriptions",
                    &admin.token,
                    json!({"user_id": user.id, "plan_id": "starter"}),
                )
                .await;
            assert_eq!(status, 200, "{body}");
            let (status, body) =
                app.post_json("/api/v1/billing/subscription/change", &user.token, json!({"plan_id": "free"})).await;
            assert_eq!((status, body["status"].as_str()), (200, Some("scheduled")), "{body}");
        }
        users.push(user);
    }
    // A second server on the same database, with its own pool and scheduler.
    let replica = tariff::server::startup::Application::build(crate::common::config(&app.db, &[]), app.clock.clone())
        .await
        .expect("replica");
    let replica_state = replica.state().clone();
    app.clock.advance(40 * 86_400);
    let (a, b) = tokio::join!(
        tariff::server::jobs::run_billing(app.billing()),
        tariff::server::jobs::run_billing(&replica_state.billing)
    );
    let _ = (a, b);
    let pool = app.reader().await;
    for user in &users {
        let live: i64 = sqlx::query_scalar(
            "select count(*) from billing_subscription where account_id = $1 and status in ('active', 'trialing', 'past_due', 'paused')",
        )
        .bind(&user.account_id)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(live, 1, "one live subscription");
        let s = subscription(&app, user).await;
        assert_eq!(s["plan_id"], "free", "{s}");
        let rows: i64 = sqlx::query_scalar("select count(*) from billing_subscription where account_id = $1")
            .bind(&user.account_id)
            .fetch_one(&pool)
            .await
            .unwrap();
        // Trials: the free plan at sign-up became the trial, which ended into one free fallback.
        // Downgrades: the assigned subscription switched in place to free.
        assert!(rows <= 2, "each due item applied once ({rows} rows)");
    }
    let churns: i64 = sqlx::query_scalar("select count(*) from billing_mrr_movement where kind = 'churn'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(churns, 25, "one churn per downgrade to free");
    replica_state.billing.store.close().await;
    app.stop().await;
}
on_both_databases!(two_schedulers, two_schedulers_on_one_database_apply_each_due_item_once);

/// The transaction `id` as the API shows it.
async fn transaction(app: &TestApp, user: &TestUser, id: &str) -> Value {
    let (status, body) = app.get_json(&format!("/api/v1/billing/transactions/{id}"), &user.token).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Issue 14.7: create calls that reached YooKassa but got no answer (the sandbox does the work,
/// then answers 500 to every attempt of the client) are sent again by the sweeper with their
/// stored idempotence key. The saved-card upgrade YooKassa charged is applied, once; the checkout
/// the payer never saw gets its payment id, so poll and notifications settle it.
async fn unanswered_creates_are_sent_again_with_their_key(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let user = app.customer("unanswered").await;
    buy(&app, &user, "starter").await;
    let again = app.customer("unanswered-again").await;
    buy(&app, &again, "starter").await;
    // No more notifications: their re-fetch of the payment would use up the injected faults.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    app.state.sandbox.as_ref().unwrap().set_webhook_url("http://127.0.0.1:9/unreachable");
    let pool = app.reader().await;

    // An upgrade charged to the saved card: YooKassa charged it, the answer was lost.
    crate::hardening::fail_next_requests(&app, 4).await;
    let (status, body) =
        app.post_json("/api/v1/billing/subscription/change", &user.token, json!({"plan_id": "pro"})).await;
    assert_eq!(status, 503, "no answer from YooKassa: {body}");
    assert_eq!(subscription(&app, &user).await["plan_id"], "starter", "nothing switched yet");
    let (id, key): (String, String) = sqlx::query_as(
        "select id, idempotence_key from billing_transaction where account_id = $1 and plan_change = 'upgrade'",
    )
    .bind(&user.account_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(transaction(&app, &user, &id).await["status"], "pending");

    // Too soon to send again (the first call may still be under way): nothing happens.
    assert_eq!(tariff_core::payments::resend_unanswered(&app.state.billing).await.unwrap(), 0);
    app.clock.advance(tariff_core::payments::polling::RESEND_UNANSWERED_AFTER + 1);
    assert_eq!(tariff_core::payments::resend_unanswered(&app.state.billing).await.unwrap(), 1);
    let upgraded = transaction(&app, &user, &id).await;
    assert_eq!(upgraded["status"], "succeeded", "{upgraded}");
    assert_eq!(subscription(&app, &user).await["plan_id"], "pro", "the charge YooKassa took is applied");
    // The payment is the one the first call made: YooKassa knows one payment for the key.
    let payment_id = upgraded["yookassa_payment_id"].as_str().unwrap().to_owned();
    let at_yookassa = app.yookassa().get_payment(&payment_id).await.unwrap();
    assert_eq!(at_yookassa.metadata.get("transaction_id").map(String::as_str), Some(id.as_str()));
    let same_key: i64 = sqlx::query_scalar("select count(*) from billing_transaction where idempotence_key = $1")
        .bind(&key)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(same_key, 1);
    // Sending again is done once: a later run has nothing to send.
    app.clock.advance(3600);
    assert_eq!(tariff_core::payments::resend_unanswered(&app.state.billing).await.unwrap(), 0);

    // A payer who tries again after the 503: the second upgrade (a new key) is charged and
    // applied; the first, sent again later, finds the plan upgraded already and is given back.
    crate::hardening::fail_next_requests(&app, 4).await;
    let (status, _) =
        app.post_json("/api/v1/billing/subscription/change", &again.token, json!({"plan_id": "pro"})).await;
    assert_eq!(status, 503);
    let (status, retried) =
        app.post_json("/api/v1/billing/subscription/change", &again.token, json!({"plan_id": "pro"})).await;
    assert_eq!(status, 200, "{retried}");
    assert_eq!(retried["status"], "applied");
    app.clock.advance(tariff_core::payments::polling::RESEND_UNANSWERED_AFTER + 1);
    assert_eq!(tariff_core::payments::resend_unanswered(&app.state.billing).await.unwrap(), 1);
    let upgrades: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "select id, status, cancellation_reason from billing_transaction
         where account_id = $1 and plan_change = 'upgrade' order by created_at, id",
    )
    .bind(&again.account_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(upgrades.len(), 2, "{upgrades:?}");
    let failed: Vec<_> = upgrades.iter().filter(|u| u.1 == "failed").collect();
    assert_eq!(failed.len(), 1, "one upgrade applied, the other given back: {upgrades:?}");
    assert_eq!(failed[0].2.as_deref(), Some("plan_changed"));
    let refunds: i64 = sqlx::query_scalar(
        "select count(*) from billing_transaction where parent_transaction_id = $1 and kind = 'refund'",
    )
    .bind(&failed[0].0)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(refunds, 1, "the second charge went back");
    assert_eq!(subscription(&app, &again).await["plan_id"], "pro");

    // A checkout whose answer was lost: the payer got 503 and no page; the sweeper learns the
    // payment YooKassa made, and it is not given up as if it had never been sent.
    let other = app.customer("unanswered-checkout").await;
    crate::hardening::fail_next_requests(&app, 4).await;
    let (status, body) = app
        .post_json("/api/v1/billing/payment", &other.token, json!({"plan_id": "pro", "return_url": RETURN_URL}))
        .await;
    assert_eq!(status, 503, "{body}");
    let checkout_id: String =
        sqlx::query_scalar("select id from billing_transaction where account_id = $1 and kind = 'subscription'")
            .bind(&other.account_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    app.clock.advance(tariff_core::payments::polling::RESEND_UNANSWERED_AFTER + 1);
    assert_eq!(tariff_core::payments::resend_unanswered(&app.state.billing).await.unwrap(), 1);
    let known = transaction(&app, &other, &checkout_id).await;
    assert!(known["yookassa_payment_id"].is_string(), "{known}");
    assert_eq!(known["status"], "pending", "the payer never confirmed it");
    app.stop().await;
}
on_both_databases!(unanswered_creates, unanswered_creates_are_sent_again_with_their_key);

/// An admin's change without proration is a comp: the plan switches now, nothing is charged,
/// and the subscription's state stays (a trial stays a trial); it is audited. Users pause and
/// resume themselves where the plan allows it.
async fn admin_comps_keep_the_state_and_users_pause_where_the_plan_allows(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let admin = app.admin().await;
    let (status, _) = app
        .call(Method::PUT, "/api/v1/admin/billing/plans/pro", Some(&admin.token), Some(json!({"trial_days": 7})))
        .await;
    assert_eq!(status, 200);
    let trial_user = app.customer("comped").await;
    let (status, trial) =
        app.post_json("/api/v1/billing/subscription/trial", &trial_user.token, json!({"plan_id": "pro"})).await;
    assert_eq!(status, 200, "{trial}");
    let id = trial["id"].as_str().unwrap().to_owned();
    let (status, outcome) = app
        .post_json(
            &format!("/api/v1/admin/billing/subscriptions/{id}/change"),
            &admin.token,
            json!({"plan_id": "starter", "prorate": false}),
        )
        .await;
    assert_eq!(status, 200, "{outcome}");
    let comped = subscription(&app, &trial_user).await;
    assert_eq!(
        (comped["plan_id"].as_str(), comped["status"].as_str()),
        (Some("starter"), Some("trialing")),
        "{comped}"
    );
    assert_eq!(comped["trial_end"], trial["trial_end"], "the trial still ends when it did");
    assert!(transactions(&app, &trial_user).await.is_empty(), "a comp charges nothing");
    let (_, audit) = app.get_json("/api/v1/admin/billing/audit?action=subscription.change", &admin.token).await;
    assert!(audit.to_string().contains(&id), "the comp is audited: {audit}");

    // A plan that allows pausing: the user pauses and resumes (a fresh period, charged).
    let (status, _) = app
        .call(
            Method::PUT,
            "/api/v1/admin/billing/plans/starter",
            Some(&admin.token),
            Some(json!({"plan_extra_metadata": {"allow_pause": true}})),
        )
        .await;
    assert_eq!(status, 200);
    let user = app.customer("self-pauser").await;
    buy(&app, &user, "starter").await;
    let (status, paused) = app.post_json("/api/v1/billing/subscription/pause", &user.token, json!({})).await;
    assert_eq!((status, paused["status"].as_str()), (200, Some("paused")), "{paused}");
    let (status, _) =
        app.post_json("/api/v1/billing/usage", &user.token, json!({"metric": "requests", "amount": 1})).await;
    assert_eq!(status, 403);
    app.clock.advance(86_400);
    let (status, resumed) = app.post_json("/api/v1/billing/subscription/resume", &user.token, json!({})).await;
    assert_eq!(status, 200, "{resumed}");
    let current = subscription(&app, &user).await;
    assert_eq!(current["status"], "active", "{current}");
    let renewals = transactions(&app, &user).await.iter().filter(|t| t["kind"] == "renewal").count();
    assert_eq!(renewals, 1, "resuming charged a fresh period");
    let (status, _) =
        app.post_json("/api/v1/billing/usage", &user.token, json!({"metric": "requests", "amount": 1})).await;
    assert_eq!(status, 201);
    app.stop().await;
}
on_both_databases!(comps_and_own_pause, admin_comps_keep_the_state_and_users_pause_where_the_plan_allows);
