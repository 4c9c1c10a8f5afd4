//! Account balances and their append-only ledger (`account.balance_micros`,
//! `billing_balance_entry`). Amounts are micro-minor units. Every movement is one conditional
//! update of the cached balance plus one ledger row in the same transaction, so the ledger always
//! sums to the balance and a debit can never take it below zero.

use super::{Dialect, WriteTx, get_enum, into_database_error};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};
use tariff_model::{BalanceEntry, BalanceReason, Currency, balance::decimal_from_micros};

/// The most a balance may hold, micro-minor units (10^18: ten billion roubles); with every
/// single movement far below it too, `balance + delta` can never overflow.
pub const MAX_BALANCE_MICROS: i64 = 1_000_000_000_000_000_000;

/// An account's balance as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountBalance {
    pub balance_micros: i64,
    pub owed_micros: i64,
    pub currency: Currency,
    /// Per-account low-balance threshold in minor units; `None`: the server's default.
    pub low_balance_minor: Option<i64>,
}

/// The balance of `account_id`; `None` for an unknown account.
pub async fn get<'c, E: Executor<'c, Database = Any>>(
    db: E,
    account_id: &str,
) -> Result<Option<AccountBalance>, sqlx::Error> {
    let row = sqlx::query("select balance_micros, owed_micros, currency, low_balance_minor from account where id = $1")
        .bind(account_id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(balance_from_row).transpose()
}

/// The `currency` column of `row`.
fn currency_of(row: &AnyRow) -> Result<Currency, sqlx::Error> {
    let currency: String = row.try_get("currency")?;
    currency.parse().map_err(|e: tariff_model::MoneyError| sqlx::Error::ColumnDecode {
        index: "currency".into(),
        source: e.to_string().into(),
    })
}

/// An [`AccountBalance`] from a row of `account`'s balance columns.
fn balance_from_row(row: &AnyRow) -> Result<AccountBalance, sqlx::Error> {
    Ok(AccountBalance {
        balance_micros: row.try_get("balance_micros")?,
        owed_micros: row.try_get("owed_micros")?,
        currency: currency_of(row)?,
        low_balance_minor: row.try_get("low_balance_minor")?,
    })
}

/// One movement of a balance.
#[derive(Clone, Debug)]
pub struct Movement<'a> {
    pub account_id: &'a str,
    /// Positive credits, negative debits; micro-minor units.
    pub delta_micros: i64,
    pub reason: BalanceReason,
    /// What it is for (a transaction or charge id); unique per account and reason.
    pub reference: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub description: Option<&'a str>,
    pub now: i64,
}

/// What [`apply`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The balance moved; it is now `balance_micros`.
    Moved { balance_micros: i64, currency: Currency },
    /// A debit larger than the balance: nothing changed.
    Insufficient { balance_micros: i64, currency: Currency },
    /// A credit that would take the balance past [`MAX_BALANCE_MICROS`]: nothing changed.
    TooLarge,
    /// An entry with this reason and reference exists: nothing changed.
    Duplicate,
}

/// Moves a balance by `m.delta_micros` with one conditional update (a debit only where the
/// balance covers it, a credit only up to [`MAX_BALANCE_MICROS`]) and appends the ledger entry,
/// in `tx`. `|delta_micros|` must stay below `MAX_BALANCE_MICROS` (callers cap their amounts).
///
/// # Errors
/// The database error; `RowNotFound` for an unknown account.
pub async fn apply(tx: &mut WriteTx, m: &Movement<'_>) -> Result<Applied, sqlx::Error> {
    if let Some(reference) = m.reference {
        let seen: Option<i64> = sqlx::query_scalar(
            "select 1 from billing_balance_entry where account_id = $1 and reason = $2 and reference = $3",
        )
        .bind(m.account_id)
        .bind(m.reason.as_str())
        .bind(reference)
        .fetch_optional(tx.conn())
        .await?;
        if seen.is_some() {
            return Ok(Applied::Duplicate);
        }
    }
    let moved = sqlx::query(
        "update account set balance_micros = balance_micros + $2, updated_at = $3
         where id = $1 and balance_micros + $2 >= 0 and balance_micros <= $4 - $2
         returning balance_micros, currency, low_balance_minor",
    )
    .bind(m.account_id)
    .bind(m.delta_micros)
    .bind(m.now)
    .bind(MAX_BALANCE_MICROS)
    .fetch_optional(tx.conn())
    .await?;
    let Some(row) = moved else {
        let current = get(tx.conn(), m.account_id).await?.ok_or(sqlx::Error::RowNotFound)?;
        if m.delta_micros > 0 {
            return Ok(Applied::TooLarge);
        }
        return Ok(Applied::Insufficient { balance_micros: current.balance_micros, currency: current.currency });
    };
    let balance_micros: i64 = row.try_get("balance_micros")?;
    let currency: String = row.try_get("currency")?;
    sqlx::query(
        "insert into billing_balance_entry
             (id, account_id, delta_micros, balance_after_micros, currency, reason, reference, actor, description, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(m.account_id)
    .bind(m.delta_micros)
    .bind(balance_micros)
    .bind(&currency)
    .bind(m.reason.as_str())
    .bind(m.reference)
    .bind(m.actor)
    .bind(m.description)
    .bind(m.now)
    .execute(tx.conn())
    .await?;
    let currency = currency.parse().map_err(|e: tariff_model::MoneyError| sqlx::Error::ColumnDecode {
        index: "currency".into(),
        source: e.to_string().into(),
    })?;
    let moved = crate::events::BalanceMove {
        account_id: m.account_id,
        reason: m.reason,
        delta_micros: m.delta_micros,
        balance_micros,
        currency,
        low_balance_minor: row.try_get("low_balance_minor")?,
        now: m.now,
    };
    crate::events::balance_moved(tx, moved).await.map_err(into_database_error)?;
    Ok(Applied::Moved { balance_micros, currency })
}

/// Sets the account's own low-balance threshold (minor units; `None`: the server's default).
pub async fn set_low_threshold(
    tx: &mut WriteTx,
    account_id: &str,
    minor: Option<i64>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("update account set low_balance_minor = $2, updated_at = $3 where id = $1")
        .bind(account_id)
        .bind(minor)
        .bind(now)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Adds `micros` to what the account owes (usage a batch recorded that the balance could not pay).
pub async fn add_owed(tx: &mut WriteTx, account_id: &str, micros: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update account set owed_micros = owed_micros + $2, updated_at = $3 where id = $1")
        .bind(account_id)
        .bind(micros)
        .bind(now)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Takes up to `micros` off what the account owes with one conditional update; returns how much
/// was taken, in micro-minor units.
pub async fn settle_owed(tx: &mut WriteTx, account_id: &str, micros: i64, now: i64) -> Result<i64, sqlx::Error> {
    let owed: i64 = sqlx::query_scalar("select owed_micros from account where id = $1")
        .bind(account_id)
        .fetch_optional(tx.conn())
        .await?
        .unwrap_or(0);
    let take = owed.min(micros).max(0);
    if take == 0 {
        return Ok(0);
    }
    let result = sqlx::query(
        "update account set owed_micros = owed_micros - $2, updated_at = $3 where id = $1 and owed_micros >= $2",
    )
    .bind(account_id)
    .bind(take)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(if result.rows_affected() == 1 { take } else { 0 })
}

/// The delta of the entry with `reason` and `reference` on the account, if there is one.
pub async fn find_entry<'c, E: Executor<'c, Database = Any>>(
    db: E,
    account_id: &str,
    reason: BalanceReason,
    reference: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select delta_micros from billing_balance_entry where account_id = $1 and reason = $2 and reference = $3",
    )
    .bind(account_id)
    .bind(reason.as_str())
    .bind(reference)
    .fetch_optional(db)
    .await
}

fn entry_from_row(row: &AnyRow) -> Result<BalanceEntry, sqlx::Error> {
    let delta_micros: i64 = row.try_get("delta_micros")?;
    Ok(BalanceEntry {
        id: row.try_get("id")?,
        delta: decimal_from_micros(delta_micros),
        delta_micros,
        balance_after_micros: row.try_get("balance_after_micros")?,
        currency: currency_of(row)?,
        reason: get_enum(row, "reason")?,
        reference: row.try_get("reference")?,
        actor: row.try_get("actor")?,
        description: row.try_get("description")?,
        created_at: row.try_get("created_at")?,
    })
}

/// The ledger of `account_id`, newest first, and how many entries it has.
pub async fn entries<'c, E: Executor<'c, Database = Any> + Copy>(
    db: E,
    account_id: &str,
    limit: i64,
    offset: i64,
) -> Result<(Vec<BalanceEntry>, i64), sqlx::Error> {
    let rows = sqlx::query(
        "select id, delta_micros, balance_after_micros, currency, reason, reference, actor, description, created_at
         from billing_balance_entry where account_id = $1 order by created_at desc, id desc limit $2 offset $3",
    )
    .bind(account_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    let total: i64 = sqlx::query_scalar("select count(*) from billing_balance_entry where account_id = $1")
        .bind(account_id)
        .fetch_one(db)
        .await?;
    Ok((rows.iter().map(entry_from_row).collect::<Result<_, _>>()?, total))
}

/// The sum of the ledger of `account_id` in micro-minor units (equals its balance).
pub async fn ledger_sum<'c, E: Executor<'c, Database = Any>>(db: E, account_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select cast(coalesce(sum(delta_micros), 0) as bigint) from billing_balance_entry where account_id = $1",
    )
    .bind(account_id)
    .fetch_one(db)
    .await
}

/// Sum of all balances per currency (the prepaid liability), micro-minor units.
pub async fn liability<'c, E: Executor<'c, Database = Any>>(db: E) -> Result<Vec<(Currency, i64)>, sqlx::Error> {
    let rows = sqlx::query("select currency, cast(coalesce(sum(balance_micros), 0) as bigint) as total from account group by currency order by currency")
        .fetch_all(db)
        .await?;
    currency_totals(&rows)
}

/// What charges took from balances since `since` (Unix seconds), per currency, micro-minor units
/// (pay-as-you-go revenue).
pub async fn charged_since<'c, E: Executor<'c, Database = Any>>(
    db: E,
    since: i64,
) -> Result<Vec<(Currency, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "select currency, cast(coalesce(-sum(delta_micros), 0) as bigint) as total from billing_balance_entry
         where reason = 'charge' and created_at >= $1 group by currency order by currency",
    )
    .bind(since)
    .fetch_all(db)
    .await?;
    currency_totals(&rows)
}

/// What charges took from one account's balance in `[from, to)` (Unix seconds), micro-minor units.
pub async fn charged_between<'c, E: Executor<'c, Database = Any>>(
    db: E,
    account_id: &str,
    from: i64,
    to: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select cast(coalesce(-sum(delta_micros), 0) as bigint) from billing_balance_entry
         where account_id = $1 and reason = 'charge' and created_at >= $2 and created_at < $3",
    )
    .bind(account_id)
    .bind(from)
    .bind(to)
    .fetch_one(db)
    .await
}

/// `(currency, total)` rows as pairs.
fn currency_totals(rows: &[AnyRow]) -> Result<Vec<(Currency, i64)>, sqlx::Error> {
    rows.iter().map(|row| Ok((currency_of(row)?, row.try_get("total")?))).collect()
}

/// The balances of `account_ids` (distinct and sorted), held until the transaction ends —
/// `select … for no key update` on PostgreSQL, in id order; SQLite has one writer. The group commit of
/// charges' read (see `balance::group`); unknown accounts are left out.
pub async fn lock_many(
    tx: &mut WriteTx,
    dialect: Dialect,
    account_ids: &[&str],
) -> Result<Vec<(String, AccountBalance)>, sqlx::Error> {
    if account_ids.is_empty() {
        return Ok(Vec::new());
    }
    // `for no key update`: the lock `update account` itself takes, so inserts of rows that
    // reference the account (usage, charges, ledger entries: `for key share`) do not wait for it.
    let lock = if dialect == Dialect::Postgres { " order by id for no key update" } else { "" };
    let sql = format!(
        "select id, balance_micros, owed_micros, currency, low_balance_minor from account where id in {}{lock}",
        super::usage::json_values(dialect)
    );
    let rows = sqlx::query(&sql).bind(serde_json::json!(account_ids).to_string()).fetch_all(tx.conn()).await?;
    rows.iter().map(|row| Ok((row.try_get("id")?, balance_from_row(row)?))).collect()
}

/// A ledger entry decided by a group commit, written by [`settle_group`].
#[derive(Clone, Debug)]
pub struct GroupEntry {
    pub id: String,
    pub account_id: String,
    pub delta_micros: i64,
    pub balance_after_micros: i64,
    pub currency: Currency,
    pub reason: BalanceReason,
    pub reference: Option<String>,
    pub actor: Option<String>,
    pub description: Option<String>,
    pub created_at: i64,
}

/// Writes a group's decided movements under the locks of [`lock_many`]: each account's balance
/// from `before` to `after` (`moves`: `(account_id, before, after)`, micro-minor units), one
/// conditional `update` for all of them that fails the group unless every balance still reads
/// its `before`, and every entry in one `insert`. The ledger keeps summing to the balances.
///
/// # Errors
/// The database error; `RowNotFound` when a balance no longer reads what the group decided on.
pub async fn settle_group(
    tx: &mut WriteTx,
    dialect: Dialect,
    moves: &[(&str, i64, i64)],
    entries: &[GroupEntry],
    now: i64,
) -> Result<(), sqlx::Error> {
    if moves.is_empty() {
        return Ok(());
    }
    let document: Vec<serde_json::Value> = moves
        .iter()
        .map(|(id, before, after)| serde_json::json!({"id": id, "before": before, "after": after}))
        .collect();
    let sql = match dialect {
        Dialect::Postgres => {
            "update account a set balance_micros = r.after, updated_at = $2
             from jsonb_to_recordset($1::jsonb) as r(id text, before bigint, after bigint)
             where a.id = r.id and a.balance_micros = r.before and r.after >= 0"
        }
        Dialect::Sqlite => {
            "update account set balance_micros = r.after, updated_at = ?2
             from (select json_extract(value, '$.id') as id, json_extract(value, '$.before') as before,
                          json_extract(value, '$.after') as after from json_each(?1)) as r
             where account.id = r.id and account.balance_micros = r.before and r.after >= 0"
        }
    };
    let updated = sqlx::query(sql)
        .bind(serde_json::Value::Array(document).to_string())
        .bind(now)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if updated != moves.len() as u64 {
        return Err(sqlx::Error::RowNotFound);
    }
    let document: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "id": e.id, "account_id": e.account_id, "delta_micros": e.delta_micros,
                "balance_after_micros": e.balance_after_micros, "currency": e.currency.code(),
                "reason": e.reason.as_str(), "reference": e.reference, "actor": e.actor,
                "description": e.description, "created_at": e.created_at,
            })
        })
        .collect();
    let sql = format!(
        "insert into billing_balance_entry
             (id, account_id, delta_micros, balance_after_micros, currency, reason, reference, actor, description, created_at)
         {}",
        super::usage::json_rows(
            dialect,
            &[
                ("id", "text"),
                ("account_id", "text"),
                ("delta_micros", "bigint"),
                ("balance_after_micros", "bigint"),
                ("currency", "text"),
                ("reason", "text"),
                ("reference", "text"),
                ("actor", "text"),
                ("description", "text"),
                ("created_at", "bigint"),
            ]
        )
    );
    sqlx::query(&sql).bind(serde_json::Value::Array(document).to_string()).execute(tx.conn()).await?;
    Ok(())
}
