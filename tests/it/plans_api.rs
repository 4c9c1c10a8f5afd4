//! `GET /api/v1/billing/plans` and `/plans/{plan_id}`, health check and API 404s, over real HTTP,
//! on SQLite and PostgreSQL.

use crate::common::{Backend, spawn_app};
use serde_json::Value;

async fn active_plans_are_listed_by_display_order_with_spec_fields(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.get("/api/v1/billing/plans").await;
    assert_eq!(response.status(), 200);
    let plans: Vec<Value> = response.json().await.unwrap();
    let ids: Vec<&str> = plans.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["free", "starter", "pro", "business"], "unlimited is inactive and hidden");

    let pro = &plans[2];
    assert_eq!(pro["name"], "Pro");
    assert_eq!(pro["name_ru"], "Профессиональный");
    assert_eq!(pro["description"], "Advanced features and higher quotas");
    assert_eq!(pro["description_ru"], "Расширенные возможности и увеличенные квоты");
    assert_eq!(pro["price"], 990.0);
    assert_eq!(pro["price_minor"], 99_000);
    assert_eq!(pro["currency"], "RUB");
    assert_eq!(pro["interval"], "month");
    assert_eq!(pro["quotas"]["tokens_input"], 1_000_000);
    assert_eq!(pro["quotas"]["tokens_output"], 500_000);
    assert_eq!(pro["quotas"]["requests"], 10_000);
    assert_eq!(pro["features"], serde_json::json!(["gpt4_access", "claude_access"]));
    assert_eq!(pro["is_active"], true);
    for field in ["display_order", "plan_extra_metadata", "created_at", "updated_at"] {
        assert!(pro.get(field).is_some(), "field {field} missing");
    }
    let free = &plans[0];
    assert_eq!(free["name_ru"], "Бесплатный");
    assert_eq!(free["price"], 0.0);
    assert_eq!(free["quotas"], serde_json::json!({"tokens_input": 100000, "tokens_output": 50000, "requests": 1000}));
    assert_eq!(free["features"], serde_json::json!(["gpt35_access"]));
    app.stop().await;
}
on_both_databases!(plans_list, active_plans_are_listed_by_display_order_with_spec_fields);

async fn one_plan_by_id_and_404_problem_for_unknown_or_inactive(backend: Backend) {
    let app = spawn_app(backend).await;
    let pro: Value = app.get("/api/v1/billing/plans/pro").await.json().await.unwrap();
    assert_eq!(pro["id"], "pro");

    for path in ["/api/v1/billing/plans/nope", "/api/v1/billing/plans/unlimited"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["status"], 404);
        assert_eq!(problem["title"], "Not Found");
        assert_eq!(problem["code"], "not_found");
        assert!(problem["detail"].as_str().unwrap().contains("plan"));
    }
    app.stop().await;
}
on_both_databases!(plan_by_id, one_plan_by_id_and_404_problem_for_unknown_or_inactive);

async fn health_check_reports_the_database(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"), "every response carries a request id");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "ok", "database": "ok"}));

    app.store().close().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 503);
    app.db.cleanup().await;
}
on_both_databases!(healthz, health_check_reports_the_database);

#[tokio::test]
async fn unknown_api_paths_answer_problem_json() {
    let app = spawn_app(Backend::Sqlite).await;
    for path in ["/api/v1/nothing-here", "/api/v1/billing/plans/pro/extra", "/api"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(response.headers()["content-type"], "application/problem+json", "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn hostile_plan_ids_are_plain_404s() {
    let app = spawn_app(Backend::Sqlite).await;
    for id in ["'%20or%201=1--", "%00", "..%2F..%2Fetc%2Fpasswd", &"x".repeat(5000)] {
        let response = app.get(&format!("/api/v1/billing/plans/{id}")).await;
        assert_eq!(response.status(), 404, "{id}");
    }
    app.stop().await;
}
