//! Usage and quota shapes of the JSON API (spec 003 "Проверить квоту", "Получить использование").

use super::plan::Metric;
use serde::{Deserialize, Serialize};

/// Where an account stands on one metric in its current period. `quota_limit` and `remaining`
/// are `null` when the metric is unlimited. Units are the metric's own (tokens, requests, images,
/// minutes); the period is `[period_start, period_end)` in Unix seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuotaStatus {
    /// Whether `requested` more units fit within the quota.
    pub allowed: bool,
    pub metric: Metric,
    pub requested: i64,
    pub current_usage: i64,
    pub quota_limit: Option<i64>,
    pub remaining: Option<i64>,
    pub period_start: i64,
    pub period_end: i64,
    /// For `POST /usage/check` only: how `requested` would be covered — `quota`, `balance`
    /// (pay-as-you-go overage at the plan's `overage` price) or `null` when it cannot be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covered_by: Option<CoveredBy>,
    /// For `POST /usage/check` only: what covering `requested` would cost from the balance,
    /// decimal in major units (0 within the quota).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// The same exactly, in micro-minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_micros: Option<i64>,
}

crate::states::string_enum! {
    /// What pays for usage: the plan's quota, or the balance beyond it.
    pub enum CoveredBy as "coverage" {
        Quota = "quota",
        Balance = "balance",
    }
}

/// One usage event as a client reports it (`POST /api/v1/billing/usage`, and each element of a
/// batch). `amount` is in the metric's unit; `metric` stays a string so that an unknown one is
/// answered 404 (single events) or named as a field (batches).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageEvent {
    /// With a service token: the user the usage belongs to.
    pub user_id: Option<String>,
    /// Bill this organisation (the user must be a member, else 403) instead of the user's
    /// current billing account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::Metric))]
    pub metric: String,
    #[serde(deserialize_with = "crate::money::whole_number")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1_000_000_000_000_i64))]
    pub amount: i64,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub model_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub chat_id: Option<String>,
    /// Client-chosen id; a repeated id is acknowledged and counted once per account.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub event_id: Option<String>,
    #[serde(alias = "extra_metadata")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<serde_json::Value>,
}

/// What recording one event did (`POST /api/v1/billing/usage`: 201 when recorded, 200 for a
/// repeated `event_id`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tracked {
    /// False when the `event_id` had been recorded before (nothing was counted now).
    pub recorded: bool,
    pub duplicate: bool,
    pub usage: QuotaStatus,
    /// Units beyond the quota paid from the balance (pay-as-you-go overage); 0 for none.
    #[serde(default)]
    pub overage_units: i64,
    /// What the overage cost, decimal in major units.
    #[serde(default)]
    pub charged: f64,
    /// The same exactly, in micro-minor units.
    #[serde(default)]
    pub charged_micros: i64,
}

/// Body of `POST /api/v1/billing/usage/batch` (service tokens): up to 1,000 events.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchBody {
    pub events: Vec<UsageEvent>,
}

/// What a batch did: events counted now, and events whose `event_id` was already recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchOutcome {
    pub accepted: usize,
    pub duplicates: usize,
}

fn one() -> i64 {
    1
}

/// Body of `POST /api/v1/billing/usage/check`: would `amount` (default 1) more units fit?
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckBody {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::Metric))]
    pub metric: String,
    #[serde(default = "one", deserialize_with = "crate::money::whole_number")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1_000_000_000_000_i64))]
    pub amount: i64,
    pub user_id: Option<String>,
    /// Ask about this organisation's pool (the user must be a member, else 403).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
}

/// A recorded usage event, as listed to its account. `metric` is the metric's name; `amount` its
/// unit; `created_at` Unix seconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageRow {
    pub id: String,
    pub user_id: String,
    pub metric: String,
    pub amount: i64,
    pub model_id: Option<String>,
    pub chat_id: Option<String>,
    pub event_id: Option<String>,
    pub created_at: i64,
    /// What the event cost from the balance (pay-as-you-go overage), micro-minor units.
    #[serde(default)]
    pub charged_micros: i64,
}

crate::states::string_enum! {
    /// Where a reservation stands: `held` until it is committed, released or expires.
    pub enum ReservationStatus as "reservation status" {
        Held = "held",
        Committed = "committed",
        Released = "released",
        Expired = "expired",
    }
}

/// Body of `POST /api/v1/billing/usage/reservations`: hold `amount` units of `metric` (an
/// estimate of a call whose cost is known only afterwards, e.g. a streamed completion) for
/// `ttl_seconds` (default 300, at most 3,600).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReservationBody {
    /// With a service token: the user the usage belongs to.
    pub user_id: Option<String>,
    /// Bill this organisation (the user must be a member) instead of the current account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::Metric))]
    pub metric: String,
    #[serde(deserialize_with = "crate::money::whole_number")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1_000_000_000_000_i64))]
    pub amount: i64,
    #[serde(default, deserialize_with = "crate::money::optional_whole_number")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3600))]
    pub ttl_seconds: Option<i64>,
}

/// Body of `POST /api/v1/billing/usage/reservations/{id}/commit`: the units actually used, more
/// or less than held.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommitBody {
    #[serde(deserialize_with = "crate::money::whole_number")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1_000_000_000_000_i64))]
    pub amount: i64,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub model_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub chat_id: Option<String>,
    #[serde(alias = "extra_metadata")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<serde_json::Value>,
}

/// A reservation (hold) of usage. While `held`, its `amount` counts as used in every quota
/// check; the part beyond the quota, on a plan with an overage price, is held on the balance
/// (`held_balance`, taken from it and given back on release or expiry).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reservation {
    pub id: String,
    pub user_id: String,
    pub account_id: String,
    pub metric: Metric,
    /// Units held.
    pub amount: i64,
    pub status: ReservationStatus,
    /// `quota` when the quota holds all of it, `balance` when part is held on the balance.
    pub covered_by: CoveredBy,
    /// What is held on the balance, decimal in major units (0 within the quota).
    pub held_balance: f64,
    /// The same exactly, micro-minor units.
    pub held_balance_micros: i64,
    /// Unix seconds; a hold not committed or released by then frees itself.
    pub expires_at: i64,
    pub created_at: i64,
    /// The units committed (set once `committed`).
    pub committed_amount: Option<i64>,
    /// The usage event the commit recorded.
    pub usage_id: Option<String>,
    /// Where the metric stands after this call (holds count as used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<QuotaStatus>,
    /// What the commit cost beyond the quota, micro-minor units (0 within the quota).
    #[serde(default)]
    pub charged_micros: i64,
}
