//! Bearer tokens and scopes on `/api/v1`: 401 without or with a bad/revoked token, 403 for a
//! scope or role that may not, service tokens acting for users.

use crate::common::{Backend, spawn_app};
use reqwest::Method;
use serde_json::json;
use tariff_core::tokens;
use tariff_model::Scope;

async fn tokens_authenticate_and_scopes_are_enforced(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.customer("alice").await;
    let bob = app.customer("bob").await;
    let admin = app.admin().await;
    let service = app.user("svc@example.com", false, Scope::Service).await;

    // 401: no token, malformed, unknown, wrong scheme.
    for auth in [
        None,
        Some("Bearer nope"),
        Some("Bearer trf_0000000000000000000000000000000000000000000000000000000000000000"),
        Some("Basic abc"),
    ] {
        let mut request = app.client.get(app.url("/api/v1/billing/me"));
        if let Some(value) = auth {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{auth:?}");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        assert!(response.headers().contains_key("www-authenticate"));
    }

    // A user token works for its owner and may not act for someone else.
    let (status, me) = app.get_json("/api/v1/billing/me", &alice.token).await;
    assert_eq!(status, 200);
    assert_eq!(me["user_id"], alice.id.as_str());
    let (status, problem) = app.get_json(&format!("/api/v1/billing/me?user_id={}", bob.id), &alice.token).await;
    assert_eq!(status, 403);
    assert_eq!(problem["code"], "forbidden");

    // A service token acts for any user; an unknown user is 404.
    let (status, me) = app.get_json(&format!("/api/v1/billing/me?user_id={}", bob.id), &service.token).await;
    assert_eq!(status, 200);
    assert_eq!(me["user_id"], bob.id.as_str());
    let (status, _) = app.get_json("/api/v1/billing/me?user_id=ghost", &service.token).await;
    assert_eq!(status, 404);

    // Admin routes: 403 for user and service tokens, 200 for an admin token.
    for token in [&alice.token, &service.token] {
        let (status, _) = app.get_json("/api/v1/admin/billing/plans", token).await;
        assert_eq!(status, 403);
    }
    let (status, _) = app.get_json("/api/v1/admin/billing/plans", &admin.token).await;
    assert_eq!(status, 200);
    // A user-scope token of an admin user is not an admin token.
    let admin_user_token =
        tokens::create(app.store(), app.state.billing.clock.as_ref(), &admin.email, "plain", Scope::User)
            .await
            .unwrap();
    let (status, _) = app.get_json("/api/v1/admin/billing/plans", &admin_user_token.token).await;
    assert_eq!(status, 403);

    // Admin tokens exist only for admins.
    let refused = tokens::create(app.store(), app.state.billing.clock.as_ref(), &alice.email, "x", Scope::Admin).await;
    assert!(refused.is_err());

    // Revoked tokens stop working.
    let list = tokens::list(app.store(), &alice.email).await.unwrap();
    tokens::revoke(app.store(), app.state.billing.clock.as_ref(), &alice.email, &list[0].id).await.unwrap();
    let (status, _) = app.get_json("/api/v1/billing/me", &alice.token).await;
    assert_eq!(status, 401);
    app.stop().await;
}
on_both_databases!(auth, tokens_authenticate_and_scopes_are_enforced);

#[tokio::test]
async fn malformed_bodies_are_400_and_wrong_shapes_422() {
    let app = spawn_app(Backend::Sqlite).await;
    let alice = app.customer("alice").await;
    let response = app
        .client
        .post(app.url("/api/v1/billing/usage/check"))
        .bearer_auth(&alice.token)
        .header("content-type", "application/json")
        .body("{\"metric\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let (status, problem) = app
        .call(
            Method::POST,
            "/api/v1/billing/usage/check",
            Some(&alice.token),
            Some(json!({"metric": "requests", "amount": "ten"})),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "amount");
    app.stop().await;
}
