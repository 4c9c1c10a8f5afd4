//! The one error type of the service layer and its mapping to HTTP problem JSON (RFC 9457).
//!
//! Status codes follow DESIGN.md "Bad input gets a clear error": validation 422 with field-level
//! messages, malformed JSON 400, unknown entity 404, missing auth 401, not allowed 403, conflict
//! 409, quota exceeded 429, insufficient balance 402. Database and internal errors answer 500
//! with a generic message; their detail goes to the log only.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One field that failed validation, with a message a person can act on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }
}

/// Everything a service function can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 404: the entity does not exist (or is not visible to the caller).
    #[error("{entity} {id:?} was not found")]
    NotFound { entity: &'static str, id: String },
    /// 422: the request was well-formed but its values break a rule.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 400: the body could not be parsed at all.
    #[error("{0}")]
    BadRequest(String),
    /// 413: the body is larger than the server accepts.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// 409: the change conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// 429: consuming `requested` units of `metric` would pass the quota `limit`.
    #[error(
        "quota exceeded for {metric}: {current_usage} of {limit} used, {remaining} remaining, {requested} requested"
    )]
    QuotaExceeded { metric: crate::model::Metric, limit: i64, current_usage: i64, remaining: i64, requested: i64 },
    /// 401: no or bad credentials.
    #[error("authentication required")]
    Unauthorized,
    /// 403: authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 502: the payment provider refused the request.
    #[error("the payment provider refused the request: {0}")]
    PaymentProvider(String),
    /// 503: a dependency (the payment provider) cannot be reached or is not configured; try later.
    #[error("{0}")]
    Unavailable(String),
    /// 500: the database failed; the detail is logged, never sent.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// 500: anything else that is our fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn not_found(entity: &'static str, id: impl Into<String>) -> Self {
        Error::NotFound { entity, id: id.into() }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError::new(field, message)])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::QuotaExceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::PaymentProvider(_) => StatusCode::BAD_GATEWAY,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::Database(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable machine-readable code, sent as the problem's `code` member.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "not_found",
            Error::Validation(_) => "validation_failed",
            Error::BadRequest(_) => "bad_request",
            Error::Conflict(_) => "conflict",
            Error::PayloadTooLarge => "payload_too_large",
            Error::QuotaExceeded { .. } => "quota_exceeded",
            Error::PaymentProvider(_) => "payment_provider_error",
            Error::Unavailable(_) => "unavailable",
            Error::Unauthorized => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::Database(_) | Error::Internal(_) => "internal_error",
        }
    }

    /// The message safe to show a client: internal details are replaced by a generic sentence.
    pub fn public_message(&self) -> String {
        match self {
            Error::Database(_) | Error::Internal(_) => {
                "The server could not complete the request. Try again later.".to_owned()
            }
            other => other.to_string(),
        }
    }

    /// The RFC 9457 problem document for this error.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.public_message(),
            code: self.code(),
            errors: match self {
                Error::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
            quota: match self {
                Error::QuotaExceeded { metric, limit, current_usage, remaining, requested } => Some(QuotaProblem {
                    metric: *metric,
                    quota_limit: *limit,
                    current_usage: *current_usage,
                    remaining: *remaining,
                    requested: *requested,
                }),
                _ => None,
            },
        }
    }
}

/// RFC 9457 problem details, with the `code` and field `errors` extension members.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "about:blank")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code: not_found, validation_failed, bad_request, conflict,
    /// unauthorized, forbidden, quota_exceeded, payload_too_large, internal_error.
    #[schema(value_type = String, example = "not_found")]
    pub code: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For 429 quota problems: which metric, its limit, usage and what remains.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(inline)]
    pub quota: Option<QuotaProblem>,
}

/// Extension members of a quota-exceeded problem, in the metric's units.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuotaProblem {
    pub metric: crate::model::Metric,
    pub quota_limit: i64,
    pub current_usage: i64,
    pub remaining: i64,
    pub requested: i64,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if self.status().is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let problem = self.problem();
        let status = self.status();
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response =
            (status, [(axum::http::header::CONTENT_TYPE, "application/problem+json")], body).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"tariff\""),
            );
        }
        response
    }
}

/// Result of a service-layer function.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_errors_do_not_leak_their_text() {
        let err = Error::Database(sqlx::Error::Protocol("secret table layout".into()));
        let problem = err.problem();
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains("secret"));
    }

    #[test]
    fn validation_errors_carry_their_fields() {
        let problem = Error::invalid("price", "must not be negative").problem();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors[0].field, "price");
    }
}
