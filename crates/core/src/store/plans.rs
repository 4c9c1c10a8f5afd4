//! `billing_plan` rows. Plans keep the spec's ids (`free`, `pro`, ...).

use super::{WriteTx, get_bool, get_json, to_json};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};
use tariff_model::{Plan, money::decimal_from_minor};

const COLUMNS: &str = r#"id, name, name_ru, description, description_ru, price_minor, currency, "interval",
    quotas, features, is_active, display_order, plan_extra_metadata, trial_days, overage, created_at, updated_at,
    feature_limits, discount_percent"#;

fn from_row(row: &AnyRow) -> Result<Plan, sqlx::Error> {
    let decode = |column: &str, e: String| sqlx::Error::ColumnDecode { index: column.to_owned(), source: e.into() };
    let price_minor: i64 = row.try_get("price_minor")?;
    let currency: String = row.try_get("currency")?;
    let interval: String = row.try_get("interval")?;
    Ok(Plan {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        name_ru: row.try_get("name_ru")?,
        description: row.try_get("description")?,
        description_ru: row.try_get("description_ru")?,
        price: decimal_from_minor(price_minor),
        price_minor,
        currency: currency.parse().map_err(|e: tariff_model::MoneyError| decode("currency", e.to_string()))?,
        interval: interval
            .parse()
            .map_err(|e: tariff_model::plan::UnknownInterval| decode("interval", e.to_string()))?,
        quotas: get_json(row, "quotas")?,
        features: get_json(row, "features")?.unwrap_or_default(),
        is_active: get_bool(row, "is_active")?,
        display_order: row.try_get("display_order")?,
        plan_extra_metadata: get_json(row, "plan_extra_metadata")?,
        trial_days: row.try_get("trial_days")?,
        overage: get_json(row, "overage")?,
        feature_limits: get_json(row, "feature_limits")?,
        discount_percent: row.try_get("discount_percent")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// All plans, or only the active ones, ordered by `display_order` then id.
pub async fn list<'c, E: Executor<'c, Database = Any>>(db: E, active_only: bool) -> Result<Vec<Plan>, sqlx::Error> {
    let rows = if active_only {
        let sql = format!("select {COLUMNS} from billing_plan where is_active = $1 order by display_order, id");
        sqlx::query(&sql).bind(true).fetch_all(db).await?
    } else {
        let sql = format!("select {COLUMNS} from billing_plan order by display_order, id");
        sqlx::query(&sql).fetch_all(db).await?
    };
    rows.iter().map(from_row).collect()
}

/// One plan by id, active or not.
pub async fn get<'c, E: Executor<'c, Database = Any>>(db: E, id: &str) -> Result<Option<Plan>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from billing_plan where id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(db).await?;
    row.as_ref().map(from_row).transpose()
}

/// How many plans exist, active or not.
pub async fn count<'c, E: Executor<'c, Database = Any>>(db: E) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from billing_plan").fetch_one(db).await
}

/// Inserts `plan` unless a plan with its id exists. Returns whether a row was inserted.
pub async fn insert_if_absent(tx: &mut WriteTx, plan: &Plan) -> Result<bool, sqlx::Error> {
    tx.plans_changed();
    let sql = format!(
        "insert into billing_plan ({COLUMNS})
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
         on conflict (id) do nothing"
    );
    let result = sqlx::query(&sql)
        .bind(&plan.id)
        .bind(&plan.name)
        .bind(&plan.name_ru)
        .bind(&plan.description)
        .bind(&plan.description_ru)
        .bind(plan.price_minor)
        .bind(plan.currency.code())
        .bind(plan.interval.as_str())
        .bind(plan.quotas.as_ref().map(to_json))
        .bind(to_json(&plan.features))
        .bind(plan.is_active)
        .bind(plan.display_order)
        .bind(plan.plan_extra_metadata.as_ref().map(to_json))
        .bind(plan.trial_days)
        .bind(plan.overage.as_ref().map(to_json))
        .bind(plan.created_at)
        .bind(plan.updated_at)
        .bind(plan.feature_limits.as_ref().map(to_json))
        .bind(plan.discount_percent)
        .execute(tx.conn())
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Overwrites every field of the plan with id `plan.id` except `created_at`.
/// Returns whether a row was updated.
pub async fn update(tx: &mut WriteTx, plan: &Plan) -> Result<bool, sqlx::Error> {
    tx.plans_changed();
    let result = sqlx::query(
        r#"update billing_plan set name = $2, name_ru = $3, description = $4, description_ru = $5,
               price_minor = $6, currency = $7, "interval" = $8, quotas = $9, features = $10,
               is_active = $11, display_order = $12, plan_extra_metadata = $13, trial_days = $14,
               overage = $15, updated_at = $16, feature_limits = $17, discount_percent = $18
           where id = $1"#,
    )
    .bind(&plan.id)
    .bind(&plan.name)
    .bind(&plan.name_ru)
    .bind(&plan.description)
    .bind(&plan.description_ru)
    .bind(plan.price_minor)
    .bind(plan.currency.code())
    .bind(plan.interval.as_str())
    .bind(plan.quotas.as_ref().map(to_json))
    .bind(to_json(&plan.features))
    .bind(plan.is_active)
    .bind(plan.display_order)
    .bind(plan.plan_extra_metadata.as_ref().map(to_json))
    .bind(plan.trial_days)
    .bind(plan.overage.as_ref().map(to_json))
    .bind(plan.updated_at)
    .bind(plan.feature_limits.as_ref().map(to_json))
    .bind(plan.discount_percent)
    .execute(tx.conn())
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes a plan. Returns whether a row was deleted.
pub async fn delete(tx: &mut WriteTx, id: &str) -> Result<bool, sqlx::Error> {
    tx.plans_changed();
    let result = sqlx::query("delete from billing_plan where id = $1").bind(id).execute(tx.conn()).await?;
    Ok(result.rows_affected() == 1)
}

/// How many subscriptions are on this plan or have a change to it scheduled (they keep it from
/// being deleted).
pub async fn count_subscriptions_naming<'c, E: Executor<'c, Database = Any>>(
    db: E,
    id: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from billing_subscription where plan_id = $1 or pending_plan_id = $1")
        .bind(id)
        .fetch_one(db)
        .await
}

/// How many trials were taken on this plan (they keep it from being deleted).
pub async fn count_trials<'c, E: Executor<'c, Database = Any>>(db: E, id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from billing_trial where plan_id = $1").bind(id).fetch_one(db).await
}

/// How many transactions name this plan (they keep it from being deleted).
pub async fn count_transactions<'c, E: Executor<'c, Database = Any>>(db: E, id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from billing_transaction where plan_id = $1").bind(id).fetch_one(db).await
}

/// A plan's quotas and overage prices (JSON text), its pay-as-you-go discount and when it last
/// changed: what quota decisions need of it.
#[derive(Clone, Debug)]
pub struct LimitsRow {
    pub quotas: Option<String>,
    pub overage: Option<String>,
    pub discount_percent: i64,
    pub updated_at: i64,
}

/// The [`LimitsRow`] of plan `id`.
pub async fn limits<'c, E: Executor<'c, Database = Any>>(db: E, id: &str) -> Result<Option<LimitsRow>, sqlx::Error> {
    let row = sqlx::query("select quotas, overage, discount_percent, updated_at from billing_plan where id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.map(|r| {
        Ok(LimitsRow {
            quotas: r.try_get("quotas")?,
            overage: r.try_get("overage")?,
            discount_percent: r.try_get("discount_percent")?,
            updated_at: r.try_get("updated_at")?,
        })
    })
    .transpose()
}
