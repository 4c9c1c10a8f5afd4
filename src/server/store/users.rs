//! `account` and `app_user` rows: the billing customer and the people who sign in for it.

use sqlx::{Any, Executor};

/// A user as stored, without the password hash.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub locale: String,
    pub created_at: i64,
}

/// Inserts a personal (`kind = 'user'`) account.
pub async fn insert_account<'c, E: Executor<'c, Database = Any>>(
    db: E,
    id: &str,
    name: &str,
    currency: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into account (id, kind, name, balance_minor, currency, created_at, updated_at)
         values ($1, 'user', $2, 0, $3, $4, $4)",
    )
    .bind(id)
    .bind(name)
    .bind(currency)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Inserts a user. `email` must already be lower-case; the unique index `app_user_email_key`
/// rejects a second user with the same address.
#[allow(clippy::too_many_arguments)]
pub async fn insert_user<'c, E: Executor<'c, Database = Any>>(
    db: E,
    id: &str,
    account_id: &str,
    email: &str,
    password_hash: &str,
    name: &str,
    role: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into app_user (id, account_id, email, password_hash, name, role, locale, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, 'en', $7, $7)",
    )
    .bind(id)
    .bind(account_id)
    .bind(email)
    .bind(password_hash)
    .bind(name)
    .bind(role)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// The user with this email (compared case-insensitively).
pub async fn find_by_email<'c, E: Executor<'c, Database = Any>>(
    db: E,
    email: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(
        "select id, account_id, email, name, role, locale, created_at from app_user where lower(email) = lower($1)",
    )
    .bind(email)
    .fetch_optional(db)
    .await
}

/// The user with this id.
pub async fn find_by_id<'c, E: Executor<'c, Database = Any>>(db: E, id: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as("select id, account_id, email, name, role, locale, created_at from app_user where id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
}

/// How many users have the `admin` role.
pub async fn count_admins<'c, E: Executor<'c, Database = Any>>(db: E) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from app_user where role = 'admin'").fetch_one(db).await
}

/// The stored argon2 hash of a user's password, if the user has one.
pub async fn password_hash<'c, E: Executor<'c, Database = Any>>(
    db: E,
    user_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    let hash: Option<Option<String>> =
        sqlx::query_scalar("select password_hash from app_user where id = $1").bind(user_id).fetch_optional(db).await?;
    Ok(hash.flatten())
}

/// Stores a user's interface language (`en` or `ru`).
pub async fn set_locale<'c, E: Executor<'c, Database = Any>>(
    db: E,
    user_id: &str,
    locale: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("update app_user set locale = $1, updated_at = $2 where id = $3")
        .bind(locale)
        .bind(now)
        .bind(user_id)
        .execute(db)
        .await
        .map(|_| ())
}

/// Which users [`list_with_plans`] keeps by subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserStatusFilter<'a> {
    /// Those whose live subscription has this status (`active`, `trialing`, `past_due`, `paused`).
    Live(&'a str),
    /// Those without a live subscription (canceled, or never subscribed).
    NoLiveSubscription,
}

/// A page of users, newest first, optionally only those whose email contains `email_contains`
/// and of one subscription status, each with the plan and status of their account's live
/// subscription; and the total that match.
pub async fn list_with_plans<'c, E>(
    db: E,
    email_contains: Option<&str>,
    status: Option<UserStatusFilter<'_>>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<crate::model::admin::UserSummary>, i64), sqlx::Error>
where
    E: Executor<'c, Database = Any> + Copy,
{
    use sqlx::Row;
    let email_filter = if email_contains.is_some() { "lower(u.email) like $1 escape '\\'" } else { "$1 = $1" };
    let (status_filter, status_value) = match status {
        Some(UserStatusFilter::Live(value)) => ("s.status = $4", value),
        Some(UserStatusFilter::NoLiveSubscription) => ("s.id is null and $4 = $4", ""),
        None => ("$4 = $4", ""),
    };
    let pattern = email_contains.map(super::subscriptions::like_pattern).unwrap_or_default();
    let from = format!(
        "from app_user u
         left join billing_subscription s on s.account_id = u.account_id and s.status in {}
         left join billing_plan p on p.id = s.plan_id
         where {email_filter} and {status_filter}",
        super::subscriptions::LIVE_STATUSES
    );
    let total: i64 = sqlx::query_scalar(&format!("select count(*) {from} and $2 = $2 and $3 = $3"))
        .bind(&pattern)
        .bind(limit)
        .bind(offset)
        .bind(status_value)
        .fetch_one(db)
        .await?;
    let rows = sqlx::query(&format!(
        "select u.id, u.account_id, u.email, u.name, u.role, u.created_at, s.plan_id, p.name as plan_name, s.status
         {from}
         order by u.created_at desc, u.id desc limit $2 offset $3"
    ))
    .bind(&pattern)
    .bind(limit)
    .bind(offset)
    .bind(status_value)
    .fetch_all(db)
    .await?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(crate::model::admin::UserSummary {
                id: r.try_get("id")?,
                account_id: r.try_get("account_id")?,
                email: r.try_get("email")?,
                name: r.try_get("name")?,
                role: r.try_get("role")?,
                created_at: r.try_get("created_at")?,
                plan_id: r.try_get("plan_id")?,
                plan_name: r.try_get("plan_name")?,
                status: r.try_get("status")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((items, total))
}
