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
    /// For 429 quota problems: which metric, its limit, usage and what remains.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub quota: Option<QuotaProblem>,
}

/// One field that failed validation, with a message a person can act on (English).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Extension members of a quota-exceeded problem, in the metric's units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuotaProblem {
    pub metric: Metric,
    pub quota_limit: i64,
    pub current_usage: i64,
    pub remaining: i64,
    pub requested: i64,
}
