//! `billing_webhook_event`: the inbox every notification is stored in before anything else.

use sqlx::{Any, Executor};

/// Stores a notification, or counts a redelivery of one already stored (same provider, event,
/// object id and object status). Returns the row id and its processing status.
#[allow(clippy::too_many_arguments)]
pub async fn store<'c, E: Executor<'c, Database = Any>>(
    db: E,
    provider: &str,
    event: &str,
    object_id: &str,
    object_status: &str,
    source_ip: Option<&str>,
    body: &str,
    now: i64,
) -> Result<(String, String), sqlx::Error> {
    sqlx::query_as(
        "insert into billing_webhook_event (id, provider, event, object_id, object_status, source_ip, body, status, received_at)
         values ($1, $2, $3, $4, $5, $6, $7, 'pending', $8)
         on conflict (provider, event, object_id, object_status)
             do update set deliveries = billing_webhook_event.deliveries + 1
         returning id, status",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(provider)
    .bind(event)
    .bind(object_id)
    .bind(object_status)
    .bind(source_ip)
    .bind(body)
    .bind(now)
    .fetch_one(db)
    .await
}

/// Records how processing went: `processed`, `ignored` or `failed` (with the error).
pub async fn finish<'c, E: Executor<'c, Database = Any>>(
    db: E,
    id: &str,
    status: &str,
    outcome: &str,
    error: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update billing_webhook_event set status = $2, outcome = $3, last_error = $4, attempts = attempts + 1, processed_at = $5
         where id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(outcome)
    .bind(error)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Notifications whose processing failed or never finished, oldest first (for the sweeper).
pub async fn unfinished<'c, E: Executor<'c, Database = Any>>(
    db: E,
    older_than: i64,
    limit: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "select id, body from billing_webhook_event
         where status in ('pending', 'failed') and received_at <= $1 and attempts < 20
         order by received_at limit $2",
    )
    .bind(older_than)
    .bind(limit)
    .fetch_all(db)
    .await
}
