//! `job_lease` rows: which process runs a background job now. A lease is held until `expires_at`
//! (Unix seconds) and renewed by its holder; another process takes it only once it expired.

use super::WriteTx;

/// Takes or renews the lease `name` for `holder` until `expires_at`, if it is free, expired at
/// `now`, or already `holder`'s. Returns whether `holder` holds it.
pub async fn acquire(
    tx: &mut WriteTx,
    name: &str,
    holder: &str,
    now: i64,
    expires_at: i64,
) -> Result<bool, sqlx::Error> {
    let held: Option<String> = sqlx::query_scalar(
        "insert into job_lease (name, holder, expires_at) values ($1, $2, $3)
         on conflict (name) do update set holder = excluded.holder, expires_at = excluded.expires_at
             where job_lease.expires_at <= $4 or job_lease.holder = excluded.holder
         returning holder",
    )
    .bind(name)
    .bind(holder)
    .bind(expires_at)
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    Ok(held.as_deref() == Some(holder))
}

/// Gives the lease back (at shutdown), if `holder` holds it.
pub async fn release(tx: &mut WriteTx, name: &str, holder: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from job_lease where name = $1 and holder = $2")
        .bind(name)
        .bind(holder)
        .execute(tx.conn())
        .await?;
    Ok(())
}
