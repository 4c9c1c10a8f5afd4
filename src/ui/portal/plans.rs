//! Choosing a plan and paying for it: the catalogue with the current plan marked (`/billing/plans`
//! and the public `/`), checkout that sends the browser to YooKassa's `confirmation_url`, and the
//! return page (`/billing/return`) that follows the payment until it is final.

use super::overview::plan_name;
use super::{PortalNav, loading};
use crate::actions::portal::{StartCheckout, get_payment_result};
use crate::model::Plan;
use crate::model::portal::{PaymentResult, PlanCatalog};
use crate::ui::format;
use crate::ui::i18n::{Locale, t, use_locale};
use crate::ui::pricing::{Billing, PlanGrid};
use crate::ui::widgets::{ErrorPanel, decline_reason, page_title};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Sends the browser to `url` with a full page load (the payment page is not one of ours).
pub fn leave_for(url: &str) {
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_href(url);
    }
    #[cfg(not(all(feature = "hydrate", not(feature = "ssr"))))]
    let _ = url;
}

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

/// The form that starts checkout for one plan (or the reason it cannot).
pub fn choose_button(
    plan: &Plan,
    catalog: &PlanCatalog,
    locale: Locale,
    checkout: ServerAction<StartCheckout>,
) -> AnyView {
    let current = catalog.current_plan_id.as_deref() == Some(plan.id.as_str());
    if current {
        return view! { <p class="current-plan" data-current="true">"✓ " {t(locale, "Your current plan", "Ваш текущий тариф")}</p> }
            .into_any();
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
    view! {
        <ActionForm action=checkout attr:class="inline-form" attr:data-form="checkout">
            <input type="hidden" name="plan_id" value=plan_id/>
            <button type="submit" class="button primary" disabled=move || checkout.pending().get()>
                {move || if checkout.pending().get() { t(locale, "Opening payment…", "Переходим к оплате…").to_owned() } else { label.clone() }}
            </button>
        </ActionForm>
    }
    .into_any()
}

/// `/billing/return?transaction=…`: what happened to the payment, in plain words. While the
/// payment is pending the page asks again every two seconds (a script, or a meta refresh without
/// JavaScript).
#[component]
pub fn ReturnPage() -> impl IntoView {
    let locale = use_locale();
    let query = use_query_map();
    let id = Memo::new(move |_| query.read().get("transaction").unwrap_or_default());
    let data = Resource::new(move || id.get(), get_payment_result);
    Effect::new(move |_| {
        if let Some(Ok(result)) = data.get()
            && !result.is_final()
        {
            set_timeout(move || data.refetch(), std::time::Duration::from_millis(1500));
        }
    });
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
            <noscript><meta http-equiv="refresh" content="2"/></noscript>
            <section class="card result" data-payment-status="pending" aria-live="polite">
                <p class="result-icon spin" aria-hidden="true">"⟳"</p>
                <h1>{t(locale, "Waiting for the payment to be confirmed…", "Ждём подтверждения платежа…")}</h1>
                <p class="muted">{t(locale, "This page updates by itself. It usually takes a few seconds.", "Страница обновится сама. Обычно это занимает несколько секунд.")}</p>
            </section>
        }
        .into_any(),
    }
}
