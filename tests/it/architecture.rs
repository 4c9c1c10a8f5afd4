//! The structural rules of the restructure, through the front door: sessions live in the billing
//! database, which routes get a session and the Origin check, reads that never write, and every
//! error of a page in the page's language.

use crate::common::{Backend, spawn_app};
use crate::portal::{Browser, email};
use serde_json::json;

const DAY: i64 = 86_400;

async fn sessions_are_rows_of_the_billing_database(backend: Backend) {
    let app = spawn_app(backend).await;
    let reader = app.reader().await;
    let before: i64 = sqlx::query_scalar("select count(*) from app_session").fetch_one(&reader).await.unwrap();
    let browser = Browser::new(&app);
    browser.sign_up(&email("session")).await;
    let after: i64 = sqlx::query_scalar("select count(*) from app_session").fetch_one(&reader).await.unwrap();
    assert_eq!(after, before + 1, "signing up stores one session");
    let (status, _, _) = browser.call("billing/overview", &[]).await;
    assert_eq!(status, 200, "the session is read back");
    // The sqlx store's own table (and its second pool) are gone.
    let old = sqlx::query("select count(*) from web_session").fetch_one(&reader).await;
    assert!(old.is_err(), "web_session no longer exists");
    browser.call("logout", &[]).await;
    let (status, _, _) = browser.call("billing/overview", &[]).await;
    assert_eq!(status, 401, "logging out deletes the session");
    app.stop().await;
}
on_both_databases!(sessions_in_the_database, sessions_are_rows_of_the_billing_database);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_pages_get_sessions_and_the_origin_check() {
    let app = spawn_app(Backend::Sqlite).await;
    // The JSON API: no Origin header, no cookie, and an unknown route is a 404 problem, not 403.
    let response = app.client.post(app.url("/api/v1/nowhere")).json(&json!({})).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    assert!(response.headers().get("set-cookie").is_none());
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("set-cookie").is_none(), "no session or language cookie for the API");
    // The built bundle is served beside the pages, without the web layers.
    let response = app.client.get(app.url("/pkg/missing.css")).send().await.unwrap();
    assert!(response.headers().get("set-cookie").is_none());
    // A page goes through the web layers (they settle the language and remember it).
    let response = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
    assert!(cookies.iter().any(|c| c.to_str().unwrap().starts_with("lang=")), "{cookies:?}");
    // A server function without this site's Origin is refused.
    let response =
        app.client.post(app.url("/api/ui/logout")).header("origin", "https://evil.example").send().await.unwrap();
    assert_eq!(response.status(), 403);
    app.stop().await;
}

async fn reads_project_the_rollover_and_only_the_job_stores_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let alice = app.customer("alice").await;
    let bob = app.customer("bob").await;
    app.post_json("/api/v1/admin/billing/subscriptions", &admin.token, json!({"user_id": bob.id, "plan_id": "pro"}))
        .await;
    app.post_json("/api/v1/billing/subscription/cancel", &bob.token, json!({"immediate": false})).await;
    let reader = app.reader().await;
    let rows = || async {
        let rows: Vec<(String, String, i64, i64)> =
            sqlx::query_as("select id, status, current_period_end, updated_at from billing_subscription order by id")
                .fetch_all(&reader)
                .await
                .unwrap();
        rows
    };
    let stored_before = rows().await;

    app.clock.advance(40 * DAY);
    let (_, alice_now) = app.get_json("/api/v1/billing/subscription", &alice.token).await;
    assert!(alice_now["current_period_end"].as_i64().unwrap() > app.state.now(), "free renews: {alice_now}");
    let (_, bob_now) = app.get_json("/api/v1/billing/subscription", &bob.token).await;
    assert_eq!(bob_now["plan_id"], "free", "bob's cancellation took effect: {bob_now}");
    app.get_json("/api/v1/billing/me", &bob.token).await;
    app.post_json("/api/v1/billing/usage/check", &alice.token, json!({"metric": "requests", "amount": 1})).await;
    let browser = Browser::new(&app);
    browser.sign_up(&email("viewer")).await;
    let (status, _, _) = browser.page("/billing").await;
    assert_eq!(status, 200);
    let stored_after_reads = rows().await;
    assert_eq!(
        stored_after_reads.iter().filter(|r| stored_before.contains(r)).count(),
        stored_before.len(),
        "reads changed no subscription"
    );

    // The job stores exactly what the reads showed, down to the fallback's id.
    tariff_core::subscriptions::rollover_due(app.store(), app.state.now()).await.unwrap();
    let (_, bob_stored) = app.get_json("/api/v1/billing/subscription", &bob.token).await;
    assert_eq!(bob_stored["id"], bob_now["id"]);
    assert_eq!(bob_stored["current_period_start"], bob_now["current_period_start"]);
    assert_eq!(bob_stored["current_period_end"], bob_now["current_period_end"]);
    let (_, alice_stored) = app.get_json("/api/v1/billing/subscription", &alice.token).await;
    assert_eq!(alice_stored["current_period_end"], alice_now["current_period_end"]);
    assert_ne!(rows().await, stored_after_reads, "the job wrote the transitions");
    app.stop().await;
}
on_both_databases!(reads_do_not_write, reads_project_the_rollover_and_only_the_job_stores_it);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_errors_read_in_the_pages_language() {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = Browser::new(&app);
    let fields = [("name", "x"), ("email", "not-an-email"), ("password", "long enough pass"), ("next", "")];
    let (status, body, _) = browser.call("signup", &fields).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["Fields"][0][0], "email");
    assert_eq!(body["Fields"][0][1], "Enter a valid email address");
    // A Russian page's call gets the Russian text of the same code.
    let response = browser
        .client
        .post(app.url("/api/ui/signup?lang=ru"))
        .header("origin", &app.base)
        .header("accept", "application/json")
        .header("cookie", "lang=ru")
        .form(&fields)
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["Fields"][0][1], "Введите корректный адрес электронной почты", "{body}");
    // Posted by a Russian page without JavaScript (the page remembered the language in its
    // cookie), it comes back to the page next to the field.
    browser.page("/signup?lang=ru").await;
    let referer = format!("{}/signup?lang=ru", app.base);
    let response = browser
        .client
        .post(app.url("/api/ui/signup"))
        .header("origin", &app.base)
        .header("accept", "text/html")
        .header("referer", &referer)
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let back = response.headers()["location"].to_str().unwrap().to_owned();
    let path = back.strip_prefix(&app.base).unwrap_or(&back);
    let (_, html, _) = browser.page(path).await;
    assert!(html.contains("Введите корректный адрес электронной почты"), "{}", &html[..html.len().min(3000)]);
    app.stop().await;
}
