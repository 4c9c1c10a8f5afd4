//! Subscribers and users: `/admin/plans/{id}/subscribers` and `/admin/users` (paginated,
//! searchable by email, filterable by status), and `/admin/users/{id}` with the subscription,
//! usage meters, transactions with refunds, and assigning or comping a plan.

use super::admin_page;
use crate::actions::admin::{
    AdjustBalance, AdminChangePlan, AdminPause, AssignPlan, RefundPayment, get_admin_user, get_admin_users,
    get_plan_subscribers,
};
use crate::model::admin::{SubscriberRow, UserDetail, UserSummary};
use crate::model::portal::Page;
use crate::model::{Plan, Role, SubscriptionStatus, Transaction};
use crate::ui::format;
use crate::ui::i18n::{Locale, t, use_locale};
use crate::ui::portal::overview::plan_name;
use crate::ui::portal::payments::transactions_table;
use crate::ui::widgets::{action_message, field_message, page_title, pager, quota_meter, status_badge};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

fn status_options(locale: Locale, selected: Option<String>) -> impl IntoView {
    let selected = selected.unwrap_or_default();
    view! {
        <option value="" selected=selected.is_empty()>{t(locale, "Any status", "Любой статус")}</option>
        {SubscriptionStatus::ALL
            .into_iter()
            .map(|s| {
                let label = match (locale, s) {
                    (Locale::En, s) => s.as_str().replace('_', " "),
                    (Locale::Ru, SubscriptionStatus::Active) => "активна".into(),
                    (Locale::Ru, SubscriptionStatus::Trialing) => "пробный период".into(),
                    (Locale::Ru, SubscriptionStatus::PastDue) => "просрочен платёж".into(),
                    (Locale::Ru, SubscriptionStatus::Canceled) => "отменена".into(),
                    (Locale::Ru, SubscriptionStatus::Paused) => "приостановлена".into(),
                };
                view! { <option value=s.as_str() selected=selected == s.as_str()>{label}</option> }
            })
            .collect_view()}
    }
}

fn query_param(name: &'static str) -> Memo<Option<String>> {
    let query = use_query_map();
    Memo::new(move |_| query.read().get(name).filter(|v| !v.is_empty()))
}

fn page_param() -> Memo<i64> {
    let query = use_query_map();
    Memo::new(move |_| query.read().get("page").and_then(|p| p.parse().ok()).unwrap_or(1i64).max(1))
}

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let locale = use_locale();
    let email = query_param("email");
    let status = query_param("status");
    let page = page_param();
    let data = Resource::new(
        move || (email.get(), status.get(), page.get()),
        |(email, status, page)| get_admin_users(email, status, page),
    );
    view! {
        {page_title(move || t(locale.get(), "Users", "Пользователи").to_owned())}
        {admin_page(data, move |users, locale| users_view(users, email.get_untracked(), status.get_untracked(), locale))}
    }
}

fn users_view(
    users: Page<UserSummary>,
    email: Option<String>,
    status: Option<String>,
    locale: Locale,
) -> impl IntoView {
    let pages = users.pages();
    view! {
        <h1 class="page-title">{t(locale, "Users", "Пользователи")}</h1>
        <form method="get" class="row-form filters" role="search">
            <label for="user-search" class="visually-hidden">{t(locale, "Email contains", "Почта содержит")}</label>
            <input id="user-search" type="search" name="email" value=email.clone().unwrap_or_default() placeholder=t(locale, "Search by email", "Поиск по почте")/>
            <label for="user-status" class="visually-hidden">{t(locale, "Status", "Статус")}</label>
            <select id="user-status" name="status">{status_options(locale, status.clone())}</select>
            <button type="submit" class="button">{t(locale, "Search", "Найти")}</button>
        </form>
        <section class="card">
            {if users.items.is_empty() {
                view! { <p class="muted">{t(locale, "No users match.", "Никого не найдено.")}</p> }.into_any()
            } else {
                view! {
                    <table class="table stack" data-table="users">
                        <thead>
                            <tr>
                                <th scope="col">{t(locale, "Email", "Почта")}</th>
                                <th scope="col">{t(locale, "Name", "Имя")}</th>
                                <th scope="col">{t(locale, "Plan", "Тариф")}</th>
                                <th scope="col">{t(locale, "Status", "Статус")}</th>
                                <th scope="col">{t(locale, "Signed up", "Регистрация")}</th>
                            </tr>
                        </thead>
                        <tbody>
                            {users.items.into_iter().map(|u| {
                                let status = u.status;
                                view! {
                                    <tr data-user-id=u.id.clone()>
                                        <td data-label=t(locale, "Email", "Почта")><a href=format!("/admin/users/{}", u.id)>{u.email.clone()}</a>
                                            {(u.role == Role::Admin).then(|| view! { " " <span class="badge badge-info">{t(locale, "admin", "админ")}</span> })}
                                        </td>
                                        <td data-label=t(locale, "Name", "Имя")>{u.name.clone()}</td>
                                        <td data-label=t(locale, "Plan", "Тариф")>{u.plan_name.clone().unwrap_or_else(|| "—".into())}</td>
                                        <td data-label=t(locale, "Status", "Статус")>{status.map(|s| status_badge(s, locale))}</td>
                                        <td data-label=t(locale, "Signed up", "Регистрация")>{format::date(u.created_at, locale)}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }
                .into_any()
            }}
            {pager(users.page, pages, users.total, &[("email", email.unwrap_or_default()), ("status", status.unwrap_or_default())], locale)}
        </section>
    }
}

#[component]
pub fn PlanSubscribersPage() -> impl IntoView {
    let locale = use_locale();
    let params = use_params_map();
    let plan_id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let status = query_param("status");
    let email = query_param("email");
    let page = page_param();
    let data = Resource::new(
        move || (plan_id.get(), status.get(), email.get(), page.get()),
        |(plan_id, status, email, page)| get_plan_subscribers(plan_id, status, email, page),
    );
    view! {
        {page_title(move || t(locale.get(), "Subscribers", "Подписчики").to_owned())}
        {admin_page(data, move |(plan, subscribers), locale| {
            subscribers_view(plan, subscribers, status.get_untracked(), email.get_untracked(), locale)
        })}
    }
}

fn subscribers_view(
    plan: Plan,
    subscribers: Page<SubscriberRow>,
    status: Option<String>,
    email: Option<String>,
    locale: Locale,
) -> impl IntoView {
    let pages = subscribers.pages();
    view! {
        <p><a href="/admin/plans">{t(locale, "← All plans", "← Все тарифы")}</a></p>
        <h1 class="page-title">{format!("{} · {}", plan_name(&plan, locale), t(locale, "subscribers", "подписчики"))}</h1>
        <form method="get" class="row-form filters" role="search">
            <label for="sub-search" class="visually-hidden">{t(locale, "Email contains", "Почта содержит")}</label>
            <input id="sub-search" type="search" name="email" value=email.clone().unwrap_or_default() placeholder=t(locale, "Search by email", "Поиск по почте")/>
            <label for="sub-status" class="visually-hidden">{t(locale, "Status", "Статус")}</label>
            <select id="sub-status" name="status">{status_options(locale, status.clone())}</select>
            <button type="submit" class="button">{t(locale, "Filter", "Показать")}</button>
        </form>
        <section class="card">
            {if subscribers.items.is_empty() {
                view! { <p class="muted">{t(locale, "No subscribers match.", "Подписчиков не найдено.")}</p> }.into_any()
            } else {
                view! {
                    <table class="table stack" data-table="subscribers">
                        <thead>
                            <tr>
                                <th scope="col">{t(locale, "Email", "Почта")}</th>
                                <th scope="col">{t(locale, "Status", "Статус")}</th>
                                <th scope="col">{t(locale, "Current period", "Текущий период")}</th>
                                <th scope="col">{t(locale, "Since", "С")}</th>
                            </tr>
                        </thead>
                        <tbody>
                            {subscribers.items.into_iter().map(|s| {
                                let status = Some(s.status);
                                view! {
                                    <tr data-subscription-id=s.subscription_id.clone()>
                                        <td data-label=t(locale, "Email", "Почта")><a href=format!("/admin/users/{}", s.user_id)>{s.email.clone()}</a></td>
                                        <td data-label=t(locale, "Status", "Статус")>
                                            {status.map(|st| status_badge(st, locale))}
                                            {s.cancel_at_period_end.then(|| view! { " " <span class="badge badge-warn">{t(locale, "cancels at period end", "отменится в конце периода")}</span> })}
                                        </td>
                                        <td data-label=t(locale, "Current period", "Текущий период")>
                                            {format!("{} – {}", format::date(s.current_period_start, locale), format::date(s.current_period_end, locale))}
                                        </td>
                                        <td data-label=t(locale, "Since", "С")>{format::date(s.created_at, locale)}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }
                .into_any()
            }}
            {pager(subscribers.page, pages, subscribers.total, &[("email", email.unwrap_or_default()), ("status", status.unwrap_or_default())], locale)}
        </section>
    }
}

#[component]
pub fn AdminUserPage() -> impl IntoView {
    let locale = use_locale();
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let assign = ServerAction::<AssignPlan>::new();
    let refund = ServerAction::<RefundPayment>::new();
    let adjust = ServerAction::<AdjustBalance>::new();
    let lifecycle = SubscriptionActions { pause: ServerAction::new(), change: ServerAction::new() };
    let data = Resource::new(
        move || {
            (
                id.get(),
                [assign.version().get(), refund.version().get(), adjust.version().get()],
                [lifecycle.pause.version().get(), lifecycle.change.version().get()],
            )
        },
        |(id, _, _)| get_admin_user(id),
    );
    view! {
        {page_title(move || t(locale.get(), "User", "Пользователь").to_owned())}
        {admin_page(data, move |detail, locale| user_view(detail, locale, assign, refund, adjust, lifecycle))}
    }
}

/// The admin's actions on a subscription: pause or resume, change the plan.
#[derive(Clone, Copy)]
struct SubscriptionActions {
    pause: ServerAction<AdminPause>,
    change: ServerAction<AdminChangePlan>,
}

fn user_view(
    detail: UserDetail,
    locale: Locale,
    assign: ServerAction<AssignPlan>,
    refund: ServerAction<RefundPayment>,
    adjust: ServerAction<AdjustBalance>,
    lifecycle: SubscriptionActions,
) -> impl IntoView {
    let user = detail.user;
    let user_id = user.id.clone();
    let balance_card = balance_card(detail.balance.clone(), user.id.clone(), locale, adjust);
    let all_plans = detail.plans.clone();
    let subscription = detail.subscription.map(|s| subscription_facts(s, &all_plans, locale, lifecycle));
    let plans = detail.plans;
    let refundable = detail.refundable_minor;
    let refund_cell = refund_cell(refundable, refund, locale);
    view! {
        <p><a href="/admin/users">{t(locale, "← All users", "← Все пользователи")}</a></p>
        <h1 class="page-title">{user.email.clone()}</h1>
        <p class="muted">{format!("{} · {} {}", user.name, t(locale, "signed up", "регистрация"), format::date(user.created_at, locale))}</p>
        <div class="grid-2">
            <section class="card" data-card="subscription">
                <p class="eyebrow">{t(locale, "Subscription", "Подписка")}</p>
                {match subscription {
                    Some(view) => view.into_any(),
                    None => view! { <p class="muted">{t(locale, "No live subscription.", "Нет действующей подписки.")}</p> }.into_any(),
                }}
            </section>
            <section class="card" data-card="assign">
                <h2>{t(locale, "Assign or comp a plan", "Назначить тариф")}</h2>
                <p class="muted small">{t(locale, "Starts now with a new period, without payment. Audited.", "Начинается сразу с нового периода, без оплаты. Записывается в журнал.")}</p>
                <ActionForm action=assign attr:class="row-form" attr:data-form="assign">
                    <input type="hidden" name="user_id" value=user_id/>
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
        {balance_card}
        {(!detail.organizations.is_empty()).then(|| view! {
            <section class="card" data-card="user-orgs">
                <h2>{t(locale, "Organisations", "Организации")}</h2>
                {super::orgs::orgs_table(detail.organizations.clone(), locale)}
            </section>
        })}
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

/// The subscription on the admin's user page: plan, status, period, a pending cancellation or
/// scheduled downgrade, when it was paused, and the pause/resume and change-plan forms.
fn subscription_facts(
    s: crate::model::Subscription,
    plans: &[Plan],
    locale: Locale,
    actions: SubscriptionActions,
) -> impl IntoView {
    let name = plan_name(&s.plan, locale);
    let period =
        format!("{} – {}", format::date(s.current_period_start, locale), format::date(s.current_period_end, locale));
    let pending = s.pending_plan_id.as_ref().zip(s.pending_change_at).map(|(id, at)| {
        let to = plans.iter().find(|p| &p.id == id).map(|p| plan_name(p, locale)).unwrap_or_else(|| id.clone());
        let text = match locale {
            Locale::En => format!("Switches to {to} on {}", format::date(at, locale)),
            Locale::Ru => format!("Переход на «{to}» {}", format::date(at, locale)),
        };
        view! { <p class="notice" data-testid="scheduled-change">{text}</p> }
    });
    let paused = s.paused_at.filter(|_| s.status == SubscriptionStatus::Paused).map(|at| {
        view! { <p class="notice warn" data-testid="paused">{format!("{} {}", t(locale, "Paused since", "Приостановлена с"), format::date(at, locale))}</p> }
    });
    let is_paused = s.status == SubscriptionStatus::Paused;
    let (pause, change) = (actions.pause, actions.change);
    let id = s.id.clone();
    let change_id = s.id.clone();
    let current = s.plan_id.clone();
    let options: Vec<(String, String)> = plans
        .iter()
        .filter(|p| p.id != current && p.is_active && p.currency == s.plan.currency)
        .map(|p| {
            (p.id.clone(), format!("{} ({})", plan_name(p, locale), format::money(p.price_minor, p.currency, locale)))
        })
        .collect();
    view! {
        <div class="row-between">
            <h2 class="plan-title">{name}</h2>
            {status_badge(s.status, locale)}
        </div>
        <p>{period}</p>
        {s.cancel_at_period_end.then(|| view! { <p class="notice warn">{format!("{} {}", t(locale, "Cancels on", "Отменится"), format::date(s.current_period_end, locale))}</p> })}
        {pending}
        {paused}
        <ActionForm action=pause attr:class="inline-form" attr:data-form=if is_paused { "admin-resume" } else { "admin-pause" }>
            <input type="hidden" name="subscription_id" value=id/>
            <input type="hidden" name="pause" value=(!is_paused).to_string()/>
            <button type="submit" class="button">{if is_paused { t(locale, "Resume (charges a new period)", "Возобновить (новый период оплачивается)") } else { t(locale, "Pause", "Приостановить") }}</button>
        </ActionForm>
        {action_message(pause.value(), &[])}
        {(!options.is_empty() && !is_paused).then(|| view! {
            <details class="confirm compact" data-form-wrap="admin-change">
                <summary>{t(locale, "Change plan", "Сменить тариф")}</summary>
                <ActionForm action=change attr:class="form" attr:data-form="admin-change">
                    <input type="hidden" name="subscription_id" value=change_id/>
                    <label for="change-plan">{t(locale, "New plan", "Новый тариф")}</label>
                    <select id="change-plan" name="plan_id">
                        {options.into_iter().map(|(id, label)| view! { <option value=id>{label}</option> }).collect_view()}
                    </select>
                    <label class="check check-wrap">
                        <input type="checkbox" name="prorate" value="true" checked/>
                        " " {t(locale, "Prorate: charge the difference on the saved card now (upgrade) or switch at period end (downgrade). Unchecked: switch now, no charge.", "С перерасчётом: доплата с сохранённой карты сейчас (повышение) или переход в конце периода (понижение). Без отметки: переход сейчас, без оплаты.")}
                    </label>
                    <button type="submit" class="button primary">{t(locale, "Change plan", "Сменить тариф")}</button>
                </ActionForm>
            </details>
        })}
        {action_message(change.value(), &[])}
    }
}

/// The refund form of a transaction row on the admin's user and organisation pages: what is left
/// to refund (by transaction id, minor units) and a partial or full refund behind a `details`.
pub fn refund_cell(
    refundable: std::collections::BTreeMap<String, i64>,
    refund: ServerAction<RefundPayment>,
    locale: Locale,
) -> impl Fn(&Transaction) -> AnyView + Clone + Send + Sync + 'static {
    move |tx: &Transaction| -> AnyView {
        let Some(left) = refundable.get(&tx.id) else {
            return ().into_any();
        };
        let left = format::money(*left, tx.currency, locale);
        let id = tx.id.clone();
        view! {
            <details class="confirm danger-zone compact" data-refund=tx.id.clone()>
                <summary>{t(locale, "Refund", "Возврат")}</summary>
                <p>{format!("{} {left}. {}", t(locale, "Up to", "До"), t(locale, "Leave the amount empty to refund all of it.", "Оставьте сумму пустой, чтобы вернуть всё."))}</p>
                <ActionForm action=refund attr:class="row-form" attr:data-form="refund">
                    <input type="hidden" name="transaction_id" value=id/>
                    <input type="text" inputmode="decimal" name="amount" placeholder="300.00" aria-label=t(locale, "Amount to refund", "Сумма возврата")/>
                    <button type="submit" class="button small danger">{t(locale, "Refund", "Вернуть")}</button>
                </ActionForm>
            </details>
        }
        .into_any()
    }
}

/// The user's balance, its ledger and the manual credit or debit form.
fn balance_card(
    balance: crate::model::Balance,
    user_id: String,
    locale: Locale,
    adjust: ServerAction<AdjustBalance>,
) -> impl IntoView {
    let owed_text = format::money_micros(balance.owed_micros, balance.currency, locale);
    let owed = (balance.owed_micros > 0).then(|| {
        view! {
            <p class="owed">{t(locale, "Owed for usage", "Задолженность за использование")} ": "
                <strong>{owed_text}</strong></p>
        }
    });
    let figure = format::money_micros(balance.balance_micros, balance.currency, locale);
    let micros = balance.balance_micros.to_string();
    let ledger = crate::ui::portal::balance::ledger_table(&balance.entries, locale);
    view! {
        <section class="card" data-card="balance">
            <p class="eyebrow">{t(locale, "Balance", "Баланс")}</p>
            <p class="big-figure" data-testid="admin-balance" data-balance-micros=micros>{figure}</p>
            {owed}
            // Open when the adjustment was refused, so its messages show (also after a plain form post).
            <details class="confirm compact" data-form-wrap="adjust" open=move || matches!(adjust.value().get(), Some(Err(_)))>
                <summary>{t(locale, "Credit or debit by hand", "Начислить или списать вручную")}</summary>
                <p class="muted small">{t(locale, "A negative amount debits. Never below zero. Recorded in the ledger and the audit log with the reason.", "Отрицательная сумма списывает. Баланс не уходит ниже нуля. Записывается в историю и журнал с причиной.")}</p>
                <ActionForm action=adjust attr:class="form" attr:data-form="adjust">
                    <input type="hidden" name="user_id" value=user_id/>
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
    }
}
