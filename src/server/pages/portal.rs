//! The billing portal's page bodies.

use super::{fail, is_form_post, keep_secret_once, require_viewer, state, take_secret, user_ref, viewer};
use crate::actions::UiError;
use crate::server::web::FRESH_TOKEN_KEY;
use std::collections::BTreeMap;
use tariff_core::accounts::picture;
use tariff_core::{payments, plans, subscriptions, tokens, usage};
use tariff_model::portal::{BalancePage, BillingOverview, Page, PaymentResult, PlanCatalog, TokenList, UsageReport};
use tariff_model::{Plan, Scope, Subscription, Transaction};

/// Payments per page of `/billing/transactions`.
pub const TRANSACTIONS_PER_PAGE: i64 = 20;
/// How many recent events the usage page lists.
pub const RECENT_EVENTS: i64 = 25;

/// See [`crate::actions::portal::list_plans`].
pub async fn list_plans() -> Result<Vec<Plan>, UiError> {
    plans::list_active(&state().billing.store).await.map_err(fail)
}

/// See [`crate::actions::portal::get_billing_overview`].
pub async fn billing_overview() -> Result<BillingOverview, UiError> {
    let viewer = require_viewer()?;
    let state = state();
    picture::overview(&state.billing.store, state.now(), &user_ref(&viewer)).await.map_err(fail)
}

/// See [`crate::actions::portal::cancel_subscription`].
pub async fn cancel(immediate: bool) -> Result<Subscription, UiError> {
    let viewer = require_viewer()?;
    let state = state();
    user_ref(&viewer).require_payer().map_err(fail)?;
    subscriptions::cancel(&state.billing.store, state.now(), &viewer.account_id, immediate).await.map_err(fail)
}

/// See [`crate::actions::portal::resume_subscription`].
pub async fn resume() -> Result<Subscription, UiError> {
    let viewer = require_viewer()?;
    let state = state();
    user_ref(&viewer).require_payer().map_err(fail)?;
    subscriptions::resume(&state.billing.store, state.now(), &viewer.account_id).await.map_err(fail)
}

/// See [`crate::actions::portal::get_plan_catalog`].
pub async fn plan_catalog() -> Result<PlanCatalog, UiError> {
    let state = state();
    let viewer = viewer();
    let plans = plans::list_active(&state.billing.store).await.map_err(fail)?;
    let current = match &viewer {
        Some(v) => subscriptions::current(&state.billing.store, state.now(), &v.account_id).await.map_err(fail)?,
        None => None,
    };
    let current_plan_id = current.as_ref().map(|s| s.plan_id.clone());
    let pending_change = current.as_ref().and_then(|s| Some((s.pending_plan_id.clone()?, s.pending_change_at?)));
    let db = &state.billing.store;
    let (mut changes, mut trial_plan_ids) = (BTreeMap::new(), Vec::new());
    if let Some(v) = &viewer {
        let may_pay = user_ref(v).require_payer().is_ok();
        if may_pay {
            for (mut preview, plan) in
                subscriptions::change::previews_for(db, state.now(), &v.account_id, &plans).await.map_err(fail)?
            {
                // The sentence names the plan as the page does, in the viewer's language.
                let mut named = plan.clone();
                named.name = crate::ui::portal::overview::plan_name(&plan, super::locale());
                preview.message = super::say(&subscriptions::change::preview_message(&preview, &named));
                changes.insert(plan.id.clone(), preview);
            }
            trial_plan_ids = subscriptions::trial::trial_plan_ids(db, &v.account_id, &plans).await.map_err(fail)?;
        }
    }
    Ok(PlanCatalog {
        changes,
        pending_change,
        trial_plan_ids,
        plans,
        signed_in: viewer.is_some(),
        current_plan_id,
        payments_enabled: state.billing.gateway.is_some(),
        features: tariff_core::features::list(&state.billing.store)
            .await
            .map_err(fail)?
            .into_iter()
            .filter(|f| f.is_active)
            .collect(),
    })
}

/// Top-up amounts the balance page offers, minor units (500, 1,000, 3,000 and 10,000 ₽).
pub const TOPUP_PRESETS: [i64; 4] = [50_000, 100_000, 300_000, 1_000_000];

/// See [`crate::actions::portal::get_balance_page`].
pub async fn balance_page() -> Result<BalancePage, UiError> {
    let viewer = require_viewer()?;
    let state = state();
    let settings = &state.billing.settings;
    let balance =
        tariff_core::balance::balance_of(&state.billing.store, &viewer.account_id, settings.low_balance_minor)
            .await
            .map_err(fail)?;
    let presets = TOPUP_PRESETS
        .into_iter()
        .filter(|p| (settings.topup_min_minor..=settings.topup_max_minor).contains(p))
        .collect();
    Ok(BalancePage {
        balance,
        presets,
        topup_min_minor: settings.topup_min_minor,
        topup_max_minor: settings.topup_max_minor,
        payments_enabled: state.billing.gateway.is_some(),
    })
}

/// See [`crate::actions::portal::start_topup`].
pub async fn start_topup(amount: String) -> Result<String, UiError> {
    let viewer = require_viewer()?;
    let state = state();
    let base = state.config.base_url();
    let cleaned: String = super::decimal_input(&amount);
    let amount = tariff_model::money::DecimalText(cleaned);
    let checkout = tariff_core::balance::topup_returning(&state.billing, &user_ref(&viewer), &amount, |id| {
        format!("{base}/billing/return?transaction={id}")
    })
    .await
    .map_err(fail)?;
    if is_form_post() {
        super::leave_site_for(&checkout.confirmation_url);
    }
    Ok(checkout.confirmation_url)
}

/// See [`crate::actions::portal::start_checkout`].
pub async fn start_checkout(plan_id: String) -> Result<String, UiError> {
    let viewer = require_viewer()?;
    let state = state();
    let base = state.config.base_url();
    let checkout = payments::checkout_returning(&state.billing, &user_ref(&viewer), &plan_id, |id| {
        format!("{base}/billing/return?transaction={id}")
    })
    .await
    .map_err(|e| match fail(e) {
        // The form has no plan_id field to show it next to: say it for the whole action.
        UiError::Fields(fields) => UiError::Message(fields.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join(" ")),
        other => other,
    })?;
    // A form post (plain, or sent by the browser's enhancer) is sent to the payment page.
    if is_form_post() {
        super::leave_site_for(&checkout.confirmation_url);
    }
    Ok(checkout.confirmation_url)
}

/// See [`crate::actions::portal::get_payment_result`].
pub async fn payment_result(transaction: String) -> Result<PaymentResult, UiError> {
    let viewer = require_viewer()?;
    let state = state();
    let transaction = payments::follow(&state.billing, &user_ref(&viewer), &transaction).await.map_err(fail)?;
    let plan = match &transaction.plan_id {
        Some(id) => plans::get(&state.billing.store, id).await.ok(),
        None => None,
    };
    let subscription =
        subscriptions::current(&state.billing.store, state.now(), &viewer.account_id).await.map_err(fail)?;
    Ok(PaymentResult { transaction, plan, subscription })
}

/// See [`crate::actions::portal::get_transaction_page`].
pub async fn transaction_page(page: i64) -> Result<Page<Transaction>, UiError> {
    let viewer = require_viewer()?;
    let state = state();
    let page = page.clamp(1, 100_000);
    let (items, total) = payments::history(
        &state.billing.store,
        &viewer.account_id,
        TRANSACTIONS_PER_PAGE,
        (page - 1) * TRANSACTIONS_PER_PAGE,
    )
    .await
    .map_err(fail)?;
    Ok(Page { items, total, page, page_size: TRANSACTIONS_PER_PAGE })
}

/// See [`crate::actions::portal::get_usage_report`].
pub async fn usage_report() -> Result<UsageReport, UiError> {
    let viewer = require_viewer()?;
    let state = state();
    let policy = state.billing.settings.no_subscription_policy;
    usage::report(&state.billing.store, state.now(), policy, &user_ref(&viewer), RECENT_EVENTS).await.map_err(fail)
}

/// See [`crate::actions::portal::get_token_list`].
pub async fn token_list() -> Result<TokenList, UiError> {
    let viewer = require_viewer()?;
    let state = state();
    let tokens = tokens::list(&state.billing.store, &viewer.email).await.map_err(fail)?;
    Ok(TokenList { tokens, fresh: take_secret(FRESH_TOKEN_KEY).await? })
}

/// See [`crate::actions::portal::create_token`].
pub async fn create_token(name: String) -> Result<(), UiError> {
    let viewer = require_viewer()?;
    let state = state();
    let created = tokens::create_for_user(
        &state.billing.store,
        state.billing.clock.as_ref(),
        &viewer.id,
        viewer.is_admin,
        &name,
        Scope::User,
    )
    .await
    .map_err(fail)?;
    keep_secret_once(FRESH_TOKEN_KEY, name.trim(), &created.token).await
}

/// See [`crate::actions::portal::revoke_token`].
pub async fn revoke_token(id: String) -> Result<(), UiError> {
    let viewer = require_viewer()?;
    let state = state();
    tokens::revoke(&state.billing.store, state.billing.clock.as_ref(), &viewer.email, &id).await.map_err(fail)
}

/// The payer's way back to the portal after a payment page: the return page following
/// transaction `id`.
fn return_page(id: &str) -> String {
    format!("{}/billing/return?transaction={id}", state().config.base_url())
}

/// See [`crate::actions::portal::change_plan`].
pub async fn change_plan(plan_id: String) -> Result<Option<String>, UiError> {
    let viewer = require_viewer()?;
    let state = state();
    let outcome = subscriptions::change::change_returning(&state.billing, &user_ref(&viewer), &plan_id, |id| {
        Some(return_page(id))
    })
    .await
    .map_err(|e| match fail(e) {
        UiError::Fields(fields) => UiError::Message(fields.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join(" ")),
        other => other,
    })?;
    match outcome.status.as_str() {
        "declined" => {
            super::set_status(axum::http::StatusCode::PAYMENT_REQUIRED);
            let reason = crate::ui::widgets::decline_reason(outcome.cancellation_reason.as_deref(), super::locale());
            Err(UiError::Message(reason.to_owned()))
        }
        _ => {
            // A payment the payer confirms (no saved card), or a saved-card charge YooKassa is
            // still deciding: follow it on the return page.
            let next = match (&outcome.confirmation_url, &outcome.transaction_id) {
                (Some(url), _) => Some(url.clone()),
                (None, Some(id)) if outcome.status == "pending" => Some(return_page(id)),
                _ => None,
            };
            if let Some(url) = &next
                && super::is_form_post()
            {
                super::leave_site_for(url);
            }
            Ok(next)
        }
    }
}

/// See [`crate::actions::portal::cancel_plan_change`].
pub async fn cancel_plan_change() -> Result<Subscription, UiError> {
    let viewer = require_viewer()?;
    let state = state();
    subscriptions::cancel_change(&state.billing.store, state.now(), &user_ref(&viewer)).await.map_err(fail)
}

/// See [`crate::actions::portal::start_trial`].
pub async fn start_trial(plan_id: String) -> Result<Subscription, UiError> {
    let viewer = require_viewer()?;
    let state = state();
    subscriptions::start_trial(&state.billing, &user_ref(&viewer), &plan_id).await.map_err(|e| match fail(e) {
        UiError::Fields(fields) => UiError::Message(fields.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join(" ")),
        other => other,
    })
}

/// See [`crate::actions::portal::add_card`].
pub async fn add_card() -> Result<String, UiError> {
    let viewer = require_viewer()?;
    let state = state();
    let back = format!("{}/billing", state.config.base_url());
    let checkout = subscriptions::add_card(&state.billing, &user_ref(&viewer), &back).await.map_err(fail)?;
    if super::is_form_post() {
        super::leave_site_for(&checkout.confirmation_url);
    }
    Ok(checkout.confirmation_url)
}

/// See [`crate::actions::portal::pause_subscription`].
pub async fn pause_subscription(pause: bool) -> Result<Subscription, UiError> {
    let viewer = require_viewer()?;
    let state = state();
    let user = user_ref(&viewer);
    if pause {
        subscriptions::pause_own(&state.billing, &user, true).await.map_err(fail)
    } else {
        subscriptions::pause::resume_own(&state.billing, &user).await.map_err(fail)
    }
}

/// See [`crate::actions::portal::get_email_settings`].
pub async fn email_settings() -> Result<crate::actions::portal::EmailSettings, UiError> {
    let viewer = require_viewer()?;
    let state = state();
    let preferences = tariff_core::events::email::preferences(&state.billing.store, &viewer.id).await.map_err(fail)?;
    Ok(crate::actions::portal::EmailSettings { preferences, emails_on: state.config.smtp_url.is_some() })
}

/// See [`crate::actions::portal::save_email_settings`].
pub async fn save_email_settings(on: std::collections::BTreeMap<String, String>) -> Result<(), UiError> {
    use tariff_model::events::{EmailKind, EmailPreferences};
    let viewer = require_viewer()?;
    let state = state();
    let off = EmailKind::ALL.into_iter().filter(|kind| !on.contains_key(kind.as_str())).collect();
    let preferences = EmailPreferences { off };
    tariff_core::events::email::set_preferences(&state.billing.store, &viewer.id, &preferences, state.now())
        .await
        .map_err(fail)?;
    // The page comes back saying so.
    if is_form_post() {
        leptos_axum::redirect("/settings/notifications?saved=1");
    }
    Ok(())
}
