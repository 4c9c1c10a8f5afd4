//! `billing_test_clock`: the sandbox's clock offset, shared by every process on the database.

use super::WriteTx;
use sqlx::{Any, Executor};

/// The stored offset in seconds (0 when never moved).
pub async fn offset<'c, E: Executor<'c, Database = Any>>(db: E) -> Result<i64, sqlx::Error> {
    let offset: Option<i64> =
        sqlx::query_scalar("select offset_seconds from billing_test_clock where id = 1").fetch_optional(db).await?;
    Ok(offset.unwrap_or(0))
}

/// Stores the offset, only forwards: returns the offset now stored (the larger of the two).
pub async fn set_forward(tx: &mut WriteTx, offset_seconds: i64, now: i64) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "insert into billing_test_clock (id, offset_seconds, updated_at) values (1, $1, $2)
         on conflict (id) do update set offset_seconds = excluded.offset_seconds, updated_at = excluded.updated_at
             where billing_test_clock.offset_seconds < excluded.offset_seconds",
    )
    .bind(offset_seconds)
    .bind(now)
    .execute(tx.conn())
    .await?;
    offset(tx.conn()).await
}
