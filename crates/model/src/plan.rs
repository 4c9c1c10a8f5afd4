//! Tariff plans, the metrics they put quotas on, and billing intervals.
//!
//! Field names follow the spec's `billing_plan` model (spec 000 "BillingPlan Entity", spec 001
//! "Data Model: Plans"); DESIGN.md adds `price_minor`, `trial_days` and `overage`.

use super::money::{Currency, decimal_from_minor};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A usage metric a plan can put a quota on (spec 000 "UsageMetric").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    TokensInput,
    TokensOutput,
    Requests,
    Images,
    AudioMinutes,
}

impl Metric {
    pub const ALL: [Metric; 5] =
        [Metric::TokensInput, Metric::TokensOutput, Metric::Requests, Metric::Images, Metric::AudioMinutes];

    /// The metric's wire and database name, e.g. `tokens_input`.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::TokensInput => "tokens_input",
            Metric::TokensOutput => "tokens_output",
            Metric::Requests => "requests",
            Metric::Images => "images",
            Metric::AudioMinutes => "audio_minutes",
        }
    }
}

crate::states::by_name!(Metric);

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a name that is not one of [`Metric::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown metric {0:?}")]
pub struct UnknownMetric(pub String);

impl FromStr for Metric {
    type Err = UnknownMetric;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Metric::ALL.into_iter().find(|m| m.as_str() == s).ok_or_else(|| UnknownMetric(s.to_owned()))
    }
}

/// How often a plan bills: one subscription period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Interval {
    Day,
    Week,
    Month,
    Year,
}

impl Interval {
    pub const ALL: [Interval; 4] = [Interval::Day, Interval::Week, Interval::Month, Interval::Year];

    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Day => "day",
            Interval::Week => "week",
            Interval::Month => "month",
            Interval::Year => "year",
        }
    }
}

crate::states::by_name!(Interval);

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a name that is not one of [`Interval::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown interval {0:?}; use day, week, month or year")]
pub struct UnknownInterval(pub String);

impl FromStr for Interval {
    type Err = UnknownInterval;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Interval::ALL.into_iter().find(|i| i.as_str() == s).ok_or_else(|| UnknownInterval(s.to_owned()))
    }
}

/// Quota limits per metric, in the metric's own unit per subscription period.
/// A missing key or a `null` limit means unlimited for that metric (DESIGN.md "Plans").
pub type Quotas = BTreeMap<Metric, Option<i64>>;

/// A tariff plan as the JSON API and the UI see it.
///
/// `price` is the spec's decimal price in major units and always equals `price_minor / 100`;
/// `price_minor` is the authoritative amount in minor units (kopecks, cents).
/// Times are Unix seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Plan {
    pub id: String,
    pub name: String,
    pub name_ru: Option<String>,
    pub description: Option<String>,
    pub description_ru: Option<String>,
    /// Decimal price in major units, e.g. `990.0` (derived from `price_minor`).
    pub price: f64,
    /// Price in minor units, e.g. `99000` kopecks.
    pub price_minor: i64,
    pub currency: Currency,
    pub interval: Interval,
    /// `null` means no quota on any metric; per metric, `null` or a missing key is unlimited.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<BTreeMap<String, Option<i64>>>))]
    pub quotas: Option<Quotas>,
    pub features: Vec<String>,
    pub is_active: bool,
    pub display_order: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub plan_extra_metadata: Option<serde_json::Value>,
    /// Days of free trial before the first charge; 0 for none.
    pub trial_days: i64,
    /// Pay-as-you-go price per unit beyond the quota, in minor units, per metric.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<BTreeMap<String, i64>>))]
    pub overage: Option<BTreeMap<Metric, i64>>,
    /// Units of each priced feature included per period (seed 004 "included limits"), by
    /// feature name; beyond them a charge is paid from the balance. `null`: none.
    #[serde(default)]
    pub feature_limits: Option<BTreeMap<String, i64>>,
    /// Discount on pay-as-you-go prices (features and overage) for this plan's subscribers, 0–100.
    #[serde(default)]
    pub discount_percent: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Plan {
    /// A new plan before any field is set: no id or name, free, RUB, monthly, active, no quotas
    /// (unlimited), created at `now` (Unix seconds).
    pub fn blank(now: i64) -> Plan {
        Plan {
            id: String::new(),
            name: String::new(),
            name_ru: None,
            description: None,
            description_ru: None,
            price: 0.0,
            price_minor: 0,
            currency: Currency::Rub,
            interval: Interval::Month,
            quotas: None,
            features: Vec::new(),
            is_active: true,
            display_order: 0,
            plan_extra_metadata: None,
            trial_days: 0,
            overage: None,
            feature_limits: None,
            discount_percent: 0,
            created_at: now,
            updated_at: now,
        }
    }

    /// Keeps the derived decimal `price` in step with `price_minor`.
    pub fn set_price_minor(&mut self, price_minor: i64) {
        self.price_minor = price_minor;
        self.price = decimal_from_minor(price_minor);
    }

    /// The quota on `metric` in its unit per period; `None` when the metric is unlimited.
    pub fn quota(&self, metric: Metric) -> Option<i64> {
        self.quotas.as_ref().and_then(|q| q.get(&metric).copied().flatten())
    }

    /// Units of `feature` included per period; 0 when the plan includes none.
    pub fn feature_limit(&self, feature: &str) -> i64 {
        self.feature_limits.as_ref().and_then(|l| l.get(feature).copied()).unwrap_or(0)
    }

    /// Whether the plan names `feature` (in `features` or `feature_limits`): what an
    /// `exclusive` feature needs.
    pub fn lists_feature(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
            || self.feature_limits.as_ref().is_some_and(|l| l.contains_key(feature))
    }

    /// Whether the plan costs nothing.
    pub fn is_free(&self) -> bool {
        self.price_minor == 0
    }
}

/// The document's shape of `quotas` in a plan body: a limit (or `null`, unlimited) per metric.
#[cfg(feature = "openapi")]
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct QuotasInput {
    #[schema(minimum = 0)]
    tokens_input: Option<i64>,
    #[schema(minimum = 0)]
    tokens_output: Option<i64>,
    #[schema(minimum = 0)]
    requests: Option<i64>,
    #[schema(minimum = 0)]
    images: Option<i64>,
    #[schema(minimum = 0)]
    audio_minutes: Option<i64>,
}

/// The document's shape of `overage` in a plan body: minor units per unit beyond the quota.
#[cfg(feature = "openapi")]
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct OverageInput {
    #[serde(default)]
    #[schema(minimum = 0)]
    tokens_input: i64,
    #[serde(default)]
    #[schema(minimum = 0)]
    tokens_output: i64,
    #[serde(default)]
    #[schema(minimum = 0)]
    requests: i64,
    #[serde(default)]
    #[schema(minimum = 0)]
    images: i64,
    #[serde(default)]
    #[schema(minimum = 0)]
    audio_minutes: i64,
}

/// What a feature code looks like (see [`is_feature_code`]).
pub const FEATURE_CODE_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$";

/// Whether `code` is a feature code: 1–64 ASCII letters, digits, `_`, `.`, `:` or `-`, starting
/// with a letter or digit ([`FEATURE_CODE_PATTERN`]).
pub fn is_feature_code(code: &str) -> bool {
    (1..=64).contains(&code.len())
        && code.as_bytes()[0].is_ascii_alphanumeric()
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

/// A feature code: 1–64 ASCII letters, digits, `_`, `.`, `:` or `-`, starting with a letter or digit.
#[cfg(feature = "openapi")]
pub struct FeatureCode;

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for FeatureCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(64))
            .pattern(Some(FEATURE_CODE_PATTERN))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for FeatureCode {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_null_quota_means_unlimited() {
        let plan: Plan = serde_json::from_value(serde_json::json!({
            "id": "x", "name": "X", "name_ru": null, "description": null, "description_ru": null,
            "price": 1.0, "price_minor": 100, "currency": "RUB", "interval": "month",
            "quotas": {"tokens_input": 10, "requests": null}, "features": [], "is_active": true,
            "display_order": 0, "plan_extra_metadata": null, "trial_days": 0, "overage": null,
            "created_at": 0, "updated_at": 0
        }))
        .unwrap();
        assert_eq!(plan.quota(Metric::TokensInput), Some(10));
        assert_eq!(plan.quota(Metric::Requests), None);
        assert_eq!(plan.quota(Metric::Images), None);
    }

    #[test]
    fn metric_and_interval_names_round_trip() {
        for m in Metric::ALL {
            assert_eq!(m.as_str().parse::<Metric>(), Ok(m));
        }
        for i in Interval::ALL {
            assert_eq!(i.as_str().parse::<Interval>(), Ok(i));
        }
        assert!("tokens".parse::<Metric>().is_err());
    }
}

/// Deserialises a field that may be absent (`None`), `null` (`Some(None)`) or a value
/// (`Some(Some(v))`), so partial updates can clear nullable fields.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The body of plan create (`POST`) and update (`PUT`, partial) in the admin API (spec 000
/// "Creating a New Billing Plan"). Every field is optional here; create requires `name`.
/// `price` is the spec's decimal in major units (`990.00`); `price_minor` may be sent instead.
/// Metric names and codes stay strings so that a wrong one is reported as a field error.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanChanges {
    /// Lowercase letters, digits, `_` and `-`, starting with a letter or digit (create only).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$"))]
    pub id: Option<String>,
    /// Required on create.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200, pattern = "\\S"))]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 200))]
    pub name_ru: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub description_ru: Option<Option<String>>,
    /// Decimal price in major units with at most two decimals, e.g. `990.00`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>, example = 990.00))]
    pub price: Option<super::money::DecimalText>,
    /// The price in minor units instead of `price` (if both are sent they must agree).
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub price_minor: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<super::Currency>))]
    pub currency: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Interval>))]
    pub interval: Option<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<QuotasInput>))]
    pub quotas: Option<Option<BTreeMap<String, Option<i64>>>>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<FeatureCode>>))]
    pub features: Option<Vec<String>>,
    pub is_active: Option<bool>,
    pub display_order: Option<i64>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub plan_extra_metadata: Option<Option<serde_json::Value>>,
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 365))]
    pub trial_days: Option<i64>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<OverageInput>))]
    pub overage: Option<Option<BTreeMap<String, i64>>>,
    /// Units included per period by feature name (`{"gpt-4o": 100000}`); `null` clears them.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<BTreeMap<String, i64>>))]
    pub feature_limits: Option<Option<BTreeMap<String, i64>>>,
    /// Discount on pay-as-you-go prices, 0–100 percent.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100))]
    pub discount_percent: Option<i64>,
    /// Must be `true` when an update changes the price of an existing plan (subscribers pay the
    /// new price from their next renewal); without it such an update answers 422 on `price`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_price_change: Option<bool>,
}
