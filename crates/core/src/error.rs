//! The one error type of the billing core. Every variant carries a stable code
//! ([`Error::code`], the problem JSON's `code`) and, where a person may read it, a
//! [`Message`] code with parameters instead of a sentence: the app's edge (problem JSON, page
//! messages, the CLI) turns codes into English or Russian text.
//!
//! Statuses follow DESIGN.md "Bad input gets a clear error": validation 422 with field-level
//! messages, unknown entity 404, missing auth 401, not allowed 403, conflict 409, quota
//! exceeded 429, insufficient balance 402, a feature the plan does not include 403. A database that cannot be reached (down, restarting,
//! out of connections) is 503, so clients retry; other database and internal errors are 500.
//! Their detail is for the log only.

use tariff_model::{Entity, ErrorCode, InvalidField, Message, Metric};

/// Everything a billing function can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 404: the entity does not exist (or is not visible to the caller).
    #[error("{} {id:?} was not found", .entity.as_str())]
    NotFound { entity: Entity, id: String },
    /// 422: the request was well-formed but its values break a rule, field by field.
    #[error("validation failed: {0:?}")]
    Validation(Vec<InvalidField>),
    /// 409: the change conflicts with the current state.
    #[error("conflict: {0:?}")]
    Conflict(Message),
    /// 429: consuming `requested` units of `metric` would pass the quota `limit`.
    #[error(
        "quota exceeded for {metric}: {current_usage} of {limit} used, {remaining} remaining, {requested} requested"
    )]
    QuotaExceeded { metric: Metric, limit: i64, current_usage: i64, remaining: i64, requested: i64 },
    /// 402: the balance (`balance_micros`, micro-minor units) cannot pay `required_micros`;
    /// nothing was recorded.
    #[error("insufficient balance: {required_micros} µ{currency} required, {balance_micros} µ{currency} available")]
    InsufficientBalance {
        required_micros: i64,
        balance_micros: i64,
        currency: tariff_model::Currency,
        feature: Option<String>,
    },
    /// 403 `feature_not_available`: the account's plan does not give access to `feature`.
    #[error("feature {feature:?} is not available on this plan")]
    FeatureNotAvailable { feature: String },
    /// 429 `member_cap_exceeded`: the organisation member's own cap for the period would be
    /// passed. `cap` is the metric's name, or `spend` (then the figures are micro-minor units).
    #[error("member cap exceeded for {cap}: {used} of {limit} used, {requested} requested")]
    MemberCapExceeded { cap: String, limit: i64, used: i64, requested: i64 },
    /// 403 `subscription_paused`: the account's subscription is paused (since `paused_at`, Unix
    /// seconds); usage waits until it is resumed.
    #[error("the subscription is paused")]
    SubscriptionPaused { paused_at: Option<i64> },
    /// 410: the thing existed but can no longer be used (an expired or revoked invitation).
    #[error("gone: {0:?}")]
    Gone(Message),
    /// 401: no or bad credentials.
    #[error("authentication required")]
    Unauthorized,
    /// 403: authenticated, but not allowed.
    #[error("forbidden: {0:?}")]
    Forbidden(Message),
    /// 502: the payment provider refused the request with its error `code`; `detail` is the
    /// provider's own text, for the log only (never shown to a client or on a page).
    #[error("the payment provider refused the request ({code})")]
    PaymentProvider { code: String, detail: String },
    /// 503: a dependency (the payment provider) cannot be reached or is not configured; try later.
    #[error("unavailable: {0:?}")]
    Unavailable(Message),
    /// 500 (503 when it cannot be reached, see [`database_unreachable`]): the database failed;
    /// the detail is logged, never sent.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// 500: anything else that is our fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// 404 for `entity` with `id`.
    pub fn not_found(entity: Entity, id: impl Into<String>) -> Self {
        Error::NotFound { entity, id: id.into() }
    }

    /// 422 for one field.
    pub fn invalid(field: impl Into<String>, message: Message) -> Self {
        Error::Validation(vec![InvalidField::new(field, message)])
    }

    /// The stable code of this error (and with it the HTTP status).
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::NotFound { .. } => ErrorCode::NotFound,
            Error::Validation(_) => ErrorCode::ValidationFailed,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::QuotaExceeded { .. } => ErrorCode::QuotaExceeded,
            Error::InsufficientBalance { .. } => ErrorCode::InsufficientBalance,
            Error::FeatureNotAvailable { .. } => ErrorCode::FeatureNotAvailable,
            Error::MemberCapExceeded { .. } => ErrorCode::MemberCapExceeded,
            Error::Gone(_) => ErrorCode::Gone,
            Error::SubscriptionPaused { .. } => ErrorCode::SubscriptionPaused,
            Error::Unauthorized => ErrorCode::Unauthorized,
            Error::Forbidden(_) => ErrorCode::Forbidden,
            Error::PaymentProvider { .. } => ErrorCode::PaymentProviderError,
            Error::Unavailable(_) => ErrorCode::Unavailable,
            Error::Database(e) if database_unreachable(e) => ErrorCode::Unavailable,
            Error::Database(_) | Error::Internal(_) => ErrorCode::InternalError,
        }
    }

    /// What a person may be shown about this error as one message (field errors have their
    /// own, per field).
    pub fn message(&self) -> Message {
        match self {
            Error::NotFound { entity, .. } => Message::NotFound { entity: *entity },
            Error::Validation(fields) => fields.first().map(|f| f.message.clone()).unwrap_or(Message::ServerError),
            Error::Conflict(m) | Error::Forbidden(m) | Error::Unavailable(m) | Error::Gone(m) => m.clone(),
            Error::MemberCapExceeded { cap, .. } => Message::MemberCapReached { cap: cap.clone() },
            Error::QuotaExceeded { .. } => Message::ServerError,
            Error::SubscriptionPaused { .. } => Message::SubscriptionPaused,
            Error::InsufficientBalance { required_micros, balance_micros, currency, .. } => {
                Message::InsufficientBalance {
                    required_micros: *required_micros,
                    balance_micros: *balance_micros,
                    currency: *currency,
                }
            }
            Error::FeatureNotAvailable { feature } => Message::FeatureNotAvailable { feature: feature.clone() },
            Error::Unauthorized => Message::WrongCredentials,
            Error::PaymentProvider { .. } => Message::ProviderRefused,
            Error::Database(e) if database_unreachable(e) => Message::DatabaseUnavailable,
            Error::Database(_) | Error::Internal(_) => Message::ServerError,
        }
    }
}

/// Whether `e` says the database could not be reached rather than that a statement failed: a
/// broken or refused connection, an exhausted or closed pool, or PostgreSQL's connection
/// exceptions (SQLSTATE class 08), shutdown (57P01-57P03) and too many connections (53300).
/// Such a request changed nothing that was acknowledged and may be retried.
pub fn database_unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

/// Result of a billing function.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_errors_are_internal_and_carry_no_text_for_people() {
        let err = Error::Database(sqlx::Error::Protocol("secret table layout".into()));
        assert_eq!(err.code(), ErrorCode::InternalError);
        assert_eq!(err.message(), Message::ServerError);
    }

    #[test]
    fn an_unreachable_database_is_unavailable_not_internal() {
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let err = Error::Database(sqlx::Error::Io(reset));
        assert_eq!(err.code().status(), 503);
        assert_eq!(err.message(), Message::DatabaseUnavailable);
        assert_eq!(Error::Database(sqlx::Error::PoolTimedOut).code().status(), 503);
        assert_eq!(Error::Database(sqlx::Error::RowNotFound).code().status(), 500);
    }

    #[test]
    fn validation_errors_carry_their_fields() {
        let Error::Validation(fields) = Error::invalid("price", Message::NotNegative) else { panic!() };
        assert_eq!(fields[0].field, "price");
        assert_eq!(Error::invalid("price", Message::NotNegative).code().status(), 422);
    }
}
