//! The stable error vocabulary of Tariff: the problem `code` of every error answer
//! ([`ErrorCode`]), and every sentence a person can be shown as a code with parameters
//! ([`Message`]). Services return codes, never sentences; the UI's i18n turns each code into
//! English or Russian, so rewording a message cannot break its translation (STYLE.md, lago-api).

use super::money::{Currency, MoneyError};
use serde::{Deserialize, Serialize};

/// The machine-readable `code` of a problem answer (RFC 9457 extension member). Stable: clients
/// may switch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 404: the entity does not exist or is not the caller's.
    NotFound,
    /// 422: values break a rule; `errors` names each field.
    ValidationFailed,
    /// 400: the body could not be parsed.
    BadRequest,
    /// 409: the change conflicts with the current state.
    Conflict,
    /// 413: the body is larger than the server accepts.
    PayloadTooLarge,
    /// 429: the quota of a metric would be passed.
    QuotaExceeded,
    /// 502: the payment provider refused the request.
    PaymentProviderError,
    /// 503: a dependency cannot be reached or is not configured; try later.
    Unavailable,
    /// 401: no or bad credentials.
    Unauthorized,
    /// 403: authenticated, but not allowed.
    Forbidden,
    /// 500: our fault; details are in the server log only.
    InternalError,
    /// 402: the account balance cannot pay for the request; `required` and `balance` say by how much.
    InsufficientBalance,
    /// 403: the account's plan does not give access to the feature (seed 004 `check_access()`).
    FeatureNotAvailable,
    /// 410: the thing existed but can no longer be used (an expired, revoked or answered invitation).
    Gone,
    /// 429: an organisation member's own cap for the period (a metric, or spending) would be passed.
    MemberCapExceeded,
    /// 403: the subscription is paused; usage waits until it is resumed.
    SubscriptionPaused,
    /// 429: the caller's rate limit of API requests (not a quota) is used up; `Retry-After` says
    /// when to try again.
    RateLimited,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 17] = [
        ErrorCode::NotFound,
        ErrorCode::ValidationFailed,
        ErrorCode::BadRequest,
        ErrorCode::Conflict,
        ErrorCode::PayloadTooLarge,
        ErrorCode::QuotaExceeded,
        ErrorCode::PaymentProviderError,
        ErrorCode::Unavailable,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::InternalError,
        ErrorCode::InsufficientBalance,
        ErrorCode::FeatureNotAvailable,
        ErrorCode::Gone,
        ErrorCode::MemberCapExceeded,
        ErrorCode::SubscriptionPaused,
        ErrorCode::RateLimited,
    ];

    /// The code as sent, e.g. `validation_failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "not_found",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::QuotaExceeded => "quota_exceeded",
            ErrorCode::PaymentProviderError => "payment_provider_error",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::InsufficientBalance => "insufficient_balance",
            ErrorCode::FeatureNotAvailable => "feature_not_available",
            ErrorCode::Gone => "gone",
            ErrorCode::MemberCapExceeded => "member_cap_exceeded",
            ErrorCode::SubscriptionPaused => "subscription_paused",
            ErrorCode::RateLimited => "rate_limited",
        }
    }

    /// The HTTP status this code is answered with.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::NotFound => 404,
            ErrorCode::ValidationFailed => 422,
            ErrorCode::BadRequest => 400,
            ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::QuotaExceeded => 429,
            ErrorCode::PaymentProviderError => 502,
            ErrorCode::Unavailable => 503,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::InternalError => 500,
            ErrorCode::InsufficientBalance => 402,
            ErrorCode::FeatureNotAvailable => 403,
            ErrorCode::Gone => 410,
            ErrorCode::MemberCapExceeded => 429,
            ErrorCode::SubscriptionPaused => 403,
            ErrorCode::RateLimited => 429,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds of things a caller can ask for by id (for "not found" answers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Plan,
    Subscription,
    Transaction,
    Token,
    User,
    Metric,
    Route,
    Feature,
    Organization,
    Invitation,
    Member,
    Reservation,
    WebhookEndpoint,
    WebhookDelivery,
}

impl Entity {
    pub const ALL: [Entity; 14] = [
        Entity::Plan,
        Entity::Subscription,
        Entity::Transaction,
        Entity::Token,
        Entity::User,
        Entity::Metric,
        Entity::Route,
        Entity::Feature,
        Entity::Organization,
        Entity::Invitation,
        Entity::Member,
        Entity::Reservation,
        Entity::WebhookEndpoint,
        Entity::WebhookDelivery,
    ];

    /// The entity's name in problem details, e.g. `plan`.
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Plan => "plan",
            Entity::Subscription => "subscription",
            Entity::Transaction => "transaction",
            Entity::Token => "token",
            Entity::User => "user",
            Entity::Metric => "metric",
            Entity::Route => "route",
            Entity::Feature => "feature",
            Entity::Organization => "organization",
            Entity::Invitation => "invitation",
            Entity::Member => "member",
            Entity::Reservation => "reservation",
            Entity::WebhookEndpoint => "webhook_endpoint",
            Entity::WebhookDelivery => "webhook_delivery",
        }
    }
}

/// Every sentence Tariff can show a person, by code, with the values it mentions. Amounts are
/// minor units with their currency; the UI formats them for the reader's language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
#[cfg_attr(test, derive(strum::EnumDiscriminants))]
#[cfg_attr(test, strum_discriminants(derive(strum::EnumIter), name(MessageKind)))]
pub enum Message {
    // General.
    /// Something failed on our side; the detail is in the server log.
    ServerError,
    /// The entity asked for does not exist (or is not the caller's).
    NotFound {
        entity: Entity,
    },
    /// The request never reached the service; try again.
    Retry,
    /// The session ended; log in again.
    SessionEnded,
    /// The action is for administrators only.
    AdminsOnly,

    // Accounts, sign-in and sessions.
    EmailInvalid,
    EmailTaken {
        email: String,
    },
    /// The sign-up form's wording of [`Message::EmailTaken`].
    EmailTakenLogIn,
    PasswordTooShort {
        min: u32,
    },
    WrongCredentials,
    TooManyAttempts {
        minutes: i64,
    },
    TextTooLong {
        max: u32,
    },
    LocaleUnknown,
    StatusUnknown,
    UnknownUser,
    CrossOriginRefused,

    // API tokens.
    TokenNameInvalid,
    ScopeUnknown {
        value: String,
    },
    AdminScopeForAdminsOnly,
    AdminTokenRequired,
    ServiceTokenRequired,
    OwnUserOnly,

    // Plans.
    PlanNameRequired,
    PriceRequired,
    PlanIdInvalid,
    PlanIdTaken {
        id: String,
    },
    PlanIdImmutable,
    PriceMinorMismatch,
    NotNegative,
    QuotaNotNegative,
    FeatureCodeInvalid,
    MetadataNotObject,
    TrialDaysRange {
        max: i64,
    },
    QuotaDecreaseForbidden,
    PlanHasSubscriptions {
        plan_id: String,
        count: i64,
    },
    PlanHasPayments {
        plan_id: String,
    },
    /// Trials were taken on the plan (kept to allow one trial per plan family).
    PlanHasTrials {
        plan_id: String,
    },
    /// A plan's price would change; the caller must confirm (`confirm_price_change`).
    PriceChangeUnconfirmed {
        from_minor: i64,
        to_minor: i64,
        currency: Currency,
    },
    UnknownCurrency {
        value: String,
    },
    UnknownInterval {
        value: String,
    },
    UnknownMetric {
        value: String,
    },
    AmountNotExact {
        value: String,
    },
    AmountTooLarge,
    AmountNotPositive,

    // Subscriptions.
    AlreadySubscribed,
    SubscriptionChanged,
    /// The free plan is every account's floor: it cannot be canceled.
    FreePlanNotCancellable,
    /// The free plan cannot be deleted either: sign-ups and lapsed customers fall back to it.
    FreePlanNotDeletable,

    // Usage and quotas.
    SubscriptionRequired,
    PositiveWholeNumber,
    ReferenceLength {
        max: u32,
    },
    NotAnObject,
    MetadataTooLarge {
        max_bytes: u32,
    },
    BatchEmpty,
    BatchTooLarge {
        max: u32,
    },

    // Lists.
    PageTooSmall,
    PageSizeRange {
        max: i64,
    },

    // Payments and refunds.
    PlanNotForSale,
    FreePlanNeedsNoPayment,
    ReturnUrlInvalid {
        max: u32,
    },
    PaymentsNotConfigured,
    ProviderUnavailable,
    /// The database cannot be reached right now; retry shortly.
    DatabaseUnavailable,
    ProviderRefused,
    RefundNotAllowed,
    NothingToRefund,
    RefundAtMost {
        amount_minor: i64,
        currency: Currency,
    },

    // Pay-as-you-go: features, balances, top-ups.
    DiscountRange,
    FeatureTitleRequired,
    FeatureNameTaken {
        name: String,
    },
    FeatureNameImmutable,
    AccessUnknown {
        value: String,
    },
    PerUnitsRange {
        max: i64,
    },
    /// The price of one unit (`unit_price / per_units`) is not a whole number of micro-minor units.
    UnitPriceNotExact,
    /// The account's plan does not give access to the feature.
    FeatureNotAvailable {
        feature: String,
    },
    /// The balance cannot pay `required_micros`.
    InsufficientBalance {
        required_micros: i64,
        balance_micros: i64,
        currency: Currency,
    },
    TopupRange {
        min_minor: i64,
        max_minor: i64,
        currency: Currency,
    },
    AdjustmentReasonRequired,
    AmountNotZero,
    /// A manual debit would take the balance below zero.
    BalanceWouldGoNegative {
        balance_micros: i64,
        currency: Currency,
    },
    /// A refund of a top-up may take back only what is still unspent.
    RefundBeyondUnspent {
        amount_minor: i64,
        currency: Currency,
    },
    CurrencyMismatch {
        expected: Currency,
    },
    /// A line of the plan editor's included feature units is not `name: units`.
    FeatureLimitLine,

    // Organisations.
    OrgNameRequired,
    RoleUnknown {
        value: String,
    },
    AlreadyMember {
        email: String,
    },
    AlreadyInvited {
        email: String,
    },
    /// The last owner can neither leave nor be demoted or removed.
    LastOwner,
    /// The invitation expired, was revoked, or was answered already.
    InvitationGone,
    /// Only the organisation's owners and admins may do this (pay, top up, manage members).
    OrgManagersOnly,
    /// Only an owner may make someone an owner, or change or remove an owner.
    OrgOwnersOnly,
    /// The account to switch to is neither the caller's own nor an organisation they belong to.
    NotAMember,
    /// The reservation is no longer held (committed, released or expired) and cannot change.
    ReservationNotHeld {
        status: crate::usage::ReservationStatus,
    },
    /// A reservation's time to live is outside 1 to `max` seconds.
    TtlRange {
        max: i64,
    },
    /// The API rate limit is used up; try again in `seconds`.
    RateLimited {
        seconds: u32,
    },
    /// A cap key is neither a metric nor `spend`.
    CapUnknown {
        value: String,
    },
    /// A member's own cap of the period would be passed; `cap` is the metric or `spend`.
    MemberCapReached {
        cap: String,
    },
    /// A plan assignment names neither a user nor an organisation, or both.
    AssignTargetRequired,

    // The subscription lifecycle: plan changes, trials, pause, the test clock.
    /// The plan asked for is the subscription's plan already.
    PlanIsCurrent,
    /// The plan asked for is priced in another currency than the current one.
    PlanCurrencyDiffers {
        expected: Currency,
    },
    /// No plan change is scheduled.
    NoPendingChange,
    /// An upgrade without a saved card needs a `return_url` for the payer.
    ReturnUrlRequired,
    /// The plan has no trial.
    PlanHasNoTrial,
    /// The account had a trial of this plan (family) already.
    TrialUsed,
    /// The subscription is not a trial.
    NotTrialing,
    /// Usage is refused while the subscription is paused.
    SubscriptionPaused,
    /// Only a live (active, trialing or past due) subscription can be paused.
    NotPausable,
    /// The subscription is not paused.
    NotPaused,
    /// The plan does not let its subscribers pause themselves.
    PauseNotAllowed,
    /// The test clock only moves forward, by 1 second to 5 years.
    ClockForwardOnly,

    // Outgoing webhooks.
    /// An endpoint URL must be an absolute `http://` or `https://` URL.
    WebhookUrlInvalid,
    /// Production endpoints use HTTPS, unless the operator allows the host explicitly.
    WebhookHttpsRequired,
    /// The URL's host is a private, loopback or link-local address (refused in production).
    WebhookAddressNotAllowed,
    /// Not an event type (nor `*`).
    EventTypeUnknown {
        value: String,
    },
    /// An endpoint takes at least one event type.
    EventTypesRequired,
    /// The old secret keeps signing for 0 seconds to `max`.
    OverlapRange {
        max: i64,
    },
    /// `months` of the MRR series is 1 to `max`.
    MonthsRange {
        max: i64,
    },
    /// The sentence of an upgrade preview: pay `amount_minor` now for the rest of the period.
    UpgradeNow {
        amount_minor: i64,
        currency: Currency,
    },
    /// The sentence of an upgrade that starts a new period: pay `amount_minor` now for a period
    /// ending `until` (Unix seconds).
    UpgradeNewPeriod {
        amount_minor: i64,
        currency: Currency,
        until: i64,
    },
    /// The sentence of a downgrade preview: switches to `plan` at `at` (Unix seconds).
    DowngradeOn {
        plan: String,
        at: i64,
    },

    // Notifications from the payment provider.
    SourceUnknown,
    SourceNotAllowed,

    // Form fields the pages read themselves.
    WholeNumberOrUnlimited,
    PriceFormat,
    WholeMinorUnits,
    WholeNumber,
    JsonInvalid,
}

impl Message {
    /// One instance of every variant, for tests that check each has its text in every language.
    pub fn examples() -> Vec<Message> {
        use Message::*;
        let rub = Currency::Rub;
        let mut all = vec![
            ServerError,
            Retry,
            SessionEnded,
            AdminsOnly,
            EmailInvalid,
            EmailTaken { email: "a@example.com".into() },
            EmailTakenLogIn,
            PasswordTooShort { min: 8 },
            WrongCredentials,
            TooManyAttempts { minutes: 15 },
            TextTooLong { max: 200 },
            LocaleUnknown,
            StatusUnknown,
            UnknownUser,
            CrossOriginRefused,
            TokenNameInvalid,
            ScopeUnknown { value: "root".into() },
            AdminScopeForAdminsOnly,
            AdminTokenRequired,
            ServiceTokenRequired,
            OwnUserOnly,
            PlanNameRequired,
            PriceRequired,
            PlanIdInvalid,
            PlanIdTaken { id: "pro".into() },
            PlanIdImmutable,
            PriceMinorMismatch,
            NotNegative,
            QuotaNotNegative,
            FeatureCodeInvalid,
            MetadataNotObject,
            TrialDaysRange { max: 365 },
            QuotaDecreaseForbidden,
            PlanHasSubscriptions { plan_id: "pro".into(), count: 3 },
            PlanHasPayments { plan_id: "pro".into() },
            PlanHasTrials { plan_id: "pro".into() },
            PriceChangeUnconfirmed { from_minor: 99_000, to_minor: 129_000, currency: rub },
            UnknownCurrency { value: "GBP".into() },
            UnknownInterval { value: "hour".into() },
            UnknownMetric { value: "tokens".into() },
            AmountNotExact { value: "9.999".into() },
            AmountTooLarge,
            AmountNotPositive,
            AlreadySubscribed,
            SubscriptionChanged,
            FreePlanNotCancellable,
            FreePlanNotDeletable,
            SubscriptionRequired,
            PositiveWholeNumber,
            ReferenceLength { max: 200 },
            NotAnObject,
            MetadataTooLarge { max_bytes: 4096 },
            BatchEmpty,
            BatchTooLarge { max: 1000 },
            PageTooSmall,
            PageSizeRange { max: 200 },
            PlanNotForSale,
            FreePlanNeedsNoPayment,
            ReturnUrlInvalid { max: 2048 },
            PaymentsNotConfigured,
            ProviderUnavailable,
            DatabaseUnavailable,
            ProviderRefused,
            RefundNotAllowed,
            NothingToRefund,
            RefundAtMost { amount_minor: 39_000, currency: rub },
            DiscountRange,
            FeatureTitleRequired,
            FeatureNameTaken { name: "gpt-4o".into() },
            FeatureNameImmutable,
            AccessUnknown { value: "vip".into() },
            PerUnitsRange { max: 1_000_000 },
            UnitPriceNotExact,
            FeatureNotAvailable { feature: "gpt-4o".into() },
            InsufficientBalance { required_micros: 400_000_000, balance_micros: 150_000_000, currency: rub },
            TopupRange { min_minor: 1_000, max_minor: 70_000_000, currency: rub },
            AdjustmentReasonRequired,
            AmountNotZero,
            BalanceWouldGoNegative { balance_micros: 150_000_000, currency: rub },
            RefundBeyondUnspent { amount_minor: 15_000, currency: rub },
            CurrencyMismatch { expected: rub },
            FeatureLimitLine,
            OrgNameRequired,
            RoleUnknown { value: "boss".into() },
            AlreadyMember { email: "ann@example.ru".into() },
            AlreadyInvited { email: "ann@example.ru".into() },
            LastOwner,
            InvitationGone,
            OrgManagersOnly,
            OrgOwnersOnly,
            NotAMember,
            ReservationNotHeld { status: crate::usage::ReservationStatus::Expired },
            TtlRange { max: 3600 },
            RateLimited { seconds: 10 },
            CapUnknown { value: "minutes".into() },
            MemberCapReached { cap: "requests".into() },
            AssignTargetRequired,
            PlanIsCurrent,
            PlanCurrencyDiffers { expected: rub },
            NoPendingChange,
            ReturnUrlRequired,
            PlanHasNoTrial,
            TrialUsed,
            NotTrialing,
            SubscriptionPaused,
            NotPausable,
            NotPaused,
            PauseNotAllowed,
            ClockForwardOnly,
            WebhookUrlInvalid,
            WebhookHttpsRequired,
            WebhookAddressNotAllowed,
            EventTypeUnknown { value: "invoice.paid".into() },
            EventTypesRequired,
            OverlapRange { max: 604_800 },
            MonthsRange { max: 60 },
            UpgradeNow { amount_minor: 41_235, currency: rub },
            UpgradeNewPeriod { amount_minor: 990_000, currency: rub, until: 1_798_761_600 },
            DowngradeOn { plan: "Starter".into(), at: 1_797_811_200 },
            SourceUnknown,
            SourceNotAllowed,
            WholeNumberOrUnlimited,
            PriceFormat,
            WholeMinorUnits,
            WholeNumber,
            JsonInvalid,
        ];
        all.extend(Entity::ALL.into_iter().map(|entity| NotFound { entity }));
        all
    }
}

impl From<MoneyError> for Message {
    fn from(error: MoneyError) -> Message {
        match error {
            MoneyError::UnknownCurrency(value) => Message::UnknownCurrency { value },
            MoneyError::NotExact(value) => Message::AmountNotExact { value },
            MoneyError::Negative => Message::NotNegative,
            MoneyError::TooLarge => Message::AmountTooLarge,
        }
    }
}

/// One field that failed validation, with what is wrong as a [`Message`]. `field` is the JSON
/// path of the value (`price`, `quotas.tokens_input`, `events[3].amount`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidField {
    pub field: String,
    pub message: Message,
}

impl InvalidField {
    pub fn new(field: impl Into<String>, message: Message) -> InvalidField {
        InvalidField { field: field.into(), message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_an_example() {
        // The UI's i18n test translates every example; this makes sure no variant is missing
        // from them (the kinds are derived from the enum itself).
        use strum::IntoEnumIterator;
        let examples: Vec<MessageKind> = Message::examples().iter().map(MessageKind::from).collect();
        for kind in MessageKind::iter() {
            assert!(examples.contains(&kind), "Message::examples() lacks {kind:?}");
        }
    }

    #[test]
    fn codes_and_statuses_are_stable() {
        assert_eq!(serde_json::to_value(ErrorCode::ValidationFailed).unwrap(), "validation_failed");
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
        assert_eq!(ErrorCode::QuotaExceeded.status(), 429);
    }
}
