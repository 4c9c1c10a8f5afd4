//! `billing_mrr_movement` rows: every change of an account's MRR, in order per account (`seq`).

use super::WriteTx;
use sqlx::{Any, Executor, Row};
use tariff_model::{Interval, SubscriptionStatus};

/// What an account pays per interval now: its live subscription's plan when that subscription
/// pays (`active` or `past_due`).
#[derive(Clone, Debug)]
pub struct PayingPlan {
    pub subscription_id: String,
    pub plan_id: String,
    pub price_minor: i64,
    pub interval: Interval,
    pub currency: String,
}

/// The account's paying subscription and its plan, if it has one.
pub async fn paying_plan(tx: &mut WriteTx, account_id: &str) -> Result<Option<PayingPlan>, sqlx::Error> {
    let row = sqlx::query(
        r#"select s.id, s.plan_id, p.price_minor, p."interval" as plan_interval, p.currency
         from billing_subscription s join billing_plan p on p.id = s.plan_id
         where s.account_id = $1 and s.status in ($2, $3)"#,
    )
    .bind(account_id)
    .bind(SubscriptionStatus::Active.as_str())
    .bind(SubscriptionStatus::PastDue.as_str())
    .fetch_optional(tx.conn())
    .await?;
    row.map(|r| {
        Ok(PayingPlan {
            subscription_id: r.try_get("id")?,
            plan_id: r.try_get("plan_id")?,
            price_minor: r.try_get("price_minor")?,
            interval: {
                let text: String = r.try_get("plan_interval")?;
                text.parse().map_err(|e: tariff_model::plan::UnknownInterval| sqlx::Error::ColumnDecode {
                    index: "plan_interval".into(),
                    source: e.to_string().into(),
                })?
            },
            currency: r.try_get("currency")?,
        })
    })
    .transpose()
}

/// The account's last movement: its `seq`, currency and MRR after it.
pub async fn last(tx: &mut WriteTx, account_id: &str) -> Result<Option<(i64, String, i64)>, sqlx::Error> {
    let row = sqlx::query(
        "select seq, currency, mrr_after from billing_mrr_movement where account_id = $1 order by seq desc limit 1",
    )
    .bind(account_id)
    .fetch_optional(tx.conn())
    .await?;
    row.map(|r| Ok((r.try_get("seq")?, r.try_get("currency")?, r.try_get("mrr_after")?))).transpose()
}

/// A movement to store.
#[derive(Clone, Debug)]
pub struct NewMovement<'a> {
    pub account_id: &'a str,
    pub seq: i64,
    pub subscription_id: Option<&'a str>,
    pub plan_id: Option<&'a str>,
    pub kind: &'a str,
    pub currency: &'a str,
    pub mrr_before: i64,
    pub mrr_after: i64,
    pub created_at: i64,
}

pub async fn insert(tx: &mut WriteTx, m: &NewMovement<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into billing_mrr_movement (id, account_id, seq, subscription_id, plan_id, kind, currency, mrr_before,
             mrr_after, amount, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(m.account_id)
    .bind(m.seq)
    .bind(m.subscription_id)
    .bind(m.plan_id)
    .bind(m.kind)
    .bind(m.currency)
    .bind(m.mrr_before)
    .bind(m.mrr_after)
    .bind(m.mrr_after - m.mrr_before)
    .bind(m.created_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Whether any movement was ever recorded.
pub async fn any<'c, E: Executor<'c, Database = Any>>(db: E) -> Result<bool, sqlx::Error> {
    let n: i64 =
        sqlx::query_scalar("select count(*) from (select 1 from billing_mrr_movement limit 1) t").fetch_one(db).await?;
    Ok(n > 0)
}

/// Accounts with a paying subscription, and when that subscription was created (for the
/// one-time backfill of the movements that existed before they were recorded).
pub async fn paying_accounts<'c, E: Executor<'c, Database = Any>>(db: E) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query("select account_id, created_at from billing_subscription where status in ($1, $2)")
        .bind(SubscriptionStatus::Active.as_str())
        .bind(SubscriptionStatus::PastDue.as_str())
        .fetch_all(db)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("account_id")?, r.try_get("created_at")?))).collect()
}

/// MRR by currency from every movement before `before` (the sum of their amounts).
pub async fn mrr_before<'c, E: Executor<'c, Database = Any>>(
    db: E,
    before: i64,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "select currency, cast(coalesce(sum(amount), 0) as bigint) as mrr from billing_mrr_movement
         where created_at < $1 group by currency order by currency",
    )
    .bind(before)
    .fetch_all(db)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("currency")?, r.try_get("mrr")?))).collect()
}

/// Movements in `[from, to)`: currency, kind, time and amount, oldest first.
pub async fn sums_in<'c, E: Executor<'c, Database = Any>>(
    db: E,
    from: i64,
    to: i64,
) -> Result<Vec<(String, String, i64, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "select currency, kind, created_at, amount from billing_mrr_movement
         where created_at >= $1 and created_at < $2 order by created_at",
    )
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("currency")?, r.try_get("kind")?, r.try_get("created_at")?, r.try_get("amount")?)))
        .collect()
}
