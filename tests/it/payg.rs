//! Pay-as-you-go over real HTTP (issue 12, seed 004): top-ups through the sandbox credit the
//! ledger once, charges take included units first and the rest from the balance at the plan's
//! discount, concurrency never overdraws a balance, sub-kopeck prices add up exactly, and admin
//! adjustments are audited. On SQLite and PostgreSQL.

use crate::common::{Backend, TestApp, TestUser, spawn_app, spawn_app_with};
use crate::payments::{RETURN_URL, final_transaction, notify, pay};
use reqwest::Method;
use serde_json::{Value, json};

async fn create_feature(app: &TestApp, admin: &TestUser, body: Value) -> Value {
    let (status, feature) = app.post_json("/api/v1/admin/billing/features", &admin.token, body).await;
    assert_eq!(status, 201, "{feature}");
    feature
}

async fn credit(app: &TestApp, admin: &TestUser, user: &TestUser, amount: &str) -> Value {
    let path = format!("/api/v1/admin/billing/users/{}/balance", user.id);
    let body = json!({"amount": serde_json::from_str::<Value>(amount).unwrap(), "reason": "test credit"});
    let (status, balance) = app.post_json(&path, &admin.token, body).await;
    assert_eq!(status, 200, "{balance}");
    balance
}

async fn charge(app: &TestApp, user: &TestUser, body: Value) -> (u16, Value) {
    app.post_json("/api/v1/billing/charge", &user.token, body).await
}

async fn balance(app: &TestApp, user: &TestUser) -> Value {
    let (status, balance) = app.get_json("/api/v1/billing/balance", &user.token).await;
    assert_eq!(status, 200, "{balance}");
    balance
}

/// The ledger of `user`'s account sums to its cached balance.
async fn assert_ledger_matches(app: &TestApp, user: &TestUser) {
    let pool = app.reader().await;
    let sum: i64 = sqlx::query_scalar(
        "select cast(coalesce(sum(delta_micros), 0) as bigint) from billing_balance_entry where account_id = $1",
    )
    .bind(&user.account_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    let cached: i64 = sqlx::query_scalar("select balance_micros from account where id = $1")
        .bind(&user.account_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(sum, cached, "the ledger sums to the balance");
}

/// Puts `user` on `plan_id` (admin route) after giving the plan `changes`.
async fn on_plan(app: &TestApp, admin: &TestUser, user: &TestUser, plan_id: &str, changes: Value) {
    let path = format!("/api/v1/admin/billing/plans/{plan_id}");
    let (status, plan) = app.call(Method::PUT, &path, Some(&admin.token), Some(changes)).await;
    assert_eq!(status, 200, "{plan}");
    let body = json!({"user_id": user.id, "plan_id": plan_id});
    let (status, sub) = app.post_json("/api/v1/admin/billing/subscriptions", &admin.token, body).await;
    assert!(status == 200 || status == 201, "{status} {sub}");
}

async fn a_paid_topup_credits_the_balance_once(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let user = app.customer("topper").await;
    let (status, started) =
        app.post_json("/api/v1/billing/topup", &user.token, json!({"amount": 500.00, "return_url": RETURN_URL})).await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["status"], "pending");
    let id = started["transaction_id"].as_str().unwrap().to_owned();
    pay(&app, started["confirmation_url"].as_str().unwrap(), "5555 5555 5555 4444").await;
    let paid = final_transaction(&app, &user, &id).await;
    assert_eq!(paid["status"], "succeeded");
    assert_eq!(paid["kind"], "topup");
    let b = balance(&app, &user).await;
    assert_eq!(b["balance"], 500.0, "{b}");
    assert_eq!(b["balance_minor"], 50_000);
    assert_eq!(b["currency"], "RUB");
    assert_eq!(b["entries"][0]["reason"], "topup");
    assert_eq!(b["entries"][0]["reference"], id.as_str());

    // The same notification 100 more times: one ledger entry.
    let payment = app.yookassa().get_payment(started["payment_id"].as_str().unwrap()).await.unwrap();
    let note = json!({"type": "notification", "event": "payment.succeeded", "object": payment});
    for _ in 0..100 {
        assert_eq!(notify(&app, &note).await, 200);
    }
    let b = balance(&app, &user).await;
    assert_eq!(b["balance_minor"], 50_000);
    assert_eq!(b["entries"].as_array().unwrap().len(), 1, "{b}");
    assert_ledger_matches(&app, &user).await;
    // A top-up stays a top-up: the subscription is still the free plan.
    let (_, sub) = app.get_json("/api/v1/billing/subscription", &user.token).await;
    assert_eq!(sub["plan_id"], "free");
    app.stop().await;
}
on_both_databases!(paid_topup, a_paid_topup_credits_the_balance_once);

async fn a_charge_takes_included_units_first_then_the_discounted_price(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let user = app.customer("charger").await;
    create_feature(
        &app,
        &admin,
        json!({"name": "CategorizationAgent", "title": "Categorization", "title_ru": "Категоризация",
               "unit_price": 1.00, "per_units": 1, "access": "premium"}),
    )
    .await;
    // The free plan cannot use a premium feature.
    let (status, refused) = charge(&app, &user, json!({"feature": "CategorizationAgent", "units": 1})).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["code"], "feature_not_available");
    assert_eq!(refused["feature"], "CategorizationAgent");

    on_plan(&app, &admin, &user, "pro", json!({"feature_limits": {"CategorizationAgent": 10}, "discount_percent": 20}))
        .await;
    credit(&app, &admin, &user, "10.00").await;
    let (status, price) = app.get_json("/api/v1/billing/features/CategorizationAgent/price", &user.token).await;
    assert_eq!(status, 200, "{price}");
    assert_eq!(
        (price["list_price"].clone(), price["price"].clone(), price["discount_percent"].clone()),
        (json!(1.0), json!(0.8), json!(20))
    );
    assert_eq!(price["available"], true);

    let (status, charged) =
        charge(&app, &user, json!({"feature": "CategorizationAgent", "units": 15, "event_id": "run-1"})).await;
    assert_eq!(status, 200, "{charged}");
    assert_eq!(charged["from_included"], 10);
    assert_eq!(charged["charged_units"], 5);
    assert_eq!(charged["charged"], 4.0);
    assert_eq!(charged["charged_minor"], 400);
    assert_eq!(charged["balance"], 6.0);
    assert_eq!(charged["balance_minor"], 600);
    assert_eq!(charged["duplicate"], false);

    // The same event_id again: the first answer, nothing charged.
    let (status, again) =
        charge(&app, &user, json!({"feature": "CategorizationAgent", "units": 15, "event_id": "run-1"})).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["charged_minor"], 400);
    assert_eq!(balance(&app, &user).await["balance_minor"], 600);

    // The features list shows the included units used up.
    let (status, offers) = app.get_json("/api/v1/billing/features", &user.token).await;
    assert_eq!(status, 200, "{offers}");
    let offer = offers.as_array().unwrap().iter().find(|o| o["name"] == "CategorizationAgent").unwrap().clone();
    assert_eq!((offer["included"].clone(), offer["remaining"].clone()), (json!(10), json!(0)));

    // The limits, the usage history and /me show it.
    let (status, limits) = app.get_json("/api/v1/billing/limits", &user.token).await;
    assert_eq!(status, 200, "{limits}");
    assert_eq!(
        limits["features"][0],
        json!({"name": "CategorizationAgent", "included": 10, "used": 10, "remaining": 0, "period_end": limits["period_end"]})
    );
    assert_eq!(limits["metrics"].as_array().unwrap().len(), 5);
    let (status, history) = app.get_json("/api/v1/billing/usage?feature=CategorizationAgent", &user.token).await;
    assert_eq!(status, 200, "{history}");
    assert_eq!(history["total"], 1);
    let line = &history["items"][0];
    assert_eq!(
        (line["kind"].clone(), line["units"].clone(), line["from_included"].clone(), line["charged"].clone()),
        (json!("feature"), json!(15), json!(10), json!(4.0))
    );
    let (_, only_metrics) = app.get_json("/api/v1/billing/usage?metric=images", &user.token).await;
    assert_eq!(only_metrics["total"], 0, "{only_metrics}");
    for bad in [
        "/api/v1/billing/usage?metric=nope",
        "/api/v1/billing/usage?page=0",
        "/api/v1/billing/usage?feature=a%20b",
        "/api/v1/billing/usage?to=-1",
    ] {
        let (status, problem) = app.get_json(bad, &user.token).await;
        assert_eq!(status, 422, "{bad}: {problem}");
    }
    let (_, me) = app.get_json("/api/v1/billing/me", &user.token).await;
    assert_eq!(me["balance"]["balance_minor"], 600, "{me}");

    // More than the balance pays: 402 with the figures, nothing recorded.
    let (status, short) = charge(&app, &user, json!({"feature": "CategorizationAgent", "units": 8})).await;
    assert_eq!(status, 402, "{short}");
    assert_eq!(short["code"], "insufficient_balance");
    assert_eq!(short["required"], 6.4);
    assert_eq!(short["balance"], 6.0);
    assert_eq!(balance(&app, &user).await["balance_minor"], 600);
    assert_ledger_matches(&app, &user).await;
    app.stop().await;
}
on_both_databases!(charges, a_charge_takes_included_units_first_then_the_discounted_price);

async fn concurrent_charges_never_overdraw_the_balance(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let user = app.customer("racer").await;
    create_feature(&app, &admin, json!({"name": "image", "title": "Image", "unit_price": 1.00, "access": "included"}))
        .await;
    credit(&app, &admin, &user, "50.00").await;
    let mut tasks = Vec::new();
    for i in 0..64 {
        let client = app.client.clone();
        let url = app.url("/api/v1/billing/charge");
        let token = user.token.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"feature": "image", "units": 1, "event_id": format!("img-{i}")});
            client.post(url).bearer_auth(token).json(&body).send().await.unwrap().status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 402).count();
    assert_eq!((ok, refused), (50, 14), "{statuses:?}");
    assert_eq!(balance(&app, &user).await["balance_micros"], 0);
    assert_ledger_matches(&app, &user).await;
    app.stop().await;
}
on_both_databases!(concurrent_charges, concurrent_charges_never_overdraw_the_balance);

/// 96 concurrent charges of 1 image (1.00 ₽, 10 included, 20 % off) for 40 distinct events
/// against 20.00 ₽, sent round-robin to the servers at `bases` (with as many concurrent consumes
/// of `requests` on the same account alongside), then checks what the single-charge rules say:
/// 10 events from the included units, 25 at 0.80 ₽, the other 5 refused for the balance, every
/// repeat answered with its event's first charge, every consume recorded.
async fn charge_forty_events_concurrently(app: &TestApp, bases: &[String]) {
    let admin = app.admin().await;
    let user = app.customer("grouped").await;
    create_feature(app, &admin, json!({"name": "image", "title": "Image", "unit_price": 1.00, "access": "premium"}))
        .await;
    on_plan(app, &admin, &user, "pro", json!({"feature_limits": {"image": 10}, "discount_percent": 20})).await;
    credit(app, &admin, &user, "20.00").await;
    let mut charges = Vec::new();
    let mut consumes = Vec::new();
    for i in 0..96 {
        let base = bases[i % bases.len()].clone();
        let (client, token) = (app.client.clone(), user.token.clone());
        charges.push(tokio::spawn(async move {
            let event_id = format!("img-{}", i % 40);
            let body = json!({"feature": "image", "units": 1, "event_id": event_id});
            let response = client
                .post(format!("{base}/api/v1/billing/charge"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (event_id, response.status().as_u16(), response.json::<Value>().await.unwrap())
        }));
        if bases.len() > 1 {
            let base = bases[(i + 1) % bases.len()].clone();
            let (client, token) = (app.client.clone(), user.token.clone());
            consumes.push(tokio::spawn(async move {
                let body = json!({"metric": "requests", "amount": 1, "event_id": format!("call-{i}")});
                let response = client
                    .post(format!("{base}/api/v1/billing/usage"))
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                response.status().as_u16()
            }));
        }
    }
    let mut answers = Vec::new();
    for task in charges {
        answers.push(task.await.unwrap());
    }
    for task in consumes {
        assert_eq!(task.await.unwrap(), 201, "a consume beside the charges");
    }
    assert!(answers.iter().all(|(_, status, _)| *status == 200 || *status == 402), "{answers:?}");
    let pool = app.reader().await;
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "select event_id, from_included, charged_micros from billing_charge where account_id = $1 order by event_id",
    )
    .bind(&user.account_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 35, "{rows:?}");
    assert_eq!(rows.iter().map(|r| r.1).sum::<i64>(), 10);
    assert_eq!(rows.iter().map(|r| r.2).sum::<i64>(), 2_000 * 1_000_000, "20.00 ₽ in micro-kopecks");
    assert_eq!(rows.iter().filter(|r| r.2 == 80 * 1_000_000).count(), 25);
    // A 200 for an event names that event's one stored charge.
    for (event_id, status, body) in &answers {
        if *status == 200 {
            let stored = rows.iter().find(|r| &r.0 == event_id).expect("an answered charge is stored");
            assert_eq!(
                (body["from_included"].as_i64(), body["charged_micros"].as_i64()),
                (Some(stored.1), Some(stored.2))
            );
        } else {
            assert_eq!(body["code"], "insufficient_balance", "{body}");
        }
    }
    let used: i64 =
        sqlx::query_scalar("select used from billing_usage_counter where account_id = $1 and metric = 'feature:image'")
            .bind(&user.account_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(used, 10);
    assert_eq!(balance(app, &user).await["balance_micros"], 0);
    assert_ledger_matches(app, &user).await;
}

/// Concurrent charges are committed in groups (`balance::group`): included units, the discount,
/// the balance and repeated `event_id`s decided together still follow the single-charge rules.
async fn grouped_charges_take_included_units_once_and_repeat_no_event(backend: Backend) {
    let app = spawn_app(backend).await;
    charge_forty_events_concurrently(&app, std::slice::from_ref(&app.base)).await;
    app.stop().await;
}
on_both_databases!(grouped_charges, grouped_charges_take_included_units_once_and_repeat_no_event);

/// Two servers on one database, each with its own charge and consume committers: a repeated
/// `event_id` charged by the other server meanwhile sends a group back to the single-charge
/// path, the locks of both kinds of group never deadlock, and the totals are the same.
async fn two_servers_charge_the_same_balance_and_events_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let replica = tariff::server::startup::Application::build(crate::common::config(&app.db, &[]), app.clock.clone())
        .await
        .expect("replica");
    let replica_base = format!("http://{}", replica.address());
    let replica_state = replica.state().clone();
    tokio::spawn(async move { replica.run_without_jobs_until(std::future::pending()).await.expect("replica") });
    charge_forty_events_concurrently(&app, &[app.base.clone(), replica_base]).await;
    replica_state.billing.store.close().await;
    app.stop().await;
}
on_both_databases!(two_servers_charging, two_servers_charge_the_same_balance_and_events_once);

/// 1,000 one-token charges at 0.15 ₽ per 1,000 tokens debit exactly 0.15 ₽.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_kopeck_prices_add_up_exactly() {
    let app = spawn_app(Backend::Sqlite).await;
    let admin = app.admin().await;
    let user = app.customer("tokens").await;
    create_feature(
        &app,
        &admin,
        json!({"name": "gpt-4o", "title": "GPT-4o", "unit_price": 0.15, "per_units": 1000, "access": "included"}),
    )
    .await;
    credit(&app, &admin, &user, "1.00").await;
    let (_, first) = charge(&app, &user, json!({"feature": "gpt-4o", "units": 1})).await;
    assert_eq!(first["charged_micros"], 15_000, "{first}");
    assert_eq!(first["charged"], 0.00015);
    for _ in 1..1000 {
        let (status, body) = charge(&app, &user, json!({"feature": "gpt-4o", "units": 1})).await;
        assert_eq!(status, 200, "{body}");
    }
    let b = balance(&app, &user).await;
    assert_eq!(b["balance_micros"], 85 * 1_000_000, "{b}");
    assert_eq!(b["balance"], 0.85);
    assert_eq!(b["balance_minor"], 85);
    assert_ledger_matches(&app, &user).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_adjustments_are_audited_and_never_go_below_zero() {
    let app = spawn_app(Backend::Sqlite).await;
    let admin = app.admin().await;
    let user = app.customer("adjusted").await;
    let path = format!("/api/v1/admin/billing/users/{}/balance", user.id);
    let (status, b) =
        app.post_json(&path, &admin.token, json!({"amount": 50.00, "reason": "goodwill for outage"})).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["balance"], 50.0);
    assert_eq!(b["entries"][0]["reason"], "adjustment");
    assert_eq!(b["entries"][0]["description"], "goodwill for outage");
    assert_eq!(b["entries"][0]["actor"], admin.id.as_str());
    let (status, page) = app.get_json("/api/v1/admin/billing/audit?action=balance.adjust", &admin.token).await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 1, "{page}");
    let entry = &page["items"][0];
    assert_eq!(entry["user_id"], admin.id.as_str());
    assert!(entry["description"].as_str().unwrap().contains("credited 50.00 RUB: goodwill for outage"), "{entry}");
    assert_eq!(entry["changes"]["reason"]["after"], "goodwill for outage");

    // A debit beyond the balance: 422 on amount, nothing changes.
    let (status, refused) = app.post_json(&path, &admin.token, json!({"amount": -50.01, "reason": "too much"})).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["errors"][0]["field"], "amount");
    let (status, b) = app.post_json(&path, &admin.token, json!({"amount": "-20.00", "reason": "correction"})).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["balance_minor"], 3_000);

    // Bad input: zero, three decimals, no reason; other users' tokens; unknown users.
    for (body, field) in [
        (json!({"amount": 0, "reason": "x"}), "amount"),
        (json!({"amount": 1.005, "reason": "x"}), "amount"),
        (json!({"amount": 1, "reason": "  "}), "reason"),
    ] {
        let (status, problem) = app.post_json(&path, &admin.token, body).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let (status, _) = app.post_json(&path, &user.token, json!({"amount": 5, "reason": "self"})).await;
    assert_eq!(status, 403);
    let (status, _) = app.call(Method::POST, &path, None, Some(json!({"amount": 5, "reason": "x"}))).await;
    assert_eq!(status, 401);
    let (status, _) = app
        .post_json("/api/v1/admin/billing/users/nobody/balance", &admin.token, json!({"amount": 5, "reason": "x"}))
        .await;
    assert_eq!(status, 404);
    assert_eq!(balance(&app, &user).await["balance_minor"], 3_000);
    assert_ledger_matches(&app, &user).await;

    // The account's own low-balance threshold: 30.00 is low under the default 100.00, not under 20.00.
    assert_eq!(balance(&app, &user).await["low"], true, "below the default 100.00");
    let (status, b) =
        app.call(Method::PATCH, &path, Some(&admin.token), Some(json!({"low_balance_threshold": 20.00}))).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!((b["low"].clone(), b["low_balance_threshold_minor"].clone()), (json!(false), json!(2_000)));
    let (status, _) =
        app.call(Method::PATCH, &path, Some(&admin.token), Some(json!({"low_balance_threshold": -1}))).await;
    assert_eq!(status, 422);
    let (status, _) =
        app.call(Method::PATCH, &path, Some(&user.token), Some(json!({"low_balance_threshold": 1}))).await;
    assert_eq!(status, 403);
    let (status, b) =
        app.call(Method::PATCH, &path, Some(&admin.token), Some(json!({"low_balance_threshold": null}))).await;
    assert_eq!((status, b["low_balance_threshold_minor"].clone()), (200, json!(10_000)));
    let (_, page) = app.get_json("/api/v1/admin/billing/audit?action=balance.threshold", &admin.token).await;
    assert_eq!(page["total"], 2, "{page}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_charges_features_and_topups_change_nothing() {
    let app = spawn_app(Backend::Sqlite).await;
    let admin = app.admin().await;
    let user = app.customer("careless").await;
    let other = app.customer("other").await;
    create_feature(&app, &admin, json!({"name": "tts", "title": "Speech", "unit_price": 2.00, "access": "included"}))
        .await;
    create_feature(
        &app,
        &admin,
        json!({"name": "vip", "title": "VIP", "unit_price": 2.00, "access": "exclusive", "is_active": false}),
    )
    .await;
    credit(&app, &admin, &user, "10.00").await;

    // Charges: bad units, unknown and inactive features, another user, an exclusive feature.
    for (body, status) in [
        (json!({"feature": "tts", "units": 0}), 422),
        (json!({"feature": "tts", "units": -3}), 422),
        (json!({"feature": "tts", "units": 1.5}), 422),
        (json!({"feature": "nope", "units": 1}), 404),
        (json!({"feature": "vip", "units": 1}), 404),
        (json!({"feature": "tts", "units": 1, "user_id": other.id}), 403),
        (json!({"feature": "tts", "units": 1, "metadata": [1]}), 422),
    ] {
        let (got, problem) = charge(&app, &user, body.clone()).await;
        assert_eq!(got, status, "{body} → {problem}");
    }
    assert_eq!(balance(&app, &user).await["balance_minor"], 1_000);
    let (status, _) =
        app.call(Method::POST, "/api/v1/billing/charge", None, Some(json!({"feature": "tts", "units": 1}))).await;
    assert_eq!(status, 401);
    let (status, _) = app.get_json("/api/v1/billing/features/vip/price", &user.token).await;
    assert_eq!(status, 404);

    // Features: names, prices, access and discounts are checked; duplicates conflict.
    for (body, field) in [
        (json!({"name": "bad name", "title": "X", "unit_price": 1, "access": "included"}), "name"),
        (json!({"name": "x1", "title": "X", "unit_price": 1.001, "access": "included"}), "unit_price"),
        (json!({"name": "x2", "title": "X", "unit_price": 1, "access": "vip"}), "access"),
        (json!({"name": "x3", "title": "X", "unit_price": 0.01, "per_units": 7, "access": "included"}), "per_units"),
        (json!({"name": "x4", "title": "", "unit_price": 1, "access": "included"}), "title"),
    ] {
        let (status, problem) = app.post_json("/api/v1/admin/billing/features", &admin.token, body.clone()).await;
        assert_eq!(status, 422, "{body} → {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let (status, _) = app
        .post_json(
            "/api/v1/admin/billing/features",
            &admin.token,
            json!({"name": "tts", "title": "Again", "unit_price": 1, "access": "included"}),
        )
        .await;
    assert_eq!(status, 409);
    let (status, _) = app
        .post_json(
            "/api/v1/admin/billing/features",
            &user.token,
            json!({"name": "y", "title": "Y", "unit_price": 1, "access": "included"}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .call(Method::PUT, "/api/v1/admin/billing/features/nope", Some(&admin.token), Some(json!({"title": "Z"})))
        .await;
    assert_eq!(status, 404);
    let (status, updated) = app
        .call(Method::PUT, "/api/v1/admin/billing/features/tts", Some(&admin.token), Some(json!({"unit_price": 3.00})))
        .await;
    assert_eq!((status, updated["unit_price_minor"].clone()), (200, json!(300)), "{updated}");
    let (status, page) =
        app.get_json("/api/v1/admin/billing/audit?entity_type=feature&entity_id=tts", &admin.token).await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 2, "create and update are audited: {page}");
    let (status, _) = app
        .call(
            Method::PUT,
            "/api/v1/admin/billing/plans/pro",
            Some(&admin.token),
            Some(json!({"discount_percent": 101})),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = app
        .call(
            Method::PUT,
            "/api/v1/admin/billing/plans/pro",
            Some(&admin.token),
            Some(json!({"feature_limits": {"tts": -1}})),
        )
        .await;
    assert_eq!(status, 422);

    // Top-ups: outside the limits, inexact, not positive, a bad return URL.
    for (amount, field) in
        [(json!(9.99), "amount"), (json!(700_000.01), "amount"), (json!(500.001), "amount"), (json!(-10), "amount")]
    {
        let (status, problem) = app
            .post_json("/api/v1/billing/topup", &user.token, json!({"amount": amount, "return_url": RETURN_URL}))
            .await;
        assert_eq!(status, 422, "{amount} → {problem}");
        assert_eq!(problem["errors"][0]["field"], field);
    }
    let (status, problem) =
        app.post_json("/api/v1/billing/topup", &user.token, json!({"amount": 100, "return_url": "ftp://x"})).await;
    assert_eq!(status, 422, "{problem}");
    let transactions: i64 = sqlx::query_scalar("select count(*) from billing_transaction where kind = 'topup'")
        .fetch_one(&app.reader().await)
        .await
        .unwrap();
    assert_eq!(transactions, 0, "refused top-ups store nothing");
    app.stop().await;
}

async fn usage_past_a_quota_with_an_overage_price_is_paid_from_the_balance(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let user = app.customer("overage").await;
    on_plan(&app, &admin, &user, "pro", json!({"quotas": {"images": 2, "requests": 1}, "overage": {"images": 500}}))
        .await;
    credit(&app, &admin, &user, "12.00").await;
    let track = |amount: i64| {
        let body = json!({"metric": "images", "amount": amount});
        let app = &app;
        let token = user.token.clone();
        async move { app.post_json("/api/v1/billing/usage", &token, body).await }
    };
    let (status, within) = track(2).await;
    assert_eq!(status, 201, "{within}");
    assert_eq!(within["charged_micros"], 0);

    let (status, check) =
        app.post_json("/api/v1/billing/usage/check", &user.token, json!({"metric": "images", "amount": 1})).await;
    assert_eq!(status, 200, "{check}");
    assert_eq!(
        (check["allowed"].clone(), check["covered_by"].clone(), check["cost"].clone()),
        (json!(true), json!("balance"), json!(5.0))
    );

    // Three more images cost 15.00: more than the balance, nothing recorded.
    let (status, refused) = track(3).await;
    assert_eq!(status, 402, "{refused}");
    assert_eq!((refused["required"].clone(), refused["balance"].clone()), (json!(15.0), json!(12.0)));
    let (_, standing) = app.get_json("/api/v1/billing/usage/images", &user.token).await;
    assert_eq!(standing["current_usage"], 2, "{standing}");

    let (status, paid) = track(2).await;
    assert_eq!(status, 201, "{paid}");
    assert_eq!((paid["overage_units"].clone(), paid["charged"].clone()), (json!(2), json!(10.0)));
    assert_eq!(balance(&app, &user).await["balance_minor"], 200);
    let (status, _) = track(1).await;
    assert_eq!(status, 402);
    let (_, check) =
        app.post_json("/api/v1/billing/usage/check", &user.token, json!({"metric": "images", "amount": 1})).await;
    assert_eq!(check["allowed"], false, "{check}");
    assert!(check.get("covered_by").is_none(), "{check}");
    let (_, history) = app.get_json("/api/v1/billing/usage?metric=images", &user.token).await;
    assert_eq!(history["total"], 2, "{history}");
    assert_eq!(history["items"][0]["charged"], 10.0);
    assert_eq!(history["items"][1]["charged"], 0.0);
    // A metric without an overage price stays a 429 past its quota.
    let (status, _) =
        app.post_json("/api/v1/billing/usage", &user.token, json!({"metric": "requests", "amount": 2})).await;
    assert_eq!(status, 429);
    assert_ledger_matches(&app, &user).await;
    // The usage page shows the charge next to its event and what overage cost this period.
    let browser = crate::portal::Browser::new(&app);
    let (status, body, _) =
        browser.call("login", &[("email", &user.email), ("password", "a long enough password")]).await;
    assert_eq!(status, 200, "{body}");
    let (status, html, _) = browser.page("/billing/usage").await;
    assert_eq!(status, 200);
    assert!(html.contains("data-charged-micros=\"1000000000\""), "{html}");
    assert!(html.contains("data-testid=\"payg-cost\""), "{html}");
    app.stop().await;
}
on_both_databases!(overage, usage_past_a_quota_with_an_overage_price_is_paid_from_the_balance);

/// Pays a top-up of `amount` (major units, JSON number) through the sandbox; returns its id.
async fn paid_topup(app: &TestApp, user: &TestUser, amount: Value) -> String {
    let (status, started) =
        app.post_json("/api/v1/billing/topup", &user.token, json!({"amount": amount, "return_url": RETURN_URL})).await;
    assert_eq!(status, 200, "{started}");
    let id = started["transaction_id"].as_str().unwrap().to_owned();
    pay(app, started["confirmation_url"].as_str().unwrap(), "5555 5555 5555 4444").await;
    assert_eq!(final_transaction(app, user, &id).await["status"], "succeeded");
    id
}

async fn a_topup_refund_takes_back_only_what_is_unspent(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let admin = app.admin().await;
    let user = app.customer("refunded").await;
    let topup = paid_topup(&app, &user, json!(500)).await;
    create_feature(&app, &admin, json!({"name": "run", "title": "Run", "unit_price": 1.00, "access": "included"}))
        .await;
    let (status, _) = charge(&app, &user, json!({"feature": "run", "units": 200})).await;
    assert_eq!(status, 200);
    let path = format!("/api/v1/admin/billing/transactions/{topup}/refund");
    let (status, refused) = app.post_json(&path, &admin.token, json!({"amount": 300.01})).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["errors"][0]["field"], "amount");
    assert!(refused["errors"][0]["message"].as_str().unwrap().contains("300"), "{refused}");
    assert_eq!(balance(&app, &user).await["balance_minor"], 30_000, "a refused refund changes nothing");
    let (status, refund) = app.post_json(&path, &admin.token, json!({"amount": 300})).await;
    assert_eq!(status, 200, "{refund}");
    let b = balance(&app, &user).await;
    assert_eq!(b["balance_minor"], 0, "{b}");
    assert_eq!(b["entries"][0]["reason"], "refund");
    assert_ledger_matches(&app, &user).await;
    app.stop().await;
}
on_both_databases!(topup_refund, a_topup_refund_takes_back_only_what_is_unspent);

async fn batch_overage_is_charged_as_far_as_the_balance_goes_and_the_rest_is_owed(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let admin = app.admin().await;
    let service = app.user(&crate::portal::email("ingest"), false, tariff_model::Scope::Service).await;
    let user = app.customer("batched").await;
    on_plan(&app, &admin, &user, "pro", json!({"quotas": {"images": 2}, "overage": {"images": 500}})).await;
    credit(&app, &admin, &user, "7.00").await;
    let events: Vec<Value> = (0..4)
        .map(|i| json!({"user_id": user.id, "metric": "images", "amount": 1, "event_id": format!("b-{i}")}))
        .collect();
    let (status, outcome) =
        app.post_json("/api/v1/billing/usage/batch", &service.token, json!({"events": events})).await;
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome["accepted"], 4);
    let b = balance(&app, &user).await;
    assert_eq!((b["balance_minor"].clone(), b["owed"].clone()), (json!(0), json!(3.0)), "{b}");
    // The same batch again: duplicates, nothing charged or owed twice.
    let (_, again) = app.post_json("/api/v1/billing/usage/batch", &service.token, json!({"events": events})).await;
    assert_eq!(again["duplicates"], 4, "{again}");
    assert_eq!(balance(&app, &user).await["owed"], 3.0);
    // The next top-up pays what is owed first.
    paid_topup(&app, &user, json!(100)).await;
    let b = balance(&app, &user).await;
    assert_eq!((b["balance_minor"].clone(), b["owed_micros"].clone()), (json!(9_700), json!(0)), "{b}");
    assert_ledger_matches(&app, &user).await;
    app.stop().await;
}
on_both_databases!(batch_overage, batch_overage_is_charged_as_far_as_the_balance_goes_and_the_rest_is_owed);
