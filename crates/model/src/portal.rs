//! Shapes the web pages exchange with their server functions: who is signed in, the billing
//! portal's pages and the errors a page can show. Amounts are minor units, times Unix seconds.

use super::subscription::CancelOptions;
use super::{Locale, Plan, QuotaStatus, Scope, Subscription, Transaction};
use serde::{Deserialize, Serialize};

/// The person signed in to the web UI (from the session cookie).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub name: String,
    pub is_admin: bool,
    /// The language of this request (the user's stored language unless `?lang=` chose another).
    pub locale: Locale,
    /// Name of the live subscription's plan (English), for the top bar's badge.
    pub plan_name: Option<String>,
    pub plan_name_ru: Option<String>,
    /// The viewer's own account (`account_id` is the one billed now: this, or an organisation).
    pub personal_account_id: String,
    /// The organisation billed now, with the viewer's role there.
    pub organization: Option<super::org::CurrentOrganization>,
    /// The accounts the viewer may bill to, personal first (the top bar's account switcher).
    pub accounts: Vec<AccountOption>,
}

/// One entry of the account switcher: the personal account (`role: null`) or an organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountOption {
    pub account_id: String,
    pub name: String,
    pub role: Option<super::org::OrgRole>,
}

/// The portal overview (`/billing`): the live subscription and the plan a cancellation falls
/// back to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BillingOverview {
    pub subscription: Option<Subscription>,
    /// What the viewer may do about the subscription (and the plan a cancellation falls back to).
    pub cancel: CancelOptions,
    /// The most recent transactions (up to 5).
    pub recent_transactions: Vec<Transaction>,
    /// The plan a scheduled downgrade switches to at `subscription.pending_change_at`.
    pub pending_plan: Option<Plan>,
    /// Whether a card is saved for charges without the payer (renewals, the trial's end).
    pub card_saved: bool,
    /// Whether the viewer may pause (or, when paused, resume) the subscription themselves: the
    /// plan's metadata says `"allow_pause": true`, it is live, and the viewer pays for the account.
    pub can_pause: bool,
}

/// The plan catalogue as the viewer sees it: active plans and which one they are on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanCatalog {
    pub plans: Vec<Plan>,
    pub signed_in: bool,
    pub current_plan_id: Option<String>,
    /// Whether payments can be taken (YooKassa or its sandbox is configured).
    pub payments_enabled: bool,
    /// Active priced features, to show each plan's price and included units of them.
    pub features: Vec<super::Feature>,
    /// For a viewer paying for a plan: what changing to each other plan would do now (previews
    /// with their sentence in the viewer's language), keyed by plan id. Plans missing here are
    /// bought through checkout.
    pub changes: std::collections::BTreeMap<String, super::ChangePreview>,
    /// The scheduled downgrade: its plan id and when it applies (Unix seconds).
    pub pending_change: Option<(String, i64)>,
    /// Plans whose trial the viewer may start now (signed in, on free or no plan, trial of the
    /// family not had yet).
    pub trial_plan_ids: Vec<String>,
}

/// The return page's view of one checkout (`/billing/return`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentResult {
    pub transaction: Transaction,
    pub plan: Option<Plan>,
    /// The live subscription after the payment (its period end is "active until").
    pub subscription: Option<Subscription>,
}

impl PaymentResult {
    /// Whether the status can still change (the page keeps polling).
    pub fn is_final(&self) -> bool {
        !self.transaction.status.is_open()
    }
}

/// Usage of one UTC day, per metric, for the chart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyUsage {
    /// Start of the day, Unix seconds (UTC midnight).
    pub day: i64,
    pub metric: super::Metric,
    pub amount: i64,
}

/// One recorded usage event, as the usage page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageEventView {
    pub id: String,
    pub metric: super::Metric,
    pub amount: i64,
    pub model_id: Option<String>,
    pub chat_id: Option<String>,
    pub created_at: i64,
    /// What the event cost from the balance (overage), micro-minor units.
    pub charged_micros: i64,
}

/// The usage page (`/billing/usage`): meters, daily totals and the latest events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UsageReport {
    pub plan: Option<Plan>,
    pub meters: Vec<QuotaStatus>,
    /// Current period, `[period_start, period_end)`, Unix seconds.
    pub period_start: i64,
    pub period_end: i64,
    pub daily: Vec<DailyUsage>,
    pub recent: Vec<UsageEventView>,
    /// What pay-as-you-go usage (overage and feature charges) took from the balance this
    /// period, micro-minor units, in `currency` (the account's).
    pub payg_cost_micros: i64,
    pub currency: super::Currency,
}

/// One page of a list: `items`, the `total` that match, and the page asked for (1-based) with
/// its size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
}

impl<T> Page<T> {
    /// How many pages there are (at least one).
    pub fn pages(&self) -> i64 {
        ((self.total + self.page_size - 1) / self.page_size.max(1)).max(1)
    }
}

/// A personal API token as listed (never with its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub scope: Scope,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// The tokens page: the tokens and, once, the secret of the one just created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenList {
    pub tokens: Vec<TokenView>,
    /// `(name, secret)` of a token created a moment ago; shown once, then forgotten.
    pub fresh: Option<(String, String)>,
}

/// The portal's balance page (`/billing/balance`): the balance with its ledger, the top-up
/// presets and limits (minor units), and whether payments can be taken.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BalancePage {
    pub balance: super::Balance,
    /// Preset top-up amounts, minor units.
    pub presets: Vec<i64>,
    pub topup_min_minor: i64,
    pub topup_max_minor: i64,
    pub payments_enabled: bool,
}

/// The organisation page (`/org/{id}`): the organisation, this period's usage by member (for
/// owners and admins), and whether the viewer bills to it now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrgPage {
    pub organization: super::org::Organization,
    pub usage: Option<super::org::OrganizationUsage>,
    pub viewer_id: String,
    pub billing_here: bool,
}

/// The viewer's organisations and the invitations waiting for them (on `/billing`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OrgsOverview {
    pub organizations: Vec<super::org::OrganizationSummary>,
    pub invitations: Vec<super::org::Invitation>,
}
