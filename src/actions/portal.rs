//! The billing portal's server functions: the overview and cancellation, plans and checkout,
//! payments, usage and API tokens.

use super::UiError;
use leptos::prelude::*;
use tariff_model::portal::{BalancePage, BillingOverview, Page, PaymentResult, PlanCatalog, TokenList, UsageReport};
use tariff_model::{Plan, Subscription, Transaction};

/// Active plans ordered by `display_order` (the public pricing page; the same rule as
/// `GET /api/v1/billing/plans`).
///
/// # Errors
/// [`tariff_model::Message::ServerError`] when the store fails.
#[server(prefix = "/api/ui", endpoint = "plans")]
pub async fn list_plans() -> Result<Vec<Plan>, UiError> {
    crate::server::pages::portal::list_plans().await
}

/// The live subscription, what may be done about it, and the latest payments.
///
/// # Errors
/// [`UiError::SignedOut`] without a session; [`tariff_model::Message::ServerError`].
#[server(prefix = "/api/ui", endpoint = "billing/overview")]
pub async fn get_billing_overview() -> Result<BillingOverview, UiError> {
    crate::server::pages::portal::billing_overview().await
}

/// Cancels the viewer's subscription: at the end of the period, or now when `immediate`.
///
/// # Errors
/// [`UiError::SignedOut`]; a message when there is nothing to cancel.
#[server(prefix = "/api/ui", endpoint = "billing/cancel")]
pub async fn cancel_subscription(immediate: bool) -> Result<Subscription, UiError> {
    crate::server::pages::portal::cancel(immediate).await
}

/// Withdraws a pending cancellation: the plan renews again.
///
/// # Errors
/// [`UiError::SignedOut`]; a message when nothing is pending.
#[server(prefix = "/api/ui", endpoint = "billing/resume")]
pub async fn resume_subscription() -> Result<Subscription, UiError> {
    crate::server::pages::portal::resume().await
}

/// Active plans, whether the visitor is signed in, and their current plan.
///
/// # Errors
/// [`tariff_model::Message::ServerError`] when the store fails.
#[server(prefix = "/api/ui", endpoint = "plans/catalog")]
pub async fn get_plan_catalog() -> Result<PlanCatalog, UiError> {
    crate::server::pages::portal::plan_catalog().await
}

/// Starts paying for `plan_id` and returns the payment page (YooKassa's or the sandbox's
/// `confirmation_url`); a plain form post is redirected there. YooKassa brings the payer back to
/// `/billing/return?transaction=…`.
///
/// # Errors
/// [`UiError::SignedOut`]; a message for a free or unknown plan, or when payments are
/// unavailable or refused.
#[server(prefix = "/api/ui", endpoint = "plans/checkout")]
pub async fn start_checkout(plan_id: String) -> Result<String, UiError> {
    crate::server::pages::portal::start_checkout(plan_id).await
}

/// The viewer's balance, its ledger and the top-up presets (`/billing/balance`).
///
/// # Errors
/// [`UiError::SignedOut`]; [`tariff_model::Message::ServerError`].
#[server(prefix = "/api/ui", endpoint = "billing/balance")]
pub async fn get_balance_page() -> Result<BalancePage, UiError> {
    crate::server::pages::portal::balance_page().await
}

/// Starts a top-up of `amount` (decimal in major units, e.g. `500` or `1500.50`) and returns the
/// payment page; a plain form post is redirected there. YooKassa brings the payer back to
/// `/billing/return?transaction=…`.
///
/// # Errors
/// [`UiError::SignedOut`]; a field message on `amount` outside the limits or not an amount; a
/// message when payments are unavailable or refused.
#[server(prefix = "/api/ui", endpoint = "billing/topup")]
pub async fn start_topup(amount: String) -> Result<String, UiError> {
    crate::server::pages::portal::start_topup(amount).await
}

/// The transaction a checkout created, brought up to date with YooKassa while it is pending, with
/// its plan and the subscription it paid for.
///
/// # Errors
/// [`UiError::SignedOut`]; [`UiError::NotFound`] for another account's or an unknown transaction.
#[server(prefix = "/api/ui", endpoint = "plans/payment")]
pub async fn get_payment_result(transaction: String) -> Result<PaymentResult, UiError> {
    crate::server::pages::portal::payment_result(transaction).await
}

/// Page `page` (1-based) of the viewer's transactions.
///
/// # Errors
/// [`UiError::SignedOut`]; [`tariff_model::Message::ServerError`].
#[server(prefix = "/api/ui", endpoint = "payments/page")]
pub async fn get_transaction_page(page: i64) -> Result<Page<Transaction>, UiError> {
    crate::server::pages::portal::transaction_page(page).await
}

/// The viewer's meters for every metric, daily totals of the current period and recent events.
///
/// # Errors
/// [`UiError::SignedOut`]; [`tariff_model::Message::ServerError`].
#[server(prefix = "/api/ui", endpoint = "usage/report")]
pub async fn get_usage_report() -> Result<UsageReport, UiError> {
    crate::server::pages::portal::usage_report().await
}

/// The viewer's tokens, newest first, and the secret of a token created a moment ago (shown
/// exactly once).
///
/// # Errors
/// [`UiError::SignedOut`]; [`tariff_model::Message::ServerError`].
#[server(prefix = "/api/ui", endpoint = "tokens/list")]
pub async fn get_token_list() -> Result<TokenList, UiError> {
    crate::server::pages::portal::token_list().await
}

/// Creates a `user`-scope token named `name` for the viewer; the list shows its secret once.
///
/// # Errors
/// [`UiError::SignedOut`]; a field message for an empty or over-long name.
#[server(prefix = "/api/ui", endpoint = "tokens/create")]
pub async fn create_token(name: String) -> Result<(), UiError> {
    crate::server::pages::portal::create_token(name).await
}

/// Revokes one of the viewer's tokens; requests with it get 401 from then on.
///
/// # Errors
/// [`UiError::SignedOut`]; [`UiError::NotFound`] for a token that is not the viewer's or is
/// already revoked.
#[server(prefix = "/api/ui", endpoint = "tokens/revoke")]
pub async fn revoke_token(id: String) -> Result<(), UiError> {
    crate::server::pages::portal::revoke_token(id).await
}

/// Changes the viewer's plan to `plan_id` (`POST /api/v1/billing/subscription/change`): an
/// upgrade is charged the prorated amount on the saved card and applies now, a downgrade is
/// scheduled for the period's end. Answers where to send the payer when they must confirm a
/// payment (or follow one still pending), `None` when the change is done; a plain form post is
/// redirected there.
///
/// # Errors
/// [`UiError::SignedOut`]; a message for the current, an inactive or an unknown plan, a paused
/// subscription, a declined card (402) or a refusing gateway.
#[server(prefix = "/api/ui", endpoint = "billing/change")]
pub async fn change_plan(plan_id: String) -> Result<Option<String>, UiError> {
    crate::server::pages::portal::change_plan(plan_id).await
}

/// Withdraws the scheduled downgrade: the plan renews as it is.
///
/// # Errors
/// [`UiError::SignedOut`]; a message when no change is scheduled.
#[server(prefix = "/api/ui", endpoint = "billing/change/cancel")]
pub async fn cancel_plan_change() -> Result<Subscription, UiError> {
    crate::server::pages::portal::cancel_plan_change().await
}

/// Starts the trial of `plan_id` without payment (once per plan family).
///
/// # Errors
/// [`UiError::SignedOut`]; a message when the trial was had already, a paid plan is running or
/// the plan has no trial.
#[server(prefix = "/api/ui", endpoint = "billing/trial")]
pub async fn start_trial(plan_id: String) -> Result<Subscription, UiError> {
    crate::server::pages::portal::start_trial(plan_id).await
}

/// Starts the trial's card check (1 ₽, refunded at once) and answers the payment page; a plain
/// form post is redirected there. YooKassa brings the payer back to `/billing`.
///
/// # Errors
/// [`UiError::SignedOut`]; a message when the subscription is not a trial or payments are
/// unavailable.
#[server(prefix = "/api/ui", endpoint = "billing/card")]
pub async fn add_card() -> Result<String, UiError> {
    crate::server::pages::portal::add_card().await
}

/// Pauses (`pause = true`) or resumes the viewer's subscription. Resuming starts a fresh period,
/// charged to the saved card like a renewal.
///
/// # Errors
/// [`UiError::SignedOut`]; a message when the plan does not allow pausing, or the subscription
/// is not running (pause) or not paused (resume).
#[server(prefix = "/api/ui", endpoint = "billing/pause")]
pub async fn pause_subscription(pause: bool) -> Result<Subscription, UiError> {
    crate::server::pages::portal::pause_subscription(pause).await
}

/// Which customer emails the viewer gets, and whether this server sends emails at all.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EmailSettings {
    pub preferences: tariff_model::events::EmailPreferences,
    /// `SMTP_URL` is set: emails are sent.
    pub emails_on: bool,
}

/// The viewer's email preferences.
///
/// # Errors
/// [`UiError::SignedOut`]; [`tariff_model::Message::ServerError`].
#[server(prefix = "/api/ui", endpoint = "settings/notifications")]
pub async fn get_email_settings() -> Result<EmailSettings, UiError> {
    crate::server::pages::portal::email_settings().await
}

/// Saves the viewer's email preferences from the form: `on` holds the kinds ticked (every kind
/// not in it is turned off).
///
/// # Errors
/// [`UiError::SignedOut`]; [`tariff_model::Message::ServerError`].
#[server(prefix = "/api/ui", endpoint = "settings/notifications/save")]
pub async fn save_email_settings(on: Option<std::collections::BTreeMap<String, String>>) -> Result<(), UiError> {
    crate::server::pages::portal::save_email_settings(on.unwrap_or_default()).await
}
