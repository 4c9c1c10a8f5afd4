//! Manual balance adjustments by an administrator: a credit or a debit with a required reason,
//! never below zero, recorded in the ledger and the audit log in one transaction.

use crate::audit::{self, Actor};
use crate::store::balances::{self, Applied, Movement};
use crate::store::{Store, users};
use crate::{Error, Result};
use tariff_model::balance::{AdjustmentBody, micros_from_minor};
use tariff_model::money::yookassa_amount;
use tariff_model::{Balance, BalanceReason, Entity, Message};

/// Longest accepted reason, in characters.
pub const MAX_REASON_LEN: usize = 500;
/// Largest adjustment either way, minor units (100,000,000.00).
pub const MAX_ADJUSTMENT_MINOR: i64 = 10_000_000_000;

/// Credits (positive `amount`) or debits (negative) the billing account of `user_id`. Audited as
/// `balance.adjust` with the amount, the reason and the balance before and after.
///
/// # Errors
/// [`Error::NotFound`] for an unknown user; [`Error::Validation`]: `amount` not exact, zero, or a
/// debit beyond the balance; `reason` empty or too long; [`Error::Database`].
pub async fn adjust(
    db: &Store,
    now: i64,
    actor: &Actor,
    user_id: &str,
    body: &AdjustmentBody,
    default_low_minor: i64,
) -> Result<Balance> {
    let user = users::find_by_id(db.reader(), user_id).await?.ok_or_else(|| Error::not_found(Entity::User, user_id))?;
    let whose = Whose { label: format!("user {}", user.id), entity: Entity::User, id: user_id };
    adjust_account(db, now, actor, &user.account_id, &whose, body, default_low_minor).await
}

/// Credits or debits an organisation's shared balance, as [`adjust`] does a user's.
///
/// # Errors
/// [`Error::NotFound`] for an unknown organisation; otherwise as [`adjust`].
pub async fn adjust_organization(
    db: &Store,
    now: i64,
    actor: &Actor,
    org_id: &str,
    body: &AdjustmentBody,
    default_low_minor: i64,
) -> Result<Balance> {
    let org = crate::store::orgs::get(db.reader(), org_id)
        .await?
        .ok_or_else(|| Error::not_found(Entity::Organization, org_id))?;
    let whose = Whose { label: format!("organization {}", org.name), entity: Entity::Organization, id: org_id };
    adjust_account(db, now, actor, &org.id, &whose, body, default_low_minor).await
}

/// Whose balance an adjustment moves, for its audit text and a 404.
struct Whose<'a> {
    label: String,
    entity: Entity,
    id: &'a str,
}

async fn adjust_account(
    db: &Store,
    now: i64,
    actor: &Actor,
    account_id: &str,
    whose: &Whose<'_>,
    body: &AdjustmentBody,
    default_low_minor: i64,
) -> Result<Balance> {
    let mut errors = Vec::new();
    let minor = match body.amount.minor() {
        Ok(0) => {
            errors.push(tariff_model::InvalidField::new("amount", Message::AmountNotZero));
            0
        }
        Ok(m) if m.abs() > MAX_ADJUSTMENT_MINOR => {
            errors.push(tariff_model::InvalidField::new("amount", Message::AmountTooLarge));
            0
        }
        Ok(m) => m,
        Err(e) => {
            errors.push(tariff_model::InvalidField::new("amount", e.into()));
            0
        }
    };
    let reason = body.reason.trim();
    if reason.is_empty() {
        errors.push(tariff_model::InvalidField::new("reason", Message::AdjustmentReasonRequired));
    } else if body.reason.chars().count() > MAX_REASON_LEN {
        errors.push(tariff_model::InvalidField::new("reason", Message::TextTooLong { max: MAX_REASON_LEN as u32 }));
    }
    let micros = micros_from_minor(minor);
    if micros.is_none() {
        errors.push(tariff_model::InvalidField::new("amount", Message::AmountTooLarge));
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let micros = micros.unwrap_or_default();
    let mut tx = db.begin_write().await?;
    let before = balances::get(tx.conn(), account_id).await?.ok_or_else(|| Error::not_found(whose.entity, whose.id))?;
    let movement = Movement {
        account_id,
        delta_micros: micros,
        reason: BalanceReason::Adjustment,
        reference: None,
        actor: Some(&actor.user_id),
        description: Some(reason),
        now,
    };
    let after = match balances::apply(&mut tx, &movement).await? {
        Applied::Moved { balance_micros, .. } => balance_micros,
        Applied::Insufficient { balance_micros, currency } => {
            return Err(Error::invalid("amount", Message::BalanceWouldGoNegative { balance_micros, currency }));
        }
        Applied::TooLarge => return Err(Error::invalid("amount", Message::AmountTooLarge)),
        Applied::Duplicate => return Err(Error::Internal("an adjustment has no reference".into())),
    };
    let verb = if minor > 0 { "credited" } else { "debited" };
    let description =
        format!("Balance of {} {verb} {} {}: {reason}", whose.label, yookassa_amount(minor.abs()), before.currency);
    let changes = serde_json::json!({
        "balance_micros": {"before": before.balance_micros, "after": after},
        "amount_minor": {"before": null, "after": minor},
        "reason": {"before": null, "after": reason},
    });
    audit::record(&mut tx, actor, "balance.adjust", "account", account_id, description, changes, now).await?;
    tx.commit().await?;
    tracing::info!(target: crate::LOG_TARGET, account_id = %account_id, amount_minor = minor, "balance of {} {verb} by {}", whose.label, actor.user_id);
    super::balance_of(db, account_id, default_low_minor).await
}

/// Sets the low-balance threshold of `user_id`'s billing account (`threshold`, decimal in major
/// units; `None` returns it to the server's default). Audited as `balance.threshold`.
///
/// # Errors
/// [`Error::NotFound`] for an unknown user; [`Error::Validation`] on `low_balance_threshold` for
/// an amount that is not exact, negative or too large; [`Error::Database`].
pub async fn set_threshold(
    db: &Store,
    now: i64,
    actor: &Actor,
    user_id: &str,
    threshold: Option<&tariff_model::money::DecimalText>,
    default_low_minor: i64,
) -> Result<Balance> {
    let user = users::find_by_id(db.reader(), user_id).await?.ok_or_else(|| Error::not_found(Entity::User, user_id))?;
    let threshold_minor =
        threshold.map(|t| t.minor().map_err(|e| Error::invalid("low_balance_threshold", e.into()))).transpose()?;
    if threshold_minor.is_some_and(|m| m < 0) {
        return Err(Error::invalid("low_balance_threshold", Message::NotNegative));
    }
    if threshold_minor.is_some_and(|m| m > MAX_ADJUSTMENT_MINOR) {
        return Err(Error::invalid("low_balance_threshold", Message::AmountTooLarge));
    }
    let mut tx = db.begin_write().await?;
    let before =
        balances::get(tx.conn(), &user.account_id).await?.ok_or_else(|| Error::not_found(Entity::User, user_id))?;
    balances::set_low_threshold(&mut tx, &user.account_id, threshold_minor, now).await?;
    let description = match threshold_minor {
        Some(m) => {
            format!("Low-balance threshold of user {} set to {} {}", user.id, yookassa_amount(m), before.currency)
        }
        None => format!("Low-balance threshold of user {} reset to the default", user.id),
    };
    let changes =
        serde_json::json!({ "low_balance_minor": { "before": before.low_balance_minor, "after": threshold_minor } });
    audit::record(&mut tx, actor, "balance.threshold", "account", &user.account_id, description, changes, now).await?;
    tx.commit().await?;
    super::balance_of(db, &user.account_id, default_low_minor).await
}
