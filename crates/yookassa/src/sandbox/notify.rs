//! The notifications the sandbox sends to the webhook URL (ref §5.1), retried like YooKassa's.

use super::Sandbox;
use axum::http::StatusCode;
use std::sync::Arc;
use std::time::Duration;

impl Sandbox {
    /// POSTs `{type: notification, event, object}` to the webhook URL in the background,
    /// retrying a few times on failure (YooKassa retries for 24 h, ref §5.4).
    pub(super) fn notify(self: &Arc<Self>, event: &str, object: serde_json::Value) {
        let body = serde_json::json!({ "type": "notification", "event": event, "object": object });
        let url = self.webhook_url.read().map(|u| u.clone()).unwrap_or_default();
        let http = self.http.clone();
        tokio::spawn(async move {
            for attempt in 0..5u32 {
                match http.post(&url).json(&body).send().await {
                    Ok(response) if response.status() == StatusCode::OK => return,
                    Ok(response) => {
                        tracing::warn!(status = response.status().as_u16(), %url, "sandbox notification not accepted")
                    }
                    Err(e) => tracing::warn!(error = %e, %url, "sandbox notification failed"),
                }
                tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
            }
        });
    }
}
