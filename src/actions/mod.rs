//! The server functions of the pages (Leptos `#[server]`), compiled into both builds: in the
//! browser each is a typed HTTP call to `/api/ui/…`; on the server its body is one call into the
//! server-side page code (`crate::server::pages`), which checks the session itself. Errors are
//! [`UiError`]s carrying message codes, translated by the components in the reader's language.

pub mod admin;
pub mod auth;
pub mod portal;

use serde::{Deserialize, Serialize};
use tariff_model::{InvalidField, Message};

/// What a page's server function can fail with. Every message is a code ([`Message`]); the page
/// shows it in the reader's language. Database and internal failures arrive as
/// [`Message::ServerError`]; their details stay in the server log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum UiError {
    /// No session, or it expired: the page offers to log in again.
    #[error("signed out")]
    SignedOut,
    /// Signed in, but the action needs another role (the admin pages answer 403).
    #[error("forbidden")]
    Forbidden,
    /// The thing asked for does not exist (or is not the viewer's).
    #[error("not found: {0:?}")]
    NotFound(Message),
    /// Validation failed: shown next to the fields.
    #[error("invalid fields: {0:?}")]
    Fields(Vec<InvalidField>),
    /// A refusal or failure that concerns the whole action.
    #[error("{0:?}")]
    Message(Message),
    /// The request never reached the service, or its arguments could not be read (the server
    /// answers 400 then): a generic retry hint is shown.
    #[error("{0}")]
    Transport(String),
}

impl UiError {
    /// The message for `field`, when validation failed on it.
    pub fn field(&self, field: &str) -> Option<&Message> {
        match self {
            UiError::Fields(fields) => fields.iter().find(|f| f.field == field).map(|f| &f.message),
            _ => None,
        }
    }

    /// Field messages not claimed by any of `shown` fields, plus any message about the whole
    /// action: what an action-level error line should say. Empty for [`UiError::Transport`].
    pub fn general(&self, shown: &[&str]) -> Vec<Message> {
        match self {
            UiError::Fields(fields) => {
                fields.iter().filter(|f| !shown.contains(&f.field.as_str())).map(|f| f.message.clone()).collect()
            }
            UiError::NotFound(m) | UiError::Message(m) => vec![m.clone()],
            UiError::SignedOut => vec![Message::SessionEnded],
            UiError::Forbidden => vec![Message::AdminsOnly],
            UiError::Transport(_) => Vec::new(),
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
