//! Subscriptions as the API and UI see them (spec 000 "Subscription Entity").

use super::plan::Plan;
use serde::{Deserialize, Serialize};

/// Lifecycle state of a subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Active,
    Trialing,
    PastDue,
    Canceled,
    Paused,
}

impl SubscriptionStatus {
    pub const ALL: [SubscriptionStatus; 5] = [
        SubscriptionStatus::Active,
        SubscriptionStatus::Trialing,
        SubscriptionStatus::PastDue,
        SubscriptionStatus::Canceled,
        SubscriptionStatus::Paused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::Trialing => "trialing",
            SubscriptionStatus::PastDue => "past_due",
            SubscriptionStatus::Canceled => "canceled",
            SubscriptionStatus::Paused => "paused",
        }
    }

    pub fn parse(text: &str) -> Option<SubscriptionStatus> {
        SubscriptionStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A subscription with its plan. Times are Unix seconds; the current period is
/// `[current_period_start, current_period_end)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Subscription {
    pub id: String,
    pub user_id: String,
    pub account_id: String,
    pub plan_id: String,
    pub status: SubscriptionStatus,
    pub yookassa_payment_id: Option<String>,
    pub yookassa_subscription_id: Option<String>,
    pub current_period_start: i64,
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    pub trial_end: Option<i64>,
    pub canceled_at: Option<i64>,
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub extra_metadata: Option<serde_json::Value>,
    pub created_at: i64,
    pub updated_at: i64,
    pub plan: Plan,
}
