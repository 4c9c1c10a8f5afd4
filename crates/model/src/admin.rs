//! Shapes of the admin dashboard and the admin JSON API: plan statistics and MRR, subscribers,
//! users, audit entries. Amounts are minor units (with decimal twins where the API has them),
//! times Unix seconds.

use super::{Currency, Locale, Plan, QuotaStatus, Role, Subscription, SubscriptionStatus, Transaction};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One plan with its subscription counts and MRR (admin plan list, spec 000 "Get all plans with stats").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanWithStats {
    #[serde(flatten)]
    pub plan: Plan,
    pub active_subscriptions: i64,
    pub trialing_subscriptions: i64,
    pub past_due_subscriptions: i64,
    pub canceled_subscriptions: i64,
    pub paused_subscriptions: i64,
    pub total_subscriptions: i64,
    /// MRR in the plan's currency, decimal major units.
    pub mrr: f64,
    pub mrr_minor: i64,
    pub committed_mrr: f64,
    pub committed_mrr_minor: i64,
}

/// MRR totals of one currency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CurrencyMrr {
    pub currency: Currency,
    pub mrr: f64,
    pub mrr_minor: i64,
    pub committed_mrr: f64,
    pub committed_mrr_minor: i64,
}

/// Subscription counts over all plans plus MRR per currency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Totals {
    pub mrr: Vec<CurrencyMrr>,
    pub active_subscriptions: i64,
    pub trialing_subscriptions: i64,
    pub past_due_subscriptions: i64,
    pub canceled_subscriptions: i64,
    pub total_subscriptions: i64,
}

/// One subscriber of a plan, with the user's email and name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscriberRow {
    pub subscription_id: String,
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub status: SubscriptionStatus,
    pub current_period_start: i64,
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    pub created_at: i64,
}

/// An audit entry as listed (`changes` and `audit_metadata` parsed back to JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRow {
    pub id: String,
    pub user_id: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub description: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub changes: Option<serde_json::Value>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub audit_metadata: Option<serde_json::Value>,
    pub created_at: i64,
}

/// Average revenue per paying subscription in one currency: MRR ÷ paying subscriptions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrencyArpu {
    pub currency: Currency,
    pub arpu_minor: i64,
    pub paying_subscriptions: i64,
}

/// The admin overview (`/admin`): MRR, subscriber counts, 30-day movement, ARPU and MRR by plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminOverview {
    pub totals: Totals,
    pub plans: Vec<PlanWithStats>,
    /// Subscriptions to paid plans started in the last 30 days.
    pub new_30d: i64,
    /// Subscriptions to paid plans that ended (status `canceled`) in the last 30 days.
    pub churned_30d: i64,
    pub arpu: Vec<CurrencyArpu>,
    /// The sum of all account balances per currency (prepaid liability), micro-minor units.
    pub prepaid_balances: Vec<(super::Currency, i64)>,
    /// Pay-as-you-go revenue of the last 30 days per currency (what charges took from
    /// balances), micro-minor units.
    pub payg_revenue_30d: Vec<(super::Currency, i64)>,
    /// When the figures were computed, Unix seconds.
    pub as_of: i64,
}

/// The admin dashboard's home (`/admin`): the overview's figures, MRR month by month with its
/// movements (the last 12 months), and the sandbox's test clock (`None` without the sandbox).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminHome {
    pub overview: AdminOverview,
    pub mrr: MrrSeries,
    pub clock: Option<crate::api::ClockState>,
}

/// One user in the admin's user list, with their live subscription's plan and status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub created_at: i64,
    pub plan_id: Option<String>,
    pub plan_name: Option<String>,
    /// The live subscription's status; `None` without one.
    pub status: Option<SubscriptionStatus>,
}

/// A user as the admin sees them (`/admin/users/{id}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserDetail {
    pub user: UserSummary,
    pub subscription: Option<Subscription>,
    pub meters: Vec<QuotaStatus>,
    pub transactions: Vec<Transaction>,
    /// How much of each refundable transaction (by id) may still be refunded, in minor units;
    /// transactions that cannot be refunded are absent.
    pub refundable_minor: BTreeMap<String, i64>,
    /// Every plan, for the assign/comp form.
    pub plans: Vec<Plan>,
    /// The account's pay-as-you-go balance with its newest ledger entries.
    pub balance: super::Balance,
    /// The organisations the user belongs to, with their role.
    pub organizations: Vec<super::org::OrganizationSummary>,
}

/// An organisation as the admin sees it (`/admin/orgs/{id}`): like [`UserDetail`] for its
/// shared account, with members, invitations and usage by member.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrgDetail {
    pub organization: super::org::Organization,
    pub usage: super::org::OrganizationUsage,
    pub subscription: Option<Subscription>,
    pub meters: Vec<QuotaStatus>,
    pub transactions: Vec<Transaction>,
    /// How much of each refundable transaction (by id) may still be refunded, minor units.
    pub refundable_minor: BTreeMap<String, i64>,
    /// Every plan, for the assign/comp form.
    pub plans: Vec<Plan>,
    pub balance: super::Balance,
}

/// A person who signs in for an account (the password hash stays in the server's store).
/// `created_at` is Unix seconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub locale: Locale,
    pub created_at: i64,
}

/// Filters of the audit list; `None` means any. Times are Unix seconds, `since` inclusive,
/// `until` exclusive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub user_id: Option<String>,
    pub action: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
}

/// One calendar month (UTC) of MRR in one currency: MRR at the month's end and what moved it
/// during the month, by movement kind (minor units; churn and contraction are negative).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MrrMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// The month's first second and the next month's first second (Unix seconds).
    pub start: i64,
    pub end: i64,
    /// MRR at the end of the month (or now, for the current month).
    pub mrr: f64,
    pub mrr_minor: i64,
    pub new_minor: i64,
    pub expansion_minor: i64,
    pub contraction_minor: i64,
    pub churn_minor: i64,
    pub reactivation_minor: i64,
    /// The sum of the five.
    pub net_minor: i64,
}

/// MRR month by month in one currency, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CurrencyMrrSeries {
    pub currency: Currency,
    pub points: Vec<MrrMonth>,
}

/// `GET /api/v1/admin/billing/stats/mrr?months=12`: the last `months` calendar months (the
/// current one included) per currency that ever had MRR.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MrrSeries {
    pub months: i64,
    pub currencies: Vec<CurrencyMrrSeries>,
}
