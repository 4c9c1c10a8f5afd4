//! The server functions of the pages (Leptos `#[server]`), compiled into both builds: in the
//! browser each is a typed HTTP call to `/api/ui/…`; on the server its body is one call into the
//! server-side page code (`crate::server::pages`), which checks the session itself. Errors are
//! [`UiError`]s carrying message codes, translated by the components in the reader's language.

pub mod admin;
pub mod auth;
pub mod orgs;
pub mod portal;

use serde::{Deserialize, Serialize};

/// What a page's server function can fail with, already in the viewer's language (the server
/// translates every [`tariff_model::Message`] code with the UI's i18n before answering).
///
/// Every variant's text is safe to show: database and internal errors arrive as a generic
/// [`UiError::Message`], their details stay in the server log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum UiError {
    /// No session, or it expired: the page offers to log in again.
    #[error("signed out")]
    SignedOut,
    /// Signed in, but the action needs another role (the admin pages answer 403).
    #[error("forbidden")]
    Forbidden,
    /// The thing asked for does not exist (or is not the viewer's).
    #[error("{0}")]
    NotFound(String),
    /// Validation failed: `(field, message)` pairs, shown next to the fields.
    #[error("{}", .0.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>().join("; "))]
    Fields(Vec<(String, String)>),
    /// A refusal or failure that concerns the whole action, in words.
    #[error("{0}")]
    Message(String),
    /// The request never reached the service, or its arguments could not be read (the server
    /// answers 400 then): a generic retry hint is shown.
    #[error("{0}")]
    Transport(String),
}

impl UiError {
    /// The message for `field`, when validation failed on it.
    pub fn field(&self, field: &str) -> Option<String> {
        match self {
            UiError::Fields(fields) => fields.iter().find(|(f, _)| f == field).map(|(_, m)| m.clone()),
            _ => None,
        }
    }

    /// Field messages not claimed by any of `shown` fields, plus any non-field message: what an
    /// action-level error line should say (`None` for transport failures: the page shows its
    /// retry hint).
    pub fn general(&self, shown: &[&str]) -> Option<String> {
        match self {
            UiError::Fields(fields) => {
                let rest: Vec<&str> =
                    fields.iter().filter(|(f, _)| !shown.contains(&f.as_str())).map(|(_, m)| m.as_str()).collect();
                (!rest.is_empty()).then(|| rest.join(" "))
            }
            UiError::Transport(_) => None,
            other => Some(other.to_string()),
        }
    }
}

impl leptos::server_fn::error::FromServerFnError for UiError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        // Arguments that cannot be decoded (a missing field, `immediate=maybe`) are the client's
        // mistake: 400, not the framework's 500. A plain form post keeps its redirect back.
        #[cfg(feature = "ssr")]
        if matches!(
            value,
            leptos::server_fn::error::ServerFnErrorErr::Args(_)
                | leptos::server_fn::error::ServerFnErrorErr::Deserialization(_)
        ) {
            crate::server::pages::set_status(axum::http::StatusCode::BAD_REQUEST);
        }
        UiError::Transport(value.to_string())
    }
}
