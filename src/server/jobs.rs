//! Background scheduler, every [`ROLLOVER_EVERY`]: moves subscription periods on time (rollover,
//! trial ends, past-due cancellation), re-applies stored YooKassa notifications that failed, and
//! charges saved cards for renewals on the dunning schedule, and polls payments left pending
//! (a notification that never came).
//! Rollover also happens on access, so a missed tick only delays bookkeeping.

use super::billing::{payments, subscriptions};
use super::state::AppState;
use std::time::Duration;

/// How often the rollover job runs.
pub const ROLLOVER_EVERY: Duration = Duration::from_secs(60);

/// Starts the jobs on the runtime; abort the handle to stop them.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(ROLLOVER_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match subscriptions::rollover_due(&state.store, state.now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(accounts = n, "subscription rollover applied"),
                Err(e) => tracing::warn!(error = %e, "subscription rollover job failed; retrying next tick"),
            }
            match payments::sweep_notifications(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(notifications = n, "stored notifications re-applied"),
                Err(e) => tracing::warn!(error = %e, "notification sweeper failed; retrying next tick"),
            }
            match payments::charge_due_renewals(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(subscriptions = n, "renewal charges attempted"),
                Err(e) => tracing::warn!(error = %e, "renewal charging failed; retrying next tick"),
            }
            match payments::poll_pending(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(payments = n, "asked YooKassa about payments left pending"),
                Err(e) => tracing::warn!(error = %e, "pending-payment poll failed; retrying next tick"),
            }
        }
    })
}
