//! Errors of the JSON API as RFC 9457 problem JSON (`application/problem+json`): the billing
//! core's [`Error`]s with their stable `code`, English text for every message code (from the
//! UI's i18n), and the API's own failures (bodies that cannot be read, unknown routes). Mapped
//! to HTTP in exactly this one place.

use crate::ui::i18n::message;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tariff_core::Error;
use tariff_model::{ErrorCode, FieldError, Locale, Problem};

/// Everything an API handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A billing rule refused, or the store failed.
    #[error(transparent)]
    Core(#[from] Error),
    /// 400: the body (or a notification) could not be parsed at all; `0` says why, in English.
    #[error("{0}")]
    BadRequest(String),
    /// 422: JSON or a query of the wrong shape; `message` is the parser's own words.
    #[error("{field}: {message}")]
    Shape { field: String, message: String },
    /// 413: the body is larger than the server accepts.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// 404: no route at this path under `/api`.
    #[error("route {0:?} was not found")]
    NoRoute(String),
    /// 429: the caller's rate limit (not a quota) is used up; try again in `retry_after` seconds.
    #[error("too many requests: the rate limit is used up; try again in {retry_after} s")]
    RateLimited { retry_after: u32 },
}

/// Result of an API handler.
pub type ApiResult<T> = std::result::Result<T, ApiError>;

impl ApiError {
    /// The stable code (and with it the status) of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Core(e) => e.code(),
            ApiError::BadRequest(_) => ErrorCode::BadRequest,
            ApiError::Shape { .. } => ErrorCode::ValidationFailed,
            ApiError::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            ApiError::NoRoute(_) => ErrorCode::NotFound,
            ApiError::RateLimited { .. } => ErrorCode::RateLimited,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code().status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The problem document: details in English; internal failures as one generic sentence
    /// (their detail goes to the log only).
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let en = |m: &tariff_model::Message| message(m, Locale::En);
        let (detail, errors, quota) = match self {
            ApiError::Core(Error::Validation(fields)) => (
                "validation failed".to_owned(),
                fields.iter().map(|f| FieldError { field: f.field.clone(), message: en(&f.message) }).collect(),
                None,
            ),
            ApiError::Core(e @ Error::QuotaExceeded { metric, limit, current_usage, remaining, requested }) => {
                (e.to_string(), Vec::new(), Some((Some(*metric), *limit, *current_usage, *remaining, *requested)))
            }
            ApiError::Core(e @ Error::MemberCapExceeded { limit, used, requested, .. }) => {
                (en(&e.message()), Vec::new(), Some((None, *limit, *used, (*limit - *used).max(0), *requested)))
            }
            ApiError::Core(
                e @ (Error::InsufficientBalance { .. }
                | Error::FeatureNotAvailable { .. }
                | Error::SubscriptionPaused { .. }),
            ) => (en(&e.message()), Vec::new(), None),
            ApiError::Core(Error::Conflict(m) | Error::Forbidden(m) | Error::Unavailable(m) | Error::Gone(m)) => {
                (en(m), Vec::new(), None)
            }
            ApiError::Core(e @ (Error::Database(_) | Error::Internal(_))) => (en(&e.message()), Vec::new(), None),
            ApiError::Core(e) => (e.to_string(), Vec::new(), None),
            ApiError::Shape { field, message } => (
                "validation failed".to_owned(),
                vec![FieldError { field: field.clone(), message: message.clone() }],
                None,
            ),
            ApiError::RateLimited { retry_after } => {
                (en(&tariff_model::Message::RateLimited { seconds: *retry_after }), Vec::new(), None)
            }
            other => (other.to_string(), Vec::new(), None),
        };
        let mut problem =
            Problem::new(status.as_u16(), status.canonical_reason().unwrap_or("Error"), detail, self.code(), errors);
        if let Some((metric, limit, current_usage, remaining, requested)) = quota {
            problem.metric = metric;
            problem.quota_limit = Some(limit);
            problem.current_usage = Some(current_usage);
            problem.remaining = Some(remaining);
            problem.requested = Some(requested);
        }
        match self {
            ApiError::Core(Error::InsufficientBalance { required_micros, balance_micros, currency, feature }) => {
                problem.required = Some(tariff_model::balance::decimal_from_micros(*required_micros));
                problem.required_micros = Some(*required_micros);
                problem.balance = Some(tariff_model::balance::decimal_from_micros(*balance_micros));
                problem.balance_micros = Some(*balance_micros);
                problem.currency = Some(*currency);
                problem.feature = feature.clone();
            }
            ApiError::Core(Error::FeatureNotAvailable { feature }) => problem.feature = Some(feature.clone()),
            ApiError::Core(Error::MemberCapExceeded { cap, .. }) => problem.cap = Some(cap.clone()),
            _ => {}
        }
        problem
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (status, [(header::CONTENT_TYPE, "application/problem+json")], body).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"tariff\""));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // The database or YooKassa is away; a retry in a moment is what helps.
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tariff_model::Message;

    #[test]
    fn database_errors_do_not_leak_their_text() {
        let problem = ApiError::from(Error::Database(sqlx_protocol("secret table layout"))).problem();
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains("secret"));
        assert_eq!(problem.code, ErrorCode::InternalError);
    }

    fn sqlx_protocol(text: &str) -> tariff_core::store::DatabaseError {
        tariff_core::store::DatabaseError::Protocol(text.into())
    }

    #[test]
    fn validation_errors_carry_their_fields_in_english() {
        let problem = ApiError::from(Error::invalid("price", Message::NotNegative)).problem();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors[0].field, "price");
        assert_eq!(problem.errors[0].message, "must not be negative");
    }
}
