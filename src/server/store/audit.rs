//! `billing_audit_log` rows (the spec's schema, spec 000 "Audit Log Database Schema").

use sqlx::{Any, Executor};

/// One audit entry. `changes` is `{field: {"before": .., "after": ..}}`; `audit_metadata` carries
/// request facts (request id, source IP, channel). `created_at` is Unix seconds.
#[derive(Clone, Debug)]
pub struct NewAuditEntry {
    pub id: String,
    pub user_id: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub description: Option<String>,
    pub changes: Option<serde_json::Value>,
    pub audit_metadata: Option<serde_json::Value>,
    pub created_at: i64,
}

/// Appends one entry; call it inside the transaction of the change it records.
pub async fn insert<'c, E: Executor<'c, Database = Any>>(
    db: E,
    entry: &NewAuditEntry,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into billing_audit_log
             (id, user_id, action, entity_type, entity_id, description, changes, audit_metadata, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&entry.id)
    .bind(&entry.user_id)
    .bind(&entry.action)
    .bind(&entry.entity_type)
    .bind(&entry.entity_id)
    .bind(&entry.description)
    .bind(entry.changes.as_ref().map(super::to_json))
    .bind(entry.audit_metadata.as_ref().map(super::to_json))
    .bind(entry.created_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Entries for one entity, newest first.
pub async fn list_for_entity<'c, E: Executor<'c, Database = Any>>(
    db: E,
    entity_type: &str,
    entity_id: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "select action, user_id from billing_audit_log
         where entity_type = $1 and entity_id = $2 order by created_at desc, id desc",
    )
    .bind(entity_type)
    .bind(entity_id)
    .fetch_all(db)
    .await
}
