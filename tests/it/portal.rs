//! The billing portal's front door over real HTTP: sign-up and login through the server
//! functions with a cookie session, the Origin check, login throttling, redirects of anonymous
//! visitors, plain (no-JavaScript) form posts, checkout and the return page's data, API tokens.

use crate::common::{Backend, TestApp, spawn_app};
use serde_json::Value;

pub const PASSWORD: &str = "correct horse battery";

/// A browser: keeps cookies, does not follow redirects, sends this site's Origin on posts.
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("client");
        Browser { client, base: app.base.clone() }
    }

    /// Calls a server function as a script would (form-encoded in, JSON out).
    pub async fn call(&self, function: &str, fields: &[(&str, &str)]) -> (u16, Value, reqwest::header::HeaderMap) {
        let response = self
            .client
            .post(format!("{}/api/ui/{function}", self.base))
            .header("origin", &self.base)
            .header("accept", "application/json")
            .form(fields)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)), headers)
    }

    /// Posts a form to a server function as a browser without JavaScript does: from the page at
    /// `referer` (a path), asking for HTML. Returns the status and the `Location` answered (empty
    /// without one).
    pub async fn post_form(&self, function: &str, referer: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let (status, headers) = self.send_form(function, referer, fields, false).await;
        let location = headers.get("location").and_then(|l| l.to_str().ok()).unwrap_or_default();
        (status, location.to_owned())
    }

    /// Posts a form as the browser's enhancer sends it (`src/enhance.rs`): like [`Self::post_form`]
    /// with `x-tariff-enhanced: 1`. Answers the status and the headers.
    pub async fn post_enhanced(
        &self,
        function: &str,
        referer: &str,
        fields: &[(&str, &str)],
    ) -> (u16, reqwest::header::HeaderMap) {
        self.send_form(function, referer, fields, true).await
    }

    async fn send_form(
        &self,
        function: &str,
        referer: &str,
        fields: &[(&str, &str)],
        enhanced: bool,
    ) -> (u16, reqwest::header::HeaderMap) {
        let mut request = self
            .client
            .post(format!("{}/api/ui/{function}", self.base))
            .header("origin", &self.base)
            .header("referer", format!("{}{referer}", self.base))
            .header("accept", "text/html")
            .form(fields);
        if enhanced {
            request = request.header("x-tariff-enhanced", "1");
        }
        let response = request.send().await.expect("request");
        (response.status().as_u16(), response.headers().clone())
    }

    pub async fn page(&self, path: &str) -> (u16, String, reqwest::header::HeaderMap) {
        let response = self.client.get(format!("{}{path}", self.base)).send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, response.text().await.unwrap_or_default(), headers)
    }

    pub async fn sign_up(&self, email: &str) {
        let (status, body, headers) =
            self.call("signup", &[("name", "Ada"), ("email", email), ("password", PASSWORD), ("next", "")]).await;
        assert_eq!(status, 200, "{body}");
        assert!(headers.get("serverfnredirect").is_some() || headers.get("location").is_some(), "{headers:?}");
    }
}

/// Pays on the sandbox's confirmation page with the success card; returns where it sends the
/// payer back to (the shop's return URL).
pub async fn pay_in_sandbox(app: &TestApp, confirmation_url: &str) -> String {
    let paid = app
        .client
        .post(confirmation_url)
        .form(&[("card_number", "5555555555554444"), ("expiry", "12/30"), ("csc", "123")])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 303);
    paid.headers()["location"].to_str().unwrap().to_owned()
}

pub fn email(name: &str) -> String {
    format!("{name}-{}@example.com", uuid::Uuid::new_v4().simple())
}

async fn sign_up_puts_the_account_on_free_and_logs_it_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = Browser::new(&app);
    browser.sign_up(&email("ada")).await;
    let (status, overview, _) = browser.call("billing/overview", &[]).await;
    assert_eq!(status, 200, "{overview}");
    assert_eq!(overview["subscription"]["plan_id"], "free");
    assert_eq!(overview["subscription"]["status"], "active");

    let (status, html, _) = browser.page("/billing").await;
    assert_eq!(status, 200);
    assert!(html.contains("data-card=\"subscription\""), "{html}");
    let (status, _, headers) = browser.page("/login?next=%2Fbilling%2Fusage").await;
    assert_eq!(
        (status, &headers["location"]),
        (303, &"/billing/usage".parse::<reqwest::header::HeaderValue>().unwrap())
    );

    let (status, _, _) = browser.call("logout", &[]).await;
    assert_eq!(status, 200);
    let (status, body, _) = browser.call("billing/overview", &[]).await;
    assert_eq!((status, body), (401, Value::String("SignedOut".into())));
}
on_both_databases!(sign_up_puts_the_account_on_free_and_logs_it_in, sign_up_puts_the_account_on_free_and_logs_it_in);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_functions_and_private_pages_need_a_session() {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = Browser::new(&app);
    for function in ["billing/overview", "billing/cancel", "usage/report", "tokens/list", "plans/checkout"] {
        let fields: &[(&str, &str)] = match function {
            "billing/cancel" => &[("immediate", "false")],
            "plans/checkout" => &[("plan_id", "pro")],
            _ => &[],
        };
        let (status, body, _) = browser.call(function, fields).await;
        assert_eq!(status, 401, "{function}: {body}");
    }
    let (status, _, headers) = browser.page("/billing/usage?lang=ru").await;
    assert_eq!(status, 303);
    assert_eq!(headers["location"], "/login?next=/billing/usage%3Flang%3Dru");
    let (status, html, _) = browser.page("/login").await;
    assert_eq!(status, 200);
    assert!(html.contains("data-form=\"login\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_from_another_site_are_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    let address = email("eve");
    let forged = |origin: Option<&str>| {
        let mut request = app.client.post(format!("{}/api/ui/signup", app.base)).form(&[
            ("name", "Eve"),
            ("email", address.as_str()),
            ("password", PASSWORD),
        ]);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    assert_eq!(forged(Some("https://evil.example")).await.unwrap().status(), 403);
    assert_eq!(forged(None).await.unwrap().status(), 403);
    // Nothing was created: a real sign-up with that email still works.
    Browser::new(&app).sign_up(&address).await;
}

async fn wrong_credentials_get_one_message_and_repeated_failures_are_throttled(backend: Backend) {
    let app = spawn_app(backend).await;
    let address = email("grace");
    Browser::new(&app).sign_up(&address).await;
    let browser = Browser::new(&app);
    let (status, unknown, _) = browser.call("login", &[("email", "nobody@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(status, 401);
    let (status, wrong, _) = browser.call("login", &[("email", &address), ("password", "not the password")]).await;
    assert_eq!(status, 401);
    assert_eq!(unknown, wrong, "unknown email and wrong password must read the same");
    for _ in 0..4 {
        browser.call("login", &[("email", &address), ("password", "still wrong")]).await;
    }
    let (status, body, _) = browser.call("login", &[("email", &address), ("password", PASSWORD)]).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.to_string().contains("Too many failed attempts"), "{body}");
    let (status, _, _) = browser.call("billing/overview", &[]).await;
    assert_eq!(status, 401, "a throttled login must not sign in");
}
on_both_databases!(
    wrong_credentials_get_one_message_and_repeated_failures_are_throttled,
    wrong_credentials_get_one_message_and_repeated_failures_are_throttled
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_issues_a_new_session_id_and_keeps_cookies_http_only() {
    let app = spawn_app(Backend::Sqlite).await;
    let address = email("linus");
    Browser::new(&app).sign_up(&address).await;
    let login = || {
        app.client
            .post(format!("{}/api/ui/login", app.base))
            .header("origin", &app.base)
            .header("accept", "application/json")
            .form(&[("email", address.as_str()), ("password", PASSWORD)])
            .send()
    };
    let cookie = |response: &reqwest::Response| {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("tariff_session="))
            .map(str::to_owned)
            .expect("session cookie")
    };
    let first = cookie(&login().await.unwrap());
    let second = cookie(&login().await.unwrap());
    assert!(first.contains("HttpOnly") && first.contains("SameSite=Lax"), "{first}");
    assert!(!first.contains("Secure"), "plain-HTTP base URL: no Secure flag");
    assert_ne!(first.split(';').next(), second.split(';').next());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_form_posts_work_without_javascript() {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = Browser::new(&app);
    let referer = format!("{}/signup", app.base);
    let post = |password: &'static str, address: String| {
        browser
            .client
            .post(format!("{}/api/ui/signup", app.base))
            .header("origin", &app.base)
            .header("referer", &referer)
            .header("accept", "text/html,application/xhtml+xml")
            .form(&[
                ("name", "Ken".to_owned()),
                ("email", address),
                ("password", password.to_owned()),
                ("next", String::new()),
            ])
            .send()
    };
    // A short password: back to the form, which shows the message next to the field.
    let response = post("short", email("ken")).await.unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("__err="), "{location}");
    let html = browser.client.get(&location).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("data-field=\"password\""), "{html}");
    assert!(html.contains("Use at least 8 characters"));
    // A good one: to the portal, signed in.
    let response = post(PASSWORD, email("ken")).await.unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], "/billing");
    let (status, html, _) = browser.page("/billing").await;
    assert_eq!(status, 200);
    assert!(html.contains("data-card=\"subscription\""));
}

async fn checkout_sends_the_browser_to_the_payment_page_and_the_return_page_follows_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = Browser::new(&app);
    browser.sign_up(&email("joan")).await;
    let (status, body, _) = browser.call("plans/checkout", &[("plan_id", "pro")]).await;
    assert_eq!(status, 200, "{body}");
    let confirmation = body.as_str().expect("the confirmation URL").to_owned();
    assert!(confirmation.contains("/sandbox/yookassa/checkout/"), "{confirmation}");

    let back = pay_in_sandbox(&app, &confirmation).await;
    let transaction = back.split("transaction=").nth(1).expect("return URL names the transaction").to_owned();
    assert!(back.starts_with(&format!("{}/billing/return?", app.base)), "{back}");

    // The return page's data settles on "succeeded" even before the notification lands.
    let (status, result, _) = browser.call("plans/payment", &[("transaction", &transaction)]).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["transaction"]["status"], "succeeded");
    assert_eq!(result["subscription"]["plan_id"], "pro");

    // Without JavaScript the form post is redirected to the payment page.
    let (status, location) = browser.post_form("plans/checkout", "/billing/plans", &[("plan_id", "business")]).await;
    assert_eq!(status, 302);
    assert!(location.contains("/sandbox/yookassa/checkout/"), "{location}");

    // Sent by the browser's enhancer, which cannot follow a redirect off the site with `fetch`,
    // the same post is answered 200 with the payment page's address; the internal mark stays on
    // the server. A redirect within the site stays a redirect (here: back to the page, with the
    // error of an unknown plan).
    let (status, headers) = browser.post_enhanced("plans/checkout", "/billing/plans", &[("plan_id", "business")]).await;
    assert_eq!(status, 200, "{headers:?}");
    assert!(headers.get("location").is_none(), "{headers:?}");
    assert!(!headers.contains_key("x-tariff-leaving"), "{headers:?}");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(headers.get_all("vary").iter().any(|v| v.to_str().unwrap_or_default().contains("x-tariff-enhanced")));
    let leave = headers.get("x-tariff-location").and_then(|l| l.to_str().ok()).unwrap_or_default();
    assert!(leave.contains("/sandbox/yookassa/checkout/"), "{leave}");
    let (status, headers) = browser.post_enhanced("plans/checkout", "/billing/plans", &[("plan_id", "nope")]).await;
    assert_eq!(status, 302, "{headers:?}");
    assert!(!headers.contains_key("x-tariff-location"), "{headers:?}");
    let location = headers.get("location").and_then(|l| l.to_str().ok()).unwrap_or_default();
    assert!(location.starts_with(&format!("{}/billing/plans?", app.base)) && location.contains("__err="), "{location}");

    // Someone else's transaction is not found.
    let stranger = Browser::new(&app);
    stranger.sign_up(&email("mallory")).await;
    let (status, _, _) = stranger.call("plans/payment", &[("transaction", &transaction)]).await;
    assert_eq!(status, 404);

    // A free plan cannot be bought: the refusal is a message, not a 500.
    let (status, body, _) = browser.call("plans/checkout", &[("plan_id", "free")]).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["Message"], "Free plans need no payment");
}
on_both_databases!(
    checkout_sends_the_browser_to_the_payment_page_and_the_return_page_follows_it,
    checkout_sends_the_browser_to_the_payment_page_and_the_return_page_follows_it
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_token_is_shown_once_works_on_the_api_and_stops_when_revoked() {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = Browser::new(&app);
    browser.sign_up(&email("tim")).await;
    let (status, body, _) = browser.call("tokens/create", &[("name", "  ")]).await;
    assert_eq!(status, 422);
    assert!(body["Fields"][0][0] == "name", "{body}");

    let (status, _, _) = browser.call("tokens/create", &[("name", "chat backend")]).await;
    assert_eq!(status, 200);
    let (_, list, _) = browser.call("tokens/list", &[]).await;
    let secret = list["fresh"][1].as_str().expect("the secret, once").to_owned();
    assert_eq!(list["fresh"][0], "chat backend");
    let (_, again, _) = browser.call("tokens/list", &[]).await;
    assert!(again["fresh"].is_null(), "shown only once");
    let id = again["tokens"][0]["id"].as_str().unwrap().to_owned();

    let (status, me) = app.get_json("/api/v1/billing/me", &secret).await;
    assert_eq!(status, 200, "{me}");
    let (status, _, _) = browser.call("tokens/revoke", &[("id", &id)]).await;
    assert_eq!(status, 200);
    let (status, _) = app.get_json("/api/v1/billing/me", &secret).await;
    assert_eq!(status, 401);
    let (status, _, _) = browser.call("tokens/revoke", &[("id", &id)]).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chosen_language_is_stored_on_the_user_and_follows_them() {
    let app = spawn_app(Backend::Sqlite).await;
    let address = email("ivan");
    let laptop = Browser::new(&app);
    laptop.sign_up(&address).await;
    let (_, html, _) = laptop.page("/billing?lang=ru").await;
    assert!(html.contains("<html lang=\"ru\""), "{}", &html[..200.min(html.len())]);

    // The page asked for with `?lang=ru` stored the choice on the user; anonymous visitors are
    // unaffected, and an unknown language changes nothing.
    let (_, html, _) = Browser::new(&app).page("/").await;
    assert!(html.contains("<html lang=\"en\""), "anonymous visitors are unaffected");
    let (_, html, _) = laptop.page("/billing?lang=xx").await;
    assert!(html.contains("<html lang=\"ru\""), "an unknown language is ignored");

    // Another device, no cookie: after login the pages are in Russian.
    let phone = Browser::new(&app);
    let (status, _, _) = phone.call("login", &[("email", &address), ("password", PASSWORD)]).await;
    assert_eq!(status, 200);
    let (_, html, _) = phone.page("/billing").await;
    assert!(html.contains("<html lang=\"ru\""));
    assert!(html.contains("Текущий тариф"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_at_period_end_then_resume() {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = Browser::new(&app);
    browser.sign_up(&email("rosa")).await;
    let (_, overview, _) = browser.call("billing/overview", &[]).await;
    let user_id = overview["subscription"]["user_id"].as_str().unwrap().to_owned();
    let admin = app.admin().await;
    let (status, body) = app
        .post_json(
            "/api/v1/admin/billing/subscriptions",
            &admin.token,
            serde_json::json!({"user_id": user_id, "plan_id": "pro"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let (status, cancelled, _) = browser.call("billing/cancel", &[("immediate", "false")]).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["cancel_at_period_end"], true);
    let (_, html, _) = browser.page("/billing").await;
    assert!(html.contains("data-testid=\"cancels-on\""), "{html}");
    let (status, resumed, _) = browser.call("billing/resume", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(resumed["cancel_at_period_end"], false);

    // Arguments that cannot be decoded are the client's mistake: 400, and nothing changes.
    for fields in [&[("immediate", "maybe")][..], &[][..]] {
        let (status, body, _) = browser.call("billing/cancel", fields).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.get("Transport").is_some(), "{body}");
    }
    let (_, overview, _) = browser.call("billing/overview", &[]).await;
    assert_eq!(overview["subscription"]["cancel_at_period_end"], false);
}

/// A plain form post (no JavaScript) creating an organisation goes to the new organisation's
/// page, as a script calling the server function gets in its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_form_post_creating_an_organisation_goes_to_its_page() {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = Browser::new(&app);
    browser.sign_up(&email("orla")).await;
    let (status, location) = browser.post_form("orgs/create", "/billing", &[("name", "Plain Forms Ltd")]).await;
    assert_eq!(status, 302);
    assert!(location.starts_with("/org/"), "{location}");
    let (status, html, _) = browser.page(&location).await;
    assert_eq!(status, 200);
    assert!(html.contains("Plain Forms Ltd"), "{html}");
    // A refused name goes back to the form with the message, as before.
    let (status, location) = browser.post_form("orgs/create", "/billing", &[("name", "")]).await;
    assert_eq!(status, 302);
    assert!(location.starts_with(&format!("{}/billing?", app.base)) && location.contains("__err="), "{location}");
    // Called by a script, the answer is the id (no redirect).
    let (status, body, _) = browser.call("orgs/create", &[("name", "Hydrated Ltd")]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.as_str().is_some_and(|id| !id.is_empty()), "{body}");
    app.stop().await;
}

/// Email settings saved by a plain form post (no JavaScript) come back saying "Saved.", and the
/// choice is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_form_post_saving_email_settings_says_saved() {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = Browser::new(&app);
    browser.sign_up(&email("nell")).await;
    let (_, html, _) = browser.page("/settings/notifications").await;
    assert!(!html.contains("data-saved"), "nothing saved yet");
    let fields = [("on[receipts]", "on"), ("on[_]", "")];
    let (status, location) = browser.post_form("settings/notifications/save", "/settings/notifications", &fields).await;
    assert_eq!((status, location.as_str()), (302, "/settings/notifications?saved=1"));
    let (status, html, _) = browser.page("/settings/notifications?saved=1").await;
    assert_eq!(status, 200);
    assert!(html.contains("data-saved"), "{html}");
    // The choice is kept: receipts ticked, usage alerts not.
    let ticked = |kind: &str| {
        let tag = html.split(&format!("id=\"email-{kind}\"")).nth(1).and_then(|rest| rest.split('>').next());
        tag.unwrap_or_else(|| panic!("no {kind} box: {html}")).contains("checked")
    };
    assert_eq!((ticked("receipts"), ticked("usage")), (true, false));
    app.stop().await;
}

/// Signing in starts a session without the previous one's data: a token secret sealed for the
/// user signed in before and not yet shown is never shown to the next one on that browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_drops_what_the_session_kept_for_the_previous_user() {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = Browser::new(&app);
    browser.sign_up(&email("first")).await;
    let (status, body, _) = browser.call("tokens/create", &[("name", "left behind")]).await;
    assert_eq!(status, 200, "{body}");
    let next = app.customer("next").await;
    let (status, body, _) =
        browser.call("login", &[("email", &next.email), ("password", "a long enough password")]).await;
    assert_eq!(status, 200, "{body}");
    let (status, html, _) = browser.page("/settings/tokens").await;
    assert_eq!(status, 200);
    assert!(!html.contains("data-testid=\"new-token\""), "the previous user's token was shown");
    // The same steps without a sign-in in between show it (the check above can fail).
    let (status, body, _) = browser.call("tokens/create", &[("name", "mine")]).await;
    assert_eq!(status, 200, "{body}");
    let (_, html, _) = browser.page("/settings/tokens").await;
    assert!(html.contains("data-testid=\"new-token\""), "{html}");
    app.stop().await;
}
