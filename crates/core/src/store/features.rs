//! `billing_feature` rows: seed 004's priced features, keyed by their stable `name`.

use super::{WriteTx, get_bool, get_enum};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};
use tariff_model::{Feature, money::decimal_from_minor};

const COLUMNS: &str = "name, title, title_ru, description, description_ru, unit_price_minor, per_units, currency,
    access, is_active, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<Feature, sqlx::Error> {
    let unit_price_minor: i64 = row.try_get("unit_price_minor")?;
    let currency: String = row.try_get("currency")?;
    Ok(Feature {
        name: row.try_get("name")?,
        title: row.try_get("title")?,
        title_ru: row.try_get("title_ru")?,
        description: row.try_get("description")?,
        description_ru: row.try_get("description_ru")?,
        unit_price: decimal_from_minor(unit_price_minor),
        unit_price_minor,
        per_units: row.try_get("per_units")?,
        currency: currency.parse().map_err(|e: tariff_model::MoneyError| sqlx::Error::ColumnDecode {
            index: "currency".into(),
            source: e.to_string().into(),
        })?,
        access: get_enum(row, "access")?,
        is_active: get_bool(row, "is_active")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Every feature (or only the active ones), by name.
pub async fn list<'c, E: Executor<'c, Database = Any>>(db: E, active_only: bool) -> Result<Vec<Feature>, sqlx::Error> {
    let rows = if active_only {
        let sql = format!("select {COLUMNS} from billing_feature where is_active = $1 order by name");
        sqlx::query(&sql).bind(true).fetch_all(db).await?
    } else {
        let sql = format!("select {COLUMNS} from billing_feature order by name");
        sqlx::query(&sql).fetch_all(db).await?
    };
    rows.iter().map(from_row).collect()
}

/// One feature by name, active or not.
pub async fn get<'c, E: Executor<'c, Database = Any>>(db: E, name: &str) -> Result<Option<Feature>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from billing_feature where name = $1");
    let row = sqlx::query(&sql).bind(name).fetch_optional(db).await?;
    row.as_ref().map(from_row).transpose()
}

/// Inserts `feature` unless one with its name exists; returns whether it was inserted.
pub async fn insert_if_absent(tx: &mut WriteTx, f: &Feature) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "insert into billing_feature ({COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         on conflict (name) do nothing"
    );
    let result = sqlx::query(&sql)
        .bind(&f.name)
        .bind(&f.title)
        .bind(&f.title_ru)
        .bind(&f.description)
        .bind(&f.description_ru)
        .bind(f.unit_price_minor)
        .bind(f.per_units)
        .bind(f.currency.code())
        .bind(f.access.as_str())
        .bind(f.is_active)
        .bind(f.created_at)
        .bind(f.updated_at)
        .execute(tx.conn())
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Overwrites every field of the feature named `f.name` except `created_at`.
pub async fn update(tx: &mut WriteTx, f: &Feature) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "update billing_feature set title = $2, title_ru = $3, description = $4, description_ru = $5,
             unit_price_minor = $6, per_units = $7, currency = $8, access = $9, is_active = $10, updated_at = $11
         where name = $1",
    )
    .bind(&f.name)
    .bind(&f.title)
    .bind(&f.title_ru)
    .bind(&f.description)
    .bind(&f.description_ru)
    .bind(f.unit_price_minor)
    .bind(f.per_units)
    .bind(f.currency.code())
    .bind(f.access.as_str())
    .bind(f.is_active)
    .bind(f.updated_at)
    .execute(tx.conn())
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes a feature; returns whether a row was deleted.
pub async fn delete(tx: &mut WriteTx, name: &str) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("delete from billing_feature where name = $1").bind(name).execute(tx.conn()).await?;
    Ok(result.rows_affected() == 1)
}
