//! Usage and quota shapes of the JSON API (spec 003 "Проверить квоту", "Получить использование").

use super::plan::Metric;
use serde::{Deserialize, Serialize};

/// Where an account stands on one metric in its current period. `quota_limit` and `remaining`
/// are `null` when the metric is unlimited. Units are the metric's own (tokens, requests, images,
/// minutes); the period is `[period_start, period_end)` in Unix seconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
}
