//! `GET /api/v1/openapi.json` documents every route, and every documented route exists.

use crate::common::{Backend, spawn_app};
use serde_json::Value;

#[tokio::test]
async fn every_documented_route_is_served_and_documents_its_errors() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = app.get("/api/v1/openapi.json").await;
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let concrete = path.replace("{plan_id}", "pro").replace("{metric}", "requests");
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let status = app.client.request(method.clone(), app.url(&concrete)).send().await.unwrap().status().as_u16();
            assert!(![404, 405].contains(&status), "{method} {path} is documented but not routed ({status})");
            let responses = operation["responses"].as_object().unwrap();
            let public = operation.get("security").is_some_and(|s| s == &serde_json::json!([{}]));
            if !public {
                assert!(responses.contains_key("401"), "{method} {path} does not document 401");
            }
            if path.contains("/admin/") {
                assert!(responses.contains_key("403"), "{method} {path} does not document 403");
            }
        }
    }
    // The routes of the billing core, by (method, path).
    for (method, path) in [
        ("get", "/api/v1/billing/plans"),
        ("post", "/api/v1/billing/plans"),
        ("get", "/api/v1/billing/plans/{plan_id}"),
        ("get", "/api/v1/billing/subscription"),
        ("post", "/api/v1/billing/subscription/cancel"),
        ("get", "/api/v1/billing/usage/{metric}"),
        ("post", "/api/v1/billing/usage/check"),
        ("post", "/api/v1/billing/usage"),
        ("post", "/api/v1/billing/usage/batch"),
        ("get", "/api/v1/billing/transactions"),
        ("get", "/api/v1/billing/me"),
        ("get", "/api/v1/admin/billing/plans"),
        ("post", "/api/v1/admin/billing/plans"),
        ("get", "/api/v1/admin/billing/plans/{plan_id}"),
        ("put", "/api/v1/admin/billing/plans/{plan_id}"),
        ("delete", "/api/v1/admin/billing/plans/{plan_id}"),
        ("patch", "/api/v1/admin/billing/plans/{plan_id}/toggle"),
        ("post", "/api/v1/admin/billing/plans/{plan_id}/duplicate"),
        ("get", "/api/v1/admin/billing/plans/{plan_id}/subscribers"),
        ("get", "/api/v1/admin/billing/audit"),
        ("post", "/api/v1/admin/billing/subscriptions"),
    ] {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is not documented");
    }
    assert!(operations >= 23);
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for schema in ["Plan", "PlanChanges", "Subscription", "QuotaStatus", "Problem", "Transaction"] {
        assert!(schemas.contains_key(schema), "schema {schema} missing");
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");

    // Only `{...}` segments are path parameters; every other parameter is in the query.
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap();
                let declared_in = if path.contains(&format!("{{{name}}}")) { "path" } else { "query" };
                assert_eq!(parameter["in"], declared_in, "{method} {path} parameter {name}");
            }
        }
    }
    // Every problem answer matches the Problem schema: the quota members are plain optional
    // properties, not an `allOf` with a `oneOf [null, {...}]` that no problem object satisfies.
    assert!(schemas["Problem"].get("allOf").is_none(), "{}", schemas["Problem"]);
    for member in ["metric", "quota_limit", "current_usage", "remaining", "requested"] {
        assert!(schemas["Problem"]["properties"].get(member).is_some(), "Problem documents {member}");
    }
    let (status, body) = app.post_json("/api/v1/billing/usage", "nope", serde_json::json!({})).await;
    assert_eq!(status, 401);
    assert!(body.get("metric").is_none(), "no quota members outside a quota problem: {body}");
    app.stop().await;
}
