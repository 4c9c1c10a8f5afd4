//! The server-rendered pricing page at `/`: plans, prices, quotas, language and billing toggle.
//! (Hydration and clicks are covered by the Playwright tests in `end2end/`.)

use crate::common::{Backend, spawn_app};

async fn page(app: &crate::common::TestApp, path: &str, cookie: Option<&str>) -> (u16, Option<String>, String) {
    let mut request = app.client.get(app.url(path));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let set_cookie = response.headers().get("set-cookie").map(|v| v.to_str().unwrap().to_owned());
    (status, set_cookie, response.text().await.unwrap())
}

async fn pricing_page_shows_every_active_plan(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, _, html) = page(&app, "/", None).await;
    assert_eq!(status, 200);
    assert!(html.contains("<html lang=\"en\""), "document language is set");
    for name in ["Free", "Starter", "Pro", "Business"] {
        assert!(html.contains(&format!("<h2 class=\"plan-name\">{name}</h2>")), "{name} missing");
    }
    assert!(!html.contains("Unlimited</h2>"), "inactive plans are hidden");
    assert!(html.contains("990\u{a0}₽"), "price with currency sign");
    assert!(html.contains("/ month"));
    assert!(html.contains("1,000,000 input tokens"));
    assert!(html.contains("GPT-4 models"));
    assert!(html.contains("/pkg/tariff.js") || html.contains("/pkg/tariff"), "the browser bundle is linked");
    // The pages are not hydrated: the plans' data is in the HTML once, not also serialized for
    // a hydration that does not happen.
    assert!(!html.contains("__RESOLVED_RESOURCES["), "resource data serialized into the page");
    app.stop().await;
}
on_both_databases!(pricing_page, pricing_page_shows_every_active_plan);

#[tokio::test]
async fn russian_is_chosen_by_link_and_remembered_in_a_cookie() {
    let app = spawn_app(Backend::Sqlite).await;
    let (status, set_cookie, html) = page(&app, "/?lang=ru", None).await;
    assert_eq!(status, 200);
    assert!(html.contains("<html lang=\"ru\""));
    assert!(html.contains("Профессиональный"));
    assert!(html.contains("Расширенные возможности и увеличенные квоты"));
    assert!(html.contains("990\u{a0}₽"));
    assert!(html.contains("/ мес."));
    assert!(html.contains("1\u{a0}000\u{a0}000 входящих токенов"));
    let set_cookie = set_cookie.expect("the choice is stored in a cookie");
    assert!(set_cookie.starts_with("lang=ru"), "{set_cookie}");

    // The next visit without the parameter uses the cookie.
    let (_, _, html) = page(&app, "/", Some("lang=ru")).await;
    assert!(html.contains("Тарифы и цены"));
    assert!(html.contains("Профессиональный"));
    app.stop().await;
}

#[tokio::test]
async fn annual_toggle_is_a_plain_link_and_lists_yearly_plans() {
    let app = spawn_app(Backend::Sqlite).await;
    let (_, _, html) = page(&app, "/", None).await;
    assert!(html.contains("href=\"/?billing=annual\""), "the toggle works without JavaScript");

    // Before annual plans exist the annual view says so and still shows the free plan.
    let (_, _, html) = page(&app, "/?billing=annual", None).await;
    assert!(html.contains("Annual billing is not offered yet"));
    assert!(html.contains("<h2 class=\"plan-name\">Free</h2>"));

    let options = tariff_core::plans::InitOptions { include_annual: true, ..Default::default() };
    tariff_core::plans::init_plans(app.store(), 0, &tariff_core::audit::Actor::cli(), options).await.unwrap();
    let (_, _, html) = page(&app, "/?billing=annual", None).await;
    assert!(html.contains("Pro Annual"));
    assert!(html.contains("9,504\u{a0}₽"));
    assert!(html.contains("/ year"));
    assert!(!html.contains("<h2 class=\"plan-name\">Pro</h2>"), "monthly plans are not listed under annual");
    app.stop().await;
}

/// With seed 004's pay-as-you-go example each plan card lists the features it may use at its
/// own price (after its discount) with the units it includes (issue 12.9).
#[tokio::test]
async fn plan_cards_show_pay_as_you_go_prices_per_plan() {
    let app = spawn_app(Backend::Sqlite).await;
    let options = tariff_core::plans::InitOptions { include_payg: true, force: true, ..Default::default() };
    tariff_core::plans::init_plans(app.store(), 0, &tariff_core::audit::Actor::cli(), options).await.unwrap();
    let (_, _, html) = page(&app, "/", None).await;
    let card = |id: &str| {
        let start = html.find(&format!("data-plan-id=\"{id}\"")).unwrap_or_else(|| panic!("no {id} card"));
        let end = html[start..].find("</article>").map_or(html.len(), |e| start + e);
        html[start..end].to_owned()
    };
    let pro = card("pro");
    assert!(pro.contains("10 % off pay-as-you-go prices"), "{pro}");
    assert!(pro.contains("0.135\u{a0}₽ / 1,000"), "GPT-4o at 10 % off: {pro}");
    assert!(pro.contains("1,000,000 included"), "{pro}");
    assert!(!pro.contains("Deep analysis"), "exclusive to plans that list it: {pro}");
    let free = card("free");
    assert!(free.contains("Categorization agent"), "{free}");
    assert!(!free.contains("GPT-4o"), "premium features are for paid plans: {free}");
    assert!(card("team").contains("Deep analysis report"));
    app.stop().await;
}

#[tokio::test]
async fn unknown_pages_answer_404_html() {
    let app = spawn_app(Backend::Sqlite).await;
    let (status, _, html) = page(&app, "/no/such/page", None).await;
    assert_eq!(status, 404);
    assert!(html.contains("Page not found"));
    app.stop().await;
}

/// Apps starting while others render pages: every page completes. Guards the single route-list
/// generation per process (leptos-rs/leptos#4773: a resource first polled while any app generates
/// its route list never resolves).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_while_other_apps_start() {
    let renders = (0..12).map(|_| {
        tokio::spawn(async {
            let app = crate::common::spawn_app(crate::common::Backend::Sqlite).await;
            for _ in 0..3 {
                let response = app.client.get(format!("{}/", app.base)).send().await.expect("the page completes");
                assert_eq!(response.status(), 200);
                assert!(response.text().await.expect("the whole body").contains("data-plan-id=\"pro\""));
            }
        })
    });
    for render in renders.collect::<Vec<_>>() {
        render.await.expect("render task");
    }
}
