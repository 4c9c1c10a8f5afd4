//! Choosing a plan and paying for it: the catalogue with the current plan marked (`/billing/plans`
//! and the public `/`), checkout that sends the browser to YooKassa's `confirmation_url`, and the
//! return page (`/billing/return`) that follows the payment until it is final.

use super::overview::plan_name;
use super::{PortalNav, loading};
use crate::actions::portal::{CancelPlanChange, ChangePlan, StartCheckout, StartTrial, get_payment_result};
use crate::model::portal::{PaymentResult, PlanCatalog};
use crate::model::{ChangeKind, ChangePreview, Plan};
use crate::ui::format;
use crate::ui::i18n::{Locale, t, use_locale};
use crate::ui::pricing::{Billing, PlanGrid};
use crate::ui::widgets::{ErrorPanel, decline_reason, page_title};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// `/billing/plans`: the catalogue with the current plan marked and a checkout button per paid plan.
#[component]
pub fn PlansPage() -> impl IntoView {
    let locale = use_locale();
    view! {
        {page_title(move || t(locale.get(), "Plans", "Тарифы").to_owned())}
        <PortalNav/>
        <h1 class="page-title">{move || t(locale.get(), "Choose a plan", "Выберите тариф")}</h1>
        <p class="lead">{move || t(locale.get(), "Paid plans start right after payment. Quotas reset every period.", "Платный тариф начинает действовать сразу после оплаты. Квоты обновляются каждый период.")}</p>
        <PlanGrid billing=Signal::stored(Billing::All)/>
    }
}

/// The actions a plan card can start: checkout, a plan change, withdrawing a scheduled
/// downgrade, a trial. Each sends the browser to the payment page when it answers one.
#[derive(Clone, Copy)]
pub struct PlanActions {
    pub checkout: ServerAction<StartCheckout>,
    pub change: ServerAction<ChangePlan>,
    pub cancel_change: ServerAction<CancelPlanChange>,
    pub trial: ServerAction<StartTrial>,
}

impl PlanActions {
    /// The actions (their forms post to the server; a payment page is reached by its redirect).
    pub fn new() -> Self {
        PlanActions {
            checkout: ServerAction::new(),
            change: ServerAction::new(),
            cancel_change: ServerAction::new(),
            trial: ServerAction::new(),
        }
    }

    /// Changes whenever an action that alters the subscription completes (to reload the catalogue).
    pub fn version(&self) -> (usize, usize, usize) {
        (self.change.version().get(), self.cancel_change.version().get(), self.trial.version().get())
    }
}

impl Default for PlanActions {
    fn default() -> Self {
        Self::new()
    }
}

/// What one plan's card offers the viewer: "your current plan", a plan change with its preview
/// ("Upgrade now: pay 250.00 ₽ for the rest of this period" / "Switches to Starter on …"), the
/// scheduled downgrade with a way to withdraw it, a trial, checkout — or the reason none applies.
pub fn choose_button(plan: &Plan, catalog: &PlanCatalog, locale: Locale, actions: PlanActions) -> AnyView {
    let current = catalog.current_plan_id.as_deref() == Some(plan.id.as_str());
    if current {
        return view! { <p class="current-plan" data-current="true">"✓ " {t(locale, "Your current plan", "Ваш текущий тариф")}</p> }
            .into_any();
    }
    if let Some((pending, at)) = &catalog.pending_change
        && pending == &plan.id
    {
        let cancel = actions.cancel_change;
        let text = match locale {
            Locale::En => format!("Switches to {} on {}", plan.name, format::date(*at, locale)),
            Locale::Ru => format!("Переход на «{}» {}", plan_name(plan, locale), format::date(*at, locale)),
        };
        return view! {
            <p class="notice" data-testid="scheduled-change">{text}</p>
            <ActionForm action=cancel attr:class="inline-form" attr:data-form="cancel-change">
                <button type="submit" class="button">
                    {t(locale, "Keep my current plan", "Оставить текущий тариф")}
                </button>
            </ActionForm>
        }
        .into_any();
    }
    if let Some(preview) = catalog.changes.get(&plan.id) {
        return change_button(plan, preview, locale, actions.change);
    }
    if plan.is_free() {
        return ().into_any();
    }
    if !catalog.signed_in {
        return view! {
            <a class="button primary" href="/signup?next=/billing/plans">{t(locale, "Get started", "Начать")}</a>
        }
        .into_any();
    }
    if !catalog.payments_enabled {
        return view! { <p class="muted small">{t(locale, "Payments are not available right now.", "Оплата сейчас недоступна.")}</p> }
            .into_any();
    }
    let label = match locale {
        Locale::En => format!("Choose {}", plan.name),
        Locale::Ru => format!("Выбрать «{}»", plan_name(plan, locale)),
    };
    let plan_id = plan.id.clone();
    let checkout = actions.checkout;
    let trial = catalog.trial_plan_ids.contains(&plan.id).then(|| {
        let trial = actions.trial;
        let plan_id = plan.id.clone();
        let label = match locale {
            Locale::En => format!("Start a {}-day free trial", plan.trial_days),
            Locale::Ru => format!("Попробовать бесплатно {} дн.", plan.trial_days),
        };
        view! {
            <ActionForm action=trial attr:class="inline-form" attr:data-form="trial">
                <input type="hidden" name="plan_id" value=plan_id/>
                <button type="submit" class="button">{label}</button>
            </ActionForm>
        }
    });
    view! {
        {trial}
        <ActionForm action=checkout attr:class="inline-form" attr:data-form="checkout">
            <input type="hidden" name="plan_id" value=plan_id/>
            <button type="submit" class="button primary" data-pending=t(locale, "Opening payment…", "Переходим к оплате…")>
                {label.clone()}
            </button>
        </ActionForm>
    }
    .into_any()
}

/// The preview of changing to `plan` in a sentence, and the button that does it.
fn change_button(plan: &Plan, preview: &ChangePreview, locale: Locale, change: ServerAction<ChangePlan>) -> AnyView {
    let upgrade = preview.kind == ChangeKind::Upgrade;
    let label = match (upgrade, locale) {
        (true, Locale::En) => format!("Upgrade to {}", plan.name),
        (true, Locale::Ru) => format!("Перейти на «{}»", plan_name(plan, locale)),
        (false, Locale::En) => format!("Switch to {} at period end", plan.name),
        (false, Locale::Ru) => format!("Перейти на «{}» в конце периода", plan_name(plan, locale)),
    };
    let next = match locale {
        Locale::En => format!(
            "Then {} from {}.",
            format::money(preview.next_amount_minor, preview.currency, locale),
            format::date(preview.next_renewal_at, locale)
        ),
        Locale::Ru => format!(
            "Затем {} с {}.",
            format::money(preview.next_amount_minor, preview.currency, locale),
            format::date(preview.next_renewal_at, locale)
        ),
    };
    let plan_id = plan.id.clone();
    view! {
        <p class="change-preview" data-testid="change-preview" data-kind=if upgrade { "upgrade" } else { "downgrade" }
            data-amount-minor=preview.amount_due_minor.to_string()>
            <strong>{preview.message.clone()}</strong>
        </p>
        {(!plan.is_free()).then(|| view! { <p class="muted small">{next}</p> })}
        <ActionForm action=change attr:class="inline-form" attr:data-form="change">
            <input type="hidden" name="plan_id" value=plan_id/>
            <button type="submit" class=if upgrade { "button primary" } else { "button" } data-pending=t(locale, "Changing…", "Меняем…")>
                {label.clone()}
            </button>
        </ActionForm>
    }
    .into_any()
}

/// `/billing/return?transaction=…`: what happened to the payment, in plain words. While the
/// payment is pending the page loads itself again every two seconds (a meta refresh, which the
/// browser honours with or without JavaScript).
#[component]
pub fn ReturnPage() -> impl IntoView {
    let locale = use_locale();
    let query = use_query_map();
    let id = Memo::new(move |_| query.read().get("transaction").unwrap_or_default());
    let data = Resource::new(move || id.get(), get_payment_result);
    view! {
        {page_title(move || t(locale.get(), "Payment", "Оплата").to_owned())}
        <PortalNav/>
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                let locale = locale.get();
                match data.await {
                    Ok(result) => return_view(result, locale).into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn return_view(result: PaymentResult, locale: Locale) -> impl IntoView {
    let plan = result.plan.as_ref().map(|p| plan_name(p, locale)).unwrap_or_default();
    let tx = &result.transaction;
    let amount = format::money(tx.amount, tx.currency, locale);
    match tx.status.as_str() {
        "succeeded" | "refunded" => {
            let until = result
                .subscription
                .as_ref()
                .filter(|s| Some(&s.plan_id) == tx.plan_id.as_ref())
                .map(|s| format::date(s.current_period_end, locale));
            let topup = tx.kind == crate::model::TransactionKind::Topup;
            let headline = match (locale, &until) {
                _ if topup => t(locale, "The balance is topped up.", "Баланс пополнен.").to_owned(),
                (Locale::En, Some(until)) => format!("{plan} is active until {until}."),
                // Russian dates end in "г." already.
                (Locale::Ru, Some(until)) => format!("Тариф «{plan}» действует до {until}"),
                (Locale::En, None) => format!("{plan} is paid."),
                (Locale::Ru, None) => format!("Тариф «{plan}» оплачен."),
            };
            view! {
                <section class="card result result-ok" data-payment-status="succeeded">
                    <p class="result-icon" aria-hidden="true">"✓"</p>
                    <h1>{t(locale, "Payment received", "Платёж получен")}</h1>
                    <p class="big-figure">{amount}</p>
                    <p data-testid="active-until">{headline}</p>
                    <div class="actions">
                        {if topup {
                            view! { <a class="button primary" href="/billing/balance">{t(locale, "See balance", "К балансу")}</a> }.into_any()
                        } else {
                            view! { <a class="button primary" href="/billing">{t(locale, "Go to billing", "К оплате и тарифу")}</a> }.into_any()
                        }}
                        <a class="button" href="/billing/usage">{t(locale, "See usage", "Использование")}</a>
                    </div>
                </section>
            }
            .into_any()
        }
        "canceled" | "failed" => {
            let reason = decline_reason(tx.cancellation_reason.as_deref(), locale);
            let (unchanged, again) = if tx.kind == crate::model::TransactionKind::Topup {
                (t(locale, "No money was taken and the balance did not change.", "Деньги не списаны, баланс не изменился."), "/billing/balance")
            } else {
                (t(locale, "No money was taken and your plan did not change.", "Деньги не списаны, тариф не изменился."), "/billing/plans")
            };
            view! {
                <section class="card result result-bad" data-payment-status="canceled">
                    <p class="result-icon" aria-hidden="true">"✕"</p>
                    <h1>{t(locale, "The payment did not go through", "Платёж не прошёл")}</h1>
                    <p class="decline-reason" data-reason=tx.cancellation_reason.clone().unwrap_or_default()>{reason}</p>
                    <p class="muted">{unchanged}</p>
                    <div class="actions">
                        <a class="button primary" href=again>{t(locale, "Try again", "Попробовать снова")}</a>
                    </div>
                </section>
            }
            .into_any()
        }
        _ => view! {
            <meta http-equiv="refresh" content="2"/>
            <section class="card result" data-payment-status="pending" aria-live="polite">
                <p class="result-icon spin" aria-hidden="true">"⟳"</p>
                <h1>{t(locale, "Waiting for the payment to be confirmed…", "Ждём подтверждения платежа…")}</h1>
                <p class="muted">{t(locale, "This page updates by itself. It usually takes a few seconds.", "Страница обновится сама. Обычно это занимает несколько секунд.")}</p>
            </section>
        }
        .into_any(),
    }
}
