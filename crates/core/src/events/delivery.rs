//! Delivery of events to webhook endpoints (issue 16 §2–3): which attempts are due, the lease
//! that makes each attempt one worker's (so replicas never make the same attempt twice), the
//! Standard Webhooks signature, the retry schedule, and giving up. The HTTP request itself is the
//! server's (`src/server/outbox.rs`).
//!
//! Source: Standard Webhooks specification v1 (<https://www.standardwebhooks.com/>): the signed
//! content is `{webhook-id}.{webhook-timestamp}.{body}`, the signature HMAC-SHA256 keyed with
//! the base64-decoded part of the secret after `whsec_`, sent as `v1,{base64}`; several
//! signatures are separated by spaces.

use crate::Result;
use crate::store::Store;
use crate::store::events::{self as store, AttemptResult, Claimed};
use base64ct::{Base64, Encoding};
use hmac::{Hmac, Mac};
use ipnet::IpNet;
use rand::Rng;
use sha2::Sha256;
use std::net::IpAddr;
use std::str::FromStr;
use tariff_model::Message;

/// Delays before the attempts after the first, seconds: quick retries for a blip, then hours.
/// After the last the delay stays at its value. Each delay is jittered by ±20 %.
pub const RETRY_DELAYS: [i64; 9] = [5, 30, 120, 600, 1_800, 3_600, 7_200, 14_400, 28_800];
/// A delivery is retried for at least this long after its event (24 hours), then marked failed.
pub const RETRY_FOR_SECONDS: i64 = 86_400;
/// An endpoint whose every delivery failed for this long (5 days) is disabled.
pub const DISABLE_AFTER_SECONDS: i64 = 5 * 86_400;

/// Where endpoints may point. In production only HTTPS, and never at private, loopback,
/// link-local or other non-public addresses, except hosts or networks the operator allows
/// (`WEBHOOK_ALLOWED_HOSTS`: names, addresses or CIDR blocks).
#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub production: bool,
    pub allowed_hosts: Vec<String>,
}

/// Address blocks that are not the public internet (RFC 6890 and friends).
const NON_PUBLIC: [&str; 17] = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
    "64:ff9b::/96",
];

/// Whether `ip` is on the public internet (not private, loopback, link-local, multicast, ...).
pub fn is_public(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    !NON_PUBLIC.iter().filter_map(|block| IpNet::from_str(block).ok()).any(|block| block.contains(&ip))
}

impl Policy {
    /// Whether the operator allowed `host` explicitly (by name, address or CIDR block).
    pub fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let ip = IpAddr::from_str(host).ok();
        self.allowed_hosts.iter().any(|allowed| {
            allowed.eq_ignore_ascii_case(host)
                || ip.is_some_and(|ip| IpNet::from_str(allowed).is_ok_and(|net| net.contains(&ip)))
                || ip.is_some_and(|ip| IpAddr::from_str(allowed).is_ok_and(|a| a == ip))
        })
    }

    /// Whether a request may go to `ip` for `host` (checked on every address a name resolves
    /// to, so DNS cannot point an allowed name into the operator's network).
    pub fn address_allowed(&self, host: &str, ip: IpAddr) -> bool {
        !self.production || self.host_allowed(host) || is_public(ip)
    }

    /// Checks an endpoint URL: absolute `http(s)://` with a host; in production HTTPS and not a
    /// non-public address literal (or `localhost`), unless the host is allowed.
    ///
    /// # Errors
    /// The message to show on the `url` field.
    pub fn check_url(&self, url: &str) -> std::result::Result<url::Url, Message> {
        if url.chars().count() > super::endpoints::MAX_URL {
            return Err(Message::WebhookUrlInvalid);
        }
        let parsed = url::Url::parse(url).map_err(|_| Message::WebhookUrlInvalid)?;
        if !matches!(parsed.scheme(), "http" | "https") || !parsed.username().is_empty() || parsed.password().is_some()
        {
            return Err(Message::WebhookUrlInvalid);
        }
        let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) else { return Err(Message::WebhookUrlInvalid) };
        if !self.production || self.host_allowed(host) {
            return Ok(parsed);
        }
        if parsed.scheme() != "https" {
            return Err(Message::WebhookHttpsRequired);
        }
        let literal = IpAddr::from_str(host.trim_start_matches('[').trim_end_matches(']')).ok();
        if literal.is_some_and(|ip| !is_public(ip))
            || host.eq_ignore_ascii_case("localhost")
            || host.ends_with(".localhost")
        {
            return Err(Message::WebhookAddressNotAllowed);
        }
        Ok(parsed)
    }
}

/// The Standard Webhooks signature of one message: `v1,` and base64 of HMAC-SHA256 over
/// `{msg_id}.{timestamp}.{body}` keyed with the decoded secret. `None` for a secret that is not
/// `whsec_` and base64.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = Base64::decode_vec(secret.strip_prefix("whsec_")?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Some(format!("v1,{}", Base64::encode_string(&mac.finalize().into_bytes())))
}

/// The `webhook-signature` header of a claimed attempt sent with `timestamp` (real Unix time,
/// what receivers check against their clock): the current secret's signature, and while the
/// rotation's overlap lasts at `now` (the billing clock, which set it) the previous secret's too,
/// space-separated.
pub fn signature_header(c: &Claimed, timestamp: i64, now: i64) -> String {
    let mut signatures: Vec<String> = sign(&c.secret, &c.event_id, timestamp, &c.payload).into_iter().collect();
    if let (Some(previous), Some(until)) = (&c.previous_secret, c.previous_secret_expires_at)
        && now < until
    {
        signatures.extend(sign(previous, &c.event_id, timestamp, &c.payload));
    }
    signatures.join(" ")
}

/// The delay before the attempt after attempt number `attempt` (from 1), before jitter.
pub fn base_delay(attempt: i64) -> i64 {
    let index = usize::try_from(attempt.max(1) - 1).unwrap_or(usize::MAX).min(RETRY_DELAYS.len() - 1);
    RETRY_DELAYS[index]
}

/// The deliveries due at `now`, `(delivery_id, endpoint_id)` (see [`store::due`]).
///
/// # Errors
/// [`crate::Error::Database`].
pub async fn due(db: &Store, now: i64, limit: i64) -> Result<Vec<(String, String)>> {
    Ok(store::due(db.reader(), db.dialect(), now, limit).await?)
}

/// Takes one attempt of a due delivery for `lease_seconds`. `None` when another worker (or
/// replica) took it first or it is no longer due.
///
/// # Errors
/// [`crate::Error::Database`].
pub async fn claim(db: &Store, id: &str, now: i64, lease_seconds: i64) -> Result<Option<Claimed>> {
    let mut tx = db.begin_write().await?;
    let claimed = store::claim(&mut tx, id, now, now + lease_seconds).await?;
    tx.commit().await?;
    Ok(claimed)
}

/// What an attempt got back.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// The HTTP status, when there was an answer.
    pub status_code: Option<u16>,
    /// Why it failed without an answer (timeout, refused, address not allowed).
    pub error: Option<String>,
    pub latency_ms: i64,
}

impl Attempt {
    /// A 2xx answer.
    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|s| (200..300).contains(&s))
    }
}

/// How a finished attempt left the delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finished {
    Delivered,
    /// Failed; the next attempt is due then (Unix seconds).
    Retry(i64),
    /// Failed for good (retried for [`RETRY_FOR_SECONDS`]).
    GaveUp,
    /// This attempt's lease ran out and another attempt took the delivery over: nothing recorded.
    Superseded,
}

/// Records an attempt: delivered; or failed with the next attempt after the (jittered) delay;
/// or failed for good once the event is older than [`RETRY_FOR_SECONDS`]. An endpoint that has
/// failed every delivery for [`DISABLE_AFTER_SECONDS`] is disabled, saying why.
///
/// # Errors
/// [`crate::Error::Database`].
pub async fn finish(db: &Store, c: &Claimed, attempt: &Attempt, now: i64) -> Result<Finished> {
    let result = AttemptResult {
        status_code: attempt.status_code.map(i64::from),
        error: attempt.error.as_deref(),
        latency_ms: attempt.latency_ms,
    };
    let mut tx = db.begin_write().await?;
    let finished = if attempt.succeeded() {
        if !store::delivered(&mut tx, c, &result, now).await? {
            return Ok(Finished::Superseded);
        }
        Finished::Delivered
    } else {
        let give_up = now >= c.created_at + RETRY_FOR_SECONDS;
        let delay = base_delay(c.attempt);
        let jitter = rand::thread_rng().gen_range(-delay / 5..=delay / 5);
        let next = now + (delay + jitter).max(1);
        let Some(failing_since) = store::failed(&mut tx, c, &result, next, give_up, now).await? else {
            return Ok(Finished::Superseded);
        };
        if now - failing_since >= DISABLE_AFTER_SECONDS {
            let last = match (attempt.status_code, &attempt.error) {
                (Some(code), _) => format!("HTTP {code}"),
                (None, Some(error)) => error.clone(),
                (None, None) => "no answer".to_owned(),
            };
            let days = DISABLE_AFTER_SECONDS / 86_400;
            let reason =
                format!("Every delivery failed for {days} days (last: {last}); enable it again when it is fixed");
            store::disable(&mut tx, &c.endpoint_id, &reason, now).await?;
            tracing::warn!(target: crate::LOG_TARGET, endpoint_id = %c.endpoint_id, "webhook endpoint disabled: {reason}");
        }
        if give_up { Finished::GaveUp } else { Finished::Retry(next) }
    };
    tx.commit().await?;
    Ok(finished)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_the_standard_webhooks_test_vector() {
        // The specification's example (standard-webhooks/spec, "Signature scheme").
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        let signature = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body);
        assert_eq!(signature.as_deref(), Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    }

    #[test]
    fn production_refuses_private_and_plain_http_unless_allowed() {
        let open = Policy::default();
        assert!(open.check_url("http://127.0.0.1:9/hook").is_ok());
        assert_eq!(open.check_url("ftp://example.com/").unwrap_err(), Message::WebhookUrlInvalid);
        assert_eq!(open.check_url("not a url").unwrap_err(), Message::WebhookUrlInvalid);
        let production =
            Policy { production: true, allowed_hosts: vec!["10.1.0.0/16".into(), "hooks.internal".into()] };
        assert_eq!(production.check_url("http://example.com/").unwrap_err(), Message::WebhookHttpsRequired);
        assert_eq!(production.check_url("https://127.0.0.1/").unwrap_err(), Message::WebhookAddressNotAllowed);
        assert_eq!(production.check_url("https://[::1]/").unwrap_err(), Message::WebhookAddressNotAllowed);
        assert_eq!(production.check_url("https://192.168.1.5/").unwrap_err(), Message::WebhookAddressNotAllowed);
        assert_eq!(production.check_url("https://localhost/").unwrap_err(), Message::WebhookAddressNotAllowed);
        assert!(production.check_url("https://example.com/hook").is_ok());
        assert!(production.check_url("http://10.1.2.3/hook").is_ok(), "an allowed block");
        assert!(production.check_url("http://hooks.internal/x").is_ok(), "an allowed name");
        assert!(!production.address_allowed("example.com", "10.0.0.1".parse().unwrap()));
        assert!(!production.address_allowed("example.com", "::ffff:127.0.0.1".parse().unwrap()));
        assert!(production.address_allowed("example.com", "93.184.216.34".parse().unwrap()));
    }

    #[test]
    fn retries_back_off_and_stay_at_the_last_delay() {
        assert_eq!(base_delay(1), 5);
        assert_eq!(base_delay(2), 30);
        assert_eq!(base_delay(9), 28_800);
        assert_eq!(base_delay(50), 28_800);
        let total: i64 = RETRY_DELAYS.iter().sum::<i64>() + RETRY_DELAYS[8];
        assert!(total < RETRY_FOR_SECONDS, "attempts continue past a day before giving up");
    }
}
