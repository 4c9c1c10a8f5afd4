//! `billing_usage` (one row per event) and `billing_usage_counter` (the O(1) quota state per
//! account, metric and period).

use super::{Dialect, WriteTx, get_enum};
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

/// An account's live subscription period, its plan's id and version (`updated_at`, whose
/// parsed limits the core caches) and the counter of one metric in that period, read in one
/// statement (the hot path of quota checks).
#[derive(Clone, Debug)]
pub struct Standing {
    pub subscription_id: String,
    pub status: SubscriptionStatus,
    pub current_period_start: i64,
    pub current_period_end: i64,
    pub plan_id: String,
    pub plan_updated_at: i64,
    pub used: Option<i64>,
}

impl Standing {
    /// Reads a row with the columns `subscription_id`, `status`, `current_period_start`,
    /// `current_period_end`, `plan_id`, `plan_updated_at`, and `used` when `with_used` (the
    /// group's reads have no counter column; their `used` is `None`).
    fn from_row(r: &sqlx::any::AnyRow, with_used: bool) -> Result<Standing, sqlx::Error> {
        Ok(Standing {
            subscription_id: r.try_get("subscription_id")?,
            status: get_enum(r, "status")?,
            current_period_start: r.try_get("current_period_start")?,
            current_period_end: r.try_get("current_period_end")?,
            plan_id: r.try_get("plan_id")?,
            plan_updated_at: r.try_get("plan_updated_at")?,
            used: if with_used { r.try_get("used")? } else { None },
        })
    }
}

/// The [`Standing`] of `account_id` on `metric`, if the account has a live subscription.
pub async fn standing<'c, E: Executor<'c, Database = Any>>(
    db: E,
    account_id: &str,
    metric: &str,
) -> Result<Option<Standing>, sqlx::Error> {
    let sql = format!(
        "select s.id as subscription_id, s.status, s.current_period_start, s.current_period_end, s.plan_id,
                p.updated_at as plan_updated_at, c.used
         from billing_subscription s
         join billing_plan p on p.id = s.plan_id
         left join billing_usage_counter c
             on c.account_id = s.account_id and c.metric = $2 and c.period_start = s.current_period_start
         where s.account_id = $1 and s.status in ({})",
        super::live_statuses()
    );
    let row = sqlx::query(&sql).bind(account_id).bind(metric).fetch_optional(db).await?;
    row.map(|r| Standing::from_row(&r, true)).transpose()
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

// The group commit's statements (see `usage::group`) bind their rows as one JSON document, so
// each has one fixed text whatever the group's size: the databases prepare and plan it once
// per connection instead of once per group size (PostgreSQL's `jsonb_to_recordset`, SQLite's
// `json_each`; the rows come back in the document's order, which keeps lock order sorted).

/// `select <columns> from <the JSON array of objects bound first>` in `dialect`, with the
/// columns and their types (`text` or `bigint`). Parameters are numbered (`$1`, `?1`) so that
/// others may come before it in the text.
pub(super) fn json_rows(dialect: Dialect, columns: &[(&str, &str)]) -> String {
    match dialect {
        Dialect::Postgres => {
            let names: Vec<String> = columns.iter().map(|(name, _)| format!("r.{name}")).collect();
            let types: Vec<String> = columns.iter().map(|(name, ty)| format!("{name} {ty}")).collect();
            format!("select {} from jsonb_to_recordset($1::jsonb) as r({})", names.join(", "), types.join(", "))
        }
        Dialect::Sqlite => {
            let names: Vec<String> =
                columns.iter().map(|(name, _)| format!("json_extract(value, '$.{name}')")).collect();
            // `where true`: SQLite needs it between an INSERT's SELECT and its ON CONFLICT.
            format!("select {} from json_each(?1) where true", names.join(", "))
        }
    }
}

/// `(select <the JSON array of strings bound as $1>)`: the values of an `in` list.
pub(super) fn json_values(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "(select jsonb_array_elements_text($1::jsonb))",
        Dialect::Sqlite => "(select value from json_each(?1))",
    }
}

/// The group commit's first statement on PostgreSQL (see `usage::group`): reads the live
/// subscription and plan of each account of `rows`, as [`standings_of`] does, and in the same
/// statement inserts each row whose account's subscription is current at the row's `created_at`
/// (live, not paused, its period not ended), taking `subscription_id`, `period_start` and
/// `period_end` from that subscription (the rows' own values of those fields are ignored). Rows
/// go in ordered by `(account_id, event_id)`, then as given: a row whose `(account_id, event_id)`
/// exists already, or came earlier in `rows`, is skipped, and two processes' groups that share
/// `event_id`s wait for each other in one order instead of deadlocking. Returns the standings by
/// account, the ids of the rows it tried to insert and of those it inserted. One round trip where
/// reading and then inserting took two.
pub async fn standings_and_insert(tx: &mut WriteTx, rows: &[NewUsage]) -> Result<StandingsAndInsert, sqlx::Error> {
    if rows.is_empty() {
        return Ok(StandingsAndInsert::default());
    }
    let document: Vec<serde_json::Value> = rows
        .iter()
        .enumerate()
        .map(|(ord, r)| {
            serde_json::json!({
                "ord": ord, "id": r.id, "user_id": r.user_id, "account_id": r.account_id, "metric": r.metric,
                "amount": r.amount, "model_id": r.model_id, "chat_id": r.chat_id, "event_id": r.event_id,
                "extra_metadata": r.extra_metadata, "created_at": r.created_at,
            })
        })
        .collect();
    let sql = format!(
        "with r as materialized (
             select * from jsonb_to_recordset($1::jsonb) as r(ord bigint, id text, user_id text, account_id text,
                 metric text, amount bigint, model_id text, chat_id text, event_id text, extra_metadata text,
                 created_at bigint)
         ),
         st as materialized (
             select s.account_id, s.id as subscription_id, s.status, s.current_period_start, s.current_period_end,
                    s.plan_id, p.updated_at as plan_updated_at
             from billing_subscription s join billing_plan p on p.id = s.plan_id
             where s.account_id in (select account_id from r) and s.status in ({live})
         ),
         el as materialized (
             select r.*, st.subscription_id, st.current_period_start, st.current_period_end
             from r join st on st.account_id = r.account_id
             where st.status <> 'paused' and st.current_period_end > r.created_at
         ),
         ins as (
             insert into billing_usage (id, user_id, account_id, subscription_id, metric, amount, period_start,
                 period_end, model_id, chat_id, event_id, extra_metadata, created_at)
             select id, user_id, account_id, subscription_id, metric, amount, current_period_start,
                    current_period_end, model_id, chat_id, event_id, extra_metadata, created_at
             from el
             order by account_id, event_id, ord
             on conflict do nothing returning id
         )
         select account_id, subscription_id, status, current_period_start, current_period_end, plan_id,
                plan_updated_at, cast(null as text) as eligible_id, cast(null as text) as inserted_id
         from st
         union all
         select null, null, null, null, null, null, null, id, null from el
         union all
         select null, null, null, null, null, null, null, null, id from ins",
        live = super::live_statuses()
    );
    let returned = sqlx::query(&sql).bind(serde_json::Value::Array(document).to_string()).fetch_all(tx.conn()).await?;
    let mut placed = StandingsAndInsert::default();
    for r in &returned {
        if let Some(id) = r.try_get::<Option<String>, _>("inserted_id")? {
            placed.inserted.push(id);
        } else if let Some(id) = r.try_get::<Option<String>, _>("eligible_id")? {
            placed.eligible.push(id);
        } else {
            placed.standings.push((r.try_get("account_id")?, Standing::from_row(r, false)?));
        }
    }
    Ok(placed)
}

/// What [`standings_and_insert`] read and wrote.
#[derive(Debug, Default)]
pub struct StandingsAndInsert {
    /// The live standing of each account that has one (`used` is `None`).
    pub standings: Vec<(String, Standing)>,
    /// The ids of the rows whose account's subscription is current at the row's time: those the
    /// statement tried to insert.
    pub eligible: Vec<String>,
    /// The ids of the rows inserted: the eligible ones without an `event_id` or whose
    /// `(account_id, event_id)` was new.
    pub inserted: Vec<String>,
}

/// The live subscription and plan of each of `account_ids` in one statement, as
/// [`Standing`]s without a counter (`used` is `None`), keyed by account. The group commit's
/// first read on SQLite (see `usage::group`; PostgreSQL reads them in
/// [`standings_and_insert`]).
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
                s.plan_id, p.updated_at as plan_updated_at
         from billing_subscription s join billing_plan p on p.id = s.plan_id
         where s.account_id in {} and s.status in ({})",
        json_values(dialect),
        super::live_statuses()
    );
    let rows = sqlx::query(&sql).bind(serde_json::json!(account_ids).to_string()).fetch_all(tx.conn()).await?;
    rows.iter().map(|r| Ok((r.try_get("account_id")?, Standing::from_row(r, false)?))).collect()
}

/// The counters of `keys` as a JSON document bound first: `[{account_id, metric, period_start,
/// period_end, used}]`.
fn counters_document<'a>(rows: impl Iterator<Item = (&'a str, &'a str, i64, i64, i64)>) -> String {
    let rows: Vec<serde_json::Value> = rows
        .map(|(account_id, metric, period_start, period_end, used)| {
            serde_json::json!({
                "account_id": account_id, "metric": metric, "period_start": period_start,
                "period_end": period_end, "used": used,
            })
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// `(account_id, metric, period_start) in <the counters of the document bound first>`.
fn counter_keys_of_document(dialect: Dialect, table: &str) -> String {
    match dialect {
        Dialect::Postgres => format!(
            "({table}.account_id, {table}.metric, {table}.period_start) in
                 (select r.account_id, r.metric, r.period_start
                  from jsonb_to_recordset($1::jsonb) as r(account_id text, metric text, period_start bigint))"
        ),
        Dialect::Sqlite => format!(
            "({table}.account_id, {table}.metric, {table}.period_start) in
                 (select json_extract(value, '$.account_id'), json_extract(value, '$.metric'),
                         json_extract(value, '$.period_start')
                  from json_each(?1))"
        ),
    }
}

/// A counter's key with the counter's name as stored (a metric, or `feature:<name>` for a
/// feature's included units): account, name and period start (Unix seconds).
pub type NamedCounterKey = (String, String, i64);

/// Decodes `(account_id, metric, period_start, used)` rows.
fn named_counter_rows(rows: &[sqlx::any::AnyRow]) -> Result<Vec<(NamedCounterKey, i64)>, sqlx::Error> {
    rows.iter()
        .map(|r| Ok(((r.try_get("account_id")?, r.try_get("metric")?, r.try_get("period_start")?), r.try_get("used")?)))
        .collect()
}

/// The named rows with each name as one of `metrics` (the names the statement was given).
fn with_metrics(
    rows: Vec<(NamedCounterKey, i64)>,
    metrics: &[&'static str],
) -> Result<Vec<(CounterKey, i64)>, sqlx::Error> {
    rows.into_iter()
        .map(|((account_id, name, period_start), used)| {
            let metric = metrics.iter().copied().find(|m| *m == name).ok_or_else(|| sqlx::Error::ColumnDecode {
                index: "metric".into(),
                source: "a counter the statement did not name".into(),
            })?;
            Ok(((account_id, metric, period_start), used))
        })
        .collect()
}

/// Reads the counters `keys` (with their periods' ends) and holds them until the transaction
/// ends — `select … for update` on PostgreSQL, in the keys' order; SQLite has one writer —
/// creating missing ones at 0 first. One statement when every counter exists (the usual case;
/// nothing is written), three when some are new. Returns each key's units used. `keys` must be
/// distinct and sorted.
pub async fn lock_counters(
    tx: &mut WriteTx,
    dialect: Dialect,
    keys: &[(CounterKey, i64)],
    now: i64,
) -> Result<Vec<(CounterKey, i64)>, sqlx::Error> {
    let metrics: Vec<&'static str> = keys.iter().map(|((_, metric, _), _)| *metric).collect();
    let named: Vec<(&str, &str, i64, i64)> = keys.iter().map(|((a, m, p), end)| (a.as_str(), *m, *p, *end)).collect();
    with_metrics(lock_named_counters(tx, dialect, &named, now).await?, &metrics)
}

/// [`lock_counters`] by the counters' names: `keys` are `(account_id, name, period_start,
/// period_end)`, distinct and sorted.
pub async fn lock_named_counters(
    tx: &mut WriteTx,
    dialect: Dialect,
    keys: &[(&str, &str, i64, i64)],
    now: i64,
) -> Result<Vec<(NamedCounterKey, i64)>, sqlx::Error> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let document = counters_document(keys.iter().map(|(a, m, p, end)| (*a, *m, *p, *end, 0)));
    let lock = if dialect == Dialect::Postgres { " order by account_id, metric, period_start for update" } else { "" };
    let select = format!(
        "select account_id, metric, period_start, used from billing_usage_counter where {}{lock}",
        counter_keys_of_document(dialect, "billing_usage_counter")
    );
    let found = named_counter_rows(&sqlx::query(&select).bind(&document).fetch_all(tx.conn()).await?)?;
    if found.len() == keys.len() {
        return Ok(found);
    }
    // Some counters are new this period: create them at 0, then read (and lock) them all.
    let insert = format!(
        "insert into billing_usage_counter (account_id, metric, period_start, period_end, used, updated_at)
         {} on conflict (account_id, metric, period_start) do nothing",
        json_rows_with(
            dialect,
            &[
                ("account_id", "text"),
                ("metric", "text"),
                ("period_start", "bigint"),
                ("period_end", "bigint"),
                ("used", "bigint")
            ]
        )
    );
    sqlx::query(&insert).bind(&document).bind(now).execute(tx.conn()).await?;
    named_counter_rows(&sqlx::query(&select).bind(&document).fetch_all(tx.conn()).await?)
}

/// Adds each `(key, units)` to its counter in one `update` and returns the new values. Used
/// under the locks of [`lock_counters`], after the additions were decided against the limits
/// (see `usage::group`).
pub async fn add_counts(
    tx: &mut WriteTx,
    dialect: Dialect,
    additions: &[(CounterKey, i64)],
    now: i64,
) -> Result<Vec<(CounterKey, i64)>, sqlx::Error> {
    let metrics: Vec<&'static str> = additions.iter().map(|((_, metric, _), _)| *metric).collect();
    let named: Vec<(&str, &str, i64, i64)> =
        additions.iter().map(|((a, m, p), units)| (a.as_str(), *m, *p, *units)).collect();
    with_metrics(add_named_counts(tx, dialect, &named, now).await?, &metrics)
}

/// [`add_counts`] by the counters' names: `additions` are `(account_id, name, period_start,
/// units)`.
pub async fn add_named_counts(
    tx: &mut WriteTx,
    dialect: Dialect,
    additions: &[(&str, &str, i64, i64)],
    now: i64,
) -> Result<Vec<(NamedCounterKey, i64)>, sqlx::Error> {
    if additions.is_empty() {
        return Ok(Vec::new());
    }
    let document = counters_document(additions.iter().map(|(a, m, p, units)| (*a, *m, *p, 0, *units)));
    let sql = match dialect {
        Dialect::Postgres => "update billing_usage_counter c set used = c.used + r.used, updated_at = $2
             from jsonb_to_recordset($1::jsonb) as r(account_id text, metric text, period_start bigint, used bigint)
             where c.account_id = r.account_id and c.metric = r.metric and c.period_start = r.period_start
             returning c.account_id, c.metric, c.period_start, c.used"
            .to_owned(),
        Dialect::Sqlite => {
            "update billing_usage_counter set used = billing_usage_counter.used + r.used, updated_at = ?2
             from (select json_extract(value, '$.account_id') as account_id, json_extract(value, '$.metric') as metric,
                          json_extract(value, '$.period_start') as period_start, json_extract(value, '$.used') as used
                   from json_each(?1)) as r
             where billing_usage_counter.account_id = r.account_id and billing_usage_counter.metric = r.metric
                   and billing_usage_counter.period_start = r.period_start
             returning billing_usage_counter.account_id, billing_usage_counter.metric,
                       billing_usage_counter.period_start, billing_usage_counter.used"
                .to_owned()
        }
    };
    named_counter_rows(&sqlx::query(&sql).bind(document).bind(now).fetch_all(tx.conn()).await?)
}

/// [`json_rows`] with one more column: the second bound parameter (`$2`, `?2`), after the
/// document's columns.
fn json_rows_with(dialect: Dialect, columns: &[(&str, &str)]) -> String {
    let select = json_rows(dialect, columns);
    match dialect {
        Dialect::Postgres => select.replacen(" from jsonb_to_recordset", ", $2 from jsonb_to_recordset", 1),
        Dialect::Sqlite => select.replacen(" from json_each", ", ?2 from json_each", 1),
    }
}

/// Deletes the usage rows `ids` (events the group commit inserted, then did not accept).
pub async fn delete_rows(tx: &mut WriteTx, dialect: Dialect, ids: &[&str]) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!("delete from billing_usage where id in {}", json_values(dialect));
    sqlx::query(&sql).bind(serde_json::json!(ids).to_string()).execute(tx.conn()).await.map(|_| ())
}
