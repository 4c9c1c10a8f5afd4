//! Organisations over real HTTP (issue 13, seed 004): one plan, quota pool and balance shared by
//! members; invitations, roles, the account a user bills to, member caps under concurrency,
//! who may pay, usage by member, and the admin's organisation routes. On SQLite and PostgreSQL.

use crate::common::{Backend, TestApp, TestUser, spawn_app, spawn_app_with};
use crate::payments::{RETURN_URL, final_transaction, pay};
use reqwest::Method;
use serde_json::{Value, json};

async fn create_org(app: &TestApp, owner: &TestUser, name: &str) -> Value {
    let (status, org) = app.post_json("/api/v1/organizations", &owner.token, json!({"name": name})).await;
    assert_eq!(status, 201, "{org}");
    org
}

async fn invite(app: &TestApp, by: &TestUser, org: &str, email: &str, role: &str) -> (u16, Value) {
    app.post_json(&format!("/api/v1/organizations/{org}/invitations"), &by.token, json!({"email": email, "role": role}))
        .await
}

async fn switch(app: &TestApp, user: &TestUser, account_id: &str) -> (u16, Value) {
    app.call(Method::PUT, "/api/v1/billing/account", Some(&user.token), Some(json!({"account_id": account_id}))).await
}

async fn track(app: &TestApp, user: &TestUser, body: Value) -> (u16, Value) {
    app.post_json("/api/v1/billing/usage", &user.token, body).await
}

/// How many usage rows `user_id` has on the account `account_id`.
async fn usage_rows(app: &TestApp, account_id: &str, user_id: &str) -> i64 {
    app.scalar("select count(*) from billing_usage where account_id = $1 and user_id = $2", &[account_id, user_id])
        .await
}

/// Invites `email`, signs the person up with it, and has them accept; returns them.
async fn join(app: &TestApp, owner: &TestUser, org: &str, email: &str, role: &str) -> TestUser {
    let (status, invitation) = invite(app, owner, org, email, role).await;
    assert_eq!(status, 201, "{invitation}");
    let member = app.user(email, false, tariff_model::Scope::User).await;
    let (status, mine) = app.get_json("/api/v1/invitations", &member.token).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine[0]["id"], invitation["id"]);
    assert_eq!(mine[0]["status"], "pending");
    let path = format!("/api/v1/invitations/{}/accept", invitation["id"].as_str().unwrap());
    let (status, joined) = app.post_json(&path, &member.token, json!({})).await;
    assert_eq!(status, 200, "{joined}");
    assert_eq!(joined["role"], role);
    member
}

async fn admin_plan(app: &TestApp, admin: &TestUser, body: Value) {
    let (status, plan) = app.post_json("/api/v1/admin/billing/plans", &admin.token, body).await;
    assert_eq!(status, 201, "{plan}");
}

async fn a_team_shares_one_plan_pool_and_balance(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let admin = app.admin().await;
    admin_plan(&app, &admin, json!({"id": "team", "name": "Team", "price": 4990.00, "quotas": {"requests": 100}}))
        .await;
    let owner = app.customer("owner").await;
    let org = create_org(&app, &owner, "Acme AI").await;
    let org_id = org["id"].as_str().unwrap().to_owned();
    assert_eq!(org["account_id"], org_id.as_str());
    assert_eq!(org["role"], "owner");
    assert_eq!(org["plan_id"], "free", "a new organisation starts on the free plan");
    assert_eq!(org["balance_micros"], 0);

    let email = format!("colleague-{}@example.com", uuid::Uuid::new_v4().simple());
    let member = join(&app, &owner, &org_id, &email, "member").await;
    let (_, org) = app.get_json(&format!("/api/v1/organizations/{org_id}"), &owner.token).await;
    let roles: Vec<_> = org["members"].as_array().unwrap().iter().map(|m| m["role"].clone()).collect();
    assert_eq!(roles, [json!("owner"), json!("member")], "{org}");
    let (_, mine) = app.get_json("/api/v1/organizations", &member.token).await;
    assert_eq!(mine[0]["id"], org_id.as_str());
    assert_eq!(mine[0]["role"], "member");
    assert_eq!(mine[0]["members"], 2);

    // Accepting does not move anyone's billing: both switch to the organisation explicitly.
    let (_, me) = app.get_json("/api/v1/billing/me", &member.token).await;
    assert_eq!(me["account_id"], member.account_id.as_str());
    assert!(me["organization"].is_null());
    for user in [&owner, &member] {
        let (status, current) = switch(&app, user, &org_id).await;
        assert_eq!(status, 200, "{current}");
        assert_eq!(current["organization"]["id"], org_id.as_str());
    }
    let (_, me) = app.get_json("/api/v1/billing/me", &member.token).await;
    assert_eq!(me["account_id"], org_id.as_str());
    assert_eq!(me["organization"]["role"], "member");

    // A member may not pay, top up or cancel; the owner pays for Team in the sandbox.
    let (status, refused) = app
        .post_json("/api/v1/billing/payment", &member.token, json!({"plan_id": "team", "return_url": RETURN_URL}))
        .await;
    assert_eq!(status, 403, "{refused}");
    let (status, refused) = app
        .post_json("/api/v1/billing/topup", &member.token, json!({"amount": 100.00, "return_url": RETURN_URL}))
        .await;
    assert_eq!(status, 403, "{refused}");
    let started = crate::payments::checkout(&app, &owner, "team").await;
    pay(&app, started["confirmation_url"].as_str().unwrap(), "5555 5555 5555 4444").await;
    let paid = final_transaction(&app, &owner, started["transaction_id"].as_str().unwrap()).await;
    assert_eq!(paid["status"], "succeeded", "{paid}");
    let (_, sub) = app.get_json("/api/v1/billing/subscription", &member.token).await;
    assert_eq!(sub["plan_id"], "team", "the member sees the organisation's plan: {sub}");
    let (status, refused) = app.post_json("/api/v1/billing/subscription/cancel", &member.token, json!({})).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["code"], "forbidden");
    let (_, owner_personal) =
        app.get_json(&format!("/api/v1/admin/billing/organizations/{org_id}"), &admin.token).await;
    assert_eq!(owner_personal["plan_id"], "team");

    // One pool of 100 requests: 60 by the owner, 40 by the member, then neither gets one more.
    for (user, n) in [(&owner, 60), (&member, 40)] {
        for _ in 0..n {
            let (status, body) = track(&app, user, json!({"metric": "requests", "amount": 1})).await;
            assert_eq!(status, 201, "{body}");
        }
    }
    for user in [&owner, &member] {
        let (status, body) = track(&app, user, json!({"metric": "requests", "amount": 1})).await;
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["code"], "quota_exceeded");
        assert_eq!(body["current_usage"], 100);
    }

    // The owner tops up 100 ₽; a member's charge debits the organisation, not the member.
    let (status, feature) = app
        .post_json(
            "/api/v1/admin/billing/features",
            &admin.token,
            json!({"name": "gpt-4o", "title": "GPT-4o", "unit_price": 12.00, "per_units": 1, "access": "included"}),
        )
        .await;
    assert_eq!(status, 201, "{feature}");
    let (status, topup) =
        app.post_json("/api/v1/billing/topup", &owner.token, json!({"amount": 100.00, "return_url": RETURN_URL})).await;
    assert_eq!(status, 200, "{topup}");
    pay(&app, topup["confirmation_url"].as_str().unwrap(), "5555 5555 5555 4444").await;
    assert_eq!(final_transaction(&app, &owner, topup["transaction_id"].as_str().unwrap()).await["status"], "succeeded");
    let (status, charged) =
        app.post_json("/api/v1/billing/charge", &member.token, json!({"feature": "gpt-4o", "units": 2})).await;
    assert_eq!(status, 200, "{charged}");
    assert_eq!(charged["charged_minor"], 2_400);
    assert_eq!(charged["balance_minor"], 7_600);
    let (_, balance) = app.get_json("/api/v1/billing/balance", &owner.token).await;
    assert_eq!(balance["balance_minor"], 7_600, "the organisation's balance: {balance}");
    let personal: i64 = sqlx::query_scalar("select balance_micros from account where id = $1")
        .bind(&member.account_id)
        .fetch_one(&app.reader().await)
        .await
        .unwrap();
    assert_eq!(personal, 0, "the member's own balance is untouched");

    // Usage by member: owners see both; a member may not; a stranger gets 404.
    let path = format!("/api/v1/organizations/{org_id}/usage?group_by=member");
    let (status, by_member) = app.get_json(&path, &owner.token).await;
    assert_eq!(status, 200, "{by_member}");
    let line = |user: &TestUser| {
        by_member["members"].as_array().unwrap().iter().find(|m| m["user_id"] == user.id.as_str()).cloned().unwrap()
    };
    assert_eq!(line(&owner)["usage"]["requests"], 60);
    assert_eq!(line(&member)["usage"]["requests"], 40);
    assert_eq!(line(&member)["features"]["gpt-4o"], 2);
    assert_eq!(line(&member)["spent_micros"], 2_400_000_000_i64);
    assert_eq!(app.get_json(&path, &member.token).await.0, 403);
    let stranger = app.customer("stranger").await;
    assert_eq!(app.get_json(&path, &stranger.token).await.0, 404);
    let (status, hidden) = app.get_json(&format!("/api/v1/organizations/{org_id}"), &stranger.token).await;
    assert_eq!(status, 404, "{hidden}");
    assert_eq!(hidden["code"], "not_found");

    // Removed, the former member bills personally again; their past usage stays with the team.
    let path = format!("/api/v1/organizations/{org_id}/members/{}", member.id);
    let (status, _) = app.call(Method::DELETE, &path, Some(&owner.token), None).await;
    assert_eq!(status, 204);
    let (_, me) = app.get_json("/api/v1/billing/me", &member.token).await;
    assert_eq!(me["account_id"], member.account_id.as_str());
    let (status, body) = track(&app, &member, json!({"metric": "requests", "amount": 1})).await;
    assert_eq!(status, 201, "usage goes to the personal account now: {body}");
    let personal_rows =
        app.scalar("select count(*) from billing_usage where account_id = $1", &[&member.account_id]).await;
    assert_eq!(personal_rows, 1);
    let (_, by_member) = app.get_json(&format!("/api/v1/organizations/{org_id}/usage"), &owner.token).await;
    let former = by_member["members"].as_array().unwrap().iter().find(|m| m["user_id"] == member.id.as_str()).unwrap();
    assert!(former["role"].is_null(), "{former}");
    assert_eq!(former["usage"]["requests"], 40);
    app.stop().await;
}
on_both_databases!(team_pool, a_team_shares_one_plan_pool_and_balance);

async fn a_member_cap_holds_under_concurrency(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    admin_plan(&app, &admin, json!({"id": "roomy", "name": "Roomy", "price": 0, "quotas": {"requests": 1000}})).await;
    let owner = app.customer("capper").await;
    let org_id = create_org(&app, &owner, "Capped").await["id"].as_str().unwrap().to_owned();
    let (status, assigned) = app
        .post_json(
            "/api/v1/admin/billing/subscriptions",
            &admin.token,
            json!({"organization_id": org_id, "plan_id": "roomy"}),
        )
        .await;
    assert_eq!(status, 200, "{assigned}");
    assert_eq!(assigned["account_id"], org_id.as_str());
    let member =
        join(&app, &owner, &org_id, &format!("capped-{}@example.com", uuid::Uuid::new_v4().simple()), "member").await;
    let path = format!("/api/v1/organizations/{org_id}/members/{}", member.id);
    let (status, updated) = app
        .call(Method::PATCH, &path, Some(&owner.token), Some(json!({"caps": {"requests": 10, "spend": 1.50}})))
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["caps"]["metrics"]["requests"], 10);
    assert_eq!(updated["caps"]["spend_micros"], 150_000_000);
    assert_eq!(switch(&app, &member, &org_id).await.0, 200);

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (client, url, token) = (app.client.clone(), app.url("/api/v1/billing/usage"), member.token.clone());
        tasks.spawn(async move {
            let mut accepted = 0;
            for _ in 0..3 {
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
                        let body: Value = response.json().await.unwrap();
                        assert_eq!(body["code"], "member_cap_exceeded", "{body}");
                        assert_eq!(body["cap"], "requests");
                        assert_eq!(body["quota_limit"], 10);
                    }
                    other => panic!("unexpected {other}: {}", response.text().await.unwrap()),
                }
            }
            accepted
        });
    }
    let accepted: i32 = tasks.join_all().await.into_iter().sum();
    assert_eq!(accepted, 10, "exactly the member's cap was accepted");
    let (_, check) =
        app.post_json("/api/v1/billing/usage/check", &member.token, json!({"metric": "requests", "amount": 1})).await;
    assert_eq!(check["allowed"], false, "{check}");
    assert_eq!(check["remaining"], 0);
    // The pool itself is not used up: the owner goes on.
    let (status, body) =
        track(&app, &owner, json!({"metric": "requests", "amount": 1, "organization_id": org_id})).await;
    assert_eq!(status, 201, "{body}");
    let rows = usage_rows(&app, &org_id, &member.id).await;
    assert_eq!(rows, 10, "refused events left no rows");

    // The spending cap: 1.50 ₽ lets one 1.00 ₽ charge through, not a second.
    let feature =
        json!({"name": "image-gen", "title": "Images", "unit_price": 1.00, "per_units": 1, "access": "included"});
    assert_eq!(app.post_json("/api/v1/admin/billing/features", &admin.token, feature).await.0, 201);
    let credit = json!({"amount": 50.00, "reason": "team credit"});
    let (status, balance) =
        app.post_json(&format!("/api/v1/admin/billing/organizations/{org_id}/balance"), &admin.token, credit).await;
    assert_eq!(status, 200, "{balance}");
    assert_eq!(balance["balance_minor"], 5_000);
    let one = json!({"feature": "image-gen", "units": 1});
    assert_eq!(app.post_json("/api/v1/billing/charge", &member.token, one.clone()).await.0, 200);
    let (status, refused) = app.post_json("/api/v1/billing/charge", &member.token, one).await;
    assert_eq!(status, 429, "{refused}");
    assert_eq!(refused["cap"], "spend");
    let (_, org) = app.get_json(&format!("/api/v1/admin/billing/organizations/{org_id}"), &admin.token).await;
    assert_eq!(org["balance_micros"], 4_900_000_000_i64, "the refused charge debited nothing");

    // A service token may name the organisation explicitly, for members only.
    let service = app
        .user(&format!("svc-{}@example.com", uuid::Uuid::new_v4().simple()), false, tariff_model::Scope::Service)
        .await;
    let named = json!({"metric": "requests", "amount": 1, "user_id": owner.id, "organization_id": org_id});
    assert_eq!(track(&app, &service, named).await.0, 201);
    let stranger = app.customer("outsider").await;
    let named = json!({"metric": "requests", "amount": 1, "user_id": stranger.id, "organization_id": org_id});
    let (status, refused) = track(&app, &service, named).await;
    assert_eq!(status, 403, "{refused}");
    let named = json!({"feature": "image-gen", "units": 1, "user_id": stranger.id, "organization_id": org_id});
    assert_eq!(app.post_json("/api/v1/billing/charge", &service.token, named).await.0, 403);
    app.stop().await;
}
on_both_databases!(member_caps, a_member_cap_holds_under_concurrency);

/// A hold made with `organization_id` is read, committed and released by the member who made
/// it without naming the organisation again, and its usage bills the organisation under the
/// member's cap; another user gets 404; a member who has left gets 403 on a commit, 409 once the
/// hold has ended, and may still release it.
async fn a_member_reaches_their_organisation_hold_without_naming_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    admin_plan(&app, &admin, json!({"id": "holds", "name": "Holds", "price": 0, "quotas": {"requests": 100}})).await;
    let owner = app.customer("holder").await;
    let org_id = create_org(&app, &owner, "Streams").await["id"].as_str().unwrap().to_owned();
    let assign = json!({"organization_id": org_id, "plan_id": "holds"});
    assert_eq!(app.post_json("/api/v1/admin/billing/subscriptions", &admin.token, assign).await.0, 200);
    let email = format!("streamer-{}@example.com", uuid::Uuid::new_v4().simple());
    let member = join(&app, &owner, &org_id, &email, "member").await;
    let hold = json!({"metric": "requests", "amount": 30, "organization_id": org_id});
    let (status, held) = app.post_json("/api/v1/billing/usage/reservations", &member.token, hold.clone()).await;
    assert_eq!(status, 201, "{held}");
    assert_eq!(
        (held["account_id"].as_str(), held["user_id"].as_str()),
        (Some(org_id.as_str()), Some(member.id.as_str()))
    );
    let path = format!("/api/v1/billing/usage/reservations/{}", held["id"].as_str().unwrap());

    // The member bills their personal account, and reaches the hold all the same.
    for query in [String::new(), format!("?user_id={}", member.id)] {
        let (status, seen) = app.get_json(&format!("{path}{query}"), &member.token).await;
        assert_eq!((status, seen["status"].as_str()), (200, Some("held")), "{seen}");
    }
    let stranger = app.customer("not-a-holder").await;
    let (status, problem) = app.get_json(&path, &stranger.token).await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")), "{problem}");
    // The commit bills the organisation under the member's cap there (25 requests).
    let member_path = format!("/api/v1/organizations/{org_id}/members/{}", member.id);
    let cap = json!({"caps": {"requests": 25}});
    assert_eq!(app.call(Method::PATCH, &member_path, Some(&owner.token), Some(cap)).await.0, 200);
    let (status, committed) = app.post_json(&format!("{path}/commit"), &member.token, json!({"amount": 20})).await;
    assert_eq!((status, committed["status"].as_str()), (200, Some("committed")), "{committed}");
    let rows = usage_rows(&app, &org_id, &member.id).await;
    assert_eq!(rows, 1, "the committed usage bills the organisation, in the member's name");
    let (_, org_usage) = app.get_json(&format!("/api/v1/organizations/{org_id}/usage"), &owner.token).await;
    let mine = org_usage["members"].as_array().unwrap().iter().find(|m| m["user_id"] == member.id.as_str()).unwrap();
    assert_eq!(mine["usage"]["requests"], 20, "{org_usage}");
    let (status, held) = app.post_json("/api/v1/billing/usage/reservations", &member.token, hold).await;
    assert_eq!(status, 201, "{held}");
    let path = format!("/api/v1/billing/usage/reservations/{}", held["id"].as_str().unwrap());
    let (status, refused) = app.post_json(&format!("{path}/commit"), &member.token, json!({"amount": 10})).await;
    assert_eq!((status, refused["code"].as_str()), (429, Some("member_cap_exceeded")), "{refused}");
    assert_eq!(app.get_json(&path, &member.token).await.1["status"], "held", "a refused commit keeps the hold");

    // Another member billing the organisation does not reach the hold: its usage is the maker's.
    assert_eq!(switch(&app, &owner, &org_id).await.0, 200);
    let (status, problem) = app.get_json(&path, &owner.token).await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")), "{problem}");
    for action in ["commit", "release"] {
        let (status, problem) = app.post_json(&format!("{path}/{action}"), &owner.token, json!({"amount": 1})).await;
        assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")), "{action}: {problem}");
    }
    assert_eq!(app.get_json(&path, &member.token).await.1["status"], "held", "the other member changed nothing");
    assert_eq!(usage_rows(&app, &org_id, &owner.id).await, 0);
    assert_eq!(switch(&app, &owner, &owner.account_id).await.0, 200);

    // A member who has left cannot commit in the organisation any more, but may release.
    let (status, _) = app.call(Method::DELETE, &member_path, Some(&owner.token), None).await;
    assert_eq!(status, 204);
    let (status, problem) = app.post_json(&format!("{path}/commit"), &member.token, json!({"amount": 1})).await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("forbidden")), "{problem}");
    let (status, released) = app.post_json(&format!("{path}/release"), &member.token, json!({})).await;
    assert_eq!((status, released["status"].as_str()), (200, Some("released")), "{released}");
    let (status, problem) = app.post_json(&format!("{path}/commit"), &member.token, json!({"amount": 1})).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("conflict")), "an ended hold is 409 first: {problem}");
    assert_eq!(
        usage_rows(&app, &org_id, &member.id).await,
        1,
        "neither the refused nor the forbidden commit left a row"
    );

    // A hold on the personal account, committed after switching to the organisation, stays personal.
    let assign = json!({"user_id": owner.id, "plan_id": "holds"});
    assert_eq!(app.post_json("/api/v1/admin/billing/subscriptions", &admin.token, assign).await.0, 200);
    let (status, held) = app
        .post_json("/api/v1/billing/usage/reservations", &owner.token, json!({"metric": "requests", "amount": 5}))
        .await;
    assert_eq!((status, held["account_id"].as_str()), (201, Some(owner.account_id.as_str())), "{held}");
    assert_eq!(switch(&app, &owner, &org_id).await.0, 200);
    let path = format!("/api/v1/billing/usage/reservations/{}", held["id"].as_str().unwrap());
    let (status, committed) = app.post_json(&format!("{path}/commit"), &owner.token, json!({"amount": 4})).await;
    assert_eq!(status, 200, "{committed}");
    assert_eq!(usage_rows(&app, &owner.account_id, &owner.id).await, 1);
    assert_eq!(usage_rows(&app, &org_id, &owner.id).await, 0);

    // A service token acting for a user (`user_id`) reaches the holds made for them, only so.
    let email = format!("svc-{}@example.com", uuid::Uuid::new_v4().simple());
    let service = app.user(&email, false, tariff_model::Scope::Service).await;
    let body = json!({"metric": "requests", "amount": 2, "user_id": owner.id});
    let (status, held) = app.post_json("/api/v1/billing/usage/reservations", &service.token, body).await;
    assert_eq!((status, held["user_id"].as_str()), (201, Some(owner.id.as_str())), "{held}");
    let path = format!("/api/v1/billing/usage/reservations/{}", held["id"].as_str().unwrap());
    let for_owner = format!("?user_id={}", owner.id);
    let (status, problem) = app.get_json(&path, &service.token).await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")), "the token's own user: {problem}");
    assert_eq!(app.get_json(&format!("{path}{for_owner}"), &service.token).await.0, 200);
    assert_eq!(app.get_json(&path, &owner.token).await.0, 200, "the user it was made for");
    let (status, released) = app.post_json(&format!("{path}/release{for_owner}"), &service.token, json!({})).await;
    assert_eq!((status, released["status"].as_str()), (200, Some("released")), "{released}");
    app.stop().await;
}
on_both_databases!(org_holds, a_member_reaches_their_organisation_hold_without_naming_it);

async fn bad_organisation_requests_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.customer("strict").await;
    for name in ["", "   ", &"x".repeat(101)] {
        let (status, body) = app.post_json("/api/v1/organizations", &owner.token, json!({"name": name})).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["errors"][0]["field"], "name");
    }
    assert_eq!(app.call(Method::POST, "/api/v1/organizations", None, Some(json!({"name": "x"}))).await.0, 401);
    let org_id = create_org(&app, &owner, "Strict").await["id"].as_str().unwrap().to_owned();
    let (status, body) = invite(&app, &owner, &org_id, "new@example.com", "boss").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "role");
    assert_eq!(invite(&app, &owner, &org_id, "not-an-email", "member").await.0, 422);
    assert_eq!(invite(&app, &owner, &org_id, &owner.email, "member").await.0, 409, "the owner is a member");

    let admin_email = format!("second-{}@example.com", uuid::Uuid::new_v4().simple());
    let second = join(&app, &owner, &org_id, &admin_email, "admin").await;
    let (status, body) = invite(&app, &second, &org_id, "someone@example.com", "owner").await;
    assert_eq!(status, 403, "only owners invite owners: {body}");
    let (status, pending) = invite(&app, &second, &org_id, "someone@example.com", "member").await;
    assert_eq!(status, 201, "{pending}");
    assert_eq!(invite(&app, &owner, &org_id, "Someone@Example.com", "member").await.0, 409, "already invited");

    // Revoked and expired invitations answer 410; someone else's invitation is 404.
    let someone = app.user("someone@example.com", false, tariff_model::Scope::User).await;
    let revoke = format!("/api/v1/organizations/{org_id}/invitations/{}", pending["id"].as_str().unwrap());
    let (status, revoked) = app.call(Method::DELETE, &revoke, Some(&owner.token), None).await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["status"], "revoked");
    let accept = format!("/api/v1/invitations/{}/accept", pending["id"].as_str().unwrap());
    let (status, gone) = app.post_json(&accept, &someone.token, json!({})).await;
    assert_eq!(status, 410, "{gone}");
    assert_eq!(gone["code"], "gone");
    assert_eq!(app.post_json(&accept, &owner.token, json!({})).await.0, 404);
    let (_, fresh) = invite(&app, &owner, &org_id, &someone.email, "member").await;
    app.clock.advance(8 * 86_400);
    let accept = format!("/api/v1/invitations/{}/accept", fresh["id"].as_str().unwrap());
    assert_eq!(app.post_json(&accept, &someone.token, json!({})).await.0, 410, "expired after 7 days");
    let (_, listed) = app.get_json("/api/v1/invitations", &someone.token).await;
    assert_eq!(listed, json!([]), "expired invitations are not listed");
    assert_eq!(app.get_json(&format!("/api/v1/organizations/{org_id}"), &someone.token).await.0, 404);

    // Switching to an organisation one does not belong to: 403, nothing changes.
    let (status, refused) = switch(&app, &someone, &org_id).await;
    assert_eq!(status, 403, "{refused}");
    let (_, me) = app.get_json("/api/v1/billing/me", &someone.token).await;
    assert_eq!(me["account_id"], someone.account_id.as_str());

    // The last owner can neither leave nor be demoted; an admin may not touch the owner.
    let me_path = format!("/api/v1/organizations/{org_id}/members/{}", owner.id);
    let (status, body) = app.call(Method::DELETE, &me_path, Some(&owner.token), None).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = app.call(Method::PATCH, &me_path, Some(&owner.token), Some(json!({"role": "admin"}))).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = app.call(Method::PATCH, &me_path, Some(&second.token), Some(json!({"role": "member"}))).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = app.call(Method::DELETE, &me_path, Some(&second.token), None).await;
    assert_eq!(status, 403, "{body}");
    let second_path = format!("/api/v1/organizations/{org_id}/members/{}", second.id);
    let (status, body) = app
        .call(Method::PATCH, &second_path, Some(&owner.token), Some(json!({"caps": {"minutes": 1, "requests": -1}})))
        .await;
    assert_eq!(status, 422, "{body}");
    let unknown = format!("/api/v1/organizations/{org_id}/members/{}", someone.id);
    assert_eq!(app.call(Method::PATCH, &unknown, Some(&owner.token), Some(json!({"role": "admin"}))).await.0, 404);
    // With a second owner, the first may leave.
    let (status, promoted) =
        app.call(Method::PATCH, &second_path, Some(&owner.token), Some(json!({"role": "owner"}))).await;
    assert_eq!(status, 200, "{promoted}");
    assert_eq!(app.call(Method::DELETE, &me_path, Some(&owner.token), None).await.0, 204);
    assert_eq!(app.get_json(&format!("/api/v1/organizations/{org_id}"), &owner.token).await.0, 404);
    let (_, org) = app.get_json(&format!("/api/v1/organizations/{org_id}"), &second.token).await;
    assert_eq!(org["members"].as_array().unwrap().len(), 1, "{org}");
    let audit: i64 = sqlx::query_scalar(
        "select count(*) from billing_audit_log where entity_type = 'organization' and entity_id = $1",
    )
    .bind(&org_id)
    .fetch_one(&app.reader().await)
    .await
    .unwrap();
    assert!(audit >= 7, "every change is audited ({audit})");
    app.stop().await;
}
on_both_databases!(org_bad_input, bad_organisation_requests_change_nothing);

async fn admins_list_and_credit_organisations(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let owner = app.customer("listed").await;
    let org_id = create_org(&app, &owner, "Zeta Labs").await["id"].as_str().unwrap().to_owned();
    create_org(&app, &owner, "Other Co").await;
    let (status, page) = app.get_json("/api/v1/admin/billing/organizations?search=zeta", &admin.token).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["id"], org_id.as_str());
    assert_eq!(page["items"][0]["members"], 1);
    assert_eq!(page["items"][0]["plan_id"], "free");
    let by_email = format!("/api/v1/admin/billing/organizations?search={}", owner.email);
    assert_eq!(app.get_json(&by_email, &admin.token).await.1["total"], 2);
    assert_eq!(app.get_json("/api/v1/admin/billing/organizations", &owner.token).await.0, 403);
    assert_eq!(app.get_json("/api/v1/admin/billing/organizations/nope", &admin.token).await.0, 404);
    assert_eq!(app.get_json("/api/v1/admin/billing/organizations?page=0", &admin.token).await.0, 422);
    let credit = format!("/api/v1/admin/billing/organizations/{org_id}/balance");
    let (status, body) = app.post_json(&credit, &admin.token, json!({"amount": 0, "reason": "x"})).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = app.post_json(&credit, &admin.token, json!({"amount": 25.00, "reason": "goodwill"})).await;
    assert_eq!(status, 200, "{body}");
    let (_, org) = app.get_json(&format!("/api/v1/admin/billing/organizations/{org_id}"), &admin.token).await;
    assert_eq!(org["balance_micros"], 2_500_000_000_i64);
    assert!(org["role"].is_null());
    let (status, body) =
        app.post_json("/api/v1/admin/billing/subscriptions", &admin.token, json!({"plan_id": "pro"})).await;
    assert_eq!(status, 422, "neither user nor organisation: {body}");
    let (status, body) = app
        .post_json(
            "/api/v1/admin/billing/subscriptions",
            &admin.token,
            json!({"organization_id": "nope", "plan_id": "pro"}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    app.stop().await;
}
on_both_databases!(org_admin, admins_list_and_credit_organisations);
