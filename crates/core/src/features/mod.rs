//! Priced features (seed 004 `FeatureConfig`, `check_access()`, `get_price()`): the admin's
//! catalogue (create, partial update, delete — each audited) and the rules of who may use a
//! feature and at what price.
//!
//! Access (DESIGN.md "Pay-as-you-go"): `included` — every plan, and accounts without a
//! subscription; `premium` — any paid plan; `exclusive` — only plans that name the feature in
//! `features` or `feature_limits`. The price for an account is the list price less its plan's
//! `discount_percent`.

use crate::audit::{self, Actor};
use crate::plans::MAX_NAME_LEN;
use crate::store::{Store, features as store};
use crate::{Error, Result};
use tariff_model::balance::MICROS_PER_MINOR;
use tariff_model::{Access, Currency, Entity, Feature, FeatureChanges, InvalidField, Message, Plan};

/// Most units one priced block may hold.
pub const MAX_PER_UNITS: i64 = 1_000_000;
/// Highest list price of one block, minor units (10,000,000.00).
pub const MAX_UNIT_PRICE_MINOR: i64 = 1_000_000_000;

/// Whether an account on `plan` (`None`: no subscription) may use `feature`.
pub fn available(feature: &Feature, plan: Option<&Plan>) -> bool {
    feature.available_on(plan)
}

/// The discount `plan` gives on pay-as-you-go prices, percent.
pub fn discount_of(plan: Option<&Plan>) -> i64 {
    plan.map_or(0, |p| p.discount_percent.clamp(0, 100))
}

/// The audited view of a feature: every stored field except the timestamps.
fn feature_json(f: &Feature) -> serde_json::Value {
    let mut value = serde_json::to_value(f).expect("a feature serialises");
    if let Some(map) = value.as_object_mut() {
        map.remove("created_at");
        map.remove("updated_at");
        map.remove("unit_price");
    }
    value
}

fn text(value: &Option<Option<String>>, current: Option<String>) -> Option<String> {
    match value {
        None => current,
        Some(v) => v.as_ref().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()),
    }
}

/// Applies `changes` to `f` and validates the result; every problem is reported at once.
fn apply_changes(mut f: Feature, changes: &FeatureChanges) -> std::result::Result<Feature, Vec<InvalidField>> {
    let mut errors = Vec::new();
    let mut error = |field: &str, message: Message| errors.push(InvalidField::new(field, message));
    if let Some(title) = &changes.title {
        if title.chars().count() > MAX_NAME_LEN {
            error("title", Message::TextTooLong { max: MAX_NAME_LEN as u32 });
        }
        f.title = title.trim().to_owned();
    }
    if f.title.is_empty() {
        error("title", Message::FeatureTitleRequired);
    }
    if let Some(Some(title_ru)) = &changes.title_ru
        && title_ru.chars().count() > MAX_NAME_LEN
    {
        error("title_ru", Message::TextTooLong { max: MAX_NAME_LEN as u32 });
    }
    f.title_ru = text(&changes.title_ru, f.title_ru);
    f.description = text(&changes.description, f.description);
    f.description_ru = text(&changes.description_ru, f.description_ru);
    match (&changes.unit_price, changes.unit_price_minor) {
        (Some(price), minor) => match price.minor() {
            Ok(value) if minor.is_some_and(|m| m != value) => error("unit_price_minor", Message::PriceMinorMismatch),
            Ok(value) if value < 0 => error("unit_price", Message::NotNegative),
            Ok(value) if value > MAX_UNIT_PRICE_MINOR => error("unit_price", Message::AmountTooLarge),
            Ok(value) => f.unit_price_minor = value,
            Err(e) => error("unit_price", e.into()),
        },
        (None, Some(minor)) if minor < 0 => error("unit_price_minor", Message::NotNegative),
        (None, Some(minor)) if minor > MAX_UNIT_PRICE_MINOR => error("unit_price_minor", Message::AmountTooLarge),
        (None, Some(minor)) => f.unit_price_minor = minor,
        (None, None) => {}
    }
    f.unit_price = tariff_model::money::decimal_from_minor(f.unit_price_minor);
    if let Some(per_units) = changes.per_units {
        if (1..=MAX_PER_UNITS).contains(&per_units) {
            f.per_units = per_units;
        } else {
            error("per_units", Message::PerUnitsRange { max: MAX_PER_UNITS });
        }
    }
    // Exact prices: one unit must cost a whole number of micro-minor units.
    if i128::from(f.unit_price_minor) * i128::from(MICROS_PER_MINOR) % i128::from(f.per_units.max(1)) != 0 {
        error("per_units", Message::UnitPriceNotExact);
    }
    if let Some(currency) = &changes.currency {
        match currency.trim().to_ascii_uppercase().parse::<Currency>() {
            Ok(c) => f.currency = c,
            Err(e) => error("currency", e.into()),
        }
    }
    if let Some(access) = &changes.access {
        match access.trim().to_ascii_lowercase().parse::<Access>() {
            Ok(a) => f.access = a,
            Err(e) => error("access", Message::AccessUnknown { value: e.value }),
        }
    }
    if let Some(active) = changes.is_active {
        f.is_active = active;
    }
    if errors.is_empty() { Ok(f) } else { Err(errors) }
}

/// Every feature, active or not (the admin list).
///
/// # Errors
/// [`Error::Database`].
pub async fn list(db: &Store) -> Result<Vec<Feature>> {
    Ok(store::list(db.reader(), false).await?)
}

/// One feature by name, active or not (admin).
///
/// # Errors
/// [`Error::NotFound`]; [`Error::Database`].
pub async fn get(db: &Store, name: &str) -> Result<Feature> {
    store::get(db.reader(), name).await?.ok_or_else(|| Error::not_found(Entity::Feature, name))
}

/// One active feature by name (what users may ask about).
///
/// # Errors
/// [`Error::NotFound`] for an unknown or inactive feature; [`Error::Database`].
pub async fn get_active(db: &Store, name: &str) -> Result<Feature> {
    match store::get(db.reader(), name).await? {
        Some(f) if f.is_active => Ok(f),
        _ => Err(Error::not_found(Entity::Feature, name)),
    }
}

/// Creates a feature (admin API). Needs `name`, `title`, a price and `access`. Audited as
/// `feature.create`.
///
/// # Errors
/// [`Error::Validation`] naming each bad field; [`Error::Conflict`] when the name exists;
/// [`Error::Database`].
pub async fn create(db: &Store, now: i64, actor: &Actor, changes: FeatureChanges) -> Result<Feature> {
    let mut errors = Vec::new();
    let name = changes.name.clone().unwrap_or_default();
    if !tariff_model::plan::is_feature_code(&name) {
        errors.push(InvalidField::new("name", Message::FeatureCodeInvalid));
    }
    if changes.unit_price.is_none() && changes.unit_price_minor.is_none() {
        errors.push(InvalidField::new("unit_price", Message::PriceRequired));
    }
    if changes.access.is_none() {
        errors.push(InvalidField::new("access", Message::AccessUnknown { value: String::new() }));
    }
    let blank = Feature {
        name: name.clone(),
        title: String::new(),
        title_ru: None,
        description: None,
        description_ru: None,
        unit_price: 0.0,
        unit_price_minor: 0,
        per_units: 1,
        currency: Currency::Rub,
        access: Access::Included,
        is_active: true,
        created_at: now,
        updated_at: now,
    };
    let feature = match apply_changes(blank, &changes) {
        Ok(f) if errors.is_empty() => f,
        Ok(_) => return Err(Error::Validation(errors)),
        Err(more) => {
            errors.extend(more);
            return Err(Error::Validation(errors));
        }
    };
    let mut tx = db.begin_write().await?;
    if !store::insert_if_absent(&mut tx, &feature).await? {
        return Err(Error::Conflict(Message::FeatureNameTaken { name }));
    }
    let changes = audit::diff(None, &feature_json(&feature));
    let description = format!("Feature {} created", feature.name);
    audit::record(&mut tx, actor, "feature.create", "feature", &feature.name, description, changes, now).await?;
    tx.commit().await?;
    Ok(feature)
}

/// Updates a feature with a partial body (admin `PUT`). Price changes are named in the audit
/// description. Audited as `feature.update`.
///
/// # Errors
/// [`Error::NotFound`]; [`Error::Validation`] (also for an attempt to change `name`);
/// [`Error::Database`].
pub async fn update(db: &Store, now: i64, actor: &Actor, name: &str, changes: FeatureChanges) -> Result<Feature> {
    let mut tx = db.begin_write().await?;
    let before = store::get(tx.conn(), name).await?.ok_or_else(|| Error::not_found(Entity::Feature, name))?;
    if changes.name.as_deref().is_some_and(|n| n != name) {
        return Err(Error::invalid("name", Message::FeatureNameImmutable));
    }
    let mut after = apply_changes(before.clone(), &changes).map_err(Error::Validation)?;
    after.updated_at = now;
    store::update(&mut tx, &after).await?;
    let description = if before.unit_price_minor != after.unit_price_minor
        || before.per_units != after.per_units
        || before.currency != after.currency
    {
        format!(
            "Feature {name} price changed from {} {} per {} to {} {} per {}",
            tariff_model::money::yookassa_amount(before.unit_price_minor),
            before.currency,
            before.per_units,
            tariff_model::money::yookassa_amount(after.unit_price_minor),
            after.currency,
            after.per_units
        )
    } else {
        format!("Feature {name} updated")
    };
    let diff = audit::diff(Some(&feature_json(&before)), &feature_json(&after));
    audit::record(&mut tx, actor, "feature.update", "feature", name, description, diff, now).await?;
    tx.commit().await?;
    Ok(after)
}

/// Deletes a feature; past charges keep its name. Audited as `feature.delete`.
///
/// # Errors
/// [`Error::NotFound`]; [`Error::Database`].
pub async fn delete(db: &Store, now: i64, actor: &Actor, name: &str) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let before = store::get(tx.conn(), name).await?.ok_or_else(|| Error::not_found(Entity::Feature, name))?;
    store::delete(&mut tx, name).await?;
    let diff = audit::diff(Some(&feature_json(&before)), &serde_json::json!({}));
    audit::record(&mut tx, actor, "feature.delete", "feature", name, format!("Feature {name} deleted"), diff, now)
        .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feature(access: Access) -> Feature {
        Feature {
            name: "gpt-4o".into(),
            title: "GPT-4o".into(),
            title_ru: None,
            description: None,
            description_ru: None,
            unit_price: 0.15,
            unit_price_minor: 15,
            per_units: 1000,
            currency: Currency::Rub,
            access,
            is_active: true,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn access_levels_follow_the_plan() {
        let mut free = Plan::blank(0);
        free.id = "free".into();
        let mut pro = Plan::blank(0);
        pro.set_price_minor(99_000);
        let mut team = pro.clone();
        team.features = vec!["gpt-4o".into()];
        assert!(available(&feature(Access::Included), None));
        assert!(available(&feature(Access::Included), Some(&free)));
        assert!(!available(&feature(Access::Premium), Some(&free)));
        assert!(!available(&feature(Access::Premium), None));
        assert!(available(&feature(Access::Premium), Some(&pro)));
        assert!(!available(&feature(Access::Exclusive), Some(&pro)));
        assert!(available(&feature(Access::Exclusive), Some(&team)));
        let mut inactive = feature(Access::Included);
        inactive.is_active = false;
        assert!(!available(&inactive, Some(&team)));
    }

    #[test]
    fn a_price_per_unit_must_be_whole_micro_kopecks() {
        let base = feature(Access::Included);
        let exact = FeatureChanges { per_units: Some(1000), ..Default::default() };
        assert!(apply_changes(base.clone(), &exact).is_ok());
        let inexact = FeatureChanges { unit_price_minor: Some(1), per_units: Some(7), ..Default::default() };
        let errors = apply_changes(base, &inexact).unwrap_err();
        assert_eq!(errors[0].field, "per_units");
    }
}
