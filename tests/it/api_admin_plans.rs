//! Admin plan routes (spec 000 "Admin Endpoints"), the setup guide's `POST /api/v1/billing/plans`,
//! statistics and MRR, and the audit trail — over HTTP on SQLite and PostgreSQL.

use crate::common::{Backend, TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

/// The body of the spec's `curl` example (spec 000 "Creating a New Billing Plan", spec 003 §3).
fn spec_pro_body() -> Value {
    json!({
        "name": "Pro",
        "name_ru": "Профессиональный",
        "description": "Advanced features and higher quotas",
        "description_ru": "Расширенные возможности и увеличенные квоты",
        "price": 990.00,
        "currency": "RUB",
        "interval": "month",
        "quotas": {"tokens_input": 1000000, "tokens_output": 500000, "requests": 10000},
        "features": ["gpt4_access", "claude_access", "priority_support"],
        "is_active": true,
        "display_order": 1
    })
}

async fn plan_count(app: &TestApp, token: &str) -> usize {
    app.get_json("/api/v1/admin/billing/plans", token).await.1.as_array().unwrap().len()
}

async fn the_spec_curl_examples_create_plans(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let (status, plan) = app.post_json("/api/v1/admin/billing/plans", &admin.token, spec_pro_body()).await;
    assert_eq!(status, 201, "{plan}");
    assert_eq!(plan["id"], "pro_2", "the seeded pro keeps its id; the new one gets a free id");
    assert_eq!(plan["price"], 990.0);
    assert_eq!(plan["price_minor"], 99_000);
    assert_eq!(plan["features"], json!(["gpt4_access", "claude_access", "priority_support"]));
    assert_eq!(plan["quotas"]["tokens_output"], 500_000);

    let (status, plan) = app.post_json("/api/v1/billing/plans", &admin.token, spec_pro_body()).await;
    assert_eq!(status, 201, "the setup guide's route works for admins: {plan}");
    assert_eq!(plan["id"], "pro_3");

    let mut explicit = spec_pro_body();
    explicit["id"] = json!("pro_monthly");
    explicit["price"] = json!(19.99);
    explicit["currency"] = json!("usd");
    let (status, plan) = app.post_json("/api/v1/admin/billing/plans", &admin.token, explicit).await;
    assert_eq!(status, 201);
    assert_eq!(plan["id"], "pro_monthly");
    assert_eq!(plan["price_minor"], 1_999);
    assert_eq!(plan["currency"], "USD");

    // The public list shows active plans, the new ones included.
    let response = app.get("/api/v1/billing/plans").await;
    let plans: Vec<Value> = response.json().await.unwrap();
    assert!(plans.iter().any(|p| p["id"] == "pro_2"));
    app.stop().await;
}
on_both_databases!(spec_create, the_spec_curl_examples_create_plans);

async fn invalid_plans_are_refused_with_field_errors_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let alice = app.customer("alice").await;
    let before = plan_count(&app, &admin.token).await;

    let cases = [
        (json!({"price": 10}), "name"),
        (json!({"name": "X"}), "price"),
        (json!({"name": "X", "price": -1}), "price"),
        (json!({"name": "X", "price": 9.999}), "price"),
        (json!({"name": "X", "price": 1, "currency": "GBP"}), "currency"),
        (json!({"name": "X", "price": 1, "interval": "fortnight"}), "interval"),
        (json!({"name": "X", "price": 1, "quotas": {"tokenz": 5}}), "quotas.tokenz"),
        (json!({"name": "X", "price": 1, "quotas": {"requests": -5}}), "quotas.requests"),
        (json!({"name": "X", "price": 1, "trial_days": 400}), "trial_days"),
        (json!({"name": "X", "price": 1, "id": "Bad Id!"}), "id"),
        (json!({"name": "X", "price": 1, "plan_extra_metadata": [1]}), "plan_extra_metadata"),
        (json!({"name": "X", "price": "cheap"}), "price"),
    ];
    for (body, field) in cases {
        let (status, problem) = app.post_json("/api/v1/admin/billing/plans", &admin.token, body.clone()).await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert!(
            problem["errors"].as_array().unwrap().iter().any(|e| e["field"] == field),
            "{body} should name {field}: {problem}"
        );
    }
    let (status, problem) = app
        .post_json("/api/v1/admin/billing/plans", &admin.token, json!({"id": "free", "name": "Free again", "price": 0}))
        .await;
    assert_eq!(status, 409, "{problem}");
    let (status, _) = app.post_json("/api/v1/admin/billing/plans", &alice.token, spec_pro_body()).await;
    assert_eq!(status, 403);
    let (status, _) = app.call(Method::POST, "/api/v1/admin/billing/plans", None, Some(spec_pro_body())).await;
    assert_eq!(status, 401);
    assert_eq!(plan_count(&app, &admin.token).await, before, "nothing was created");
    app.stop().await;
}
on_both_databases!(create_validation, invalid_plans_are_refused_with_field_errors_and_change_nothing);

async fn updates_are_partial_audited_and_never_lower_a_quota_with_subscribers(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let alice = app.customer("alice").await; // on the free plan

    // A new price must be confirmed; unconfirmed, nothing changes.
    let (status, body) =
        app.call(Method::PUT, "/api/v1/admin/billing/plans/pro", Some(&admin.token), Some(json!({"price": 890}))).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "price");
    assert_eq!(body["code"], "validation_failed");
    let (_, unchanged) = app.get_json("/api/v1/admin/billing/plans/pro", &admin.token).await;
    assert_eq!(unchanged["price_minor"], 99_000);
    let body = json!({"price": 890, "confirm_price_change": true});
    let (status, plan) = app.call(Method::PUT, "/api/v1/admin/billing/plans/pro", Some(&admin.token), Some(body)).await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["price_minor"], 89_000);
    assert_eq!(plan["name"], "Pro", "untouched fields stay");
    assert_eq!(plan["quotas"]["tokens_input"], 1_000_000);

    // Free has subscribers: lowering (or limiting) a quota is refused and nothing changes.
    for quotas in [
        json!({"tokens_input": 10, "tokens_output": 50000, "requests": 1000}),
        json!({"tokens_output": 50000, "requests": 1000, "images": 5}),
    ] {
        let body = json!({"quotas": quotas, "name": "Renamed"});
        let (status, problem) =
            app.call(Method::PUT, "/api/v1/admin/billing/plans/free", Some(&admin.token), Some(body)).await;
        assert_eq!(status, 422, "{problem}");
        let field = problem["errors"][0]["field"].as_str().unwrap();
        assert!(field.starts_with("quotas."), "{field}");
    }
    let free: Value = app.get("/api/v1/billing/plans/free").await.json().await.unwrap();
    assert_eq!(free["name"], "Free");
    assert_eq!(free["quotas"]["tokens_input"], 100_000);

    // Raising a quota, or making it unlimited, is fine.
    let body = json!({"quotas": {"tokens_input": 200000, "tokens_output": 50000, "requests": null}});
    let (status, plan) =
        app.call(Method::PUT, "/api/v1/admin/billing/plans/free", Some(&admin.token), Some(body)).await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["quotas"]["requests"], Value::Null);

    // A plan without subscribers may lower quotas; ids cannot change; unknown plans are 404.
    let (status, _) = app
        .call(
            Method::PUT,
            "/api/v1/admin/billing/plans/business",
            Some(&admin.token),
            Some(json!({"quotas": {"requests": 1}})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .call(Method::PUT, "/api/v1/admin/billing/plans/business", Some(&admin.token), Some(json!({"id": "other"})))
        .await;
    assert_eq!(status, 422);
    let (status, _) =
        app.call(Method::PUT, "/api/v1/admin/billing/plans/nope", Some(&admin.token), Some(json!({"price": 1}))).await;
    assert_eq!(status, 404);
    let (status, _) =
        app.call(Method::PUT, "/api/v1/admin/billing/plans/pro", Some(&alice.token), Some(json!({"price": 1}))).await;
    assert_eq!(status, 403);

    // The price change is in the audit log with before/after and the actor.
    let (status, page) = app
        .get_json("/api/v1/admin/billing/audit?entity_type=plan&entity_id=pro&action=plan.update", &admin.token)
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 1);
    let entry = &page["items"][0];
    assert_eq!(entry["user_id"], admin.id.as_str());
    assert!(entry["description"].as_str().unwrap().contains("price changed from 990.00 RUB to 890.00 RUB"));
    assert_eq!(entry["changes"]["price_minor"], json!({"before": 99000, "after": 89000}));
    assert!(entry["audit_metadata"]["request_id"].is_string());
    let (status, page) = app.get_json(&format!("/api/v1/admin/billing/audit?user_id={}", admin.id), &admin.token).await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 3, "two quota updates that succeeded and the price change");
    let (status, _) = app.get_json("/api/v1/admin/billing/audit?page=0", &admin.token).await;
    assert_eq!(status, 422);
    let (status, _) = app.get_json("/api/v1/admin/billing/audit", &alice.token).await;
    assert_eq!(status, 403);
    app.stop().await;
}
on_both_databases!(update_rules, updates_are_partial_audited_and_never_lower_a_quota_with_subscribers);

async fn delete_toggle_duplicate_and_subscribers(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let alice = app.customer("alice").await;

    let (status, problem) =
        app.call(Method::DELETE, "/api/v1/admin/billing/plans/free", Some(&admin.token), None).await;
    assert_eq!(status, 409, "free is every account's floor: {problem}");
    assert!(problem["detail"].as_str().unwrap().contains("cannot be deleted"));
    let bob = app.customer("bob").await;
    app.post_json("/api/v1/admin/billing/subscriptions", &admin.token, json!({"user_id": bob.id, "plan_id": "pro"}))
        .await;
    let (status, problem) = app.call(Method::DELETE, "/api/v1/admin/billing/plans/pro", Some(&admin.token), None).await;
    assert_eq!(status, 409, "pro has a subscriber: {problem}");
    assert!(problem["detail"].as_str().unwrap().contains("deactivate"));

    let (status, copy) =
        app.call(Method::POST, "/api/v1/admin/billing/plans/pro/duplicate", Some(&admin.token), None).await;
    assert_eq!(status, 201);
    assert_eq!(copy["id"], "pro_copy");
    assert_eq!(copy["is_active"], false);
    assert_eq!(copy["name"], "Pro (copy)");
    assert_eq!(copy["quotas"]["tokens_input"], 1_000_000);
    let (_, copy2) =
        app.call(Method::POST, "/api/v1/admin/billing/plans/pro/duplicate", Some(&admin.token), None).await;
    assert_eq!(copy2["id"], "pro_copy_2");
    let (status, named) = app
        .call(
            Method::POST,
            "/api/v1/admin/billing/plans/pro/duplicate",
            Some(&admin.token),
            Some(json!({"id": "pro_v2", "name": "Pro v2"})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!((named["id"].as_str(), named["name"].as_str()), (Some("pro_v2"), Some("Pro v2")));
    let (status, _) =
        app.call(Method::POST, "/api/v1/admin/billing/plans/ghost/duplicate", Some(&admin.token), None).await;
    assert_eq!(status, 404);

    let (status, toggled) =
        app.call(Method::PATCH, "/api/v1/admin/billing/plans/pro_copy/toggle", Some(&admin.token), None).await;
    assert_eq!(status, 200);
    assert_eq!(toggled["is_active"], true);
    assert_eq!(app.get("/api/v1/billing/plans/pro_copy").await.status(), 200);

    let (status, deleted) =
        app.call(Method::DELETE, "/api/v1/admin/billing/plans/pro_copy", Some(&admin.token), None).await;
    assert_eq!(status, 200);
    assert_eq!(deleted["deleted"], true);
    let (status, _) = app.call(Method::DELETE, "/api/v1/admin/billing/plans/pro_copy", Some(&admin.token), None).await;
    assert_eq!(status, 404);

    let (status, page) = app.get_json("/api/v1/admin/billing/plans/free/subscribers", &admin.token).await;
    assert_eq!(status, 200);
    let emails: Vec<&str> = page["items"].as_array().unwrap().iter().map(|s| s["email"].as_str().unwrap()).collect();
    assert!(emails.contains(&alice.email.as_str()));
    let alice_row = page["items"].as_array().unwrap().iter().find(|s| s["email"] == alice.email.as_str()).unwrap();
    assert_eq!(alice_row["status"], "active");
    assert_eq!(alice_row["name"], alice.email.split('@').next().unwrap());
    assert!(alice_row["current_period_end"].as_i64().unwrap() > 0);
    let (_, canceled) =
        app.get_json("/api/v1/admin/billing/plans/free/subscribers?status=canceled", &admin.token).await;
    assert_eq!(canceled["total"], 0);
    let (status, _) = app.get_json("/api/v1/admin/billing/plans/free/subscribers?status=zombie", &admin.token).await;
    assert_eq!(status, 422);
    let (status, _) = app.get_json("/api/v1/admin/billing/plans/free/subscribers?page_size=1000", &admin.token).await;
    assert_eq!(status, 422);
    let (status, _) = app.get_json("/api/v1/admin/billing/plans/ghost/subscribers", &admin.token).await;
    assert_eq!(status, 404);
    let (_, one) = app.get_json("/api/v1/admin/billing/plans/free/subscribers?page_size=1&page=2", &admin.token).await;
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    assert_eq!(one["page"], 2);

    let (_, actions) = app.get_json("/api/v1/admin/billing/audit?entity_id=pro_copy", &admin.token).await;
    let names: Vec<&str> = actions["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(names, ["plan.delete", "plan.toggle", "plan.duplicate"]);
    app.stop().await;
}
on_both_databases!(plan_lifecycle, delete_toggle_duplicate_and_subscribers);

async fn statistics_and_mrr_follow_the_definition(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let options = tariff_core::plans::InitOptions { include_annual: true, ..Default::default() };
    tariff_core::plans::init_plans(app.store(), 0, &tariff_core::audit::Actor::cli(), options).await.unwrap();
    let (a, b, c, d) =
        (app.customer("a").await, app.customer("b").await, app.customer("c").await, app.customer("d").await);
    let trial_plan = json!({"id": "pro_trial", "name": "Pro trial", "price": 990, "trial_days": 14});
    assert_eq!(app.post_json("/api/v1/admin/billing/plans", &admin.token, trial_plan).await.0, 201);
    for (user, plan) in [(&a, "pro"), (&b, "pro"), (&c, "pro_annual"), (&d, "pro_trial")] {
        let (status, sub) = app
            .post_json(
                "/api/v1/admin/billing/subscriptions",
                &admin.token,
                json!({"user_id": user.id, "plan_id": plan}),
            )
            .await;
        assert_eq!(status, 200, "{sub}");
    }
    // b cancels at period end: still in MRR, not in committed MRR.
    let (status, _) = app.post_json("/api/v1/billing/subscription/cancel", &b.token, json!({"immediate": false})).await;
    assert_eq!(status, 200);

    let (status, totals) = app.get_json("/api/v1/admin/billing/stats", &admin.token).await;
    assert_eq!(status, 200);
    let rub = totals["mrr"].as_array().unwrap().iter().find(|m| m["currency"] == "RUB").unwrap().clone();
    // 2 × 990 + 9504 / 12 = 1980 + 792; the trial is excluded.
    assert_eq!(rub["mrr_minor"], 2 * 99_000 + 950_400 / 12);
    assert_eq!(rub["mrr"], 2772.0);
    assert_eq!(rub["committed_mrr_minor"], 99_000 + 950_400 / 12);
    assert_eq!(totals["trialing_subscriptions"], 1);

    let (_, plans) = app.get_json("/api/v1/admin/billing/plans", &admin.token).await;
    let pro = plans.as_array().unwrap().iter().find(|p| p["id"] == "pro").unwrap();
    assert_eq!(pro["active_subscriptions"], 2);
    assert_eq!(pro["total_subscriptions"], 2);
    assert_eq!(pro["mrr_minor"], 198_000);
    assert_eq!(pro["committed_mrr_minor"], 99_000);
    let free = plans.as_array().unwrap().iter().find(|p| p["id"] == "free").unwrap();
    assert_eq!(free["mrr_minor"], 0);
    let (status, one) = app.get_json("/api/v1/admin/billing/plans/pro_trial", &admin.token).await;
    assert_eq!(status, 200);
    assert_eq!(one["trialing_subscriptions"], 1);
    assert_eq!(one["mrr_minor"], 0);
    let (status, _) = app.get_json("/api/v1/admin/billing/plans/ghost", &admin.token).await;
    assert_eq!(status, 404);

    let (_, audit) = app.get_json("/api/v1/admin/billing/audit?action=subscription.assign", &admin.token).await;
    assert_eq!(audit["total"], 4);
    app.stop().await;
}
on_both_databases!(stats, statistics_and_mrr_follow_the_definition);

/// Seed 001's appendix lists the admin routes under `/billing/admin/plans`: they answer exactly as
/// their seed 000 twins under `/admin/billing/plans` (issue 17), and refuse user tokens alike.
#[tokio::test]
async fn seed_001_admin_paths_answer_as_their_seed_000_twins() {
    let app = spawn_app(Backend::Sqlite).await;
    let admin = app.admin().await;
    let user = app.customer("alias-user").await;
    let seed_000 = "/api/v1/admin/billing/plans";
    let seed_001 = "/api/v1/billing/admin/plans";
    for suffix in ["", "/pro", "/pro/subscribers", "/free/subscribers?page_size=5"] {
        let twin = app.call(Method::GET, &format!("{seed_000}{suffix}"), Some(&admin.token), None).await;
        let alias = app.call(Method::GET, &format!("{seed_001}{suffix}"), Some(&admin.token), None).await;
        assert_eq!(twin.0, 200, "{suffix}");
        assert_eq!(alias, twin, "GET {seed_001}{suffix}");
    }
    // Create, update (PUT and PATCH), toggle, duplicate and delete through the seed 001 paths.
    let (status, created) = app
        .call(Method::POST, seed_001, Some(&admin.token), Some(json!({"id": "alias", "name": "Alias", "price": 10})))
        .await;
    assert_eq!(status, 201, "{created}");
    let (status, patched) = app
        .call(Method::PATCH, &format!("{seed_001}/alias"), Some(&admin.token), Some(json!({"name": "Alias 2"})))
        .await;
    assert_eq!((status, patched["name"].as_str()), (200, Some("Alias 2")), "{patched}");
    let (status, put) = app
        .call(Method::PUT, &format!("{seed_001}/alias"), Some(&admin.token), Some(json!({"display_order": 9})))
        .await;
    assert_eq!((status, put["display_order"].as_i64()), (200, Some(9)), "{put}");
    let (_, seen) = app.call(Method::GET, &format!("{seed_000}/alias"), Some(&admin.token), None).await;
    assert_eq!(seen["name"], "Alias 2");
    let (status, toggled) =
        app.call(Method::PATCH, &format!("{seed_001}/alias/toggle"), Some(&admin.token), None).await;
    assert_eq!(status, 200, "{toggled}");
    let (status, copy) = app.call(Method::POST, &format!("{seed_001}/alias/duplicate"), Some(&admin.token), None).await;
    assert_eq!(status, 201, "{copy}");
    for id in ["alias", copy["id"].as_str().unwrap()] {
        let (status, body) = app.call(Method::DELETE, &format!("{seed_001}/{id}"), Some(&admin.token), None).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(app.call(Method::GET, &format!("{seed_001}/alias"), Some(&admin.token), None).await.0, 404);
    // A user token gets 403 on every alias, as on its twin; no token gets 401.
    for (method, path) in [
        (Method::GET, seed_001.to_owned()),
        (Method::POST, seed_001.to_owned()),
        (Method::GET, format!("{seed_001}/pro")),
        (Method::PATCH, format!("{seed_001}/pro")),
        (Method::DELETE, format!("{seed_001}/pro")),
        (Method::GET, format!("{seed_001}/pro/subscribers")),
    ] {
        let (status, _) = app.call(method.clone(), &path, Some(&user.token), Some(json!({}))).await;
        assert_eq!(status, 403, "{method} {path}");
        assert_eq!(app.call(method.clone(), &path, None, None).await.0, 401, "{method} {path}");
    }
    // The document lists the aliases and says whose they are.
    let (_, doc) = app.call(Method::GET, "/api/v1/openapi.json", None, None).await;
    let alias = &doc["paths"]["/api/v1/billing/admin/plans/{plan_id}"];
    assert!(
        alias["patch"]["description"]
            .as_str()
            .unwrap()
            .starts_with("Alias of `PUT /api/v1/admin/billing/plans/{plan_id}`")
    );
    assert_ne!(
        alias["get"]["operationId"],
        doc["paths"]["/api/v1/admin/billing/plans/{plan_id}"]["get"]["operationId"]
    );
    app.stop().await;
}
