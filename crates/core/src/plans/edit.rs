//! Editing plans (spec 000 admin endpoints): create, partial update with the price-change and
//! quota-decrease rules, delete, activate/deactivate and duplicate. Every change is audited in
//! its own transaction.

use super::{MAX_ID_LEN, MAX_NAME_LEN, MAX_TRIAL_DAYS, slug, valid_plan_id};
use crate::audit::{self, Actor};
use crate::store::{Store, WriteTx, plans as store, subscriptions};
use crate::{Error, Result};
use std::collections::BTreeMap;
use tariff_model::money::yookassa_amount;
use tariff_model::{
    Currency, Entity, Interval, InvalidField, Message, Metric, Plan, PlanChanges, Quotas, SubscriptionStatus,
};

/// The audited view of a plan: every stored field except the timestamps.
pub(crate) fn plan_json(plan: &Plan) -> serde_json::Value {
    let mut value = serde_json::to_value(plan).expect("a plan serialises");
    if let Some(map) = value.as_object_mut() {
        map.remove("created_at");
        map.remove("updated_at");
        map.remove("price");
    }
    value
}

/// Applies `changes` to `base` and validates the result (DESIGN.md "Plans": price ≥ 0, currency,
/// interval; plus names, quotas, overage prices, trial days, included feature units and the
/// pay-as-you-go discount). All problems are reported at once.
fn apply_changes(mut plan: Plan, changes: &PlanChanges) -> std::result::Result<Plan, Vec<InvalidField>> {
    let mut errors = Vec::new();
    let mut error = |field: &str, message: Message| errors.push(InvalidField::new(field, message));

    // Lengths are of the text as sent (as the OpenAPI document states them), before trimming.
    if let Some(name) = &changes.name {
        if name.chars().count() > MAX_NAME_LEN {
            error("name", Message::TextTooLong { max: MAX_NAME_LEN as u32 });
        }
        plan.name = name.trim().to_owned();
    }
    if plan.name.is_empty() {
        error("name", Message::PlanNameRequired);
    }
    let text = |value: &Option<Option<String>>, current: Option<String>| match value {
        None => current,
        Some(v) => v.as_ref().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()),
    };
    if let Some(Some(name_ru)) = &changes.name_ru
        && name_ru.chars().count() > MAX_NAME_LEN
    {
        error("name_ru", Message::TextTooLong { max: MAX_NAME_LEN as u32 });
    }
    plan.name_ru = text(&changes.name_ru, plan.name_ru);
    plan.description = text(&changes.description, plan.description);
    plan.description_ru = text(&changes.description_ru, plan.description_ru);

    match (&changes.price, changes.price_minor) {
        (Some(price), minor) => match price.minor() {
            Ok(value) if minor.is_some_and(|m| m != value) => error("price_minor", Message::PriceMinorMismatch),
            Ok(value) if value < 0 => error("price", Message::NotNegative),
            Ok(value) => plan.set_price_minor(value),
            Err(e) => error("price", e.into()),
        },
        (None, Some(minor)) if minor < 0 => error("price_minor", Message::NotNegative),
        (None, Some(minor)) => plan.set_price_minor(minor),
        (None, None) => {}
    }
    if let Some(currency) = &changes.currency {
        match currency.trim().to_ascii_uppercase().parse::<Currency>() {
            Ok(c) => plan.currency = c,
            Err(e) => error("currency", e.into()),
        }
    }
    if let Some(interval) = &changes.interval {
        match interval.trim().to_ascii_lowercase().parse::<Interval>() {
            Ok(i) => plan.interval = i,
            Err(e) => error("interval", Message::UnknownInterval { value: e.0 }),
        }
    }
    if let Some(quotas) = &changes.quotas {
        plan.quotas = match quotas {
            None => None,
            Some(map) => {
                let mut parsed = Quotas::new();
                for (key, limit) in map {
                    match key.parse::<Metric>() {
                        Ok(metric) if limit.is_some_and(|l| l < 0) => {
                            error(&format!("quotas.{metric}"), Message::QuotaNotNegative)
                        }
                        Ok(metric) => {
                            parsed.insert(metric, *limit);
                        }
                        Err(e) => error(&format!("quotas.{key}"), Message::UnknownMetric { value: e.0 }),
                    }
                }
                Some(parsed)
            }
        };
    }
    if let Some(overage) = &changes.overage {
        plan.overage = match overage {
            None => None,
            Some(map) => {
                let mut parsed = BTreeMap::new();
                for (key, price) in map {
                    match key.parse::<Metric>() {
                        Ok(metric) if *price < 0 => error(&format!("overage.{metric}"), Message::NotNegative),
                        Ok(metric) => {
                            parsed.insert(metric, *price);
                        }
                        Err(e) => error(&format!("overage.{key}"), Message::UnknownMetric { value: e.0 }),
                    }
                }
                Some(parsed)
            }
        };
    }
    if let Some(features) = &changes.features {
        let mut cleaned: Vec<String> = Vec::new();
        for feature in features {
            if !tariff_model::plan::is_feature_code(feature) {
                error("features", Message::FeatureCodeInvalid);
            } else if !cleaned.iter().any(|f| f == feature) {
                cleaned.push(feature.clone());
            }
        }
        plan.features = cleaned;
    }
    if let Some(limits) = &changes.feature_limits {
        plan.feature_limits = match limits {
            None => None,
            Some(map) => {
                let mut parsed = BTreeMap::new();
                for (feature, units) in map {
                    if !tariff_model::plan::is_feature_code(feature) {
                        error("feature_limits", Message::FeatureCodeInvalid);
                    } else if *units < 0 {
                        error(&format!("feature_limits.{feature}"), Message::NotNegative);
                    } else if *units > crate::usage::MAX_COUNTER {
                        error(&format!("feature_limits.{feature}"), Message::AmountTooLarge);
                    } else {
                        parsed.insert(feature.clone(), *units);
                    }
                }
                Some(parsed).filter(|p| !p.is_empty())
            }
        };
    }
    if let Some(discount) = changes.discount_percent {
        if (0..=100).contains(&discount) {
            plan.discount_percent = discount;
        } else {
            error("discount_percent", Message::DiscountRange);
        }
    }
    if let Some(active) = changes.is_active {
        plan.is_active = active;
    }
    if let Some(order) = changes.display_order {
        plan.display_order = order;
    }
    if let Some(metadata) = &changes.plan_extra_metadata {
        match metadata {
            Some(value) if !value.is_object() => error("plan_extra_metadata", Message::MetadataNotObject),
            other => plan.plan_extra_metadata = other.clone(),
        }
    }
    if let Some(days) = changes.trial_days {
        if !(0..=MAX_TRIAL_DAYS).contains(&days) {
            error("trial_days", Message::TrialDaysRange { max: MAX_TRIAL_DAYS });
        } else {
            plan.trial_days = days;
        }
    }
    if errors.is_empty() { Ok(plan) } else { Err(errors) }
}

/// The metrics whose quota `after` lowers compared with `before` (unlimited → any limit, or a
/// smaller limit). A metric missing from `after` is unlimited, so never a decrease.
pub fn decreased_quotas(before: &Plan, after: &Plan) -> Vec<Metric> {
    Metric::ALL
        .into_iter()
        .filter(|m| match (before.quota(*m), after.quota(*m)) {
            (None, Some(_)) => true,
            (Some(old), Some(new)) => new < old,
            _ => false,
        })
        .collect()
}

/// `base`, or `base_2`, `base_3`, ... — the first id no plan has.
async fn free_plan_id(tx: &mut WriteTx, base: &str) -> Result<String> {
    let mut candidate = base.to_owned();
    let mut n = 2;
    while store::get(tx.conn(), &candidate).await?.is_some() {
        candidate = format!("{base}_{n}");
        n += 1;
    }
    Ok(candidate)
}

/// Inserts a new plan and its audit row (`action`, with every field as the "after" side).
async fn insert_audited(
    tx: &mut WriteTx,
    actor: &Actor,
    plan: &Plan,
    action: &str,
    description: String,
    now: i64,
) -> Result<()> {
    if !store::insert_if_absent(tx, plan).await? {
        return Err(Error::Conflict(Message::PlanIdTaken { id: plan.id.clone() }));
    }
    audit::record(tx, actor, action, "plan", &plan.id, description, audit::diff(None, &plan_json(plan)), now).await?;
    Ok(())
}

/// Creates a plan (admin API, spec 000). The id is taken from the body, or generated from the
/// name (`Pro` → `pro`, `pro_2` if taken). Audited as `plan.create`.
///
/// # Errors
/// [`Error::Validation`] naming each bad field; [`Error::Conflict`] when an explicit id exists;
/// [`Error::Database`].
pub async fn create(db: &Store, now: i64, actor: &Actor, changes: PlanChanges) -> Result<Plan> {
    let blank = Plan::blank(now);
    let mut errors = Vec::new();
    if changes.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        errors.push(InvalidField::new("name", Message::PlanNameRequired));
    }
    if changes.price.is_none() && changes.price_minor.is_none() {
        errors.push(InvalidField::new("price", Message::PriceRequired));
    }
    let explicit_id = changes.id.clone();
    if let Some(id) = &explicit_id
        && !valid_plan_id(id)
    {
        errors.push(InvalidField::new("id", Message::PlanIdInvalid));
    }
    let mut plan = match apply_changes(blank, &changes) {
        Ok(plan) if errors.is_empty() => plan,
        Ok(_) => return Err(Error::Validation(errors)),
        Err(more) => {
            errors.extend(more);
            return Err(Error::Validation(errors));
        }
    };

    let mut tx = db.begin_write().await?;
    plan.id = match explicit_id {
        Some(id) => id,
        None => free_plan_id(&mut tx, &slug(&plan.name)).await?,
    };
    let description = format!("Plan {} created", plan.id);
    insert_audited(&mut tx, actor, &plan, "plan.create", description, now).await?;
    tx.commit().await?;
    Ok(plan)
}

/// Updates a plan with a partial body (admin `PUT`, the plan editor). A price change must be
/// confirmed with `confirm_price_change: true` (subscribers pay the new price from their next
/// renewal); a plan with active or trialing subscribers cannot have any quota decreased. Price
/// changes are named in the audit description. Audited as `plan.update`.
///
/// # Errors
/// [`Error::NotFound`]; [`Error::Validation`]: `price` ([`Message::PriceChangeUnconfirmed`]) for an
/// unconfirmed price change, `quotas.<metric>` for a forbidden decrease, `id` for an attempt to
/// change the id, and every field the body gets wrong; [`Error::Database`].
pub async fn update(db: &Store, now: i64, actor: &Actor, plan_id: &str, changes: PlanChanges) -> Result<Plan> {
    let mut tx = db.begin_write().await?;
    let before = store::get(tx.conn(), plan_id).await?.ok_or_else(|| Error::not_found(Entity::Plan, plan_id))?;
    if changes.id.as_deref().is_some_and(|id| id != plan_id) {
        return Err(Error::invalid("id", Message::PlanIdImmutable));
    }
    let mut after = apply_changes(before.clone(), &changes).map_err(Error::Validation)?;
    after.updated_at = now;
    if after.price_minor != before.price_minor && changes.confirm_price_change != Some(true) {
        return Err(Error::invalid(
            "price",
            Message::PriceChangeUnconfirmed {
                from_minor: before.price_minor,
                to_minor: after.price_minor,
                currency: after.currency,
            },
        ));
    }
    let decreased = decreased_quotas(&before, &after);
    let subscribed = [SubscriptionStatus::Active, SubscriptionStatus::Trialing];
    if !decreased.is_empty() && subscriptions::count_for_plan(tx.conn(), plan_id, Some(&subscribed)).await? > 0 {
        return Err(Error::Validation(
            decreased
                .into_iter()
                .map(|m| InvalidField::new(format!("quotas.{m}"), Message::QuotaDecreaseForbidden))
                .collect(),
        ));
    }
    store::update(&mut tx, &after).await?;
    let mut description = format!("Plan {plan_id} updated");
    if before.price_minor != after.price_minor || before.currency != after.currency {
        description = format!(
            "Plan {plan_id} price changed from {} {} to {} {}",
            yookassa_amount(before.price_minor),
            before.currency,
            yookassa_amount(after.price_minor),
            after.currency
        );
    }
    let changes_json = audit::diff(Some(&plan_json(&before)), &plan_json(&after));
    audit::record(&mut tx, actor, "plan.update", "plan", plan_id, description, changes_json, now).await?;
    tx.commit().await?;
    Ok(after)
}

/// Deletes a plan that no subscription (as its plan or the plan of a scheduled change),
/// transaction or trial refers to. Audited as `plan.delete`.
///
/// # Errors
/// [`Error::NotFound`]; [`Error::Conflict`] for the `free` plan (every account's floor) and
/// while subscriptions, payments or trials refer to it (deactivate it instead);
/// [`Error::Database`].
pub async fn delete(db: &Store, now: i64, actor: &Actor, plan_id: &str) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let plan = store::get(tx.conn(), plan_id).await?.ok_or_else(|| Error::not_found(Entity::Plan, plan_id))?;
    if plan.id == super::FREE_PLAN_ID {
        return Err(Error::Conflict(Message::FreePlanNotDeletable));
    }
    let subscribers = store::count_subscriptions_naming(tx.conn(), plan_id).await?;
    if subscribers > 0 {
        return Err(Error::Conflict(Message::PlanHasSubscriptions { plan_id: plan_id.to_owned(), count: subscribers }));
    }
    if store::count_transactions(tx.conn(), plan_id).await? > 0 {
        return Err(Error::Conflict(Message::PlanHasPayments { plan_id: plan_id.to_owned() }));
    }
    if store::count_trials(tx.conn(), plan_id).await? > 0 {
        return Err(Error::Conflict(Message::PlanHasTrials { plan_id: plan_id.to_owned() }));
    }
    store::delete(&mut tx, plan_id).await?;
    let changes = audit::diff(Some(&plan_json(&plan)), &serde_json::json!({}));
    audit::record(&mut tx, actor, "plan.delete", "plan", plan_id, format!("Plan {plan_id} deleted"), changes, now)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Flips a plan between active and inactive. Audited as `plan.toggle`.
///
/// # Errors
/// [`Error::NotFound`]; [`Error::Database`].
pub async fn toggle(db: &Store, now: i64, actor: &Actor, plan_id: &str) -> Result<Plan> {
    let mut tx = db.begin_write().await?;
    let before = store::get(tx.conn(), plan_id).await?.ok_or_else(|| Error::not_found(Entity::Plan, plan_id))?;
    let mut after = before.clone();
    after.is_active = !before.is_active;
    after.updated_at = now;
    store::update(&mut tx, &after).await?;
    let state = if after.is_active { "activated" } else { "deactivated" };
    let changes = audit::diff(Some(&plan_json(&before)), &plan_json(&after));
    audit::record(&mut tx, actor, "plan.toggle", "plan", plan_id, format!("Plan {plan_id} {state}"), changes, now)
        .await?;
    tx.commit().await?;
    Ok(after)
}

/// Copies a plan under a new id (given, or `<id>_copy`, `<id>_copy_2`, ...), inactive, named
/// "<name> (copy)" unless a name is given. Audited as `plan.duplicate` on the new plan.
///
/// # Errors
/// [`Error::NotFound`]; [`Error::Validation`] for a malformed new id; [`Error::Conflict`] when
/// the given id exists; [`Error::Database`].
pub async fn duplicate(
    db: &Store,
    now: i64,
    actor: &Actor,
    plan_id: &str,
    new_id: Option<String>,
    new_name: Option<String>,
) -> Result<Plan> {
    let mut tx = db.begin_write().await?;
    let source = store::get(tx.conn(), plan_id).await?.ok_or_else(|| Error::not_found(Entity::Plan, plan_id))?;
    let mut copy = source.clone();
    copy.id = match new_id {
        Some(id) if !valid_plan_id(&id) => {
            return Err(Error::invalid("id", Message::PlanIdInvalid));
        }
        Some(id) => id,
        None => {
            let stem: String = plan_id.chars().take(MAX_ID_LEN - 8).collect();
            free_plan_id(&mut tx, &format!("{stem}_copy")).await?
        }
    };
    if new_name.as_ref().is_some_and(|n| n.chars().count() > MAX_NAME_LEN) {
        return Err(Error::invalid("name", Message::TextTooLong { max: MAX_NAME_LEN as u32 }));
    }
    copy.name = new_name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("{} (copy)", source.name));
    copy.name_ru = source.name_ru.as_ref().map(|n| format!("{n} (копия)"));
    copy.is_active = false;
    copy.created_at = now;
    copy.updated_at = now;
    let description = format!("Plan {} duplicated from {plan_id}", copy.id);
    insert_audited(&mut tx, actor, &copy, "plan.duplicate", description, now).await?;
    tx.commit().await?;
    Ok(copy)
}
