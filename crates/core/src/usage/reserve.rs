//! Reservations of usage (issue 15 §2): for calls whose cost is known only afterwards (a
//! streamed completion), hold an estimate against the quota — and, on a plan that prices
//! overage, the part beyond the quota against the balance — then commit what was really used,
//! or release the hold. Holds that are neither free themselves when they expire.
//!
//! A hold adds its units to the period's counter (`used`, and `reserved` for the holds' share)
//! with the same single conditional update as a consume, so held units count as used for every
//! other check and consume: however many streams start at once, together they never hold more
//! than the quota. The balance part is debited at once (a `charge` entry referencing the
//! reservation) and given back (`reversal`) when the hold ends. A commit gives the hold back
//! and records the actual usage in the same transaction, through the consume path
//! ([`super::track::record`]): beyond what was held it is charged or refused (429/402) like a
//! consume, and a refused commit changes nothing (the hold stays).
//!
//! Organisation members' own caps apply when the usage is committed, not to the hold.
//!
//! Holds, commits and releases are group-committed ([`crate::store::committer`]): the ones that
//! queue while a group commits go into the next group's one transaction, each inside its own
//! savepoint and with the same statements as alone. A write refused by the rules (429, 402,
//! 409) goes back to its savepoint and leaves the rest of the group alone; one that a database
//! error stopped (a deadlock with another process's group, say) goes back to its savepoint and
//! is run again alone in its own transaction after the group's commit. Every caller is answered
//! after its group's commit, so an answered hold or commit is durable (when the commit fails,
//! every write of the group is answered 503). A hold that fits its quota takes no savepoint: its
//! first statement, the conditional upsert of the counter, either holds or changes nothing (on
//! PostgreSQL a refused upsert still locks the counter's row, until the group commits, where a
//! savepoint's rollback would have let it go), so a hold refused there goes on in a savepoint from
//! the next step, and one that held is finished by storing the reservation. That is two statements for the usual hold instead of four. A database
//! error in either leaves the transaction unusable: it is rolled back and the whole group is
//! tried again with a savepoint for every write (so the error stays with its own write). The
//! lookups before the write (the reservation, the account's standing) stay outside the group, as
//! they were. A group applies its writes in the
//! order of their counters (arrival order on one counter), and every write locks its counter
//! before the other rows of its account, so groups on PostgreSQL wait for each other in one
//! order; a group carries at most [`MAX_GROUP`] writes (each at most one subtransaction).

use super::track::{MAX_COUNTER, MAX_EVENT_AMOUNT, record, tracked_decision, usage_row, validate_event};
use super::{Allowance, parse_metric, standing_for_write, status};
use crate::store::balances::{self, Applied, Movement};
use crate::store::reservations::{self as store, ReservationRow};
use crate::store::usage::NewUsage;
use crate::store::{Store, WriteTx, usage as counters};
use crate::tokens::UserRef;
use crate::{Error, NoSubscriptionPolicy, Result};
use std::future::Future;
use std::pin::Pin;
use tariff_model::balance::{cost_micros, decimal_from_micros};
use tariff_model::usage::{CommitBody, CoveredBy, Reservation, ReservationBody, ReservationStatus};
use tariff_model::{BalanceReason, Entity, Message, Metric, QuotaStatus, Tracked, UsageEvent};

/// How long a hold lasts when the request does not say, in seconds.
pub const DEFAULT_TTL_SECONDS: i64 = 300;
/// The longest hold, in seconds.
pub const MAX_TTL_SECONDS: i64 = 3_600;
/// Expired holds freed per sweep.
const SWEEP_BATCH: i64 = 500;
/// Most reservation writes one transaction carries: each may be a subtransaction, and
/// PostgreSQL caches 64 of them per transaction before every session's visibility checks slow
/// down.
pub const MAX_GROUP: usize = 48;

/// The committer of reservation writes of one [`Store`] (see the module docs).
pub(crate) type Committer = crate::store::committer::Committer<Write, Outcome>;

/// One write of a reservation, with everything read for it beforehand.
// Each is moved once, through the committer's queue: no box is worth its allocation.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Write {
    /// Hold `row.amount` units ([`hold`]) and store `row`.
    Hold { user: UserRef, allowance: Allowance, row: ReservationRow, now: i64 },
    /// End the hold of `row` and record `usage`, `amount` units ([`record`]).
    Commit { user: UserRef, allowance: Allowance, row: ReservationRow, usage: NewUsage, amount: i64, now: i64 },
    /// End the hold of `row` without usage.
    Release { row: ReservationRow, now: i64 },
}

/// What a [`Write`] did once its transaction committed.
pub(crate) enum Written {
    /// Held; the counter's new `used`.
    Held(ReservationRow, i64),
    /// Committed: the usage recorded.
    Committed(Tracked),
    Released,
    /// The reservation was no longer held (nothing changed).
    NotHeld,
}

/// What became of a [`Write`] in a group.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Outcome {
    /// Done, or refused with nothing changed.
    Decided(Result<Written>),
    /// Stopped by a database error inside the group: the caller runs it alone.
    Alone(Write),
}

/// Runs `write` through `db`'s reservation committer (started on first use, one per process)
/// and waits for its group's commit; alone in its own transaction when the group sends it back.
async fn submit(db: &Store, write: Write) -> Result<Written> {
    let committer = db.local.reserver.get_or_init(|| Committer::start(db.detached(), MAX_GROUP, commit_group));
    match committer.submit(write).await {
        Ok(Some(Outcome::Decided(written))) => written,
        Ok(Some(Outcome::Alone(write))) | Err(write) => alone(db, &write).await,
        Ok(None) => Err(Error::Internal("the reservation committer stopped".into())),
    }
}

/// `write` in a transaction of its own.
async fn alone(db: &Store, write: &Write) -> Result<Written> {
    let mut tx = db.begin_write().await?;
    match apply(&mut tx, write).await {
        Ok(written) => {
            tx.commit().await?;
            Ok(written)
        }
        Err(e) => {
            tx.rollback().await?;
            Err(e)
        }
    }
}

/// The statements of `write` in `tx`; the caller commits, or rolls back on an error.
async fn apply(tx: &mut WriteTx, write: &Write) -> Result<Written> {
    apply_after(tx, write, false).await
}

/// [`apply`], where `quota_refused` says that a hold's first statement ([`hold_in_quota`]) already
/// ran in `tx` and did not fit (so the hold goes on beyond the quota).
async fn apply_after(tx: &mut WriteTx, write: &Write, quota_refused: bool) -> Result<Written> {
    match write {
        Write::Hold { user, allowance, row, now } => {
            let mut row = row.clone();
            let used = hold(tx, user, row.metric, allowance, &mut row, *now, quota_refused).await?;
            store::insert(tx, &row, *now).await?;
            Ok(Written::Held(row, used))
        }
        Write::Commit { user, allowance, row, usage, amount, now } => {
            let committed = Some((*amount, usage.id.as_str()));
            if !give_back(tx, row, ReservationStatus::Committed, committed, *now).await? {
                return Ok(Written::NotHeld);
            }
            Ok(Written::Committed(record(tx, user, allowance, usage, *now).await?))
        }
        Write::Release { row, now } => {
            if !give_back(tx, row, ReservationStatus::Released, None, *now).await? {
                return Ok(Written::NotHeld);
            }
            Ok(Written::Released)
        }
    }
}

fn commit_group(store: &Store, writes: Vec<Write>) -> Pin<Box<dyn Future<Output = Vec<Outcome>> + Send + '_>> {
    Box::pin(group(store, writes))
}

impl Write {
    /// The counter the write locks first: `(account_id, metric)`.
    fn counter(&self) -> (&str, Metric) {
        let row = match self {
            Write::Hold { row, .. } | Write::Commit { row, .. } | Write::Release { row, .. } => row,
        };
        (&row.account_id, row.metric)
    }
}

/// One transaction for `writes`, each in its own savepoint unless it is a hold that fits its
/// quota (see the module docs). They are
/// applied in the order of their counters, and in arrival order on one counter, so that two
/// groups (of two processes, or this one and the consume committer's, which sorts its counters
/// too) lock counters in one order.
async fn group(store: &Store, writes: Vec<Write>) -> Vec<Outcome> {
    metrics::histogram!("tariff_reservation_group_size").record(writes.len() as f64);
    let counted =
        |outcome: &'static str| metrics::counter!("tariff_reservation_groups_total", "outcome" => outcome).increment(1);
    let alone = |reason: &'static str, n: usize| {
        if n > 0 {
            metrics::counter!("tariff_reservation_writes_alone_total", "reason" => reason).increment(n as u64);
        }
    };
    let mut order: Vec<usize> = (0..writes.len()).collect();
    order.sort_by(|&a, &b| writes[a].counter().cmp(&writes[b].counter()));
    let mut without_savepoints = true;
    let (tx, results) = loop {
        let Ok(mut tx) = store.begin_write().await else {
            counted("no_transaction");
            alone("group_failed", writes.len());
            return writes.into_iter().map(Outcome::Alone).collect();
        };
        match apply_group(&mut tx, &writes, &order, without_savepoints).await {
            GroupTry::All(results) => break (tx, results),
            GroupTry::HoldFailed(e) => {
                // Its statements may be half applied: none of this try is kept, and every write
                // of the group goes again, each in its own savepoint.
                tracing::warn!(target: crate::LOG_TARGET, error = %e, writes = writes.len(), "a hold without a savepoint failed; the group goes again with savepoints");
                metrics::counter!("tariff_reservation_group_retries_total").increment(1);
                if let Err(e) = tx.rollback().await {
                    tracing::warn!(target: crate::LOG_TARGET, error = %e, writes = writes.len(), "rolling back a group of reservation writes failed; each runs alone");
                    counted("rolled_back");
                    alone("group_failed", writes.len());
                    return writes.into_iter().map(Outcome::Alone).collect();
                }
                without_savepoints = false;
            }
            GroupTry::Broken => {
                // A savepoint could not be taken or left: nothing of the group is kept, all run
                // alone.
                counted("rolled_back");
                tracing::warn!(target: crate::LOG_TARGET, writes = writes.len(), "a group of reservation writes was rolled back; each runs alone");
                drop(tx);
                alone("group_failed", writes.len());
                return writes.into_iter().map(Outcome::Alone).collect();
            }
        }
    };
    if let Err(e) = tx.commit().await {
        counted("commit_failed");
        tracing::error!(target: crate::LOG_TARGET, error = %e, writes = writes.len(), "committing a group of reservation writes failed");
        // The commit's fate is unknown: an error for every write, never a second try.
        return writes
            .iter()
            .map(|_| Outcome::Decided(Err(Error::Unavailable(Message::DatabaseUnavailable))))
            .collect();
    }
    counted("committed");
    alone("database_error", results.iter().filter(|result| result.is_none()).count());
    writes
        .into_iter()
        .zip(results)
        .map(|(write, result)| match result {
            None => Outcome::Alone(write),
            Some(result) => Outcome::Decided(result),
        })
        .collect()
}

/// How one try at a group's writes went ([`apply_group`]).
enum GroupTry {
    /// Every write ran: by index into the writes, `None` for one stopped by a database error
    /// (it goes back to its savepoint and runs alone after the commit).
    All(Vec<Option<Result<Written>>>),
    /// A statement of a hold without a savepoint failed (with this error): the transaction
    /// cannot be kept.
    HoldFailed(Error),
    /// A savepoint could not be taken or left: the transaction cannot be kept.
    Broken,
}

/// The writes of a group in `tx`, in `order`, each in a savepoint of its own, except (with
/// `without_savepoints`) a hold that fits its quota (see the module docs).
async fn apply_group(tx: &mut WriteTx, writes: &[Write], order: &[usize], without_savepoints: bool) -> GroupTry {
    let mut results: Vec<Option<Result<Written>>> = writes.iter().map(|_| None).collect();
    for &i in order {
        let write = &writes[i];
        let mut quota_refused = false;
        if without_savepoints {
            match hold_without_savepoint(tx, write).await {
                Ok(Some(written)) => {
                    results[i] = Some(Ok(written));
                    continue;
                }
                Ok(None) => quota_refused = matches!(write, Write::Hold { .. }),
                Err(e) => return GroupTry::HoldFailed(e),
            }
        }
        let Ok(savepoint) = tx.savepoint().await else { return GroupTry::Broken };
        let result = apply_after(tx, write, quota_refused).await;
        let kept = match result {
            Ok(_) => tx.release(savepoint).await,
            Err(_) => tx.rollback_to(savepoint).await,
        };
        if kept.is_err() {
            return GroupTry::Broken;
        }
        results[i] = match result {
            Err(Error::Database(e)) => {
                tracing::warn!(target: crate::LOG_TARGET, error = %e, "a reservation write of a group failed; it runs alone");
                None
            }
            result => Some(result),
        };
    }
    GroupTry::All(results)
}

/// Holds `body.amount` units of `body.metric` for `user`'s billing account for
/// `body.ttl_seconds` (`POST /api/v1/billing/usage/reservations`).
///
/// # Errors
/// [`Error::NotFound`] for an unknown metric; [`Error::Validation`] for a non-positive or too
/// large amount or a TTL outside 1..=[`MAX_TTL_SECONDS`]; [`Error::QuotaExceeded`] (429) when the
/// hold does not fit and the plan has no overage price for the metric;
/// [`Error::InsufficientBalance`] (402) when the part beyond the quota cannot be held on the
/// balance; [`Error::SubscriptionPaused`], [`Error::Forbidden`] under the `deny` policy;
/// [`Error::Database`]. Nothing is held on any error.
pub async fn reserve(
    db: &Store,
    now: i64,
    policy: NoSubscriptionPolicy,
    user: &UserRef,
    body: &ReservationBody,
) -> Result<Reservation> {
    let metric = parse_metric(&body.metric)?;
    let mut errors = Vec::new();
    if body.amount <= 0 {
        errors.push(tariff_model::InvalidField::new("amount", Message::PositiveWholeNumber));
    } else if body.amount > MAX_EVENT_AMOUNT {
        errors.push(tariff_model::InvalidField::new("amount", Message::AmountTooLarge));
    }
    let ttl = body.ttl_seconds.unwrap_or(DEFAULT_TTL_SECONDS);
    if !(1..=MAX_TTL_SECONDS).contains(&ttl) {
        errors.push(tariff_model::InvalidField::new("ttl_seconds", Message::TtlRange { max: MAX_TTL_SECONDS }));
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let (a, _) = standing_for_write(db, now, policy, &user.account_id, metric).await?;
    let row = ReservationRow {
        id: uuid::Uuid::now_v7().to_string(),
        account_id: user.account_id.clone(),
        user_id: user.id.clone(),
        subscription_id: a.subscription_id.clone(),
        metric,
        amount: body.amount,
        period_start: a.period_start,
        period_end: a.period_end,
        held_micros: 0,
        status: ReservationStatus::Held,
        expires_at: now + ttl,
        committed_amount: None,
        usage_id: None,
        created_at: now,
    };
    let write = Write::Hold { user: user.clone(), allowance: a.clone(), row, now };
    let (row, used) = match submit(db, write).await {
        Ok(Written::Held(row, used)) => (row, used),
        Ok(_) => return Err(Error::Internal("a hold was not answered as one".into())),
        Err(e) => {
            super::count_if_refused(metric, &e);
            return Err(e);
        }
    };
    super::count_decision(metric, if row.held_micros > 0 { "balance" } else { "allowed" });
    tracing::debug!(target: crate::LOG_TARGET, account_id = %user.account_id, reservation = %row.id, used, "Held {} {metric} for user {}", row.amount, user.id);
    Ok(view(row, Some(status(metric, 0, used, &a)), 0))
}

/// A hold of a group that fits its quota, outside any savepoint: `Some` when it held and its
/// reservation is stored, `None` when `write` is not a hold or the quota's conditional upsert
/// changed nothing (the hold goes on in a savepoint, with `quota_refused`), `Err` when a
/// statement failed: the group cannot be kept, since a hold may be half written.
async fn hold_without_savepoint(tx: &mut WriteTx, write: &Write) -> Result<Option<Written>> {
    let Write::Hold { user, allowance, row, now } = write else { return Ok(None) };
    let Some(used) = hold_in_quota(tx, user, row.metric, allowance, row, *now).await? else {
        return Ok(None);
    };
    store::insert(tx, row, *now).await?;
    Ok(Some(Written::Held(row.clone(), used)))
}

/// Holds `row.amount` units within the quota, in one conditional upsert of the counter (and the
/// usage notifications it crosses). Returns the counter's new `used`, or `None` when the hold
/// does not fit and nothing changed.
async fn hold_in_quota(
    tx: &mut WriteTx,
    user: &UserRef,
    metric: Metric,
    a: &Allowance,
    row: &ReservationRow,
    now: i64,
) -> Result<Option<i64>> {
    let bound = a.limit.map_or(MAX_COUNTER, |limit| limit.min(MAX_COUNTER));
    let key = (&user.account_id, metric.as_str(), a.period_start, a.period_end);
    let Some(used) = store::hold(tx, key.0, key.1, key.2, key.3, row.amount, bound, now).await? else {
        return Ok(None);
    };
    a.counted(tx, key.0, &user.id, key.1, used - row.amount, used, now).await?;
    Ok(Some(used))
}

/// Takes the hold of `row` in `tx`: from the quota when it fits, else (with an overage price)
/// the whole amount counted and the part beyond the quota debited from the balance. Returns the
/// counter's new `used`. `quota_refused`: [`hold_in_quota`] already ran in `tx` and did not fit.
async fn hold(
    tx: &mut WriteTx,
    user: &UserRef,
    metric: Metric,
    a: &Allowance,
    row: &mut ReservationRow,
    now: i64,
    quota_refused: bool,
) -> Result<i64> {
    if !quota_refused && let Some(used) = hold_in_quota(tx, user, metric, a, row, now).await? {
        return Ok(used);
    }
    let bound = a.limit.map_or(MAX_COUNTER, |limit| limit.min(MAX_COUNTER));
    let key = (&user.account_id, metric.as_str(), a.period_start, a.period_end);
    let refused = |used: i64| Error::QuotaExceeded {
        metric,
        limit: bound,
        current_usage: used,
        remaining: (bound - used).max(0),
        requested: row.amount,
    };
    let (Some(price), Some(limit)) = (a.priced_overage(), a.limit.filter(|l| *l < MAX_COUNTER)) else {
        let used = counters::used(tx.conn(), key.0, key.1, key.2).await?;
        return Err(refused(used));
    };
    let Some(used) = store::hold(tx, key.0, key.1, key.2, key.3, row.amount, MAX_COUNTER, now).await? else {
        let used = counters::used(tx.conn(), key.0, key.1, key.2).await?;
        return Err(refused(used));
    };
    a.counted(tx, key.0, &user.id, key.1, used - row.amount, used, now).await?;
    let excess = row.amount.min(used - limit).max(0);
    let cost = cost_micros(price, 1, excess, a.discount_percent)
        .ok_or_else(|| Error::invalid("amount", Message::AmountTooLarge))?;
    if cost > 0 {
        let movement = Movement {
            account_id: &user.account_id,
            delta_micros: -cost,
            reason: BalanceReason::Charge,
            reference: Some(&row.id),
            actor: Some(&user.id),
            description: Some("reservation hold"),
            now,
        };
        match balances::apply(tx, &movement).await? {
            Applied::Moved { .. } => row.held_micros = cost,
            Applied::Insufficient { balance_micros, currency } => {
                return Err(Error::InsufficientBalance {
                    required_micros: cost,
                    balance_micros,
                    currency,
                    feature: None,
                });
            }
            Applied::Duplicate | Applied::TooLarge => {
                return Err(Error::Internal("a new reservation was charged before".into()));
            }
        }
    }
    Ok(used)
}

/// Gives back the hold of `row` in `tx` and marks it `to` (committed, released or expired):
/// the counter shrinks by the held units, the balance gets back what was held on it. `false`
/// when the reservation was not `held` any more (nothing changed).
async fn give_back(
    tx: &mut WriteTx,
    row: &ReservationRow,
    to: ReservationStatus,
    committed: Option<(i64, &str)>,
    now: i64,
) -> Result<bool> {
    store::lock_counter(tx, &row.account_id, row.metric, row.period_start).await?;
    if !store::finish(tx, &row.id, to, committed, now).await? {
        return Ok(false);
    }
    if !store::unhold(tx, &row.account_id, row.metric, row.period_start, row.amount, now).await? {
        return Err(Error::Internal(format!("the counter of reservation {} holds less than it", row.id)));
    }
    if row.held_micros > 0 {
        let movement = Movement {
            account_id: &row.account_id,
            delta_micros: row.held_micros,
            reason: BalanceReason::Reversal,
            reference: Some(&row.id),
            actor: Some("system"),
            description: Some("reservation hold given back"),
            now,
        };
        if let Applied::Insufficient { .. } | Applied::TooLarge = balances::apply(tx, &movement).await? {
            return Err(Error::Internal(format!("the hold of reservation {} could not be given back", row.id)));
        }
    }
    Ok(true)
}

/// The reservation `id`, when `user` may reach it (see `find`).
///
/// # Errors
/// [`Error::NotFound`] when there is none, or it was made for another user; [`Error::Database`].
pub async fn get(db: &Store, user: &UserRef, id: &str) -> Result<Reservation> {
    Ok(view(find(db, user, id).await?, None, 0))
}

/// The reservation `id`, reached by the user it was made for (directly, or through a service or
/// admin token acting for them with `user_id`), whichever account they bill now: a hold made with
/// `organization_id` is read, committed or released without naming the organisation again. Other
/// members of the account it holds against do not reach it: its usage is the maker's, under the
/// maker's caps, and cannot be recorded in another member's name.
///
/// # Errors
/// [`Error::NotFound`] for an unknown id or a reservation made for another user; [`Error::Database`].
async fn find(db: &Store, user: &UserRef, id: &str) -> Result<ReservationRow> {
    store::get(db.reader(), id)
        .await?
        .filter(|r| r.user_id == user.id)
        .ok_or_else(|| Error::not_found(Entity::Reservation, id))
}

/// `user` acting in the account `row` holds against, for its commit: the usage goes there, under
/// the member's role and caps when it is an organisation.
///
/// # Errors
/// [`Error::Forbidden`] ([`Message::NotAMember`]) when `user` made it for an organisation they
/// are no longer a member of; [`Error::Database`].
async fn acting_for(db: &Store, user: &UserRef, row: &ReservationRow) -> Result<UserRef> {
    if row.account_id == user.account_id {
        Ok(user.clone())
    } else if row.account_id == user.personal_account_id {
        Ok(UserRef { account_id: user.personal_account_id.clone(), membership: None, ..user.clone() })
    } else {
        crate::organizations::acting_in(db, user.clone(), &row.account_id).await
    }
}

/// Records the `body.amount` units actually used by reservation `id` and ends its hold, in one
/// transaction (`POST /api/v1/billing/usage/reservations/{id}/commit`).
///
/// # Errors
/// [`Error::NotFound`] for an unknown reservation or one `user` may not reach (see `find`);
/// [`Error::Forbidden`] for one made for an organisation `user` has left, or under the `deny`
/// policy; [`Error::Conflict`] (409) when it is no longer held (committed, released or expired —
/// an expired one is marked so); [`Error::Validation`] for a bad amount or reference;
/// [`Error::QuotaExceeded`] or [`Error::MemberCapExceeded`] (429) or
/// [`Error::InsufficientBalance`] (402) when the actual usage beyond the hold does not fit —
/// nothing changes and the hold stays; [`Error::SubscriptionPaused`]; [`Error::Database`].
pub async fn commit(
    db: &Store,
    now: i64,
    policy: NoSubscriptionPolicy,
    user: &UserRef,
    id: &str,
    body: CommitBody,
) -> Result<Reservation> {
    let row = find(db, user, id).await?;
    let metric = row.metric;
    let event = UsageEvent {
        metric: metric.as_str().to_owned(),
        amount: body.amount,
        model_id: body.model_id,
        chat_id: body.chat_id,
        event_id: Some(format!("reservation:{}", row.id)),
        metadata: body.metadata,
        ..UsageEvent::default()
    };
    let mut errors = Vec::new();
    validate_event(&event, "", &mut errors);
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    ensure_held(db, &row, now).await?;
    let user = &acting_for(db, user, &row).await?;
    let (a, _) = standing_for_write(db, now, policy, &user.account_id, metric).await?;
    let usage = usage_row(user, metric, &a, event, now);
    let usage_id = usage.id.clone();
    let write = Write::Commit { user: user.clone(), allowance: a, row: row.clone(), usage, amount: body.amount, now };
    let tracked = match submit(db, write).await {
        Ok(Written::Committed(tracked)) => tracked,
        Ok(Written::NotHeld) => return Err(not_held(db, id).await),
        Ok(_) => return Err(Error::Internal("a commit was not answered as one".into())),
        Err(e) => {
            super::count_if_refused(metric, &e);
            return Err(e);
        }
    };
    super::count_decision(metric, tracked_decision(&tracked));
    tracing::debug!(target: crate::LOG_TARGET, reservation = %row.id, held = row.amount, used = body.amount, "reservation committed for user {}", user.id);
    let charged = tracked.charged_micros;
    let row = ReservationRow {
        status: ReservationStatus::Committed,
        committed_amount: Some(body.amount),
        usage_id: Some(usage_id),
        ..row
    };
    Ok(view(row, Some(tracked.usage), charged))
}

/// Ends the hold of reservation `id` without recording usage
/// (`POST /api/v1/billing/usage/reservations/{id}/release`).
///
/// # Errors
/// [`Error::NotFound`] for an unknown reservation or one `user` may not reach (see `find`; the
/// user who made it may release it after leaving its organisation); [`Error::Conflict`] (409)
/// when it is no longer held; [`Error::Database`].
pub async fn release(db: &Store, now: i64, user: &UserRef, id: &str) -> Result<Reservation> {
    let row = find(db, user, id).await?;
    ensure_held(db, &row, now).await?;
    match submit(db, Write::Release { row: row.clone(), now }).await? {
        Written::Released => {}
        Written::NotHeld => return Err(not_held(db, id).await),
        _ => return Err(Error::Internal("a release was not answered as one".into())),
    }
    Ok(view(ReservationRow { status: ReservationStatus::Released, ..row }, None, 0))
}

/// 409 unless `row` is held and not expired; an expired hold is freed first (marked expired).
async fn ensure_held(db: &Store, row: &ReservationRow, now: i64) -> Result<()> {
    if row.status != ReservationStatus::Held {
        return Err(Error::Conflict(Message::ReservationNotHeld { status: row.status }));
    }
    if row.expires_at <= now {
        let mut tx = db.begin_write().await?;
        give_back(&mut tx, row, ReservationStatus::Expired, None, now).await?;
        tx.commit().await?;
        return Err(not_held(db, &row.id).await);
    }
    Ok(())
}

/// The 409 of a reservation that stopped being held meanwhile, naming its state now.
async fn not_held(db: &Store, id: &str) -> Error {
    match store::get(db.reader(), id).await {
        Ok(Some(row)) => Error::Conflict(Message::ReservationNotHeld { status: row.status }),
        Ok(None) => Error::not_found(Entity::Reservation, id),
        Err(e) => Error::Database(e),
    }
}

/// Frees holds whose time ran out by `now` (the jobs call it every few seconds, in every
/// process: each hold is freed once, by a conditional update). Returns how many were freed.
///
/// # Errors
/// [`Error::Database`].
pub async fn expire_due(db: &Store, now: i64) -> Result<usize> {
    let due = store::due(db.reader(), now, SWEEP_BATCH).await?;
    let mut freed = 0;
    for row in due {
        let mut tx = db.begin_write().await?;
        if give_back(&mut tx, &row, ReservationStatus::Expired, None, now).await? {
            freed += 1;
        }
        tx.commit().await?;
    }
    if freed > 0 {
        tracing::info!(target: crate::LOG_TARGET, freed, "expired usage reservations freed");
    }
    Ok(freed)
}

/// The API shape of a stored reservation.
fn view(row: ReservationRow, usage: Option<QuotaStatus>, charged_micros: i64) -> Reservation {
    Reservation {
        metric: row.metric,
        covered_by: if row.held_micros > 0 { CoveredBy::Balance } else { CoveredBy::Quota },
        held_balance: decimal_from_micros(row.held_micros),
        held_balance_micros: row.held_micros,
        id: row.id,
        user_id: row.user_id,
        account_id: row.account_id,
        amount: row.amount,
        status: row.status,
        expires_at: row.expires_at,
        created_at: row.created_at,
        committed_amount: row.committed_amount,
        usage_id: row.usage_id,
        usage,
        charged_micros,
    }
}
