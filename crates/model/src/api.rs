//! Request and response bodies of the JSON API that are not an entity themselves (spec 000
//! "User Endpoints" and "Admin Endpoints", spec 003 "API Endpoints"). One place for a client
//! author to read; the handlers parse into and answer with exactly these.

use super::{Plan, QuotaStatus, Subscription, Transaction, usage::UsageRow};
use serde::{Deserialize, Serialize};

/// `?user_id=` for service tokens: act for that user.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct ForUser {
    #[cfg_attr(feature = "openapi", param(nullable = false))]
    pub user_id: Option<String>,
}

/// Body of `POST /api/v1/billing/subscription/cancel`: `immediate` ends the subscription now;
/// otherwise it ends at `current_period_end`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CancelBody {
    #[serde(default)]
    pub immediate: bool,
    pub user_id: Option<String>,
}

/// Body of `POST /api/v1/billing/payment`: the plan to pay for and where YooKassa sends the payer
/// back to (http(s), at most 2,048 characters).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentBody {
    pub plan_id: String,
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^https?://", max_length = 2048, example = "https://app.example.ru/billing/return")
    )]
    pub return_url: String,
    pub user_id: Option<String>,
}

/// What `POST /api/v1/billing/payment` answers: where to send the payer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Checkout {
    pub transaction_id: String,
    pub payment_id: String,
    pub confirmation_url: String,
    /// YooKassa's status of the new payment, normally `pending`.
    pub status: String,
}

/// Query of `GET /api/v1/billing/transactions`: `page` from 1, `page_size` 1–200 (default 50).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct TransactionsQuery {
    #[cfg_attr(feature = "openapi", param(nullable = false))]
    pub user_id: Option<String>,
    /// Page number, from 1.
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 1_000_000, nullable = false))]
    pub page: Option<i64>,
    /// Rows per page (default 50).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200, nullable = false))]
    pub page_size: Option<i64>,
}

/// Query of `GET /api/v1/billing/usage`: the usage history, newest first. `metric` keeps metric
/// events of that metric, `feature` feature charges of that feature (both: both); `from`/`to`
/// bound `created_at` (Unix seconds, `[from, to)`).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct UsageHistoryQuery {
    #[cfg_attr(feature = "openapi", param(nullable = false))]
    pub user_id: Option<String>,
    #[cfg_attr(feature = "openapi", param(value_type = Option<crate::Metric>, nullable = false))]
    pub metric: Option<String>,
    #[cfg_attr(feature = "openapi", param(nullable = false, pattern = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"))]
    pub feature: Option<String>,
    #[cfg_attr(feature = "openapi", param(nullable = false, minimum = 0))]
    pub from: Option<i64>,
    #[cfg_attr(feature = "openapi", param(nullable = false, minimum = 0))]
    pub to: Option<i64>,
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 1_000_000, nullable = false))]
    pub page: Option<i64>,
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200, nullable = false))]
    pub page_size: Option<i64>,
}

/// One line of the usage history: a metric event (`kind: metric`, `name` the metric) or a
/// feature charge (`kind: feature`, `name` the feature), with what it cost from the balance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageHistoryItem {
    pub id: String,
    /// `metric` or `feature`.
    pub kind: String,
    pub name: String,
    /// Units used (the metric's unit, or the feature's).
    pub units: i64,
    /// Feature charges: units taken from the plan's included units.
    pub from_included: i64,
    /// Paid from the balance, decimal in major units (0 within the quota or included units).
    pub charged: f64,
    pub charged_micros: i64,
    pub event_id: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// The whole billing picture of a user (`GET /api/v1/billing/me`): subscription and plan, every
/// metric's standing, the 20 latest usage events, the 10 latest transactions and the balance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BillingInfo {
    pub user_id: String,
    /// The account billed now: the user's own, or the organisation in `organization`.
    pub account_id: String,
    pub organization: Option<super::org::CurrentOrganization>,
    pub email: String,
    pub subscription: Option<Subscription>,
    pub plan: Option<Plan>,
    pub usage: Vec<QuotaStatus>,
    pub recent_usage: Vec<UsageRow>,
    pub transactions: Vec<Transaction>,
    /// The account's pay-as-you-go balance (seed 004).
    pub balance: super::Balance,
}

/// One line of `GET /api/v1/billing/limits`: a metric's quota or a feature's included units in
/// the current period. `included` and `remaining` are `null` for an unlimited metric.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Limit {
    /// The metric (`tokens_input`, ...) or the feature's name.
    pub name: String,
    pub included: Option<i64>,
    pub used: i64,
    pub remaining: Option<i64>,
    /// Unix seconds; the limits start again after it.
    pub period_end: i64,
}

/// What `GET /api/v1/billing/limits` answers (seed 004 `check_limit()`): every metric and every
/// feature the plan includes units of, in the current period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Limits {
    pub period_start: i64,
    pub period_end: i64,
    pub metrics: Vec<Limit>,
    pub features: Vec<Limit>,
}

/// Optional body of `POST /api/v1/admin/billing/plans/{plan_id}/duplicate`: the copy's id and name.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DuplicateBody {
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$"))]
    pub id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub name: Option<String>,
}

/// Query of the subscriber list of a plan.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct SubscribersQuery {
    /// `active`, `trialing`, `past_due`, `canceled` or `paused`.
    #[cfg_attr(feature = "openapi", param(value_type = Option<super::SubscriptionStatus>, nullable = false))]
    pub status: Option<String>,
    /// Only subscribers whose email contains this text (case-insensitive).
    #[cfg_attr(feature = "openapi", param(nullable = false))]
    pub email: Option<String>,
    /// Page number, from 1.
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 1_000_000, nullable = false))]
    pub page: Option<i64>,
    /// Rows per page (default 50).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200, nullable = false))]
    pub page_size: Option<i64>,
}

/// Query of the audit list; times are Unix seconds (`since` inclusive, `until` exclusive).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct AuditQuery {
    #[cfg_attr(feature = "openapi", param(nullable = false))]
    pub entity_type: Option<String>,
    #[cfg_attr(feature = "openapi", param(nullable = false))]
    pub entity_id: Option<String>,
    #[cfg_attr(feature = "openapi", param(nullable = false))]
    pub user_id: Option<String>,
    #[cfg_attr(feature = "openapi", param(nullable = false))]
    pub action: Option<String>,
    #[cfg_attr(feature = "openapi", param(nullable = false))]
    pub since: Option<i64>,
    #[cfg_attr(feature = "openapi", param(nullable = false))]
    pub until: Option<i64>,
    /// Page number, from 1.
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 1_000_000, nullable = false))]
    pub page: Option<i64>,
    /// Rows per page (default 50).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200, nullable = false))]
    pub page_size: Option<i64>,
}

/// Body of `POST /api/v1/admin/billing/subscriptions`: assign or comp `plan_id` to `user_id` now.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssignBody {
    /// The user whose billing account gets the plan; or name `organization_id` instead.
    pub user_id: Option<String>,
    /// The organisation that gets the plan (exactly one of `user_id` and `organization_id`).
    pub organization_id: Option<String>,
    pub plan_id: String,
}

/// Body of the refund route: `amount` in major units (`300.00`, at most two decimals); omitted =
/// everything not yet refunded.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefundBody {
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>, example = 300.00))]
    pub amount: Option<super::money::DecimalText>,
}

/// The answer of `DELETE /api/v1/admin/billing/plans/{plan_id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deleted {
    pub id: String,
    pub deleted: bool,
}

/// `GET /healthz`: `{"status": "ok", "database": "ok"}`, or `error` / `unreachable` with 503.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub database: String,
}

/// What the YooKassa notification route answers once the notification is stored: `{"status": "ok"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledged {
    pub status: String,
}

/// Body of `POST /api/v1/billing/subscription/change`: the plan to move to, and where YooKassa
/// sends the payer back to when an upgrade must be confirmed (no saved card).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeBody {
    pub plan_id: String,
    #[cfg_attr(feature = "openapi", schema(pattern = "^https?://", max_length = 2048))]
    pub return_url: Option<String>,
    pub user_id: Option<String>,
}

/// Body of `POST /api/v1/billing/subscription/trial`: the plan whose trial to start.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrialBody {
    pub plan_id: String,
    pub user_id: Option<String>,
}

/// Body of `POST /api/v1/admin/billing/clock`: how far to move the sandbox's clock forward.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClockBody {
    /// Seconds, 1 to 5 years' worth (5 × 366 days).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 158_112_000))]
    #[serde(deserialize_with = "crate::money::whole_number")]
    pub advance_seconds: i64,
}

/// The sandbox's clock: the server's "now" and how far it runs ahead of the wall clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClockState {
    /// Unix seconds.
    pub now: i64,
    pub offset_seconds: i64,
    /// How many times the scheduler ran to reach `now` (each due moment in order, then `now`).
    #[serde(default)]
    pub runs: i64,
}

/// Body of the admin's `POST /api/v1/admin/billing/subscriptions/{id}/change`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminChangeBody {
    pub plan_id: String,
    /// `true`: charge the prorated difference (upgrades) or wait for the period's end
    /// (downgrades), as a user's change would; `false` (default): switch now, no charge.
    #[serde(default)]
    pub prorate: bool,
}

/// Query of `GET /api/v1/billing/subscription/change/preview`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct PreviewQuery {
    /// The plan to change to.
    pub plan_id: String,
    /// Service tokens: the user to act for.
    #[cfg_attr(feature = "openapi", param(nullable = false))]
    pub user_id: Option<String>,
}

/// Body of `POST /api/v1/billing/subscription/card`: where YooKassa sends the payer back to
/// after the 1 ₽ card check of a trial.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CardBody {
    #[cfg_attr(feature = "openapi", schema(pattern = "^https?://", max_length = 2048))]
    pub return_url: String,
    pub user_id: Option<String>,
}

/// Query of `GET /api/v1/admin/billing/stats/mrr`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct MrrQuery {
    /// Calendar months to show, the current one included: 1 to 60 (default 12).
    #[cfg_attr(feature = "openapi", param(nullable = false, minimum = 1, maximum = 60))]
    pub months: Option<i64>,
}
