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

/// How often expired usage reservations are freed (every process; each hold is freed once).
pub const RESERVATIONS_EVERY: Duration = Duration::from_secs(5);

/// Starts the jobs on the runtime; abort the handle to stop them.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    let billing = state.billing.clone();
    let outbox = super::outbox::spawn(state.clone());
    let mailer = match super::mailer::spawn(state.clone()) {
        Ok(mailer) => mailer,
        Err(e) => {
            tracing::error!(target: tariff_core::LOG_TARGET, error = %e, "customer emails are off");
            None
        }
    };
    tokio::spawn(async move {
        // Stops the webhook worker and the mailer with the jobs (the handle is aborted, these
        // guards dropped).
        let _outbox = AbortOnDrop(outbox);
        let _mailer = mailer.map(AbortOnDrop);
        tokio::join!(billing_loop(state), reservations_loop(billing));
    })
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Frees expired usage reservations every [`RESERVATIONS_EVERY`].
async fn reservations_loop(billing: tariff_core::Billing) {
    let mut tick = tokio::time::interval(RESERVATIONS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        step(
            "reservations",
            "expired usage reservations freed",
            tariff_core::usage::reserve::expire_due(&billing.store, billing.now()),
        )
        .await;
    }
}

/// The billing jobs every [`ROLLOVER_EVERY`], by the holder of the lease.
async fn billing_loop(state: AppState) {
    {
        let billing = state.billing.clone();
        let sessions = DatabaseSessions::new(billing.store.clone());
        let mut tick = tokio::time::interval(ROLLOVER_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut runs: u64 = 0;
        let holder = uuid::Uuid::new_v4().to_string();
        loop {
            tick.tick().await;
            if let Some(test_clock) = &state.test_clock
                && let Err(e) = tariff_core::test_clock::refresh(&billing.store, test_clock).await
            {
                tracing::warn!(target: tariff_core::LOG_TARGET, error = %e, "could not read the test clock; retrying next tick");
            }
            match leases::acquire(&billing.store, leases::JOBS, &holder, billing.now(), LEASE_SECONDS).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(target: tariff_core::LOG_TARGET, error = %e, "could not take the jobs' lease; retrying next tick");
                    continue;
                }
            }
            run_billing(&billing).await;
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
    }
}

/// One run of the billing jobs at the clock's "now": rollover, notifications left over, renewal
/// and dunning charges, pending payments, pending refunds, checkouts that never reached
/// YooKassa. Each step re-checks every item inside its own transaction, so two runs at once
/// (replicas, the test clock) apply each due item once.
pub async fn run_billing(billing: &tariff_core::Billing) {
    let now = billing.now();
    step("rollover", "subscription rollover applied", subscriptions::rollover_due(&billing.store, now)).await;
    step(
        "upcoming_notices",
        "trial.will_end and subscription.renewal_upcoming events written",
        tariff_core::events::notify_upcoming(&billing.store, now),
    )
    .await;
    step("notifications", "webhook notifications handled again by the sweeper", payments::sweep_notifications(billing))
        .await;
    step("renewals", "renewal charges attempted", payments::charge_due_renewals(billing)).await;
    step("pending_payments", "asked YooKassa about payments left pending", payments::poll_pending(billing)).await;
    step("pending_refunds", "refunds left pending reconciled", payments::reconcile_refunds(billing)).await;
    step(
        "unanswered_creates",
        "unanswered payment creates sent again and answered",
        payments::resend_unanswered(billing),
    )
    .await;
    step("card_checks", "trial card checks refunded late", payments::refund_card_checks(billing)).await;
    step("unsent_checkouts", "checkouts that never reached YooKassa given up", payments::expire_unsent(billing)).await;
}

/// Runs one job of [`run_billing`]: logs what it did (or why it failed; the next tick retries),
/// and counts and times it for `/metrics` (`tariff_jobs_runs_total{job, outcome}`,
/// `tariff_job_duration_seconds{job}`).
async fn step<N: TryInto<i64>>(
    job: &'static str,
    done: &'static str,
    work: impl std::future::Future<Output = tariff_core::Result<N>>,
) {
    let started = std::time::Instant::now();
    let result = work.await;
    metrics::histogram!("tariff_job_duration_seconds", "job" => job).record(started.elapsed().as_secs_f64());
    let outcome = match result {
        Ok(n) => {
            let items: i64 = n.try_into().unwrap_or(i64::MAX);
            if items > 0 {
                tracing::info!(target: tariff_core::LOG_TARGET, job, items, "{done}");
            }
            "ok"
        }
        Err(e) => {
            tracing::warn!(target: tariff_core::LOG_TARGET, job, error = %e, "billing job {job} failed; retrying next tick");
            "failed"
        }
    };
    metrics::counter!("tariff_jobs_runs_total", "job" => job, "outcome" => outcome).increment(1);
}

/// Moves the sandbox's test clock forward by `advance_seconds` and runs the scheduler at every
/// moment that falls due on the way (period ends, trial ends, dunning retries, scheduled
/// downgrades), in order, then at the new "now" (issue 14.4).
///
/// # Errors
/// [`tariff_core::Error::NotFound`] when the sandbox is off; [`tariff_core::Error::Validation`] for
/// an advance that is not 1 second to 5 years; [`tariff_core::Error::Database`].
pub async fn advance_clock(
    state: &AppState,
    actor: &tariff_core::audit::Actor,
    advance_seconds: i64,
) -> tariff_core::Result<tariff_model::api::ClockState> {
    let before = state.now();
    let moved = advance_clock_unaudited(state, advance_seconds).await?;
    let mut tx = state.billing.store.begin_write().await?;
    tariff_core::audit::record(
        &mut tx,
        actor,
        "clock.advance",
        "clock",
        "test",
        format!("Test clock moved forward {advance_seconds} s"),
        tariff_core::audit::diff(Some(&serde_json::json!({"now": before})), &serde_json::json!({"now": moved.now})),
        moved.now,
    )
    .await?;
    tx.commit().await?;
    Ok(moved)
}

async fn advance_clock_unaudited(
    state: &AppState,
    advance_seconds: i64,
) -> tariff_core::Result<tariff_model::api::ClockState> {
    use tariff_core::test_clock;
    let clock = state
        .test_clock
        .as_ref()
        .ok_or_else(|| tariff_core::Error::not_found(tariff_model::Entity::Route, "/api/v1/admin/billing/clock"))?;
    test_clock::validate(advance_seconds)?;
    let _one_at_a_time = state.clock_lock.lock().await;
    let billing = &state.billing;
    test_clock::refresh(&billing.store, clock).await?;
    // The offset grows by exactly the advance; `target` only bounds the due moments stepped
    // through (the wall clock moves on meanwhile, and the final run catches what fell due in it).
    let target_offset = clock.offset() + advance_seconds;
    let target = billing.now() + advance_seconds;
    let mut runs = 0;
    for _ in 0..test_clock::MAX_STEPS {
        let Some(due) = test_clock::next_due(&billing.store, billing.now(), target).await? else { break };
        test_clock::move_to(&billing.store, clock, due).await?;
        run_billing(billing).await;
        runs += 1;
    }
    test_clock::set_offset(&billing.store, clock, target_offset).await?;
    run_billing(billing).await;
    runs += 1;
    // Retries of webhook deliveries that fell due on the way go out now.
    billing.store.events_notify().notify_one();
    tracing::info!(target: tariff_core::LOG_TARGET, advance_seconds, now = billing.now(), runs, "sandbox test clock moved forward");
    Ok(clock_state(state, runs))
}

/// The test clock as the API shows it (offset 0 when the sandbox is off).
pub fn clock_state(state: &AppState, runs: i64) -> tariff_model::api::ClockState {
    let offset_seconds = state.test_clock.as_ref().map_or(0, |c| c.offset());
    tariff_model::api::ClockState { now: state.now(), offset_seconds, runs }
}
