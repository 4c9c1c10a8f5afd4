//! `billing_charge` rows: seed 004's usage log of feature charges, with how each was covered.

use super::WriteTx;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

/// One charge as stored. Amounts in micro-minor units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChargeRow {
    pub id: String,
    pub account_id: String,
    pub user_id: String,
    pub feature: String,
    pub units: i64,
    pub from_included: i64,
    pub charged_units: i64,
    pub charged_micros: i64,
    pub currency: String,
    pub balance_after_micros: i64,
    pub period_start: i64,
    pub event_id: Option<String>,
    pub extra_metadata: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str = "id, account_id, user_id, feature, units, from_included, charged_units, charged_micros,
    currency, balance_after_micros, period_start, event_id, extra_metadata, created_at";

fn from_row(row: &AnyRow) -> Result<ChargeRow, sqlx::Error> {
    Ok(ChargeRow {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        user_id: row.try_get("user_id")?,
        feature: row.try_get("feature")?,
        units: row.try_get("units")?,
        from_included: row.try_get("from_included")?,
        charged_units: row.try_get("charged_units")?,
        charged_micros: row.try_get("charged_micros")?,
        currency: row.try_get("currency")?,
        balance_after_micros: row.try_get("balance_after_micros")?,
        period_start: row.try_get("period_start")?,
        event_id: row.try_get("event_id")?,
        extra_metadata: row.try_get("extra_metadata")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Inserts a charge unless its `event_id` was charged before for the account; returns whether
/// it was inserted.
pub async fn insert(tx: &mut WriteTx, c: &ChargeRow) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "insert into billing_charge ({COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         on conflict (account_id, event_id) where event_id is not null do nothing"
    );
    let result = sqlx::query(&sql)
        .bind(&c.id)
        .bind(&c.account_id)
        .bind(&c.user_id)
        .bind(&c.feature)
        .bind(c.units)
        .bind(c.from_included)
        .bind(c.charged_units)
        .bind(c.charged_micros)
        .bind(&c.currency)
        .bind(c.balance_after_micros)
        .bind(c.period_start)
        .bind(&c.event_id)
        .bind(&c.extra_metadata)
        .bind(c.created_at)
        .execute(tx.conn())
        .await?;
    Ok(result.rows_affected() == 1)
}

/// The charge of `event_id` for the account, if there was one.
pub async fn find_by_event<'c, E: Executor<'c, Database = Any>>(
    db: E,
    account_id: &str,
    event_id: &str,
) -> Result<Option<ChargeRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from billing_charge where account_id = $1 and event_id = $2");
    let row = sqlx::query(&sql).bind(account_id).bind(event_id).fetch_optional(db).await?;
    row.as_ref().map(from_row).transpose()
}
