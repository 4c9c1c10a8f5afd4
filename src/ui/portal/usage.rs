//! `/billing/usage`: a meter per metric (used / limit / remaining, amber from 80 %, red at 100 %),
//! daily usage over the current period as server-drawn SVG, and the latest usage events.

use super::overview::plan_name;
use super::{PortalNav, loading};
use crate::actions::portal::get_usage_report;
use crate::model::Metric;
use crate::model::portal::{UsageEventView, UsageReport};
use crate::ui::format;
use crate::ui::i18n::{Locale, t, use_locale};
use crate::ui::widgets::{Bar, ErrorPanel, bar_chart, metric_label, page_title, quota_meter};
use leptos::prelude::*;

#[component]
pub fn UsagePage() -> impl IntoView {
    let locale = use_locale();
    let data = Resource::new(|| (), |_| get_usage_report());
    view! {
        {page_title(move || t(locale.get(), "Usage", "Использование").to_owned())}
        <PortalNav/>
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                let locale = locale.get();
                match data.await {
                    Ok(report) => report_view(report, locale).into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn report_view(report: UsageReport, locale: Locale) -> impl IntoView {
    let period = format!("{} – {}", format::date(report.period_start, locale), format::date(report.period_end, locale));
    let plan = report.plan.as_ref().map(|p| plan_name(p, locale));
    let charts = Metric::ALL
        .into_iter()
        .filter(|m| report.daily.iter().any(|d| d.metric == *m))
        .map(|metric| daily_chart(&report, metric, locale))
        .collect_view();
    let has_usage = !report.daily.is_empty();
    let currency = report.currency;
    let payg = (report.payg_cost_micros > 0).then(|| {
        view! {
            <p class="lead" data-testid="payg-cost">
                {t(locale, "Paid from the balance this period", "Оплачено с баланса за период")} ": "
                <strong>{format::money_micros(report.payg_cost_micros, currency, locale)}</strong>
                " · " <a href="/billing/balance">{t(locale, "Balance", "Баланс")}</a>
            </p>
        }
    });
    view! {
        <div class="row-between">
            <h1 class="page-title">{t(locale, "Usage this period", "Использование за период")}</h1>
            <p class="muted" data-testid="period">
                {plan.map(|p| format!("{p} · "))}
                {period}
            </p>
        </div>
        {payg}
        <div class="meter-grid">
            {report.meters.iter().map(|m| quota_meter(m, locale)).collect_view()}
        </div>
        <section class="card">
            <h2>{t(locale, "Daily usage", "Использование по дням")}</h2>
            {if has_usage {
                charts.into_any()
            } else {
                view! { <p class="muted">{t(locale, "No usage recorded in this period yet.", "В этом периоде использования ещё не было.")}</p> }.into_any()
            }}
        </section>
        <section class="card">
            <h2>{t(locale, "Recent events", "Последние события")}</h2>
            {events_table(report.recent, currency, locale)}
        </section>
    }
}

/// One bar per day of the period (for long periods, the 62 days up to the latest usage), for one
/// metric; days still to come are empty bars, so the chart shows where in the period we are.
fn daily_chart(report: &UsageReport, metric: Metric, locale: Locale) -> impl IntoView + use<> {
    let period_days = ((report.period_end - report.period_start + 86_399) / 86_400).clamp(1, 366);
    let last_used = report.daily.iter().map(|d| (d.day - report.period_start) / 86_400 + 1).max().unwrap_or(1);
    let days = if period_days <= 62 { period_days } else { last_used.max(1) };
    let first = (days - 62).max(0);
    let bars: Vec<Bar> = (first..days)
        .map(|i| {
            let day = report.period_start + i * 86_400;
            let value: i64 = report.daily.iter().filter(|d| d.metric == metric && d.day == day).map(|d| d.amount).sum();
            let date = format::date(day, locale);
            Bar {
                label: date.split(' ').take(2).collect::<Vec<_>>().join(" "),
                value,
                title: format!(
                    "{date}: {} {}",
                    format::number(value, locale),
                    format::metric_unit(metric, value, locale)
                ),
            }
        })
        .collect();
    let total: i64 = bars.iter().map(|b| b.value).sum();
    let caption = format!(
        "{}: {} {}",
        metric_label(metric, locale),
        format::number(total, locale),
        t(locale, "this period, by day", "за период, по дням")
    );
    view! { <div class="chart-block" data-chart=metric.as_str()>{bar_chart(bars, caption, None, locale)}</div> }
}

fn events_table(events: Vec<UsageEventView>, currency: crate::model::Currency, locale: Locale) -> impl IntoView {
    if events.is_empty() {
        return view! { <p class="muted">{t(locale, "No events yet.", "Событий пока нет.")}</p> }.into_any();
    }
    view! {
        <table class="table stack">
            <thead>
                <tr>
                    <th scope="col">{t(locale, "Time", "Время")}</th>
                    <th scope="col">{t(locale, "Metric", "Метрика")}</th>
                    <th scope="col" class="num">{t(locale, "Amount", "Количество")}</th>
                    <th scope="col">{t(locale, "Model", "Модель")}</th>
                    <th scope="col">{t(locale, "Chat", "Чат")}</th>
                    <th scope="col" class="num">{t(locale, "Charged", "Списано")}</th>
                </tr>
            </thead>
            <tbody>
                {events
                    .into_iter()
                    .map(|e| {
                        view! {
                            <tr data-usage-id=e.id.clone()>
                                <td data-label=t(locale, "Time", "Время")>{format::date_time(e.created_at, locale)}</td>
                                <td data-label=t(locale, "Metric", "Метрика")>{metric_label(e.metric, locale)}</td>
                                <td data-label=t(locale, "Amount", "Количество") class="num">{format::number(e.amount, locale)}</td>
                                <td data-label=t(locale, "Model", "Модель")><code>{e.model_id.unwrap_or_else(|| "—".into())}</code></td>
                                <td data-label=t(locale, "Chat", "Чат")><code>{e.chat_id.unwrap_or_else(|| "—".into())}</code></td>
                                <td data-label=t(locale, "Charged", "Списано") class="num" data-charged-micros=e.charged_micros.to_string()>
                                    {if e.charged_micros > 0 { format::money_micros(e.charged_micros, currency, locale) } else { "—".to_owned() }}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
