//! The public pricing page at `/`: every active plan with its price per interval, quotas and
//! features, in English or Russian, with a monthly / annual toggle that is a pair of plain links.

use super::format;
use super::i18n::{Locale, use_locale};
use crate::model::{Interval, Metric, Plan};
use crate::ui::i18n::LocaleText;
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_query_map};

/// Which plans the toggle shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Billing {
    Monthly,
    Annual,
    /// Every plan (the portal's plan page).
    All,
}

impl Billing {
    fn param(self) -> &'static str {
        match self {
            Billing::Monthly => "monthly",
            Billing::Annual => "annual",
            Billing::All => "all",
        }
    }

    /// Free plans appear under both; paid plans under the toggle matching their interval.
    fn shows(self, plan: &Plan) -> bool {
        plan.is_free()
            || match self {
                Billing::Monthly => plan.interval != Interval::Year,
                Billing::Annual => plan.interval == Interval::Year,
                Billing::All => true,
            }
    }
}

#[component]
pub fn PricingPage() -> impl IntoView {
    let locale = use_locale();
    let query = use_query_map();
    let location = use_location();
    let billing = Memo::new(move |_| match query.read().get_str("billing") {
        Some("annual") => Billing::Annual,
        _ => Billing::Monthly,
    });
    let toggle_href = move |target: Billing| {
        let mut params = query.get();
        params.replace("billing", target.param().to_owned());
        // A server function's error (after a refused form post) belongs to this render only.
        params.remove("__err");
        params.remove("__path");
        format!("{}{}", location.pathname.get(), params.to_query_string())
    };
    let toggle = move |target: Billing| {
        view! {
            <a
                href=move || toggle_href(target)
                class:active=move || billing.get() == target
                aria-current=move || (billing.get() == target).then_some("true")
                data-billing=target.param()
            >
                {move || match target {
                    Billing::Monthly => locale.get().text().monthly,
                    Billing::Annual | Billing::All => locale.get().text().annual,
                }}
            </a>
        }
    };

    view! {
        {crate::ui::widgets::page_title(move || locale.get().text().pricing_title.to_owned())}
        <section class="hero">
            <h1>{move || locale.get().text().pricing_title}</h1>
            <p class="lead">{move || locale.get().text().pricing_lead}</p>
            <nav class="segmented" aria-label=move || locale.get().text().billing_period>
                {toggle(Billing::Monthly)}
                {toggle(Billing::Annual)}
            </nav>
        </section>
        <PlanGrid billing=billing.into()/>
    }
}

/// The plan cards for `billing`, each with its choice (current plan, checkout, sign up), and the
/// checkout's error above them.
#[component]
pub fn PlanGrid(billing: Signal<Billing>) -> impl IntoView {
    use crate::actions::portal::get_plan_catalog;
    use crate::ui::portal::plans::{PlanActions, choose_button};
    use crate::ui::widgets::action_message;
    let locale = use_locale();
    let actions = PlanActions::new();
    let catalog = Resource::new(move || actions.version(), |_| get_plan_catalog());
    view! {
        {action_message(actions.checkout.value(), &[])}
        {action_message(actions.change.value(), &[])}
        {action_message(actions.cancel_change.value(), &[])}
        {action_message(actions.trial.value(), &[])}
        <Suspense fallback=move || view! { <p class="muted">{move || locale.get().text().loading}</p> }>
            {move || Suspend::new(async move {
                let locale = locale.get();
                let billing = billing.get();
                match catalog.await {
                    Ok(catalog) => {
                        let shown: Vec<Plan> = catalog.plans.iter().filter(|p| billing.shows(p)).cloned().collect();
                        let paid_shown = shown.iter().any(|p| !p.is_free());
                        let note = match (shown.is_empty(), billing, paid_shown) {
                            (true, _, _) => Some(locale.text().no_plans),
                            (false, Billing::Annual, false) => Some(locale.text().no_annual_plans),
                            _ => None,
                        };
                        view! {
                            {note.map(|text| view! { <p class="notice">{text}</p> })}
                            <div class="plan-grid">
                                {shown
                                    .into_iter()
                                    .map(|plan| {
                                        let choice = choose_button(&plan, &catalog, locale, actions);
                                        let current = catalog.current_plan_id.as_deref() == Some(plan.id.as_str());
                                        plan_card(plan, &catalog.features, locale, current, choice)
                                    })
                                    .collect_view()}
                            </div>
                        }
                            .into_any()
                    }
                    Err(_) => view! { <p class="error" role="alert">{locale.text().load_failed}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// One plan as a card: name, price per interval, description, quotas, features, the price of
/// each pay-as-you-go feature on this plan (with its discount and included units), and `choice`.
fn plan_card(
    plan: Plan,
    priced: &[crate::model::Feature],
    locale: Locale,
    current: bool,
    choice: AnyView,
) -> impl IntoView {
    let t = locale.text();
    let (name, description) = match locale {
        Locale::Ru => (
            plan.name_ru.clone().unwrap_or_else(|| plan.name.clone()),
            plan.description_ru.clone().or_else(|| plan.description.clone()),
        ),
        Locale::En => (plan.name.clone(), plan.description.clone()),
    };
    let price = format::money(plan.price_minor, plan.currency, locale);
    let per = format!("/ {}", format::per_interval(plan.interval, locale));
    let quotas: Vec<String> = match &plan.quotas {
        Some(quotas) => quotas.iter().map(|(metric, limit)| format::quota(*metric, *limit, locale)).collect(),
        None => Metric::ALL.iter().map(|metric| format::quota(*metric, None, locale)).collect(),
    };
    let promo = plan.plan_extra_metadata.as_ref().filter(|m| m.get("promo") == Some(&serde_json::Value::Bool(true)));
    let promo_until = promo.and_then(|m| m.get("valid_until")).and_then(serde_json::Value::as_i64);
    let is_promo = promo.is_some();
    let features: Vec<String> = plan.features.iter().map(|f| format::feature(f, locale)).collect();
    let trial = (plan.trial_days > 0).then(|| format!("{} {}", plan.trial_days, t.trial_days));
    let payg: Vec<(String, String, String)> = priced
        .iter()
        .filter(|f| f.available_on(Some(&plan)))
        .map(|f| {
            let title = match locale {
                Locale::Ru => f.title_ru.clone().unwrap_or_else(|| f.title.clone()),
                Locale::En => f.title.clone(),
            };
            let block =
                if f.per_units == 1 { String::new() } else { format!(" / {}", format::number(f.per_units, locale)) };
            let price = format!(
                "{}{block}",
                format::money_micros(f.block_price_micros(plan.discount_percent), f.currency, locale)
            );
            let included = match plan.feature_limit(&f.name) {
                0 => String::new(),
                n => format!(
                    "{} {}",
                    format::number(n, locale),
                    match locale {
                        Locale::Ru => "включено",
                        Locale::En => "included",
                    }
                ),
            };
            (title, price, included)
        })
        .collect();
    let discount = (plan.discount_percent > 0).then(|| match locale {
        Locale::Ru => format!("Скидка {} % на оплату сверх тарифа", plan.discount_percent),
        Locale::En => format!("{} % off pay-as-you-go prices", plan.discount_percent),
    });

    view! {
        <article class="plan-card" class:promo=is_promo class:current=current data-plan-id=plan.id.clone()>
            <header class="plan-head">
                <h2 class="plan-name">{name}</h2>
                {is_promo.then(|| view! { <span class="badge badge-promo">{t.promo}</span> })}
            </header>
            <p class="plan-price">
                <span class="amount">{price}</span>
                " "
                <span class="per">{per}</span>
            </p>
            {promo_until.map(|until| view! { <p class="muted small">{format!("{} {}", t.promo_until, format::date(until, locale))}</p> })}
            {trial.map(|text| view! { <p class="trial">{text}</p> })}
            {description.map(|d| view! { <p class="plan-description">{d}</p> })}
            <h3 class="plan-section">{format::included_per(plan.interval, locale)}</h3>
            <ul class="quota-list">
                {quotas.into_iter().map(|q| view! { <li>{q}</li> }).collect_view()}
            </ul>
            {(!features.is_empty()).then(|| view! {
                <h3 class="plan-section">{t.features}</h3>
                <ul class="feature-list">
                    {features.into_iter().map(|f| view! { <li>{f}</li> }).collect_view()}
                </ul>
            })}
            {(!payg.is_empty()).then(|| view! {
                <h3 class="plan-section">{match locale { Locale::Ru => "Оплата по использованию", Locale::En => "Pay as you go" }}</h3>
                {discount.map(|d| view! { <p class="small" data-testid="payg-discount">{d}</p> })}
                <ul class="payg-list" data-list="payg">
                    {payg.into_iter().map(|(title, price, included)| view! {
                        <li>{title} ": " <strong>{price}</strong>{(!included.is_empty()).then(|| view! { <span class="muted small">{format!(" · {included}")}</span> })}</li>
                    }).collect_view()}
                </ul>
            })}
            <div class="plan-choice">{choice}</div>
        </article>
    }
}
