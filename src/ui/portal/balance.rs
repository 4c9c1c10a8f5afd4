//! `/billing/balance`: the pay-as-you-go balance as the big figure, what is owed, top-up with
//! preset amounts and a custom one (through the payment page and back, like checkout), and the
//! ledger history.

use super::{PortalNav, loading};
use crate::actions::portal::{StartTopup, get_balance_page};
use crate::model::portal::BalancePage;
use crate::model::{BalanceEntry, BalanceReason};
use crate::ui::format;
use crate::ui::i18n::{Locale, t, use_locale};
use crate::ui::widgets::{ErrorPanel, action_message, field_message, page_title};
use leptos::prelude::*;

/// What a ledger entry was, in the viewer's language.
pub fn reason_label(reason: BalanceReason, locale: Locale) -> &'static str {
    match reason {
        BalanceReason::Topup => t(locale, "Top-up", "Пополнение"),
        BalanceReason::Charge => t(locale, "Usage charge", "Списание за использование"),
        BalanceReason::Refund => t(locale, "Top-up refunded", "Возврат пополнения"),
        BalanceReason::Adjustment => t(locale, "Adjustment", "Корректировка"),
        BalanceReason::Reversal => t(locale, "Reversal", "Отмена операции"),
    }
}

#[component]
pub fn BalancePage() -> impl IntoView {
    let locale = use_locale();
    let data = Resource::new(|| (), |_| get_balance_page());
    let topup = ServerAction::<StartTopup>::new();
    view! {
        {page_title(move || t(locale.get(), "Balance", "Баланс").to_owned())}
        <PortalNav/>
        <h1 class="page-title">{move || t(locale.get(), "Balance", "Баланс")}</h1>
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                let locale = locale.get();
                match data.await {
                    Ok(page) => balance_view(page, locale, topup).into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn balance_view(page: BalancePage, locale: Locale, topup: ServerAction<StartTopup>) -> impl IntoView {
    let b = &page.balance;
    let low = b.low.then(|| {
        view! {
            <p class="notice warn" data-testid="low-balance" role="status">
                {format!(
                    "{} {}.",
                    t(locale, "The balance is below", "Баланс ниже"),
                    format::money(b.low_balance_threshold_minor, b.currency, locale)
                )}
                " "
                {t(locale, "Top up so that pay-as-you-go usage is not refused.", "Пополните его, чтобы оплата сверх тарифа не отклонялась.")}
            </p>
        }
    });
    let owed = (b.owed_micros > 0).then(|| {
        view! {
            <p class="owed" data-testid="owed">
                {t(locale, "Owed for usage", "Задолженность за использование")} ": "
                <strong>{format::money_micros(b.owed_micros, b.currency, locale)}</strong>
            </p>
        }
    });
    view! {
        <section class="card" data-card="balance">
            <p class="muted">{t(locale, "Available for pay-as-you-go usage", "Доступно для оплаты использования")}</p>
            <p class="big-figure" data-testid="balance" data-balance-micros=b.balance_micros.to_string()>
                {format::money_micros(b.balance_micros, b.currency, locale)}
            </p>
            {owed}
            {low}
        </section>
        {topup_card(&page, locale, topup)}
        <section class="card" data-card="ledger">
            <h2>{t(locale, "History", "История")}</h2>
            {ledger_table(&page.balance.entries, locale)}
        </section>
    }
}

fn topup_card(page: &BalancePage, locale: Locale, topup: ServerAction<StartTopup>) -> AnyView {
    if !page.payments_enabled {
        return view! {
            <section class="card"><p class="muted">{t(locale, "Payments are not available right now.", "Оплата сейчас недоступна.")}</p></section>
        }
        .into_any();
    }
    let currency = page.balance.currency;
    let presets = page
        .presets
        .iter()
        .map(|minor| {
            let amount = tariff_model::money::yookassa_amount(*minor);
            let label = format::money(*minor, currency, locale);
            view! {
                <ActionForm action=topup attr:class="inline-form" attr:data-form="topup-preset">
                    <input type="hidden" name="amount" value=amount/>
                    <button type="submit" class="button">{label}</button>
                </ActionForm>
            }
        })
        .collect_view();
    let limits = format!(
        "{} {} {} {}",
        t(locale, "From", "От"),
        format::money(page.topup_min_minor, currency, locale),
        t(locale, "to", "до"),
        format::money(page.topup_max_minor, currency, locale)
    );
    view! {
        <section class="card" data-card="topup">
            <h2>{t(locale, "Top up", "Пополнить")}</h2>
            <div class="actions">{presets}</div>
            <ActionForm action=topup attr:class="inline-form" attr:data-form="topup">
                <label for="topup-amount">{t(locale, "Another amount", "Другая сумма")}</label>
                <input id="topup-amount" type="text" inputmode="decimal" name="amount" required placeholder="750.00" aria-describedby="topup-limits"/>
                <button type="submit" class="button primary" data-pending=t(locale, "Opening payment…", "Переходим к оплате…")>
                    {t(locale, "Top up", "Пополнить")}
                </button>
            </ActionForm>
            <p id="topup-limits" class="muted small">{limits}</p>
            {field_message(topup.value(), "amount")}
            {action_message(topup.value(), &["amount"])}
        </section>
    }
    .into_any()
}

/// The ledger, newest first (also on the admin's user page).
pub fn ledger_table(entries: &[BalanceEntry], locale: Locale) -> AnyView {
    if entries.is_empty() {
        return view! { <p class="muted">{t(locale, "No movements yet.", "Движений пока не было.")}</p> }.into_any();
    }
    view! {
        <table class="table stack" data-table="ledger">
            <thead>
                <tr>
                    <th scope="col">{t(locale, "Date", "Дата")}</th>
                    <th scope="col">{t(locale, "What", "Операция")}</th>
                    <th scope="col" class="num">{t(locale, "Amount", "Сумма")}</th>
                    <th scope="col" class="num">{t(locale, "Balance after", "Баланс после")}</th>
                </tr>
            </thead>
            <tbody>
                {entries
                    .iter()
                    .map(|e| {
                        let sign = if e.delta_micros > 0 { "+" } else { "" };
                        let what = match &e.description {
                            Some(d) => format!("{} · {d}", reason_label(e.reason, locale)),
                            None => reason_label(e.reason, locale).to_owned(),
                        };
                        view! {
                            <tr data-reason=e.reason.as_str()>
                                <td data-label=t(locale, "Date", "Дата")>{format::date_time(e.created_at, locale)}</td>
                                <td data-label=t(locale, "What", "Операция")>{what}</td>
                                <td data-label=t(locale, "Amount", "Сумма") class="num">{format!("{sign}{}", format::money_micros(e.delta_micros, e.currency, locale))}</td>
                                <td data-label=t(locale, "Balance after", "Баланс после") class="num">{format::money_micros(e.balance_after_micros, e.currency, locale)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
