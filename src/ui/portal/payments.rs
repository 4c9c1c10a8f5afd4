//! `/billing/transactions`: the payment history, paginated, newest first.

use super::{PortalNav, loading};
use crate::actions::portal::get_transaction_page;
use crate::model::portal::Page;
use crate::model::{Transaction, TransactionKind};
use crate::ui::format;
use crate::ui::i18n::{Locale, t, use_locale};
use crate::ui::widgets::{ErrorPanel, page_title, pager, payment_badge};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Payments per page.
pub const PER_PAGE: i64 = 20;

/// A transaction's description in the viewer's language.
pub fn description(tx: &Transaction, locale: Locale) -> String {
    match locale {
        Locale::Ru => tx.description_ru.clone().or_else(|| tx.description.clone()),
        Locale::En => tx.description.clone(),
    }
    .unwrap_or_else(|| tx.kind.to_string())
}

#[component]
pub fn TransactionsPage() -> impl IntoView {
    let locale = use_locale();
    let query = use_query_map();
    let page = Memo::new(move |_| query.read().get("page").and_then(|p| p.parse::<i64>().ok()).unwrap_or(1).max(1));
    let data = Resource::new(move || page.get(), get_transaction_page);
    view! {
        {page_title(move || t(locale.get(), "Payments", "Платежи").to_owned())}
        <PortalNav/>
        <h1 class="page-title">{move || t(locale.get(), "Payment history", "История платежей")}</h1>
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                let locale = locale.get();
                match data.await {
                    Ok(page) => transactions_view(page, locale).into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The history table (also used by the admin's user page, with a refund column).
pub fn transactions_table(items: Vec<Transaction>, locale: Locale, extra: impl Fn(&Transaction) -> AnyView) -> AnyView {
    if items.is_empty() {
        return view! { <p class="muted">{t(locale, "No payments yet.", "Платежей пока не было.")}</p> }.into_any();
    }
    view! {
        <table class="table stack" data-table="transactions">
            <thead>
                <tr>
                    <th scope="col">{t(locale, "Date", "Дата")}</th>
                    <th scope="col">{t(locale, "Description", "Описание")}</th>
                    <th scope="col" class="num">{t(locale, "Amount", "Сумма")}</th>
                    <th scope="col">{t(locale, "Status", "Статус")}</th>
                    <th scope="col">{t(locale, "Receipt", "Чек")}</th>
                </tr>
            </thead>
            <tbody>
                {items
                    .iter()
                    .map(|tx| {
                        let refunded = (tx.refunded_minor > 0 && tx.kind != TransactionKind::Refund).then(|| {
                            view! {
                                <span class="muted small refunded" data-refunded=tx.refunded_minor.to_string()>
                                    {format!(" · {} {}", t(locale, "refunded", "возвращено"), format::money(tx.refunded_minor, tx.currency, locale))}
                                </span>
                            }
                        });
                        let amount = if tx.kind == TransactionKind::Refund {
                            format!("−{}", format::money(tx.amount, tx.currency, locale))
                        } else {
                            format::money(tx.amount, tx.currency, locale)
                        };
                        view! {
                            <tr data-transaction-id=tx.id.clone() data-kind=tx.kind.as_str()>
                                <td data-label=t(locale, "Date", "Дата")>{format::date(tx.created_at, locale)}</td>
                                <td data-label=t(locale, "Description", "Описание")>{description(tx, locale)}</td>
                                <td data-label=t(locale, "Amount", "Сумма") class="num">{amount}{refunded}</td>
                                <td data-label=t(locale, "Status", "Статус")>
                                    {payment_badge(tx, locale)}
                                </td>
                                <td data-label=t(locale, "Receipt", "Чек")>
                                    {match &tx.receipt_url {
                                        Some(url) => view! { <a href=url.clone() rel="noopener" target="_blank">{t(locale, "Receipt", "Чек")}</a> }.into_any(),
                                        None => view! { <span class="muted">"—"</span> }.into_any(),
                                    }}
                                    {extra(tx)}
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

fn transactions_view(page: Page<Transaction>, locale: Locale) -> impl IntoView {
    let pages = page.pages();
    view! {
        <section class="card">
            {transactions_table(page.items, locale, |_| ().into_any())}
            {pager(page.page, pages, page.total, &[], locale)}
        </section>
    }
}
