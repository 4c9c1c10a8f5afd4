//! Member caps (issue 13 §5): what one member may take per period from the organisation's pool
//! — units of a metric, or money from the balance (`spend`). Every member's take is counted in
//! `billing_member_counter`, in the same transaction and with the same kind of conditional
//! update as the pool's own counter or debit, so neither the pool nor a cap can be overshot
//! however many clients race: when either update refuses, the whole transaction rolls back.

use crate::store::{WriteTx, orgs as store};
use crate::tokens::UserRef;
use crate::{Error, Result};
use std::collections::BTreeMap;
use tariff_model::balance::micros_from_minor;
use tariff_model::money::DecimalText;
use tariff_model::org::{MemberCaps, SPEND_CAP};
use tariff_model::{InvalidField, Message, Metric};

/// The most a counter without a cap may hold; far from `i64::MAX`, so additions cannot overflow.
const UNCAPPED: i64 = i64::MAX / 4;

/// Reads caps as the API takes them: `{"requests": 10, "spend": 50.00}` — whole units per
/// period for a metric, a decimal in major units (at most two places) for `spend`; every value
/// ≥ 0. Errors name the field (`caps.requests`).
///
/// # Errors
/// [`Error::Validation`] for an unknown key or a bad value.
pub fn parse(map: &BTreeMap<String, DecimalText>) -> Result<MemberCaps> {
    let mut caps = MemberCaps::default();
    let mut errors = Vec::new();
    for (key, value) in map {
        let field = format!("caps.{key}");
        if key == SPEND_CAP {
            match value.minor() {
                Ok(minor) if minor >= 0 => match micros_from_minor(minor) {
                    Some(micros) => caps.spend_micros = Some(micros),
                    None => errors.push(InvalidField::new(field, Message::AmountTooLarge)),
                },
                Ok(_) => errors.push(InvalidField::new(field, Message::NotNegative)),
                Err(e) => errors.push(InvalidField::new(field, e.into())),
            }
        } else if key.parse::<Metric>().is_ok() {
            match value.0.trim().parse::<i64>() {
                Ok(units) if units < 0 => errors.push(InvalidField::new(field, Message::NotNegative)),
                Ok(units) if units > crate::usage::MAX_COUNTER => {
                    errors.push(InvalidField::new(field, Message::AmountTooLarge))
                }
                Ok(units) => {
                    caps.metrics.insert(key.clone(), units);
                }
                Err(_) => errors.push(InvalidField::new(field, Message::WholeNumber)),
            }
        } else {
            errors.push(InvalidField::new(field, Message::CapUnknown { value: key.clone() }));
        }
    }
    if errors.is_empty() { Ok(caps) } else { Err(Error::Validation(errors)) }
}

/// Counts `amount` of `cap` (a metric's name, or [`SPEND_CAP`] in micro-minor units) against
/// `user`'s own counter for the period, in `tx`, when `user` bills an organisation; refuses when
/// it would pass the member's cap. Nothing to do on a personal account.
///
/// # Errors
/// [`Error::MemberCapExceeded`] (429) when the cap would be passed (the caller rolls back);
/// [`Error::Database`].
pub(crate) async fn take(
    tx: &mut WriteTx,
    user: &UserRef,
    cap: &str,
    period: (i64, i64),
    amount: i64,
    now: i64,
) -> Result<()> {
    let Some(membership) = &user.membership else {
        return Ok(());
    };
    if amount <= 0 {
        return Ok(());
    }
    let limit = if cap == SPEND_CAP { membership.caps.spend_micros } else { membership.caps.metric(cap) };
    let bound = limit.unwrap_or(UNCAPPED);
    let taken =
        store::consume_member(tx, &user.account_id, &user.id, cap, period.0, period.1, amount, bound, now).await?;
    if taken.is_some() {
        return Ok(());
    }
    let used = store::member_used(tx.conn(), &user.account_id, &user.id, cap, period.0).await?;
    tracing::info!(
        target: crate::LOG_TARGET, cap, limit = bound, used, requested = amount, account_id = %user.account_id,
        "member cap reached: {amount} {cap} refused for user {}", user.id
    );
    Err(Error::MemberCapExceeded { cap: cap.to_owned(), limit: bound, used, requested: amount })
}

/// What is left of `user`'s own cap on `cap` this period (`None`: not capped), for read-only
/// checks.
///
/// # Errors
/// [`Error::Database`].
pub(crate) async fn left<'c, E: sqlx::Executor<'c, Database = sqlx::Any>>(
    db: E,
    user: &UserRef,
    cap: &str,
    period_start: i64,
) -> Result<Option<(i64, i64)>> {
    let Some(caps) = user.caps() else {
        return Ok(None);
    };
    let limit = if cap == SPEND_CAP { caps.spend_micros } else { caps.metric(cap) };
    let Some(limit) = limit else {
        return Ok(None);
    };
    let used = store::member_used(db, &user.account_id, &user.id, cap, period_start).await?;
    Ok(Some((limit, used)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_take_metrics_and_spend_and_name_bad_fields() {
        let map = BTreeMap::from([("requests".to_owned(), DecimalText::from("10")), ("spend".into(), "50.00".into())]);
        let caps = parse(&map).unwrap();
        assert_eq!(caps.metric("requests"), Some(10));
        assert_eq!(caps.spend_micros, Some(5_000_000_000));
        let bad = BTreeMap::from([("minutes".to_owned(), DecimalText::from("1")), ("images".into(), "-1".into())]);
        let Err(Error::Validation(fields)) = parse(&bad) else { panic!("accepted bad caps") };
        let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["caps.images", "caps.minutes"]);
        assert!(parse(&BTreeMap::from([("requests".to_owned(), DecimalText::from("1.5"))])).is_err());
    }
}
