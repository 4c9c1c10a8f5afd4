//! Subscriptions as the API and UI see them (spec 000 "Subscription Entity").

use super::plan::Plan;
use super::states::string_enum;
use serde::{Deserialize, Serialize};

string_enum! {
    /// Lifecycle state of a subscription (DESIGN.md "Cancel", "Trials", "Renewals and dunning").
    pub enum SubscriptionStatus as "subscription status" {
        Active = "active",
        Trialing = "trialing",
        /// A renewal charge failed; usage stays allowed while dunning retries.
        PastDue = "past_due",
        Canceled = "canceled",
        Paused = "paused",
    }
}

impl SubscriptionStatus {
    /// The statuses in which a subscription is live: it gives the account its plan, and an account
    /// has at most one (the partial unique index `billing_subscription_live_key`).
    pub const LIVE: [SubscriptionStatus; 4] = [
        SubscriptionStatus::Active,
        SubscriptionStatus::Trialing,
        SubscriptionStatus::PastDue,
        SubscriptionStatus::Paused,
    ];

    /// Whether a subscription in this status is live (every status but `canceled`).
    pub fn is_live(self) -> bool {
        self != SubscriptionStatus::Canceled
    }

    /// Whether MRR counts it (`active` and `past_due`; trials and pauses pay nothing now).
    pub fn is_paying(self) -> bool {
        matches!(self, SubscriptionStatus::Active | SubscriptionStatus::PastDue)
    }

    /// The status named `text`, if there is one.
    pub fn parse(text: &str) -> Option<SubscriptionStatus> {
        text.parse().ok()
    }
}

/// A subscription with its plan. Times are Unix seconds; the current period is
/// `[current_period_start, current_period_end)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub extra_metadata: Option<serde_json::Value>,
    pub created_at: i64,
    pub updated_at: i64,
    pub plan: Plan,
}

/// What the account holder may do about their subscription now (decided by the billing rules,
/// shown by the portal): cancel at the period's end, cancel at once, or withdraw a pending
/// cancellation; and the plan the account moves to when a paid plan ends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CancelOptions {
    /// Cancel at `current_period_end`, keeping access until then.
    pub at_period_end: bool,
    /// End the subscription now.
    pub immediately: bool,
    /// Withdraw a pending cancellation.
    pub resume: bool,
    /// The free plan the account falls back to when the paid plan ends, if there is one.
    pub fallback_plan: Option<Plan>,
}
