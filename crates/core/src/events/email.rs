//! Customer emails of events (issue 16 §5): which events are waiting for their email, the lease
//! that makes each sending one mailer's, who the email goes to (in their language, if they want
//! it), and what became of it. The text and the SMTP transport are the server's
//! (`src/server/mailer.rs`).

use crate::Result;
use crate::store::Store;
use crate::store::events::{EMAIL_FAILED, EMAIL_PENDING, EMAIL_SENT, EMAIL_SKIPPED};
use sqlx::Row;
use tariff_model::events::{EmailKind, EmailPreferences};
use tariff_model::{Event, EventType, Locale};

/// Tries before an email is given up (about a day with the back-off below).
pub const MAX_ATTEMPTS: i64 = 10;

/// Where an event's email goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    pub email: String,
    pub locale: Locale,
    pub name: Option<String>,
}

/// An event whose email this mailer holds the lease of.
#[derive(Clone, Debug)]
pub struct ClaimedEmail {
    pub event: Event,
    /// This try's number, from 1.
    pub attempt: i64,
}

/// Ids of events whose email is due at `now`, oldest first, at most `limit`.
///
/// # Errors
/// [`crate::Error::Database`].
pub async fn due(db: &Store, now: i64, limit: i64) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "select id from billing_event
         where email_status = $1 and email_next_at <= $2 and (email_locked_until is null or email_locked_until <= $2)
         order by created_at, id limit $3",
    )
    .bind(EMAIL_PENDING)
    .bind(now)
    .bind(limit)
    .fetch_all(db.reader())
    .await?)
}

/// Takes the lease of one try of the event's email (one conditional update: two mailers never
/// send the same try). `None` when another mailer took it or it is no longer due.
///
/// # Errors
/// [`crate::Error::Database`]; [`crate::Error::Internal`] for a stored event that does not parse.
pub async fn claim(db: &Store, id: &str, now: i64, lease_seconds: i64) -> Result<Option<ClaimedEmail>> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "update billing_event set email_locked_until = $3, email_attempts = email_attempts + 1
         where id = $1 and email_status = $4 and email_next_at <= $2 and (email_locked_until is null or email_locked_until <= $2)
         returning payload, email_attempts",
    )
    .bind(id)
    .bind(now)
    .bind(now + lease_seconds)
    .bind(EMAIL_PENDING)
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    let Some(row) = row else { return Ok(None) };
    let payload: String = row.try_get("payload")?;
    let event: Event = serde_json::from_str(&payload).map_err(|e| crate::Error::Internal(e.to_string()))?;
    Ok(Some(ClaimedEmail { event, attempt: row.try_get("email_attempts")? }))
}

/// Who the event's email goes to, or why it goes to nobody: the event's user (an invitation's
/// invitee), in their language, unless they turned this kind of email off.
///
/// # Errors
/// `Ok(Err(reason))` when it is skipped; [`crate::Error::Database`].
pub async fn recipient(db: &Store, event: &Event) -> Result<std::result::Result<Recipient, &'static str>> {
    let Some(kind) = EmailKind::of(event.event_type) else { return Ok(Err("no email for this event type")) };
    let row = if event.event_type == EventType::InvitationCreated {
        let Some(address) = event.data["email"].as_str() else { return Ok(Err("the invitation has no address")) };
        let user =
            sqlx::query("select email, name, locale, email_preferences from app_user where lower(email) = lower($1)")
                .bind(address)
                .fetch_optional(db.reader())
                .await?;
        match user {
            Some(row) => row,
            None => {
                return Ok(Ok(Recipient { email: address.to_owned(), locale: Locale::En, name: None }));
            }
        }
    } else {
        let Some(user_id) = event.user_id.as_deref() else { return Ok(Err("the event names no user")) };
        match sqlx::query("select email, name, locale, email_preferences from app_user where id = $1")
            .bind(user_id)
            .fetch_optional(db.reader())
            .await?
        {
            Some(row) => row,
            None => return Ok(Err("the user no longer exists")),
        }
    };
    let preferences: EmailPreferences = crate::store::get_json(&row, "email_preferences")?.unwrap_or_default();
    if !preferences.wants(kind) {
        return Ok(Err("the user turned this email off"));
    }
    let locale: String = row.try_get("locale")?;
    Ok(Ok(Recipient {
        email: row.try_get("email")?,
        locale: locale.parse().unwrap_or(Locale::En),
        name: row.try_get("name")?,
    }))
}

/// What became of one try.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    Sent,
    Skipped(String),
    Failed(String),
}

/// Records a try: sent, skipped (with why), or failed — tried again after 1, 2, 4, … minutes
/// (at most an hour apart), given up after [`MAX_ATTEMPTS`].
///
/// # Errors
/// [`crate::Error::Database`].
pub async fn finish(db: &Store, claimed: &ClaimedEmail, outcome: &Sent, now: i64) -> Result<()> {
    let (status, error, next) = match outcome {
        Sent::Sent => (EMAIL_SENT, None, now),
        Sent::Skipped(why) => (EMAIL_SKIPPED, Some(why.as_str()), now),
        Sent::Failed(why) if claimed.attempt >= MAX_ATTEMPTS => (EMAIL_FAILED, Some(why.as_str()), now),
        Sent::Failed(why) => {
            let delay = (60_i64 << (claimed.attempt - 1).clamp(0, 6)).min(3_600);
            (EMAIL_PENDING, Some(why.as_str()), now + delay)
        }
    };
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "update billing_event set email_status = $2, email_error = $3, email_next_at = $4, email_locked_until = null
         where id = $1",
    )
    .bind(&claimed.event.id)
    .bind(status)
    .bind(error)
    .bind(next)
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The user's email preferences.
///
/// # Errors
/// [`crate::Error::NotFound`] for an unknown user; [`crate::Error::Database`].
pub async fn preferences(db: &Store, user_id: &str) -> Result<EmailPreferences> {
    let row = sqlx::query("select email_preferences from app_user where id = $1")
        .bind(user_id)
        .fetch_optional(db.reader())
        .await?
        .ok_or_else(|| crate::Error::not_found(tariff_model::Entity::User, user_id))?;
    Ok(crate::store::get_json(&row, "email_preferences")?.unwrap_or_default())
}

/// Saves which emails the user gets.
///
/// # Errors
/// [`crate::Error::Database`].
pub async fn set_preferences(db: &Store, user_id: &str, preferences: &EmailPreferences, now: i64) -> Result<()> {
    let mut off = preferences.off.clone();
    off.sort();
    off.dedup();
    let text = serde_json::to_string(&EmailPreferences { off }).map_err(|e| crate::Error::Internal(e.to_string()))?;
    let mut tx = db.begin_write().await?;
    sqlx::query("update app_user set email_preferences = $2, updated_at = $3 where id = $1")
        .bind(user_id)
        .bind(text)
        .bind(now)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(())
}
