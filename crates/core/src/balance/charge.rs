//! Charging a feature (seed 004 `charge()`): units come from the plan's included limit for the
//! period first, the rest from the balance at the list price less the plan's discount. All in
//! one transaction: the included units with one conditional counter update, the balance with one
//! conditional debit; when the balance cannot pay, nothing is recorded (402). Charges not made
//! by an organisation member (whose own spending cap counts too) are committed in groups by
//! [`super::group`] under the same rules; this file's transaction is their fallback.

use super::{PaygStanding, feature_counter, group, standing};
use crate::features::{available, discount_of};
use crate::organizations::caps;
use crate::store::balances::{self, Applied, Movement};
use crate::store::charges::{self, ChargeRow};
use crate::store::{Store, features as feature_store, usage as counters};
use crate::tokens::UserRef;
use crate::usage::{MAX_EVENT_AMOUNT, MAX_METADATA_BYTES};
use crate::{Error, NoSubscriptionPolicy, Result};
use tariff_model::balance::{
    ChargeBody, FeatureOffer, FeaturePrice, cost_micros, decimal_from_micros, minor_from_micros,
};
use tariff_model::org::SPEND_CAP;
use tariff_model::{BalanceReason, Charged, Currency, Entity, Feature, InvalidField, Message};

fn validate(body: &ChargeBody) -> Result<()> {
    let mut errors = Vec::new();
    if body.units <= 0 {
        errors.push(InvalidField::new("units", Message::PositiveWholeNumber));
    } else if body.units > MAX_EVENT_AMOUNT {
        errors.push(InvalidField::new("units", Message::AmountTooLarge));
    }
    let max = crate::usage::track::MAX_REF_LEN;
    if body.event_id.as_ref().is_some_and(|v| v.is_empty() || v.chars().count() > max as usize) {
        errors.push(InvalidField::new("event_id", Message::ReferenceLength { max }));
    }
    if body.metadata.as_ref().is_some_and(|m| !m.is_object() && !m.is_null()) {
        errors.push(InvalidField::new("metadata", Message::NotAnObject));
    } else if body.metadata.as_ref().is_some_and(|m| m.to_string().len() > MAX_METADATA_BYTES as usize) {
        errors.push(InvalidField::new("metadata", Message::MetadataTooLarge { max_bytes: MAX_METADATA_BYTES }));
    }
    if errors.is_empty() { Ok(()) } else { Err(Error::Validation(errors)) }
}

/// The answer of a stored charge (for a repeated `event_id`: `duplicate: true`).
fn answer(row: &ChargeRow, currency: Currency, duplicate: bool) -> Charged {
    Charged {
        feature: row.feature.clone(),
        units: row.units,
        from_included: row.from_included,
        charged_units: row.charged_units,
        charged: decimal_from_micros(row.charged_micros),
        charged_minor: minor_from_micros(row.charged_micros),
        charged_micros: row.charged_micros,
        balance: decimal_from_micros(row.balance_after_micros),
        balance_minor: minor_from_micros(row.balance_after_micros),
        balance_micros: row.balance_after_micros,
        currency,
        duplicate,
    }
}

/// Charges `body.units` of a feature to `user`'s account.
///
/// # Errors
/// [`Error::Validation`] for non-positive or oversized units, bad `event_id` or `metadata`, or a
/// feature priced in another currency than the account's (`feature`); [`Error::NotFound`] for
/// an unknown or inactive feature; [`Error::FeatureNotAvailable`] (403) when the plan may not use
/// it; [`Error::Forbidden`] without a subscription under the `deny` policy;
/// [`Error::InsufficientBalance`] (402) when the balance cannot pay — nothing is recorded then;
/// [`Error::MemberCapExceeded`] (429) when an organisation member's spending cap would be passed;
/// [`Error::Database`].
pub async fn charge(
    db: &Store,
    now: i64,
    policy: NoSubscriptionPolicy,
    user: &UserRef,
    body: ChargeBody,
) -> Result<Charged> {
    validate(&body)?;
    let feature = feature_store::get(db.reader(), &body.feature)
        .await?
        .filter(|f| f.is_active)
        .ok_or_else(|| Error::not_found(Entity::Feature, &body.feature))?;
    if let Some(event_id) = &body.event_id
        && let Some(row) = charges::find_by_event(db.reader(), &user.account_id, event_id).await?
    {
        let currency = row.currency.parse().map_err(|e: tariff_model::MoneyError| Error::Internal(e.to_string()))?;
        return Ok(answer(&row, currency, true));
    }
    let s = standing(db, now, policy, &user.account_id).await?;
    if !available(&feature, s.plan.as_ref()) {
        tracing::info!(target: crate::LOG_TARGET, feature = %feature.name, account_id = %user.account_id, "charge refused for user {}: feature not on the plan", user.id);
        return Err(Error::FeatureNotAvailable { feature: feature.name });
    }
    if user.membership.is_none() {
        let pending = group::Pending {
            user: user.clone(),
            feature: feature.clone(),
            standing: s.clone(),
            body: body.clone(),
            now,
        };
        match group::charge(db, pending).await {
            group::Outcome::Charged(row, currency, duplicate) => return Ok(answer(&row, currency, duplicate)),
            group::Outcome::Refused(e) => return Err(e),
            group::Outcome::Single => {}
        }
    }
    let account =
        balances::get(db.reader(), &user.account_id).await?.ok_or_else(|| Error::not_found(Entity::User, &user.id))?;
    if feature.currency != account.currency {
        return Err(Error::invalid("feature", Message::CurrencyMismatch { expected: account.currency }));
    }
    let mut tx = db.begin_write().await?;
    let (row, applied) = match charge_in(&mut tx, now, user, &feature, &s, &body).await {
        Ok(done) => done,
        Err(e) => {
            tx.rollback().await?;
            return Err(e);
        }
    };
    match applied {
        Applied::Insufficient { balance_micros, currency } => {
            tx.rollback().await?;
            // The same event_id charged concurrently by a request that won: its answer stands.
            if let Some(event_id) = &body.event_id
                && let Some(first) = charges::find_by_event(db.reader(), &user.account_id, event_id).await?
            {
                return Ok(answer(&first, currency, true));
            }
            tracing::info!(target: crate::LOG_TARGET, feature = %feature.name, required_micros = row.charged_micros, balance_micros, "charge refused for user {}: balance too low", user.id);
            Err(Error::InsufficientBalance {
                required_micros: row.charged_micros,
                balance_micros,
                currency,
                feature: Some(feature.name),
            })
        }
        Applied::Duplicate | Applied::TooLarge => Err(Error::Internal("a new charge id was seen before".into())),
        Applied::Moved { currency, .. } => {
            if !charges::insert(&mut tx, &row).await? {
                // The same event_id was charged concurrently: that one stands.
                tx.rollback().await?;
                let event_id = row.event_id.as_deref().unwrap_or_default();
                let first = charges::find_by_event(db.reader(), &user.account_id, event_id)
                    .await?
                    .ok_or_else(|| Error::Internal("a charge vanished".into()))?;
                return Ok(answer(&first, currency, true));
            }
            tx.commit().await?;
            tracing::debug!(target: crate::LOG_TARGET, feature = %feature.name, units = row.units, charged_micros = row.charged_micros, "Charged {} {} for user {}", row.units, feature.name, user.id);
            Ok(answer(&row, currency, false))
        }
    }
}

/// The writes of one charge in `tx`: included units first, then the balance. Returns the row
/// to store and what the balance did.
async fn charge_in(
    tx: &mut crate::store::WriteTx,
    now: i64,
    user: &UserRef,
    feature: &Feature,
    s: &PaygStanding,
    body: &ChargeBody,
) -> Result<(ChargeRow, Applied)> {
    let limit = s.plan.as_ref().map_or(0, |p| p.feature_limit(&feature.name));
    let key = feature_counter(&feature.name);
    let mut from_included = 0;
    if limit > 0 {
        // Read with the counter row locked, then add: concurrent charges take turns.
        let used = counters::lock_used(tx, &user.account_id, &key, s.period_start, s.period_end, now).await?;
        from_included = body.units.min((limit - used).max(0));
        if from_included > 0 {
            counters::add(tx, &user.account_id, &key, s.period_start, s.period_end, from_included, limit, now).await?;
        }
    }
    let charged_units = body.units - from_included;
    let discount = discount_of(s.plan.as_ref());
    let cost = cost_micros(feature.unit_price_minor, feature.per_units, charged_units, discount)
        .ok_or_else(|| Error::invalid("units", Message::AmountTooLarge))?;
    let id = uuid::Uuid::now_v7().to_string();
    let applied = if cost > 0 {
        caps::take(tx, user, SPEND_CAP, (s.period_start, s.period_end), cost, now).await?;
        let movement = Movement {
            account_id: &user.account_id,
            delta_micros: -cost,
            reason: BalanceReason::Charge,
            reference: Some(&id),
            actor: Some(&user.id),
            description: Some(&feature.name),
            now,
        };
        balances::apply(tx, &movement).await?
    } else {
        let b = balances::get(tx.conn(), &user.account_id).await?.ok_or(sqlx::Error::RowNotFound)?;
        Applied::Moved { balance_micros: b.balance_micros, currency: b.currency }
    };
    let balance_after_micros = match &applied {
        Applied::Moved { balance_micros, .. } | Applied::Insufficient { balance_micros, .. } => *balance_micros,
        Applied::Duplicate | Applied::TooLarge => 0,
    };
    let row = ChargeRow {
        id,
        account_id: user.account_id.clone(),
        user_id: user.id.clone(),
        feature: feature.name.clone(),
        units: body.units,
        from_included,
        charged_units,
        charged_micros: cost,
        currency: feature.currency.code().to_owned(),
        balance_after_micros,
        period_start: s.period_start,
        event_id: body.event_id.clone(),
        extra_metadata: body.metadata.as_ref().filter(|m| !m.is_null()).map(|m| m.to_string()),
        created_at: now,
    };
    Ok((row, applied))
}

fn price_of(feature: &Feature, s: &PaygStanding) -> FeaturePrice {
    let discount = discount_of(s.plan.as_ref());
    let block = feature.block_price_micros(discount);
    FeaturePrice {
        feature: feature.name.clone(),
        currency: feature.currency,
        per_units: feature.per_units,
        list_price: feature.unit_price,
        list_price_minor: feature.unit_price_minor,
        discount_percent: discount,
        price: decimal_from_micros(block),
        price_micros: block,
        access: feature.access,
        available: available(feature, s.plan.as_ref()),
    }
}

/// The price of one block of an active feature for `user`'s account (seed 004 `get_price()`).
///
/// # Errors
/// [`Error::NotFound`] for an unknown or inactive feature; [`Error::Forbidden`] without a
/// subscription under the `deny` policy; [`Error::Database`].
pub async fn feature_price(
    db: &Store,
    now: i64,
    policy: NoSubscriptionPolicy,
    user: &UserRef,
    name: &str,
) -> Result<FeaturePrice> {
    let feature = crate::features::get_active(db, name).await?;
    let s = standing(db, now, policy, &user.account_id).await?;
    Ok(price_of(&feature, &s))
}

/// Every active feature with its access for `user`'s account, its price after the plan's
/// discount and the included units left this period (`GET /api/v1/billing/features`).
///
/// # Errors
/// [`Error::Forbidden`] without a subscription under the `deny` policy; [`Error::Database`].
pub async fn feature_offers(
    db: &Store,
    now: i64,
    policy: NoSubscriptionPolicy,
    user: &UserRef,
) -> Result<Vec<FeatureOffer>> {
    let s = standing(db, now, policy, &user.account_id).await?;
    let mut offers = Vec::new();
    for feature in feature_store::list(db.reader(), true).await? {
        let price = price_of(&feature, &s);
        let included = s.plan.as_ref().map_or(0, |p| p.feature_limit(&feature.name));
        let used = if included > 0 {
            counters::used(db.reader(), &user.account_id, &feature_counter(&feature.name), s.period_start).await?
        } else {
            0
        };
        offers.push(FeatureOffer {
            name: feature.name,
            title: feature.title,
            title_ru: feature.title_ru,
            description: feature.description,
            description_ru: feature.description_ru,
            access: feature.access,
            available: price.available,
            currency: feature.currency,
            per_units: feature.per_units,
            list_price: price.list_price,
            list_price_minor: price.list_price_minor,
            discount_percent: price.discount_percent,
            price: price.price,
            price_micros: price.price_micros,
            included,
            remaining: (included - used).max(0),
        });
    }
    Ok(offers)
}
