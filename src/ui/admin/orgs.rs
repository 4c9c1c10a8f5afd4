//! Organisations for the admin (issue 13): `/admin/orgs` (searchable by name or member email,
//! with plan, members and balance) and `/admin/orgs/{id}` (subscription, members, usage by
//! member, meters, the shared balance with its ledger and a manual credit, transactions with
//! refunds, and assigning or comping a plan).

use super::admin_page;
use crate::actions::admin::{AdjustOrgBalance, AssignOrgPlan, RefundPayment, get_admin_org, get_admin_orgs};
use crate::model::admin::OrgDetail;
use crate::model::org::OrganizationSummary;
use crate::model::portal::Page;
use crate::ui::format;
use crate::ui::i18n::{Locale, t, use_locale};
use crate::ui::portal::orgs::{role_label, usage_by_member_card};
use crate::ui::portal::overview::plan_name;
use crate::ui::portal::payments::transactions_table;
use crate::ui::widgets::{action_message, field_message, page_title, pager, quota_meter, status_badge};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn AdminOrgsPage() -> impl IntoView {
    let locale = use_locale();
    let query = use_query_map();
    let search = Memo::new(move |_| query.read().get("search").filter(|v| !v.is_empty()));
    let page = Memo::new(move |_| query.read().get("page").and_then(|p| p.parse().ok()).unwrap_or(1i64).max(1));
    let data = Resource::new(move || (search.get(), page.get()), |(search, page)| get_admin_orgs(search, page));
    view! {
        {page_title(move || t(locale.get(), "Organisations", "Организации").to_owned())}
        {admin_page(data, move |orgs, locale| orgs_view(orgs, search.get_untracked(), locale))}
    }
}

/// The table of organisations (the list page, and the user page's memberships).
pub fn orgs_table(orgs: Vec<OrganizationSummary>, locale: Locale) -> AnyView {
    view! {
        <table class="table stack" data-table="orgs">
            <thead>
                <tr>
                    <th scope="col">{t(locale, "Organisation", "Организация")}</th>
                    <th scope="col">{t(locale, "Plan", "Тариф")}</th>
                    <th scope="col" class="num">{t(locale, "Members", "Участники")}</th>
                    <th scope="col" class="num">{t(locale, "Balance", "Баланс")}</th>
                    <th scope="col">{t(locale, "Created", "Создана")}</th>
                </tr>
            </thead>
            <tbody>
                {orgs
                    .into_iter()
                    .map(|o| {
                        let role = o.role.map(|r| format!(" · {}", role_label(r, locale))).unwrap_or_default();
                        view! {
                            <tr data-org-id=o.id.clone()>
                                <td data-label=t(locale, "Organisation", "Организация")>
                                    <a href=format!("/admin/orgs/{}", o.id)>{o.name.clone()}</a>
                                    <span class="muted small">{role}</span>
                                </td>
                                <td data-label=t(locale, "Plan", "Тариф")>
                                    {o.plan_name.clone().unwrap_or_else(|| "—".into())} " "
                                    {o.subscription_status.map(|s| status_badge(s, locale))}
                                </td>
                                <td data-label=t(locale, "Members", "Участники") class="num">{format::number(o.members, locale)}</td>
                                <td data-label=t(locale, "Balance", "Баланс") class="num">{format::money_micros(o.balance_micros, o.currency, locale)}</td>
                                <td data-label=t(locale, "Created", "Создана")>{format::date(o.created_at, locale)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

fn orgs_view(orgs: Page<OrganizationSummary>, search: Option<String>, locale: Locale) -> impl IntoView {
    let pages = orgs.pages();
    let (page, total) = (orgs.page, orgs.total);
    let table = if orgs.items.is_empty() {
        view! { <p class="muted">{t(locale, "No organisations match.", "Организаций не найдено.")}</p> }.into_any()
    } else {
        orgs_table(orgs.items, locale)
    };
    view! {
        <h1 class="page-title">{t(locale, "Organisations", "Организации")}</h1>
        <form method="get" class="row-form filters" role="search">
            <label for="org-search" class="visually-hidden">{t(locale, "Name or member email", "Название или почта участника")}</label>
            <input id="org-search" type="search" name="search" value=search.clone().unwrap_or_default() placeholder=t(locale, "Search by name or member email", "Поиск по названию или почте участника")/>
            <button type="submit" class="button">{t(locale, "Search", "Найти")}</button>
        </form>
        <section class="card">
            {table}
            {pager(page, pages, total, &[("search", search.unwrap_or_default())], locale)}
        </section>
    }
}

#[component]
pub fn AdminOrgPage() -> impl IntoView {
    let locale = use_locale();
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let assign = ServerAction::<AssignOrgPlan>::new();
    let refund = ServerAction::<RefundPayment>::new();
    let adjust = ServerAction::<AdjustOrgBalance>::new();
    let data = Resource::new(
        move || (id.get(), assign.version().get(), refund.version().get(), adjust.version().get()),
        |(id, ..)| get_admin_org(id),
    );
    view! {
        {page_title(move || t(locale.get(), "Organisation", "Организация").to_owned())}
        {admin_page(data, move |detail, locale| org_view(detail, locale, assign, refund, adjust))}
    }
}

fn org_view(
    detail: OrgDetail,
    locale: Locale,
    assign: ServerAction<AssignOrgPlan>,
    refund: ServerAction<RefundPayment>,
    adjust: ServerAction<AdjustOrgBalance>,
) -> impl IntoView {
    let org = detail.organization;
    let org_id = org.id.clone();
    let subscription = detail.subscription.map(|s| {
        let name = plan_name(&s.plan, locale);
        let period = format!(
            "{} – {}",
            format::date(s.current_period_start, locale),
            format::date(s.current_period_end, locale)
        );
        view! {
            <div class="row-between">
                <h2 class="plan-title">{name}</h2>
                {status_badge(s.status, locale)}
            </div>
            <p>{period}</p>
        }
    });
    let members = org
        .members
        .iter()
        .map(|m| {
            view! {
                <li class="row-between" data-member=m.user_id.clone()>
                    <a href=format!("/admin/users/{}", m.user_id)>{m.email.clone()}</a>
                    <span class="muted">{role_label(m.role, locale)}</span>
                </li>
            }
        })
        .collect_view();
    let plans = detail.plans;
    let refundable = detail.refundable_minor;
    let refund_cell = super::users::refund_cell(refundable, refund, locale);
    let balance = detail.balance;
    let figure = format::money_micros(balance.balance_micros, balance.currency, locale);
    let ledger = crate::ui::portal::balance::ledger_table(&balance.entries, locale);
    let (assign_org, adjust_org) = (org_id.clone(), org_id.clone());
    view! {
        <p><a href="/admin/orgs">{t(locale, "← All organisations", "← Все организации")}</a></p>
        <h1 class="page-title">{org.name.clone()}</h1>
        <p class="muted">{format!("{} {}", t(locale, "created", "создана"), format::date(org.created_at, locale))}</p>
        <div class="grid-2">
            <section class="card" data-card="subscription">{subscription}</section>
            <section class="card" data-card="assign">
                <h2>{t(locale, "Assign or comp a plan", "Назначить тариф")}</h2>
                <ActionForm action=assign attr:class="row-form" attr:data-form="assign">
                    <input type="hidden" name="org_id" value=assign_org/>
                    <label for="assign-plan" class="visually-hidden">{t(locale, "Plan", "Тариф")}</label>
                    <select id="assign-plan" name="plan_id">
                        {plans.into_iter().map(|p| {
                            let label = format!("{} ({})", plan_name(&p, locale), p.id);
                            view! { <option value=p.id.clone()>{label}</option> }
                        }).collect_view()}
                    </select>
                    <button type="submit" class="button primary">{t(locale, "Assign", "Назначить")}</button>
                </ActionForm>
                {action_message(assign.value(), &[])}
            </section>
        </div>
        <div class="grid-2">
            <section class="card" data-card="members">
                <h2>{t(locale, "Members", "Участники")}</h2>
                <ul class="plain-list">{members}</ul>
            </section>
            <section class="card" data-card="balance">
                <p class="eyebrow">{t(locale, "Shared balance", "Общий баланс")}</p>
                <p class="big-figure" data-testid="admin-org-balance">{figure}</p>
                // Open when the adjustment was refused, so its messages show (also after a plain form post).
                <details class="confirm compact" data-form-wrap="adjust" open=move || matches!(adjust.value().get(), Some(Err(_)))>
                    <summary>{t(locale, "Credit or debit by hand", "Начислить или списать вручную")}</summary>
                    <ActionForm action=adjust attr:class="form" attr:data-form="adjust">
                        <input type="hidden" name="org_id" value=adjust_org/>
                        <label for="adjust-amount">{t(locale, "Amount", "Сумма")}</label>
                        <input id="adjust-amount" type="text" inputmode="decimal" name="amount" placeholder="50.00" required/>
                        {field_message(adjust.value(), "amount")}
                        <label for="adjust-reason">{t(locale, "Reason", "Причина")}</label>
                        <input id="adjust-reason" type="text" name="reason" maxlength="500" required/>
                        {field_message(adjust.value(), "reason")}
                        <button type="submit" class="button primary">{t(locale, "Apply", "Применить")}</button>
                    </ActionForm>
                    {action_message(adjust.value(), &["amount", "reason"])}
                </details>
                {ledger}
            </section>
        </div>
        {usage_by_member_card(detail.usage, locale)}
        <h2 class="section-title">{t(locale, "Usage this period", "Использование за период")}</h2>
        <div class="meter-grid">{detail.meters.iter().map(|m| quota_meter(m, locale)).collect_view()}</div>
        <section class="card">
            <h2>{t(locale, "Transactions", "Платежи")}</h2>
            {field_message(refund.value(), "amount")}
            {action_message(refund.value(), &["amount"])}
            {transactions_table(detail.transactions, locale, refund_cell)}
        </section>
    }
}
