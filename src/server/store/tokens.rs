//! `api_token` rows. Only the SHA-256 of a token is stored; the token itself is shown once.

use sqlx::{Any, Executor};

/// An unrevoked token joined with its user: what authenticating a request needs.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TokenOwner {
    pub token_id: String,
    pub scope: String,
    pub last_used_at: Option<i64>,
    pub user_id: String,
    pub account_id: String,
    pub role: String,
    pub email: String,
}

/// A token as listed to its owner or an operator (never the hash).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct TokenRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub scope: String,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

/// The unrevoked token whose hash is `token_hash`, with its owner.
pub async fn find_active_by_hash<'c, E: Executor<'c, Database = Any>>(
    db: E,
    token_hash: &str,
) -> Result<Option<TokenOwner>, sqlx::Error> {
    sqlx::query_as(
        "select t.id as token_id, t.scope, t.last_used_at, u.id as user_id, u.account_id, u.role, u.email
         from api_token t join app_user u on u.id = t.user_id
         where t.token_hash = $1 and t.revoked_at is null",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await
}

pub async fn insert<'c, E: Executor<'c, Database = Any>>(
    db: E,
    id: &str,
    user_id: &str,
    name: &str,
    token_hash: &str,
    scope: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into api_token (id, user_id, name, token_hash, scope, created_at) values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(user_id)
    .bind(name)
    .bind(token_hash)
    .bind(scope)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Revokes the token `id` if it belongs to `user_id` and is not revoked yet. Returns whether it was.
pub async fn revoke<'c, E: Executor<'c, Database = Any>>(
    db: E,
    id: &str,
    user_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let result =
        sqlx::query("update api_token set revoked_at = $3 where id = $1 and user_id = $2 and revoked_at is null")
            .bind(id)
            .bind(user_id)
            .bind(now)
            .execute(db)
            .await?;
    Ok(result.rows_affected() == 1)
}

/// Records use of a token, at most once a minute per token.
pub async fn touch<'c, E: Executor<'c, Database = Any>>(db: E, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update api_token set last_used_at = $2 where id = $1 and (last_used_at is null or last_used_at < $2 - 60)",
    )
    .bind(id)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// A user's tokens, newest first.
pub async fn list_for_user<'c, E: Executor<'c, Database = Any>>(
    db: E,
    user_id: &str,
) -> Result<Vec<TokenRow>, sqlx::Error> {
    sqlx::query_as(
        "select id, user_id, name, scope, last_used_at, revoked_at, created_at from api_token
         where user_id = $1 order by created_at desc, id",
    )
    .bind(user_id)
    .fetch_all(db)
    .await
}
