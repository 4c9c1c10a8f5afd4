//! Incoming HTTP notifications (ref §5): parsing the body into what the billing core handles,
//! and the optional HMAC-SHA256 body signature of proxies that sign (the spec's scheme).

use crate::Notification;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a notification body was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    #[error("not a notification: {0}")]
    NotJson(String),
    #[error("type must be \"notification\"")]
    WrongType,
    #[error("object.id is missing")]
    MissingObjectId,
    #[error("event is missing")]
    MissingEvent,
}

/// Parses a notification body `{type: "notification", event, object: {id, status, ...}}`.
///
/// # Errors
/// [`NotificationError`] for a body that is not a notification or names no object.
pub fn parse(body: &[u8]) -> Result<tariff_core::gateway::Notification, NotificationError> {
    let notification: Notification =
        serde_json::from_slice(body).map_err(|e| NotificationError::NotJson(e.to_string()))?;
    if notification.kind != "notification" {
        return Err(NotificationError::WrongType);
    }
    if notification.event.is_empty() {
        return Err(NotificationError::MissingEvent);
    }
    let text = |key: &str| notification.object.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let object_id = text("id");
    if object_id.is_empty() {
        return Err(NotificationError::MissingObjectId);
    }
    Ok(tariff_core::gateway::Notification { event: notification.event, object_id, object_status: text("status") })
}

/// Whether `header` (`X-Webhook-Signature`: hex, optionally prefixed `sha256=`) is the
/// HMAC-SHA256 of `body` under `secret`. Compared in constant time.
pub fn signature_valid(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(header) = header else {
        return false;
    };
    let hex = header.trim().trim_start_matches("sha256=");
    if hex.len() % 2 != 0 {
        return false;
    }
    let bytes: Option<Vec<u8>> =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect();
    let Some(bytes) = bytes else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_name_their_object() {
        let n =
            parse(br#"{"type":"notification","event":"payment.succeeded","object":{"id":"p1","status":"succeeded"}}"#)
                .unwrap();
        assert_eq!(
            (n.event.as_str(), n.object_id.as_str(), n.object_status.as_str()),
            ("payment.succeeded", "p1", "succeeded")
        );
        assert_eq!(parse(br#"{"type":"x","event":"e","object":{"id":"p"}}"#), Err(NotificationError::WrongType));
        assert_eq!(
            parse(br#"{"type":"notification","event":"e","object":{}}"#),
            Err(NotificationError::MissingObjectId)
        );
        assert!(matches!(parse(b"nope"), Err(NotificationError::NotJson(_))));
        assert_eq!(
            parse(br#"{"type":"notification","event":"","object":{"id":"p"}}"#),
            Err(NotificationError::MissingEvent)
        );
    }

    #[test]
    fn signatures_are_hmac_sha256_of_the_raw_body() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
        mac.update(b"{}");
        let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert!(signature_valid("secret", b"{}", Some(&hex)));
        assert!(signature_valid("secret", b"{}", Some(&format!("sha256={hex}"))));
        assert!(!signature_valid("secret", b"{ }", Some(&hex)));
        assert!(!signature_valid("other", b"{}", Some(&hex)));
        assert!(!signature_valid("secret", b"{}", None));
        assert!(!signature_valid("secret", b"{}", Some("zz")));
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

            /// Any bytes: a notification or a refusal, never a panic.
            #[test]
            fn any_body_parses_or_is_refused(body in proptest::collection::vec(any::<u8>(), 0..512)) {
                let _ = parse(&body);
            }

            /// JSON of about the right shape with any values: parsed exactly as sent, or refused.
            #[test]
            fn notification_shapes(
                kind in "(notification|x|)", event in "\\PC{0,30}", id in "\\PC{0,40}", status in "\\PC{0,12}"
            ) {
                let body = serde_json::json!({"type": kind, "event": event, "object": {"id": id, "status": status}});
                match parse(body.to_string().as_bytes()) {
                    Ok(n) => {
                        prop_assert_eq!(kind, "notification");
                        prop_assert_eq!(n.event, event);
                        prop_assert_eq!(n.object_id, id);
                        prop_assert_eq!(n.object_status, status);
                    }
                    Err(_) => prop_assert!(kind != "notification" || event.is_empty() || id.is_empty()),
                }
            }

            /// Any signature header: valid only when it is the body's HMAC; never a panic.
            #[test]
            fn signatures_never_panic(header in "\\PC{0,80}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
                let _ = signature_valid("secret", &body, Some(&header));
            }
        }
    }
}
