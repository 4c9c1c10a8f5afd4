//! `billing_usage` (one row per event) and `billing_usage_counter` (the O(1) quota state per
//! account, metric and period).

use super::{Dialect, WriteTx, get_enum, param_list, placeholders, value_rows};
use sqlx::{Any, Executor, Row};
use tariff_model::{SubscriptionStatus, UsageRow};

/// One usage event to record.
#[derive(Clone, Debug)]
pub struct NewUsage {
    pub id: String,
    pub user_id: String,
    pub account_id: String,
    pub subscription_id: Option<String>,
    pub metric: &'static str,
    pub amount: i64,
    pub period_start: i64,
    pub period_end: i64,
    pub model_id: Option<String>,
    pub chat_id: Option<String>,
    pub event_id: Option<String>,
    pub extra_metadata: Option<String>,
    pub created_at: i64,
}

const USAGE_COLUMNS: &str = "id, user_id, account_id, subscription_id, metric, amount, period_start, period_end,
    model_id, chat_id, event_id, charged_micros, extra_metadata, created_at";

/// Inserts usage rows in one statement; rows whose `(account_id, event_id)` exists already are
/// skipped. Returns the ids of the rows inserted.
///
/// SQLite gets anonymous `?` placeholders: looking up a numbered `$N` parameter by name is linear
/// in SQLite, which makes binding thousands of them quadratic.
pub async fn insert_many(tx: &mut WriteTx, dialect: Dialect, rows: &[NewUsage]) -> Result<Vec<String>, sqlx::Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = format!("insert into billing_usage ({USAGE_COLUMNS}) values ");
    for i in 0..rows.len() {
        if i > 0 {
            sql.push(',');
        }
        sql.push('(');
        for column in 0..13 {
            if column > 0 {
                sql.push_str(", ");
            }
            if column == 11 {
                sql.push_str("0, "); // charged_micros, between event_id and extra_metadata
            }
            match dialect {
                Dialect::Sqlite => sql.push('?'),
                Dialect::Postgres => sql.push_str(&format!("${}", i * 13 + column + 1)),
            }
        }
        sql.push(')');
    }
    sql.push_str(" on conflict do nothing returning id");
    let mut query = sqlx::query(&sql);
    for r in rows {
        query = query
            .bind(&r.id)
            .bind(&r.user_id)
            .bind(&r.account_id)
            .bind(&r.subscription_id)
            .bind(r.metric)
            .bind(r.amount)
            .bind(r.period_start)
            .bind(r.period_end)
            .bind(&r.model_id)
            .bind(&r.chat_id)
            .bind(&r.event_id)
            .bind(&r.extra_metadata)
            .bind(r.created_at);
    }
    let returned = query.fetch_all(tx.conn()).await?;
    returned.iter().map(|row| row.try_get::<String, _>("id")).collect()
}

/// Adds `amount` to the period's counter (creating it) if the result stays within `limit`
/// (no limit: always), and returns the new total, or `None` when it would pass the limit.
///
/// This single conditional upsert is the atomic quota check (DESIGN.md "Quota checks are
/// atomic"): however many clients race, the counter never passes the limit. The `where` on the
/// `select` keeps a first event larger than the limit from creating the row.
#[allow(clippy::too_many_arguments)]
pub async fn consume(
    tx: &mut WriteTx,
    account_id: &str,
    metric: &str,
    period_start: i64,
    period_end: i64,
    amount: i64,
    limit: Option<i64>,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "insert into billing_usage_counter (account_id, metric, period_start, period_end, used, updated_at)
         select $1, $2, $3, $4, $5, $6 where ($7 is null or $5 <= $7)
         on conflict (account_id, metric, period_start) do update
             set used = billing_usage_counter.used + excluded.used, updated_at = excluded.updated_at
             where ($7 is null or billing_usage_counter.used + excluded.used <= $7)
         returning used",
    )
    .bind(account_id)
    .bind(metric)
    .bind(period_start)
    .bind(period_end)
    .bind(amount)
    .bind(now)
    .bind(limit)
    .fetch_optional(tx.conn())
    .await
}

/// Adds `amount` to the counter without a limit (recording usage that already happened), but
/// never past `ceiling`: the sum is clamped there, so the addition itself can never overflow
/// (PostgreSQL would fail, SQLite would turn the column into a REAL). Returns the new count.
#[allow(clippy::too_many_arguments)]
pub async fn add(
    tx: &mut WriteTx,
    account_id: &str,
    metric: &str,
    period_start: i64,
    period_end: i64,
    amount: i64,
    ceiling: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into billing_usage_counter (account_id, metric, period_start, period_end, used, updated_at)
         values ($1, $2, $3, $4, case when $5 > $7 then $7 else $5 end, $6)
         on conflict (account_id, metric, period_start) do update
             set used = case when billing_usage_counter.used > $7 - excluded.used then $7
                             else billing_usage_counter.used + excluded.used end,
                 updated_at = excluded.updated_at
         returning used",
    )
    .bind(account_id)
    .bind(metric)
    .bind(period_start)
    .bind(period_end)
    .bind(amount)
    .bind(now)
    .bind(ceiling)
    .fetch_one(tx.conn())
    .await
}

/// The counter's value, with its row locked until the transaction ends (created at 0 when
/// missing): the read of a read-then-add that concurrent writers cannot interleave (PostgreSQL
/// holds the row lock; SQLite has one writer anyway).
pub async fn lock_used(
    tx: &mut WriteTx,
    account_id: &str,
    metric: &str,
    period_start: i64,
    period_end: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into billing_usage_counter (account_id, metric, period_start, period_end, used, updated_at)
         values ($1, $2, $3, $4, 0, $5)
         on conflict (account_id, metric, period_start) do update set used = billing_usage_counter.used
         returning used",
    )
    .bind(account_id)
    .bind(metric)
    .bind(period_start)
    .bind(period_end)
    .bind(now)
    .fetch_one(tx.conn())
    .await
}

/// Records what usage row `id` cost from the balance (pay-as-you-go overage), micro-minor units.
pub async fn set_charged(tx: &mut WriteTx, id: &str, charged_micros: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update billing_usage set charged_micros = $2 where id = $1")
        .bind(id)
        .bind(charged_micros)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Units used of `metric` in the period starting at `period_start` (0 when nothing was used).
pub async fn used<'c, E: Executor<'c, Database = Any>>(
    db: E,
    account_id: &str,
    metric: &str,
    period_start: i64,
) -> Result<i64, sqlx::Error> {
    let used: Option<i64> = sqlx::query_scalar(
        "select used from billing_usage_counter where account_id = $1 and metric = $2 and period_start = $3",
    )
    .bind(account_id)
    .bind(metric)
    .bind(period_start)
    .fetch_optional(db)
    .await?;
    Ok(used.unwrap_or(0))
}

/// The account's most recent usage events, newest first.
pub async fn recent<'c, E: Executor<'c, Database = Any>>(
    db: E,
    account_id: &str,
    limit: i64,
) -> Result<Vec<UsageRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, user_id, metric, amount, model_id, chat_id, event_id, created_at, charged_micros from billing_usage
         where account_id = $1 order by created_at desc, id desc limit $2",
    )
    .bind(account_id)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(UsageRow {
                id: r.try_get("id")?,
                user_id: r.try_get("user_id")?,
                metric: r.try_get("metric")?,
                amount: r.try_get("amount")?,
                model_id: r.try_get("model_id")?,
                chat_id: r.try_get("chat_id")?,
                event_id: r.try_get("event_id")?,
                created_at: r.try_get("created_at")?,
                charged_micros: r.try_get("charged_micros")?,
            })
        })
        .collect()
}

/// An account's live subscription period, its plan's quotas (JSON text) and the counter of one
/// metric in that period, read in one statement (the hot path of quota checks).
#[derive(Clone, Debug)]
pub struct Standing {
    pub subscription_id: String,
    pub status: SubscriptionStatus,
    pub current_period_start: i64,
    pub current_period_end: i64,
    pub quotas: Option<String>,
    /// The plan's overage prices (JSON) and pay-as-you-go discount.
    pub overage: Option<String>,
    pub discount_percent: i64,
    pub used: Option<i64>,
}

/// The [`Standing`] of `account_id` on `metric`, if the account has a live subscription.
pub async fn standing<'c, E: Executor<'c, Database = Any>>(
    db: E,
    account_id: &str,
    metric: &str,
) -> Result<Option<Standing>, sqlx::Error> {
    let sql = format!(
        "select s.id as subscription_id, s.status, s.current_period_start, s.current_period_end, p.quotas,
                p.overage, p.discount_percent, c.used
         from billing_subscription s
         join billing_plan p on p.id = s.plan_id
         left join billing_usage_counter c
             on c.account_id = s.account_id and c.metric = $2 and c.period_start = s.current_period_start
         where s.account_id = $1 and s.status in ({})",
        placeholders(3, SubscriptionStatus::LIVE.len())
    );
    let mut query = sqlx::query(&sql).bind(account_id).bind(metric);
    for status in SubscriptionStatus::LIVE {
        query = query.bind(status.as_str());
    }
    let row = query.fetch_optional(db).await?;
    row.map(|r| {
        Ok(Standing {
            subscription_id: r.try_get("subscription_id")?,
            status: get_enum(&r, "status")?,
            current_period_start: r.try_get("current_period_start")?,
            current_period_end: r.try_get("current_period_end")?,
            quotas: r.try_get("quotas")?,
            overage: r.try_get("overage")?,
            discount_percent: r.try_get("discount_percent")?,
            used: r.try_get("used")?,
        })
    })
    .transpose()
}

/// Usage totals of an account per metric and per day of `[from, to)`: `(day index counted from
/// `from`, metric, amount)`, days being 86,400-second steps from `from`.
pub async fn daily_totals<'c, E: Executor<'c, Database = Any>>(
    db: E,
    account_id: &str,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "select cast((created_at - $2) / 86400 as bigint) as day, metric, cast(sum(amount) as bigint) as amount
         from billing_usage where account_id = $1 and created_at >= $2 and created_at < $3
         group by 1, 2 order by 1, 2",
    )
    .bind(account_id)
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await
}

/// A counter's key: account, metric and period start (Unix seconds).
pub type CounterKey = (String, &'static str, i64);

/// The live subscription and plan of each of `account_ids` in one statement, as
/// [`Standing`]s without a counter (`used` is `None`), keyed by account. The group commit's
/// first read (see `usage::group`).
pub async fn standings_of(
    tx: &mut WriteTx,
    dialect: Dialect,
    account_ids: &[&str],
) -> Result<Vec<(String, Standing)>, sqlx::Error> {
    if account_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select s.account_id, s.id as subscription_id, s.status, s.current_period_start, s.current_period_end,
                p.quotas, p.overage, p.discount_percent
         from billing_subscription s join billing_plan p on p.id = s.plan_id
         where s.account_id in ({}) and s.status in ({})",
        param_list(dialect, 1, account_ids.len()),
        param_list(dialect, account_ids.len() + 1, SubscriptionStatus::LIVE.len())
    );
    let mut query = sqlx::query(&sql);
    for id in account_ids {
        query = query.bind(*id);
    }
    for status in SubscriptionStatus::LIVE {
        query = query.bind(status.as_str());
    }
    let rows = query.fetch_all(tx.conn()).await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("account_id")?,
                Standing {
                    subscription_id: r.try_get("subscription_id")?,
                    status: get_enum(r, "status")?,
                    current_period_start: r.try_get("current_period_start")?,
                    current_period_end: r.try_get("current_period_end")?,
                    quotas: r.try_get("quotas")?,
                    overage: r.try_get("overage")?,
                    discount_percent: r.try_get("discount_percent")?,
                    used: None,
                },
            ))
        })
        .collect()
}

/// Reads the counters `keys` (with their periods' ends), creating missing ones at 0, and holds
/// them until the transaction ends (the upsert takes each row's lock on PostgreSQL; SQLite has
/// one writer), in one statement. Returns each key's units used. `keys` must be distinct.
pub async fn lock_counters(
    tx: &mut WriteTx,
    dialect: Dialect,
    keys: &[(CounterKey, i64)],
    now: i64,
) -> Result<Vec<(CounterKey, i64)>, sqlx::Error> {
    counters_upsert(
        tx,
        dialect,
        keys.iter().map(|(key, end)| (key, *end, 0)),
        keys.len(),
        now,
        "billing_usage_counter.used",
    )
    .await
}

/// Adds each `(key, period end, units)` to its counter in one statement and returns the new
/// values. Used under the locks of [`lock_counters`], after the additions were decided against
/// the limits (see `usage::group`).
pub async fn add_counts(
    tx: &mut WriteTx,
    dialect: Dialect,
    additions: &[(CounterKey, i64, i64)],
    now: i64,
) -> Result<Vec<(CounterKey, i64)>, sqlx::Error> {
    counters_upsert(
        tx,
        dialect,
        additions.iter().map(|(key, end, units)| (key, *end, *units)),
        additions.len(),
        now,
        "billing_usage_counter.used + excluded.used",
    )
    .await
}

/// `insert … on conflict do update set used = <set_used> returning …` over several counters.
async fn counters_upsert<'k>(
    tx: &mut WriteTx,
    dialect: Dialect,
    rows: impl Iterator<Item = (&'k CounterKey, i64, i64)>,
    count: usize,
    now: i64,
    set_used: &str,
) -> Result<Vec<(CounterKey, i64)>, sqlx::Error> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let sql = format!(
        "insert into billing_usage_counter (account_id, metric, period_start, period_end, used, updated_at)
         values {}
         on conflict (account_id, metric, period_start) do update set used = {set_used}, updated_at = excluded.updated_at
         returning account_id, metric, period_start, used",
        value_rows(dialect, count, 6, 1)
    );
    let mut query = sqlx::query(&sql);
    let mut metrics = Vec::with_capacity(count);
    for ((account_id, metric, period_start), period_end, units) in rows {
        metrics.push(*metric);
        query = query.bind(account_id).bind(*metric).bind(*period_start).bind(period_end).bind(units).bind(now);
    }
    let returned = query.fetch_all(tx.conn()).await?;
    returned
        .iter()
        .map(|r| {
            let metric: String = r.try_get("metric")?;
            // The returned metric as the caller's static name (it is one of them).
            let metric = metrics.iter().copied().find(|m| *m == metric).ok_or_else(|| sqlx::Error::ColumnDecode {
                index: "metric".into(),
                source: "a counter the statement did not name".into(),
            })?;
            Ok(((r.try_get("account_id")?, metric, r.try_get("period_start")?), r.try_get("used")?))
        })
        .collect()
}

/// Deletes the usage rows `ids` (events the group commit inserted, then did not accept).
pub async fn delete_rows(tx: &mut WriteTx, dialect: Dialect, ids: &[&str]) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!("delete from billing_usage where id in ({})", param_list(dialect, 1, ids.len()));
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(*id);
    }
    query.execute(tx.conn()).await.map(|_| ())
}
