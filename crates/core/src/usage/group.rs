//! Group commit of consumes (issue 15 §1): the hot path's database work, shared.
//!
//! Concurrent consumes of one process queue for one committer task
//! ([`crate::store::committer`]), which takes everything waiting (up to [`MAX_GROUP`]) and
//! commits it in one transaction of a fixed number of statements, however many consumes it
//! carries:
//!
//! 1. the live subscription and plan of every account in the group (one select);
//! 2. every event's usage row (one insert; a repeated `event_id` is skipped by its unique index,
//!    which makes that event a duplicate; on PostgreSQL in `(account_id, event_id)` order, so
//!    two processes' groups that share event ids never deadlock on their usage rows) — on
//!    PostgreSQL steps 1 and 2 are one statement ([`store::standings_and_insert`]): one round
//!    trip fewer for every group, and the groups of one committer follow each other;
//! 3. every counter the group touches, created at 0 when missing and locked until the commit
//!    (one upsert: PostgreSQL row locks, SQLite's single writer);
//! 4. the decision, in arrival order, under those locks: an event is accepted when it fits in
//!    its quota after the events accepted before it — the same rule as the single-event path's
//!    conditional update, so however many clients and processes race, no counter passes its
//!    limit; a repeated `event_id` is a duplicate of its first copy, unless that copy was not
//!    recorded (refused, or past the quota), and then it takes the single-event path;
//! 5. the rows of refused events deleted (one delete, only when some were refused), the
//!    accepted units added to the counters (one upsert, checked against the decided totals);
//! 6. one commit, after which every caller gets its answer: an answered consume is durable.
//!
//! Events the group does not handle go back to the caller for the single-event path
//! ([`super::track`]): accounts without a live current period (rollover, the no-subscription
//! policy, pauses), organisation members (their own counters and caps), and events past the
//! quota when the plan prices overage (a balance debit). When anything in a group fails before
//! the commit, it is rolled back and every event takes the single-event path, so a bad group
//! never answers wrongly.

use super::track::{MAX_COUNTER, usage_row};
use super::{Allowance, PlanLimits, allowance_of, plan_limits, status};
use crate::store::usage::{self as store, CounterKey, NewUsage, Standing};
use crate::store::{Dialect, Store, WriteTx};
use crate::tokens::UserRef;
use crate::{Error, Result};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tariff_model::{Message, Metric, SubscriptionStatus, Tracked, UsageEvent};

/// Most consumes one transaction carries.
pub const MAX_GROUP: usize = 128;

/// The committer of consumes of one [`Store`] (see the module docs).
pub(crate) type Committer = crate::store::committer::Committer<Consume, Outcome>;

/// One event to consume, validated, for `user`'s current billing account.
pub(crate) struct Consume {
    pub user: UserRef,
    pub metric: Metric,
    pub event: UsageEvent,
    pub now: i64,
}

/// What became of a [`Consume`].
pub(crate) enum Outcome {
    /// Recorded and consumed, or a duplicate of a recorded event.
    Tracked(Tracked),
    /// Refused (over the quota without an overage price) or failed; nothing recorded.
    Refused(Error),
    /// Not for the group: the caller runs the single-event path with the event.
    Single(UsageEvent),
}

/// Consumes `consume` through `db`'s committer (started on first use; one per process on either
/// database: on a hot counter a second committer only waits for the first one's row lock, and
/// measured slower on PostgreSQL) and waits for its group's commit.
pub(crate) async fn consume(db: &Store, consume: Consume) -> Outcome {
    let committer = db.local.consumer.get_or_init(|| Committer::start(db.detached(), MAX_GROUP, commit));
    match committer.submit(consume).await {
        Ok(Some(outcome)) => outcome,
        Ok(None) => Outcome::Refused(Error::Internal("the consume committer stopped".into())),
        Err(consume) => Outcome::Single(consume.event),
    }
}

fn commit(store: &Store, consumes: Vec<Consume>) -> Pin<Box<dyn Future<Output = Vec<Outcome>> + Send + '_>> {
    Box::pin(commit_group(store, consumes))
}

/// How one event of a group was decided.
enum Decision {
    Single,
    Accepted {
        a: Allowance,
        used: i64,
    },
    Duplicate {
        a: Allowance,
        used: i64,
    },
    Refused {
        limit: i64,
        used: i64,
    },
    /// Past the quota with an overage price: the single-event path debits the balance.
    Overage,
}

async fn commit_group(store: &Store, consumes: Vec<Consume>) -> Vec<Outcome> {
    metrics::histogram!("tariff_consume_group_size").record(consumes.len() as f64);
    let counted =
        |outcome: &'static str| metrics::counter!("tariff_consume_groups_total", "outcome" => outcome).increment(1);
    let decisions = match store.begin_write().await {
        Ok(mut tx) => match decide(&mut tx, store, &consumes).await {
            Ok(decisions) => match tx.commit().await {
                Ok(()) => {
                    counted("committed");
                    decisions
                }
                Err(e) => {
                    counted("commit_failed");
                    // The commit's fate is unknown: answer an error, never a second try.
                    tracing::error!(target: crate::LOG_TARGET, error = %e, events = consumes.len(), "committing a group of consumes failed");
                    return consumes
                        .iter()
                        .map(|_| Outcome::Refused(Error::Unavailable(Message::DatabaseUnavailable)))
                        .collect();
                }
            },
            Err(e) => {
                counted("rolled_back");
                tracing::warn!(target: crate::LOG_TARGET, error = %e, events = consumes.len(), "a group of consumes was rolled back; each takes the single-event path");
                drop(tx);
                consumes.iter().map(|_| Decision::Single).collect()
            }
        },
        Err(e) => {
            counted("no_transaction");
            tracing::warn!(target: crate::LOG_TARGET, error = %e, "no transaction for a group of consumes; each takes the single-event path");
            consumes.iter().map(|_| Decision::Single).collect()
        }
    };
    consumes.into_iter().zip(decisions).map(|(consume, decision)| answer(consume, decision)).collect()
}

/// The answer of one decided event.
fn answer(consume: Consume, decision: Decision) -> Outcome {
    let Consume { user, metric, event, .. } = consume;
    let amount = event.amount;
    let counted = match decision {
        Decision::Accepted { .. } => Some("allowed"),
        Decision::Duplicate { .. } => Some("duplicate"),
        Decision::Refused { .. } => Some("refused"),
        Decision::Single | Decision::Overage => None,
    };
    if let Some(decision) = counted {
        super::count_decision(metric, decision);
    }
    match decision {
        Decision::Single | Decision::Overage => Outcome::Single(event),
        Decision::Accepted { a, used } => {
            tracing::debug!(target: crate::LOG_TARGET, account_id = %user.account_id, used, "Tracked {amount} {metric} for user {}", user.id);
            Outcome::Tracked(Tracked {
                recorded: true,
                duplicate: false,
                usage: status(metric, 0, used, &a),
                overage_units: 0,
                charged: 0.0,
                charged_micros: 0,
            })
        }
        Decision::Duplicate { a, used } => {
            tracing::debug!(target: crate::LOG_TARGET, "Tracked nothing for user {}: event_id seen before, counted once", user.id);
            Outcome::Tracked(Tracked {
                recorded: false,
                duplicate: true,
                usage: status(metric, 0, used, &a),
                overage_units: 0,
                charged: 0.0,
                charged_micros: 0,
            })
        }
        Decision::Refused { limit, used } => {
            tracing::info!(
                target: crate::LOG_TARGET,
                metric = %metric, limit, current_usage = used, requested = amount, account_id = %user.account_id,
                "quota exceeded: {amount} {metric} refused for user {}: {used} of {limit} used", user.id
            );
            Outcome::Refused(Error::QuotaExceeded {
                metric,
                limit,
                current_usage: used,
                remaining: (limit - used).max(0),
                requested: amount,
            })
        }
    }
}

/// The allowance of a group's event from its account's standing and plan, when the group may
/// handle it.
fn group_allowance(consume: &Consume, standing: Option<&(Standing, Arc<PlanLimits>)>) -> Option<Allowance> {
    let (standing, limits) = standing?;
    if consume.user.membership.is_some()
        || standing.status == SubscriptionStatus::Paused
        || standing.current_period_end <= consume.now
    {
        return None;
    }
    allowance_of(standing, limits, consume.metric).ok()
}

/// Steps 1–5 of the module docs in `tx`; the caller commits.
async fn decide(tx: &mut WriteTx, store_of_group: &Store, consumes: &[Consume]) -> Result<Vec<Decision>> {
    let dialect = store_of_group.dialect();
    let now = consumes.iter().map(|c| c.now).max().unwrap_or_default();

    // 1–2. Standings of the group's accounts and the usage rows: on PostgreSQL one statement
    // (the rows of organisation members, whom the group does not take, are left out of it); on
    // SQLite, where a statement costs no round trip, a read and then an insert.
    let unplaced = Allowance {
        subscription_id: None,
        period_start: 0,
        period_end: 0,
        limit: None,
        overage_minor: None,
        discount_percent: 0,
    };
    let mut candidates: Vec<Option<NewUsage>> = consumes
        .iter()
        .map(|c| c.user.membership.is_none().then(|| usage_row(&c.user, c.metric, &unplaced, c.event.clone(), c.now)))
        .collect();
    let (found, inserted_with_standings) = if dialect == Dialect::Postgres {
        let rows: Vec<NewUsage> = candidates.iter().flatten().cloned().collect();
        let placed = store::standings_and_insert(tx, &rows).await?;
        (placed.standings, Some((placed.eligible, placed.inserted)))
    } else {
        let mut accounts: Vec<&str> = consumes.iter().map(|c| c.user.account_id.as_str()).collect();
        accounts.sort_unstable();
        accounts.dedup();
        (store::standings_of(tx, dialect, &accounts).await?, None)
    };
    let mut standings: HashMap<String, (Standing, Arc<PlanLimits>)> = HashMap::with_capacity(found.len());
    for (account_id, standing) in found {
        let limits = plan_limits(store_of_group, &standing.plan_id, standing.plan_updated_at).await?;
        standings.insert(account_id, (standing, limits));
    }
    let allowances: Vec<Option<Allowance>> =
        consumes.iter().map(|c| group_allowance(c, standings.get(&c.user.account_id))).collect();
    let mut rows: Vec<(usize, NewUsage)> = Vec::with_capacity(consumes.len());
    for (i, a) in allowances.iter().enumerate() {
        let Some(a) = a else { continue };
        let mut row =
            candidates[i].take().ok_or_else(|| Error::Internal("a member's event has a group allowance".into()))?;
        row.subscription_id = a.subscription_id.clone();
        (row.period_start, row.period_end) = (a.period_start, a.period_end);
        rows.push((i, row));
    }
    let inserted: HashSet<String> = match inserted_with_standings {
        Some((eligible, ids)) => {
            // The statement's rule for the rows it inserts must be `group_allowance`'s, both
            // ways: a row inserted that the group does not decide would be recorded and then
            // taken again by the single-event path; a row the group decides that the statement
            // left out would be answered as a duplicate. Should they ever differ, the group
            // rolls back.
            let taken: HashSet<&str> = rows.iter().map(|(_, row)| row.id.as_str()).collect();
            let eligible: HashSet<&str> = eligible.iter().map(String::as_str).collect();
            if eligible != taken {
                return Err(Error::Internal("the group's usage rows differ from those it decides".into()));
            }
            // (The statement inserts only from its eligible rows.)
            ids.into_iter().collect()
        }
        None => {
            let new_rows: Vec<NewUsage> = rows.iter().map(|(_, row)| row.clone()).collect();
            store::insert_many(tx, dialect, &new_rows).await?.into_iter().collect()
        }
    };

    // 3. The counters, locked.
    let mut keys: Vec<(CounterKey, i64)> =
        rows.iter().map(|(_, row)| ((row.account_id.clone(), row.metric, row.period_start), row.period_end)).collect();
    keys.sort_unstable();
    keys.dedup_by(|a, b| a.0 == b.0);
    let mut used: HashMap<CounterKey, i64> = store::lock_counters(tx, dialect, &keys, now).await?.into_iter().collect();
    let locked = used.clone();

    // 4. Decisions in arrival order.
    let mut decisions: Vec<Decision> = consumes.iter().map(|_| Decision::Single).collect();
    let mut added: HashMap<CounterKey, i64> = HashMap::new();
    let mut first_of: HashMap<CounterKey, usize> = HashMap::new();
    let mut dropped: Vec<&str> = Vec::new();
    // The `(account_id, event_id)`s of this group's events that were refused or sent to the
    // single-event path: their rows go, so a later copy of one is a duplicate of nothing stored.
    let mut dropped_events: HashSet<(&str, &str)> = HashSet::new();
    for (i, row) in &rows {
        let a = allowances[*i].clone().expect("a row exists only for an allowance");
        let key: CounterKey = (row.account_id.clone(), row.metric, row.period_start);
        let current = *used.get(&key).ok_or_else(|| Error::Internal("a locked counter was not returned".into()))?;
        if !inserted.contains(&row.id) {
            let Some(event_id) = row.event_id.as_deref() else {
                // Only a repeated `event_id` is skipped; anything else is a fault of the group.
                return Err(Error::Internal("a usage row without an event_id was not inserted".into()));
            };
            if dropped_events.contains(&(row.account_id.as_str(), event_id)) {
                // Its first copy in this group was not recorded: this one is decided on its own
                // by the single-event path, after the commit, against what is stored then.
                decisions[*i] = Decision::Single;
            } else {
                decisions[*i] = Decision::Duplicate { a, used: current };
            }
            continue;
        }
        let bound = a.limit.map_or(MAX_COUNTER, |limit| limit.min(MAX_COUNTER));
        if current.saturating_add(row.amount) <= bound {
            used.insert(key.clone(), current + row.amount);
            first_of.entry(key.clone()).or_insert(*i);
            *added.entry(key).or_default() += row.amount;
            decisions[*i] = Decision::Accepted { a, used: current + row.amount };
        } else {
            dropped.push(&row.id);
            if let Some(event_id) = row.event_id.as_deref() {
                dropped_events.insert((row.account_id.as_str(), event_id));
            }
            decisions[*i] = if a.priced_overage().is_some() && a.limit.is_some_and(|l| l < MAX_COUNTER) {
                Decision::Overage
            } else {
                Decision::Refused { limit: bound, used: current }
            };
        }
    }

    // 5. Refused rows out, accepted units in.
    store::delete_rows(tx, dialect, &dropped).await?;
    let additions: Vec<(CounterKey, i64)> =
        keys.iter().filter_map(|(key, _)| added.get(key).map(|units| (key.clone(), *units))).collect();
    for (key, total) in store::add_counts(tx, dialect, &additions, now).await? {
        if used.get(&key) != Some(&total) {
            return Err(Error::Internal(format!("a counter of the group reads {total}, not the decided total")));
        }
    }

    // 6. Quota alerts (`usage.threshold`) of the counters that crossed 80 % or 100 %.
    for (key, units) in &additions {
        let Some(&i) = first_of.get(key) else { continue };
        let Some(a) = &allowances[i] else { continue };
        let before = locked.get(key).copied().unwrap_or_default();
        if a.limit.is_some_and(|limit| crate::events::crossed(limit, before, before + units).next().is_some()) {
            let user = &consumes[i].user;
            a.counted(tx, &key.0, &user.id, key.1, before, before + units, now).await?;
        }
    }
    Ok(decisions)
}
