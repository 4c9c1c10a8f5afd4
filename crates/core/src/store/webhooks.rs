//! `billing_webhook_event`: the inbox every notification is stored in before anything else.

use super::{WriteTx, get_enum};
use sqlx::{Any, Executor, Row};
use tariff_model::InboxStatus;

/// A notification to store in the inbox.
#[derive(Clone, Debug)]
pub struct NewNotification<'a> {
    pub provider: &'a str,
    pub event: &'a str,
    pub object_id: &'a str,
    pub object_status: &'a str,
    pub source_ip: Option<&'a str>,
    /// The raw body as received.
    pub body: &'a str,
    pub now: i64,
}

/// Stores a notification, or counts a redelivery of one already stored (same provider, event,
/// object id and object status). Returns the row id and its processing status.
pub async fn store(tx: &mut WriteTx, n: &NewNotification<'_>) -> Result<(String, InboxStatus), sqlx::Error> {
    let row = sqlx::query(
        "insert into billing_webhook_event (id, provider, event, object_id, object_status, source_ip, body, status, received_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict (provider, event, object_id, object_status)
             do update set deliveries = billing_webhook_event.deliveries + 1
         returning id, status",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(n.provider)
    .bind(n.event)
    .bind(n.object_id)
    .bind(n.object_status)
    .bind(n.source_ip)
    .bind(n.body)
    .bind(InboxStatus::Pending.as_str())
    .bind(n.now)
    .fetch_one(tx.conn())
    .await?;
    Ok((row.try_get("id")?, get_enum(&row, "status")?))
}

/// Records how processing went: `processed`, `ignored` or `failed` (with the error).
pub async fn finish(
    tx: &mut WriteTx,
    id: &str,
    status: InboxStatus,
    outcome: &str,
    error: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update billing_webhook_event set status = $2, outcome = $3, last_error = $4, attempts = attempts + 1, processed_at = $5
         where id = $1",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(outcome)
    .bind(error)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A stored notification the sweeper handles again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unfinished {
    pub id: String,
    pub event: String,
    pub object_id: String,
    pub object_status: String,
}

/// Notifications whose processing failed or never finished, oldest first (for the sweeper).
pub async fn unfinished<'c, E: Executor<'c, Database = Any>>(
    db: E,
    older_than: i64,
    limit: i64,
) -> Result<Vec<Unfinished>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, event, object_id, object_status from billing_webhook_event
         where status in ($3, $4) and received_at <= $1 and attempts < 20
         order by received_at limit $2",
    )
    .bind(older_than)
    .bind(limit)
    .bind(InboxStatus::Pending.as_str())
    .bind(InboxStatus::Failed.as_str())
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Unfinished {
                id: r.try_get("id")?,
                event: r.try_get("event")?,
                object_id: r.try_get("object_id")?,
                object_status: r.try_get("object_status")?,
            })
        })
        .collect()
}
