//! `account` and `app_user` rows: the billing customer and the people who sign in for it.

use super::{WriteTx, get_enum, get_enum_opt, placeholders};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};
use tariff_model::User;
use tariff_model::admin::UserSummary;
use tariff_model::{Locale, Role, SubscriptionStatus};

const USER_COLUMNS: &str = "id, account_id, email, name, role, locale, created_at";

fn user_from_row(row: &AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: get_enum(row, "role")?,
        locale: get_enum(row, "locale")?,
        created_at: row.try_get("created_at")?,
    })
}

/// A user as the billing rules act for them: their personal account and the account they bill
/// to now (`account_id`: the personal one, or the organisation of `current_account_id` while
/// they are still a member, with their role and caps there).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillingUserRow {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub personal_account_id: String,
    pub account_id: String,
    pub org_role: Option<tariff_model::OrgRole>,
    pub org_caps: Option<String>,
}

/// The columns of [`BillingUserRow`] over `app_user u` and [`MEMBERSHIP_JOIN`].
pub const BILLING_USER_COLUMNS: &str = "u.id as user_id, u.email, u.role, u.account_id as personal_account_id,
    coalesce(m.account_id, u.account_id) as billing_account_id, m.role as org_role, m.caps as org_caps";

/// Joins `app_user u` to the membership of its current organisation (none when personal, or
/// no longer a member: then the personal account is the billing account).
pub const MEMBERSHIP_JOIN: &str =
    "left join organization_member m on m.account_id = u.current_account_id and m.user_id = u.id";

/// Reads a [`BillingUserRow`] selected with [`BILLING_USER_COLUMNS`].
pub fn billing_user_from_row(row: &AnyRow) -> Result<BillingUserRow, sqlx::Error> {
    Ok(BillingUserRow {
        id: row.try_get("user_id")?,
        email: row.try_get("email")?,
        role: get_enum(row, "role")?,
        personal_account_id: row.try_get("personal_account_id")?,
        account_id: row.try_get("billing_account_id")?,
        org_role: get_enum_opt(row, "org_role")?,
        org_caps: row.try_get("org_caps")?,
    })
}

/// The user with this id as the billing rules act for them.
pub async fn find_billing_user<'c, E: Executor<'c, Database = Any>>(
    db: E,
    id: &str,
) -> Result<Option<BillingUserRow>, sqlx::Error> {
    let sql = format!("select {BILLING_USER_COLUMNS} from app_user u {MEMBERSHIP_JOIN} where u.id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(db).await?;
    row.as_ref().map(billing_user_from_row).transpose()
}

/// Points the user's billing at `account_id` (`None`: their personal account).
pub async fn set_current_account(
    tx: &mut WriteTx,
    user_id: &str,
    account_id: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.principals_changed();
    sqlx::query("update app_user set current_account_id = $1, updated_at = $2 where id = $3")
        .bind(account_id)
        .bind(now)
        .bind(user_id)
        .execute(tx.conn())
        .await
        .map(|_| ())
}

/// Inserts a personal (`kind = 'user'`) account.
pub async fn insert_account(
    tx: &mut WriteTx,
    id: &str,
    name: &str,
    currency: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into account (id, kind, name, currency, created_at, updated_at)
         values ($1, 'user', $2, $3, $4, $4)",
    )
    .bind(id)
    .bind(name)
    .bind(currency)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A new user: `email` must already be lower-case; the unique index `app_user_email_key`
/// rejects a second user with the same address.
#[derive(Clone, Debug)]
pub struct NewUserRow<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub now: i64,
}

/// Inserts a user (language English until they choose).
pub async fn insert_user(tx: &mut WriteTx, user: &NewUserRow<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into app_user (id, account_id, email, password_hash, name, role, locale, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(user.id)
    .bind(user.account_id)
    .bind(user.email)
    .bind(user.password_hash)
    .bind(user.name)
    .bind(user.role.as_str())
    .bind(Locale::En.code())
    .bind(user.now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The user with this email (compared case-insensitively).
pub async fn find_by_email<'c, E: Executor<'c, Database = Any>>(
    db: E,
    email: &str,
) -> Result<Option<User>, sqlx::Error> {
    let sql = format!("select {USER_COLUMNS} from app_user where lower(email) = lower($1)");
    let row = sqlx::query(&sql).bind(email).fetch_optional(db).await?;
    row.as_ref().map(user_from_row).transpose()
}

/// The user with this id.
pub async fn find_by_id<'c, E: Executor<'c, Database = Any>>(db: E, id: &str) -> Result<Option<User>, sqlx::Error> {
    let sql = format!("select {USER_COLUMNS} from app_user where id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(db).await?;
    row.as_ref().map(user_from_row).transpose()
}

/// How many users have the `admin` role.
pub async fn count_admins<'c, E: Executor<'c, Database = Any>>(db: E) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from app_user where role = $1").bind(Role::Admin.as_str()).fetch_one(db).await
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

/// Stores a user's interface language.
pub async fn set_locale(tx: &mut WriteTx, user_id: &str, locale: Locale, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update app_user set locale = $1, updated_at = $2 where id = $3 and locale <> $1")
        .bind(locale.code())
        .bind(now)
        .bind(user_id)
        .execute(tx.conn())
        .await
        .map(|_| ())
}

/// Which users [`list_with_plans`] keeps by subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserStatusFilter {
    /// Those whose live subscription has this status.
    Live(SubscriptionStatus),
    /// Those without a live subscription (canceled, or never subscribed).
    NoLiveSubscription,
}

/// A page of users, newest first, optionally only those whose email contains `email_contains`
/// and of one subscription status, each with the plan and status of their account's live
/// subscription; and the total that match.
pub async fn list_with_plans<'c, E>(
    db: E,
    email_contains: Option<&str>,
    status: Option<UserStatusFilter>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<UserSummary>, i64), sqlx::Error>
where
    E: Executor<'c, Database = Any> + Copy,
{
    let email_filter = if email_contains.is_some() { "lower(u.email) like $1 escape '\\'" } else { "$1 = $1" };
    let (status_filter, status_value) = match status {
        Some(UserStatusFilter::Live(value)) => ("s.status = $4", value.as_str()),
        Some(UserStatusFilter::NoLiveSubscription) => ("s.id is null and $4 = $4", ""),
        None => ("$4 = $4", ""),
    };
    let pattern = email_contains.map(super::subscriptions::like_pattern).unwrap_or_default();
    let live = SubscriptionStatus::LIVE;
    let from = format!(
        "from app_user u
         left join billing_subscription s on s.account_id = u.account_id and s.status in ({})
         left join billing_plan p on p.id = s.plan_id
         where {email_filter} and {status_filter}",
        placeholders(5, live.len())
    );
    let count_sql = format!("select count(*) {from} and $2 = $2 and $3 = $3");
    let mut count = sqlx::query_scalar(&count_sql).bind(pattern.clone()).bind(limit).bind(offset).bind(status_value);
    for s in live {
        count = count.bind(s.as_str());
    }
    let total: i64 = count.fetch_one(db).await?;
    let list_sql = format!(
        "select u.id, u.account_id, u.email, u.name, u.role, u.created_at, s.plan_id, p.name as plan_name, s.status
         {from}
         order by u.created_at desc, u.id desc limit $2 offset $3"
    );
    let mut list = sqlx::query(&list_sql).bind(pattern).bind(limit).bind(offset).bind(status_value);
    for s in live {
        list = list.bind(s.as_str());
    }
    let rows = list.fetch_all(db).await?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(UserSummary {
                id: r.try_get("id")?,
                account_id: r.try_get("account_id")?,
                email: r.try_get("email")?,
                name: r.try_get("name")?,
                role: get_enum(r, "role")?,
                created_at: r.try_get("created_at")?,
                plan_id: r.try_get("plan_id")?,
                plan_name: r.try_get("plan_name")?,
                status: get_enum_opt(r, "status")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((items, total))
}
