//! The background scheduler, every [`ROLLOVER_EVERY`]: moves subscription periods on time
//! (rollover, trial ends, past-due cancellation), handles stored YooKassa notifications again
//! that failed, charges saved cards for renewals on the dunning schedule, polls payments left
//! pending (a notification that never came), and deletes expired web sessions. Reads never
//! store a rollover; this job (and every write path) does.

use super::state::AppState;
use super::web::DatabaseSessions;
use std::time::Duration;
use tariff_core::{payments, subscriptions};

/// How often the jobs run.
pub const ROLLOVER_EVERY: Duration = Duration::from_secs(60);
/// Expired sessions are deleted every this many runs (hourly).
const SESSION_CLEANUP_EVERY_RUNS: u64 = 60;

/// Starts the jobs on the runtime; abort the handle to stop them.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let billing = state.billing.clone();
        let sessions = DatabaseSessions::new(billing.store.clone());
        let mut tick = tokio::time::interval(ROLLOVER_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut runs: u64 = 0;
        loop {
            tick.tick().await;
            match subscriptions::rollover_due(&billing.store, billing.now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(accounts = n, "subscription rollover applied"),
                Err(e) => tracing::warn!(error = %e, "subscription rollover job failed; retrying next tick"),
            }
            match payments::sweep_notifications(&billing).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(notifications = n, "stored notifications handled again"),
                Err(e) => tracing::warn!(error = %e, "notification sweeper failed; retrying next tick"),
            }
            match payments::charge_due_renewals(&billing).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(subscriptions = n, "renewal charges attempted"),
                Err(e) => tracing::warn!(error = %e, "renewal charging failed; retrying next tick"),
            }
            match payments::poll_pending(&billing).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(payments = n, "asked YooKassa about payments left pending"),
                Err(e) => tracing::warn!(error = %e, "pending-payment poll failed; retrying next tick"),
            }
            if runs.is_multiple_of(SESSION_CLEANUP_EVERY_RUNS) {
                match sessions.delete_expired().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(sessions = n, "expired web sessions deleted"),
                    Err(e) => tracing::warn!(error = %e, "deleting expired sessions failed; retrying later"),
                }
            }
            runs += 1;
        }
    })
}
