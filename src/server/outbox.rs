//! The webhook worker (issue 16 §3): sends each due delivery of the outbox to its endpoint,
//! signed as Standard Webhooks says, and records what came back (the rules — which attempt is
//! due, the lease, the retry schedule, giving up, disabling — are in
//! `tariff_core::events::delivery`).
//!
//! Every process runs it; each attempt is taken with a lease in the database first, so replicas
//! never send the same attempt twice. It wakes when a transaction that wrote events commits, and
//! polls every [`POLL_EVERY`] for retries that fall due. Attempts run concurrently, at most
//! [`IN_FLIGHT`] in all and [`PER_ENDPOINT`] per endpoint, each within the timeout: a receiver
//! that is slow, failing or silent holds up only its own deliveries.
//!
//! In production a request never reaches a non-public address unless the operator allowed the
//! host (`WEBHOOK_ALLOWED_HOSTS`): address literals are checked before sending and every address
//! a name resolves to is checked by the client's resolver; redirects are not followed.

use super::state::AppState;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tariff_core::events::delivery::{self, Attempt, Finished, Policy};
use tariff_core::store::events::Claimed;

/// How often due retries are looked for when nothing wakes the worker.
pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// The most attempts in flight in this process.
pub const IN_FLIGHT: usize = 64;
/// The most attempts in flight to one endpoint.
pub const PER_ENDPOINT: usize = 4;

/// Resolves names with the system resolver, keeping only the addresses the policy allows.
struct GuardedResolver {
    policy: Arc<Policy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| policy.address_allowed(&host, a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} resolves to no address webhooks may be sent to").into());
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The worker's shared parts.
struct Worker {
    state: AppState,
    client: reqwest::Client,
    policy: Arc<Policy>,
    timeout: Duration,
    slots: Arc<tokio::sync::Semaphore>,
    per_endpoint: Arc<Mutex<HashMap<String, usize>>>,
}

/// Starts the worker on the runtime; abort the handle to stop it.
///
/// # Panics
/// If the HTTP client cannot be built (no TLS roots), at start.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    let policy = Arc::new(state.config.webhook_policy());
    let timeout = Duration::from_secs(state.config.webhooks.timeout_seconds);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(GuardedResolver { policy: policy.clone() }))
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("Tariff-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the webhook HTTP client");
    let worker = Arc::new(Worker {
        state,
        client,
        policy,
        timeout,
        slots: Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT)),
        per_endpoint: Arc::new(Mutex::new(HashMap::new())),
    });
    tokio::spawn(async move {
        let wake = worker.state.billing.store.events_notify();
        loop {
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(POLL_EVERY) => {}
            }
            if let Err(e) = worker.clone().tick().await {
                tracing::warn!(target: tariff_core::LOG_TARGET, error = %e, "webhook worker: reading due deliveries failed; retrying");
            }
        }
    })
}

impl Worker {
    /// Takes what is due (as far as there are free slots) and starts each attempt.
    async fn tick(self: Arc<Self>) -> tariff_core::Result<()> {
        let free = self.slots.available_permits();
        if free == 0 {
            return Ok(());
        }
        let store = &self.state.billing.store;
        let now = self.state.now();
        let lease = i64::try_from(self.timeout.as_secs()).unwrap_or(60) + 30;
        for (id, endpoint_id) in delivery::due(store, now, i64::try_from(free * 2).unwrap_or(128)).await? {
            if self.busy(&endpoint_id) >= PER_ENDPOINT {
                continue;
            }
            let Ok(slot) = self.slots.clone().try_acquire_owned() else { break };
            let Some(claimed) = delivery::claim(store, &id, now, lease).await? else { continue };
            *self
                .per_endpoint
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .entry(endpoint_id)
                .or_default() += 1;
            let worker = self.clone();
            tokio::spawn(async move {
                worker.attempt(&claimed).await;
                let mut busy = worker.per_endpoint.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some(count) = busy.get_mut(&claimed.endpoint_id) {
                    *count -= 1;
                    if *count == 0 {
                        busy.remove(&claimed.endpoint_id);
                    }
                }
                drop(slot);
            });
        }
        Ok(())
    }

    /// Attempts in flight to the endpoint.
    fn busy(&self, endpoint_id: &str) -> usize {
        self.per_endpoint
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(endpoint_id)
            .copied()
            .unwrap_or(0)
    }

    /// Sends one attempt and records it; wakes the worker for what it unblocked.
    async fn attempt(&self, claimed: &Claimed) {
        let attempt = self.send(claimed).await;
        let store = &self.state.billing.store;
        let outcome = match delivery::finish(store, claimed, &attempt, self.state.now()).await {
            Ok(Finished::Delivered) => "delivered",
            Ok(Finished::Retry(_)) => "retry",
            Ok(Finished::GaveUp) => "failed",
            Ok(Finished::Superseded) => "superseded",
            Err(e) => {
                tracing::warn!(target: tariff_core::LOG_TARGET, error = %e, delivery_id = %claimed.delivery_id,
                    "webhook worker: recording an attempt failed; it is made again when its lease ends");
                "unrecorded"
            }
        };
        metrics::counter!("tariff_webhook_deliveries_total", "outcome" => outcome).increment(1);
        metrics::histogram!("tariff_webhook_delivery_seconds").record(attempt.latency_ms as f64 / 1000.0);
        if outcome != "delivered" {
            tracing::info!(target: tariff_core::LOG_TARGET, delivery_id = %claimed.delivery_id, attempt = claimed.attempt,
                status = ?attempt.status_code, error = ?attempt.error, "webhook delivery attempt failed ({outcome})");
        }
        store.events_notify().notify_one();
    }

    /// One signed POST of the event; the answer's status, or why there was none.
    async fn send(&self, c: &Claimed) -> Attempt {
        let started = Instant::now();
        let failed = |error: String| Attempt { status_code: None, error: Some(error), latency_ms: 0 };
        if let Err(message) = self.policy.check_url(&c.url) {
            return failed(format!("the endpoint URL is refused: {message:?}"));
        }
        // Real time, not the test clock: receivers check the timestamp against their own clock.
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let request = self
            .client
            .post(&c.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &c.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", delivery::signature_header(c, timestamp, self.state.now()))
            .body(c.payload.clone());
        let result = request.send().await;
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        match result {
            Ok(response) => Attempt { status_code: Some(response.status().as_u16()), error: None, latency_ms },
            Err(e) => {
                let error = if e.is_timeout() {
                    format!("no answer within {} s", self.timeout.as_secs())
                } else if e.is_connect() {
                    format!(
                        "could not connect: {}",
                        std::error::Error::source(&e).map_or(e.to_string(), ToString::to_string)
                    )
                } else {
                    e.to_string()
                };
                Attempt { status_code: None, error: Some(error), latency_ms }
            }
        }
    }
}
