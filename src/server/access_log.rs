//! The access log in seed 000's shape ("Audit Logging": `AuditLoggingMiddleware`,
//! `AuditLogEntry`; issue 15 §5): one JSON line per request, at the level `AUDIT_LOG_LEVEL`
//! chooses:
//! - `NONE` (default): nothing;
//! - `METADATA`: `id`, `timestamp`, `audit_level`, `verb`, `request_uri`, `user` (`id`, `email`
//!   of the Bearer token's owner or the page's signed-in viewer), `source_ip`, `user_agent`,
//!   `response_status_code`, `duration_ms`;
//! - `REQUEST`: also `request_object`, the request body;
//! - `REQUEST_RESPONSE`: also `response_object`, the response body of JSON answers (pages are
//!   streamed HTML and are not buffered; their entry names the content type instead).
//!
//! Bodies are kept up to `AUDIT_LOG_MAX_BODY_SIZE` bytes (default 2,048; longer ones are cut
//! and marked `truncated`), with the values of sensitive keys — passwords, tokens, secrets,
//! authorization, card data, idempotence keys — replaced by `"[REDACTED]"` in JSON and form
//! bodies, and the query string's likewise. Paths starting with one of
//! `AUDIT_LOG_EXCLUDED_PATHS` (comma-separated; default `/healthz,/metrics,/pkg,/favicon.ico`)
//! are not logged. Lines go to the log (target `tariff::audit`, so `RUST_LOG` and
//! `LOG_FORMAT` apply) or, with `AUDIT_LOG_FILE`, appended to that file by a writer thread, so
//! a slow disk never holds up a request (lines that do not fit its queue are dropped and
//! counted as `tariff_access_log_dropped_total`).
//!
//! This is the seed's *access* audit; changes by admins are audited separately in
//! `billing_audit_log`, in the same transaction as the change.

use super::client_ip::client_ip;
use super::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Map, Value, json};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

/// `AUDIT_LOG_LEVEL`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum AccessLogLevel {
    #[default]
    None,
    Metadata,
    Request,
    RequestResponse,
}

impl AccessLogLevel {
    /// The level named by `text` (case-insensitive), as seed 000 spells them.
    pub fn parse(text: &str) -> Option<AccessLogLevel> {
        match text.to_ascii_uppercase().as_str() {
            "NONE" => Some(AccessLogLevel::None),
            "METADATA" => Some(AccessLogLevel::Metadata),
            "REQUEST" => Some(AccessLogLevel::Request),
            "REQUEST_RESPONSE" => Some(AccessLogLevel::RequestResponse),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccessLogLevel::None => "NONE",
            AccessLogLevel::Metadata => "METADATA",
            AccessLogLevel::Request => "REQUEST",
            AccessLogLevel::RequestResponse => "REQUEST_RESPONSE",
        }
    }
}

/// `AUDIT_LOG_*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessLogConfig {
    pub level: AccessLogLevel,
    /// `AUDIT_LOG_FILE`: append lines here instead of the log.
    pub file: Option<PathBuf>,
    /// `AUDIT_LOG_MAX_BODY_SIZE`, bytes.
    pub max_body_bytes: usize,
    /// `AUDIT_LOG_EXCLUDED_PATHS`: path prefixes not logged.
    pub excluded_paths: Vec<String>,
}

impl Default for AccessLogConfig {
    fn default() -> Self {
        AccessLogConfig {
            level: AccessLogLevel::None,
            file: None,
            max_body_bytes: 2_048,
            excluded_paths: ["/healthz", "/metrics", "/pkg", "/favicon.ico"].map(str::to_owned).to_vec(),
        }
    }
}

/// Who a page request was made by, put in the response's extensions by the web layer's viewer
/// middleware (the access log runs outside it).
#[derive(Clone, Debug)]
pub struct PageUser {
    pub id: String,
    pub email: String,
}

/// Where lines go: the log, or a file through a writer thread.
pub struct AccessLog {
    config: AccessLogConfig,
    file: Option<std::sync::mpsc::SyncSender<String>>,
}

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessLog").field("config", &self.config).finish_non_exhaustive()
    }
}

/// Lines the file writer's queue holds before new ones are dropped.
const FILE_QUEUE: usize = 10_000;
/// The longest a written line waits in the file writer's buffer.
const FLUSH_AFTER: std::time::Duration = std::time::Duration::from_millis(100);

impl AccessLog {
    /// The access log of `config`; with a file, opens it for appending and starts its writer.
    ///
    /// # Errors
    /// A message naming the file when it cannot be opened.
    pub fn new(config: AccessLogConfig) -> Result<AccessLog, String> {
        let file = match (&config.file, config.level) {
            (Some(path), level) if level != AccessLogLevel::None => {
                let mut out = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map(std::io::BufWriter::new)
                    .map_err(|e| format!("AUDIT_LOG_FILE {}: {e}", path.display()))?;
                let (sender, receiver) = std::sync::mpsc::sync_channel::<String>(FILE_QUEUE);
                std::thread::Builder::new()
                    .name("access-log".into())
                    .spawn(move || {
                        use std::sync::mpsc::RecvTimeoutError;
                        // Lines are buffered and reach the file within `FLUSH_AFTER` of the
                        // last one (or when the buffer fills).
                        loop {
                            let written = match receiver.recv_timeout(FLUSH_AFTER) {
                                Ok(line) => writeln!(out, "{line}"),
                                Err(RecvTimeoutError::Timeout) => out.flush(),
                                Err(RecvTimeoutError::Disconnected) => {
                                    let _ = out.flush();
                                    break;
                                }
                            };
                            if let Err(e) = written {
                                tracing::error!(error = %e, "writing the access log failed");
                            }
                        }
                    })
                    .map_err(|e| format!("starting the access log writer: {e}"))?;
                Some(sender)
            }
            _ => None,
        };
        Ok(AccessLog { config, file })
    }

    pub fn level(&self) -> AccessLogLevel {
        self.config.level
    }

    fn write(&self, entry: &Value) {
        let line = entry.to_string();
        match &self.file {
            Some(sender) => {
                if sender.try_send(line).is_err() {
                    metrics::counter!("tariff_access_log_dropped_total").increment(1);
                }
            }
            None => tracing::info!(target: "tariff::audit", "{line}"),
        }
    }
}

/// Keys whose values never reach the access log (matched case-insensitively as substrings).
const SENSITIVE: [&str; 12] = [
    "password",
    "token",
    "secret",
    "authorization",
    "card",
    "cvc",
    "cvv",
    "csc",
    "pan",
    "cookie",
    "session",
    "idempotence",
];

fn sensitive(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SENSITIVE.iter().any(|s| key.contains(s))
}

/// `value` with every sensitive key's value replaced, at any depth.
fn redact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| if sensitive(&k) { (k, json!("[REDACTED]")) } else { (k, redact(v)) })
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

/// `a=1&password=x` with the sensitive values replaced (query strings and form bodies).
fn redact_form(text: &str) -> String {
    text.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if sensitive(&percent_decoded(key)) => format!("{key}=[REDACTED]"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `text` with `%XX` escapes and `+` decoded (invalid escapes kept as they are).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (escaped, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A body as the entry shows it: redacted JSON, a redacted form, or text; cut at `max` bytes.
fn body_object(bytes: &[u8], content_type: Option<&str>, max: usize) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    let content_type = content_type.unwrap_or_default();
    if bytes.len() <= max {
        if (content_type.contains("json") || bytes.first().is_some_and(|b| *b == b'{' || *b == b'['))
            && let Ok(value) = serde_json::from_slice::<Value>(bytes)
        {
            return redact(value);
        }
        if content_type.starts_with("application/x-www-form-urlencoded") {
            return Value::String(redact_form(&String::from_utf8_lossy(bytes)));
        }
    }
    let cut = &bytes[..bytes.len().min(max)];
    let text = String::from_utf8_lossy(cut);
    // A cut JSON body cannot be parsed, so its sensitive values cannot be found: say only that.
    if content_type.contains("json") || content_type.starts_with("application/x-www-form-urlencoded") {
        return json!({"truncated": true, "bytes": bytes.len()});
    }
    json!({"text": text, "truncated": bytes.len() > max, "bytes": bytes.len()})
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Middleware of every route: the access log entry of the request (see the module docs).
pub async fn log_access(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let log = &state.access_log;
    let level = log.level();
    let path = request.uri().path();
    if level == AccessLogLevel::None || log.config.excluded_paths.iter().any(|p| path.starts_with(p.as_str())) {
        return next.run(request).await;
    }
    let started = Instant::now();
    let max = log.config.max_body_bytes;
    let verb = request.method().as_str().to_owned();
    let uri = match request.uri().query() {
        Some(query) => format!("{path}?{}", redact_form(query)),
        None => path.to_owned(),
    };
    let headers = request.headers().clone();
    let source_ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| client_ip(addr.ip(), &headers, &state.config.trusted_proxies).to_string());
    let token_user = match bearer(&headers) {
        Some(token) => {
            tariff_core::tokens::authenticate(&state.billing.store, state.billing.clock.as_ref(), token).await.ok().map(
                |p| json!({"id": p.user.id, "email": p.user.email, "token_id": p.token_id, "scope": p.scope.as_str()}),
            )
        }
        None => None,
    };

    let (request, request_object) = if level >= AccessLogLevel::Request {
        let (parts, body) = request.into_parts();
        // The body limit layer inside answers 413 for bodies that are too large; here a body
        // that cannot be read is passed on empty and the handler answers for it.
        let bytes = axum::body::to_bytes(body, super::startup::MAX_BODY_BYTES).await.unwrap_or_default();
        let object = body_object(&bytes, content_type(&parts.headers).as_deref(), max);
        (Request::from_parts(parts, Body::from(bytes)), Some(object))
    } else {
        (request, None)
    };

    let response = next.run(request).await;
    let status = response.status().as_u16();
    let user =
        token_user.or_else(|| response.extensions().get::<PageUser>().map(|u| json!({"id": u.id, "email": u.email})));
    let (response, response_object) = if level >= AccessLogLevel::RequestResponse {
        let response_type = content_type(response.headers());
        if response_type.as_deref().is_some_and(|t| t.contains("json")) {
            let (parts, body) = response.into_parts();
            let bytes: Bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
            let object = body_object(&bytes, response_type.as_deref(), max);
            (Response::from_parts(parts, Body::from(bytes)), Some(object))
        } else {
            (response, Some(json!({"not_captured": response_type})))
        }
    } else {
        (response, None)
    };

    let mut entry = json!({
        "id": uuid::Uuid::now_v7().to_string(),
        "timestamp": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        "audit_level": level.as_str(),
        "verb": verb,
        "request_uri": uri,
        "user": user,
        "source_ip": source_ip,
        "user_agent": headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()),
        "response_status_code": status,
        "duration_ms": started.elapsed().as_secs_f64() * 1000.0,
    });
    if let Some(object) = request_object {
        entry["request_object"] = object;
    }
    if let Some(object) = response_object {
        entry["response_object"] = object;
    }
    log.write(&entry);
    response
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_values_are_redacted_at_any_depth() {
        let body = br#"{"email":"a@b.c","password":"hunter2","nested":{"api_token":"t","card":{"number":"4111"}},"list":[{"secret_key":"s"}]}"#;
        let value = body_object(body, Some("application/json"), 4096);
        assert_eq!(value["email"], "a@b.c");
        assert_eq!(value["password"], "[REDACTED]");
        assert_eq!(value["nested"]["api_token"], "[REDACTED]");
        assert_eq!(value["nested"]["card"], "[REDACTED]");
        assert_eq!(value["list"][0]["secret_key"], "[REDACTED]");
        let text = value.to_string();
        assert!(!text.contains("hunter2") && !text.contains("4111"));
    }

    #[test]
    fn forms_and_queries_are_redacted_and_long_json_is_not_shown() {
        assert_eq!(redact_form("email=a%40b.c&password=x&next=%2F"), "email=a%40b.c&password=[REDACTED]&next=%2F");
        assert_eq!(redact_form("pass%77ord=x"), "pass%77ord=[REDACTED]");
        let long = format!(r#"{{"password":"{}"}}"#, "x".repeat(100));
        let value = body_object(long.as_bytes(), Some("application/json"), 20);
        assert_eq!(value["truncated"], true);
        assert!(!value.to_string().contains("xxx"));
    }

    #[test]
    fn levels_parse_as_the_seed_spells_them() {
        assert_eq!(AccessLogLevel::parse("request_response"), Some(AccessLogLevel::RequestResponse));
        assert_eq!(AccessLogLevel::parse("METADATA"), Some(AccessLogLevel::Metadata));
        assert_eq!(AccessLogLevel::parse("verbose"), None);
    }
}
