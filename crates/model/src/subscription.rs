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
    /// A downgrade scheduled for the period's end: the plan the subscription moves to then.
    #[serde(default)]
    pub pending_plan_id: Option<String>,
    /// When the scheduled change takes effect (Unix seconds; the current period's end).
    #[serde(default)]
    pub pending_change_at: Option<i64>,
    /// When the subscription was paused (status `paused`), Unix seconds.
    #[serde(default)]
    pub paused_at: Option<i64>,
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

string_enum! {
    /// What a plan change is: an upgrade takes effect now and is paid for the rest of the period;
    /// a downgrade waits for the period's end.
    pub enum ChangeKind as "plan change kind" {
        Upgrade = "upgrade",
        Downgrade = "downgrade",
    }
}

/// `GET /api/v1/billing/subscription/change/preview?plan_id=`: what changing to `plan_id` would
/// do. Amounts in the plan's currency, decimal and minor units; times in Unix seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePreview {
    pub kind: ChangeKind,
    pub from_plan_id: String,
    pub plan_id: String,
    pub currency: super::Currency,
    /// Paid now: the new plan's price for the rest of the period less the unused part of the
    /// old one, to the second (0 for downgrades).
    pub amount_due: f64,
    pub amount_due_minor: i64,
    /// The unused part of the current period's price, counted against `amount_due`.
    pub credit: f64,
    pub credit_minor: i64,
    /// When the change takes effect: now for an upgrade, the period's end for a downgrade.
    pub effective_at: i64,
    /// When the next period is charged, and how much.
    pub next_renewal_at: i64,
    pub next_amount: f64,
    pub next_amount_minor: i64,
    /// Whether a new period starts with the change (an interval change, or from free or a trial).
    pub new_period: bool,
    /// The same in a sentence, in the caller's language.
    #[serde(default)]
    pub message: String,
}

/// What `POST /api/v1/billing/subscription/change` did: `applied` (the plan switched now),
/// `scheduled` (a downgrade at `effective_at`), `pending` (the payer must confirm at
/// `confirmation_url`; the switch happens when the payment succeeds) or `declined` (the saved
/// card was declined; nothing changed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeOutcome {
    pub kind: ChangeKind,
    pub status: String,
    pub amount_due: f64,
    pub amount_due_minor: i64,
    pub effective_at: i64,
    pub transaction_id: Option<String>,
    pub payment_id: Option<String>,
    pub confirmation_url: Option<String>,
    /// YooKassa's reason when the card was declined.
    pub cancellation_reason: Option<String>,
    pub subscription: Subscription,
}

/// The trial's card check, minor units of the plan's currency (1 ₽): charged with
/// `save_payment_method` to keep the card for the charge at the trial's end, refunded at once.
pub const CARD_CHECK_MINOR: i64 = 100;
