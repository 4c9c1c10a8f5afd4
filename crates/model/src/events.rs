//! Outgoing events and the webhook endpoints that receive them (issue 16). An event is written to
//! the outbox in the transaction of the change that causes it and delivered to every enabled
//! endpoint that takes its type, signed as the Standard Webhooks specification says
//! (<https://www.standardwebhooks.com/>, headers `webhook-id`, `webhook-timestamp`,
//! `webhook-signature`).

use serde::{Deserialize, Serialize};

crate::states::string_enum! {
    /// What happened. The wire name is the event's `type`.
    pub enum EventType as "event type" {
        /// A subscription was created (sign-up's free plan, checkout, trial, admin assignment).
        SubscriptionCreated = "subscription.created",
        /// A plan change, pause, resume, scheduled or withdrawn cancellation.
        SubscriptionUpdated = "subscription.updated",
        /// The subscription ended.
        SubscriptionCanceled = "subscription.canceled",
        /// A new paid period started after its payment.
        SubscriptionRenewed = "subscription.renewed",
        /// A renewal payment failed; the subscription is in dunning.
        SubscriptionPastDue = "subscription.past_due",
        /// The trial ends in 3 days (or less, when it was shorter).
        TrialWillEnd = "trial.will_end",
        /// A payment (checkout, renewal, top-up, upgrade, card check) succeeded.
        PaymentSucceeded = "payment.succeeded",
        /// A payment was declined or could not be made; `data.cancellation_reason` says why.
        PaymentFailed = "payment.failed",
        /// A refund succeeded.
        RefundSucceeded = "refund.succeeded",
        /// A top-up was credited to the balance.
        BalanceToppedUp = "balance.topped_up",
        /// The balance fell below the account's low-balance threshold.
        BalanceLow = "balance.low",
        /// Usage reached 80 % or 100 % of a quota (once per period, metric and threshold).
        UsageThreshold = "usage.threshold",
        /// A quota that was used up is available again (new period, upgrade, top-up).
        UsageThresholdResolved = "usage.threshold.resolved",
        /// A yearly subscription renews in 7 days (or less); `data` is the subscription.
        RenewalUpcoming = "subscription.renewal_upcoming",
        /// Someone was invited to an organisation; `data` is the invitation.
        InvitationCreated = "invitation.created",
    }
}

crate::states::string_enum! {
    /// The kinds of customer email a user can turn off on `/settings/notifications`.
    pub enum EmailKind as "email kind" {
        /// A receipt for each successful payment and refund.
        Receipts = "receipts",
        /// A declined or failed payment, with the reason and a link to pay.
        PaymentFailed = "payment_failed",
        /// The trial ends in 3 days.
        Trial = "trial",
        /// A yearly plan renews in 7 days.
        Renewal = "renewal",
        /// Usage reached 80 % or 100 % of a quota.
        Usage = "usage",
        /// An invitation to an organisation.
        Invitations = "invitations",
    }
}

impl EmailKind {
    /// The email an event sends, if any.
    pub fn of(event_type: EventType) -> Option<EmailKind> {
        match event_type {
            EventType::PaymentSucceeded | EventType::RefundSucceeded => Some(EmailKind::Receipts),
            EventType::PaymentFailed => Some(EmailKind::PaymentFailed),
            EventType::TrialWillEnd => Some(EmailKind::Trial),
            EventType::RenewalUpcoming => Some(EmailKind::Renewal),
            EventType::UsageThreshold => Some(EmailKind::Usage),
            EventType::InvitationCreated => Some(EmailKind::Invitations),
            _ => None,
        }
    }
}

/// Which customer emails a user gets: every kind is on unless turned off.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailPreferences {
    /// The kinds turned off.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub off: Vec<EmailKind>,
}

impl EmailPreferences {
    /// Whether the user gets emails of `kind`.
    pub fn wants(&self, kind: EmailKind) -> bool {
        !self.off.contains(&kind)
    }
}

impl EventType {
    /// Whether `name` is an event type or `*` (every type), as endpoints list them.
    pub fn is_subscribable(name: &str) -> bool {
        name == "*" || name.parse::<EventType>().is_ok()
    }
}

/// One event, as stored in the outbox and sent as the body of a webhook request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    /// `evt_` and a time-ordered UUID; also the `webhook-id` header of every delivery attempt.
    pub id: String,
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "usage.threshold"))]
    pub event_type: EventType,
    /// When the change committed, Unix seconds.
    pub created_at: i64,
    /// The billing account (personal or organisation) the event is about.
    pub account_id: String,
    /// The user the change concerns, when there is one.
    pub user_id: Option<String>,
    /// The object as the JSON API shows it: a subscription, a transaction, a balance, or a
    /// usage threshold `{metric, threshold, limit, used, period_start, period_end}`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: serde_json::Value,
}

/// A webhook endpoint. `secret` (`whsec_` and base64 of 32 random bytes) is in the answer only
/// when the endpoint is created and when its secret is rotated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    pub description: String,
    /// Event type names, or `["*"]` for every type.
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why the server disabled it (it failed for days), if it did.
    pub disabled_reason: Option<String>,
    /// Since when every delivery has failed, Unix seconds; `null` once one succeeds.
    pub failing_since: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Until when the previous secret still signs too (after a rotation), Unix seconds.
    pub previous_secret_expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Body of `POST /api/v1/admin/webhooks` (all of `url` and `event_types` required) and of
/// `PATCH /api/v1/admin/webhooks/{id}` (any subset).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointBody {
    /// `http://` or `https://` (HTTPS in production unless the host is allowed explicitly).
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub url: Option<String>,
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub description: Option<String>,
    /// Event type names (see the document's `webhooks`), or `["*"]` for every type.
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// Body of `POST /api/v1/admin/webhooks/{id}/rotate`: how long the old secret keeps signing
/// beside the new one, seconds (default 86,400, at most 7 days).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RotateSecretBody {
    #[serde(default, deserialize_with = "crate::money::optional_whole_number")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 604800))]
    pub overlap_seconds: Option<i64>,
}

/// Body of `POST /api/v1/admin/webhooks/{id}/test`: the type of the test event (default
/// `subscription.updated`); its `data` is `{"test": true}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TestEventBody {
    pub event_type: Option<String>,
}

/// One event's delivery to one endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub endpoint_id: String,
    pub account_id: String,
    /// `pending` (waiting for its next attempt), `delivered` or `failed` (gave up).
    pub status: String,
    pub attempts: i64,
    /// When the next attempt is due, Unix seconds (pending only).
    pub next_attempt_at: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub last_latency_ms: Option<i64>,
    pub delivered_at: Option<i64>,
    pub created_at: i64,
    /// The event as sent.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: serde_json::Value,
}
