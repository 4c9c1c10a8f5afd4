//! `billing_subscription` rows and the per-plan aggregates behind statistics and MRR.

use super::{WriteTx, get_bool, get_enum, placeholders};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};
use tariff_model::{SubscriptionStatus, TransactionKind, TransactionStatus};

/// `(…)` of the live statuses for an `in`, as literals (see [`super::live_statuses`]).
fn live_in() -> String {
    format!("({})", super::live_statuses())
}

/// A subscription row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionRow {
    pub id: String,
    pub user_id: String,
    pub account_id: String,
    pub plan_id: String,
    pub status: SubscriptionStatus,
    pub yookassa_payment_id: Option<String>,
    pub yookassa_subscription_id: Option<String>,
    pub payment_method_id: Option<String>,
    pub current_period_start: i64,
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    pub trial_end: Option<i64>,
    pub canceled_at: Option<i64>,
    pub billing_anchor: Option<i64>,
    /// A scheduled downgrade: the plan, and when it applies (the period's end).
    pub pending_plan_id: Option<String>,
    pub pending_change_at: Option<i64>,
    /// When it was paused, for status `paused`.
    pub paused_at: Option<i64>,
    pub extra_metadata: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, user_id, account_id, plan_id, status, yookassa_payment_id, yookassa_subscription_id,
    payment_method_id, current_period_start, current_period_end, cancel_at_period_end, trial_end, canceled_at,
    billing_anchor, extra_metadata, created_at, updated_at, pending_plan_id, pending_change_at, paused_at";

fn from_row(row: &AnyRow) -> Result<SubscriptionRow, sqlx::Error> {
    Ok(SubscriptionRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        account_id: row.try_get("account_id")?,
        plan_id: row.try_get("plan_id")?,
        status: get_enum(row, "status")?,
        yookassa_payment_id: row.try_get("yookassa_payment_id")?,
        yookassa_subscription_id: row.try_get("yookassa_subscription_id")?,
        payment_method_id: row.try_get("payment_method_id")?,
        current_period_start: row.try_get("current_period_start")?,
        current_period_end: row.try_get("current_period_end")?,
        cancel_at_period_end: get_bool(row, "cancel_at_period_end")?,
        trial_end: row.try_get("trial_end")?,
        canceled_at: row.try_get("canceled_at")?,
        billing_anchor: row.try_get("billing_anchor")?,
        pending_plan_id: row.try_get("pending_plan_id")?,
        pending_change_at: row.try_get("pending_change_at")?,
        paused_at: row.try_get("paused_at")?,
        extra_metadata: row.try_get("extra_metadata")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// The account's live subscription, if any.
pub async fn find_live<'c, E: Executor<'c, Database = Any>>(
    db: E,
    account_id: &str,
) -> Result<Option<SubscriptionRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from billing_subscription where account_id = $1 and status in {}", live_in());
    let row = sqlx::query(&sql).bind(account_id).fetch_optional(db).await?;
    row.as_ref().map(from_row).transpose()
}

/// The subscription with this id.
pub async fn find_by_id<'c, E: Executor<'c, Database = Any>>(
    db: E,
    id: &str,
) -> Result<Option<SubscriptionRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from billing_subscription where id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(db).await?;
    row.as_ref().map(from_row).transpose()
}

/// The account's most recent subscription of any status.
pub async fn find_latest<'c, E: Executor<'c, Database = Any>>(
    db: E,
    account_id: &str,
) -> Result<Option<SubscriptionRow>, sqlx::Error> {
    let sql = format!(
        "select {COLUMNS} from billing_subscription where account_id = $1 order by created_at desc, id desc limit 1"
    );
    let row = sqlx::query(&sql).bind(account_id).fetch_optional(db).await?;
    row.as_ref().map(from_row).transpose()
}

/// Inserts a subscription.
pub async fn insert(tx: &mut WriteTx, s: &SubscriptionRow) -> Result<(), sqlx::Error> {
    let sql = format!(
        "insert into billing_subscription ({COLUMNS})
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
    );
    sqlx::query(&sql)
        .bind(&s.id)
        .bind(&s.user_id)
        .bind(&s.account_id)
        .bind(&s.plan_id)
        .bind(s.status.as_str())
        .bind(&s.yookassa_payment_id)
        .bind(&s.yookassa_subscription_id)
        .bind(&s.payment_method_id)
        .bind(s.current_period_start)
        .bind(s.current_period_end)
        .bind(s.cancel_at_period_end)
        .bind(s.trial_end)
        .bind(s.canceled_at)
        .bind(s.billing_anchor)
        .bind(&s.extra_metadata)
        .bind(s.created_at)
        .bind(s.updated_at)
        .bind(&s.pending_plan_id)
        .bind(s.pending_change_at)
        .bind(s.paused_at)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Writes the mutable fields of `s` if the row still has `expected_updated_at` (optimistic
/// concurrency: two writers cannot both apply a change computed from the same state).
/// Returns whether the row was written.
pub async fn update_if_unchanged(
    tx: &mut WriteTx,
    s: &SubscriptionRow,
    expected_updated_at: i64,
    expected_status: SubscriptionStatus,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "update billing_subscription set plan_id = $2, status = $3, current_period_start = $4,
             current_period_end = $5, cancel_at_period_end = $6, trial_end = $7, canceled_at = $8,
             billing_anchor = $9, payment_method_id = $10, yookassa_payment_id = $11, updated_at = $12,
             pending_plan_id = $15, pending_change_at = $16, paused_at = $17
         where id = $1 and updated_at = $13 and status = $14",
    )
    .bind(&s.id)
    .bind(&s.plan_id)
    .bind(s.status.as_str())
    .bind(s.current_period_start)
    .bind(s.current_period_end)
    .bind(s.cancel_at_period_end)
    .bind(s.trial_end)
    .bind(s.canceled_at)
    .bind(s.billing_anchor)
    .bind(&s.payment_method_id)
    .bind(&s.yookassa_payment_id)
    .bind(s.updated_at)
    .bind(expected_updated_at)
    .bind(expected_status.as_str())
    .bind(&s.pending_plan_id)
    .bind(s.pending_change_at)
    .bind(s.paused_at)
    .execute(tx.conn())
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The accounts whose live subscription's period has ended by `now`, earliest end first, at
/// most `limit` (for the rollover job).
pub async fn due_for_rollover<'c, E: Executor<'c, Database = Any>>(
    db: E,
    now: i64,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let sql = format!(
        "select account_id from billing_subscription
         where status in {} and current_period_end <= $1 order by current_period_end limit $2",
        live_in()
    );
    sqlx::query_scalar(&sql).bind(now).bind(limit).fetch_all(db).await
}

/// How many subscriptions of a plan are in one of `statuses` (all of them for `None`).
pub async fn count_for_plan<'c, E: Executor<'c, Database = Any>>(
    db: E,
    plan_id: &str,
    statuses: Option<&[SubscriptionStatus]>,
) -> Result<i64, sqlx::Error> {
    match statuses {
        None => {
            sqlx::query_scalar("select count(*) from billing_subscription where plan_id = $1")
                .bind(plan_id)
                .fetch_one(db)
                .await
        }
        Some(statuses) => {
            let sql = format!(
                "select count(*) from billing_subscription where plan_id = $1 and status in ({})",
                placeholders(2, statuses.len())
            );
            let mut query = sqlx::query_scalar(&sql).bind(plan_id);
            for status in statuses {
                query = query.bind(status.as_str());
            }
            query.fetch_one(db).await
        }
    }
}

/// Subscription counts of one plan by status, plus the counts MRR is computed from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanCounts {
    pub plan_id: String,
    pub active: i64,
    pub trialing: i64,
    pub past_due: i64,
    pub canceled: i64,
    pub paused: i64,
    pub total: i64,
    /// `active` + `past_due`: the subscriptions MRR counts.
    pub paying: i64,
    /// `paying` less those with `cancel_at_period_end`: what committed MRR counts.
    pub committed: i64,
}

/// Counts per plan that has subscriptions (others have none), from one aggregate over the
/// `(plan_id, status, cancel_at_period_end)` index: the database counts index entries per group
/// (at most plans × statuses × 2 rows come back) and the groups are summed here.
pub async fn counts_by_plan<'c, E: Executor<'c, Database = Any>>(db: E) -> Result<Vec<PlanCounts>, sqlx::Error> {
    let rows = sqlx::query(
        "select plan_id, status, cancel_at_period_end, cast(count(*) as bigint) as n
         from billing_subscription
         group by plan_id, status, cancel_at_period_end",
    )
    .fetch_all(db)
    .await?;
    let mut counts: std::collections::BTreeMap<String, PlanCounts> = std::collections::BTreeMap::new();
    for r in &rows {
        let plan_id: String = r.try_get("plan_id")?;
        let status: SubscriptionStatus = get_enum(r, "status")?;
        let canceling = get_bool(r, "cancel_at_period_end")?;
        let n: i64 = r.try_get("n")?;
        let c = counts.entry(plan_id.clone()).or_insert_with(|| PlanCounts { plan_id, ..PlanCounts::default() });
        match status {
            SubscriptionStatus::Active => c.active += n,
            SubscriptionStatus::Trialing => c.trialing += n,
            SubscriptionStatus::PastDue => c.past_due += n,
            SubscriptionStatus::Canceled => c.canceled += n,
            SubscriptionStatus::Paused => c.paused += n,
        }
        c.total += n;
        if matches!(status, SubscriptionStatus::Active | SubscriptionStatus::PastDue) {
            c.paying += n;
            if !canceling {
                c.committed += n;
            }
        }
    }
    Ok(counts.into_values().collect())
}

pub use tariff_model::admin::SubscriberRow;

/// A page of a plan's subscribers, newest first, optionally of one status; and the total count.
pub async fn subscribers<'c, E>(
    db: E,
    plan_id: &str,
    status: Option<SubscriptionStatus>,
    email_contains: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<SubscriberRow>, i64), sqlx::Error>
where
    E: Executor<'c, Database = Any> + Copy,
{
    let status_filter = if status.is_some() { "and s.status = $2" } else { "and $2 = $2" };
    let email_filter = if email_contains.is_some() { "and lower(u.email) like $5 escape '\\'" } else { "and $5 = $5" };
    let filter = format!("{status_filter} {email_filter}");
    let status_value = status.map(SubscriptionStatus::as_str).unwrap_or("");
    let pattern = email_contains.map(like_pattern).unwrap_or_default();
    let total: i64 = sqlx::query_scalar(&format!(
        "select count(*) from billing_subscription s join app_user u on u.id = s.user_id
         where s.plan_id = $1 {filter} and $3 = $3 and $4 = $4"
    ))
    .bind(plan_id)
    .bind(status_value)
    .bind(limit)
    .bind(offset)
    .bind(&pattern)
    .fetch_one(db)
    .await?;
    let rows = sqlx::query(&format!(
        "select s.id, s.user_id, u.email, u.name, s.status, s.current_period_start, s.current_period_end,
                s.cancel_at_period_end, s.created_at
         from billing_subscription s join app_user u on u.id = s.user_id
         where s.plan_id = $1 {filter}
         order by s.created_at desc, s.id desc limit $3 offset $4"
    ))
    .bind(plan_id)
    .bind(status_value)
    .bind(limit)
    .bind(offset)
    .bind(&pattern)
    .fetch_all(db)
    .await?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(SubscriberRow {
                subscription_id: r.try_get("id")?,
                user_id: r.try_get("user_id")?,
                email: r.try_get("email")?,
                name: r.try_get("name")?,
                status: get_enum(r, "status")?,
                current_period_start: r.try_get("current_period_start")?,
                current_period_end: r.try_get("current_period_end")?,
                cancel_at_period_end: get_bool(r, "cancel_at_period_end")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((items, total))
}

/// A paid subscription whose renewal charge is due.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DueRenewal {
    pub subscription_id: String,
    pub user_id: String,
    pub account_id: String,
    pub plan_id: String,
    pub payment_method_id: String,
    pub current_period_end: i64,
    pub renewal_attempts: i64,
}

/// Live paid subscriptions (trials included: their first charge) with a saved card whose period
/// has ended and whose next charge is due,
/// without a renewal already in flight at YooKassa; oldest first.
pub async fn due_renewals<'c, E: Executor<'c, Database = Any>>(
    db: E,
    now: i64,
    limit: i64,
) -> Result<Vec<DueRenewal>, sqlx::Error> {
    sqlx::query_as(
        "select s.id as subscription_id, s.user_id, s.account_id, s.plan_id, s.payment_method_id, s.current_period_end,
                s.renewal_attempts
         from billing_subscription s join billing_plan p on p.id = s.plan_id
         where s.status in ($4, $5, $9) and s.cancel_at_period_end = $1 and s.payment_method_id is not null
           and p.price_minor > 0 and s.current_period_end <= $2 and (s.next_renewal_at is null or s.next_renewal_at <= $2)
           and not exists (select 1 from billing_transaction t where t.subscription_id = s.id and t.kind = $6
                           and t.status in ($7, $8) and t.yookassa_payment_id is not null)
         order by s.current_period_end limit $3",
    )
    .bind(false)
    .bind(now)
    .bind(limit)
    .bind(SubscriptionStatus::Active.as_str())
    .bind(SubscriptionStatus::PastDue.as_str())
    .bind(TransactionKind::Renewal.as_str())
    .bind(TransactionStatus::Pending.as_str())
    .bind(TransactionStatus::WaitingForCapture.as_str())
    .bind(SubscriptionStatus::Trialing.as_str())
    .fetch_all(db)
    .await
}

/// Records a failed renewal charge: `past_due`, the attempt count and when to try next. Counts
/// each attempt once (the decline may be seen both in the charge's answer and in a notification).
/// Returns whether it recorded the attempt.
pub async fn record_failed_renewal(
    tx: &mut WriteTx,
    id: &str,
    attempts: i64,
    next_at: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update billing_subscription set status = $5, renewal_attempts = $2, next_renewal_at = $3, updated_at = $4
         where id = $1 and status in ($6, $5) and renewal_attempts < $2",
    )
    .bind(id)
    .bind(attempts)
    .bind(next_at)
    .bind(now)
    .bind(SubscriptionStatus::PastDue.as_str())
    .bind(SubscriptionStatus::Active.as_str())
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Clears the dunning state after a successful payment.
pub async fn reset_dunning(tx: &mut WriteTx, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update billing_subscription set renewal_attempts = 0, next_renewal_at = null where id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// `%text%` for `like … escape '\'`, lower-cased, with `%`, `_` and `\` matched literally.
pub fn like_pattern(text: &str) -> String {
    let escaped: String = text
        .trim()
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("%{escaped}%")
}

/// Subscriptions to paid plans started at or after `since`, and those that ended (canceled) at or
/// after `since`: the admin overview's new and churned counts.
pub async fn movement_since<'c, E>(db: E, since: i64) -> Result<(i64, i64), sqlx::Error>
where
    E: Executor<'c, Database = Any> + Copy,
{
    let new: i64 = sqlx::query_scalar(
        "select count(*) from billing_subscription s join billing_plan p on p.id = s.plan_id
         where p.price_minor > 0 and s.created_at >= $1",
    )
    .bind(since)
    .fetch_one(db)
    .await?;
    let churned: i64 = sqlx::query_scalar(
        "select count(*) from billing_subscription s join billing_plan p on p.id = s.plan_id
         where p.price_minor > 0 and s.status = $2 and coalesce(s.canceled_at, s.updated_at) >= $1",
    )
    .bind(since)
    .bind(SubscriptionStatus::Canceled.as_str())
    .fetch_one(db)
    .await?;
    Ok((new, churned))
}

/// The earliest moment after `after` and no later than `until` at which something is due for a
/// subscription that moves money or access: the end of a period (or trial) of a paid plan, a
/// scheduled change, or a dunning retry. `None` when nothing is due in between. The test clock
/// steps through these in order.
pub async fn next_due_at<'c, E: Executor<'c, Database = Any>>(
    db: E,
    after: i64,
    until: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select min(t) from (
             select s.current_period_end as t from billing_subscription s join billing_plan p on p.id = s.plan_id
             where s.status in ($3, $4, $5) and (p.price_minor > 0 or s.pending_plan_id is not null)
             union all
             select s.next_renewal_at as t from billing_subscription s where s.status = $5 and s.next_renewal_at is not null
             union all
             select s.current_period_end + $6 as t from billing_subscription s
             where s.status = $4 and s.payment_method_id is not null
         ) due where t > $1 and t <= $2",
    )
    .bind(after)
    .bind(until)
    .bind(SubscriptionStatus::Active.as_str())
    .bind(SubscriptionStatus::Trialing.as_str())
    .bind(SubscriptionStatus::PastDue.as_str())
    .bind(86_400_i64)
    .fetch_one(db)
    .await
}
