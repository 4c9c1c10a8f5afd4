//! `/billing`: the plan, its status and period, renewal or "cancels on", and cancellation (at
//! period end or now, each confirmed) or undoing a pending cancellation.

use super::{PortalNav, loading};
use crate::actions::portal::{CancelSubscription, ResumeSubscription, get_billing_overview};
use crate::model::portal::BillingOverview;
use crate::model::{CancelOptions, Metric, Plan, Subscription, SubscriptionStatus};
use crate::ui::format;
use crate::ui::i18n::{Locale, t, use_locale};
use crate::ui::widgets::{ErrorPanel, action_message, page_title, payment_badge, status_badge};
use leptos::prelude::*;

/// The plan's name in the viewer's language.
pub fn plan_name(plan: &Plan, locale: Locale) -> String {
    match locale {
        Locale::Ru => plan.name_ru.clone().unwrap_or_else(|| plan.name.clone()),
        Locale::En => plan.name.clone(),
    }
}

#[component]
pub fn BillingPage() -> impl IntoView {
    let locale = use_locale();
    let cancel = ServerAction::<CancelSubscription>::new();
    let resume = ServerAction::<ResumeSubscription>::new();
    let data = Resource::new(move || (cancel.version().get(), resume.version().get()), |_| get_billing_overview());
    let orgs = super::orgs::OrgsOnBilling::new();
    view! {
        {page_title(move || t(locale.get(), "Billing", "Оплата").to_owned())}
        <PortalNav/>
        <h1 class="page-title">{move || t(locale.get(), "Billing overview", "Обзор оплаты")}</h1>
        {orgs.invitations()}
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                let locale = locale.get();
                match data.await {
                    Ok(overview) => overview_view(overview, locale, cancel, resume).into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
        {orgs.organizations()}
    }
}

fn overview_view(
    overview: BillingOverview,
    locale: Locale,
    cancel: ServerAction<CancelSubscription>,
    resume: ServerAction<ResumeSubscription>,
) -> impl IntoView {
    let options = overview.cancel;
    let subscription_card = match overview.subscription {
        Some(subscription) => subscription_card(subscription, options, locale, cancel, resume).into_any(),
        None => view! {
            <section class="card" data-card="subscription">
                <h2>{t(locale, "No plan yet", "Тариф не выбран")}</h2>
                <p>{t(locale, "Choose a plan to start using the service.", "Выберите тариф, чтобы начать пользоваться сервисом.")}</p>
                <a class="button primary" href="/billing/plans">{t(locale, "See plans", "Посмотреть тарифы")}</a>
            </section>
        }
        .into_any(),
    };
    let payments = overview.recent_transactions;
    view! {
        <div class="grid-2">
            {subscription_card}
            <section class="card" data-card="recent-payments">
                <h2>{t(locale, "Recent payments", "Последние платежи")}</h2>
                {if payments.is_empty() {
                    view! { <p class="muted">{t(locale, "No payments yet.", "Платежей пока не было.")}</p> }.into_any()
                } else {
                    view! {
                        <ul class="plain-list">
                            {payments
                                .into_iter()
                                .map(|tx| {
                                    let description = match locale {
                                        Locale::Ru => tx.description_ru.clone().or(tx.description.clone()),
                                        Locale::En => tx.description.clone(),
                                    }
                                    .unwrap_or_default();
                                    view! {
                                        <li class="row-between">
                                            <span>
                                                <span class="muted small">{format::date(tx.created_at, locale)}</span>
                                                " "
                                                {description}
                                            </span>
                                            <span class="nowrap">
                                                {format::money(tx.amount, tx.currency, locale)} " " {payment_badge(&tx, locale)}
                                            </span>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                        <a href="/billing/transactions">{t(locale, "All payments", "Все платежи")}</a>
                    }
                    .into_any()
                }}
            </section>
        </div>
    }
}

fn subscription_card(
    subscription: Subscription,
    options: CancelOptions,
    locale: Locale,
    cancel: ServerAction<CancelSubscription>,
    resume: ServerAction<ResumeSubscription>,
) -> impl IntoView {
    let plan = subscription.plan.clone();
    let name = plan_name(&plan, locale);
    let price = format!(
        "{} / {}",
        format::money(plan.price_minor, plan.currency, locale),
        format::per_interval(plan.interval, locale)
    );
    let quotas: Vec<String> = match &plan.quotas {
        Some(quotas) => quotas.iter().map(|(metric, limit)| format::quota(*metric, *limit, locale)).collect(),
        None => Metric::ALL.iter().map(|metric| format::quota(*metric, None, locale)).collect(),
    };
    let end = format::date(subscription.current_period_end, locale);
    let period = format!("{} – {}", format::date(subscription.current_period_start, locale), end);
    let pending_cancel = options.resume;
    let next_line = if pending_cancel {
        view! { <p class="notice warn" data-testid="cancels-on">{format!("{} {end}", t(locale, "Cancels on", "Отменится"))}</p> }.into_any()
    } else if subscription.status == SubscriptionStatus::Trialing {
        let trial_end = subscription.trial_end.map(|e| format::date(e, locale)).unwrap_or_else(|| end.clone());
        view! { <p data-testid="trial-ends">{format!("{} {trial_end}", t(locale, "Trial ends on", "Пробный период до"))}</p> }.into_any()
    } else if plan.is_free() {
        view! { <p data-testid="renews-on">{format!("{} {end}", t(locale, "Quotas reset on", "Квоты обновятся"))}</p> }
            .into_any()
    } else if subscription.status == SubscriptionStatus::PastDue {
        view! { <p class="notice warn" data-testid="past-due">{t(locale, "The last renewal payment failed. We will retry the saved card; pay again on the Plans page to keep access.", "Последний платёж за продление не прошёл. Мы повторим списание с сохранённой карты; чтобы сохранить доступ, оплатите тариф на странице «Тарифы».")}</p> }.into_any()
    } else {
        view! { <p data-testid="renews-on">{format!("{} {end}", t(locale, "Renews on", "Продлится"))}</p> }.into_any()
    };
    let fallback_name = options
        .fallback_plan
        .as_ref()
        .map(|p| plan_name(p, locale))
        .unwrap_or_else(|| t(locale, "no plan", "без тарифа").to_owned());
    let at_end_text = match locale {
        Locale::En => format!("Your {name} plan stays active until {end}, then you move to {fallback_name}."),
        Locale::Ru => format!("Тариф «{name}» будет действовать до {end}, затем вы перейдёте на «{fallback_name}»."),
    };
    let now_text = match locale {
        Locale::En => format!(
            "Your {name} plan ends now and you move to {fallback_name}. The rest of the paid period is not refunded."
        ),
        Locale::Ru => format!(
            "Тариф «{name}» закончится сейчас, и вы перейдёте на «{fallback_name}». Остаток оплаченного периода не возвращается."
        ),
    };
    let (at_end_allowed, now_allowed) = (options.at_period_end, options.immediately);
    let status = subscription.status;
    view! {
        <section class="card" data-card="subscription" data-plan-id=plan.id.clone()>
            <p class="eyebrow">{t(locale, "Current plan", "Текущий тариф")}</p>
            <div class="row-between">
                <h2 class="plan-title">{name}</h2>
                {status_badge(status, locale)}
            </div>
            <p class="big-figure">{price}</p>
            <dl class="facts">
                <dt>{t(locale, "Current period", "Текущий период")}</dt>
                <dd>{period}</dd>
            </dl>
            {next_line}
            <h3 class="plan-section">{format::included_per(plan.interval, locale)}</h3>
            <ul class="quota-list" data-testid="included-quotas">
                {quotas.into_iter().map(|q| view! { <li>{q}</li> }).collect_view()}
            </ul>
            <div class="actions">
                <a class="button primary" href="/billing/plans">{t(locale, "Change plan", "Сменить тариф")}</a>
                <a class="button" href="/billing/usage">{t(locale, "See usage", "Использование")}</a>
            </div>
            {pending_cancel.then(|| view! {
                <ActionForm action=resume attr:class="inline-form" attr:data-form="resume">
                    <button type="submit" class="button" disabled=move || resume.pending().get()>
                        {t(locale, "Keep my plan", "Не отменять")}
                    </button>
                </ActionForm>
                {action_message(resume.value(), &[])}
            })}
            {at_end_allowed.then(|| cancel_choice(cancel, false, at_end_text, locale))}
            {now_allowed.then(|| cancel_choice(cancel, true, now_text, locale))}
            {(at_end_allowed || now_allowed).then(|| action_message(cancel.value(), &[]))}
        </section>
    }
}

/// One way of cancelling, behind a confirmation that says what will happen (`explanation`).
fn cancel_choice(
    cancel: ServerAction<CancelSubscription>,
    immediate: bool,
    explanation: String,
    locale: Locale,
) -> impl IntoView {
    let (key, summary, confirm) = if immediate {
        ("cancel-now", t(locale, "Cancel now", "Отменить сейчас"), t(locale, "Yes, cancel now", "Да, отменить сейчас"))
    } else {
        (
            "cancel-at-period-end",
            t(locale, "Cancel at period end", "Отменить в конце периода"),
            t(locale, "Yes, cancel at period end", "Да, отменить в конце периода"),
        )
    };
    view! {
        <details class="danger-zone" data-confirm=key>
            <summary>{summary}</summary>
            <p>{explanation}</p>
            <ActionForm action=cancel attr:class="inline-form" attr:data-form=key>
                <input type="hidden" name="immediate" value=immediate.to_string()/>
                <button type="submit" class="button danger" disabled=move || cancel.pending().get()>
                    {confirm}
                </button>
            </ActionForm>
        </details>
    }
}
