//! The error answers shared by many routes, as OpenAPI response sets (problem JSON bodies).

use tariff_model::Problem;
use utoipa::IntoResponses;

/// 401 for requests without a valid token.
#[derive(IntoResponses)]
pub enum Unauthenticated {
    /// Missing, malformed, unknown or revoked `Authorization: Bearer` token.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
}

/// 401 and 403 for routes that act for a user (`user_id` in the body or query).
#[derive(IntoResponses)]
pub enum ActsForUser {
    /// Missing, malformed, unknown or revoked `Authorization: Bearer` token.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// A user-scope token named another user in `user_id` (only service tokens act for others),
    /// or the user is not a member of the organisation the request bills (`organization_id`, or
    /// the one a reservation was made for).
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
}

/// 401 and 403 for admin routes.
#[derive(IntoResponses)]
pub enum AdminOnly {
    /// Missing, malformed, unknown or revoked token.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// Not an admin-scope token of an admin user.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
}

/// 400 and 422 for requests with a body.
#[derive(IntoResponses)]
pub enum BadBody {
    /// The body is not JSON.
    #[response(status = 400, content_type = "application/problem+json")]
    Malformed(Problem),
    /// The JSON breaks a rule; `errors` names each field.
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(Problem),
}
