//! `api_token` rows. Only the SHA-256 of a token is stored; the token itself is shown once.

use super::{WriteTx, get_enum};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};
use tariff_model::Scope;

/// An unrevoked token joined with its user: what authenticating a request needs.
#[derive(Clone, Debug)]
pub struct TokenOwner {
    pub token_id: String,
    pub scope: Scope,
    pub last_used_at: Option<i64>,
    pub user: super::users::BillingUserRow,
}

/// A token as listed to its owner or an operator (never the hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub scope: Scope,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

/// The unrevoked token whose hash is `token_hash`, with its owner.
pub async fn find_active_by_hash<'c, E: Executor<'c, Database = Any>>(
    db: E,
    token_hash: &str,
) -> Result<Option<TokenOwner>, sqlx::Error> {
    let sql = format!(
        "select t.id as token_id, t.scope, t.last_used_at, {}
         from api_token t join app_user u on u.id = t.user_id {}
         where t.token_hash = $1 and t.revoked_at is null",
        super::users::BILLING_USER_COLUMNS,
        super::users::MEMBERSHIP_JOIN
    );
    let row = sqlx::query(&sql).bind(token_hash).fetch_optional(db).await?;
    row.map(|r| {
        Ok(TokenOwner {
            token_id: r.try_get("token_id")?,
            scope: get_enum(&r, "scope")?,
            last_used_at: r.try_get("last_used_at")?,
            user: super::users::billing_user_from_row(&r)?,
        })
    })
    .transpose()
}

/// Stores a new token's hash.
pub async fn insert(
    tx: &mut WriteTx,
    id: &str,
    user_id: &str,
    name: &str,
    token_hash: &str,
    scope: Scope,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into api_token (id, user_id, name, token_hash, scope, created_at) values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(user_id)
    .bind(name)
    .bind(token_hash)
    .bind(scope.as_str())
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Revokes the token `id` if it belongs to `user_id` and is not revoked yet. Returns whether it was.
pub async fn revoke(tx: &mut WriteTx, id: &str, user_id: &str, now: i64) -> Result<bool, sqlx::Error> {
    tx.principals_changed();
    let result =
        sqlx::query("update api_token set revoked_at = $3 where id = $1 and user_id = $2 and revoked_at is null")
            .bind(id)
            .bind(user_id)
            .bind(now)
            .execute(tx.conn())
            .await?;
    Ok(result.rows_affected() == 1)
}

/// Records use of a token, at most once a minute per token.
pub async fn touch(tx: &mut WriteTx, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update api_token set last_used_at = $2 where id = $1 and (last_used_at is null or last_used_at < $2 - 60)",
    )
    .bind(id)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

fn token_from_row(r: &AnyRow) -> Result<TokenRow, sqlx::Error> {
    Ok(TokenRow {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        name: r.try_get("name")?,
        scope: get_enum(r, "scope")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
        created_at: r.try_get("created_at")?,
    })
}

/// A user's tokens, newest first.
pub async fn list_for_user<'c, E: Executor<'c, Database = Any>>(
    db: E,
    user_id: &str,
) -> Result<Vec<TokenRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, user_id, name, scope, last_used_at, revoked_at, created_at from api_token
         where user_id = $1 order by created_at desc, id",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?;
    rows.iter().map(token_from_row).collect()
}
