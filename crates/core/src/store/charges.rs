//! `billing_charge` rows: seed 004's usage log of feature charges, with how each was covered.

use super::{Dialect, WriteTx};
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

/// The stored charges of `(account_id, event_id)` pairs, in one statement (the group commit's
/// check for repeated `event_id`s, see `balance::group`).
pub async fn find_events(
    tx: &mut WriteTx,
    dialect: Dialect,
    pairs: &[(&str, &str)],
) -> Result<Vec<ChargeRow>, sqlx::Error> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let document: Vec<serde_json::Value> = pairs
        .iter()
        .map(|(account_id, event_id)| serde_json::json!({"account_id": account_id, "event_id": event_id}))
        .collect();
    let keys = super::usage::json_rows(dialect, &[("account_id", "text"), ("event_id", "text")]);
    let sql = format!("select {COLUMNS} from billing_charge where (account_id, event_id) in ({keys})");
    let rows = sqlx::query(&sql).bind(serde_json::Value::Array(document).to_string()).fetch_all(tx.conn()).await?;
    rows.iter().map(from_row).collect()
}

/// Inserts a group's charges in one statement; a charge whose `event_id` was charged before for
/// its account is skipped. Returns the ids of the charges inserted.
pub async fn insert_group(tx: &mut WriteTx, dialect: Dialect, rows: &[ChargeRow]) -> Result<Vec<String>, sqlx::Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let document: Vec<serde_json::Value> = rows
        .iter()
        .map(|c| {
            serde_json::json!({
                "id": c.id, "account_id": c.account_id, "user_id": c.user_id, "feature": c.feature,
                "units": c.units, "from_included": c.from_included, "charged_units": c.charged_units,
                "charged_micros": c.charged_micros, "currency": c.currency,
                "balance_after_micros": c.balance_after_micros, "period_start": c.period_start,
                "event_id": c.event_id, "extra_metadata": c.extra_metadata, "created_at": c.created_at,
            })
        })
        .collect();
    let select = super::usage::json_rows(
        dialect,
        &[
            ("id", "text"),
            ("account_id", "text"),
            ("user_id", "text"),
            ("feature", "text"),
            ("units", "bigint"),
            ("from_included", "bigint"),
            ("charged_units", "bigint"),
            ("charged_micros", "bigint"),
            ("currency", "text"),
            ("balance_after_micros", "bigint"),
            ("period_start", "bigint"),
            ("event_id", "text"),
            ("extra_metadata", "text"),
            ("created_at", "bigint"),
        ],
    );
    let sql = format!(
        "insert into billing_charge ({COLUMNS}) {select}
         on conflict (account_id, event_id) where event_id is not null do nothing returning id"
    );
    let returned = sqlx::query(&sql).bind(serde_json::Value::Array(document).to_string()).fetch_all(tx.conn()).await?;
    returned.iter().map(|row| row.try_get::<String, _>("id")).collect()
}

/// Filters of [`history`]: `metric` keeps that metric's events, `feature` that feature's charges
/// (both: both; neither: everything); `[from, to)` bounds `created_at`.
#[derive(Clone, Debug, Default)]
pub struct HistoryFilter<'a> {
    pub metric: Option<&'a str>,
    pub feature: Option<&'a str>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// One row of [`history`]: `kind` is `metric` or `feature`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryRow {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub units: i64,
    pub from_included: i64,
    pub charged_micros: i64,
    pub event_id: Option<String>,
    pub created_at: i64,
}

/// The account's metric events and feature charges, newest first, and how many match.
pub async fn history<'c, E: Executor<'c, Database = Any> + Copy>(
    db: E,
    account_id: &str,
    filter: &HistoryFilter<'_>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<HistoryRow>, i64), sqlx::Error> {
    // Which sides take part: a filter on one side only leaves the other out.
    let metrics = filter.metric.is_some() || filter.feature.is_none();
    let features = filter.feature.is_some() || filter.metric.is_none();
    let mut binds: Vec<Value> = vec![Value::Text(account_id.to_owned())];
    let mut bind = |v: Value| {
        binds.push(v);
        format!("${}", binds.len())
    };
    let mut parts = Vec::new();
    let time = |bind: &mut dyn FnMut(Value) -> String| {
        let mut sql = String::new();
        if let Some(from) = filter.from {
            sql.push_str(&format!(" and created_at >= {}", bind(Value::Int(from))));
        }
        if let Some(to) = filter.to {
            sql.push_str(&format!(" and created_at < {}", bind(Value::Int(to))));
        }
        sql
    };
    if metrics {
        let mut sql = "select id, 'metric' as kind, metric as name, amount as units, cast(0 as bigint) as from_included, charged_micros,
                event_id, created_at from billing_usage where account_id = $1"
            .to_owned();
        if let Some(metric) = filter.metric {
            sql.push_str(&format!(" and metric = {}", bind(Value::Text(metric.to_owned()))));
        }
        sql.push_str(&time(&mut bind));
        parts.push(sql);
    }
    if features {
        let mut sql = "select id, 'feature' as kind, feature as name, units, from_included, charged_micros,
                event_id, created_at from billing_charge where account_id = $1"
            .to_owned();
        if let Some(feature) = filter.feature {
            sql.push_str(&format!(" and feature = {}", bind(Value::Text(feature.to_owned()))));
        }
        sql.push_str(&time(&mut bind));
        parts.push(sql);
    }
    let union = parts.join(" union all ");
    let limit_at = binds.len() + 1;
    let list_sql = format!(
        "select id, kind, name, units, from_included, charged_micros, event_id, created_at from ({union}) h
         order by created_at desc, id desc limit ${limit_at} offset ${}",
        limit_at + 1
    );
    let count_sql = format!("select count(*) from ({union}) h");
    let mut list = sqlx::query(&list_sql);
    let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
    for v in &binds {
        list = v.bind_to(list);
        count = match v {
            Value::Text(t) => count.bind(t.clone()),
            Value::Int(i) => count.bind(*i),
        };
    }
    let rows = list.bind(limit).bind(offset).fetch_all(db).await?;
    let total = count.fetch_one(db).await?;
    let items = rows
        .iter()
        .map(|row| {
            Ok(HistoryRow {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                name: row.try_get("name")?,
                units: row.try_get("units")?,
                from_included: row.try_get("from_included")?,
                charged_micros: row.try_get("charged_micros")?,
                event_id: row.try_get("event_id")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok((items, total))
}

/// A bound value of a query built at run time.
enum Value {
    Text(String),
    Int(i64),
}

impl Value {
    fn bind_to<'q>(
        &self,
        query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
        match self {
            Value::Text(t) => query.bind(t.clone()),
            Value::Int(i) => query.bind(*i),
        }
    }
}
