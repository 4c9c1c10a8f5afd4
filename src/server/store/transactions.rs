//! `billing_transaction` rows: payments, renewals, top-ups and refunds.

use crate::model::Transaction;
use crate::model::money::decimal_from_minor;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

fn from_row(row: &AnyRow) -> Result<Transaction, sqlx::Error> {
    let amount: i64 = row.try_get("amount")?;
    let currency: String = row.try_get("currency")?;
    Ok(Transaction {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        subscription_id: row.try_get("subscription_id")?,
        plan_id: row.try_get("plan_id")?,
        kind: row.try_get("kind")?,
        amount,
        amount_decimal: decimal_from_minor(amount),
        refunded_minor: row.try_get("refunded_minor")?,
        currency: currency.parse().map_err(|e: crate::model::MoneyError| sqlx::Error::ColumnDecode {
            index: "currency".into(),
            source: e.into(),
        })?,
        status: row.try_get("status")?,
        yookassa_payment_id: row.try_get("yookassa_payment_id")?,
        yookassa_status: row.try_get("yookassa_status")?,
        cancellation_reason: row.try_get("cancellation_reason")?,
        description: row.try_get("description")?,
        description_ru: row.try_get("description_ru")?,
        receipt_url: row.try_get("receipt_url")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const COLUMNS: &str = "id, user_id, subscription_id, plan_id, kind, amount, refunded_minor, currency, status,
    yookassa_payment_id, yookassa_status, cancellation_reason, description, description_ru, receipt_url, created_at, updated_at";

/// A page of the account's transactions, newest first, and the total count.
pub async fn list_for_account<'c, E>(
    db: E,
    account_id: &str,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Transaction>, i64), sqlx::Error>
where
    E: Executor<'c, Database = Any> + Copy,
{
    let total: i64 = sqlx::query_scalar("select count(*) from billing_transaction where account_id = $1")
        .bind(account_id)
        .fetch_one(db)
        .await?;
    let rows = sqlx::query(&format!(
        "select {COLUMNS} from billing_transaction where account_id = $1 order by created_at desc, id desc limit $2 offset $3"
    ))
    .bind(account_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok((items, total))
}
