//! `/admin`'s revenue movements (issue 14.6): per currency, MRR at each month's end as a line and
//! what moved it as bars around a zero line (new, expansion and reactivation up; contraction and
//! churn down), both drawn as SVG on the server; and the sandbox's test-clock panel.

use crate::actions::admin::AdvanceClock;
use crate::model::admin::{CurrencyMrrSeries, MrrMonth, MrrSeries};
use crate::model::api::ClockState;
use crate::ui::format;
use crate::ui::i18n::{Locale, t};
use crate::ui::widgets::{action_message, field_message};
use leptos::prelude::*;

const WIDTH: f64 = 640.0;
const LINE_HEIGHT: f64 = 150.0;
const BARS_HEIGHT: f64 = 150.0;
const PAD: f64 = 14.0;
const LABELS: f64 = 20.0;

/// The five movements in drawing order, with their CSS class and names.
const MOVEMENTS: [(&str, &str, &str); 5] = [
    ("new", "New", "Новые"),
    ("expansion", "Expansion", "Рост"),
    ("reactivation", "Reactivation", "Возврат"),
    ("contraction", "Contraction", "Снижение"),
    ("churn", "Churn", "Отток"),
];

fn amounts(month: &MrrMonth) -> [i64; 5] {
    [month.new_minor, month.expansion_minor, month.reactivation_minor, month.contraction_minor, month.churn_minor]
}

/// `2026-11` as `Nov` / `нояб.` (with the year on January and on the first month shown).
fn month_label(month: &MrrMonth, first: bool, locale: Locale) -> String {
    let date = format::date(month.start, locale);
    let mut parts = date.split_whitespace().skip(1);
    let name = parts.next().unwrap_or_default().to_owned();
    let year = parts.next().unwrap_or_default();
    if first || month.month.ends_with("-01") { format!("{name} {year}") } else { name }
}

/// Both charts of one currency, with a legend and the figures as a table for screen readers and
/// exact reading.
fn currency_charts(series: &CurrencyMrrSeries, locale: Locale) -> impl IntoView {
    let currency = series.currency;
    let points = &series.points;
    let n = points.len().max(1) as f64;
    let slot = WIDTH / n;
    let max_mrr = points.iter().map(|p| p.mrr_minor).max().unwrap_or(0).max(1);
    let plot = LINE_HEIGHT - PAD - LABELS;
    let xy: Vec<(f64, f64)> = points
        .iter()
        .enumerate()
        .map(|(i, p)| (i as f64 * slot + slot / 2.0, PAD + plot - p.mrr_minor as f64 / max_mrr as f64 * plot))
        .collect();
    let path = xy.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ");
    let dots = points
        .iter()
        .zip(&xy)
        .enumerate()
        .map(|(i, (p, (x, y)))| {
            let title = format!("{}: {}", p.month, format::money(p.mrr_minor, currency, locale));
            let label = view! {
                <text x=format!("{x:.1}") y=format!("{:.1}", LINE_HEIGHT - 6.0) class="chart-label" text-anchor="middle">
                    {month_label(p, i == 0, locale)}
                </text>
            };
            view! {
                <g>
                    <circle cx=format!("{x:.1}") cy=format!("{y:.1}") r="3" class="mrr-dot"><title>{title}</title></circle>
                    {label}
                </g>
            }
        })
        .collect_view();
    let up_max = points.iter().map(|p| amounts(p)[..3].iter().sum::<i64>()).max().unwrap_or(0);
    let down_max = points.iter().map(|p| -amounts(p)[3..].iter().sum::<i64>()).max().unwrap_or(0);
    let span = (up_max + down_max).max(1) as f64;
    let bars_plot = BARS_HEIGHT - PAD - LABELS;
    let zero = PAD + bars_plot * up_max as f64 / span;
    let scale = bars_plot / span;
    let bar_width = (slot * 0.6).max(1.0);
    let bars = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let x = i as f64 * slot + (slot - bar_width) / 2.0;
            let (mut up, mut down) = (zero, zero);
            let rects = MOVEMENTS
                .iter()
                .zip(amounts(p))
                .filter(|(_, amount)| *amount != 0)
                .map(|((class, en, ru), amount)| {
                    let h = (amount.abs() as f64 * scale).max(1.5);
                    let y = if amount > 0 {
                        up -= h;
                        up
                    } else {
                        down += h;
                        down - h
                    };
                    let title = format!("{} · {}: {}", p.month, t(locale, en, ru), format::money(amount, currency, locale));
                    view! {
                        <rect x=format!("{x:.1}") y=format!("{y:.1}") width=format!("{bar_width:.1}") height=format!("{h:.1}")
                            class=format!("move move-{class}") data-movement=*class data-amount-minor=amount.to_string()>
                            <title>{title}</title>
                        </rect>
                    }
                })
                .collect_view();
            view! { <g data-month=p.month.clone()>{rects}</g> }
        })
        .collect_view();
    let latest = points.last().map(|p| p.mrr_minor).unwrap_or(0);
    let net_latest = points.last().map(|p| p.net_minor).unwrap_or(0);
    let net_text = format!("{}{}", if net_latest > 0 { "+" } else { "" }, format::money(net_latest, currency, locale));
    let caption_line = format!("{} ({})", t(locale, "MRR at each month's end", "MRR на конец месяца"), currency.code());
    let caption_bars =
        format!("{} ({})", t(locale, "What moved MRR, by month", "Что изменило MRR, по месяцам"), currency.code());
    let rows = points
        .iter()
        .rev()
        .map(|p| {
            let cells = amounts(p)
                .into_iter()
                .map(|a| view! { <td class="num">{format::money(a, currency, locale)}</td> })
                .collect_view();
            view! {
                <tr data-month=p.month.clone()>
                    <th scope="row">{p.month.clone()}</th>
                    <td class="num">{format::money(p.mrr_minor, currency, locale)}</td>
                    {cells}
                    <td class="num">{format::money(p.net_minor, currency, locale)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" data-chart="mrr-movements" data-currency=currency.code()>
            <div class="row-between">
                <h2>{format!("{} · {}", t(locale, "MRR over 12 months", "MRR за 12 месяцев"), currency.code())}</h2>
                <p class="nowrap"><strong data-testid="mrr-latest">{format::money(latest, currency, locale)}</strong>
                    " " <span class="muted small" data-testid="mrr-net-month">{format!("{} {net_text}", t(locale, "this month", "за месяц"))}</span></p>
            </div>
            <figure class="chart">
                <svg viewBox=format!("0 0 {WIDTH} {LINE_HEIGHT}") role="img" aria-label=caption_line.clone()>
                    <line x1="0" x2=WIDTH.to_string() y1=format!("{:.1}", PAD + plot) y2=format!("{:.1}", PAD + plot) class="chart-axis"/>
                    <text x="2" y="10" class="chart-label">{format::money(max_mrr, currency, locale)}</text>
                    <polyline points=path class="mrr-line"/>
                    {dots}
                </svg>
                <figcaption class="visually-hidden">{caption_line}</figcaption>
            </figure>
            <figure class="chart">
                <svg viewBox=format!("0 0 {WIDTH} {BARS_HEIGHT}") role="img" aria-label=caption_bars.clone()>
                    <line x1="0" x2=WIDTH.to_string() y1=format!("{zero:.1}") y2=format!("{zero:.1}") class="chart-axis"/>
                    {bars}
                </svg>
                <figcaption class="visually-hidden">{caption_bars}</figcaption>
            </figure>
            <ul class="legend">
                {MOVEMENTS.iter().map(|(class, en, ru)| view! {
                    <li><span class=format!("swatch move-{class}") aria-hidden="true"></span>{t(locale, en, ru)}</li>
                }).collect_view()}
            </ul>
            <details>
                <summary>{t(locale, "Figures by month", "Цифры по месяцам")}</summary>
                <div class="table-scroll">
                    <table class="table" data-table="mrr-months">
                        <thead>
                            <tr>
                                <th scope="col">{t(locale, "Month", "Месяц")}</th>
                                <th scope="col" class="num">"MRR"</th>
                                {MOVEMENTS.iter().map(|(_, en, ru)| view! { <th scope="col" class="num">{t(locale, en, ru)}</th> }).collect_view()}
                                <th scope="col" class="num">{t(locale, "Net", "Итого")}</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            </details>
        </section>
    }
}

/// The MRR charts of every currency that had MRR in the window, or a note that none did.
pub fn mrr_charts(series: &MrrSeries, locale: Locale) -> AnyView {
    if series.currencies.is_empty() {
        return view! {
            <section class="card" data-chart="mrr-movements">
                <h2>{t(locale, "MRR over 12 months", "MRR за 12 месяцев")}</h2>
                <p class="muted">{t(locale, "No paid subscriptions yet: the chart starts with the first one.", "Платных подписок пока нет: график начнётся с первой.")}</p>
            </section>
        }
        .into_any();
    }
    series.currencies.iter().map(|c| currency_charts(c, locale)).collect_view().into_any()
}

/// The sandbox's test clock: the server's "now", how far it runs ahead, and a form that moves it
/// forward a number of days (the scheduler runs everything due on the way).
pub fn clock_panel(clock: ClockState, action: ServerAction<AdvanceClock>, locale: Locale) -> impl IntoView {
    let ahead_days = clock.offset_seconds / 86_400;
    let ahead = match locale {
        Locale::En => format!("{ahead_days} days ahead of the real clock"),
        Locale::Ru => format!("на {ahead_days} дн. впереди реального времени"),
    };
    let presets = [(1, "+1 day", "+1 день"), (7, "+7 days", "+7 дней"), (30, "+30 days", "+30 дней")];
    view! {
        <section class="card clock-panel" data-card="test-clock">
            <p class="eyebrow">{t(locale, "Sandbox test clock", "Тестовые часы песочницы")}</p>
            <p class="big-figure" data-testid="clock-now" data-now=clock.now.to_string()>{format::date_time(clock.now, locale)}</p>
            <p class="muted small" data-testid="clock-offset">{ahead}</p>
            <p class="small">{t(locale, "Moving the clock runs renewals, trial ends, dunning retries and scheduled downgrades as they fall due, against the sandbox. It never moves back.", "При переводе часов выполняются продления, окончания пробных периодов, повторы списаний и отложенные смены тарифа — в песочнице. Назад часы не идут.")}</p>
            <div class="actions">
                {presets.into_iter().map(|(days, en, ru)| view! {
                    <ActionForm action=action attr:class="inline-form" attr:data-form=format!("clock-{days}")>
                        <input type="hidden" name="days" value=days.to_string()/>
                        <button type="submit" class="button">{t(locale, en, ru)}</button>
                    </ActionForm>
                }).collect_view()}
            </div>
            <ActionForm action=action attr:class="row-form" attr:data-form="clock-days">
                <label for="clock-days">{t(locale, "Days forward", "Дней вперёд")}</label>
                <input id="clock-days" type="number" name="days" min="1" max="1826" step="1" value="30" inputmode="numeric"/>
                <button type="submit" class="button primary" data-pending=t(locale, "Running…", "Выполняем…")>
                    {t(locale, "Move forward", "Перевести")}
                </button>
            </ActionForm>
            {field_message(action.value(), "days")}
            {action_message(action.value(), &["days"])}
        </section>
    }
}
