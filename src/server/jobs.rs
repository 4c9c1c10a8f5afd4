//! The background scheduler, every [`ROLLOVER_EVERY`]: moves subscription periods on time
//! (rollover, trial ends, past-due cancellation), handles stored YooKassa notifications again
//! that failed, charges saved cards for renewals on the dunning schedule, polls payments left
//! pending (a notification that never came), reconciles refunds left pending, gives up checkouts
//! that never reached YooKassa, and deletes expired web sessions. Reads never store a rollover;
//! this job (and every write path) does.
//!
//! Every process starts the loop, but only the holder of the database lease
//! [`tariff_core::leases::JOBS`] runs a tick, so replicas charge each renewal once.

use super::state::AppState;
use super::web::DatabaseSessions;
use std::time::Duration;
use tariff_core::{leases, payments, subscriptions};

/// How often the jobs run.
pub const ROLLOVER_EVERY: Duration = Duration::from_secs(60);
/// Expired sessions are deleted every this many runs (hourly).
const SESSION_CLEANUP_EVERY_RUNS: u64 = 60;
/// How long a tick's lease lasts, in seconds: a holder that dies is replaced after this.
const LEASE_SECONDS: i64 = 5 * 60;

/// Starts the jobs on the runtime; abort the handle to stop them.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let billing = state.billing.clone();
        let sessions = DatabaseSessions::new(billing.store.clone());
        let mut tick = tokio::time::interval(ROLLOVER_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut runs: u64 = 0;
        let holder = uuid::Uuid::new_v4().to_string();
        loop {
            tick.tick().await;
            match leases::acquire(&billing.store, leases::JOBS, &holder, billing.now(), LEASE_SECONDS).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(target: tariff_core::LOG_TARGET, error = %e, "could not take the jobs' lease; retrying next tick");
                    continue;
                }
            }
            match subscriptions::rollover_due(&billing.store, billing.now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(target: tariff_core::LOG_TARGET, accounts = n, "subscription rollover applied"),
                Err(e) => {
                    tracing::warn!(target: tariff_core::LOG_TARGET, error = %e, "subscription rollover job failed; retrying next tick")
                }
            }
            match payments::sweep_notifications(&billing).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(target: tariff_core::LOG_TARGET, notifications = n, "webhook notifications handled again by the sweeper")
                }
                Err(e) => {
                    tracing::warn!(target: tariff_core::LOG_TARGET, error = %e, "notification sweeper failed; retrying next tick")
                }
            }
            match payments::charge_due_renewals(&billing).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(target: tariff_core::LOG_TARGET, subscriptions = n, "renewal charges attempted")
                }
                Err(e) => {
                    tracing::warn!(target: tariff_core::LOG_TARGET, error = %e, "renewal charging failed; retrying next tick")
                }
            }
            match payments::poll_pending(&billing).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(target: tariff_core::LOG_TARGET, payments = n, "asked YooKassa about payments left pending")
                }
                Err(e) => {
                    tracing::warn!(target: tariff_core::LOG_TARGET, error = %e, "pending-payment poll failed; retrying next tick")
                }
            }
            match payments::reconcile_refunds(&billing).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(target: tariff_core::LOG_TARGET, refunds = n, "refunds left pending reconciled")
                }
                Err(e) => {
                    tracing::warn!(target: tariff_core::LOG_TARGET, error = %e, "refund reconciliation failed; retrying next tick")
                }
            }
            match payments::expire_unsent(&billing).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(target: tariff_core::LOG_TARGET, checkouts = n, "checkouts that never reached YooKassa given up")
                }
                Err(e) => {
                    tracing::warn!(target: tariff_core::LOG_TARGET, error = %e, "expiring unsent checkouts failed; retrying next tick")
                }
            }
            if runs.is_multiple_of(SESSION_CLEANUP_EVERY_RUNS) {
                state.attempt_limits.shrink();
                match sessions.delete_expired().await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(target: tariff_core::LOG_TARGET, sessions = n, "expired web sessions deleted")
                    }
                    Err(e) => {
                        tracing::warn!(target: tariff_core::LOG_TARGET, error = %e, "deleting expired sessions failed; retrying later")
                    }
                }
            }
            runs += 1;
        }
    })
}
