//! The outbox of outgoing events (`billing_event`), the webhook endpoints
//! (`billing_webhook_endpoint`), their deliveries (`billing_webhook_delivery`) and the quota
//! alerts already sent (`billing_usage_alert`). Issue 16.

use super::{Dialect, WriteTx, get_bool, get_json};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};
use tariff_model::{WebhookDelivery, WebhookEndpoint};

/// Email states of an event.
pub const EMAIL_PENDING: &str = "pending";
pub const EMAIL_SENT: &str = "sent";
pub const EMAIL_SKIPPED: &str = "skipped";
pub const EMAIL_FAILED: &str = "failed";

/// Delivery states.
pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";

/// Appends an event to the outbox (with its customer email pending when `email`) and a pending
/// delivery for every enabled endpoint that takes its type, in `tx`. Returns how many
/// deliveries it made.
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    tx: &mut WriteTx,
    id: &str,
    event_type: &str,
    account_id: &str,
    user_id: Option<&str>,
    payload: &str,
    email: bool,
    now: i64,
) -> Result<usize, sqlx::Error> {
    sqlx::query(
        "insert into billing_event (id, type, account_id, user_id, payload, created_at, email_status, email_next_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(event_type)
    .bind(account_id)
    .bind(user_id)
    .bind(payload)
    .bind(now)
    .bind(email.then_some(EMAIL_PENDING))
    .bind(email.then_some(now))
    .execute(tx.conn())
    .await?;
    let endpoints = sqlx::query("select id, event_types from billing_webhook_endpoint where enabled = $1")
        .bind(true)
        .fetch_all(tx.conn())
        .await?;
    let mut made = 0;
    for row in endpoints {
        let types: Vec<String> = get_json(&row, "event_types")?.unwrap_or_default();
        if !types.iter().any(|t| t == "*" || t == event_type) {
            continue;
        }
        let endpoint_id: String = row.try_get("id")?;
        insert_delivery(tx, id, &endpoint_id, account_id, now).await?;
        made += 1;
    }
    Ok(made)
}

/// Appends a test event for one endpoint (account `test`) and its one delivery, in `tx`.
/// Returns the delivery's id.
pub async fn insert_test(
    tx: &mut WriteTx,
    id: &str,
    event_type: &str,
    endpoint_id: &str,
    user_id: &str,
    payload: &str,
    now: i64,
) -> Result<String, sqlx::Error> {
    sqlx::query(
        "insert into billing_event (id, type, account_id, user_id, payload, created_at) values ($1, $2, 'test', $3, $4, $5)",
    )
    .bind(id)
    .bind(event_type)
    .bind(user_id)
    .bind(payload)
    .bind(now)
    .execute(tx.conn())
    .await?;
    insert_delivery(tx, id, endpoint_id, "test", now).await
}

async fn insert_delivery(
    tx: &mut WriteTx,
    event_id: &str,
    endpoint_id: &str,
    account_id: &str,
    now: i64,
) -> Result<String, sqlx::Error> {
    let id = uuid::Uuid::now_v7().to_string();
    // On PostgreSQL, the writing transaction's id (see [`due`]); SQLite needs none.
    let txid = match tx.dialect() {
        Dialect::Postgres => "pg_current_xact_id()::text::bigint",
        Dialect::Sqlite => "null",
    };
    sqlx::query(&format!(
        "insert into billing_webhook_delivery
             (id, event_id, endpoint_id, account_id, status, attempts, next_attempt_at, created_at, updated_at, txid)
         values ($1, $2, $3, $4, $5, 0, $6, $6, $6, {txid})"
    ))
    .bind(&id)
    .bind(event_id)
    .bind(endpoint_id)
    .bind(account_id)
    .bind(PENDING)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// An endpoint as stored, with its secrets.
#[derive(Clone, Debug)]
pub struct EndpointRow {
    pub endpoint: WebhookEndpoint,
    pub secret: String,
    pub previous_secret: Option<String>,
}

const ENDPOINT_COLUMNS: &str = "id, url, description, event_types, enabled, secret, previous_secret,
    previous_secret_expires_at, disabled_reason, failing_since, created_at, updated_at";

fn endpoint_from_row(row: &AnyRow) -> Result<EndpointRow, sqlx::Error> {
    Ok(EndpointRow {
        endpoint: WebhookEndpoint {
            id: row.try_get("id")?,
            url: row.try_get("url")?,
            description: row.try_get("description")?,
            event_types: get_json(row, "event_types")?.unwrap_or_default(),
            enabled: get_bool(row, "enabled")?,
            disabled_reason: row.try_get("disabled_reason")?,
            failing_since: row.try_get("failing_since")?,
            secret: None,
            previous_secret_expires_at: row.try_get("previous_secret_expires_at")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        },
        secret: row.try_get("secret")?,
        previous_secret: row.try_get("previous_secret")?,
    })
}

/// Every endpoint, oldest first.
pub async fn list_endpoints<'c, E: Executor<'c, Database = Any>>(db: E) -> Result<Vec<EndpointRow>, sqlx::Error> {
    let sql = format!("select {ENDPOINT_COLUMNS} from billing_webhook_endpoint order by created_at, id");
    sqlx::query(&sql).fetch_all(db).await?.iter().map(endpoint_from_row).collect()
}

/// One endpoint.
pub async fn get_endpoint<'c, E: Executor<'c, Database = Any>>(
    db: E,
    id: &str,
) -> Result<Option<EndpointRow>, sqlx::Error> {
    let sql = format!("select {ENDPOINT_COLUMNS} from billing_webhook_endpoint where id = $1");
    sqlx::query(&sql).bind(id).fetch_optional(db).await?.as_ref().map(endpoint_from_row).transpose()
}

/// Inserts an endpoint, or writes every column of an existing one (`upsert`).
pub async fn save_endpoint(tx: &mut WriteTx, e: &EndpointRow) -> Result<(), sqlx::Error> {
    let types = serde_json::to_string(&e.endpoint.event_types).map_err(|err| sqlx::Error::Encode(err.into()))?;
    sqlx::query(
        "insert into billing_webhook_endpoint
             (id, url, description, event_types, enabled, secret, previous_secret, previous_secret_expires_at,
              disabled_reason, failing_since, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         on conflict (id) do update set url = excluded.url, description = excluded.description,
             event_types = excluded.event_types, enabled = excluded.enabled, secret = excluded.secret,
             previous_secret = excluded.previous_secret, previous_secret_expires_at = excluded.previous_secret_expires_at,
             disabled_reason = excluded.disabled_reason, failing_since = excluded.failing_since,
             updated_at = excluded.updated_at",
    )
    .bind(&e.endpoint.id)
    .bind(&e.endpoint.url)
    .bind(&e.endpoint.description)
    .bind(types)
    .bind(e.endpoint.enabled)
    .bind(&e.secret)
    .bind(&e.previous_secret)
    .bind(e.endpoint.previous_secret_expires_at)
    .bind(&e.endpoint.disabled_reason)
    .bind(e.endpoint.failing_since)
    .bind(e.endpoint.created_at)
    .bind(e.endpoint.updated_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Deletes an endpoint with its deliveries. Returns whether it existed.
pub async fn delete_endpoint(tx: &mut WriteTx, id: &str) -> Result<bool, sqlx::Error> {
    sqlx::query("delete from billing_webhook_delivery where endpoint_id = $1").bind(id).execute(tx.conn()).await?;
    let done = sqlx::query("delete from billing_webhook_endpoint where id = $1").bind(id).execute(tx.conn()).await?;
    Ok(done.rows_affected() > 0)
}

/// A delivery claimed for one attempt, with what the attempt needs.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub delivery_id: String,
    pub event_id: String,
    pub endpoint_id: String,
    pub account_id: String,
    /// The attempt's number, from 1.
    pub attempt: i64,
    pub created_at: i64,
    pub url: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
    pub payload: String,
}

/// Ids of deliveries due at `now`: pending, not leased, and the oldest pending one of their
/// endpoint and account (events reach an endpoint in order per account), at most `limit`:
/// `(delivery_id, endpoint_id)`.
///
/// On PostgreSQL, where an event's id is taken before its transaction commits, an account's
/// deliveries go in the order of their transactions' ids (the order in which the transactions
/// began writing), then of their events' ids, and one counts only once every transaction with a
/// smaller id has ended (its `txid` below the snapshot's `xmin`), so no delivery can appear
/// later ahead of it. A write transaction left open anywhere on the PostgreSQL server holds
/// deliveries back until it ends. SQLite's one writer commits events in the order of their ids.
pub async fn due<'c, E: Executor<'c, Database = Any>>(
    db: E,
    dialect: Dialect,
    now: i64,
    limit: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let (settled, earlier) = match dialect {
        Dialect::Postgres => (
            "and d.txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
            "(e.txid < d.txid or (e.txid = d.txid and e.event_id < d.event_id))",
        ),
        Dialect::Sqlite => ("", "e.event_id < d.event_id"),
    };
    let rows = sqlx::query(&format!(
        "select d.id, d.endpoint_id from billing_webhook_delivery d
         join billing_webhook_endpoint p on p.id = d.endpoint_id and p.enabled = $4
         where d.status = $1 and d.next_attempt_at <= $2 and (d.locked_until is null or d.locked_until <= $2)
           {settled}
           and not exists (select 1 from billing_webhook_delivery e
                           where e.endpoint_id = d.endpoint_id and e.account_id = d.account_id
                             and e.status = $1 and {earlier})
         order by d.next_attempt_at, d.id
         limit $3"
    ))
    .bind(PENDING)
    .bind(now)
    .bind(limit)
    .bind(true)
    .fetch_all(db)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("endpoint_id")?))).collect()
}

/// Takes the lease of one attempt of delivery `id` until `locked_until`, counting the attempt,
/// if it is still due and nobody holds it: one conditional update, so two workers (two
/// replicas) never make the same attempt. `None` when another worker took it first.
pub async fn claim(tx: &mut WriteTx, id: &str, now: i64, locked_until: i64) -> Result<Option<Claimed>, sqlx::Error> {
    let claimed: Option<i64> = sqlx::query_scalar(
        "update billing_webhook_delivery set locked_until = $3, attempts = attempts + 1, updated_at = $2
         where id = $1 and status = $4 and next_attempt_at <= $2 and (locked_until is null or locked_until <= $2)
           and endpoint_id in (select id from billing_webhook_endpoint where enabled = $5)
         returning attempts",
    )
    .bind(id)
    .bind(now)
    .bind(locked_until)
    .bind(PENDING)
    .bind(true)
    .fetch_optional(tx.conn())
    .await?;
    let Some(attempt) = claimed else { return Ok(None) };
    let row = sqlx::query(
        "select d.event_id, d.endpoint_id, d.account_id, d.created_at, p.url, p.secret, p.previous_secret,
                p.previous_secret_expires_at, e.payload
         from billing_webhook_delivery d
         join billing_webhook_endpoint p on p.id = d.endpoint_id
         join billing_event e on e.id = d.event_id
         where d.id = $1",
    )
    .bind(id)
    .fetch_one(tx.conn())
    .await?;
    Ok(Some(Claimed {
        delivery_id: id.to_owned(),
        event_id: row.try_get("event_id")?,
        endpoint_id: row.try_get("endpoint_id")?,
        account_id: row.try_get("account_id")?,
        attempt,
        created_at: row.try_get("created_at")?,
        url: row.try_get("url")?,
        secret: row.try_get("secret")?,
        previous_secret: row.try_get("previous_secret")?,
        previous_secret_expires_at: row.try_get("previous_secret_expires_at")?,
        payload: row.try_get("payload")?,
    }))
}

/// What one attempt got.
#[derive(Clone, Debug)]
pub struct AttemptResult<'a> {
    pub status_code: Option<i64>,
    pub error: Option<&'a str>,
    pub latency_ms: i64,
}

/// Records a delivered attempt: the delivery is done and the endpoint is healthy again. Only
/// the attempt that holds the delivery (still pending, same attempt number) is recorded; one
/// whose lease ran out and was taken over records nothing. Returns whether it was recorded.
pub async fn delivered(tx: &mut WriteTx, c: &Claimed, r: &AttemptResult<'_>, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update billing_webhook_delivery set status = $2, locked_until = null, last_status_code = $3, last_error = null,
             last_latency_ms = $4, delivered_at = $5, updated_at = $5
         where id = $1 and status = $6 and attempts = $7",
    )
    .bind(&c.delivery_id)
    .bind(DELIVERED)
    .bind(r.status_code)
    .bind(r.latency_ms)
    .bind(now)
    .bind(PENDING)
    .bind(c.attempt)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query("update billing_webhook_endpoint set failing_since = null where id = $1 and failing_since is not null")
        .bind(&c.endpoint_id)
        .execute(tx.conn())
        .await?;
    Ok(true)
}

/// Records a failed attempt: the next one at `next_attempt_at`, or none (`give_up`: the delivery
/// failed). Marks the endpoint failing since now (if it was not already) and returns since when
/// it has been failing; `None` when this attempt no longer holds the delivery (nothing recorded).
pub async fn failed(
    tx: &mut WriteTx,
    c: &Claimed,
    r: &AttemptResult<'_>,
    next_attempt_at: i64,
    give_up: bool,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let done = sqlx::query(
        "update billing_webhook_delivery set status = $2, locked_until = null, last_status_code = $3, last_error = $4,
             last_latency_ms = $5, next_attempt_at = $6, updated_at = $7
         where id = $1 and status = $8 and attempts = $9",
    )
    .bind(&c.delivery_id)
    .bind(if give_up { FAILED } else { PENDING })
    .bind(r.status_code)
    .bind(r.error)
    .bind(r.latency_ms)
    .bind(next_attempt_at)
    .bind(now)
    .bind(PENDING)
    .bind(c.attempt)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    let since: Option<i64> = sqlx::query_scalar(
        "update billing_webhook_endpoint set failing_since = coalesce(failing_since, $2) where id = $1
         returning failing_since",
    )
    .bind(&c.endpoint_id)
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    Ok(Some(since.unwrap_or(now)))
}

/// Disables a failing endpoint, saying why.
pub async fn disable(tx: &mut WriteTx, endpoint_id: &str, reason: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update billing_webhook_endpoint set enabled = $2, disabled_reason = $3, updated_at = $4 where id = $1",
    )
    .bind(endpoint_id)
    .bind(false)
    .bind(reason)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Makes a delivery due again now (redelivery asked by an admin): pending, from its next attempt.
/// Not while an attempt holds it (that attempt's answer decides). Returns whether it changed.
pub async fn redeliver(tx: &mut WriteTx, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update billing_webhook_delivery set status = $2, next_attempt_at = $3, updated_at = $3
         where id = $1 and (locked_until is null or locked_until <= $3)",
    )
    .bind(id)
    .bind(PENDING)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() > 0)
}

const DELIVERY_COLUMNS: &str =
    "d.id, d.event_id, e.type as event_type, d.endpoint_id, d.account_id, d.status, d.attempts,
    d.next_attempt_at, d.last_status_code, d.last_error, d.last_latency_ms, d.delivered_at, d.created_at, e.payload";

fn delivery_from_row(row: &AnyRow) -> Result<WebhookDelivery, sqlx::Error> {
    Ok(WebhookDelivery {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        endpoint_id: row.try_get("endpoint_id")?,
        account_id: row.try_get("account_id")?,
        status: row.try_get("status")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_status_code: row.try_get("last_status_code")?,
        last_error: row.try_get("last_error")?,
        last_latency_ms: row.try_get("last_latency_ms")?,
        delivered_at: row.try_get("delivered_at")?,
        created_at: row.try_get("created_at")?,
        payload: get_json(row, "payload")?.unwrap_or_default(),
    })
}

/// The endpoint's deliveries, newest first, at most `limit`.
pub async fn deliveries<'c, E: Executor<'c, Database = Any>>(
    db: E,
    endpoint_id: &str,
    limit: i64,
) -> Result<Vec<WebhookDelivery>, sqlx::Error> {
    let sql = format!(
        "select {DELIVERY_COLUMNS} from billing_webhook_delivery d join billing_event e on e.id = d.event_id
         where d.endpoint_id = $1 order by d.created_at desc, d.id desc limit $2"
    );
    sqlx::query(&sql).bind(endpoint_id).bind(limit).fetch_all(db).await?.iter().map(delivery_from_row).collect()
}

/// One delivery.
pub async fn delivery<'c, E: Executor<'c, Database = Any>>(
    db: E,
    id: &str,
) -> Result<Option<WebhookDelivery>, sqlx::Error> {
    let sql = format!(
        "select {DELIVERY_COLUMNS} from billing_webhook_delivery d join billing_event e on e.id = d.event_id where d.id = $1"
    );
    sqlx::query(&sql).bind(id).fetch_optional(db).await?.as_ref().map(delivery_from_row).transpose()
}

/// Records that usage of `metric` reached `threshold` % of its quota in the period starting
/// `period_start`. Returns whether this is the first time (so the event is sent once).
pub async fn record_alert(
    tx: &mut WriteTx,
    account_id: &str,
    metric: &str,
    period_start: i64,
    threshold: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "insert into billing_usage_alert (account_id, metric, period_start, threshold, created_at)
         values ($1, $2, $3, $4, $5) on conflict do nothing",
    )
    .bind(account_id)
    .bind(metric)
    .bind(period_start)
    .bind(threshold)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The account's quotas that were used up (an unresolved 100 % alert): `(metric, period_start)`.
pub async fn exhausted(tx: &mut WriteTx, account_id: &str) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "select metric, period_start from billing_usage_alert
         where account_id = $1 and threshold = 100 and resolved_at is null",
    )
    .bind(account_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(|r| Ok((r.try_get("metric")?, r.try_get("period_start")?))).collect()
}

/// Marks the account's 100 % alert of `metric` in the period `period_start` as resolved.
pub async fn resolve_alert(
    tx: &mut WriteTx,
    account_id: &str,
    metric: &str,
    period_start: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update billing_usage_alert set resolved_at = $4
         where account_id = $1 and metric = $2 and period_start = $3 and threshold = 100 and resolved_at is null",
    )
    .bind(account_id)
    .bind(metric)
    .bind(period_start)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Subscriptions whose trial ends within `horizon` seconds of `now` and that were not told yet:
/// `(subscription_id, trial_end)`.
pub async fn trials_ending<'c, E: Executor<'c, Database = Any>>(
    db: E,
    now: i64,
    horizon: i64,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, trial_end from billing_subscription
         where status = 'trialing' and trial_end is not null and trial_end > $1 and trial_end <= $2
           and (trial_notice_for is null or trial_notice_for <> trial_end)
         order by trial_end limit 500",
    )
    .bind(now)
    .bind(now + horizon)
    .fetch_all(db)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("trial_end")?))).collect()
}

/// Marks the trial notice of the subscription as sent for `trial_end`, if it was not: one
/// conditional update, so each trial end is told once across replicas.
pub async fn mark_trial_notice(tx: &mut WriteTx, subscription_id: &str, trial_end: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update billing_subscription set trial_notice_for = $2
         where id = $1 and trial_end = $2 and (trial_notice_for is null or trial_notice_for <> $2)",
    )
    .bind(subscription_id)
    .bind(trial_end)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Active yearly subscriptions (paid, renewing) whose period ends within `horizon` seconds of
/// `now` and whose renewal was not announced yet: `(subscription_id, current_period_end)`.
pub async fn renewals_upcoming<'c, E: Executor<'c, Database = Any>>(
    db: E,
    now: i64,
    horizon: i64,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        r#"select s.id, s.current_period_end from billing_subscription s join billing_plan p on p.id = s.plan_id
         where s.status = 'active' and s.cancel_at_period_end = $3 and p."interval" = 'year' and p.price_minor > 0
           and s.current_period_end > $1 and s.current_period_end <= $2
           and (s.renewal_notice_for is null or s.renewal_notice_for <> s.current_period_end)
         order by s.current_period_end limit 500"#,
    )
    .bind(now)
    .bind(now + horizon)
    .bind(false)
    .fetch_all(db)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("current_period_end")?))).collect()
}

/// Marks the renewal of the period ending `period_end` as announced, if it was not: one
/// conditional update, so each renewal is announced once across replicas.
pub async fn mark_renewal_notice(
    tx: &mut WriteTx,
    subscription_id: &str,
    period_end: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update billing_subscription set renewal_notice_for = $2
         where id = $1 and current_period_end = $2 and (renewal_notice_for is null or renewal_notice_for <> $2)",
    )
    .bind(subscription_id)
    .bind(period_end)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() > 0)
}
