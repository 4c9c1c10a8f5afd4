//! The admin dashboard's server functions over real HTTP with a cookie session: admins only,
//! MRR on the overview, the plan editor's safeguards, duplicate/delete, refunds, assignment,
//! user search and the audit log.

use crate::common::{Backend, TestApp, spawn_app};
use crate::portal::{Browser, email, pay_in_sandbox};
use serde_json::{Value, json};

/// An admin signed in to the web UI (password `a long enough password`, see `TestApp::user`).
async fn admin_browser(app: &TestApp) -> Browser {
    let admin = app.admin().await;
    let browser = Browser::new(app);
    let (status, body, _) =
        browser.call("login", &[("email", &admin.email), ("password", "a long enough password")]).await;
    assert_eq!(status, 200, "{body}");
    browser
}

/// The editor's fields for `plan` (from the JSON API), with `changes` applied.
fn editor_fields(plan: &Value, changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = vec![
        ("id".into(), plan["id"].as_str().unwrap_or_default().into()),
        ("fields[name]".into(), plan["name"].as_str().unwrap_or_default().into()),
        ("fields[name_ru]".into(), plan["name_ru"].as_str().unwrap_or_default().into()),
        ("fields[price]".into(), format!("{:.2}", plan["price"].as_f64().unwrap_or(0.0))),
        ("fields[currency]".into(), plan["currency"].as_str().unwrap_or("RUB").into()),
        ("fields[interval]".into(), plan["interval"].as_str().unwrap_or("month").into()),
        ("fields[trial_days]".into(), "0".into()),
        ("fields[display_order]".into(), plan["display_order"].to_string()),
        ("fields[is_active]".into(), "true".into()),
    ];
    for metric in ["tokens_input", "tokens_output", "requests", "images", "audio_minutes"] {
        match plan["quotas"][metric].as_i64() {
            Some(limit) => fields.push((format!("fields[quotas.{metric}]"), limit.to_string())),
            None => fields.push((format!("fields[unlimited.{metric}]"), "true".into())),
        }
    }
    for (name, value) in changes {
        let key = format!("fields[{name}]");
        fields.retain(|(k, _)| *k != key);
        fields.push((key, (*value).to_owned()));
    }
    fields
}

async fn save(browser: &Browser, fields: &[(String, String)]) -> (u16, Value) {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, body, _) = browser.call("admin/plans/save", &pairs).await;
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_admins_get_403_and_anonymous_visitors_are_sent_to_log_in() {
    let app = spawn_app(Backend::Sqlite).await;
    let anonymous = Browser::new(&app);
    let (status, _, headers) = anonymous.page("/admin/plans").await;
    assert_eq!(status, 303);
    assert_eq!(headers["location"], "/login?next=/admin/plans");

    let user = Browser::new(&app);
    user.sign_up(&email("nosy")).await;
    let (status, html, _) = user.page("/admin").await;
    assert_eq!(status, 403);
    assert!(html.contains("data-error=\"forbidden\""), "{html}");
    for function in ["admin/overview", "admin/plans", "admin/users"] {
        let fields: &[(&str, &str)] = if function == "admin/users" { &[("page", "1")] } else { &[] };
        let (status, body, _) = user.call(function, fields).await;
        assert_eq!((status, body), (403, Value::String("Forbidden".into())), "{function}");
    }
    let (status, _, _) = user.call("admin/plans/delete", &[("id", "pro")]).await;
    assert_eq!(status, 403);
    let (_, plan) = app.call(reqwest::Method::GET, "/api/v1/billing/plans/pro", None, None).await;
    assert_eq!(plan["id"], "pro", "nothing was deleted");
}

async fn overview_mrr_follows_the_definition(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = admin_browser(&app).await;
    let admin = app.admin().await;
    // 2 × Pro (990/month) + 1 × an annual plan of 12,000/year = 1,980 + 1,000 = 2,980 ₽.
    let (status, body) = app
        .post_json(
            "/api/v1/admin/billing/plans",
            &admin.token,
            json!({"id": "team_annual", "name": "Team annual", "price": 12000.00, "currency": "RUB", "interval": "year"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    for plan in ["pro", "pro", "team_annual"] {
        let user = app.customer("payer").await;
        let (status, body) = app
            .post_json(
                "/api/v1/admin/billing/subscriptions",
                &admin.token,
                json!({"user_id": user.id, "plan_id": plan}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, home, _) = browser.call("admin/overview", &[]).await;
    assert_eq!(status, 200, "{home}");
    let overview = &home["overview"];
    // The revenue series counts the three as new MRR this month.
    let rub_series = home["mrr"]["currencies"].as_array().unwrap().iter().find(|c| c["currency"] == "RUB").unwrap();
    let this_month = rub_series["points"].as_array().unwrap().last().unwrap();
    assert_eq!((this_month["new_minor"].as_i64(), this_month["mrr_minor"].as_i64()), (Some(298_000), Some(298_000)));
    let rub = overview["totals"]["mrr"].as_array().unwrap().iter().find(|m| m["currency"] == "RUB").unwrap().clone();
    assert_eq!(rub["mrr_minor"], 298_000);
    assert!(overview["totals"]["active_subscriptions"].as_i64().unwrap() >= 3);
    assert_eq!(overview["new_30d"], 3);
    let arpu = overview["arpu"].as_array().unwrap().iter().find(|a| a["currency"] == "RUB").unwrap().clone();
    assert_eq!((arpu["paying_subscriptions"].as_i64(), arpu["arpu_minor"].as_i64()), (Some(3), Some(99_333)));

    let (status, html, _) = browser.page("/admin").await;
    assert_eq!(status, 200);
    assert!(html.contains("2,980\u{a0}₽"), "the MRR figure is on the page");
    assert!(html.contains("data-chart=\"mrr-by-plan\""));
    // The bar chart's scale is labelled in roubles: the largest plan's MRR, not its kopecks.
    let chart = &html[html.find("data-chart=\"mrr-by-plan\"").unwrap()..];
    let top = chart.split("class=\"chart-label\">").nth(1).unwrap().split('<').next().unwrap();
    let largest = overview["plans"].as_array().unwrap().iter().filter_map(|p| p["mrr_minor"].as_i64()).max().unwrap();
    let digits: String = top.chars().filter(char::is_ascii_digit).collect();
    assert!(
        top.ends_with('₽') && digits == (largest / 100).to_string(),
        "scale top {top:?}, largest MRR {largest} kopecks"
    );
    // The MRR line and movement bars, and the sandbox's clock panel.
    assert!(html.contains("data-chart=\"mrr-movements\" data-currency=\"RUB\""), "{html}");
    assert!(html.contains("data-movement=\"new\" data-amount-minor=\"298000\""), "{html}");
    assert!(html.contains("data-card=\"test-clock\""));
}
on_both_databases!(overview_mrr_follows_the_definition, overview_mrr_follows_the_definition);

async fn the_editor_refuses_lower_quotas_with_subscribers_and_confirms_price_changes(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = admin_browser(&app).await;
    let admin = app.admin().await;
    let subscriber = app.customer("keeper").await;
    let (status, _) = app
        .post_json(
            "/api/v1/admin/billing/subscriptions",
            &admin.token,
            json!({"user_id": subscriber.id, "plan_id": "pro"}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, pro) = app.call(reqwest::Method::GET, "/api/v1/billing/plans/pro", None, None).await;
    let limit = pro["quotas"]["tokens_input"].as_i64().unwrap();

    let lowered = (limit - 1).to_string();
    let (status, body) = save(&browser, &editor_fields(&pro, &[("quotas.tokens_input", &lowered)])).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["Fields"][0][0], "quotas.tokens_input");
    assert!(body["Fields"][0][1].as_str().unwrap().contains("cannot be decreased"));

    let (status, body) = save(&browser, &editor_fields(&pro, &[("price", "1290.00")])).await;
    assert_eq!(status, 422, "a price change needs confirming: {body}");
    assert_eq!(body["Fields"][0][0], "price");
    assert!(body["Fields"][0][1].as_str().unwrap().contains("1,290"), "{body}");
    let (status, body) = save(&browser, &editor_fields(&pro, &[("price", "1290.00"), ("confirm_price", "true")])).await;
    assert_eq!(status, 200, "{body}");
    let (_, pro) = app.call(reqwest::Method::GET, "/api/v1/billing/plans/pro", None, None).await;
    assert_eq!(pro["price_minor"], 129_000);

    let (_, audit) = app.get_json("/api/v1/admin/billing/audit?action=plan.update&entity_id=pro", &admin.token).await;
    assert!(
        audit["items"][0]["description"].as_str().unwrap().contains("price changed from 990.00 RUB to 1290.00 RUB")
    );
    assert_eq!(audit["items"][0]["audit_metadata"]["channel"], "web");
    // Included feature units and the pay-as-you-go discount (issue 12.4).
    let payg = [("feature_limits", "gpt-4o: 100 000\nCategorizationAgent = 50"), ("discount_percent", "15")];
    let (status, body) = save(&browser, &editor_fields(&pro, &payg)).await;
    assert_eq!(status, 200, "{body}");
    let (_, saved) = app.call(reqwest::Method::GET, "/api/v1/billing/plans/pro", None, None).await;
    assert_eq!(saved["feature_limits"], json!({"CategorizationAgent": 50, "gpt-4o": 100_000}), "{saved}");
    assert_eq!(saved["discount_percent"], 15);
    for (field, value) in [("feature_limits", "gpt-4o lots"), ("discount_percent", "120")] {
        let (status, body) = save(&browser, &editor_fields(&pro, &[(field, value)])).await;
        assert_eq!(status, 422, "{field}: {body}");
        assert_eq!(body["Fields"][0][0], field, "{body}");
    }

    // Bad values come back per field and change nothing.
    let mut fields = editor_fields(&pro, &[("price", "abc"), ("quotas.images", "x"), ("plan_extra_metadata", "{")]);
    fields.retain(|(k, _)| k != "fields[unlimited.images]");
    let (status, body) = save(&browser, &fields).await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["Fields"].as_array().unwrap().iter().map(|f| f[0].as_str().unwrap()).collect();
    assert_eq!(fields, ["price", "quotas.images", "plan_extra_metadata"]);

    // A new plan appears on the public catalogue.
    let new_plan = json!({"id": "", "name": "Studio", "price": 2500.0, "currency": "RUB", "interval": "month", "quotas": {}, "display_order": 7});
    let mut fields = editor_fields(&new_plan, &[("quotas.tokens_input", "5000")]);
    fields.retain(|(k, _)| !k.starts_with("fields[unlimited.tokens_input"));
    let (status, body) = save(&browser, &fields).await;
    assert_eq!(status, 200, "{body}");
    let (_, studio) = app.call(reqwest::Method::GET, "/api/v1/billing/plans/studio", None, None).await;
    assert_eq!(
        (studio["price_minor"].as_i64(), studio["quotas"]["tokens_input"].as_i64()),
        (Some(250_000), Some(5_000))
    );
    assert!(studio["quotas"]["images"].is_null(), "ticked unlimited");
}
on_both_databases!(
    the_editor_refuses_lower_quotas_with_subscribers_and_confirms_price_changes,
    the_editor_refuses_lower_quotas_with_subscribers_and_confirms_price_changes
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_makes_an_inactive_copy_and_delete_explains_why_it_cannot() {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = admin_browser(&app).await;
    let (status, copy, _) = browser.call("admin/plans/duplicate", &[("id", "pro")]).await;
    assert_eq!(status, 200, "{copy}");
    let (_, plans, _) = browser.call("admin/plans", &[]).await;
    let copy = plans.as_array().unwrap().iter().find(|p| p["id"] == copy).expect("the copy is listed").clone();
    assert_eq!(copy["is_active"], false);

    // free is every account's floor; the page says why it stays.
    let (status, body, _) = browser.call("admin/plans/delete", &[("id", "free")]).await;
    assert_eq!(status, 409);
    assert!(body["Message"].as_str().unwrap().contains("cannot be deleted"), "{body}");
    let (status, _, _) = browser.call("admin/plans/delete", &[("id", copy["id"].as_str().unwrap())]).await;
    assert_eq!(status, 200);
    let (status, _, _) = browser.call("admin/plans/toggle", &[("id", "ghost")]).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_refunds_part_of_a_payment_and_the_users_history_shows_it() {
    let app = spawn_app(Backend::Sqlite).await;
    let admin = admin_browser(&app).await;
    let customer = Browser::new(&app);
    let address = email("payer");
    customer.sign_up(&address).await;
    let (_, confirmation, _) = customer.call("plans/checkout", &[("plan_id", "pro")]).await;
    let confirmation = confirmation.as_str().unwrap().to_owned();
    let back = pay_in_sandbox(&app, &confirmation).await;
    let transaction = back.split("transaction=").nth(1).unwrap().to_owned();
    let (_, result, _) = customer.call("plans/payment", &[("transaction", &transaction)]).await;
    assert_eq!(result["transaction"]["status"], "succeeded");

    let (_, users, _) = admin.call("admin/users", &[("email", &address), ("page", "1")]).await;
    assert_eq!(users["total"], 1, "search by email: {users}");
    let (_, active, _) = admin.call("admin/users", &[("email", &address), ("status", "active"), ("page", "1")]).await;
    assert_eq!(active["total"], 1, "{active}");
    let (_, none, _) = admin.call("admin/users", &[("email", &address), ("status", "canceled"), ("page", "1")]).await;
    assert_eq!(none["total"], 0, "{none}");
    let (status, _, _) = admin.call("admin/users", &[("status", "sleeping"), ("page", "1")]).await;
    assert_eq!(status, 422);
    let user_id = users["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(users["items"][0]["plan_id"], "pro");

    let (status, body, _) = admin.call("admin/refund", &[("transaction_id", &transaction), ("amount", "lots")]).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["Fields"][0][0], "amount");
    let (status, body, _) = admin.call("admin/refund", &[("transaction_id", &transaction), ("amount", "300.00")]).await;
    assert_eq!(status, 200, "{body}");
    let (_, detail, _) = admin.call("admin/user", &[("id", &user_id)]).await;
    let original = detail["transactions"].as_array().unwrap().iter().find(|t| t["id"] == transaction).unwrap().clone();
    assert_eq!(original["refunded_minor"], 30_000);

    let (_, history, _) = customer.call("payments/page", &[("page", "1")]).await;
    assert_eq!(history["total"], 2, "the payment and its refund: {history}");
    let (_, html, _) = customer.page("/billing/transactions").await;
    assert!(html.contains("data-refunded=\"30000\""), "{html}");

    let (status, _, _) = admin.call("admin/assign", &[("user_id", &user_id), ("plan_id", "business")]).await;
    assert_eq!(status, 200);
    let (_, overview, _) = customer.call("billing/overview", &[]).await;
    assert_eq!(overview["subscription"]["plan_id"], "business");
    let (status, _, _) = admin.call("admin/assign", &[("user_id", "ghost"), ("plan_id", "business")]).await;
    assert_eq!(status, 404);

    let (_, audit, _) = admin
        .call(
            "admin/audit",
            &[
                ("filters[entity]", ""),
                ("filters[actor]", ""),
                ("filters[action]", "transaction.refund"),
                ("page", "1"),
            ],
        )
        .await;
    assert_eq!(audit["total"], 1, "{audit}");
    let (_, detail, _) = admin.call("admin/user", &[("id", &user_id)]).await;
    assert_eq!(detail["subscription"]["plan_id"], "business");
    let admin_email = {
        let (_, users, _) = admin.call("admin/users", &[("email", "boss-"), ("page", "1")]).await;
        users["items"][0]["email"].as_str().unwrap().to_owned()
    };
    let (_, by_email, _) = admin
        .call(
            "admin/audit",
            &[("filters[entity]", ""), ("filters[actor]", &admin_email), ("filters[action]", ""), ("page", "1")],
        )
        .await;
    assert_eq!(by_email["total"], 2, "the refund and the assignment, found by the admin's email: {by_email}");
    let (_, html, _) = admin.page("/admin/audit?action=subscription.assign").await;
    assert!(html.contains("data-action=\"subscription.assign\""));
}

/// The admin's user page shows the balance and its ledger; the manual credit or debit form
/// needs a reason and never goes below zero; the overview sums the balances (issue 12.10).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_credits_and_debits_a_balance_from_the_user_page() {
    let app = spawn_app(Backend::Sqlite).await;
    let admin = admin_browser(&app).await;
    let customer = Browser::new(&app);
    let address = email("prepaid");
    customer.sign_up(&address).await;
    let (_, users, _) = admin.call("admin/users", &[("email", &address), ("page", "1")]).await;
    let user_id = users["items"][0]["id"].as_str().unwrap().to_owned();

    let (status, body, _) = admin
        .call("admin/balance", &[("user_id", &user_id), ("amount", "1 250,50"), ("reason", "prepaid by invoice")])
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body, _) =
        admin.call("admin/balance", &[("user_id", &user_id), ("amount", "5"), ("reason", " ")]).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["Fields"][0][0], "reason");
    let (status, body, _) =
        admin.call("admin/balance", &[("user_id", &user_id), ("amount", "-2000"), ("reason", "too much")]).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["Fields"][0][0], "amount");
    let (status, _, _) =
        customer.call("admin/balance", &[("user_id", &user_id), ("amount", "5"), ("reason", "self")]).await;
    assert_eq!(status, 403);

    let (_, detail, _) = admin.call("admin/user", &[("id", &user_id)]).await;
    assert_eq!(detail["balance"]["balance_minor"], 125_050, "{detail}");
    assert_eq!(detail["balance"]["entries"][0]["description"], "prepaid by invoice");
    let (status, html, _) = admin.page(&format!("/admin/users/{user_id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-balance-micros=\"125050000000\""), "{html}");
    assert!(html.contains("data-form=\"adjust\""));
    let (_, home, _) = admin.call("admin/overview", &[]).await;
    assert_eq!(home["overview"]["prepaid_balances"], json!([["RUB", 125_050_000_000_i64]]), "{home}");
    let (_, page, _) = customer.call("billing/balance", &[]).await;
    assert_eq!(page["balance"]["balance_minor"], 125_050, "{page}");
    app.stop().await;
}

/// The features page (issue 12.10): an admin adds a feature and edits its price through the
/// server functions; bad fields are named; the page lists it; others get 403.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_and_edits_a_feature() {
    let app = spawn_app(Backend::Sqlite).await;
    let admin = admin_browser(&app).await;
    let form = |create: &str, price: &str, per_units: &str| {
        vec![
            ("create".to_owned(), create.to_owned()),
            ("fields[name]".to_owned(), "gpt-4o".to_owned()),
            ("fields[title]".to_owned(), "GPT-4o tokens".to_owned()),
            ("fields[title_ru]".to_owned(), "Токены GPT-4o".to_owned()),
            ("fields[unit_price]".to_owned(), price.to_owned()),
            ("fields[per_units]".to_owned(), per_units.to_owned()),
            ("fields[currency]".to_owned(), "RUB".to_owned()),
            ("fields[access]".to_owned(), "premium".to_owned()),
            ("fields[is_active]".to_owned(), "on".to_owned()),
        ]
    };
    let call = |fields: Vec<(String, String)>| {
        let admin = &admin;
        async move {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            admin.call("admin/features/save", &pairs).await
        }
    };
    let (status, body, _) = call(form("true", "0,15", "1000")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["unit_price_minor"].clone(), body["per_units"].clone()), (json!(15), json!(1000)));
    let (status, body, _) = call(form("true", "0.15", "1000")).await;
    assert_eq!(status, 409, "the name exists: {body}");
    let (status, body, _) = call(form("false", "0.01", "7")).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["Fields"][0][0], "per_units");
    let (status, body, _) = call(form("false", "0.30", "many")).await;
    assert_eq!(status, 422, "{body}");
    let (status, body, _) = call(form("false", "0.30", "1000")).await;
    assert_eq!((status, body["unit_price_minor"].clone()), (200, json!(30)), "{body}");
    let (_, list, _) = admin.call("admin/features", &[]).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let (status, html, _) = admin.page("/admin/features").await;
    assert_eq!(status, 200);
    assert!(html.contains("data-feature=\"gpt-4o\""), "{html}");
    let customer = Browser::new(&app);
    customer.sign_up(&email("curious")).await;
    let (status, _, _) = customer.call("admin/features", &[]).await;
    assert_eq!(status, 403);
    app.stop().await;
}

/// Organisations through the pages' server functions (issue 13): a user creates one, invites a
/// colleague who accepts from `/billing` and switches to it; owners set a member's limits; the
/// admin lists, opens, credits and assigns a plan to it; plain members may not manage; the pages
/// render for each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organisations_through_the_pages() {
    let app = spawn_app(Backend::Sqlite).await;
    let owner = Browser::new(&app);
    let owner_email = email("orgowner");
    owner.sign_up(&owner_email).await;
    let (status, body, _) = owner.call("orgs/create", &[("name", " ")]).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["Fields"][0][0], "name");
    let (status, org_id, _) = owner.call("orgs/create", &[("name", "Page Team")]).await;
    assert_eq!(status, 200, "{org_id}");
    let org_id = org_id.as_str().unwrap().to_owned();
    let member_email = email("orgmember");
    let (status, body, _) =
        owner.call("orgs/invite", &[("org_id", &org_id), ("email", &member_email), ("role", "member")]).await;
    assert_eq!(status, 200, "{body}");

    let member = Browser::new(&app);
    member.sign_up(&member_email).await;
    let (_, overview, _) = member.call("orgs/overview", &[]).await;
    let invitation = overview["invitations"][0]["id"].as_str().unwrap().to_owned();
    let (status, html, _) = member.page("/billing").await;
    assert_eq!(status, 200);
    assert!(html.contains("data-card=\"invitations\""), "the invitation shows on /billing");
    let (status, joined, _) = member.call("orgs/accept", &[("id", &invitation)]).await;
    assert_eq!((status, joined.as_str()), (200, Some(org_id.as_str())));
    let (status, body, _) = member.call("orgs/switch", &[("account_id", &org_id)]).await;
    assert_eq!(status, 200, "{body}");
    let (_, page, _) = member.call("orgs/page", &[("id", &org_id)]).await;
    assert_eq!(page["billing_here"], true, "{page}");
    assert!(page["usage"].is_null(), "members do not see usage by member");
    let member_id = page["viewer_id"].as_str().unwrap().to_owned();
    let (status, body, _) =
        member.call("orgs/invite", &[("org_id", &org_id), ("email", "x@example.com"), ("role", "member")]).await;
    assert_eq!(status, 403, "{body}");
    let (status, html, _) = member.page(&format!("/org/{org_id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-testid=\"account-switch\""), "the top bar offers the switcher");
    assert!(!html.contains("data-form=\"invite\""));

    let (status, body, _) = owner
        .call(
            "orgs/caps",
            &[
                ("org_id", &org_id),
                ("user_id", &member_id),
                ("caps[requests]", "25"),
                ("caps[spend]", "1 000,50"),
                ("caps[images]", ""),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, page, _) = owner.call("orgs/page", &[("id", &org_id)]).await;
    let capped = page["organization"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == member_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(capped["caps"]["metrics"], json!({"requests": 25}));
    assert_eq!(capped["caps"]["spend_micros"], 100_050_000_000_i64);
    let (status, body, _) =
        owner.call("orgs/caps", &[("org_id", &org_id), ("user_id", &member_id), ("caps[requests]", "lots")]).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["Fields"][0][0], "caps.requests");
    let (status, html, _) = owner.page(&format!("/org/{org_id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-card=\"usage-by-member\"") && html.contains("data-form=\"invite\""));

    let admin = admin_browser(&app).await;
    let (_, list, _) = admin.call("admin/orgs", &[("search", "page team"), ("page", "1")]).await;
    assert_eq!(list["total"], 1, "{list}");
    let (status, body, _) =
        admin.call("admin/org/balance", &[("org_id", &org_id), ("amount", "300"), ("reason", "pilot credit")]).await;
    assert_eq!(status, 200, "{body}");
    let (status, body, _) = admin.call("admin/org/assign", &[("org_id", &org_id), ("plan_id", "pro")]).await;
    assert_eq!(status, 200, "{body}");
    let (_, detail, _) = admin.call("admin/org", &[("id", &org_id)]).await;
    assert_eq!(detail["balance"]["balance_minor"], 30_000, "{detail}");
    assert_eq!(detail["subscription"]["plan_id"], "pro");
    assert_eq!(detail["usage"]["members"].as_array().unwrap().len(), 2);
    for path in ["/admin/orgs".to_owned(), format!("/admin/orgs/{org_id}")] {
        let (status, html, _) = admin.page(&path).await;
        assert_eq!(status, 200, "{path}");
        assert!(html.contains("Page Team"), "{path}");
    }
    let (_, users, _) = admin.call("admin/users", &[("email", &member_email), ("page", "1")]).await;
    let user_id = users["items"][0]["id"].as_str().unwrap().to_owned();
    let (_, user, _) = admin.call("admin/user", &[("id", &user_id)]).await;
    assert_eq!(user["organizations"][0]["id"], org_id.as_str(), "{user}");
    let (status, _, _) = member.call("admin/orgs", &[("page", "1")]).await;
    assert_eq!(status, 403);
    // The member's view of the plan follows the admin's assignment.
    let (_, page, _) = member.call("orgs/page", &[("id", &org_id)]).await;
    assert_eq!(page["organization"]["plan_id"], "pro");
    app.stop().await;
}

/// A webhook endpoint registered by a plain form post (no JavaScript) shows its signing secret
/// on the page the browser is sent back to, once; registered by a script calling the server function, the
/// answer carries the secret and the session keeps nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_secret_is_shown_once_after_a_plain_form_post() {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = admin_browser(&app).await;
    let fields = |url: &'static str| {
        [
            ("id", ""),
            ("fields[url]", url),
            ("fields[description]", ""),
            ("fields[event_types]", "*"),
            ("fields[enabled]", "on"),
        ]
    };
    let (status, location) =
        browser.post_form("admin/webhooks/save", "/admin/webhooks", &fields("https://plain.example/hooks")).await;
    assert_eq!(status, 302);
    // Back to the page the form was on (the Referer), with no error.
    assert!(location.starts_with(&format!("{}/admin/webhooks", app.base)) && !location.contains("__err"), "{location}");
    let (status, html, _) = browser.page("/admin/webhooks").await;
    assert_eq!(status, 200);
    assert!(html.contains("data-card=\"secret\""), "{html}");
    let card = html.split("data-card=\"secret\"").nth(1).unwrap();
    let at = card.find("whsec_").unwrap_or_else(|| panic!("no secret in the card: {card}"));
    let secret: String =
        card[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '/' | '=')).collect();
    assert!(secret.len() > "whsec_".len() + 20, "{secret}");
    assert!(html.contains("https://plain.example/hooks"));
    // Shown once: the next render has no secret.
    let (_, html, _) = browser.page("/admin/webhooks").await;
    assert!(!html.contains("data-card=\"secret\""), "the secret was shown twice");
    assert!(!html.contains(&secret));
    // A script's call gets the secret in its answer; the page keeps none for later.
    let (status, body, _) = browser.call("admin/webhooks/save", &fields("https://hydrated.example/hooks")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["secret"].as_str().is_some_and(|s| s.starts_with("whsec_")), "{body}");
    let (_, html, _) = browser.page("/admin/webhooks").await;
    assert!(!html.contains("data-card=\"secret\""), "a scripted save left its secret in the session");
    app.stop().await;
}

/// A plan duplicated by a plain form post (no JavaScript) comes back to the list naming the
/// copy; the query names only a listed plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_form_post_duplicating_a_plan_names_the_copy() {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = admin_browser(&app).await;
    let (status, location) = browser.post_form("admin/plans/duplicate", "/admin/plans", &[("id", "pro")]).await;
    assert_eq!(status, 302);
    let copy = location.strip_prefix("/admin/plans?copied=").unwrap_or_else(|| panic!("{location}")).to_owned();
    assert!(copy.starts_with("pro"), "{copy}");
    let (status, html, _) = browser.page(&location).await;
    assert_eq!(status, 200);
    let notice = html.split("role=\"status\"").nth(1).and_then(|rest| rest.split("</p>").next());
    let notice = notice.unwrap_or_else(|| panic!("no notice: {html}"));
    assert!(
        notice.contains("Inactive copy created") && notice.contains(&format!("/admin/plans/{copy}/edit")),
        "{notice}"
    );
    // A query naming no listed plan shows no notice.
    let (_, html, _) = browser.page("/admin/plans?copied=nope").await;
    assert!(!html.contains("Inactive copy created"));
    app.stop().await;
}

/// A balance adjustment refused after a plain form post (no JavaScript) comes back with its
/// form open and the message next to the field: the form sits in a `<details>`, closed until
/// then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_plain_form_post_opens_the_form_it_came_from() {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = admin_browser(&app).await;
    let user = app.customer("adjusted").await;
    let page = format!("/admin/users/{}", user.id);
    let (_, html, _) = browser.page(&page).await;
    let adjust_tag =
        |html: &str| html.split("data-form-wrap=\"adjust\"").nth(1).unwrap().split('>').next().unwrap().to_owned();
    assert!(!adjust_tag(&html).contains("open"), "closed at first: {}", adjust_tag(&html));
    let fields = [("user_id", user.id.as_str()), ("amount", "lots"), ("reason", "test")];
    let (status, location) = browser.post_form("admin/balance", &page, &fields).await;
    assert_eq!(status, 302);
    assert!(location.contains("__err="), "{location}");
    let html = browser.client.get(&location).send().await.unwrap().text().await.unwrap();
    assert!(adjust_tag(&html).contains("open"), "{}", adjust_tag(&html));
    assert!(html.contains("data-field=\"amount\""), "the message is next to the field");
    app.stop().await;
}
