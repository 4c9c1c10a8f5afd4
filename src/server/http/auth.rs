//! Authentication extractor for `/api/v1`: `Authorization: Bearer <token>` → [`Principal`].
//! Missing, malformed, unknown or revoked tokens answer 401 problem JSON.

use crate::server::billing::audit::Actor;
use crate::server::billing::tokens::{self, Principal};
use crate::server::error::Error;
use crate::server::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use std::net::SocketAddr;

/// The authenticated caller; use as a handler argument.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).ok_or(Error::Unauthorized)?;
        let value = header.to_str().map_err(|_| Error::Unauthorized)?;
        let (scheme, token) = value.trim().split_once(' ').ok_or(Error::Unauthorized)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Error::Unauthorized);
        }
        let principal = tokens::authenticate(&state.store, state.clock.as_ref(), token.trim()).await?;
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
    type Rejection = Error;

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
