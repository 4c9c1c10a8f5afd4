//! `billing_transaction` rows: payments, renewals, top-ups and refunds.

use super::{WriteTx, get_enum, into_database_error, placeholders};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};
use tariff_model::money::decimal_from_minor;
use tariff_model::{Transaction, TransactionKind, TransactionStatus};

fn from_row(row: &AnyRow) -> Result<Transaction, sqlx::Error> {
    let amount: i64 = row.try_get("amount")?;
    let currency: String = row.try_get("currency")?;
    Ok(Transaction {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        subscription_id: row.try_get("subscription_id")?,
        plan_id: row.try_get("plan_id")?,
        kind: get_enum(row, "kind")?,
        amount,
        amount_decimal: decimal_from_minor(amount),
        refunded_minor: row.try_get("refunded_minor")?,
        currency: currency.parse().map_err(|e: tariff_model::MoneyError| sqlx::Error::ColumnDecode {
            index: "currency".into(),
            source: e.into(),
        })?,
        status: get_enum(row, "status")?,
        yookassa_payment_id: row.try_get("yookassa_payment_id")?,
        yookassa_status: row.try_get("yookassa_status")?,
        cancellation_reason: row.try_get("cancellation_reason")?,
        description: row.try_get("description")?,
        description_ru: row.try_get("description_ru")?,
        receipt_url: row.try_get("receipt_url")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const COLUMNS: &str = "id, user_id, subscription_id, plan_id, kind, amount, refunded_minor, currency, status,
    yookassa_payment_id, yookassa_status, cancellation_reason, description, description_ru, receipt_url, created_at, updated_at";

/// A page of the account's transactions, newest first, and the total count.
pub async fn list_for_account<'c, E>(
    db: E,
    account_id: &str,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Transaction>, i64), sqlx::Error>
where
    E: Executor<'c, Database = Any> + Copy,
{
    let total: i64 = sqlx::query_scalar("select count(*) from billing_transaction where account_id = $1")
        .bind(account_id)
        .fetch_one(db)
        .await?;
    let rows = sqlx::query(&format!(
        "select {COLUMNS} from billing_transaction where account_id = $1 order by created_at desc, id desc limit $2 offset $3"
    ))
    .bind(account_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok((items, total))
}

/// A transaction to insert (status `pending`, no provider id yet).
#[derive(Clone, Debug)]
pub struct NewTransaction {
    pub id: String,
    pub user_id: String,
    pub account_id: String,
    pub plan_id: Option<String>,
    pub subscription_id: Option<String>,
    /// For refunds: the payment being refunded.
    pub parent_transaction_id: Option<String>,
    pub kind: TransactionKind,
    pub amount: i64,
    pub currency: String,
    pub idempotence_key: String,
    pub description: String,
    pub description_ru: String,
    pub extra_metadata: Option<String>,
    /// For refunds: the refunded payment's YooKassa id.
    pub yookassa_payment_id: Option<String>,
    /// For checkouts and renewals: the plan as sold (JSON), applied when the payment succeeds.
    pub plan_snapshot: Option<String>,
    /// For renewals: the period end being paid and the attempt (1, 2, …) of that charge.
    pub renewal: Option<(i64, i64)>,
    /// What a `subscription` payment buys beyond one period: `upgrade` (prorated, the period
    /// ending `change_period_end` stays) or `card` (a trial's card check, refunded).
    pub plan_change: Option<&'static str>,
    pub change_period_end: Option<i64>,
    /// The gateway request to be sent (JSON of [`crate::gateway::PaymentRequest`]), stored with
    /// the transaction so the sweeper can send it again when the create call gets no answer.
    pub gateway_request: Option<String>,
    pub now: i64,
}

impl NewTransaction {
    /// A pending transaction of `kind` with a fresh id and a fresh idempotence key; the optional
    /// links (plan, subscription, parent, provider id) start empty.
    #[allow(clippy::too_many_arguments)]
    pub fn pending(
        kind: TransactionKind,
        user_id: &str,
        account_id: &str,
        amount: i64,
        currency: &str,
        description: String,
        description_ru: String,
        now: i64,
    ) -> NewTransaction {
        NewTransaction {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: user_id.to_owned(),
            account_id: account_id.to_owned(),
            plan_id: None,
            subscription_id: None,
            parent_transaction_id: None,
            kind,
            amount,
            currency: currency.to_owned(),
            idempotence_key: uuid::Uuid::new_v4().to_string(),
            description,
            description_ru,
            extra_metadata: None,
            yookassa_payment_id: None,
            plan_snapshot: None,
            renewal: None,
            plan_change: None,
            change_period_end: None,
            gateway_request: None,
            now,
        }
    }
}

/// Stores a new transaction (pending; counted for `/metrics` as `created` once committed).
pub async fn insert(tx: &mut WriteTx, t: &NewTransaction) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into billing_transaction (id, user_id, account_id, subscription_id, plan_id, kind, amount, currency, status,
             idempotence_key, description, description_ru, extra_metadata, created_at, updated_at, parent_transaction_id,
             yookassa_payment_id, plan_snapshot, renewal_period_end, renewal_attempt, plan_change, change_period_end,
             gateway_request)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $16, $9, $10, $11, $12, $13, $13, $14, $15, $17, $18, $19, $20, $21, $22)",
    )
    .bind(&t.id)
    .bind(&t.user_id)
    .bind(&t.account_id)
    .bind(&t.subscription_id)
    .bind(&t.plan_id)
    .bind(t.kind.as_str())
    .bind(t.amount)
    .bind(&t.currency)
    .bind(&t.idempotence_key)
    .bind(&t.description)
    .bind(&t.description_ru)
    .bind(&t.extra_metadata)
    .bind(t.now)
    .bind(&t.parent_transaction_id)
    .bind(&t.yookassa_payment_id)
    .bind(TransactionStatus::Pending.as_str())
    .bind(&t.plan_snapshot)
    .bind(t.renewal.map(|(end, _)| end))
    .bind(t.renewal.map(|(_, attempt)| attempt))
    .bind(t.plan_change)
    .bind(t.change_period_end)
    .bind(&t.gateway_request)
    .execute(tx.conn())
    .await?;
    let kind = t.kind.as_str();
    tx.after_commit(move || {
        metrics::counter!("tariff_transactions_total", "kind" => kind, "status" => "created").increment(1);
    });
    Ok(())
}

/// The fields the payment flow needs, by transaction id or by YooKassa payment id.
#[derive(Clone, Debug)]
pub struct TransactionRef {
    pub id: String,
    pub user_id: String,
    pub account_id: String,
    pub plan_id: Option<String>,
    pub kind: TransactionKind,
    pub amount: i64,
    /// Minor units already refunded (or reserved for a refund in flight).
    pub refunded_minor: i64,
    pub currency: String,
    pub status: TransactionStatus,
    pub idempotence_key: String,
    pub yookassa_payment_id: Option<String>,
    pub subscription_id: Option<String>,
    /// The plan as sold (JSON), for checkouts and renewals stored since it is kept.
    pub plan_snapshot: Option<String>,
    /// For renewals: the period end paid and the attempt.
    pub renewal_period_end: Option<i64>,
    pub renewal_attempt: Option<i64>,
    /// `upgrade` or `card` (see [`NewTransaction::plan_change`]).
    pub plan_change: Option<String>,
    pub change_period_end: Option<i64>,
}

fn ref_from_row(row: &AnyRow) -> Result<TransactionRef, sqlx::Error> {
    Ok(TransactionRef {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        account_id: row.try_get("account_id")?,
        plan_id: row.try_get("plan_id")?,
        kind: get_enum(row, "kind")?,
        amount: row.try_get("amount")?,
        refunded_minor: row.try_get("refunded_minor")?,
        currency: row.try_get("currency")?,
        status: get_enum(row, "status")?,
        idempotence_key: row.try_get("idempotence_key")?,
        yookassa_payment_id: row.try_get("yookassa_payment_id")?,
        subscription_id: row.try_get("subscription_id")?,
        plan_snapshot: row.try_get("plan_snapshot")?,
        renewal_period_end: row.try_get("renewal_period_end")?,
        renewal_attempt: row.try_get("renewal_attempt")?,
        plan_change: row.try_get("plan_change")?,
        change_period_end: row.try_get("change_period_end")?,
    })
}

const REF_COLUMNS: &str =
    "id, user_id, account_id, plan_id, kind, amount, refunded_minor, currency, status, idempotence_key,
    yookassa_payment_id, subscription_id, plan_snapshot, renewal_period_end, renewal_attempt, plan_change,
    change_period_end";

/// The transaction with this id.
pub async fn find<'c, E: Executor<'c, Database = Any>>(db: E, id: &str) -> Result<Option<TransactionRef>, sqlx::Error> {
    let row = sqlx::query(&format!("select {REF_COLUMNS} from billing_transaction where id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(ref_from_row).transpose()
}

pub async fn find_by_payment<'c, E: Executor<'c, Database = Any>>(
    db: E,
    payment_id: &str,
) -> Result<Option<TransactionRef>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "select {REF_COLUMNS} from billing_transaction where yookassa_payment_id = $1 and kind <> $2"
    ))
    .bind(payment_id)
    .bind(TransactionKind::Refund.as_str())
    .fetch_optional(db)
    .await?;
    row.as_ref().map(ref_from_row).transpose()
}

/// One transaction of an account, as the API shows it.
pub async fn get_for_account<'c, E: Executor<'c, Database = Any>>(
    db: E,
    id: &str,
    account_id: &str,
) -> Result<Option<Transaction>, sqlx::Error> {
    let row = sqlx::query(&format!("select {COLUMNS} from billing_transaction where id = $1 and account_id = $2"))
        .bind(id)
        .bind(account_id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Records the provider's payment id and status after the create call.
pub async fn set_payment(
    tx: &mut WriteTx,
    id: &str,
    payment_id: &str,
    status: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update billing_transaction set yookassa_payment_id = $2, yookassa_status = $3, updated_at = $4 where id = $1",
    )
    .bind(id)
    .bind(payment_id)
    .bind(status)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// What a [`transition`] also records on the transaction (each `None` keeps the stored value).
#[derive(Clone, Debug, Default)]
pub struct TransitionFacts<'a> {
    /// The provider's status name, stored as `yookassa_status`.
    pub provider_status: Option<&'a str>,
    pub payment_method_id: Option<&'a str>,
    pub cancellation_reason: Option<&'a str>,
    pub subscription_id: Option<&'a str>,
}

/// Moves a transaction to `to` only from one of the states in `from` (never backwards).
/// Returns whether it moved; a repeated or late notification moves nothing.
pub async fn transition(
    tx: &mut WriteTx,
    id: &str,
    from: &[TransactionStatus],
    to: TransactionStatus,
    facts: TransitionFacts<'_>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "update billing_transaction set status = $2, yookassa_status = coalesce($3, yookassa_status),
             payment_method_id = coalesce($4, payment_method_id), cancellation_reason = coalesce($5, cancellation_reason),
             subscription_id = coalesce($6, subscription_id), updated_at = $7
         where id = $1 and status in ({})
         returning kind",
        placeholders(8, from.len())
    );
    // What it was: a call that only records facts (`from` = `to`) moves nothing and sends no event.
    let before: Option<String> = sqlx::query_scalar("select status from billing_transaction where id = $1")
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
    let mut query = sqlx::query(&sql)
        .bind(id)
        .bind(to.as_str())
        .bind(facts.provider_status)
        .bind(facts.payment_method_id)
        .bind(facts.cancellation_reason)
        .bind(facts.subscription_id)
        .bind(now);
    for status in from {
        query = query.bind(status.as_str());
    }
    let kind: Option<String> = query.fetch_optional(tx.conn()).await?.map(|row| row.try_get("kind")).transpose()?;
    let Some(kind) = kind else { return Ok(false) };
    if before.as_deref() != Some(to.as_str()) {
        crate::events::transaction_moved(tx, id, to, now).await.map_err(into_database_error)?;
    }
    tx.after_commit(move || {
        metrics::counter!("tariff_transactions_total", "kind" => kind, "status" => to.as_str()).increment(1);
    });
    Ok(true)
}

/// Reserves `amount` of a succeeded payment for a refund: one conditional update, so concurrent
/// refunds can never together exceed what was paid. Returns whether it was reserved.
pub async fn reserve_refund(tx: &mut WriteTx, id: &str, amount: i64, now: i64) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "update billing_transaction set refunded_minor = refunded_minor + $2, updated_at = $3
         where id = $1 and status = $4 and kind <> $5 and refunded_minor + $2 <= amount",
    )
    .bind(id)
    .bind(amount)
    .bind(now)
    .bind(TransactionStatus::Succeeded.as_str())
    .bind(TransactionKind::Refund.as_str())
    .execute(tx.conn())
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Gives back a reservation whose refund YooKassa refused.
pub async fn release_refund(tx: &mut WriteTx, id: &str, amount: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update billing_transaction set refunded_minor = refunded_minor - $2, updated_at = $3 where id = $1 and refunded_minor >= $2")
        .bind(id)
        .bind(amount)
        .bind(now)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Marks a fully refunded payment `refunded` (partially refunded ones stay `succeeded`).
pub async fn mark_refunded_if_full(tx: &mut WriteTx, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update billing_transaction set status = $3, updated_at = $2 where id = $1 and status = $4 and refunded_minor = amount")
        .bind(id)
        .bind(now)
        .bind(TransactionStatus::Refunded.as_str())
        .bind(TransactionStatus::Succeeded.as_str())
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Records YooKassa's refund id and status on a refund transaction; `status` is what the refund
/// transaction becomes (`None` keeps it pending).
pub async fn set_refund(
    tx: &mut WriteTx,
    id: &str,
    refund_id: &str,
    provider_status: &str,
    status: Option<TransactionStatus>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let before: Option<String> = sqlx::query_scalar("select status from billing_transaction where id = $1")
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
    sqlx::query(
        "update billing_transaction set yookassa_refund_id = $2, yookassa_status = $3,
             status = coalesce($5, status), updated_at = $4
         where id = $1 and kind = $6",
    )
    .bind(id)
    .bind(refund_id)
    .bind(provider_status)
    .bind(now)
    .bind(status.map(TransactionStatus::as_str))
    .bind(TransactionKind::Refund.as_str())
    .execute(tx.conn())
    .await?;
    if let Some(to) = status
        && before.as_deref().is_some_and(|b| b != to.as_str())
    {
        crate::events::transaction_moved(tx, id, to, now).await.map_err(into_database_error)?;
    }
    Ok(())
}

/// The refund transaction with this YooKassa refund id.
pub async fn find_by_refund<'c, E: Executor<'c, Database = Any>>(
    db: E,
    refund_id: &str,
) -> Result<Option<TransactionRef>, sqlx::Error> {
    let row = sqlx::query(&format!("select {REF_COLUMNS} from billing_transaction where yookassa_refund_id = $1"))
        .bind(refund_id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(ref_from_row).transpose()
}

/// One transaction by id, as the API shows it.
pub async fn get_by_id<'c, E: Executor<'c, Database = Any>>(
    db: E,
    id: &str,
) -> Result<Option<Transaction>, sqlx::Error> {
    let row = sqlx::query(&format!("select {COLUMNS} from billing_transaction where id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// YooKassa payment ids of payments still `pending` here whose last change is older than
/// `older_than` (Unix seconds), oldest first: candidates for polling.
pub async fn stale_pending_payments<'c, E: Executor<'c, Database = Any>>(
    db: E,
    older_than: i64,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select yookassa_payment_id from billing_transaction
         where status in ($3, $4) and kind <> $5 and yookassa_payment_id is not null
           and updated_at <= $1
         order by updated_at limit $2",
    )
    .bind(older_than)
    .bind(limit)
    .bind(TransactionStatus::Pending.as_str())
    .bind(TransactionStatus::WaitingForCapture.as_str())
    .bind(TransactionKind::Refund.as_str())
    .fetch_all(db)
    .await
}

/// Marks a transaction as looked at now, so polling moves on to others.
pub async fn touch(tx: &mut WriteTx, payment_id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update billing_transaction set updated_at = $2 where yookassa_payment_id = $1 and kind <> $3")
        .bind(payment_id)
        .bind(now)
        .bind(TransactionKind::Refund.as_str())
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// A renewal of this subscription that was stored but never reached YooKassa (its create call
/// had no answer): retried with the same idempotence key.
pub async fn unsent_renewal<'c, E: Executor<'c, Database = Any>>(
    db: E,
    subscription_id: &str,
) -> Result<Option<TransactionRef>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "select {REF_COLUMNS} from billing_transaction
         where subscription_id = $1 and kind = $2 and status = $3 and yookassa_payment_id is null
         order by created_at desc limit 1"
    ))
    .bind(subscription_id)
    .bind(TransactionKind::Renewal.as_str())
    .bind(TransactionStatus::Pending.as_str())
    .fetch_optional(db)
    .await?;
    row.as_ref().map(ref_from_row).transpose()
}

/// Inserts the renewal transaction `t` (which carries its period end and attempt) unless one for
/// the same subscription, period and attempt exists; returns the one that holds the claim:
/// `Ok(None)` when `t` was inserted, `Ok(Some(existing))` otherwise.
pub async fn claim_renewal(tx: &mut WriteTx, t: &NewTransaction) -> Result<Option<TransactionRef>, sqlx::Error> {
    let (period_end, attempt) = t.renewal.unwrap_or_default();
    let existing = sqlx::query(&format!(
        "select {REF_COLUMNS} from billing_transaction
         where subscription_id = $1 and kind = $2 and renewal_period_end = $3 and renewal_attempt = $4"
    ))
    .bind(&t.subscription_id)
    .bind(TransactionKind::Renewal.as_str())
    .bind(period_end)
    .bind(attempt)
    .fetch_optional(tx.conn())
    .await?;
    if let Some(row) = existing {
        return ref_from_row(&row).map(Some);
    }
    insert(tx, t).await?;
    Ok(None)
}

/// Pending checkouts that never reached the provider (no payment id) and were made before
/// `older_than`: their payer is gone. (Renewals are retried with their key instead.)
pub async fn unsent_before<'c, E: Executor<'c, Database = Any>>(
    db: E,
    older_than: i64,
    limit: i64,
) -> Result<Vec<Unanswered>, sqlx::Error> {
    unanswered_between(db, i64::MIN, older_than, limit).await
}

/// A pending transaction whose create call never got an answer: its key and the request sent.
#[derive(Clone, Debug)]
pub struct Unanswered {
    pub id: String,
    pub idempotence_key: String,
    /// JSON of the [`crate::gateway::PaymentRequest`]; `None` for rows stored before it was kept.
    pub gateway_request: Option<String>,
    pub created_at: i64,
}

/// Checkouts, top-ups and plan changes (not renewals: their job sends its own claim again)
/// created in `[newer_than, older_than)` that are pending without a YooKassa payment id, oldest
/// first.
pub async fn unanswered_between<'c, E: Executor<'c, Database = Any>>(
    db: E,
    newer_than: i64,
    older_than: i64,
    limit: i64,
) -> Result<Vec<Unanswered>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, idempotence_key, gateway_request, created_at from billing_transaction
         where status = $1 and kind in ($2, $3) and yookassa_payment_id is null
           and created_at >= $4 and created_at < $5
         order by created_at limit $6",
    )
    .bind(TransactionStatus::Pending.as_str())
    .bind(TransactionKind::Subscription.as_str())
    .bind(TransactionKind::Topup.as_str())
    .bind(newer_than)
    .bind(older_than)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Unanswered {
                id: row.try_get("id")?,
                idempotence_key: row.try_get("idempotence_key")?,
                gateway_request: row.try_get("gateway_request")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}

/// Succeeded trial card checks (`plan_change = 'card'`) not refunded at all, last changed before
/// `older_than`: their refund right after the payment did not go through.
pub async fn unrefunded_card_checks<'c, E: Executor<'c, Database = Any>>(
    db: E,
    older_than: i64,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select id from billing_transaction
         where plan_change = 'card' and status = $1 and refunded_minor = 0 and updated_at < $2
         order by updated_at limit $3",
    )
    .bind(TransactionStatus::Succeeded.as_str())
    .bind(older_than)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Marks a pending transaction `failed` because YooKassa refused it.
pub async fn mark_rejected(tx: &mut WriteTx, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let facts = TransitionFacts { provider_status: Some("rejected"), ..Default::default() };
    transition(tx, id, &[TransactionStatus::Pending], TransactionStatus::Failed, facts, now).await
}

/// A refund transaction as the refund reconciler needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundRef {
    pub id: String,
    pub status: TransactionStatus,
    /// The payment refunded (its transaction).
    pub parent_transaction_id: Option<String>,
    /// The refunded payment's YooKassa id.
    pub yookassa_payment_id: Option<String>,
    /// YooKassa's refund id, once the create call was answered.
    pub yookassa_refund_id: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub description: Option<String>,
    pub idempotence_key: String,
}

const REFUND_COLUMNS: &str =
    "id, status, parent_transaction_id, yookassa_payment_id, yookassa_refund_id, amount, currency,
    description, idempotence_key";

fn refund_from_row(row: &AnyRow) -> Result<RefundRef, sqlx::Error> {
    Ok(RefundRef {
        id: row.try_get("id")?,
        status: get_enum(row, "status")?,
        parent_transaction_id: row.try_get("parent_transaction_id")?,
        yookassa_payment_id: row.try_get("yookassa_payment_id")?,
        yookassa_refund_id: row.try_get("yookassa_refund_id")?,
        amount: row.try_get("amount")?,
        currency: row.try_get("currency")?,
        description: row.try_get("description")?,
        idempotence_key: row.try_get("idempotence_key")?,
    })
}

/// Refunds still `pending` whose last change is older than `older_than`, oldest first.
pub async fn pending_refunds<'c, E: Executor<'c, Database = Any>>(
    db: E,
    older_than: i64,
    limit: i64,
) -> Result<Vec<RefundRef>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "select {REFUND_COLUMNS} from billing_transaction
         where kind = $1 and status = $2 and updated_at <= $3 order by updated_at limit $4"
    ))
    .bind(TransactionKind::Refund.as_str())
    .bind(TransactionStatus::Pending.as_str())
    .bind(older_than)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter().map(refund_from_row).collect()
}

/// The refund transaction YooKassa knows as `refund_id`.
pub async fn refund_by_provider_id<'c, E: Executor<'c, Database = Any>>(
    db: E,
    refund_id: &str,
) -> Result<Option<RefundRef>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "select {REFUND_COLUMNS} from billing_transaction where kind = $1 and yookassa_refund_id = $2"
    ))
    .bind(TransactionKind::Refund.as_str())
    .bind(refund_id)
    .fetch_optional(db)
    .await?;
    row.as_ref().map(refund_from_row).transpose()
}

/// Marks a transaction as looked at now (by id), so a sweeper moves on to others.
pub async fn touch_id(tx: &mut WriteTx, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update billing_transaction set updated_at = $2 where id = $1")
        .bind(id)
        .bind(now)
        .execute(tx.conn())
        .await?;
    Ok(())
}
