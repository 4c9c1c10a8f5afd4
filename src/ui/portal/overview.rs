//! `/billing`: the plan, its status and period, renewal or "cancels on", and cancellation (at
//! period end or now, each confirmed) or undoing a pending cancellation.

use super::{PortalNav, loading};
use crate::actions::portal::{
    AddCard, CancelPlanChange, CancelSubscription, PauseSubscription, ResumeSubscription, get_billing_overview,
};
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
    let actions = LifecycleActions::new();
    let data = Resource::new(move || actions.version(), |_| get_billing_overview());
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
                    Ok(overview) => overview_view(overview, locale, actions).into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
        {orgs.organizations()}
    }
}

/// What the overview's subscription card can do: cancel or keep the plan, withdraw a scheduled
/// downgrade, pause or resume, add a card to a trial.
#[derive(Clone, Copy)]
struct LifecycleActions {
    cancel: ServerAction<CancelSubscription>,
    resume: ServerAction<ResumeSubscription>,
    cancel_change: ServerAction<CancelPlanChange>,
    pause: ServerAction<PauseSubscription>,
    add_card: ServerAction<AddCard>,
}

impl LifecycleActions {
    fn new() -> Self {
        LifecycleActions {
            cancel: ServerAction::new(),
            resume: ServerAction::new(),
            cancel_change: ServerAction::new(),
            pause: ServerAction::new(),
            add_card: ServerAction::new(),
        }
    }

    fn version(&self) -> [usize; 4] {
        [
            self.cancel.version().get(),
            self.resume.version().get(),
            self.cancel_change.version().get(),
            self.pause.version().get(),
        ]
    }
}

fn overview_view(overview: BillingOverview, locale: Locale, actions: LifecycleActions) -> impl IntoView {
    let options = overview.cancel;
    let extras = CardExtras {
        pending_plan: overview.pending_plan,
        card_saved: overview.card_saved,
        can_pause: overview.can_pause,
    };
    let subscription_card = match overview.subscription {
        Some(subscription) => subscription_card(subscription, options, extras, locale, actions).into_any(),
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

/// The overview's facts beyond the subscription itself.
struct CardExtras {
    pending_plan: Option<Plan>,
    card_saved: bool,
    can_pause: bool,
}

fn subscription_card(
    subscription: Subscription,
    options: CancelOptions,
    extras: CardExtras,
    locale: Locale,
    actions: LifecycleActions,
) -> impl IntoView {
    let (cancel, resume) = (actions.cancel, actions.resume);
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
    let next_line = if subscription.status == SubscriptionStatus::Paused {
        let since = subscription.paused_at.map(|at| format::date(at, locale)).unwrap_or_default();
        let pause = actions.pause;
        let text = match locale {
            Locale::En => format!(
                "Paused since {since}. Nothing renews and usage is refused until you resume; resuming starts a new period and charges it like a renewal."
            ),
            Locale::Ru => format!(
                "Подписка приостановлена с {since} — пока она на паузе, продления нет и использование недоступно; при возобновлении начнётся новый период, он оплачивается как продление."
            ),
        };
        view! {
            <p class="notice warn" data-testid="paused">{text}</p>
            {(!extras.can_pause).then(|| view! {
                <p class="small">{t(locale, "To resume, contact support: the plan is resumed by an administrator.", "Чтобы возобновить подписку, обратитесь в поддержку: её возобновляет администратор.")}</p>
            })}
            {extras.can_pause.then(|| view! {
                <ActionForm action=pause attr:class="inline-form" attr:data-form="unpause">
                    <input type="hidden" name="pause" value="false"/>
                    <button type="submit" class="button primary">
                        {t(locale, "Resume subscription", "Возобновить подписку")}
                    </button>
                </ActionForm>
            })}
            {action_message(pause.value(), &[])}
        }
        .into_any()
    } else if let (Some(pending), Some(at)) = (&extras.pending_plan, subscription.pending_change_at) {
        let cancel_change = actions.cancel_change;
        let text = match locale {
            Locale::En => format!("Switches to {} on {}", pending.name, format::date(at, locale)),
            Locale::Ru => format!("Переход на «{}» {}", plan_name(pending, locale), format::date(at, locale)),
        };
        view! {
            <p class="notice" data-testid="scheduled-change">{text}</p>
            <ActionForm action=cancel_change attr:class="inline-form" attr:data-form="cancel-change">
                <button type="submit" class="button">
                    {t(locale, "Keep my current plan", "Оставить текущий тариф")}
                </button>
            </ActionForm>
            {action_message(cancel_change.value(), &[])}
        }
        .into_any()
    } else if pending_cancel {
        view! { <p class="notice warn" data-testid="cancels-on">{format!("{} {end}", t(locale, "Cancels on", "Отменится"))}</p> }.into_any()
    } else if subscription.status == SubscriptionStatus::Trialing {
        let trial_end = subscription.trial_end.map(|e| format::date(e, locale)).unwrap_or_else(|| end.clone());
        let price = format::money(plan.price_minor, plan.currency, locale);
        let check = format::money(crate::model::subscription::CARD_CHECK_MINOR, plan.currency, locale);
        let add_card = actions.add_card;
        let card_line = if extras.card_saved {
            view! { <p class="small" data-testid="trial-card">{match locale {
                Locale::En => format!("Your card is saved: {price} is charged on {trial_end} and the plan continues."),
                Locale::Ru => format!("Карта сохранена: {trial_end} спишем {price}, и тариф продолжится."),
            }}</p> }
            .into_any()
        } else {
            view! {
                <p class="small" data-testid="trial-card">{match locale {
                    Locale::En => format!("Add a card to keep the plan after the trial: we check it with {check} and refund it at once; {price} is charged on {trial_end}. Without a card you move to the free plan then."),
                    Locale::Ru => format!("Добавьте карту, чтобы тариф продолжился после пробного периода: проверим её платежом {check} и сразу вернём; {trial_end} спишем {price}. Без карты вы перейдёте на бесплатный тариф."),
                }}</p>
                <ActionForm action=add_card attr:class="inline-form" attr:data-form="add-card">
                    <button type="submit" class="button primary">
                        {t(locale, "Add a card", "Добавить карту")}
                    </button>
                </ActionForm>
                {action_message(add_card.value(), &[])}
            }
            .into_any()
        };
        view! {
            <p data-testid="trial-ends">{format!("{} {trial_end}", t(locale, "Trial ends on", "Пробный период до"))}</p>
            {card_line}
        }
        .into_any()
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
                    <button type="submit" class="button">
                        {t(locale, "Keep my plan", "Не отменять")}
                    </button>
                </ActionForm>
                {action_message(resume.value(), &[])}
            })}
            {(extras.can_pause && status != SubscriptionStatus::Paused).then(|| pause_choice(actions.pause, end.clone(), locale))}
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
                <button type="submit" class="button danger">
                    {confirm}
                </button>
            </ActionForm>
        </details>
    }
}

/// Pausing, behind a confirmation that says what a pause does.
fn pause_choice(pause: ServerAction<PauseSubscription>, end: String, locale: Locale) -> impl IntoView {
    let explanation = match locale {
        Locale::En => format!(
            "While paused nothing renews (the period ending {end} is not charged) and usage is refused. Resume at any time: a new period starts then."
        ),
        Locale::Ru => format!(
            "Пока подписка на паузе, она не продлевается (период до {end} не оплачивается) и использование недоступно. Возобновить можно в любой момент — тогда начнётся новый период."
        ),
    };
    view! {
        // Open when the pause was refused, so the message inside shows (also after a plain form post).
        <details class="danger-zone" data-confirm="pause" open=move || matches!(pause.value().get(), Some(Err(_)))>
            <summary>{t(locale, "Pause subscription", "Приостановить подписку")}</summary>
            <p>{explanation}</p>
            <ActionForm action=pause attr:class="inline-form" attr:data-form="pause">
                <input type="hidden" name="pause" value="true"/>
                <button type="submit" class="button">
                    {t(locale, "Yes, pause", "Да, приостановить")}
                </button>
            </ActionForm>
            {action_message(pause.value(), &[])}
        </details>
    }
}
