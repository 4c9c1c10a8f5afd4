//! `billing_audit_log` rows (the spec's schema, spec 000 "Audit Log Database Schema").

use super::WriteTx;
use sqlx::{Any, Executor};
use tariff_model::admin::AuditFilter;

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
pub async fn insert(tx: &mut WriteTx, entry: &NewAuditEntry) -> Result<(), sqlx::Error> {
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
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub use tariff_model::admin::AuditRow;

#[derive(sqlx::FromRow)]
struct RawAuditRow {
    id: String,
    user_id: String,
    action: String,
    entity_type: String,
    entity_id: String,
    description: Option<String>,
    changes: Option<String>,
    audit_metadata: Option<String>,
    created_at: i64,
}

/// A page of entries matching `filter`, newest first, and how many match in all.
pub async fn list<'c, E>(
    db: E,
    filter: &AuditFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<AuditRow>, i64), sqlx::Error>
where
    E: Executor<'c, Database = Any> + Copy,
{
    // Each filter is always present in the SQL and switched off by a NULL parameter, so the
    // statement text is the same for every combination.
    let condition = "($1 is null or entity_type = $1) and ($2 is null or entity_id = $2)
        and ($3 is null or user_id = $3) and ($4 is null or action = $4)
        and ($5 is null or created_at >= $5) and ($6 is null or created_at < $6)";
    let total: i64 = sqlx::query_scalar(&format!("select count(*) from billing_audit_log where {condition}"))
        .bind(&filter.entity_type)
        .bind(&filter.entity_id)
        .bind(&filter.user_id)
        .bind(&filter.action)
        .bind(filter.since)
        .bind(filter.until)
        .fetch_one(db)
        .await?;
    let rows: Vec<RawAuditRow> = sqlx::query_as(&format!(
        "select id, user_id, action, entity_type, entity_id, description, changes, audit_metadata, created_at
         from billing_audit_log where {condition} order by created_at desc, id desc limit $7 offset $8"
    ))
    .bind(&filter.entity_type)
    .bind(&filter.entity_id)
    .bind(&filter.user_id)
    .bind(&filter.action)
    .bind(filter.since)
    .bind(filter.until)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    let parse = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
    let items = rows
        .into_iter()
        .map(|r| AuditRow {
            id: r.id,
            user_id: r.user_id,
            action: r.action,
            entity_type: r.entity_type,
            entity_id: r.entity_id,
            description: r.description,
            changes: parse(r.changes),
            audit_metadata: parse(r.audit_metadata),
            created_at: r.created_at,
        })
        .collect();
    Ok((items, total))
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
