//! The admin dashboard's server functions: revenue overview, plans and the plan editor, users
//! and subscribers, assigning plans, refunds and the audit log. Each answers 403
//! ([`UiError::Forbidden`]) to a viewer who is not an admin.

use super::UiError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tariff_model::Plan;
use tariff_model::admin::{AdminHome, AuditRow, PlanWithStats, SubscriberRow, UserDetail, UserSummary};
use tariff_model::portal::Page;

/// Rows per page of the admin's user and subscriber lists.
pub const PAGE_SIZE: i64 = 25;
/// Entries per page of the audit log.
pub const AUDIT_PAGE_SIZE: i64 = 50;

/// Filters of the audit page; empty strings mean "any".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilters {
    /// `plan`, `subscription`, `transaction`, … optionally `type:id` for one entity.
    pub entity: String,
    /// The acting user's id or email, or `system`, `system:cli`.
    pub actor: String,
    /// `plan.update`, `subscription.assign`, `transaction.refund`, …
    pub action: String,
}

/// The overview's figures, the MRR series of the last 12 months, and the test clock (sandbox).
///
/// # Errors
/// [`UiError::SignedOut`], [`UiError::Forbidden`]; [`tariff_model::Message::ServerError`].
#[server(prefix = "/api/ui", endpoint = "admin/overview")]
pub async fn get_admin_overview() -> Result<AdminHome, UiError> {
    crate::server::pages::admin::overview().await
}

/// Moves the sandbox's test clock forward by `days` (whole days, 1 to 1,826) and runs what falls
/// due on the way (audited).
///
/// # Errors
/// [`UiError::Forbidden`]; [`UiError::NotFound`] when the sandbox is off; a field message
/// (`days`) for anything but a whole number of days in range.
#[server(prefix = "/api/ui", endpoint = "admin/clock")]
pub async fn advance_clock(days: String) -> Result<tariff_model::api::ClockState, UiError> {
    crate::server::pages::admin::advance_clock(days).await
}

/// Every plan with its statistics.
///
/// # Errors
/// [`UiError::SignedOut`], [`UiError::Forbidden`]; [`tariff_model::Message::ServerError`].
#[server(prefix = "/api/ui", endpoint = "admin/plans")]
pub async fn get_admin_plans() -> Result<Vec<PlanWithStats>, UiError> {
    crate::server::pages::admin::plans().await
}

/// Flips a plan between active and inactive (audited).
///
/// # Errors
/// [`UiError::Forbidden`]; [`UiError::NotFound`].
#[server(prefix = "/api/ui", endpoint = "admin/plans/toggle")]
pub async fn toggle_plan(id: String) -> Result<(), UiError> {
    crate::server::pages::admin::toggle_plan(id).await
}

/// Copies a plan under a new id, inactive (audited). Returns the copy's id.
///
/// # Errors
/// [`UiError::Forbidden`]; [`UiError::NotFound`].
#[server(prefix = "/api/ui", endpoint = "admin/plans/duplicate")]
pub async fn duplicate_plan(id: String) -> Result<String, UiError> {
    crate::server::pages::admin::duplicate_plan(id).await
}

/// Deletes a plan nothing refers to (audited).
///
/// # Errors
/// [`UiError::Forbidden`]; a message when subscriptions or payments refer to the plan.
#[server(prefix = "/api/ui", endpoint = "admin/plans/delete")]
pub async fn delete_plan(id: String) -> Result<(), UiError> {
    crate::server::pages::admin::delete_plan(id).await
}

/// The plan to edit with its statistics (`None` for a new plan, whose form starts empty).
///
/// # Errors
/// [`UiError::SignedOut`], [`UiError::Forbidden`]; [`UiError::NotFound`] for an unknown plan.
#[server(prefix = "/api/ui", endpoint = "admin/plans/get")]
pub async fn get_plan_for_edit(id: Option<String>) -> Result<Option<PlanWithStats>, UiError> {
    crate::server::pages::admin::plan_for_edit(id).await
}

/// Creates (`id` empty) or updates a plan from the editor's fields. A price change on an
/// existing plan needs `confirm_price`. On success goes back to the plan list.
///
/// # Errors
/// [`UiError::Forbidden`]; [`UiError::Fields`] naming each field that is wrong, including
/// `quotas.<metric>` when lowering a quota of a plan with subscribers and `price` for an
/// unconfirmed price change.
#[server(prefix = "/api/ui", endpoint = "admin/plans/save")]
pub async fn save_plan(id: String, fields: BTreeMap<String, String>) -> Result<(), UiError> {
    crate::server::pages::admin::save_plan(id, fields).await
}

/// A page of users, newest first, optionally only emails containing `email` and of one
/// subscription `status` (`canceled`: no live subscription).
///
/// # Errors
/// [`UiError::SignedOut`], [`UiError::Forbidden`]; a field message for an unknown status.
#[server(prefix = "/api/ui", endpoint = "admin/users")]
pub async fn get_admin_users(
    email: Option<String>,
    status: Option<String>,
    page: i64,
) -> Result<Page<UserSummary>, UiError> {
    crate::server::pages::admin::users(email, status, page).await
}

/// A plan's subscribers: the plan and a page of them, optionally of one status and only emails
/// containing `email`.
///
/// # Errors
/// [`UiError::Forbidden`]; [`UiError::NotFound`] for an unknown plan; a field message for an
/// unknown status.
#[server(prefix = "/api/ui", endpoint = "admin/subscribers")]
pub async fn get_plan_subscribers(
    plan_id: String,
    status: Option<String>,
    email: Option<String>,
    page: i64,
) -> Result<(Plan, Page<SubscriberRow>), UiError> {
    crate::server::pages::admin::subscribers(plan_id, status, email, page).await
}

/// Everything about one user.
///
/// # Errors
/// [`UiError::Forbidden`]; [`UiError::NotFound`] for an unknown user.
#[server(prefix = "/api/ui", endpoint = "admin/user")]
pub async fn get_admin_user(id: String) -> Result<UserDetail, UiError> {
    crate::server::pages::admin::user(id).await
}

/// Puts the user on `plan_id` now, paid or not (assign or comp; audited).
///
/// # Errors
/// [`UiError::Forbidden`]; [`UiError::NotFound`] for an unknown user or plan.
#[server(prefix = "/api/ui", endpoint = "admin/assign")]
pub async fn assign_plan(user_id: String, plan_id: String) -> Result<(), UiError> {
    crate::server::pages::admin::assign(user_id, plan_id).await
}

/// Pauses (`pause = true`) or resumes subscription `subscription_id` (audited). Resuming starts
/// a fresh period charged like a renewal.
///
/// # Errors
/// [`UiError::Forbidden`]; [`UiError::NotFound`] for an unknown or ended subscription; a message
/// when it is paused already (pause) or not paused (resume).
#[server(prefix = "/api/ui", endpoint = "admin/pause")]
pub async fn admin_pause(subscription_id: String, pause: bool) -> Result<(), UiError> {
    crate::server::pages::admin::pause(subscription_id, pause).await
}

/// Changes subscription `subscription_id` to `plan_id` (audited): with `prorate` (`"true"`) as
/// the user's own change (an upgrade charged the prorated amount on the saved card, a downgrade
/// scheduled for the period's end); without, the plan switches now with no charge.
///
/// # Errors
/// [`UiError::Forbidden`]; [`UiError::NotFound`]; a message for the current, an inactive or
/// another currency's plan, a prorated upgrade without a saved card, or a declined card.
#[server(prefix = "/api/ui", endpoint = "admin/change")]
pub async fn admin_change_plan(
    subscription_id: String,
    plan_id: String,
    prorate: Option<String>,
) -> Result<(), UiError> {
    crate::server::pages::admin::change_plan(subscription_id, plan_id, prorate.is_some_and(|p| p == "true")).await
}

/// Refunds `amount` (decimal, e.g. `300.00`; empty for everything not yet refunded) of a
/// payment through YooKassa (audited).
///
/// # Errors
/// [`UiError::Forbidden`]; a field message (`amount`) for an unreadable amount or one larger
/// than what is left; a message when YooKassa refuses or cannot be reached.
#[server(prefix = "/api/ui", endpoint = "admin/refund")]
pub async fn refund_payment(transaction_id: String, amount: String) -> Result<(), UiError> {
    crate::server::pages::admin::refund(transaction_id, amount).await
}

/// Credits (positive `amount`, decimal such as `50.00`) or debits (negative) a user's balance by
/// hand, with a required `reason`; never below zero (audited).
///
/// # Errors
/// [`UiError::Forbidden`]; field messages on `amount` (unreadable, zero, a debit beyond the
/// balance) and `reason` (empty).
#[server(prefix = "/api/ui", endpoint = "admin/balance")]
pub async fn adjust_balance(user_id: String, amount: String, reason: String) -> Result<(), UiError> {
    crate::server::pages::admin::adjust_balance(user_id, amount, reason).await
}

/// Every priced feature, active or not (`/admin/features`).
///
/// # Errors
/// [`UiError::Forbidden`] for non-admins; [`tariff_model::Message::ServerError`].
#[server(prefix = "/api/ui", endpoint = "admin/features")]
pub async fn get_admin_features() -> Result<Vec<tariff_model::Feature>, UiError> {
    crate::server::pages::admin::features().await
}

/// Creates (`create = true`) or updates a feature from the editor's `fields` (`name`, `title`,
/// `title_ru`, `unit_price` as a decimal such as `0.15`, `per_units`, `currency`, `access`,
/// `is_active` present when ticked). Audited.
///
/// # Errors
/// [`UiError::Forbidden`]; field messages for every bad field; a message when the name exists.
#[server(prefix = "/api/ui", endpoint = "admin/features/save")]
pub async fn save_feature(
    create: bool,
    fields: std::collections::BTreeMap<String, String>,
) -> Result<tariff_model::Feature, UiError> {
    let get = |name: &str| fields.get(name).cloned().unwrap_or_default();
    let form = crate::server::pages::admin::FeatureFields {
        name: get("name"),
        title: get("title"),
        title_ru: get("title_ru"),
        unit_price: get("unit_price"),
        per_units: get("per_units"),
        currency: get("currency"),
        access: get("access"),
        is_active: fields.contains_key("is_active"),
    };
    crate::server::pages::admin::save_feature(create, form).await
}

/// A page of audit entries matching `filters`, newest first.
///
/// # Errors
/// [`UiError::SignedOut`], [`UiError::Forbidden`]; [`tariff_model::Message::ServerError`].
#[server(prefix = "/api/ui", endpoint = "admin/audit")]
pub async fn get_audit(filters: AuditFilters, page: i64) -> Result<Page<AuditRow>, UiError> {
    crate::server::pages::admin::audit(filters, page).await
}

/// A page of organisations, newest first, optionally only those whose name or a member's email
/// contains `search` (`/admin/orgs`).
///
/// # Errors
/// [`UiError::Forbidden`] for non-admins; [`tariff_model::Message::ServerError`].
#[server(prefix = "/api/ui", endpoint = "admin/orgs")]
pub async fn get_admin_orgs(
    search: Option<String>,
    page: i64,
) -> Result<Page<tariff_model::org::OrganizationSummary>, UiError> {
    crate::server::pages::admin::orgs(search, page).await
}

/// Everything about one organisation (`/admin/orgs/{id}`).
///
/// # Errors
/// [`UiError::Forbidden`]; [`UiError::NotFound`] for an unknown organisation.
#[server(prefix = "/api/ui", endpoint = "admin/org")]
pub async fn get_admin_org(id: String) -> Result<tariff_model::admin::OrgDetail, UiError> {
    crate::server::pages::admin::org(id).await
}

/// Puts the organisation on `plan_id` now, paid or not (assign or comp; audited).
///
/// # Errors
/// [`UiError::Forbidden`]; [`UiError::NotFound`] for an unknown organisation or plan.
#[server(prefix = "/api/ui", endpoint = "admin/org/assign")]
pub async fn assign_org_plan(org_id: String, plan_id: String) -> Result<(), UiError> {
    crate::server::pages::admin::assign_org(org_id, plan_id).await
}

/// Credits (or with a negative amount debits) the organisation's shared balance (audited).
///
/// # Errors
/// [`UiError::Forbidden`]; field messages on `amount` and `reason`.
#[server(prefix = "/api/ui", endpoint = "admin/org/balance")]
pub async fn adjust_org_balance(org_id: String, amount: String, reason: String) -> Result<(), UiError> {
    crate::server::pages::admin::adjust_org_balance(org_id, amount, reason).await
}

/// A webhook endpoint with its newest deliveries, as `/admin/webhooks` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookEndpointView {
    pub endpoint: tariff_model::WebhookEndpoint,
    pub deliveries: Vec<tariff_model::WebhookDelivery>,
}

/// What `/admin/webhooks` shows: every endpoint, and the signing secret of the endpoint just
/// registered by a plain form post (`(url, secret)`, once; see [`save_webhook`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminWebhooks {
    pub endpoints: Vec<WebhookEndpointView>,
    pub fresh: Option<(String, String)>,
}

/// Deliveries shown per endpoint on `/admin/webhooks`.
pub const WEBHOOK_DELIVERIES_SHOWN: i64 = 20;

/// Every webhook endpoint with its newest deliveries, and a secret to show once (see
/// [`AdminWebhooks`]).
///
/// # Errors
/// [`UiError::SignedOut`], [`UiError::Forbidden`]; [`tariff_model::Message::ServerError`].
#[server(prefix = "/api/ui", endpoint = "admin/webhooks")]
pub async fn get_admin_webhooks() -> Result<AdminWebhooks, UiError> {
    crate::server::pages::admin::webhooks().await
}

/// Registers an endpoint (`id` empty) or changes one from the form's `fields` (`url`,
/// `description`, `event_types` comma-separated or `*`, `enabled` present when ticked). A new
/// endpoint's answer carries its secret, shown once; after a plain form post (no JavaScript),
/// which is answered with a redirect back to the page, the session keeps it sealed for the
/// page's next render ([`get_admin_webhooks`]). Audited.
///
/// # Errors
/// [`UiError::Forbidden`]; field messages for a bad URL or event type.
#[server(prefix = "/api/ui", endpoint = "admin/webhooks/save")]
pub async fn save_webhook(
    id: String,
    fields: BTreeMap<String, String>,
) -> Result<tariff_model::WebhookEndpoint, UiError> {
    crate::server::pages::admin::save_webhook(id, fields).await
}

/// Sends a test event to one endpoint (`action` = `test`), sends a delivery again
/// (`action` = `redeliver`, with `delivery_id`), or deletes the endpoint (`action` = `delete`).
/// Audited.
///
/// # Errors
/// [`UiError::Forbidden`]; [`tariff_model::Message::NotFound`].
#[server(prefix = "/api/ui", endpoint = "admin/webhooks/act")]
pub async fn webhook_action(
    endpoint_id: String,
    action: String,
    delivery_id: Option<String>,
) -> Result<String, UiError> {
    crate::server::pages::admin::webhook_action(endpoint_id, action, delivery_id).await
}
