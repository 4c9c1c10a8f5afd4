//! Audit trail of admin and operator mutations (DESIGN.md "Every admin mutation is audited").

use crate::store::audit::{self as store, NewAuditEntry};
use crate::store::{Store, WriteTx};
use serde_json::{Map, Value, json};

/// Who made a change: a user id, or an operator channel such as `system:cli`.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: String,
    /// Facts about the request or process (channel, request id, source IP).
    pub metadata: Value,
}

impl Actor {
    /// The operator running the `tariff` command line.
    pub fn cli() -> Actor {
        Actor { user_id: "system:cli".to_owned(), metadata: json!({ "channel": "cli" }) }
    }

    /// The server itself (start-up seeding, background jobs).
    pub fn system(channel: &str) -> Actor {
        Actor { user_id: "system".to_owned(), metadata: json!({ "channel": channel }) }
    }
}

/// `{field: {"before": .., "after": ..}}` for every top-level field that differs between two
/// JSON objects; fields equal in both are left out. `before = None` records a creation.
pub fn diff(before: Option<&Value>, after: &Value) -> Value {
    let empty = Map::new();
    let before_map = before.and_then(Value::as_object).unwrap_or(&empty);
    let mut changes = Map::new();
    if let Some(after_map) = after.as_object() {
        for (field, new_value) in after_map {
            let old_value = before_map.get(field).unwrap_or(&Value::Null);
            if before.is_none() || old_value != new_value {
                changes.insert(field.clone(), json!({ "before": old_value, "after": new_value }));
            }
        }
    }
    Value::Object(changes)
}

/// Writes one audit row; pass the transaction that makes the change.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    tx: &mut WriteTx,
    actor: &Actor,
    action: &str,
    entity_type: &str,
    entity_id: &str,
    description: String,
    changes: Value,
    now: i64,
) -> Result<(), sqlx::Error> {
    store::insert(
        tx,
        &NewAuditEntry {
            // Time-ordered (v7), so entries written in the same second list in order.
            id: uuid::Uuid::now_v7().to_string(),
            user_id: actor.user_id.clone(),
            action: action.to_owned(),
            entity_type: entity_type.to_owned(),
            entity_id: entity_id.to_owned(),
            description: Some(description),
            changes: Some(changes),
            audit_metadata: Some(actor.metadata.clone()),
            created_at: now,
        },
    )
    .await
}

pub use tariff_model::admin::AuditFilter;

/// A page of audit entries matching `filter`, newest first, and the total that match.
///
/// # Errors
/// [`crate::Error::Database`].
pub async fn list(
    db: &Store,
    filter: &AuditFilter,
    limit: i64,
    offset: i64,
) -> crate::Result<(Vec<store::AuditRow>, i64)> {
    Ok(store::list(db.reader(), filter, limit, offset).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_lists_only_changed_fields() {
        let before = json!({"price_minor": 99000, "name": "Pro"});
        let after = json!({"price_minor": 89000, "name": "Pro"});
        let changes = diff(Some(&before), &after);
        assert_eq!(changes, json!({"price_minor": {"before": 99000, "after": 89000}}));
    }

    #[test]
    fn diff_of_a_creation_lists_every_field() {
        let changes = diff(None, &json!({"name": "Pro"}));
        assert_eq!(changes, json!({"name": {"before": null, "after": "Pro"}}));
    }
}
