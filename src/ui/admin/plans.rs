//! `/admin/plans`: every plan with subscriber counts and MRR; toggle, duplicate and delete, each
//! confirmed. `/admin/plans/new` and `/admin/plans/{id}/edit`: the plan editor, validated by the
//! service (the refusal to lower a quota of a plan with subscribers shows next to that quota) and
//! confirming price changes.

use super::admin_page;
use crate::actions::admin::{DeletePlan, DuplicatePlan, SavePlan, TogglePlan, get_admin_plans, get_plan_for_edit};
use crate::model::admin::PlanWithStats;
use crate::model::{Currency, Interval, Metric, Plan};
use crate::ui::format;
use crate::ui::i18n::{Locale, t, use_locale};
use crate::ui::portal::overview::plan_name;
use crate::ui::widgets::{action_message, field_message, metric_label, page_title};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn AdminPlansPage() -> impl IntoView {
    let locale = use_locale();
    let toggle = ServerAction::<TogglePlan>::new();
    let duplicate = ServerAction::<DuplicatePlan>::new();
    let delete = ServerAction::<DeletePlan>::new();
    let data = Resource::new(
        move || (toggle.version().get(), duplicate.version().get(), delete.version().get()),
        |_| get_admin_plans(),
    );
    // After a plain form post (no JavaScript) the list comes back with `?copied=<id>`.
    let query = use_query_map();
    let copied = Memo::new(move |_| query.with(|q| q.get("copied")));
    view! {
        {page_title(move || t(locale.get(), "Plans", "Тарифы").to_owned())}
        {admin_page(data, move |plans, locale| plans_view(plans, locale, toggle, (duplicate, copied), delete))}
    }
}

fn plans_view(
    plans: Vec<PlanWithStats>,
    locale: Locale,
    toggle: ServerAction<TogglePlan>,
    (duplicate, copied): (ServerAction<DuplicatePlan>, Memo<Option<String>>),
    delete: ServerAction<DeletePlan>,
) -> impl IntoView {
    let listed: Vec<String> = plans.iter().map(|p| p.plan.id.clone()).collect();
    let duplicated = move || {
        let answered = duplicate.value().get();
        // The query names a copy only when it is one of the listed plans.
        let by_post = answered.is_none().then(|| copied.get().filter(|id| listed.contains(id))).flatten();
        answered.and_then(|r| r.ok()).or(by_post).map(|id| {
            view! {
                <p class="notice" role="status">
                    {format!("{} {id} ", t(locale, "Inactive copy created:", "Создана неактивная копия:"))}
                    <a href=format!("/admin/plans/{id}/edit")>{t(locale, "edit it", "изменить")}</a>
                </p>
            }
        })
    };
    view! {
        <div class="row-between">
            <h1 class="page-title">{t(locale, "Plans", "Тарифы")}</h1>
            <a class="button primary" href="/admin/plans/new">{t(locale, "New plan", "Новый тариф")}</a>
        </div>
        {duplicated}
        {action_message(toggle.value(), &[])}
        {action_message(duplicate.value(), &[])}
        {action_message(delete.value(), &[])}
        <section class="card">
            <table class="table stack" data-table="plans">
                <thead>
                    <tr>
                        <th scope="col">{t(locale, "Plan", "Тариф")}</th>
                        <th scope="col" class="num">{t(locale, "Price", "Цена")}</th>
                        <th scope="col">{t(locale, "Status", "Статус")}</th>
                        <th scope="col" class="num">{t(locale, "Subscribers", "Подписки")}</th>
                        <th scope="col" class="num">"MRR"</th>
                        <th scope="col">{t(locale, "Actions", "Действия")}</th>
                    </tr>
                </thead>
                <tbody>
                    {plans.into_iter().map(|p| plan_row(p, locale, toggle, duplicate, delete)).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

fn plan_row(
    stats: PlanWithStats,
    locale: Locale,
    toggle: ServerAction<TogglePlan>,
    duplicate: ServerAction<DuplicatePlan>,
    delete: ServerAction<DeletePlan>,
) -> impl IntoView {
    let plan = stats.plan;
    let id = plan.id.clone();
    let live = stats.active_subscriptions + stats.trialing_subscriptions + stats.past_due_subscriptions;
    let counts = match locale {
        Locale::En => format!(
            "{} active · {} trialing · {} past due",
            stats.active_subscriptions, stats.trialing_subscriptions, stats.past_due_subscriptions
        ),
        Locale::Ru => format!(
            "{} активн. · {} пробн. · {} просроч.",
            stats.active_subscriptions, stats.trialing_subscriptions, stats.past_due_subscriptions
        ),
    };
    let price = format!(
        "{} / {}",
        format::money(plan.price_minor, plan.currency, locale),
        format::per_interval(plan.interval, locale)
    );
    let toggle_label = if plan.is_active {
        t(locale, "Deactivate", "Отключить")
    } else {
        t(locale, "Activate", "Включить")
    };
    let toggle_text = if plan.is_active {
        t(
            locale,
            "The plan disappears from the pricing page; current subscribers keep it.",
            "Тариф исчезнет со страницы тарифов; текущие подписчики его сохранят.",
        )
    } else {
        t(
            locale,
            "The plan appears on the pricing page and can be bought.",
            "Тариф появится на странице тарифов, его можно будет купить.",
        )
    };
    let delete_text = if stats.total_subscriptions > 0 {
        match locale {
            Locale::En => format!(
                "This plan has {} subscription(s), so it cannot be deleted. Deactivate it instead.",
                stats.total_subscriptions
            ),
            Locale::Ru => {
                format!("У тарифа есть подписки ({}), удалить его нельзя. Отключите его.", stats.total_subscriptions)
            }
        }
    } else {
        t(
            locale,
            "The plan is removed for good. This cannot be undone.",
            "Тариф будет удалён навсегда. Это нельзя отменить.",
        )
        .to_owned()
    };
    let (id1, id2, id3) = (id.clone(), id.clone(), id.clone());
    view! {
        <tr data-plan-id=id.clone()>
            <td data-label=t(locale, "Plan", "Тариф")>
                <strong>{plan_name(&plan, locale)}</strong>
                <br/>
                <code class="muted small">{id.clone()}</code>
            </td>
            <td data-label=t(locale, "Price", "Цена") class="num">{price}</td>
            <td data-label=t(locale, "Status", "Статус")>
                {if plan.is_active {
                    view! { <span class="badge badge-ok" data-active="true">{t(locale, "active", "включён")}</span> }.into_any()
                } else {
                    view! { <span class="badge badge-muted" data-active="false">{t(locale, "inactive", "отключён")}</span> }.into_any()
                }}
            </td>
            <td data-label=t(locale, "Subscribers", "Подписки") class="num">
                <a href=format!("/admin/plans/{id}/subscribers")>{live.to_string()}</a>
                <br/>
                <span class="muted small">{counts}</span>
            </td>
            <td data-label="MRR" class="num" data-mrr-minor=stats.mrr_minor.to_string()>{format::money(stats.mrr_minor, plan.currency, locale)}</td>
            <td data-label=t(locale, "Actions", "Действия")>
                <div class="row-actions">
                <a class="button small" href=format!("/admin/plans/{id}/edit")>{t(locale, "Edit", "Изменить")}</a>
                <details class="confirm">
                    <summary>{toggle_label}</summary>
                    <p>{toggle_text}</p>
                    <ActionForm action=toggle attr:class="inline-form" attr:data-form="toggle-plan">
                        <input type="hidden" name="id" value=id1/>
                        <button type="submit" class="button small">{format!("{} {}", t(locale, "Yes,", "Да,"), toggle_label.to_lowercase())}</button>
                    </ActionForm>
                </details>
                <details class="confirm">
                    <summary>{t(locale, "Duplicate", "Копировать")}</summary>
                    <p>{t(locale, "An inactive copy with a new id is created; edit it before activating.", "Будет создана неактивная копия с новым идентификатором; измените её перед включением.")}</p>
                    <ActionForm action=duplicate attr:class="inline-form" attr:data-form="duplicate-plan">
                        <input type="hidden" name="id" value=id2/>
                        <button type="submit" class="button small">{t(locale, "Yes, duplicate", "Да, копировать")}</button>
                    </ActionForm>
                </details>
                <details class="confirm danger-zone compact">
                    <summary>{t(locale, "Delete", "Удалить")}</summary>
                    <p>{delete_text}</p>
                    <ActionForm action=delete attr:class="inline-form" attr:data-form="delete-plan">
                        <input type="hidden" name="id" value=id3/>
                        <button type="submit" class="button small danger">{t(locale, "Yes, delete", "Да, удалить")}</button>
                    </ActionForm>
                </details>
                </div>
            </td>
        </tr>
    }
}

/// The form field naming `metric`'s quota, its "unlimited" box and its overage price; the names
/// of the first double as the service's validation field (`quotas.<metric>`).
pub fn metric_fields(metric: Metric) -> (&'static str, &'static str, &'static str) {
    match metric {
        Metric::TokensInput => ("quotas.tokens_input", "unlimited.tokens_input", "overage.tokens_input"),
        Metric::TokensOutput => ("quotas.tokens_output", "unlimited.tokens_output", "overage.tokens_output"),
        Metric::Requests => ("quotas.requests", "unlimited.requests", "overage.requests"),
        Metric::Images => ("quotas.images", "unlimited.images", "overage.images"),
        Metric::AudioMinutes => ("quotas.audio_minutes", "unlimited.audio_minutes", "overage.audio_minutes"),
    }
}

#[component]
pub fn PlanEditorPage() -> impl IntoView {
    let locale = use_locale();
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id"));
    let save = ServerAction::<SavePlan>::new();
    let data = Resource::new(move || id.get(), get_plan_for_edit);
    view! {
        {page_title(move || {
            if id.get().is_some() { t(locale.get(), "Edit plan", "Изменить тариф") } else { t(locale.get(), "New plan", "Новый тариф") }
                .to_owned()
        })}
        {admin_page(data, move |stats, locale| editor_view(stats, locale, save))}
    }
}

fn editor_view(stats: Option<PlanWithStats>, locale: Locale, save: ServerAction<SavePlan>) -> impl IntoView {
    let editing = stats.is_some();
    let subscribers = stats
        .as_ref()
        .map(|s| s.active_subscriptions + s.trialing_subscriptions + s.past_due_subscriptions)
        .unwrap_or(0);
    let plan: Plan = stats.map(|s| s.plan).unwrap_or_else(|| Plan {
        // A new plan starts with every quota at 0 so the editor asks for each one.
        quotas: Some(Metric::ALL.iter().map(|m| (*m, Some(0))).collect()),
        ..Plan::blank(0)
    });
    let value = save.value();
    let text =
        move |label_en: &'static str, label_ru: &'static str, name: &'static str, current: String, required: bool| {
            let input_id = format!("plan-{}", name.replace('.', "-"));
            view! {
                <div class="field">
                    <label for=input_id.clone()>{t(locale, label_en, label_ru)}</label>
                    <input id=input_id type="text" name=format!("fields[{name}]") value=current required=required/>
                    {field_message(value, name)}
                </div>
            }
        };
    let area = move |label_en: &'static str,
                     label_ru: &'static str,
                     name: &'static str,
                     current: String,
                     hint: &'static str| {
        let input_id = format!("plan-{name}");
        view! {
            <div class="field wide">
                <label for=input_id.clone()>{t(locale, label_en, label_ru)}</label>
                <textarea id=input_id name=format!("fields[{name}]")>{current}</textarea>
                {(!hint.is_empty()).then(|| view! { <p class="hint">{hint}</p> })}
                {field_message(value, name)}
            </div>
        }
    };
    let price = crate::model::money::yookassa_amount(plan.price_minor);
    let quota_rows = Metric::ALL
        .into_iter()
        .map(|metric| {
            let (quota_field, unlimited_field, overage_field) = metric_fields(metric);
            let limit = plan.quota(metric);
            let unlimited = limit.is_none();
            let overage = plan.overage.as_ref().and_then(|o| o.get(&metric)).map(|p| p.to_string()).unwrap_or_default();
            view! {
                <tr data-metric=metric.as_str()>
                    <th scope="row">{metric_label(metric, locale)}</th>
                    <td>
                        <input
                            type="number"
                            min="0"
                            step="1"
                            name=format!("fields[{quota_field}]")
                            value=limit.map(|l| l.to_string()).unwrap_or_default()
                            aria-label=format!("{} — {}", metric_label(metric, locale), t(locale, "quota", "квота"))
                        />
                        {field_message(value, quota_field)}
                    </td>
                    <td>
                        <label class="check">
                            <input type="checkbox" name=format!("fields[{unlimited_field}]") value="true" checked=unlimited/>
                            {t(locale, "unlimited", "без ограничений")}
                        </label>
                    </td>
                    <td>
                        <input
                            type="number"
                            min="0"
                            step="1"
                            name=format!("fields[{overage_field}]")
                            value=overage
                            placeholder=t(locale, "overage: none", "сверх квоты: нет")
                            aria-label=format!("{} — {}", metric_label(metric, locale), t(locale, "overage price", "цена сверх квоты"))
                        />
                        {field_message(value, overage_field)}
                    </td>
                </tr>
            }
        })
        .collect_view();
    let title = if editing {
        format!("{} {}", t(locale, "Edit plan", "Изменить тариф"), plan_name(&plan, locale))
    } else {
        t(locale, "New plan", "Новый тариф").to_owned()
    };
    view! {
        <h1 class="page-title">{title}</h1>
        {(editing && subscribers > 0).then(|| view! {
            <p class="notice warn">
                {match locale {
                    Locale::En => format!("{subscribers} subscriber(s) are on this plan: quotas can be raised but not lowered, and a new price applies from their next renewal."),
                    Locale::Ru => format!("На этом тарифе подписок: {subscribers}. Квоты можно увеличить, но не уменьшить; новая цена действует со следующего продления."),
                }}
            </p>
        })}
        <ActionForm action=save attr:class="form plan-form" attr:data-form="plan-editor">
            <input type="hidden" name="id" value=plan.id.clone()/>
            <fieldset class="form-grid">
                <legend>{t(locale, "Names and descriptions", "Названия и описания")}</legend>
                {(!editing).then(|| text("Id (optional; made from the name)", "Идентификатор (необязательно; из названия)", "new_id", String::new(), false))}
                {text("Name (English)", "Название (англ.)", "name", plan.name.clone(), true)}
                {text("Name (Russian)", "Название (рус.)", "name_ru", plan.name_ru.clone().unwrap_or_default(), false)}
                {area("Description (English)", "Описание (англ.)", "description", plan.description.clone().unwrap_or_default(), "")}
                {area("Description (Russian)", "Описание (рус.)", "description_ru", plan.description_ru.clone().unwrap_or_default(), "")}
            </fieldset>
            <fieldset class="form-grid">
                <legend>{t(locale, "Price and period", "Цена и период")}</legend>
                <div class="field">
                    <label for="plan-price">{t(locale, "Price", "Цена")}</label>
                    <input id="plan-price" type="text" inputmode="decimal" name="fields[price]" value=price required/>
                    {field_message(value, "price")}
                    {editing.then(|| view! {
                        <label class="check">
                            <input type="checkbox" name="fields[confirm_price]" value="true"/>
                            {t(locale, "Confirm the new price", "Подтверждаю новую цену")}
                        </label>
                    })}
                </div>
                <div class="field">
                    <label for="plan-currency">{t(locale, "Currency", "Валюта")}</label>
                    <select id="plan-currency" name="fields[currency]">
                        {[Currency::Rub, Currency::Usd, Currency::Eur]
                            .into_iter()
                            .map(|c| view! { <option value=c.code() selected=plan.currency == c>{c.code()}</option> })
                            .collect_view()}
                    </select>
                    {field_message(value, "currency")}
                </div>
                <div class="field">
                    <label for="plan-interval">{t(locale, "Billing period", "Период оплаты")}</label>
                    <select id="plan-interval" name="fields[interval]">
                        {Interval::ALL
                            .into_iter()
                            .map(|i| view! { <option value=i.as_str() selected=plan.interval == i>{format::per_interval(i, locale)}</option> })
                            .collect_view()}
                    </select>
                    {field_message(value, "interval")}
                </div>
                {text("Trial days", "Дней пробного периода", "trial_days", plan.trial_days.to_string(), false)}
            </fieldset>
            <fieldset>
                <legend>{t(locale, "Quotas per period and pay-as-you-go prices", "Квоты на период и цены сверх квоты")}</legend>
                <table class="table quota-table">
                    <thead>
                        <tr>
                            <th scope="col">{t(locale, "Metric", "Метрика")}</th>
                            <th scope="col">{t(locale, "Quota", "Квота")}</th>
                            <th scope="col">{t(locale, "Unlimited", "Без ограничений")}</th>
                            <th scope="col">{t(locale, "Overage, minor units per unit", "Сверх квоты, копеек за единицу")}</th>
                        </tr>
                    </thead>
                    <tbody>{quota_rows}</tbody>
                </table>
            </fieldset>
            <fieldset class="form-grid">
                <legend>{t(locale, "Pay-as-you-go features", "Оплата функций сверх тарифа")}</legend>
                {area(
                    "Included feature units per period (name: units, one per line)",
                    "Включено единиц функций за период (имя: единицы, по одной в строке)",
                    "feature_limits",
                    plan.feature_limits.as_ref().map(|l| l.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("\n")).unwrap_or_default(),
                    "gpt-4o: 1000000",
                )}
                {text("Discount on pay-as-you-go prices, %", "Скидка на оплату сверх тарифа, %", "discount_percent", plan.discount_percent.to_string(), false)}
            </fieldset>
            <fieldset class="form-grid">
                <legend>{t(locale, "Catalogue", "Каталог")}</legend>
                {area("Features (one per line)", "Функции (по одной в строке)", "features", plan.features.join("\n"), "gpt4_access, claude_access, priority_support, …")}
                {text("Display order", "Порядок показа", "display_order", plan.display_order.to_string(), false)}
                <div class="field">
                    <label class="check">
                        <input type="checkbox" name="fields[is_active]" value="true" checked=plan.is_active/>
                        {t(locale, "Active (shown and for sale)", "Включён (виден и продаётся)")}
                    </label>
                </div>
                {area(
                    "Extra metadata (JSON object)",
                    "Дополнительные данные (JSON-объект)",
                    "plan_extra_metadata",
                    plan.plan_extra_metadata.as_ref().map(|m| serde_json::to_string_pretty(m).unwrap_or_default()).unwrap_or_default(),
                    "",
                )}
            </fieldset>
            {action_message(value, &[
                "name", "name_ru", "description", "description_ru", "price", "currency", "interval", "trial_days",
                "display_order", "features", "plan_extra_metadata", "new_id", "feature_limits", "discount_percent",
                "quotas.tokens_input", "quotas.tokens_output", "quotas.requests", "quotas.images", "quotas.audio_minutes",
                "overage.tokens_input", "overage.tokens_output", "overage.requests", "overage.images", "overage.audio_minutes",
            ])}
            <div class="actions">
                <button type="submit" class="button primary" data-pending=t(locale, "Saving…", "Сохраняем…")>
                    {t(locale, "Save plan", "Сохранить тариф")}
                </button>
                <a class="button" href="/admin/plans">{t(locale, "Cancel", "Отмена")}</a>
            </div>
        </ActionForm>
    }
}
