//! The API's rate limiter (seed 000 "Rate Limiting", issue 15 §3): a rolling window made of
//! buckets, kept in Redis when `REDIS_URL` is set (so replicas share one limit) and in memory
//! when it is not, or while Redis cannot be reached.
//!
//! The window is `window` seconds long and made of `bucket` second buckets (the seed's
//! `limit`, `window`, `bucket_size`): a request counts in the bucket of its second, and a key
//! is limited while the buckets of the last `window` seconds hold `limit` requests. Refused
//! requests are not counted. Keys are API tokens (their id, with a separate higher limit for
//! service and admin tokens) or, without a token that authenticates, the client address.
//!
//! Redis gets one Lua script per decision (atomic, with Redis's own clock, so replicas agree on
//! the buckets). Each call is bounded by [`REDIS_TIMEOUT`]; an error, a timeout or an answer of
//! the wrong shape puts the limiter on memory for [`REDIS_RETRY_AFTER`], logged once when Redis
//! goes and once when it comes back. No request fails because Redis is down.
//!
//! The algorithm is the seed's, which a GCRA limiter such as `governor` (used for the login
//! forms) does not implement and cannot share through Redis; the storage is the `redis` crate.

use super::client_ip::client_ip;
use super::state::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;
use tariff_core::tokens;
use tariff_model::Scope;
use tokio::sync::Mutex as AsyncMutex;

/// Longest wait for one Redis decision before the limiter decides on memory.
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(100);
/// How long the limiter stays on memory after Redis failed, before it tries Redis again.
pub const REDIS_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Most keys the memory store keeps; past it, windows that ended are dropped first.
const MEMORY_KEYS: usize = 100_000;

/// `RATE_LIMIT_*`: the limits and the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// `RATE_LIMIT_ENABLED` (default on).
    pub enabled: bool,
    /// `RATE_LIMIT_REQUESTS`: requests per window of a user token or a client address
    /// (default 1,000).
    pub requests: u32,
    /// `RATE_LIMIT_SERVICE_REQUESTS`: requests per window of a service or admin token, the AI
    /// app's (default 100,000).
    pub service_requests: u32,
    /// `RATE_LIMIT_WINDOW_SECONDS` (default 60).
    pub window_seconds: u32,
    /// `RATE_LIMIT_BUCKET_SECONDS` (default 10; at most the window).
    pub bucket_seconds: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            requests: 1_000,
            service_requests: 100_000,
            window_seconds: 60,
            bucket_seconds: 10,
        }
    }
}

/// One decision: whether the request may pass, and what the `RateLimit-*` headers say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    /// Requests left in the window after this one.
    pub remaining: u32,
    /// Seconds until the oldest counted bucket leaves the window (something frees up).
    pub reset_seconds: u32,
}

impl Decision {
    fn from_count(allowed: bool, limit: u32, count: u64, reset_seconds: i64) -> Decision {
        Decision {
            allowed,
            limit,
            remaining: u32::try_from(u64::from(limit).saturating_sub(count)).unwrap_or(0),
            reset_seconds: u32::try_from(reset_seconds.max(1)).unwrap_or(u32::MAX),
        }
    }
}

/// The limiter: Redis when configured and reachable, memory otherwise.
pub struct RateLimiter {
    config: RateLimitConfig,
    memory: MemoryWindows,
    redis: Option<RedisWindows>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter").field("config", &self.config).field("redis", &self.redis.is_some()).finish()
    }
}

impl RateLimiter {
    /// A limiter with `config`, on Redis at `redis_url` if given (connected on first use).
    ///
    /// # Errors
    /// A message when `redis_url` is not a Redis URL.
    pub fn new(config: RateLimitConfig, redis_url: Option<&str>) -> Result<RateLimiter, String> {
        let redis = match redis_url {
            Some(url) => Some(RedisWindows::new(url)?),
            None => None,
        };
        Ok(RateLimiter { config, memory: MemoryWindows::default(), redis })
    }

    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    /// Whether decisions are taken in Redis now (configured, and not fallen back to memory).
    pub fn on_redis(&self) -> bool {
        self.redis.as_ref().is_some_and(RedisWindows::is_up)
    }

    /// Counts one request of `key` against `limit` requests per window, if it fits.
    pub async fn hit(&self, key: &str, limit: u32) -> Decision {
        let (window, bucket) = (i64::from(self.config.window_seconds), i64::from(self.config.bucket_seconds));
        if let Some(redis) = &self.redis
            && let Some(decision) = redis.hit(key, limit, window, bucket).await
        {
            return decision;
        }
        self.memory.hit(key, limit, window, bucket, unix_now())
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The windows of every key in this process: bucket start (Unix seconds) → requests.
#[derive(Debug, Default)]
struct MemoryWindows {
    keys: Mutex<HashMap<String, Vec<(i64, u64)>>>,
}

impl MemoryWindows {
    fn hit(&self, key: &str, limit: u32, window: i64, bucket: i64, now: i64) -> Decision {
        let current = now - now.rem_euclid(bucket);
        let oldest = current - window + bucket;
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if keys.len() >= MEMORY_KEYS && !keys.contains_key(key) {
            keys.retain(|_, buckets| buckets.iter().any(|(start, _)| *start >= oldest));
        }
        let buckets = keys.entry(key.to_owned()).or_default();
        buckets.retain(|(start, _)| *start >= oldest);
        let count: u64 = buckets.iter().map(|(_, n)| n).sum();
        let first = buckets.iter().map(|(start, _)| *start).min().unwrap_or(current);
        let reset = first + window - now;
        if count >= u64::from(limit) {
            return Decision::from_count(false, limit, count, reset);
        }
        match buckets.iter_mut().find(|(start, _)| *start == current) {
            Some((_, n)) => *n += 1,
            None => buckets.push((current, 1)),
        }
        Decision::from_count(true, limit, count + 1, reset)
    }
}

/// The decision in Redis, atomically: drop the buckets that left the window, count the rest,
/// and add this request to its bucket if the count is under the limit. Answers
/// `{allowed (0/1), count, seconds until the oldest bucket leaves}`.
const REDIS_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local size = tonumber(ARGV[3])
local current = now - (now % size)
local oldest = current - window + size
local fields = redis.call('HGETALL', KEYS[1])
local count = 0
local first = current
for i = 1, #fields, 2 do
  local start = tonumber(fields[i])
  if start < oldest then
    redis.call('HDEL', KEYS[1], fields[i])
  else
    count = count + tonumber(fields[i + 1])
    if start < first then first = start end
  end
end
local allowed = 0
if count < limit then
  redis.call('HINCRBY', KEYS[1], current, 1)
  redis.call('EXPIRE', KEYS[1], window + size)
  count = count + 1
  allowed = 1
end
return {allowed, count, first + window - now}
";

/// Windows in Redis (see [`REDIS_SCRIPT`]), with the fallback bookkeeping.
struct RedisWindows {
    client: redis::Client,
    script: redis::Script,
    connection: AsyncMutex<Option<redis::aio::MultiplexedConnection>>,
    /// Unix milliseconds before which Redis is not tried again.
    down_until: AtomicI64,
    /// Whether the last attempt failed (for logging the change once each way).
    down: AtomicBool,
}

impl RedisWindows {
    fn new(url: &str) -> Result<RedisWindows, String> {
        let client = redis::Client::open(url).map_err(|e| format!("REDIS_URL is not a Redis URL: {e}"))?;
        Ok(RedisWindows {
            client,
            script: redis::Script::new(REDIS_SCRIPT),
            connection: AsyncMutex::new(None),
            down_until: AtomicI64::new(0),
            down: AtomicBool::new(false),
        })
    }

    fn is_up(&self) -> bool {
        !self.down.load(Ordering::Relaxed)
    }

    fn now_millis() -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
    }

    /// The decision in Redis, or `None` (decide on memory) while Redis is down.
    async fn hit(&self, key: &str, limit: u32, window: i64, bucket: i64) -> Option<Decision> {
        if Self::now_millis() < self.down_until.load(Ordering::Relaxed) {
            return None;
        }
        let attempt = tokio::time::timeout(REDIS_TIMEOUT, self.run(key, limit, window, bucket)).await;
        let answer = match attempt {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => return self.failed(&e),
            Err(_) => return self.failed(&format!("no answer within {} ms", REDIS_TIMEOUT.as_millis())),
        };
        match answer.as_slice() {
            [allowed @ (0 | 1), count, reset] if *count >= 0 => {
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis is reachable again: the rate limiter is back on Redis");
                }
                Some(Decision::from_count(*allowed == 1, limit, *count as u64, *reset))
            }
            other => self.failed(&format!("unexpected answer {other:?}")),
        }
    }

    async fn run(&self, key: &str, limit: u32, window: i64, bucket: i64) -> Result<Vec<i64>, String> {
        let mut connection = {
            let mut slot = self.connection.lock().await;
            match slot.as_ref() {
                Some(connection) => connection.clone(),
                None => {
                    let config = redis::AsyncConnectionConfig::new()
                        .set_connection_timeout(REDIS_TIMEOUT)
                        .set_response_timeout(REDIS_TIMEOUT);
                    let connection = self
                        .client
                        .get_multiplexed_async_connection_with_config(&config)
                        .await
                        .map_err(|e| e.to_string())?;
                    *slot = Some(connection.clone());
                    connection
                }
            }
        };
        let result = self
            .script
            .key(format!("tariff:ratelimit:{key}"))
            .arg(limit)
            .arg(window)
            .arg(bucket)
            .invoke_async::<Vec<i64>>(&mut connection)
            .await;
        match result {
            Ok(answer) => Ok(answer),
            Err(e) => {
                // A broken connection is made anew on the next try.
                *self.connection.lock().await = None;
                Err(e.to_string())
            }
        }
    }

    fn failed(&self, why: &str) -> Option<Decision> {
        self.down_until.store(Self::now_millis() + REDIS_RETRY_AFTER.as_millis() as i64, Ordering::Relaxed);
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(error = %why, "Redis cannot be reached: the rate limiter decides in memory until it can");
        }
        None
    }
}

/// The path the limiter never applies to: YooKassa's notifications must always get through.
const WEBHOOK_PATH: &str = "/api/v1/billing/webhook/yookassa";

/// Middleware of the `/api/v1` routes: the key and limit of the request, the decision, and the
/// `RateLimit-Limit` / `RateLimit-Remaining` / `RateLimit-Reset` headers on every answer; over
/// the limit, 429 problem JSON with code `rate_limited` and `Retry-After`.
pub async fn limit_api(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limiter = &state.rate_limiter;
    let path = request.uri().path();
    if !limiter.config.enabled || !path.starts_with("/api/v1/") || path == WEBHOOK_PATH {
        return next.run(request).await;
    }
    let token = bearer_token(request.headers());
    let ip = client_address(&state, &request);
    let (key, limit) = key_of(&state, token, ip).await;
    let decision = limiter.hit(&key, limit).await;
    let mut response = if decision.allowed {
        next.run(request).await
    } else {
        metrics::counter!("tariff_rate_limited_total").increment(1);
        super::api::error::ApiError::RateLimited { retry_after: decision.reset_seconds }.into_response()
    };
    let headers = response.headers_mut();
    for (name, value) in [
        ("ratelimit-limit", decision.limit),
        ("ratelimit-remaining", decision.remaining),
        ("ratelimit-reset", decision.reset_seconds),
    ] {
        headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
    }
    if !decision.allowed {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(decision.reset_seconds));
    }
    response
}

/// The request's Bearer token, if it sends one.
fn bearer_token(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

/// The client's address (behind trusted proxies), as text.
fn client_address(state: &AppState, request: &Request) -> String {
    match request.extensions().get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(addr)) => client_ip(addr.ip(), request.headers(), &state.config.trusted_proxies).to_string(),
        None => "unknown".to_owned(),
    }
}

/// The request's key and limit: its token when the token authenticates (service and admin
/// tokens get the higher limit), else its client address.
async fn key_of(state: &AppState, token: Option<String>, ip: String) -> (String, u32) {
    let config = &state.rate_limiter.config;
    if let Some(token) = token
        && let Ok(principal) = tokens::authenticate(&state.billing.store, state.billing.clock.as_ref(), &token).await
    {
        let limit = match principal.scope {
            Scope::Service | Scope::Admin => config.service_requests,
            Scope::User => config.requests,
        };
        return (format!("token:{}", principal.token_id), limit);
    }
    (format!("ip:{ip}"), config.requests)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_window_rolls_bucket_by_bucket() {
        let windows = MemoryWindows::default();
        // limit 3 per 60 s in 10 s buckets, starting at t = 1000 (bucket 1000).
        for i in 0..3 {
            let d = windows.hit("k", 3, 60, 10, 1000 + i);
            assert!(d.allowed);
            assert_eq!(d.remaining, 2 - i as u32);
        }
        let refused = windows.hit("k", 3, 60, 10, 1005);
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.reset_seconds, 55, "bucket 1000 leaves the window at 1060");
        // Still inside the window at 1059; the first bucket leaves at 1060.
        assert!(!windows.hit("k", 3, 60, 10, 1059).allowed);
        assert!(windows.hit("k", 3, 60, 10, 1060).allowed);
        // Another key has its own window.
        assert!(windows.hit("other", 3, 60, 10, 1005).allowed);
    }

    #[test]
    fn refused_requests_do_not_count() {
        let windows = MemoryWindows::default();
        assert!(windows.hit("k", 1, 60, 10, 0).allowed);
        for t in 1..50 {
            assert!(!windows.hit("k", 1, 60, 10, t).allowed);
        }
        assert!(windows.hit("k", 1, 60, 10, 60).allowed);
    }
}
