//! Organisations: `account` rows of kind `organization`, `organization_member`,
//! `organization_invitation` and the per-member counters `billing_member_counter`.

use super::{WriteTx, get_enum, get_enum_opt};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};
use tariff_model::Currency;
use tariff_model::org::{InvitationStatus, OrgRole, OrganizationSummary};

fn currency_of(r: &AnyRow) -> Result<Currency, sqlx::Error> {
    let text: String = r.try_get("currency")?;
    text.parse().map_err(|e: tariff_model::MoneyError| sqlx::Error::ColumnDecode {
        index: "currency".into(),
        source: Box::new(e),
    })
}

/// An organisation's account row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgRow {
    pub id: String,
    pub name: String,
    pub currency: Currency,
    pub balance_micros: i64,
    pub created_at: i64,
}

/// Inserts an organisation's account.
pub async fn insert(tx: &mut WriteTx, id: &str, name: &str, currency: Currency, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into account (id, kind, name, currency, created_at, updated_at)
         values ($1, 'organization', $2, $3, $4, $4)",
    )
    .bind(id)
    .bind(name)
    .bind(currency.code())
    .bind(now)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

/// The organisation with this id (not personal accounts).
pub async fn get<'c, E: Executor<'c, Database = Any>>(db: E, id: &str) -> Result<Option<OrgRow>, sqlx::Error> {
    let row = sqlx::query(
        "select id, name, currency, balance_micros, created_at from account where id = $1 and kind = 'organization'",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.map(|r| {
        Ok(OrgRow {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            currency: currency_of(&r)?,
            balance_micros: r.try_get("balance_micros")?,
            created_at: r.try_get("created_at")?,
        })
    })
    .transpose()
}

/// Renames an organisation.
pub async fn rename(tx: &mut WriteTx, id: &str, name: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update account set name = $1, updated_at = $2 where id = $3 and kind = 'organization'")
        .bind(name)
        .bind(now)
        .bind(id)
        .execute(tx.conn())
        .await
        .map(|_| ())
}

/// One membership with the member's name and email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRow {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub role: OrgRole,
    pub caps: Option<String>,
    pub created_at: i64,
}

const MEMBER_SELECT: &str = "select m.user_id, u.email, u.name, m.role, m.caps, m.created_at
    from organization_member m join app_user u on u.id = m.user_id";

fn member_from_row(r: &AnyRow) -> Result<MemberRow, sqlx::Error> {
    Ok(MemberRow {
        user_id: r.try_get("user_id")?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        role: get_enum(r, "role")?,
        caps: r.try_get("caps")?,
        created_at: r.try_get("created_at")?,
    })
}

/// `user_id`'s membership of `account_id`, if any.
pub async fn member<'c, E: Executor<'c, Database = Any>>(
    db: E,
    account_id: &str,
    user_id: &str,
) -> Result<Option<MemberRow>, sqlx::Error> {
    let sql = format!("{MEMBER_SELECT} where m.account_id = $1 and m.user_id = $2");
    let row = sqlx::query(&sql).bind(account_id).bind(user_id).fetch_optional(db).await?;
    row.as_ref().map(member_from_row).transpose()
}

/// Every member, owners first, then admins, then by joining time.
pub async fn members<'c, E: Executor<'c, Database = Any>>(
    db: E,
    account_id: &str,
) -> Result<Vec<MemberRow>, sqlx::Error> {
    let sql = format!(
        "{MEMBER_SELECT} where m.account_id = $1
         order by case m.role when 'owner' then 0 when 'admin' then 1 else 2 end, m.created_at, m.user_id"
    );
    let rows = sqlx::query(&sql).bind(account_id).fetch_all(db).await?;
    rows.iter().map(member_from_row).collect()
}

/// Adds a member; `false` when they are a member already.
pub async fn insert_member(
    tx: &mut WriteTx,
    account_id: &str,
    user_id: &str,
    role: OrgRole,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.principals_changed();
    let done = sqlx::query(
        "insert into organization_member (account_id, user_id, role, caps, created_at, updated_at)
         values ($1, $2, $3, null, $4, $4) on conflict do nothing",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(role.as_str())
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores a member's role and caps (JSON, `None`: no caps).
pub async fn update_member(
    tx: &mut WriteTx,
    account_id: &str,
    user_id: &str,
    role: OrgRole,
    caps: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.principals_changed();
    let done = sqlx::query(
        "update organization_member set role = $1, caps = $2, updated_at = $3 where account_id = $4 and user_id = $5",
    )
    .bind(role.as_str())
    .bind(caps)
    .bind(now)
    .bind(account_id)
    .bind(user_id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a member, and points their billing back at their personal account if it pointed
/// here. `false` when they were not a member.
pub async fn delete_member(tx: &mut WriteTx, account_id: &str, user_id: &str, now: i64) -> Result<bool, sqlx::Error> {
    tx.principals_changed();
    let done = sqlx::query("delete from organization_member where account_id = $1 and user_id = $2")
        .bind(account_id)
        .bind(user_id)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "update app_user set current_account_id = null, updated_at = $1 where id = $2 and current_account_id = $3",
    )
    .bind(now)
    .bind(user_id)
    .bind(account_id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Owners of the organisation, with their rows locked on PostgreSQL (`for update`), so two
/// owners demoting each other at once cannot leave none.
pub async fn lock_owners(tx: &mut WriteTx, dialect: super::Dialect, account_id: &str) -> Result<i64, sqlx::Error> {
    let lock = if dialect == super::Dialect::Postgres { " for update" } else { "" };
    let sql = format!("select user_id from organization_member where account_id = $1 and role = 'owner'{lock}");
    let rows = sqlx::query(&sql).bind(account_id).fetch_all(tx.conn()).await?;
    Ok(rows.len() as i64)
}

fn summary_from_row(r: &AnyRow) -> Result<OrganizationSummary, sqlx::Error> {
    let balance_micros: i64 = r.try_get("balance_micros")?;
    Ok(OrganizationSummary {
        id: r.try_get("id")?,
        account_id: r.try_get("id")?,
        name: r.try_get("name")?,
        role: get_enum_opt(r, "my_role")?,
        plan_id: r.try_get("plan_id")?,
        plan_name: r.try_get("plan_name")?,
        subscription_status: get_enum_opt(r, "status")?,
        members: r.try_get("members")?,
        currency: currency_of(r)?,
        balance: tariff_model::balance::decimal_from_micros(balance_micros),
        balance_micros,
        created_at: r.try_get("created_at")?,
    })
}

fn summary_select(my_role: &str) -> String {
    format!(
        "select a.id, a.name, a.currency, a.balance_micros, a.created_at, {my_role} as my_role,
                s.plan_id, p.name as plan_name, s.status,
                (select count(*) from organization_member c where c.account_id = a.id) as members
         from account a
         left join billing_subscription s on s.account_id = a.id and s.status in ({})
         left join billing_plan p on p.id = s.plan_id",
        super::live_statuses()
    )
}

/// The organisations `user_id` belongs to, with their role, by name.
pub async fn of_user<'c, E: Executor<'c, Database = Any>>(
    db: E,
    user_id: &str,
) -> Result<Vec<OrganizationSummary>, sqlx::Error> {
    let sql = format!(
        "{} join organization_member me on me.account_id = a.id and me.user_id = $1
         where a.kind = 'organization' order by lower(a.name), a.id",
        summary_select("me.role")
    );
    let rows = sqlx::query(&sql).bind(user_id).fetch_all(db).await?;
    rows.iter().map(summary_from_row).collect()
}

/// A page of every organisation (the admin's list), newest first, optionally only those whose
/// name contains `name_contains` (or a member's email does); and the total that match.
pub async fn list_all<'c, E>(
    db: E,
    name_contains: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<OrganizationSummary>, i64), sqlx::Error>
where
    E: Executor<'c, Database = Any> + Copy,
{
    let filter = if name_contains.is_some() {
        "(lower(a.name) like $1 escape '\\' or exists (select 1 from organization_member f join app_user fu
            on fu.id = f.user_id where f.account_id = a.id and lower(fu.email) like $1 escape '\\'))"
    } else {
        "$1 = $1"
    };
    let pattern = name_contains.map(super::subscriptions::like_pattern).unwrap_or_default();
    let total: i64 =
        sqlx::query_scalar(&format!("select count(*) from account a where a.kind = 'organization' and {filter}"))
            .bind(pattern.clone())
            .fetch_one(db)
            .await?;
    let sql = format!(
        "{} where a.kind = 'organization' and {filter} order by a.created_at desc, a.id desc limit $2 offset $3",
        summary_select("null")
    );
    let rows = sqlx::query(&sql).bind(pattern).bind(limit).bind(offset).fetch_all(db).await?;
    Ok((rows.iter().map(summary_from_row).collect::<Result<Vec<_>, _>>()?, total))
}

/// An invitation row (`status` as stored: never `expired`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvitationRow {
    pub id: String,
    pub account_id: String,
    pub organization_name: String,
    pub email: String,
    pub role: OrgRole,
    pub status: InvitationStatus,
    pub invited_by: String,
    pub expires_at: i64,
    pub created_at: i64,
}

const INVITATION_SELECT: &str = "select i.id, i.account_id, a.name as organization_name, i.email, i.role, i.status,
        u.email as invited_by, i.expires_at, i.created_at
    from organization_invitation i join account a on a.id = i.account_id join app_user u on u.id = i.invited_by";

fn invitation_from_row(r: &AnyRow) -> Result<InvitationRow, sqlx::Error> {
    Ok(InvitationRow {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        organization_name: r.try_get("organization_name")?,
        email: r.try_get("email")?,
        role: get_enum(r, "role")?,
        status: get_enum(r, "status")?,
        invited_by: r.try_get("invited_by")?,
        expires_at: r.try_get("expires_at")?,
        created_at: r.try_get("created_at")?,
    })
}

/// A new invitation to store.
#[derive(Clone, Debug)]
pub struct NewInvitation<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub email: &'a str,
    pub role: OrgRole,
    pub invited_by: &'a str,
    pub expires_at: i64,
    pub now: i64,
}

/// Stores a pending invitation; the unique index `organization_invitation_pending_key` refuses
/// a second pending one for the same organisation and address.
pub async fn insert_invitation(tx: &mut WriteTx, i: &NewInvitation<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into organization_invitation (id, account_id, email, role, invited_by, status, expires_at, created_at, updated_at)
         values ($1, $2, $3, $4, $5, 'pending', $6, $7, $7)",
    )
    .bind(i.id)
    .bind(i.account_id)
    .bind(i.email)
    .bind(i.role.as_str())
    .bind(i.invited_by)
    .bind(i.expires_at)
    .bind(i.now)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

/// Ends pending invitations of `account_id` to `email` that expired before `now` (so a new one
/// may be sent).
pub async fn retire_expired(tx: &mut WriteTx, account_id: &str, email: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update organization_invitation set status = 'revoked', updated_at = $1
         where account_id = $2 and email = $3 and status = 'pending' and expires_at <= $1",
    )
    .bind(now)
    .bind(account_id)
    .bind(email)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

/// The invitation with this id.
pub async fn invitation<'c, E: Executor<'c, Database = Any>>(
    db: E,
    id: &str,
) -> Result<Option<InvitationRow>, sqlx::Error> {
    let sql = format!("{INVITATION_SELECT} where i.id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(db).await?;
    row.as_ref().map(invitation_from_row).transpose()
}

/// Pending, unexpired invitations to `email` (lower-case), newest first.
pub async fn invitations_for_email<'c, E: Executor<'c, Database = Any>>(
    db: E,
    email: &str,
    now: i64,
) -> Result<Vec<InvitationRow>, sqlx::Error> {
    let sql = format!(
        "{INVITATION_SELECT} where i.email = $1 and i.status = 'pending' and i.expires_at > $2
         order by i.created_at desc, i.id desc"
    );
    let rows = sqlx::query(&sql).bind(email).bind(now).fetch_all(db).await?;
    rows.iter().map(invitation_from_row).collect()
}

/// Pending, unexpired invitations of an organisation, newest first.
pub async fn invitations_of<'c, E: Executor<'c, Database = Any>>(
    db: E,
    account_id: &str,
    now: i64,
) -> Result<Vec<InvitationRow>, sqlx::Error> {
    let sql = format!(
        "{INVITATION_SELECT} where i.account_id = $1 and i.status = 'pending' and i.expires_at > $2
         order by i.created_at desc, i.id desc"
    );
    let rows = sqlx::query(&sql).bind(account_id).bind(now).fetch_all(db).await?;
    rows.iter().map(invitation_from_row).collect()
}

/// Moves a pending, unexpired invitation to `status`; `false` when it was not pending any more
/// (answered, revoked or expired meanwhile): the conditional update decides races.
pub async fn answer_invitation(
    tx: &mut WriteTx,
    id: &str,
    status: InvitationStatus,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update organization_invitation set status = $1, updated_at = $2
         where id = $3 and status = 'pending' and expires_at > $2",
    )
    .bind(status.as_str())
    .bind(now)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Adds `amount` to a member's counter of `cap` for the period if the result stays within
/// `limit`, and returns the new total, or `None` when it would pass it. One conditional
/// upsert, like the pool's own counter (`usage::consume`).
#[allow(clippy::too_many_arguments)]
pub async fn consume_member(
    tx: &mut WriteTx,
    account_id: &str,
    user_id: &str,
    cap: &str,
    period_start: i64,
    period_end: i64,
    amount: i64,
    limit: i64,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "insert into billing_member_counter (account_id, user_id, cap, period_start, period_end, used, updated_at)
         select $1, $2, $3, $4, $5, $6, $7 where $6 <= $8
         on conflict (account_id, user_id, cap, period_start) do update
             set used = billing_member_counter.used + excluded.used, updated_at = excluded.updated_at
             where billing_member_counter.used + excluded.used <= $8
         returning used",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(cap)
    .bind(period_start)
    .bind(period_end)
    .bind(amount)
    .bind(now)
    .bind(limit)
    .fetch_optional(tx.conn())
    .await
}

/// What a member took of `cap` in the period starting at `period_start`.
pub async fn member_used<'c, E: Executor<'c, Database = Any>>(
    db: E,
    account_id: &str,
    user_id: &str,
    cap: &str,
    period_start: i64,
) -> Result<i64, sqlx::Error> {
    let used: Option<i64> = sqlx::query_scalar(
        "select used from billing_member_counter where account_id = $1 and user_id = $2 and cap = $3 and period_start = $4",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(cap)
    .bind(period_start)
    .fetch_optional(db)
    .await?;
    Ok(used.unwrap_or(0))
}

/// One member's totals of one metric or feature in a period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberTotal {
    pub user_id: String,
    pub email: String,
    pub name: String,
    /// The metric's or the feature's name.
    pub key: String,
    pub units: i64,
    pub charged_micros: i64,
}

fn total_from_row(r: &AnyRow) -> Result<MemberTotal, sqlx::Error> {
    Ok(MemberTotal {
        user_id: r.try_get("user_id")?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        key: r.try_get("k")?,
        units: r.try_get("units")?,
        charged_micros: r.try_get("charged")?,
    })
}

/// Usage events of the period by member and metric (`billing_usage`), and feature charges of
/// the period by member and feature (`billing_charge`).
pub async fn totals_by_member<'c, E>(
    db: E,
    account_id: &str,
    period_start: i64,
) -> Result<(Vec<MemberTotal>, Vec<MemberTotal>), sqlx::Error>
where
    E: Executor<'c, Database = Any> + Copy,
{
    let usage = sqlx::query(
        "select g.user_id, u.email, u.name, g.k, g.units, g.charged from (
             select user_id, metric as k, cast(sum(amount) as bigint) as units, cast(sum(charged_micros) as bigint) as charged
             from billing_usage where account_id = $1 and period_start = $2 group by user_id, metric
         ) g join app_user u on u.id = g.user_id order by u.email, g.k",
    )
    .bind(account_id)
    .bind(period_start)
    .fetch_all(db)
    .await?;
    let charges = sqlx::query(
        "select g.user_id, u.email, u.name, g.k, g.units, g.charged from (
             select user_id, feature as k, cast(sum(units) as bigint) as units, cast(sum(charged_micros) as bigint) as charged
             from billing_charge where account_id = $1 and period_start = $2 group by user_id, feature
         ) g join app_user u on u.id = g.user_id order by u.email, g.k",
    )
    .bind(account_id)
    .bind(period_start)
    .fetch_all(db)
    .await?;
    Ok((
        usage.iter().map(total_from_row).collect::<Result<_, _>>()?,
        charges.iter().map(total_from_row).collect::<Result<_, _>>()?,
    ))
}
