//! `billing_usage_reservation` (holds of usage) and the holds' share of `billing_usage_counter`
//! (`reserved`, a part of `used`).

use super::{WriteTx, get_enum};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};
use tariff_model::Metric;
use tariff_model::usage::ReservationStatus;

/// A reservation as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReservationRow {
    pub id: String,
    pub account_id: String,
    pub user_id: String,
    pub subscription_id: Option<String>,
    pub metric: Metric,
    pub amount: i64,
    pub period_start: i64,
    pub period_end: i64,
    pub held_micros: i64,
    pub status: ReservationStatus,
    pub expires_at: i64,
    pub committed_amount: Option<i64>,
    pub usage_id: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str = "id, account_id, user_id, subscription_id, metric, amount, period_start, period_end, held_micros,
    status, expires_at, committed_amount, usage_id, created_at";

fn from_row(r: &AnyRow) -> Result<ReservationRow, sqlx::Error> {
    Ok(ReservationRow {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        user_id: r.try_get("user_id")?,
        subscription_id: r.try_get("subscription_id")?,
        metric: {
            let text: String = r.try_get("metric")?;
            text.parse().map_err(|e: tariff_model::plan::UnknownMetric| sqlx::Error::ColumnDecode {
                index: "metric".into(),
                source: e.into(),
            })?
        },
        amount: r.try_get("amount")?,
        period_start: r.try_get("period_start")?,
        period_end: r.try_get("period_end")?,
        held_micros: r.try_get("held_micros")?,
        status: get_enum(r, "status")?,
        expires_at: r.try_get("expires_at")?,
        committed_amount: r.try_get("committed_amount")?,
        usage_id: r.try_get("usage_id")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Holds `amount` units of the counter `(account_id, metric, period_start)` (creating it) if
/// `used + amount` stays within `limit`: `used` and `reserved` grow together, in one
/// conditional upsert (the same atomic rule as a consume). Returns the new `used`, or `None`
/// when it would pass the limit.
#[allow(clippy::too_many_arguments)]
pub async fn hold(
    tx: &mut WriteTx,
    account_id: &str,
    metric: &str,
    period_start: i64,
    period_end: i64,
    amount: i64,
    limit: i64,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "insert into billing_usage_counter (account_id, metric, period_start, period_end, used, reserved, updated_at)
         select $1, $2, $3, $4, $5, $5, $6 where $5 <= $7
         on conflict (account_id, metric, period_start) do update
             set used = billing_usage_counter.used + excluded.used,
                 reserved = billing_usage_counter.reserved + excluded.reserved,
                 updated_at = excluded.updated_at
             where billing_usage_counter.used + excluded.used <= $7
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

/// Locks the counter `(account_id, metric, period_start)` until the transaction ends, on
/// PostgreSQL (SQLite's writer holds the whole database): taken before the reservation's row, so
/// that every reservation write locks a counter first and then the rows of its account (a hold
/// locks the counter with its upsert), and two groups' writes never wait for each other in a
/// cycle.
pub async fn lock_counter(
    tx: &mut WriteTx,
    account_id: &str,
    metric: Metric,
    period_start: i64,
) -> Result<(), sqlx::Error> {
    if tx.dialect() == super::Dialect::Postgres {
        sqlx::query(
            "select 1 from billing_usage_counter where account_id = $1 and metric = $2 and period_start = $3 for update",
        )
        .bind(account_id)
        .bind(metric.as_str())
        .bind(period_start)
        .fetch_optional(tx.conn())
        .await?;
    }
    Ok(())
}

/// Gives back a hold of `amount` units of the counter (both `used` and `reserved` shrink).
/// Returns whether the counter held that much.
pub async fn unhold(
    tx: &mut WriteTx,
    account_id: &str,
    metric: Metric,
    period_start: i64,
    amount: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update billing_usage_counter set used = used - $4, reserved = reserved - $4, updated_at = $5
         where account_id = $1 and metric = $2 and period_start = $3 and reserved >= $4 and used >= $4",
    )
    .bind(account_id)
    .bind(metric.as_str())
    .bind(period_start)
    .bind(amount)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores a new reservation.
pub async fn insert(tx: &mut WriteTx, r: &ReservationRow, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into billing_usage_reservation (id, account_id, user_id, subscription_id, metric, amount, period_start,
             period_end, held_micros, status, expires_at, committed_amount, usage_id, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&r.id)
    .bind(&r.account_id)
    .bind(&r.user_id)
    .bind(&r.subscription_id)
    .bind(r.metric.as_str())
    .bind(r.amount)
    .bind(r.period_start)
    .bind(r.period_end)
    .bind(r.held_micros)
    .bind(r.status.as_str())
    .bind(r.expires_at)
    .bind(r.committed_amount)
    .bind(&r.usage_id)
    .bind(r.created_at)
    .bind(now)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

/// The reservation `id`.
pub async fn get<'c, E: Executor<'c, Database = Any>>(db: E, id: &str) -> Result<Option<ReservationRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from billing_usage_reservation where id = $1");
    sqlx::query(&sql).bind(id).fetch_optional(db).await?.as_ref().map(from_row).transpose()
}

/// Moves reservation `id` from `held` to `to`, recording what a commit used. Returns whether
/// it moved: one conditional update, so a hold is given back or committed once however many
/// callers (and expiry sweepers in several replicas) race.
pub async fn finish(
    tx: &mut WriteTx,
    id: &str,
    to: ReservationStatus,
    committed: Option<(i64, &str)>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update billing_usage_reservation set status = $2, committed_amount = $3, usage_id = $4, updated_at = $5
         where id = $1 and status = $6",
    )
    .bind(id)
    .bind(to.as_str())
    .bind(committed.map(|(amount, _)| amount))
    .bind(committed.map(|(_, usage_id)| usage_id))
    .bind(now)
    .bind(ReservationStatus::Held.as_str())
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Up to `limit` held reservations whose time ran out by `now`, oldest first.
pub async fn due<'c, E: Executor<'c, Database = Any>>(
    db: E,
    now: i64,
    limit: i64,
) -> Result<Vec<ReservationRow>, sqlx::Error> {
    let sql = format!(
        "select {COLUMNS} from billing_usage_reservation where status = $1 and expires_at <= $2
         order by expires_at limit $3"
    );
    let rows = sqlx::query(&sql).bind(ReservationStatus::Held.as_str()).bind(now).bind(limit).fetch_all(db).await?;
    rows.iter().map(from_row).collect()
}
