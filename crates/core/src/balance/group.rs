//! Group commit of feature charges (issue 12's `charge` target: thousands a second from one
//! balance). Concurrent charges of one process queue for one committer task
//! ([`crate::store::committer`]) that decides and writes everything waiting (up to
//! [`MAX_GROUP`]) in one transaction with a fixed number of statements:
//!
//! 1. the included-units counters the group touches, created at 0 when missing and locked
//!    until the commit (before the balances: the single-charge path takes its locks in the same
//!    order, so the two never deadlock on PostgreSQL);
//! 2. the balances of the group's accounts, locked;
//! 3. the charges stored before under the group's `event_id`s (one select, only when some
//!    carry one);
//! 4. the decision, in arrival order, under those locks — the same rules as the single-charge
//!    path: included units first, then the balance at the discounted price, refused with 402
//!    and nothing recorded when the balance cannot pay; a repeated `event_id` answers the first
//!    charge;
//! 5. the charges (one insert; a row the unique `event_id` index skipped, charged meanwhile by
//!    another process, fails the group), the balances (one conditional update that fails the
//!    group unless each still reads what it was decided on) with their ledger entries (one
//!    insert), the included units (one update, checked against the decided totals), and the
//!    `balance.low` events of balances that crossed their threshold;
//! 6. one commit, after which every caller gets its answer.
//!
//! Organisation members' charges (their own spending caps) take the single-charge path in
//! [`super::charge`], and when anything in a group fails before the commit it is rolled back and
//! every charge of it takes that path too, so a bad group never answers wrongly.

use super::PaygStanding;
use crate::features::discount_of;
use crate::store::balances::{self, GroupEntry};
use crate::store::charges::{self, ChargeRow};
use crate::store::{Store, WriteTx, usage as counters};
use crate::tokens::UserRef;
use crate::{Error, Result};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use tariff_model::balance::{ChargeBody, cost_micros};
use tariff_model::{BalanceReason, Currency, Feature, Message};

/// Most charges one transaction carries.
pub const MAX_GROUP: usize = 128;

/// The committer of charges of one [`Store`] (see the module docs).
pub(crate) type Committer = crate::store::committer::Committer<Pending, Outcome>;

/// One validated charge of a feature the account's plan may use.
pub(crate) struct Pending {
    pub user: UserRef,
    pub feature: Feature,
    pub standing: PaygStanding,
    pub body: ChargeBody,
    pub now: i64,
}

/// What became of a [`Pending`] charge.
pub(crate) enum Outcome {
    /// Charged (`false`), or a repeated `event_id` answered with the first charge (`true`).
    Charged(ChargeRow, Currency, bool),
    /// Refused (402, or units too large to price); nothing recorded.
    Refused(Error),
    /// Not decided by a group: the caller runs the single-charge path.
    Single,
}

/// Charges `pending` through `db`'s committer (started on first use, one per process) and
/// waits for its group's commit. Organisation members' charges must not come here.
pub(crate) async fn charge(db: &Store, pending: Pending) -> Outcome {
    let committer = db.local.charger.get_or_init(|| Committer::start(db.detached(), MAX_GROUP, commit));
    match committer.submit(pending).await {
        Ok(Some(outcome)) => outcome,
        Ok(None) => Outcome::Refused(Error::Internal("the charge committer stopped".into())),
        Err(_) => Outcome::Single,
    }
}

fn commit(store: &Store, charges: Vec<Pending>) -> Pin<Box<dyn Future<Output = Vec<Outcome>> + Send + '_>> {
    Box::pin(commit_group(store, charges))
}

async fn commit_group(store: &Store, charges: Vec<Pending>) -> Vec<Outcome> {
    metrics::histogram!("tariff_charge_group_size").record(charges.len() as f64);
    let single = |charges: &[Pending]| charges.iter().map(|_| Outcome::Single).collect();
    let mut tx = match store.begin_write().await {
        Ok(tx) => tx,
        Err(e) => {
            tracing::warn!(target: crate::LOG_TARGET, error = %e, "no transaction for a group of charges; each takes the single-charge path");
            return single(&charges);
        }
    };
    match decide(&mut tx, store, &charges).await {
        Ok(outcomes) => match tx.commit().await {
            Ok(()) => outcomes,
            Err(e) => {
                // The commit's fate is unknown: answer an error, never a second try.
                tracing::error!(target: crate::LOG_TARGET, error = %e, charges = charges.len(), "committing a group of charges failed");
                charges.iter().map(|_| Outcome::Refused(Error::Unavailable(Message::DatabaseUnavailable))).collect()
            }
        },
        Err(e) => {
            tracing::warn!(target: crate::LOG_TARGET, error = %e, charges = charges.len(), "a group of charges was rolled back; each takes the single-charge path");
            drop(tx);
            single(&charges)
        }
    }
}

/// Steps 1–5 of the module docs in `tx`; the caller commits.
async fn decide(tx: &mut WriteTx, store: &Store, charges: &[Pending]) -> Result<Vec<Outcome>> {
    let dialect = store.dialect();
    let now = charges.iter().map(|c| c.now).max().unwrap_or_default();
    let limit_of = |c: &Pending| c.standing.plan.as_ref().map_or(0, |p| p.feature_limit(&c.feature.name));
    let counter_of =
        |c: &Pending| (c.user.account_id.clone(), super::feature_counter(&c.feature.name), c.standing.period_start);

    // 1. Included-units counters, locked.
    let mut keys: Vec<(counters::NamedCounterKey, i64)> =
        charges.iter().filter(|c| limit_of(c) > 0).map(|c| (counter_of(c), c.standing.period_end)).collect();
    keys.sort_unstable();
    keys.dedup_by(|a, b| a.0 == b.0);
    let named: Vec<(&str, &str, i64, i64)> =
        keys.iter().map(|((a, m, p), end)| (a.as_str(), m.as_str(), *p, *end)).collect();
    let mut used: HashMap<counters::NamedCounterKey, i64> =
        counters::lock_named_counters(tx, dialect, &named, now).await?.into_iter().collect();
    let locked_used = used.clone();

    // 2. Balances, locked.
    let mut accounts: Vec<&str> = charges.iter().map(|c| c.user.account_id.as_str()).collect();
    accounts.sort_unstable();
    accounts.dedup();
    let mut balance: HashMap<String, balances::AccountBalance> =
        balances::lock_many(tx, dialect, &accounts).await?.into_iter().collect();
    let locked_balance: HashMap<String, i64> = balance.iter().map(|(a, b)| (a.clone(), b.balance_micros)).collect();

    // 3. Charges stored before under the group's event ids.
    let pairs: Vec<(&str, &str)> =
        charges.iter().filter_map(|c| c.body.event_id.as_deref().map(|e| (c.user.account_id.as_str(), e))).collect();
    let mut charged_before: HashMap<(String, String), ChargeRow> = charges::find_events(tx, dialect, &pairs)
        .await?
        .into_iter()
        .filter_map(|row| row.event_id.clone().map(|e| ((row.account_id.clone(), e), row)))
        .collect();

    // 4. Decisions in arrival order.
    let mut outcomes = Vec::with_capacity(charges.len());
    let mut rows: Vec<ChargeRow> = Vec::new();
    let mut entries: Vec<GroupEntry> = Vec::new();
    for c in charges {
        let account_id = &c.user.account_id;
        let Some(b) = balance.get_mut(account_id) else {
            outcomes.push(Outcome::Single);
            continue;
        };
        if let Some(event_id) = &c.body.event_id
            && let Some(first) = charged_before.get(&(account_id.clone(), event_id.clone()))
        {
            let currency = first.currency.parse().unwrap_or(b.currency);
            outcomes.push(Outcome::Charged(first.clone(), currency, true));
            continue;
        }
        if c.feature.currency != b.currency {
            outcomes
                .push(Outcome::Refused(Error::invalid("feature", Message::CurrencyMismatch { expected: b.currency })));
            continue;
        }
        let limit = limit_of(c);
        let key = counter_of(c);
        let from_included = if limit > 0 {
            let current = *used.get(&key).ok_or_else(|| Error::Internal("a locked counter was not returned".into()))?;
            c.body.units.min((limit - current).max(0))
        } else {
            0
        };
        let charged_units = c.body.units - from_included;
        let discount = discount_of(c.standing.plan.as_ref());
        let Some(cost) = cost_micros(c.feature.unit_price_minor, c.feature.per_units, charged_units, discount) else {
            outcomes.push(Outcome::Refused(Error::invalid("units", Message::AmountTooLarge)));
            continue;
        };
        if cost > b.balance_micros {
            tracing::info!(target: crate::LOG_TARGET, feature = %c.feature.name, required_micros = cost, balance_micros = b.balance_micros, "charge refused for user {}: balance too low", c.user.id);
            outcomes.push(Outcome::Refused(Error::InsufficientBalance {
                required_micros: cost,
                balance_micros: b.balance_micros,
                currency: b.currency,
                feature: Some(c.feature.name.clone()),
            }));
            continue;
        }
        if from_included > 0 {
            *used.entry(key).or_default() += from_included;
        }
        let before = b.balance_micros;
        b.balance_micros -= cost;
        let id = uuid::Uuid::now_v7().to_string();
        if cost > 0 {
            entries.push(GroupEntry {
                id: uuid::Uuid::now_v7().to_string(),
                account_id: account_id.clone(),
                delta_micros: -cost,
                balance_after_micros: b.balance_micros,
                currency: b.currency,
                reason: BalanceReason::Charge,
                reference: Some(id.clone()),
                actor: Some(c.user.id.clone()),
                description: Some(c.feature.name.clone()),
                created_at: c.now,
            });
            let moved = crate::events::BalanceMove {
                account_id,
                reason: BalanceReason::Charge,
                delta_micros: -cost,
                balance_micros: before - cost,
                currency: b.currency,
                low_balance_minor: b.low_balance_minor,
                now: c.now,
            };
            crate::events::balance_moved(tx, moved).await?;
        }
        let row = ChargeRow {
            id,
            account_id: account_id.clone(),
            user_id: c.user.id.clone(),
            feature: c.feature.name.clone(),
            units: c.body.units,
            from_included,
            charged_units,
            charged_micros: cost,
            currency: c.feature.currency.code().to_owned(),
            balance_after_micros: b.balance_micros,
            period_start: c.standing.period_start,
            event_id: c.body.event_id.clone(),
            extra_metadata: c.body.metadata.as_ref().filter(|m| !m.is_null()).map(|m| m.to_string()),
            created_at: c.now,
        };
        if let Some(event_id) = &row.event_id {
            charged_before.insert((account_id.clone(), event_id.clone()), row.clone());
        }
        tracing::debug!(target: crate::LOG_TARGET, feature = %row.feature, units = row.units, charged_micros = cost, "Charged {} {} for user {}", row.units, row.feature, c.user.id);
        outcomes.push(Outcome::Charged(row.clone(), b.currency, false));
        rows.push(row);
    }

    // 5. The writes.
    let inserted = charges::insert_group(tx, dialect, &rows).await?;
    if inserted.len() != rows.len() {
        return Err(Error::Internal("an event_id of the group was charged meanwhile".into()));
    }
    let moves: Vec<(&str, i64, i64)> = balance
        .iter()
        .filter_map(|(account_id, b)| {
            let before = locked_balance.get(account_id).copied()?;
            (before != b.balance_micros).then_some((account_id.as_str(), before, b.balance_micros))
        })
        .collect();
    balances::settle_group(tx, dialect, &moves, &entries, now).await?;
    let additions: Vec<(&str, &str, i64, i64)> = keys
        .iter()
        .filter_map(|((a, m, p), _)| {
            let key = (a.clone(), m.clone(), *p);
            let added = used.get(&key)? - locked_used.get(&key)?;
            (added > 0).then_some((a.as_str(), m.as_str(), *p, added))
        })
        .collect();
    for (key, total) in counters::add_named_counts(tx, dialect, &additions, now).await? {
        if used.get(&key) != Some(&total) {
            return Err(Error::Internal(format!("an included-units counter reads {total}, not the decided total")));
        }
    }
    Ok(outcomes)
}
