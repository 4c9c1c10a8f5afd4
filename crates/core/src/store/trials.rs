//! `billing_trial` rows: the trials an account has had, one per plan family.

use super::WriteTx;

/// Records that the account starts a trial of `family`; `false` when it had one already (the
/// primary key decides, so two concurrent starts cannot both succeed).
pub async fn insert_if_absent(
    tx: &mut WriteTx,
    account_id: &str,
    family: &str,
    plan_id: &str,
    subscription_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "insert into billing_trial (account_id, plan_family, plan_id, subscription_id, started_at)
         values ($1, $2, $3, $4, $5) on conflict (account_id, plan_family) do nothing",
    )
    .bind(account_id)
    .bind(family)
    .bind(plan_id)
    .bind(subscription_id)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Whether the account has had a trial of `family`.
pub async fn had<'c, E: sqlx::Executor<'c, Database = sqlx::Any>>(
    db: E,
    account_id: &str,
    family: &str,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("select count(*) from billing_trial where account_id = $1 and plan_family = $2")
        .bind(account_id)
        .bind(family)
        .fetch_one(db)
        .await?;
    Ok(n > 0)
}
