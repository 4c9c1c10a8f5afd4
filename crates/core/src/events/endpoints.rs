//! Webhook endpoints an operator registers (issue 16 §2): create, list, change, delete, rotate
//! the signing secret, send a test event, redeliver. Every change is audited.
//!
//! The secret is `whsec_` and base64 of 32 random bytes, as the Standard Webhooks libraries
//! expect; it is shown once, in the answer that creates or rotates it. A rotation keeps the old
//! secret signing beside the new one for an overlap window, so receivers can switch without
//! dropping a delivery.

use super::delivery::Policy;
use crate::audit::{self, Actor};
use crate::store::Store;
use crate::store::events::{self as store, EndpointRow};
use crate::{Error, Result};
use base64ct::{Base64, Encoding};
use rand::RngCore;
use serde_json::json;
use tariff_model::events::{RotateSecretBody, TestEventBody, WebhookEndpointBody};
use tariff_model::{Entity, EventType, InvalidField, Message, WebhookDelivery, WebhookEndpoint};

/// The longest description, characters.
pub const MAX_DESCRIPTION: usize = 500;
/// The longest URL, characters.
pub const MAX_URL: usize = 2_000;
/// The default and the longest overlap of a rotated secret, seconds.
pub const DEFAULT_OVERLAP_SECONDS: i64 = 86_400;
pub const MAX_OVERLAP_SECONDS: i64 = 7 * 86_400;
/// The most deliveries listed per endpoint.
pub const MAX_LISTED_DELIVERIES: i64 = 200;

/// A new signing secret: `whsec_` and base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("whsec_{}", Base64::encode_string(&bytes))
}

fn validate(body: &WebhookEndpointBody, policy: &Policy, creating: bool) -> Vec<InvalidField> {
    let mut errors = Vec::new();
    match &body.url {
        Some(url) => {
            if let Err(message) = policy.check_url(url) {
                errors.push(InvalidField::new("url", message));
            }
        }
        None if creating => errors.push(InvalidField::new("url", Message::WebhookUrlInvalid)),
        None => {}
    }
    match &body.event_types {
        Some(types) if types.is_empty() => errors.push(InvalidField::new("event_types", Message::EventTypesRequired)),
        Some(types) => {
            for t in types {
                if !EventType::is_subscribable(t) {
                    errors.push(InvalidField::new("event_types", Message::EventTypeUnknown { value: t.clone() }));
                }
            }
        }
        None if creating => errors.push(InvalidField::new("event_types", Message::EventTypesRequired)),
        None => {}
    }
    if body.description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
        errors.push(InvalidField::new("description", Message::TextTooLong { max: MAX_DESCRIPTION as u32 }));
    }
    errors
}

fn normalised(types: &[String]) -> Vec<String> {
    if types.iter().any(|t| t == "*") {
        return vec!["*".to_owned()];
    }
    let mut types = types.to_vec();
    types.sort();
    types.dedup();
    types
}

fn audit_json(e: &WebhookEndpoint) -> serde_json::Value {
    json!({ "url": e.url, "description": e.description, "event_types": e.event_types, "enabled": e.enabled })
}

/// Registers an endpoint; the answer carries its `secret` (the only time it is shown).
/// Audited as `webhook.create`.
///
/// # Errors
/// [`Error::Validation`] (`url`, `event_types`, `description`); [`Error::Database`].
pub async fn create(
    db: &Store,
    now: i64,
    actor: &Actor,
    policy: &Policy,
    body: WebhookEndpointBody,
) -> Result<WebhookEndpoint> {
    let errors = validate(&body, policy, true);
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let secret = new_secret();
    let endpoint = WebhookEndpoint {
        id: format!("we_{}", uuid::Uuid::now_v7().simple()),
        url: body.url.unwrap_or_default(),
        description: body.description.unwrap_or_default(),
        event_types: normalised(&body.event_types.unwrap_or_default()),
        enabled: body.enabled.unwrap_or(true),
        disabled_reason: None,
        failing_since: None,
        secret: None,
        previous_secret_expires_at: None,
        created_at: now,
        updated_at: now,
    };
    let row = EndpointRow { endpoint, secret: secret.clone(), previous_secret: None };
    let mut tx = db.begin_write().await?;
    store::save_endpoint(&mut tx, &row).await?;
    let changes = audit::diff(None, &audit_json(&row.endpoint));
    let description = format!("Webhook endpoint {} created for {}", row.endpoint.id, row.endpoint.url);
    audit::record(&mut tx, actor, "webhook.create", "webhook_endpoint", &row.endpoint.id, description, changes, now)
        .await?;
    tx.commit().await?;
    Ok(WebhookEndpoint { secret: Some(secret), ..row.endpoint })
}

/// Every endpoint, oldest first (without secrets).
///
/// # Errors
/// [`Error::Database`].
pub async fn list(db: &Store) -> Result<Vec<WebhookEndpoint>> {
    Ok(store::list_endpoints(db.reader()).await?.into_iter().map(|r| r.endpoint).collect())
}

/// One endpoint (without its secret).
///
/// # Errors
/// [`Error::NotFound`]; [`Error::Database`].
pub async fn get(db: &Store, id: &str) -> Result<WebhookEndpoint> {
    store::get_endpoint(db.reader(), id)
        .await?
        .map(|r| r.endpoint)
        .ok_or_else(|| Error::not_found(Entity::WebhookEndpoint, id))
}

/// Changes an endpoint (any subset of the body). Enabling it again clears why it was disabled
/// and its failing streak. Audited as `webhook.update`.
///
/// # Errors
/// [`Error::NotFound`]; [`Error::Validation`]; [`Error::Database`].
pub async fn update(
    db: &Store,
    now: i64,
    actor: &Actor,
    policy: &Policy,
    id: &str,
    body: WebhookEndpointBody,
) -> Result<WebhookEndpoint> {
    let errors = validate(&body, policy, false);
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let mut tx = db.begin_write().await?;
    let mut row =
        store::get_endpoint(tx.conn(), id).await?.ok_or_else(|| Error::not_found(Entity::WebhookEndpoint, id))?;
    let before = audit_json(&row.endpoint);
    let e = &mut row.endpoint;
    if let Some(url) = body.url {
        e.url = url;
    }
    if let Some(description) = body.description {
        e.description = description;
    }
    if let Some(types) = body.event_types {
        e.event_types = normalised(&types);
    }
    if let Some(enabled) = body.enabled {
        if enabled && !e.enabled {
            e.disabled_reason = None;
            e.failing_since = None;
        }
        e.enabled = enabled;
    }
    e.updated_at = now;
    store::save_endpoint(&mut tx, &row).await?;
    let changes = audit::diff(Some(&before), &audit_json(&row.endpoint));
    let description = format!("Webhook endpoint {id} updated");
    audit::record(&mut tx, actor, "webhook.update", "webhook_endpoint", id, description, changes, now).await?;
    tx.commit().await?;
    Ok(row.endpoint)
}

/// Deletes an endpoint and its deliveries. Audited as `webhook.delete`.
///
/// # Errors
/// [`Error::NotFound`]; [`Error::Database`].
pub async fn delete(db: &Store, now: i64, actor: &Actor, id: &str) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let row = store::get_endpoint(tx.conn(), id).await?.ok_or_else(|| Error::not_found(Entity::WebhookEndpoint, id))?;
    store::delete_endpoint(&mut tx, id).await?;
    let changes = json!({ "url": { "before": row.endpoint.url, "after": null } });
    let description = format!("Webhook endpoint {id} deleted");
    audit::record(&mut tx, actor, "webhook.delete", "webhook_endpoint", id, description, changes, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Gives the endpoint a new secret (in the answer, once); the old one keeps signing beside it
/// for `overlap_seconds` (default a day). Audited as `webhook.rotate_secret` (without secrets).
///
/// # Errors
/// [`Error::NotFound`]; [`Error::Validation`] on `overlap_seconds` outside 0..=7 days;
/// [`Error::Database`].
pub async fn rotate(db: &Store, now: i64, actor: &Actor, id: &str, body: RotateSecretBody) -> Result<WebhookEndpoint> {
    let overlap = body.overlap_seconds.unwrap_or(DEFAULT_OVERLAP_SECONDS);
    if !(0..=MAX_OVERLAP_SECONDS).contains(&overlap) {
        return Err(Error::invalid("overlap_seconds", Message::OverlapRange { max: MAX_OVERLAP_SECONDS }));
    }
    let mut tx = db.begin_write().await?;
    let mut row =
        store::get_endpoint(tx.conn(), id).await?.ok_or_else(|| Error::not_found(Entity::WebhookEndpoint, id))?;
    let secret = new_secret();
    row.previous_secret = (overlap > 0).then(|| row.secret.clone());
    row.endpoint.previous_secret_expires_at = (overlap > 0).then_some(now + overlap);
    row.secret = secret.clone();
    row.endpoint.updated_at = now;
    store::save_endpoint(&mut tx, &row).await?;
    let changes = json!({ "secret": { "before": "(hidden)", "after": "(new)" }, "overlap_seconds": overlap });
    let description = format!("Webhook endpoint {id}: signing secret rotated, the old one signs for {overlap} s more");
    audit::record(&mut tx, actor, "webhook.rotate_secret", "webhook_endpoint", id, description, changes, now).await?;
    tx.commit().await?;
    Ok(WebhookEndpoint { secret: Some(secret), ..row.endpoint })
}

/// The endpoint's deliveries, newest first, at most `limit` (1–200).
///
/// # Errors
/// [`Error::Validation`] on `limit`; [`Error::NotFound`]; [`Error::Database`].
pub async fn deliveries(db: &Store, id: &str, limit: i64) -> Result<Vec<WebhookDelivery>> {
    if !(1..=MAX_LISTED_DELIVERIES).contains(&limit) {
        return Err(Error::invalid("limit", Message::PageSizeRange { max: MAX_LISTED_DELIVERIES }));
    }
    get(db, id).await?;
    Ok(store::deliveries(db.reader(), id, limit).await?)
}

/// One delivery of the endpoint.
///
/// # Errors
/// [`Error::NotFound`] (also when it belongs to another endpoint); [`Error::Database`].
pub async fn delivery(db: &Store, endpoint_id: &str, delivery_id: &str) -> Result<WebhookDelivery> {
    store::delivery(db.reader(), delivery_id)
        .await?
        .filter(|d| d.endpoint_id == endpoint_id)
        .ok_or_else(|| Error::not_found(Entity::WebhookDelivery, delivery_id))
}

/// Makes a delivery due again now (the next attempt keeps the same `webhook-id`). Audited as
/// `webhook.redeliver`.
///
/// # Errors
/// [`Error::NotFound`]; [`Error::Database`].
pub async fn redeliver(
    db: &Store,
    now: i64,
    actor: &Actor,
    endpoint_id: &str,
    delivery_id: &str,
) -> Result<WebhookDelivery> {
    delivery(db, endpoint_id, delivery_id).await?;
    let mut tx = db.begin_write().await?;
    store::redeliver(&mut tx, delivery_id, now).await?;
    let description = format!("Webhook delivery {delivery_id} sent again");
    audit::record(&mut tx, actor, "webhook.redeliver", "webhook_delivery", delivery_id, description, json!({}), now)
        .await?;
    tx.events_written();
    tx.commit().await?;
    delivery(db, endpoint_id, delivery_id).await
}

/// Sends a test event to this endpoint only (whatever types it takes): `type` from the body
/// (default `subscription.updated`), `data` `{"test": true}`, `account_id` `test`. Answers its
/// delivery.
///
/// # Errors
/// [`Error::NotFound`]; [`Error::Validation`] on an unknown `event_type`; [`Error::Database`].
pub async fn send_test(db: &Store, now: i64, actor: &Actor, id: &str, body: TestEventBody) -> Result<WebhookDelivery> {
    let event_type = match body.event_type.as_deref() {
        None => EventType::SubscriptionUpdated,
        Some(name) => name
            .parse()
            .map_err(|_| Error::invalid("event_type", Message::EventTypeUnknown { value: name.to_owned() }))?,
    };
    get(db, id).await?;
    let event = tariff_model::Event {
        id: format!("evt_{}", uuid::Uuid::now_v7().simple()),
        event_type,
        created_at: now,
        account_id: "test".to_owned(),
        user_id: Some(actor.user_id.clone()),
        data: json!({ "test": true }),
    };
    let payload = serde_json::to_string(&event).map_err(|e| Error::Internal(e.to_string()))?;
    let mut tx = db.begin_write().await?;
    let delivery_id =
        store::insert_test(&mut tx, &event.id, event_type.as_str(), id, &actor.user_id, &payload, now).await?;
    let description = format!("Test event {} sent to webhook endpoint {id}", event.id);
    audit::record(&mut tx, actor, "webhook.test", "webhook_endpoint", id, description, json!({}), now).await?;
    tx.events_written();
    tx.commit().await?;
    delivery(db, id, &delivery_id).await
}
