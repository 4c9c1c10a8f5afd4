//! The body of every error answer of the JSON API: RFC 9457 problem details with Tariff's
//! extension members `code`, field `errors` and, for 429 quota answers, the quota figures.

use super::error::ErrorCode;
use super::plan::Metric;
use serde::{Deserialize, Serialize};

/// RFC 9457 problem details, with the `code` and field `errors` extension members.
/// `Content-Type: application/problem+json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// Always `about:blank`: the status and `code` say what happened.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(example = "about:blank"))]
    pub kind: String,
    /// The status's reason phrase, e.g. `Unprocessable Entity`.
    pub title: String,
    pub status: u16,
    /// What went wrong, in English.
    pub detail: String,
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// For 422: every field that is wrong.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For 429 quota problems only: the metric that is exhausted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<Metric>,
    /// For 429 quota problems only: the metric's limit this period, in its unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_limit: Option<i64>,
    /// For 429 quota problems only: what was used this period, in the metric's unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_usage: Option<i64>,
    /// For 429 quota problems only: what is left this period (`quota_limit - current_usage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<i64>,
    /// For 429 quota problems only: the amount that did not fit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<i64>,
    /// For 402 problems only: what the request would cost, decimal in major units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<f64>,
    /// For 402 problems only: the same exactly, in micro-minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_micros: Option<i64>,
    /// For 402 problems only: the balance, decimal in major units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<f64>,
    /// For 402 problems only: the balance exactly, in micro-minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance_micros: Option<i64>,
    /// For 402 problems only: the currency of `required` and `balance`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<super::Currency>,
    /// For 403 `feature_not_available` and 402 charge problems: the feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    /// For 429 `member_cap_exceeded`: the capped metric, or `spend` (then `quota_limit`,
    /// `current_usage`, `remaining` and `requested` are micro-minor units of the balance's currency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<String>,
}

impl Problem {
    /// A problem without extension members beyond `code` and `errors`.
    pub fn new(status: u16, title: &str, detail: String, code: ErrorCode, errors: Vec<FieldError>) -> Problem {
        Problem {
            kind: "about:blank".to_owned(),
            title: title.to_owned(),
            status,
            detail,
            code,
            errors,
            metric: None,
            quota_limit: None,
            current_usage: None,
            remaining: None,
            requested: None,
            required: None,
            required_micros: None,
            balance: None,
            balance_micros: None,
            currency: None,
            feature: None,
            cap: None,
        }
    }
}

/// One field that failed validation, with a message a person can act on (English).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}
