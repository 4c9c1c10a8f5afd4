//! Extractors of the JSON API, so that no handler parses or authenticates by hand:
//! - [`Auth`]: `Authorization: Bearer <token>` → the principal (401 otherwise);
//! - [`Admin`]: an admin-scope token of an admin user (403 otherwise) with its audit actor;
//! - [`ApiJson`] / [`OptionalJson`]: a JSON body (400 malformed, 422 wrong shape, 413 too large;
//!   an empty body or `null` is the default for the optional one);
//! - [`ApiQuery`]: a query string (422 when it does not parse);
//! - [`Acting`] / [`ActingQuery`]: a body or query that may name `user_id`, with the user the
//!   request acts for (the token's owner, or with a service token the named user), billing
//!   their current account or the `organization_id` the body names.

use super::error::ApiError;
use crate::server::state::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use tariff_core::Error;
use tariff_core::audit::Actor;
use tariff_core::tokens::{self, Principal, UserRef};

/// The authenticated caller.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).ok_or(Error::Unauthorized)?;
        let value = header.to_str().map_err(|_| Error::Unauthorized)?;
        let (scheme, token) = value.trim().split_once(' ').ok_or(Error::Unauthorized)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Error::Unauthorized.into());
        }
        let principal = tokens::authenticate(&state.billing.store, state.billing.clock.as_ref(), token.trim()).await?;
        Ok(Auth(principal))
    }
}

/// An admin caller (admin-scope token of an admin user; 403 otherwise) with the audit actor of the
/// request: user id, token, request id and source address.
pub struct Admin {
    pub principal: Principal,
    pub actor: Actor,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Auth(principal) = Auth::from_request_parts(parts, state).await?;
        principal.require_admin()?;
        let request_id = parts.headers.get("x-request-id").and_then(|v| v.to_str().ok());
        let source_ip =
            parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip().to_string());
        let actor = Actor {
            user_id: principal.user.id.clone(),
            metadata: serde_json::json!({
                "channel": "api",
                "email": principal.user.email,
                "token_id": principal.token_id,
                "request_id": request_id,
                "source_ip": source_ip,
            }),
        };
        Ok(Admin { principal, actor })
    }
}

/// The raw body, with the size limit answered as 413.
async fn body_bytes<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::BadRequest(rejection.body_text())
        }
    })
}

/// A JSON body, like `axum::Json<T>` with Tariff's error mapping. The `Content-Type` header is
/// not required, so `curl -d '{...}'` works as the spec's examples are written.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(request, state).await?;
        super::json::parse(&bytes).map(ApiJson)
    }
}

/// A JSON body that may be left out: an empty body is `T::default()`.
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(request, state).await?;
        // No body, or JSON `null`: the defaults.
        if bytes.iter().all(u8::is_ascii_whitespace) || bytes.trim_ascii() == b"null" {
            return Ok(OptionalJson(T::default()));
        }
        super::json::parse(&bytes).map(OptionalJson)
    }
}

/// A query string; one that does not parse answers 422 naming the problem.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ApiQuery(q))
            .map_err(|e| ApiError::Shape { field: "query".into(), message: e.body_text() })
    }
}

/// A request body or query that may name the user it acts for (`user_id`, service tokens) and
/// the organisation it bills (`organization_id`; the user must be a member).
pub trait NamesUser {
    fn user_id(&self) -> Option<&str>;
    fn organization_id(&self) -> Option<&str> {
        None
    }
}

macro_rules! names_user {
    ($($t:ty),+) => {
        $(impl NamesUser for $t {
            fn user_id(&self) -> Option<&str> {
                self.user_id.as_deref()
            }
        })+
    };
}

names_user!(
    tariff_model::api::ForUser,
    tariff_model::api::CancelBody,
    tariff_model::api::PaymentBody,
    tariff_model::api::TransactionsQuery,
    tariff_model::balance::TopupBody,
    tariff_model::api::UsageHistoryQuery,
    tariff_model::api::ChangeBody,
    tariff_model::api::TrialBody,
    tariff_model::api::PreviewQuery,
    tariff_model::api::CardBody
);

macro_rules! names_user_and_organization {
    ($($t:ty),+) => {
        $(impl NamesUser for $t {
            fn user_id(&self) -> Option<&str> {
                self.user_id.as_deref()
            }
            fn organization_id(&self) -> Option<&str> {
                self.organization_id.as_deref()
            }
        })+
    };
}

names_user_and_organization!(
    tariff_model::usage::ReservationBody,
    tariff_model::usage::CheckBody,
    tariff_model::UsageEvent,
    tariff_model::balance::ChargeBody
);

/// The ids a body or query names, owned (so no borrow of it is held across an await).
fn named(body: &impl NamesUser) -> (Option<String>, Option<String>) {
    (body.user_id().map(str::to_owned), body.organization_id().map(str::to_owned))
}

/// The user a request acts for, billing the organisation it names if it names one.
async fn acting_user(
    state: &AppState,
    principal: &Principal,
    (user_id, org_id): (Option<String>, Option<String>),
) -> Result<UserRef, ApiError> {
    let user = principal.subject(&state.billing.store, user_id.as_deref()).await?;
    Ok(match org_id {
        Some(org) => tariff_core::organizations::acting_in(&state.billing.store, user, &org).await?,
        None => user,
    })
}

/// A JSON body `T` and the user the request acts for.
pub struct Acting<T> {
    pub principal: Principal,
    pub user: UserRef,
    pub body: T,
}

impl<T: DeserializeOwned + NamesUser + Send> FromRequest<AppState> for Acting<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let Auth(principal) = Auth::from_request_parts(&mut parts, state).await?;
        let ApiJson(body) = ApiJson::<T>::from_request(Request::from_parts(parts, body), state).await?;
        let user = acting_user(state, &principal, named(&body)).await?;
        Ok(Acting { principal, user, body })
    }
}

/// A query `T` and the user the request acts for.
pub struct ActingQuery<T> {
    pub principal: Principal,
    pub user: UserRef,
    pub query: T,
}

impl<T: DeserializeOwned + NamesUser + Send> FromRequestParts<AppState> for ActingQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Auth(principal) = Auth::from_request_parts(parts, state).await?;
        let ApiQuery(query) = ApiQuery::<T>::from_request_parts(parts, state).await?;
        let user = acting_user(state, &principal, named(&query)).await?;
        Ok(ActingQuery { principal, user, query })
    }
}
