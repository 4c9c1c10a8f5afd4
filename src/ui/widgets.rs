//! Small pieces every page uses: status badges, quota meters, the server-drawn SVG bar chart,
//! error panels and field messages, and YooKassa's decline reasons in words.

use super::format;
use super::i18n::{Locale, t, use_locale};
use crate::actions::UiError;
use crate::model::{Metric, QuotaStatus, SubscriptionStatus, Transaction, TransactionKind, TransactionStatus};
use leptos::prelude::*;
use leptos_meta::Title;

/// Page `<title>`: "`name` · Tariff".
///
/// On the server the title is computed once, while the page renders: leptos_meta reads title
/// closures later, outside the request's reactive arena, and under concurrent requests a closure
/// that reads a signal there finds another request's arena and panics ("already disposed").
pub fn page_title(name: impl Fn() -> String + Send + Sync + 'static) -> impl IntoView {
    let text = format!("{} · Tariff", name());
    view! { <Title text=text/> }
}

/// A subscription status as a coloured badge with words (never colour alone).
pub fn status_badge(status: SubscriptionStatus, locale: Locale) -> impl IntoView {
    let (class, label) = match status {
        SubscriptionStatus::Active => ("badge badge-ok", t(locale, "active", "активна")),
        SubscriptionStatus::Trialing => ("badge badge-info", t(locale, "trialing", "пробный период")),
        SubscriptionStatus::PastDue => ("badge badge-warn", t(locale, "past due", "просрочен платёж")),
        SubscriptionStatus::Canceled => ("badge badge-muted", t(locale, "canceled", "отменена")),
        SubscriptionStatus::Paused => ("badge badge-muted", t(locale, "paused", "приостановлена")),
    };
    view! { <span class=class data-status=status.as_str()>{label}</span> }
}

/// A transaction's status as a badge (`paid`, `pending`, `declined`, `refunded`, …); a refund
/// that went through reads `refund`.
pub fn payment_badge(tx: &Transaction, locale: Locale) -> impl IntoView + use<> {
    let (class, label, key) = match (tx.kind, tx.status) {
        (TransactionKind::Refund, TransactionStatus::Succeeded) => {
            ("badge badge-muted", t(locale, "refund", "возврат"), "refund")
        }
        (_, TransactionStatus::Succeeded) => ("badge badge-ok", t(locale, "paid", "оплачен"), "succeeded"),
        (_, status @ (TransactionStatus::Pending | TransactionStatus::WaitingForCapture)) => {
            ("badge badge-info", t(locale, "pending", "ожидает"), status.as_str())
        }
        (_, TransactionStatus::Canceled) => ("badge badge-danger", t(locale, "declined", "отклонён"), "canceled"),
        (_, TransactionStatus::Failed) => ("badge badge-danger", t(locale, "failed", "ошибка"), "failed"),
        (_, TransactionStatus::Refunded) => ("badge badge-muted", t(locale, "refunded", "возвращён"), "refunded"),
    };
    view! { <span class=class data-status=key>{label}</span> }
}

/// How full a quota is: `ok` under 80 %, `warn` from 80 %, `full` at 100 %.
pub fn meter_level(used: i64, limit: Option<i64>) -> &'static str {
    match limit {
        None => "ok",
        Some(limit) if limit <= 0 || used >= limit => "full",
        Some(limit) if used * 10 >= limit * 8 => "warn",
        Some(_) => "ok",
    }
}

/// One metric's meter: used / limit / remaining in words and a bar (`role="progressbar"`).
pub fn quota_meter(status: &QuotaStatus, locale: Locale) -> impl IntoView + use<> {
    let metric = status.metric;
    let used = status.current_usage;
    let level = meter_level(used, status.quota_limit);
    let (percent, figures, remaining) = match status.quota_limit {
        Some(limit) => {
            let percent = if limit <= 0 { 100 } else { (used.saturating_mul(100) / limit).clamp(0, 100) };
            let figures = format!(
                "{} / {} {}",
                format::number(used, locale),
                format::number(limit, locale),
                format::metric_unit(metric, limit, locale)
            );
            let left = status.remaining.unwrap_or(0).max(0);
            (Some(percent), figures, format!("{} {}", format::number(left, locale), t(locale, "left", "осталось")))
        }
        None => (
            None,
            format!("{} {}", format::number(used, locale), format::metric_unit(metric, used, locale)),
            t(locale, "unlimited", "без ограничений").to_owned(),
        ),
    };
    let name = capitalized(format::metric_name(metric, locale));
    view! {
        <div class=format!("meter-card level-{level}") data-metric=metric.as_str() data-level=level>
            <div class="meter-head">
                <span class="meter-name">{name.clone()}</span>
                <span class="meter-remaining">{remaining}</span>
            </div>
            <p class="meter-figures">{figures}</p>
            {match percent {
                Some(percent) => view! {
                    <div
                        class="meter"
                        role="progressbar"
                        aria-label=name
                        aria-valuemin="0"
                        aria-valuemax="100"
                        aria-valuenow=percent.to_string()
                    >
                        <div class="meter-fill" style=format!("width: {percent}%")></div>
                    </div>
                }
                    .into_any(),
                None => view! { <div class="meter meter-unlimited" aria-hidden="true"></div> }.into_any(),
            }}
        </div>
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// One bar of [`bar_chart`].
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: i64,
    /// Text of the bar's tooltip (`<title>`), e.g. "21 Nov 2026: 1,200 tokens".
    pub title: String,
}

/// A bar chart drawn as SVG on the server (no script needed). Scales to its container's width.
/// The top of the scale is labelled `max_label`, or the largest value as a plain number when it
/// is `None` (pass a label when the values are minor units, so kopecks never show as roubles).
/// A label wider than its bar's slot is cut short with "…"; the bar's tooltip keeps it whole.
pub fn bar_chart(bars: Vec<Bar>, caption: String, max_label: Option<String>, locale: Locale) -> impl IntoView {
    const WIDTH: f64 = 600.0;
    const HEIGHT: f64 = 160.0;
    const TOP: f64 = 12.0;
    const BOTTOM: f64 = 22.0;
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let n = bars.len().max(1) as f64;
    let slot = WIDTH / n;
    let bar_width = (slot * 0.7).max(1.0);
    let plot = HEIGHT - TOP - BOTTOM;
    let label_every = (bars.len() / 8).max(1);
    let max_label = max_label.unwrap_or_else(|| format::number(max, locale));
    // About 5.6 units per character at the labels' 10px; keep a little air between slots.
    let fit = ((slot * 0.92) / 5.6).floor().max(3.0) as usize;
    let rects = bars
        .iter()
        .enumerate()
        .map(|(i, bar)| {
            let h = if bar.value <= 0 { 0.0 } else { (bar.value as f64 / max as f64 * plot).max(1.5) };
            let x = i as f64 * slot + (slot - bar_width) / 2.0;
            let y = TOP + plot - h;
            let label = (i % label_every == 0).then(|| {
                view! {
                    <text x=format!("{:.1}", x + bar_width / 2.0) y=format!("{:.1}", HEIGHT - 6.0) class="chart-label" text-anchor="middle">
                        {if bar.label.chars().count() > fit {
                            format!("{}…", bar.label.chars().take(fit - 1).collect::<String>())
                        } else {
                            bar.label.clone()
                        }}
                    </text>
                }
            });
            view! {
                <g>
                    <rect x=format!("{x:.1}") y=format!("{y:.1}") width=format!("{bar_width:.1}") height=format!("{h:.1}") class="chart-bar" rx="1.5">
                        <title>{bar.title.clone()}</title>
                    </rect>
                    {label}
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=caption.clone()>
                <line x1="0" x2=WIDTH.to_string() y1=format!("{:.1}", TOP + plot) y2=format!("{:.1}", TOP + plot) class="chart-axis"/>
                <text x="2" y="10" class="chart-label">{max_label}</text>
                {rects}
            </svg>
            <figcaption class="muted small">{caption}</figcaption>
        </figure>
    }
}

/// A navigation bar of `(href, English, Russian)` links with the current page marked
/// (`aria-current="page"`). A link is current on its own path, and with `nested` also on the paths
/// below it (except `root`, which is current only on itself).
pub fn section_nav(
    class: &'static str,
    label: (&'static str, &'static str),
    links: &'static [(&'static str, &'static str, &'static str)],
    nested: bool,
    root: &'static str,
) -> impl IntoView {
    let locale = use_locale();
    let location = leptos_router::hooks::use_location();
    view! {
        <nav class=class aria-label=move || t(locale.get(), label.0, label.1)>
            {links
                .iter()
                .map(|&(href, en, ru)| {
                    let current = move || {
                        let path = location.pathname.get();
                        path == href || (nested && href != root && path.starts_with(&format!("{href}/")))
                    };
                    view! {
                        <a href=href class:current=current aria-current=move || current().then_some("page")>
                            {move || t(locale.get(), en, ru)}
                        </a>
                    }
                })
                .collect_view()}
        </nav>
    }
}

/// A page-level error: "log in again" for an ended session, the 403 page for a missing role
/// (with status 403 on the server), or the message itself.
#[component]
pub fn ErrorPanel(error: UiError) -> impl IntoView {
    let locale = use_locale();
    match error {
        UiError::SignedOut => view! {
            <section class="empty-state" data-error="signed-out">
                <h1>{move || t(locale.get(), "Please log in", "Войдите в аккаунт")}</h1>
                <p>{move || t(locale.get(), "Your session has ended.", "Ваш сеанс завершён.")}</p>
                <a class="button" href="/login">{move || t(locale.get(), "Log in", "Войти")}</a>
            </section>
        }
        .into_any(),
        UiError::Forbidden => {
            #[cfg(feature = "ssr")]
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(axum::http::StatusCode::FORBIDDEN);
            }
            view! {
                {page_title(move || t(locale.get(), "Access denied", "Доступ запрещён").to_owned())}
                <section class="empty-state" data-error="forbidden">
                    <p class="big-code">"403"</p>
                    <h1>{move || t(locale.get(), "Access denied", "Доступ запрещён")}</h1>
                    <p>{move || t(locale.get(), "This page is for administrators only.", "Эта страница только для администраторов.")}</p>
                    <a href="/billing">{move || t(locale.get(), "Go to your billing", "Перейти к оплате")}</a>
                </section>
            }
            .into_any()
        }
        UiError::NotFound(text) => {
            #[cfg(feature = "ssr")]
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(axum::http::StatusCode::NOT_FOUND);
            }
            view! { <section class="empty-state" data-error="not-found"><h1>{text}</h1></section> }.into_any()
        }
        other => {
            let text = other.general(&[]).unwrap_or_else(|| retry_hint(locale.get_untracked()).to_owned());
            view! { <p class="error" role="alert">{text}</p> }.into_any()
        }
    }
}

/// `← Newer · Page 2 of 5 · 120 in all · Older →` for a newest-first list; the links keep the
/// non-empty `query` parameters and set `page`.
pub fn pager(
    page: i64,
    pages: i64,
    total: i64,
    query: &[(&'static str, String)],
    locale: Locale,
) -> impl IntoView + use<> {
    let kept: Vec<String> = query
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", crate::ui::auth::encode(v)))
        .collect();
    let href = move |p: i64| {
        let mut parts = kept.clone();
        parts.push(format!("page={p}"));
        format!("?{}", parts.join("&"))
    };
    let summary = match locale {
        Locale::En => format!("Page {page} of {pages} · {} in all", format::number(total, locale)),
        Locale::Ru => format!("Страница {page} из {pages} · всего {}", format::number(total, locale)),
    };
    view! {
        <nav class="pager" aria-label=t(locale, "Pages", "Страницы")>
            {(page > 1).then(|| view! { <a href=href(page - 1) rel="prev">{t(locale, "← Newer", "← Новее")}</a> })}
            <span class="muted small">{summary}</span>
            {(page < pages).then(|| view! { <a href=href(page + 1) rel="next">{t(locale, "Older →", "Старше →")}</a> })}
        </nav>
    }
}

/// What to say when a request did not reach the server.
pub fn retry_hint(locale: Locale) -> &'static str {
    t(
        locale,
        "The request did not go through. Check your connection and try again.",
        "Запрос не прошёл. Проверьте соединение и попробуйте ещё раз.",
    )
}

/// The message for `field` from an action's last result, for the line under the input.
pub fn field_message<T, S>(value: S, field: &'static str) -> impl IntoView
where
    T: Send + Sync + 'static,
    S: With<Value = Option<Result<T, UiError>>> + Clone + Send + Sync + 'static,
{
    move || {
        value
            .with(|v| match v {
                Some(Err(e)) => e.field(field),
                _ => None,
            })
            .map(|m| view! { <p class="field-error" role="alert" data-field=field>{m}</p> })
    }
}

/// The action-level error line (anything not shown next to one of `fields`).
pub fn action_message<T, S>(value: S, fields: &'static [&'static str]) -> impl IntoView
where
    T: Send + Sync + 'static,
    S: With<Value = Option<Result<T, UiError>>> + Clone + Send + Sync + 'static,
{
    let locale = use_locale();
    move || {
        value
            .with(|v| match v {
                Some(Err(UiError::Transport(_))) => Some(retry_hint(locale.get()).to_owned()),
                Some(Err(e)) => e.general(fields),
                _ => None,
            })
            .map(|m| view! { <p class="form-error" role="alert">{m}</p> })
    }
}

/// YooKassa's `cancellation_details.reason` in words a payer understands.
pub fn decline_reason(reason: Option<&str>, locale: Locale) -> &'static str {
    match reason.unwrap_or_default() {
        "insufficient_funds" => t(locale, "The card has insufficient funds.", "На карте недостаточно средств."),
        "3d_secure_failed" => t(
            locale,
            "3-D Secure authentication did not pass. Try again or contact your bank.",
            "Не пройдена проверка 3-D Secure. Попробуйте ещё раз или обратитесь в банк.",
        ),
        "call_issuer" => t(
            locale,
            "The bank declined the payment. Contact your bank.",
            "Банк отклонил платёж. Обратитесь в свой банк.",
        ),
        "card_expired" => {
            t(locale, "The card has expired. Use another card.", "Срок действия карты истёк. Используйте другую карту.")
        }
        "country_forbidden" => {
            t(locale, "Cards from this country are not accepted.", "Карты этой страны не принимаются.")
        }
        "fraud_suspected" => t(
            locale,
            "The payment was blocked on suspicion of fraud.",
            "Платёж заблокирован из-за подозрения в мошенничестве.",
        ),
        "invalid_card_number" => t(locale, "The card number is wrong.", "Неверный номер карты."),
        "invalid_csc" => t(locale, "The security code (CVC) is wrong.", "Неверный код безопасности (CVC)."),
        "issuer_unavailable" => t(
            locale,
            "The bank is not answering. Try again later or use another card.",
            "Банк не отвечает. Попробуйте позже или используйте другую карту.",
        ),
        "payment_method_limit_exceeded" => t(
            locale,
            "The card's limit is reached. Try another card or tomorrow.",
            "Превышен лимит по карте. Попробуйте другую карту или завтра.",
        ),
        "payment_method_restricted" => t(
            locale,
            "Payments with this card are not allowed. Use another card.",
            "Платежи этой картой запрещены. Используйте другую карту.",
        ),
        "permission_revoked" => {
            t(locale, "Automatic payments were turned off for this card.", "Для этой карты отключены автоплатежи.")
        }
        "expired_on_confirmation" => {
            t(locale, "The payment was not confirmed in time.", "Платёж не был подтверждён вовремя.")
        }
        "internal_timeout" => t(
            locale,
            "The payment service timed out. Try again.",
            "Платёжный сервис не ответил вовремя. Попробуйте ещё раз.",
        ),
        "canceled_by_merchant" => t(locale, "The shop canceled the payment.", "Магазин отменил платёж."),
        _ => t(locale, "The bank declined the payment.", "Банк отклонил платёж."),
    }
}

/// The metric's name with a capital letter ("Input tokens").
pub fn metric_label(metric: Metric, locale: Locale) -> String {
    capitalized(format::metric_name(metric, locale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meters_turn_amber_at_80_percent_and_red_at_100() {
        assert_eq!(meter_level(79, Some(100)), "ok");
        assert_eq!(meter_level(80, Some(100)), "warn");
        assert_eq!(meter_level(99, Some(100)), "warn");
        assert_eq!(meter_level(100, Some(100)), "full");
        assert_eq!(meter_level(5, None), "ok");
        assert_eq!(meter_level(0, Some(0)), "full");
    }
}
