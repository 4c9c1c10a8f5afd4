//! Issue 15 through the front door: group commit of consumes, reservations of usage, the rate
//! limiter on memory and on Redis, `/metrics` and the access log.

use crate::common::{Backend, TestApp, TestUser, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A plan `id` with `quotas`, and `user` subscribed to it by the admin.
async fn plan_for(app: &TestApp, admin: &TestUser, user: &TestUser, id: &str, extra: Value) {
    let mut body = json!({"id": id, "name": id, "price": 0});
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    let (status, answer) = app.post_json("/api/v1/admin/billing/plans", &admin.token, body).await;
    assert_eq!(status, 201, "{answer}");
    let (status, answer) = app
        .post_json("/api/v1/admin/billing/subscriptions", &admin.token, json!({"user_id": user.id, "plan_id": id}))
        .await;
    assert_eq!(status, 200, "{answer}");
}

/// For each `(token, prefix)` of `accounts` at once, `clients` concurrent clients each consume one
/// request under `per_client` event ids in turn; clients come in pairs that send the same ids
/// (`{prefix}-c{pair}-n{n}`) at the same time. Returns every (index into `accounts`, event id,
/// HTTP status) answered.
async fn send_in_pairs(
    app: &TestApp,
    accounts: &[(&str, &str)],
    clients: usize,
    per_client: usize,
) -> Vec<(usize, String, u16)> {
    let mut tasks = Vec::new();
    for (index, (token, prefix)) in accounts.iter().enumerate() {
        for client_no in 0..clients {
            let client = app.client.clone();
            let url = app.url("/api/v1/billing/usage");
            let (token, prefix) = (token.to_string(), prefix.to_string());
            tasks.push(tokio::spawn(async move {
                let mut answers = Vec::new();
                for n in 0..per_client {
                    let event_id = format!("{prefix}-c{}-n{n}", client_no / 2);
                    let response = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({"metric": "requests", "amount": 1, "event_id": event_id}))
                        .send()
                        .await
                        .unwrap();
                    answers.push((index, event_id, response.status().as_u16()));
                }
                answers
            }));
        }
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.extend(task.await.unwrap());
    }
    answers
}

/// Concurrent consumes of several accounts, each event sent twice at once: every event is
/// counted once, the quotas hold exactly, and the commits carried more than one consume.
async fn group_commit_counts_each_event_once_and_holds_every_quota(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let mut users = Vec::new();
    for i in 0..3 {
        let user = app.customer(&format!("grouped{i}")).await;
        plan_for(&app, &admin, &user, &format!("g{i}"), json!({"quotas": {"requests": 40, "tokens_input": 1000}}))
            .await;
        users.push(user);
    }
    let prefixes: Vec<String> = (0..users.len()).map(|u| format!("u{u}")).collect();
    let accounts: Vec<(&str, &str)> =
        users.iter().zip(&prefixes).map(|(user, prefix)| (user.token.as_str(), prefix.as_str())).collect();
    let answers = send_in_pairs(&app, &accounts, 16, 5).await;
    for (u, user) in users.iter().enumerate() {
        let created = answers.iter().filter(|(x, _, s)| *x == u && *s == 201).count();
        let duplicates = answers.iter().filter(|(x, _, s)| *x == u && *s == 200).count();
        let refused = answers.iter().filter(|(x, _, s)| *x == u && *s == 429).count();
        assert_eq!(created + duplicates + refused, 80, "only 201, 200 and 429 answers");
        // 40 distinct ids per account, and a quota of 40: every id is recorded once.
        assert_eq!(created, 40, "account {u}: each event counted once, the quota exactly");
        let rows = app.scalar("select count(*) from billing_usage where account_id = $1", &[&user.account_id]).await;
        assert_eq!(rows, 40);
        let (_, usage) = app.get_json("/api/v1/billing/usage/requests", &user.token).await;
        assert_eq!(usage["current_usage"], 40, "{usage}");
        // The pairs' second sends: a duplicate (200) when the first was recorded, else 429.
        let ids: std::collections::HashSet<&String> =
            answers.iter().filter(|(x, _, s)| *x == u && *s == 201).map(|(_, id, _)| id).collect();
        assert_eq!(ids.len(), 40, "no id recorded twice");
    }
    // A tight quota (10) under 20 event ids, each sent by two clients at once: 10 are recorded,
    // and an id's second copy is a duplicate (200) only when its first was recorded — a copy of
    // a refused event is refused as well, never answered as counted.
    let tight = app.customer("grouped-tight").await;
    plan_for(&app, &admin, &tight, "g-tight", json!({"quotas": {"requests": 10}})).await;
    let mut by_event: std::collections::BTreeMap<String, Vec<u16>> = std::collections::BTreeMap::new();
    for (_, event_id, status) in send_in_pairs(&app, &[(tight.token.as_str(), "t")], 20, 2).await {
        by_event.entry(event_id).or_default().push(status);
    }
    assert_eq!(by_event.len(), 20);
    for (event_id, statuses) in &mut by_event {
        statuses.sort_unstable();
        assert!(statuses == &[200, 201] || statuses == &[429, 429], "event {event_id}: {statuses:?}");
    }
    assert_eq!(by_event.values().filter(|s| s.contains(&201)).count(), 10, "{by_event:?}");
    assert_eq!(app.scalar("select count(*) from billing_usage where account_id = $1", &[&tight.account_id]).await, 10);

    // Past the quota: 429 with the quota's code, nothing recorded.
    let (status, problem) =
        app.post_json("/api/v1/billing/usage", &users[0].token, json!({"metric": "requests", "amount": 1})).await;
    assert_eq!((status, problem["code"].as_str()), (429, Some("quota_exceeded")), "{problem}");
    // A raised quota applies at once (plans' parsed limits are cached by version).
    let (status, _) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/admin/billing/plans/g0",
            Some(&admin.token),
            Some(json!({"quotas": {"requests": 41, "tokens_input": 1000}})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, tracked) =
        app.post_json("/api/v1/billing/usage", &users[0].token, json!({"metric": "requests", "amount": 1})).await;
    assert_eq!(status, 201, "{tracked}");
    assert_eq!(tracked["usage"]["quota_limit"], 41);
    // The commits carried groups: fewer commits than consumes.
    let metrics = scrape(&app).await;
    let commits = sample(&metrics, "tariff_consume_group_size_count", &[]).expect("group sizes recorded");
    let consumes = sample(&metrics, "tariff_consume_group_size_sum", &[]).expect("group sizes recorded");
    assert!(consumes >= 240.0, "every consume went through the committer: {consumes}");
    assert!(commits < consumes, "{consumes} consumes in {commits} commits");
    // Group sizes have buckets of their own (1 to 128 consumes), not the latency buckets. The
    // parser folds a histogram's buckets into one value, so they are read from the text, all
    // from one scrape (other tests of this process record groups too).
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let value =
        |prefix: &str| text.lines().find_map(|l| l.strip_prefix(prefix)).and_then(|v| v.trim().parse::<f64>().ok());
    let groups = value("tariff_consume_group_size_count ").expect("a count of groups");
    let largest = value("tariff_consume_group_size_bucket{le=\"128\"} ");
    assert_eq!(largest, Some(groups), "every group has at most 128 consumes");
    let singles = value("tariff_consume_group_size_bucket{le=\"1\"} ").expect("a bucket of 1");
    assert!(singles < groups, "some groups carried more than one consume");
    // Groups committed as groups: none fell back to the single-event path.
    assert!(sample(&metrics, "tariff_consume_groups_total", &[("outcome", "committed")]).unwrap_or(0.0) > 0.0);
    for failed in ["rolled_back", "commit_failed", "no_transaction"] {
        assert_eq!(sample(&metrics, "tariff_consume_groups_total", &[("outcome", failed)]), None, "{failed}");
    }
    app.stop().await;
}
on_both_databases!(group_commit, group_commit_counts_each_event_once_and_holds_every_quota);

/// Two processes' groups that share `event_id`s, in opposite orders, on PostgreSQL (SQLite has
/// one writer): group A has inserted `e1` and goes on to `e2`; group B came with `e2, e1`. B's rows
/// go in sorted by event id, so B waits for `e1` without holding `e2`, A inserts `e2` and commits,
/// and B then skips both as duplicates. Inserted in arrival order, B would hold `e2` while
/// waiting for A, A would wait for B, and PostgreSQL would abort one of them as a deadlock.
async fn groups_sharing_event_ids_insert_them_in_one_order() {
    use tariff_core::store::usage::{NewUsage, standings_and_insert};
    let app = spawn_app(Backend::Postgres).await;
    let user = app.customer("shared-ids").await;
    let store = app.state.billing.store.clone();
    let now = app.state.now();
    let row = |id: &str, event_id: &str| NewUsage {
        id: id.to_owned(),
        user_id: user.id.clone(),
        account_id: user.account_id.clone(),
        subscription_id: None,
        metric: "requests",
        amount: 1,
        period_start: 0,
        period_end: 0,
        model_id: None,
        chat_id: None,
        event_id: Some(event_id.to_owned()),
        extra_metadata: None,
        created_at: now,
    };
    let mut a = store.begin_write().await.unwrap();
    let first = standings_and_insert(&mut a, &[row("shared-a1", "e1")]).await.unwrap();
    assert_eq!(first.inserted, ["shared-a1"], "the free plan's live period takes the row");

    let (store_b, rows_b) = (store.clone(), vec![row("shared-b2", "e2"), row("shared-b1", "e1")]);
    let b = tokio::spawn(async move {
        let mut tx = store_b.begin_write().await.unwrap();
        let placed = standings_and_insert(&mut tx, &rows_b).await;
        if placed.is_ok() {
            tx.commit().await.unwrap();
        }
        placed
    });
    // Wait until B's statement waits for A (on A's `e1`). Other tests share the database, so
    // only the backends A blocks count.
    let a_pid: i32 = sqlx::query_scalar("select pg_backend_pid()").fetch_one(a.conn()).await.unwrap();
    let reader = app.reader().await;
    let mut waiting = 0_i64;
    for _ in 0..400 {
        waiting = sqlx::query_scalar("select count(*) from pg_stat_activity where $1 = any(pg_blocking_pids(pid))")
            .bind(a_pid)
            .fetch_one(&reader)
            .await
            .unwrap();
        if waiting > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(waiting, 1, "B waits for A");

    let second = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        standings_and_insert(&mut a, &[row("shared-a2", "e2")]),
    )
    .await
    .expect("A does not wait for B")
    .expect("no deadlock");
    assert_eq!(second.inserted, ["shared-a2"]);
    a.commit().await.unwrap();
    let placed = b.await.unwrap().expect("B waited for A and was not aborted");
    assert_eq!(placed.eligible.len(), 2);
    assert!(placed.inserted.is_empty(), "both of B's events were A's already: {:?}", placed.inserted);
    let rows = app.scalar("select count(*) from billing_usage where account_id = $1", &[&user.account_id]).await;
    assert_eq!(rows, 2);
    app.stop().await;
}

on_postgres!(groups_sharing_event_ids, groups_sharing_event_ids_insert_them_in_one_order);

/// The hot path's own connections (`Store::hot_standing`, beside sqlx's pool) come back after
/// PostgreSQL dropped them: a check that meets a dropped connection drops it and reads on
/// another (or a new one), so no check fails.
async fn hot_reads_reconnect_after_the_database_drops_them() {
    let app = spawn_app(Backend::Postgres).await;
    let admin = app.admin().await;
    let user = app.customer("hot-reads").await;
    plan_for(&app, &admin, &user, "hot", json!({"quotas": {"requests": 100}})).await;
    let check = json!({"metric": "requests", "amount": 1});
    let admin_pool = crate::common::raw_pool(&crate::common::postgres_url().unwrap()).await;
    let schema = app.db.schema().expect("a PostgreSQL test").to_owned();
    // Every hot connection is opened after `since`; the first check also caches the token's
    // principal (for 2 s), so the checks below do not need the pool, whose connections opened
    // since then are dropped too.
    let since: f64 = sqlx::query_scalar("select extract(epoch from clock_timestamp())::float8")
        .fetch_one(&admin_pool)
        .await
        .unwrap();
    let (status, _) = app.post_json("/api/v1/billing/usage/check", &user.token, check.clone()).await;
    assert_eq!(status, 200);
    let mut opened = Vec::new();
    for _ in 0..8 {
        let (client, url, token, body) =
            (app.client.clone(), app.url("/api/v1/billing/usage/check"), user.token.clone(), check.clone());
        opened.push(tokio::spawn(async move {
            client.post(url).bearer_auth(token).json(&body).send().await.unwrap().status().as_u16()
        }));
    }
    for task in opened {
        assert_eq!(task.await.unwrap(), 200);
    }
    let killed: Vec<bool> = sqlx::query_scalar(
        "select pg_terminate_backend(pid) from pg_stat_activity
         where application_name = $1 and extract(epoch from backend_start) >= $2 and pid <> pg_backend_pid()",
    )
    .bind(&schema)
    .bind(since)
    .fetch_all(&admin_pool)
    .await
    .unwrap();
    assert!(!killed.is_empty(), "the hot connections were opened after `since`");
    // Give the backends a moment to go.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let (status, answer) = app.post_json("/api/v1/billing/usage/check", &user.token, check.clone()).await;
        statuses.push((status, answer["code"].clone()));
    }
    assert!(statuses.iter().all(|(status, _)| *status == 200), "{statuses:?}");
    let alive: i64 = sqlx::query_scalar(
        "select count(*) from pg_stat_activity where application_name = $1 and extract(epoch from backend_start) >= $2",
    )
    .bind(&schema)
    .bind(since)
    .fetch_one(&admin_pool)
    .await
    .unwrap();
    assert!(alive >= 1, "a new connection was opened");
    admin_pool.close().await;
    app.stop().await;
}

on_postgres!(hot_reads_reconnect, hot_reads_reconnect_after_the_database_drops_them);

async fn reserve(app: &TestApp, user: &TestUser, body: Value) -> (u16, Value) {
    app.post_json("/api/v1/billing/usage/reservations", &user.token, body).await
}

/// 32 streams reserving 100 tokens against a quota of 1,000 get 10 holds; commits record the
/// actual usage (less or more than held), releases and expiry free the rest, and a hold that is
/// no longer held cannot change.
async fn reservations_hold_the_quota_atomically(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let user = app.customer("streamer").await;
    plan_for(&app, &admin, &user, "stream", json!({"quotas": {"tokens_output": 1000}})).await;

    let mut tasks = Vec::new();
    for _ in 0..32 {
        let client = app.client.clone();
        let url = app.url("/api/v1/billing/usage/reservations");
        let token = user.token.clone();
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(&url)
                .bearer_auth(&token)
                .json(&json!({"metric": "tokens_output", "amount": 100, "ttl_seconds": 60}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }));
    }
    let mut held = Vec::new();
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            (201, body) => held.push(body),
            (429, body) => {
                assert_eq!(body["code"], "quota_exceeded", "{body}");
                refused += 1;
            }
            (status, body) => panic!("unexpected {status}: {body}"),
        }
    }
    assert_eq!((held.len(), refused), (10, 22), "exactly 10 holds of 100 fit in 1,000");
    // Held units count as used for every other check and consume.
    let (_, check) = app
        .post_json("/api/v1/billing/usage/check", &user.token, json!({"metric": "tokens_output", "amount": 1}))
        .await;
    assert_eq!((check["allowed"].as_bool(), check["remaining"].as_i64()), (Some(false), Some(0)), "{check}");
    let (status, _) =
        app.post_json("/api/v1/billing/usage", &user.token, json!({"metric": "tokens_output", "amount": 1})).await;
    assert_eq!(status, 429);

    let id = |i: usize| held[i]["id"].as_str().unwrap().to_owned();
    // Commit less than held: 60 recorded, 40 freed.
    let (status, body) = app
        .post_json(&format!("/api/v1/billing/usage/reservations/{}/commit", id(0)), &user.token, json!({"amount": 60}))
        .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("committed")), "{body}");
    assert_eq!(body["committed_amount"], 60);
    // Commit more than held: 140 fits in what the first commit freed (40) plus its own 100.
    let (status, body) = app
        .post_json(&format!("/api/v1/billing/usage/reservations/{}/commit", id(1)), &user.token, json!({"amount": 140}))
        .await;
    assert_eq!(status, 200, "{body}");
    // Beyond the hold and the quota: refused like a consume, and the hold stays.
    let (status, body) = app
        .post_json(&format!("/api/v1/billing/usage/reservations/{}/commit", id(2)), &user.token, json!({"amount": 101}))
        .await;
    assert_eq!((status, body["code"].as_str()), (429, Some("quota_exceeded")), "{body}");
    let (_, still) = app.get_json(&format!("/api/v1/billing/usage/reservations/{}", id(2)), &user.token).await;
    assert_eq!(still["status"], "held", "{still}");
    // Committed twice, or after a release: 409; release frees the hold.
    let (status, body) = app
        .post_json(&format!("/api/v1/billing/usage/reservations/{}/commit", id(0)), &user.token, json!({"amount": 1}))
        .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("conflict")), "{body}");
    let (status, body) =
        app.post_json(&format!("/api/v1/billing/usage/reservations/{}/release", id(3)), &user.token, json!({})).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("released")), "{body}");
    let (status, _) = app
        .post_json(&format!("/api/v1/billing/usage/reservations/{}/commit", id(3)), &user.token, json!({"amount": 1}))
        .await;
    assert_eq!(status, 409);
    let (status, _) =
        app.post_json(&format!("/api/v1/billing/usage/reservations/{}/release", id(3)), &user.token, json!({})).await;
    assert_eq!(status, 409);
    // Expiry: past its TTL a hold frees itself (the sweeper), and committing it is a 409.
    app.clock.advance(61);
    let freed = tariff_core::usage::reserve::expire_due(app.store(), app.state.now()).await.unwrap();
    assert_eq!(freed, 7, "the seven holds left (ids 2 and 4 to 9) expired");
    let (status, body) = app
        .post_json(&format!("/api/v1/billing/usage/reservations/{}/commit", id(4)), &user.token, json!({"amount": 1}))
        .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("conflict")), "{body}");
    // Only the committed units remain used: 60 + 140.
    let (_, usage) = app.get_json("/api/v1/billing/usage/tokens_output", &user.token).await;
    assert_eq!(usage["current_usage"], 200, "{usage}");
    let reserved: i64 = sqlx::query_scalar("select reserved from billing_usage_counter where account_id = $1")
        .bind(&user.account_id)
        .fetch_one(&app.reader().await)
        .await
        .unwrap();
    assert_eq!(reserved, 0, "no hold is left on the counter");
    let rows = app.scalar("select count(*) from billing_usage where account_id = $1", &[&user.account_id]).await;
    assert_eq!(rows, 2, "one usage row per commit");

    // Bad input changes nothing: 422 for amounts and TTLs, 404 for metrics and strangers.
    for (body, field) in [
        (json!({"metric": "tokens_output", "amount": 0}), "amount"),
        (json!({"metric": "tokens_output", "amount": -5}), "amount"),
        (json!({"metric": "tokens_output", "amount": 1, "ttl_seconds": 3601}), "ttl_seconds"),
        (json!({"metric": "tokens_output", "amount": 1, "ttl_seconds": 0}), "ttl_seconds"),
    ] {
        let (status, problem) = reserve(&app, &user, body).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let (status, _) = reserve(&app, &user, json!({"metric": "minutes", "amount": 1})).await;
    assert_eq!(status, 404);
    let stranger = app.customer("stranger").await;
    let (status, _) = app
        .post_json(&format!("/api/v1/billing/usage/reservations/{}/release", id(2)), &stranger.token, json!({}))
        .await;
    assert_eq!(status, 404, "another account's reservation is not found");
    let (status, _) = app
        .post_json(&format!("/api/v1/billing/usage/reservations/{}/commit", id(2)), &user.token, json!({"amount": 0}))
        .await;
    assert_eq!(status, 422);
    let (status, _) =
        app.call(reqwest::Method::POST, "/api/v1/billing/usage/reservations", None, Some(json!({}))).await;
    assert_eq!(status, 401);
    app.stop().await;
}
on_both_databases!(reservations, reservations_hold_the_quota_atomically);

/// A customer `name` on plan `plan`: 100 `tokens_output` a period, 0.10 ₽ a token beyond them,
/// and 10.00 ₽ on the balance.
async fn payg_streamer(app: &TestApp, name: &str, plan: &str) -> TestUser {
    let admin = app.admin().await;
    let user = app.customer(name).await;
    plan_for(app, &admin, &user, plan, json!({"quotas": {"tokens_output": 100}, "overage": {"tokens_output": 10}}))
        .await;
    let (status, body) = app
        .post_json(
            &format!("/api/v1/admin/billing/users/{}/balance", user.id),
            &admin.token,
            json!({"amount": 10.00, "reason": "test credit"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    user
}

/// On a plan that prices overage, the part of a hold beyond the quota is held on the balance
/// and given back when the hold ends; 402 when the balance cannot hold it.
async fn reservations_hold_the_balance_beyond_the_quota(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = payg_streamer(&app, "payg-streamer", "payg").await;
    // 150 held: 100 from the quota, 50 × 0.10 ₽ = 5.00 ₽ from the balance.
    let (status, held) = reserve(&app, &user, json!({"metric": "tokens_output", "amount": 150})).await;
    assert_eq!(status, 201, "{held}");
    assert_eq!((held["covered_by"].as_str(), held["held_balance"].as_f64()), (Some("balance"), Some(5.0)), "{held}");
    let (_, balance) = app.get_json("/api/v1/billing/balance", &user.token).await;
    assert_eq!(balance["balance"], 5.0, "{balance}");
    // 60 more would need 6.00 ₽: 402, nothing held.
    let (status, problem) = reserve(&app, &user, json!({"metric": "tokens_output", "amount": 60})).await;
    assert_eq!((status, problem["code"].as_str()), (402, Some("insufficient_balance")), "{problem}");
    // Commit 120: the hold's 5.00 ₽ comes back, 20 × 0.10 = 2.00 ₽ is charged: 8.00 ₽ left.
    let id = held["id"].as_str().unwrap();
    let (status, body) = app
        .post_json(&format!("/api/v1/billing/usage/reservations/{id}/commit"), &user.token, json!({"amount": 120}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, balance) = app.get_json("/api/v1/billing/balance", &user.token).await;
    assert_eq!(balance["balance"], 8.0, "{balance}");
    let ledger = app
        .scalar(
            "select cast(sum(delta_micros) as bigint) from billing_balance_entry where account_id = $1",
            &[&user.account_id],
        )
        .await;
    assert_eq!(ledger, 800_000_000, "the ledger sums to the balance (micro-kopecks)");
    app.stop().await;
}
on_both_databases!(reservations_payg, reservations_hold_the_balance_beyond_the_quota);

/// Holds, commits and releases arriving together commit in groups, each write on its own: a
/// hold refused after it had changed the counter (402: the balance cannot cover its overage)
/// leaves nothing behind, while the group's other writes are kept.
async fn reservation_writes_in_one_group_fail_alone(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = payg_streamer(&app, "payg-burst", "burst").await;
    // 24 holds of 100 at once: one from the quota, one from the balance (100 × 0.10 ₽ = 10.00 ₽),
    // and 22 refused with 402 after their counter update (every refused hold's units come back).
    let burst = |n: usize| {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let (client, url, token) =
                    (app.client.clone(), app.url("/api/v1/billing/usage/reservations"), user.token.clone());
                tokio::spawn(async move {
                    let response = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({"metric": "tokens_output", "amount": 100}))
                        .send()
                        .await
                        .unwrap();
                    (response.status().as_u16(), response.json::<Value>().await.unwrap())
                })
            })
            .collect();
        async move {
            let mut answers = Vec::new();
            for task in tasks {
                answers.push(task.await.unwrap());
            }
            answers
        }
    };
    let groups_before = scrape(&app).await;
    let answers = burst(24).await;
    let held: Vec<&Value> = answers.iter().filter(|(status, _)| *status == 201).map(|(_, body)| body).collect();
    let refused = answers.iter().filter(|(status, body)| *status == 402 && body["code"] == "insufficient_balance");
    assert_eq!((held.len(), refused.count()), (2, 22), "{answers:?}");
    let counter = |column: &'static str| {
        let sql = format!("select {column} from billing_usage_counter where account_id = $1");
        let (app, account) = (&app, user.account_id.clone());
        async move { app.scalar(&sql, &[&account]).await }
    };
    assert_eq!((counter("used").await, counter("reserved").await), (200, 200), "only the two holds count");
    let (_, balance) = app.get_json("/api/v1/billing/balance", &user.token).await;
    assert_eq!(balance["balance"], 0.0, "{balance}");

    // Both released twice at once: each hold ends once, the second release of each is a 409,
    // and the balance gets its 10.00 ₽ back.
    let ids: Vec<String> = held.iter().map(|body| body["id"].as_str().unwrap().to_owned()).collect();
    let writes = |calls: Vec<(String, Value)>| {
        let tasks: Vec<_> = calls
            .into_iter()
            .map(|(path, body)| {
                let (client, token) = (app.client.clone(), user.token.clone());
                let url = app.url(&format!("/api/v1/billing/usage/reservations/{path}"));
                tokio::spawn(
                    async move { client.post(&url).bearer_auth(&token).json(&body).send().await.unwrap().status() },
                )
            })
            .collect();
        async move {
            let mut statuses = Vec::new();
            for task in tasks {
                statuses.push(task.await.unwrap().as_u16());
            }
            statuses.sort_unstable();
            statuses
        }
    };
    let release = |id: &String| (format!("{id}/release"), json!({}));
    let statuses = writes(vec![release(&ids[0]), release(&ids[1]), release(&ids[0]), release(&ids[1])]).await;
    assert_eq!(statuses, [200, 200, 409, 409]);
    assert_eq!((counter("used").await, counter("reserved").await), (0, 0));
    let (_, balance) = app.get_json("/api/v1/billing/balance", &user.token).await;
    assert_eq!(balance["balance"], 10.0, "the balance hold came back: {balance}");
    // A new hold committed twice at once: one commit records 30, the other is a 409.
    let (status, hold) = reserve(&app, &user, json!({"metric": "tokens_output", "amount": 100})).await;
    assert_eq!(status, 201, "{hold}");
    let commit = (format!("{}/commit", hold["id"].as_str().unwrap()), json!({"amount": 30}));
    assert_eq!(writes(vec![commit.clone(), commit]).await, [200, 409]);
    assert_eq!((counter("used").await, counter("reserved").await), (30, 0));
    // The writes went through the group committer, some of them together, and no group fell
    // back to writes alone (the metrics are the process's: other tests add to them).
    let metrics = scrape(&app).await;
    let delta =
        |name: &str| sample(&metrics, name, &[]).unwrap_or(0.0) - sample(&groups_before, name, &[]).unwrap_or(0.0);
    let (written, groups) = (delta("tariff_reservation_group_size_sum"), delta("tariff_reservation_group_size_count"));
    assert!(written >= 28.0, "every hold and at least one write per reservation went through the committer: {written}");
    assert!(groups < written, "{written} writes in {groups} groups");
    assert!(sample(&metrics, "tariff_reservation_groups_total", &[("outcome", "committed")]).unwrap_or(0.0) > 0.0);
    for failed in ["rolled_back", "commit_failed", "no_transaction"] {
        assert_eq!(sample(&metrics, "tariff_reservation_groups_total", &[("outcome", failed)]), None, "{failed}");
    }
    app.stop().await;
}
on_both_databases!(reservation_groups, reservation_writes_in_one_group_fail_alone);

/// A reservation write that a database error stops inside a group (here a trigger that rejects
/// holds of 13 units) runs again alone: the other holds of the group are kept, the failing one
/// answers 500 without the database's text and holds nothing. The hold fits its quota, so it is
/// first tried without a savepoint: its failure sends the whole group round again with a
/// savepoint for every write, where the error stays with its own write.
async fn reservation_database_errors_leave_the_group_alone(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let user = app.customer("unlucky-streamer").await;
    plan_for(&app, &admin, &user, "unlucky", json!({"quotas": {"tokens_output": 1000}})).await;
    let trigger: &[&str] = match backend {
        Backend::Sqlite => &["create trigger reject_thirteen before insert on billing_usage_reservation \
             when new.amount = 13 begin select raise(abort, 'secret trigger text'); end"],
        Backend::Postgres => &[
            "create function reject_thirteen() returns trigger language plpgsql as \
             $$ begin raise exception 'secret trigger text'; end $$",
            "create trigger reject_thirteen before insert on billing_usage_reservation \
             for each row when (new.amount = 13) execute function reject_thirteen()",
        ],
    };
    let pool = app.reader().await;
    for sql in trigger {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    let before = scrape(&app).await;
    let tasks: Vec<_> = [10, 13, 10, 10, 13, 10, 10, 10, 10, 10]
        .into_iter()
        .map(|amount| {
            let (client, token) = (app.client.clone(), user.token.clone());
            let url = app.url("/api/v1/billing/usage/reservations");
            tokio::spawn(async move {
                let body = json!({"metric": "tokens_output", "amount": amount});
                let response = client.post(&url).bearer_auth(&token).json(&body).send().await.unwrap();
                (amount, response.status().as_u16(), response.text().await.unwrap())
            })
        })
        .collect();
    for task in tasks {
        let (amount, status, body) = task.await.unwrap();
        match amount {
            13 => {
                assert_eq!(status, 500, "{body}");
                assert!(!body.contains("secret"), "no database text reaches the client: {body}");
            }
            _ => assert_eq!(status, 201, "{body}"),
        }
    }
    let counter = |column: &str| format!("select {column} from billing_usage_counter where account_id = $1");
    let account = user.account_id.as_str();
    assert_eq!(
        (app.scalar(&counter("used"), &[account]).await, app.scalar(&counter("reserved"), &[account]).await),
        (80, 80)
    );
    let held = "select count(*) from billing_usage_reservation where account_id = $1";
    assert_eq!(app.scalar(held, &[account]).await, 8);
    // Each failing hold was sent back from its group once (other tests' writes may add to it).
    let after = scrape(&app).await;
    let labels = [("reason", "database_error")];
    let sent_back = sample(&after, "tariff_reservation_writes_alone_total", &labels).unwrap_or(0.0)
        - sample(&before, "tariff_reservation_writes_alone_total", &labels).unwrap_or(0.0);
    assert!(sent_back >= 2.0, "{sent_back}");
    let retries = sample(&after, "tariff_reservation_group_retries_total", &[]).unwrap_or(0.0)
        - sample(&before, "tariff_reservation_group_retries_total", &[]).unwrap_or(0.0);
    assert!(retries >= 1.0, "the failing holds' groups were tried again with savepoints: {retries}");
    // Without the trigger the same hold goes through.
    let drop = match backend {
        Backend::Sqlite => "drop trigger reject_thirteen",
        Backend::Postgres => "drop trigger reject_thirteen on billing_usage_reservation",
    };
    sqlx::query(drop).execute(&pool).await.unwrap();
    let (status, body) = reserve(&app, &user, json!({"metric": "tokens_output", "amount": 13})).await;
    assert_eq!(status, 201, "{body}");
    app.stop().await;
}
on_both_databases!(reservation_database_errors, reservation_database_errors_leave_the_group_alone);

/// The rate limiter in memory: the limit per token, the headers on every answer, 429
/// `rate_limited` (not the quota's code) with `Retry-After`; the webhook is never limited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limiter_in_memory_limits_each_token() {
    let app = spawn_app_with(
        Backend::Sqlite,
        &[("RATE_LIMIT_ENABLED", "on"), ("RATE_LIMIT_REQUESTS", "5"), ("RATE_LIMIT_WINDOW_SECONDS", "60")],
    )
    .await;
    let user = app.customer("limited").await;
    let other = app.customer("other").await;
    for i in 0..5 {
        let response =
            app.client.get(app.url("/api/v1/billing/usage/requests")).bearer_auth(&user.token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["ratelimit-limit"], "5");
        assert_eq!(response.headers()["ratelimit-remaining"].to_str().unwrap(), (4 - i).to_string());
        assert!(response.headers().contains_key("ratelimit-reset"));
    }
    let response =
        app.client.get(app.url("/api/v1/billing/usage/requests")).bearer_auth(&user.token).send().await.unwrap();
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "rate_limited", "{problem}");
    // Another token has its own window; the webhook is outside the limiter.
    let (status, _) = app.get_json("/api/v1/billing/usage/requests", &other.token).await;
    assert_eq!(status, 200);
    for _ in 0..8 {
        let response = app.client.post(app.url("/api/v1/billing/webhook/yookassa")).body("{}").send().await.unwrap();
        assert_ne!(response.status(), 429);
        assert!(!response.headers().contains_key("ratelimit-limit"));
    }
    app.stop().await;
}

/// A TCP relay to Redis that the test can cut and restore (a Redis that goes away and comes
/// back, without stopping the machine's Redis under the other tests).
struct Relay {
    address: std::net::SocketAddr,
    up: Arc<AtomicBool>,
}

impl Relay {
    async fn start(target: String) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let flag = up.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { return };
                let flag = flag.clone();
                let target = target.clone();
                tokio::spawn(async move {
                    if !flag.load(Ordering::SeqCst) {
                        return; // dropped: the connection is refused at once
                    }
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else { return };
                    let (mut ri, mut wi) = inbound.split();
                    let (mut ro, mut wo) = outbound.split();
                    let watch = async {
                        while flag.load(Ordering::SeqCst) {
                            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        }
                    };
                    tokio::select! {
                        _ = tokio::io::copy(&mut ri, &mut wo) => {}
                        _ = tokio::io::copy(&mut ro, &mut wi) => {}
                        _ = watch => {}
                    }
                });
            }
        });
        Relay { address, up }
    }
}

fn redis_address() -> Option<String> {
    let url = std::env::var("TEST_REDIS_URL").ok().filter(|u| !u.trim().is_empty())?;
    Some(url.trim_start_matches("redis://").trim_end_matches('/').to_owned())
}

/// Two servers on one Redis share one limit (limit 100, 60 + 60 requests → 100 allowed); with
/// Redis gone no request fails and the limiter decides in memory; when Redis is back, so is the
/// shared limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limiter_on_redis_is_shared_and_survives_redis_going_away() {
    let Some(redis) = redis_address() else {
        eprintln!("TEST_REDIS_URL is not set: Redis rate limiter test skipped");
        return;
    };
    let relay = Relay::start(redis).await;
    let redis_url = format!("redis://{}", relay.address);
    let settings = [
        ("RATE_LIMIT_ENABLED", "on"),
        ("RATE_LIMIT_REQUESTS", "100"),
        ("RATE_LIMIT_WINDOW_SECONDS", "60"),
        ("REDIS_URL", redis_url.as_str()),
    ];
    let app = spawn_app_with(Backend::Sqlite, &settings).await;
    let user = app.customer("shared").await;
    // A second server on the same database and Redis.
    let replica =
        tariff::server::startup::Application::build(crate::common::config(&app.db, &settings), app.clock.clone())
            .await
            .expect("replica");
    let replica_base = format!("http://{}", replica.address());
    let replica_state = replica.state().clone();
    tokio::spawn(async move { replica.run_without_jobs_until(std::future::pending()).await.expect("replica") });

    let send = |base: String| {
        let client = app.client.clone();
        let token = user.token.clone();
        async move {
            let mut statuses = Vec::new();
            for _ in 0..60 {
                let response = client
                    .get(format!("{base}/api/v1/billing/usage/requests"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                statuses.push(response.status().as_u16());
            }
            statuses
        }
    };
    let (a, b) = tokio::join!(send(app.base.clone()), send(replica_base.clone()));
    let all: Vec<u16> = a.into_iter().chain(b).collect();
    assert_eq!(all.iter().filter(|s| **s == 200).count(), 100, "one shared limit of 100");
    assert_eq!(all.iter().filter(|s| **s == 429).count(), 20);
    assert!(app.state.rate_limiter.on_redis());

    // Redis goes away: nothing fails, decisions are taken in memory (a fresh window per server).
    relay.up.store(false, Ordering::SeqCst);
    let other = app.customer("during-outage").await;
    for _ in 0..20 {
        let (status, _) = app.get_json("/api/v1/billing/usage/requests", &other.token).await;
        assert_eq!(status, 200, "no request fails because Redis is down");
    }
    assert!(!app.state.rate_limiter.on_redis(), "the limiter fell back to memory");
    // Redis is back: after the retry pause the limiter is on Redis again.
    relay.up.store(true, Ordering::SeqCst);
    tokio::time::sleep(tariff::server::rate_limit::REDIS_RETRY_AFTER + std::time::Duration::from_millis(200)).await;
    for _ in 0..3 {
        let (status, _) = app.get_json("/api/v1/billing/usage/requests", &other.token).await;
        assert_eq!(status, 200);
    }
    assert!(app.state.rate_limiter.on_redis(), "back on Redis");
    replica_state.billing.store.close().await;
    app.stop().await;
}

/// One sample of a scrape: metric name, labels, value.
type Sample = (String, Vec<(String, String)>, f64);

/// `GET /metrics` in the Prometheus text format, read into samples.
async fn scrape(app: &TestApp) -> Vec<Sample> {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("the Prometheus text format");
    scrape
        .samples
        .into_iter()
        .filter_map(|s| {
            let value = match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                prometheus_parse::Value::Histogram(_) | prometheus_parse::Value::Summary(_) => return None,
            };
            let labels = s.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            Some((s.metric, labels, value))
        })
        .collect()
}

/// The sum of the samples of `name` whose labels include `labels`.
fn sample(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<f64> = samples
        .iter()
        .filter(|(n, l, _)| n == name && labels.iter().all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v)))
        .map(|(_, _, v)| *v)
        .collect();
    (!matching.is_empty()).then(|| matching.iter().sum())
}

/// `/metrics` parses as the Prometheus text format and its counters move with the traffic;
/// with `METRICS_TOKEN` it needs the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_prometheus_text_and_move() {
    let app = spawn_app(Backend::Sqlite).await;
    let user = app.customer("measured").await;
    let before = scrape(&app).await;
    let route = [("route", "/api/v1/billing/usage"), ("method", "POST"), ("status", "201")];
    let consumed_before = sample(&before, "tariff_http_requests_total", &route).unwrap_or(0.0);
    let allowed_before =
        sample(&before, "tariff_quota_decisions_total", &[("metric", "requests"), ("decision", "allowed")])
            .unwrap_or(0.0);
    for _ in 0..3 {
        let (status, _) =
            app.post_json("/api/v1/billing/usage", &user.token, json!({"metric": "requests", "amount": 1})).await;
        assert_eq!(status, 201);
    }
    let (status, _) =
        app.post_json("/api/v1/billing/usage/check", &user.token, json!({"metric": "requests", "amount": 1})).await;
    assert_eq!(status, 200);
    let after = scrape(&app).await;
    assert!(sample(&after, "tariff_http_requests_total", &route).unwrap() >= consumed_before + 3.0);
    assert!(
        sample(&after, "tariff_quota_decisions_total", &[("metric", "requests"), ("decision", "allowed")]).unwrap()
            >= allowed_before + 3.0
    );
    for gauge in [
        "tariff_db_pool_connections",
        "tariff_db_pool_max",
        "tariff_db_hot_connections",
        "tariff_rate_limiter_redis",
        "tariff_consume_queue_waiting",
    ] {
        assert!(sample(&after, gauge, &[]).is_some(), "{gauge} is exported");
    }
    // The check read its quota standing on the hot path's own connections.
    assert!(sample(&after, "tariff_db_hot_connections", &[]).unwrap() >= 1.0);
    app.stop().await;

    let guarded = spawn_app_with(Backend::Sqlite, &[("METRICS_TOKEN", "scrape-secret-0123456789")]).await;
    let response = guarded.client.get(guarded.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let response =
        guarded.client.get(guarded.url("/metrics")).bearer_auth("scrape-secret-0123456789").send().await.unwrap();
    assert_eq!(response.status(), 200);
    guarded.stop().await;
}

/// `AUDIT_LOG_LEVEL=REQUEST_RESPONSE` with a file: one JSON line per request with the seed's
/// fields, bodies included, passwords and tokens never.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_log_writes_the_seeds_entries_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("access.log");
    let file_text = file.display().to_string();
    let app = spawn_app_with(
        Backend::Sqlite,
        &[("AUDIT_LOG_LEVEL", "REQUEST_RESPONSE"), ("AUDIT_LOG_FILE", file_text.as_str())],
    )
    .await;
    let user = app.customer("logged").await;
    let (status, _) = app
        .post_json(
            "/api/v1/billing/usage",
            &user.token,
            json!({"metric": "requests", "amount": 2, "metadata": {"api_token": "sk-live-abc"}}),
        )
        .await;
    assert_eq!(status, 201);
    let response = app
        .client
        .post(app.url("/api/v1/billing/usage"))
        .header("user-agent", "access-log-test")
        .bearer_auth(&user.token)
        .json(&json!({"metric": "requests", "amount": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let _ = app.client.get(app.url("/healthz")).send().await.unwrap();
    // Lines reach the file within the writer's flush interval.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let text = std::fs::read_to_string(&file).unwrap();
    let entries: Vec<Value> =
        text.lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    assert!(!text.contains(&user.token) && !text.contains("sk-live-abc"), "no token in the log");
    assert!(entries.iter().all(|e| e["request_uri"] != "/healthz"), "excluded paths are not logged");
    let created = entries.iter().find(|e| e["response_status_code"] == 201).expect("the consume's entry");
    assert_eq!(created["verb"], "POST");
    assert_eq!(created["request_uri"], "/api/v1/billing/usage");
    assert_eq!(created["audit_level"], "REQUEST_RESPONSE");
    assert_eq!(created["user"]["id"], user.id.as_str());
    assert_eq!(created["source_ip"], "127.0.0.1");
    assert_eq!(created["request_object"]["amount"], 2);
    assert_eq!(created["request_object"]["metadata"]["api_token"], "[REDACTED]");
    assert_eq!(created["response_object"]["recorded"], true);
    let refused = entries.iter().find(|e| e["response_status_code"] == 422).expect("the 422's entry");
    assert_eq!(refused["user_agent"], "access-log-test");
    assert_eq!(refused["response_object"]["code"], "validation_failed");
    app.stop().await;
}

/// The bundle under `/pkg` is served brotli-precompressed to browsers that accept it, with the
/// caching headers of unhashed names (revalidate), and as it is to those that do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_files_are_served_precompressed() {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    let script = "export function hydrate() { console.log('tariff'); }\n".repeat(500);
    std::fs::write(site.path().join("pkg/app.js"), &script).unwrap();
    let root = site.path().display().to_string();
    let app = spawn_app_with(Backend::Sqlite, &[("LEPTOS_SITE_ROOT", root.as_str())]).await;
    // The compressed twins are made in the background at start.
    for _ in 0..100 {
        if site.path().join("pkg/app.js.br").exists() && site.path().join("pkg/app.js.gz").exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The test client neither asks for nor decodes compressed bodies unless told to.
    let raw = &app.client;
    let response = raw.get(app.url("/pkg/app.js")).header("accept-encoding", "br").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "br");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let packed = response.bytes().await.unwrap();
    assert!(packed.len() < script.len() / 10, "{} of {}", packed.len(), script.len());
    let mut decoded = Vec::new();
    brotli::BrotliDecompress(&mut std::io::Cursor::new(&packed[..]), &mut decoded).unwrap();
    assert_eq!(decoded, script.as_bytes());
    let plain = raw.get(app.url("/pkg/app.js")).send().await.unwrap();
    assert!(!plain.headers().contains_key("content-encoding"));
    assert_eq!(plain.bytes().await.unwrap().len(), script.len());
    app.stop().await;
}
