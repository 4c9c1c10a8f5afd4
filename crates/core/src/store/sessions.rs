//! `app_session` rows: the web UI's cookie sessions (tower-sessions records), kept in the same
//! database and pool as the billing data. `data` is the session's JSON; `expires_at` Unix
//! seconds. Expired rows are never returned and are deleted by [`delete_expired`].

use super::{Store, WriteTx};

/// The data and expiry of the unexpired session `id`.
pub async fn load(db: &Store, id: &str, now: i64) -> Result<Option<(String, i64)>, sqlx::Error> {
    sqlx::query_as("select data, expires_at from app_session where id = $1 and expires_at > $2")
        .bind(id)
        .bind(now)
        .fetch_optional(db.reader())
        .await
}

/// Inserts session `id` unless one exists. Returns whether it was inserted (ids are random; a
/// collision makes the caller draw another).
pub async fn create(tx: &mut WriteTx, id: &str, data: &str, expires_at: i64) -> Result<bool, sqlx::Error> {
    let result =
        sqlx::query("insert into app_session (id, data, expires_at) values ($1, $2, $3) on conflict (id) do nothing")
            .bind(id)
            .bind(data)
            .bind(expires_at)
            .execute(tx.conn())
            .await?;
    Ok(result.rows_affected() == 1)
}

/// Writes session `id` (creating it if missing).
pub async fn save(tx: &mut WriteTx, id: &str, data: &str, expires_at: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into app_session (id, data, expires_at) values ($1, $2, $3)
         on conflict (id) do update set data = excluded.data, expires_at = excluded.expires_at",
    )
    .bind(id)
    .bind(data)
    .bind(expires_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Deletes session `id`.
pub async fn delete(tx: &mut WriteTx, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from app_session where id = $1").bind(id).execute(tx.conn()).await?;
    Ok(())
}

/// Deletes sessions that expired by `now`. Returns how many.
pub async fn delete_expired(tx: &mut WriteTx, now: i64) -> Result<u64, sqlx::Error> {
    let result = sqlx::query("delete from app_session where expires_at <= $1").bind(now).execute(tx.conn()).await?;
    Ok(result.rows_affected())
}
