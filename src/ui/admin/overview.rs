//! `/admin`: MRR and committed MRR per currency, subscriber counts, 30-day movement and ARPU, and
//! MRR by plan as a server-drawn bar chart, with the definitions one click away.

use super::admin_page;
use crate::actions::admin::{AdvanceClock, get_admin_overview};
use crate::model::admin::AdminHome;
use crate::ui::format;
use crate::ui::i18n::{Locale, t, use_locale};
use crate::ui::portal::overview::plan_name;
use crate::ui::widgets::{Bar, bar_chart, page_title};
use leptos::prelude::*;

#[component]
pub fn AdminOverviewPage() -> impl IntoView {
    let locale = use_locale();
    let clock = ServerAction::<AdvanceClock>::new();
    let data = Resource::new(move || clock.version().get(), |_| get_admin_overview());
    view! {
        {page_title(move || t(locale.get(), "Admin overview", "Админка: обзор").to_owned())}
        {admin_page(data, move |home, locale| home_view(home, clock, locale))}
    }
}

fn home_view(home: AdminHome, clock: ServerAction<AdvanceClock>, locale: Locale) -> impl IntoView {
    let panel = home.clock.map(|state| super::revenue::clock_panel(state, clock, locale));
    let charts = super::revenue::mrr_charts(&home.mrr, locale);
    view! {
        {overview_view(home.overview, locale)}
        {charts}
        {panel}
    }
}

/// A figure card: a big number and a small label.
fn figure(label: &'static str, value: String, testid: &'static str, note: Option<String>) -> impl IntoView {
    view! {
        <section class="figure-card" data-testid=testid>
            <p class="figure-label">{label}</p>
            <p class="figure-value">{value}</p>
            {note.map(|n| view! { <p class="figure-note">{n}</p> })}
        </section>
    }
}

fn overview_view(overview: crate::model::admin::AdminOverview, locale: Locale) -> impl IntoView {
    let totals = &overview.totals;
    let join = |values: Vec<String>| if values.is_empty() { "0".to_owned() } else { values.join(" · ") };
    let mrr = join(totals.mrr.iter().map(|m| format::money(m.mrr_minor, m.currency, locale)).collect());
    let committed = join(totals.mrr.iter().map(|m| format::money(m.committed_mrr_minor, m.currency, locale)).collect());
    let arpu = join(overview.arpu.iter().map(|a| format::money(a.arpu_minor, a.currency, locale)).collect());
    let bars: Vec<Bar> = overview
        .plans
        .iter()
        .filter(|p| p.plan.price_minor > 0 && (p.mrr_minor > 0 || p.plan.is_active))
        .map(|p| {
            let money = format::money(p.mrr_minor, p.plan.currency, locale);
            Bar {
                label: plan_name(&p.plan, locale),
                value: p.mrr_minor,
                title: format!("{}: {money}", plan_name(&p.plan, locale)),
            }
        })
        .collect();
    let caption = t(locale, "MRR by plan, in each plan's currency", "MRR по тарифам, в валюте тарифа").to_owned();
    // The scale's top is the largest plan's MRR as money (the bars are in minor units).
    let scale_top = overview
        .plans
        .iter()
        .filter(|p| p.plan.price_minor > 0)
        .max_by_key(|p| p.mrr_minor)
        .map(|p| format::money(p.mrr_minor, p.plan.currency, locale));
    let exact = |amounts: &[(crate::model::Currency, i64)]| {
        if amounts.is_empty() {
            return format::money(0, crate::model::Currency::Rub, locale);
        }
        join(amounts.iter().map(|(c, micros)| format::money_micros(*micros, *c, locale)).collect())
    };
    let prepaid = exact(&overview.prepaid_balances);
    let payg = exact(&overview.payg_revenue_30d);
    view! {
        <div class="row-between">
            <h1 class="page-title">{t(locale, "Revenue at a glance", "Выручка")}</h1>
            <p class="muted small">{format!("{} {}", t(locale, "As of", "На"), format::date_time(overview.as_of, locale))}</p>
        </div>
        <div class="figure-grid">
            {figure(t(locale, "MRR", "MRR"), mrr, "mrr", None)}
            {figure(t(locale, "Committed MRR", "Подтверждённый MRR"), committed, "committed-mrr", None)}
            {figure(t(locale, "Active subscribers", "Активные подписки"), format::number(totals.active_subscriptions, locale), "active", None)}
            {figure(t(locale, "Past due", "Просрочен платёж"), format::number(totals.past_due_subscriptions, locale), "past-due", None)}
        </div>
        <div class="figure-grid secondary">
            {figure(t(locale, "Trialing", "Пробный период"), format::number(totals.trialing_subscriptions, locale), "trialing", None)}
            {figure(t(locale, "New (30 days)", "Новые (30 дней)"), format::number(overview.new_30d, locale), "new-30d", None)}
            {figure(t(locale, "Churned (30 days)", "Ушли (30 дней)"), format::number(overview.churned_30d, locale), "churned-30d", None)}
            {figure(t(locale, "ARPU", "ARPU"), arpu, "arpu", None)}
        </div>
        <div class="figure-grid secondary">
            {figure(t(locale, "Prepaid balances", "Предоплаченные балансы"), prepaid, "prepaid", None)}
            {figure(t(locale, "Pay-as-you-go (30 days)", "Оплата сверх тарифа (30 дней)"), payg, "payg-30d", None)}
        </div>
        <section class="card">
            <h2>{t(locale, "MRR by plan", "MRR по тарифам")}</h2>
            {if bars.is_empty() {
                view! { <p class="muted">{t(locale, "No paid plans yet.", "Платных тарифов пока нет.")}</p> }.into_any()
            } else {
                view! { <div data-chart="mrr-by-plan">{bar_chart(bars, caption, scale_top, locale)}</div> }.into_any()
            }}
        </section>
        <details class="card definitions" data-testid="definitions">
            <summary>{t(locale, "How these figures are computed", "Как считаются показатели")}</summary>
            {match locale {
                Locale::En => view! {
                    <dl>
                        <dt>"MRR"</dt>
                        <dd>"Sum over subscriptions with status active or past due of the plan price normalised to a month: daily × 365/12, weekly × 52/12, monthly × 1, yearly ÷ 12. Per currency, never converted. Trials are excluded."</dd>
                        <dt>"Committed MRR"</dt>
                        <dd>"MRR without subscriptions set to cancel at the end of their period."</dd>
                        <dt>"Active subscribers / past due / trialing"</dt>
                        <dd>"Subscriptions in each status now, on every plan (free included)."</dd>
                        <dt>"New / churned (30 days)"</dt>
                        <dd>"Subscriptions to paid plans started, and ended (canceled), in the last 30 days."</dd>
                        <dt>"ARPU"</dt>
                        <dd>"MRR divided by paying subscriptions (active or past due on a paid plan), per currency."</dd>
                    </dl>
                }
                .into_any(),
                Locale::Ru => view! {
                    <dl>
                        <dt>"MRR"</dt>
                        <dd>"Сумма по подпискам в статусах «активна» и «просрочен платёж» цены тарифа, приведённой к месяцу: день × 365/12, неделя × 52/12, месяц × 1, год ÷ 12. По каждой валюте отдельно, без конвертации. Пробные подписки не учитываются."</dd>
                        <dt>"Подтверждённый MRR"</dt>
                        <dd>"MRR без подписок, которые отменятся в конце периода."</dd>
                        <dt>"Активные / просрочен платёж / пробный период"</dt>
                        <dd>"Подписки в каждом статусе сейчас, на всех тарифах (включая бесплатный)."</dd>
                        <dt>"Новые / ушли (30 дней)"</dt>
                        <dd>"Подписки на платные тарифы, начатые и завершённые (отменённые) за последние 30 дней."</dd>
                        <dt>"ARPU"</dt>
                        <dd>"MRR, делённый на число платящих подписок (активных или с просроченным платежом на платном тарифе), по каждой валюте."</dd>
                    </dl>
                }
                .into_any(),
            }}
        </details>
    }
}
