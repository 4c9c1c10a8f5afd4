//! Plan rules: the public catalogue and plan initialisation from templates (spec 002).

use super::audit::{self, Actor};
use super::templates;
use crate::model::money::minor_from_decimal;
use crate::model::{Currency, Interval, Metric, Plan, PlanChanges, Quotas};
use crate::server::error::{Error, FieldError, Result};
use crate::server::store::{Store, WriteTx, plans as store, subscriptions};
use std::collections::BTreeMap;

/// Active plans ordered by `display_order` (the public `GET /api/v1/billing/plans`).
///
/// # Errors
/// [`Error::Database`] when the store fails.
pub async fn list_active(db: &Store) -> Result<Vec<Plan>> {
    Ok(store::list(db.pool(), true).await?)
}

/// One active plan (the public `GET /api/v1/billing/plans/{plan_id}`).
///
/// # Errors
/// [`Error::NotFound`] for an unknown or inactive plan; [`Error::Database`].
pub async fn get_active(db: &Store, plan_id: &str) -> Result<Plan> {
    match store::get(db.pool(), plan_id).await? {
        Some(plan) if plan.is_active => Ok(plan),
        _ => Err(Error::not_found("plan", plan_id)),
    }
}

/// Which template sets `init_plans` writes and whether it overwrites existing plans
/// (spec 002 command-line options `--include-annual`, `--include-promo`, `--force`).
#[derive(Clone, Copy, Debug, Default)]
pub struct InitOptions {
    pub include_annual: bool,
    pub include_promo: bool,
    pub force: bool,
}

/// The ids of the plans `init_plans` created, updated and skipped, in template order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InitSummary {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub skipped: Vec<String>,
}

/// Writes the template plans (spec 002 `init_plans`): a missing plan is created; an existing one
/// is updated from its template with `force` (keeping `created_at`) and skipped otherwise. Each
/// plan is written with its audit row in one transaction, so running it twice, or alongside a
/// starting server, is safe.
///
/// # Errors
/// [`Error::Database`]; plans written before the failure stay written.
pub async fn init_plans(db: &Store, now: i64, actor: &Actor, options: InitOptions) -> Result<InitSummary> {
    let mut plans = templates::default_plans(now);
    if options.include_annual {
        plans.extend(templates::annual_plans(now));
    }
    if options.include_promo {
        plans.extend(templates::promo_plans(now));
    }
    let mut summary = InitSummary::default();
    for plan in plans {
        let mut tx = db.begin_write().await?;
        let existing = store::get(&mut *tx, &plan.id).await?;
        match existing {
            Some(existing) if options.force => {
                let mut updated = plan.clone();
                updated.created_at = existing.created_at;
                store::update(&mut *tx, &updated).await?;
                let changes = audit::diff(Some(&plan_json(&existing)), &plan_json(&updated));
                let description = format!("Plan {} updated from its template", updated.id);
                audit::record(&mut *tx, actor, "plan.update", "plan", &updated.id, description, changes, now).await?;
                summary.updated.push(updated.id);
            }
            Some(_) => summary.skipped.push(plan.id),
            None => {
                if store::insert_if_absent(&mut *tx, &plan).await? {
                    let changes = audit::diff(None, &plan_json(&plan));
                    let description = format!("Plan {} created from its template", plan.id);
                    audit::record(&mut *tx, actor, "plan.create", "plan", &plan.id, description, changes, now).await?;
                    summary.created.push(plan.id);
                } else {
                    summary.skipped.push(plan.id);
                }
            }
        }
        tx.commit().await?;
    }
    Ok(summary)
}

/// Seeds the default plans when the plan table is empty (first start of `serve`).
/// Returns the summary when it seeded, `None` when plans already existed.
///
/// # Errors
/// [`Error::Database`].
pub async fn seed_defaults_if_empty(db: &Store, now: i64) -> Result<Option<InitSummary>> {
    if store::count(db.pool()).await? > 0 {
        return Ok(None);
    }
    let summary = init_plans(db, now, &Actor::system("startup"), InitOptions::default()).await?;
    Ok(Some(summary))
}

/// The audited view of a plan: every stored field except the timestamps.
fn plan_json(plan: &Plan) -> serde_json::Value {
    let mut value = serde_json::to_value(plan).expect("a plan serialises");
    if let Some(map) = value.as_object_mut() {
        map.remove("created_at");
        map.remove("updated_at");
        map.remove("price");
    }
    value
}

/// Longest accepted plan id, name or feature code, in characters.
const MAX_ID_LEN: usize = 64;
const MAX_NAME_LEN: usize = 200;
const MAX_TRIAL_DAYS: i64 = 365;

/// Any plan by id, active or not (admin view).
///
/// # Errors
/// [`Error::NotFound`]; [`Error::Database`].
pub async fn get(db: &Store, plan_id: &str) -> Result<Plan> {
    store::get(db.pool(), plan_id).await?.ok_or_else(|| Error::not_found("plan", plan_id))
}

/// Every plan, active or not, by `display_order` (admin view).
///
/// # Errors
/// [`Error::Database`].
pub async fn list_all(db: &Store) -> Result<Vec<Plan>> {
    Ok(store::list(db.pool(), false).await?)
}

/// Whether `id` is an acceptable plan id: 1–64 of `a-z 0-9 _ -`, starting with a letter or digit.
pub fn valid_plan_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && id.as_bytes()[0].is_ascii_alphanumeric()
}

/// An id made from a plan name: `"Pro Max!"` → `pro_max`; names without Latin letters or digits
/// give `plan`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for ch in name.trim().chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_');
    let mut out: String = out.chars().take(MAX_ID_LEN - 4).collect();
    if out.is_empty() {
        out = "plan".to_owned();
    }
    out
}

/// Applies `changes` to `base` and validates the result (DESIGN.md "Plans": price ≥ 0, currency,
/// interval; plus names, quotas, overage prices and trial days). All problems are reported at once.
fn apply_changes(mut plan: Plan, changes: &PlanChanges) -> std::result::Result<Plan, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut error = |field: &str, message: &str| errors.push(FieldError::new(field, message));

    if let Some(name) = &changes.name {
        plan.name = name.trim().to_owned();
    }
    if plan.name.is_empty() {
        error("name", "Give the plan a name");
    } else if plan.name.chars().count() > MAX_NAME_LEN {
        error("name", "Use at most 200 characters");
    }
    let text = |value: &Option<Option<String>>, current: Option<String>| match value {
        None => current,
        Some(v) => v.as_ref().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()),
    };
    plan.name_ru = text(&changes.name_ru, plan.name_ru);
    plan.description = text(&changes.description, plan.description);
    plan.description_ru = text(&changes.description_ru, plan.description_ru);
    if plan.name_ru.as_ref().is_some_and(|n| n.chars().count() > MAX_NAME_LEN) {
        error("name_ru", "Use at most 200 characters");
    }

    match (&changes.price, changes.price_minor) {
        (Some(price), minor) => match minor_from_decimal(&price.to_string()) {
            Ok(value) if minor.is_some_and(|m| m != value) => error("price_minor", "does not match price"),
            Ok(value) if value < 0 => error("price", "must not be negative"),
            Ok(value) => plan.set_price_minor(value),
            Err(e) => error("price", &e.to_string()),
        },
        (None, Some(minor)) if minor < 0 => error("price_minor", "must not be negative"),
        (None, Some(minor)) => plan.set_price_minor(minor),
        (None, None) => {}
    }
    if let Some(currency) = &changes.currency {
        match currency.trim().to_ascii_uppercase().parse::<Currency>() {
            Ok(c) => plan.currency = c,
            Err(e) => error("currency", &e.to_string()),
        }
    }
    if let Some(interval) = &changes.interval {
        match interval.trim().to_ascii_lowercase().parse::<Interval>() {
            Ok(i) => plan.interval = i,
            Err(e) => error("interval", &e.to_string()),
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
                            error(&format!("quotas.{metric}"), "must not be negative (use null for unlimited)")
                        }
                        Ok(metric) => {
                            parsed.insert(metric, *limit);
                        }
                        Err(e) => error(&format!("quotas.{key}"), &e.to_string()),
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
                        Ok(metric) if *price < 0 => error(&format!("overage.{metric}"), "must not be negative"),
                        Ok(metric) => {
                            parsed.insert(metric, *price);
                        }
                        Err(e) => error(&format!("overage.{key}"), &e.to_string()),
                    }
                }
                Some(parsed)
            }
        };
    }
    if let Some(features) = &changes.features {
        let mut cleaned: Vec<String> = Vec::new();
        for feature in features {
            let feature = feature.trim();
            if feature.is_empty() || feature.chars().count() > MAX_ID_LEN {
                error("features", "Each feature is a code of 1 to 64 characters");
            } else if !cleaned.iter().any(|f| f == feature) {
                cleaned.push(feature.to_owned());
            }
        }
        plan.features = cleaned;
    }
    if let Some(active) = changes.is_active {
        plan.is_active = active;
    }
    if let Some(order) = changes.display_order {
        plan.display_order = order;
    }
    if let Some(metadata) = &changes.plan_extra_metadata {
        match metadata {
            Some(value) if !value.is_object() => error("plan_extra_metadata", "must be a JSON object or null"),
            other => plan.plan_extra_metadata = other.clone(),
        }
    }
    if let Some(days) = changes.trial_days {
        if !(0..=MAX_TRIAL_DAYS).contains(&days) {
            error("trial_days", "must be between 0 and 365");
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
    while store::get(&mut **tx, &candidate).await?.is_some() {
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
    if !store::insert_if_absent(&mut **tx, plan).await? {
        return Err(Error::Conflict(format!("a plan with id {:?} already exists", plan.id)));
    }
    audit::record(&mut **tx, actor, action, "plan", &plan.id, description, audit::diff(None, &plan_json(plan)), now)
        .await?;
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
        errors.push(FieldError::new("name", "Give the plan a name"));
    }
    if changes.price.is_none() && changes.price_minor.is_none() {
        errors.push(FieldError::new("price", "Set a price (0 for a free plan)"));
    }
    let explicit_id = changes.id.as_deref().map(str::trim).filter(|id| !id.is_empty()).map(str::to_owned);
    if let Some(id) = &explicit_id
        && !valid_plan_id(id)
    {
        errors.push(FieldError::new("id", "Use 1 to 64 lower-case letters, digits, _ or -"));
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

/// Updates a plan with a partial body (admin `PUT`). A plan with active or trialing subscribers
/// cannot have any quota decreased. Price changes are named in the audit description.
/// Audited as `plan.update`.
///
/// # Errors
/// [`Error::NotFound`]; [`Error::Validation`] (including `quotas.<metric>` for a forbidden
/// decrease and `id` for an attempt to change the id); [`Error::Database`].
pub async fn update(db: &Store, now: i64, actor: &Actor, plan_id: &str, changes: PlanChanges) -> Result<Plan> {
    let mut tx = db.begin_write().await?;
    let before = store::get(&mut *tx, plan_id).await?.ok_or_else(|| Error::not_found("plan", plan_id))?;
    if changes.id.as_deref().is_some_and(|id| id != plan_id) {
        return Err(Error::invalid("id", "A plan's id cannot be changed; duplicate the plan instead"));
    }
    let mut after = apply_changes(before.clone(), &changes).map_err(Error::Validation)?;
    after.updated_at = now;
    let decreased = decreased_quotas(&before, &after);
    if !decreased.is_empty() && subscriptions::count_for_plan(&mut *tx, plan_id, false).await? > 0 {
        return Err(Error::Validation(
            decreased
                .into_iter()
                .map(|m| {
                    FieldError::new(
                        format!("quotas.{m}"),
                        "cannot be decreased while the plan has active or trialing subscribers; create a new plan instead",
                    )
                })
                .collect(),
        ));
    }
    store::update(&mut *tx, &after).await?;
    let mut description = format!("Plan {plan_id} updated");
    if before.price_minor != after.price_minor || before.currency != after.currency {
        description = format!(
            "Plan {plan_id} price changed from {} {} to {} {}",
            crate::model::money::yookassa_amount(before.price_minor),
            before.currency,
            crate::model::money::yookassa_amount(after.price_minor),
            after.currency
        );
    }
    let changes_json = audit::diff(Some(&plan_json(&before)), &plan_json(&after));
    audit::record(&mut *tx, actor, "plan.update", "plan", plan_id, description, changes_json, now).await?;
    tx.commit().await?;
    Ok(after)
}

/// Deletes a plan that no subscription or transaction refers to. Audited as `plan.delete`.
///
/// # Errors
/// [`Error::NotFound`]; [`Error::Conflict`] while subscriptions or payments refer to it
/// (deactivate it instead); [`Error::Database`].
pub async fn delete(db: &Store, now: i64, actor: &Actor, plan_id: &str) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let plan = store::get(&mut *tx, plan_id).await?.ok_or_else(|| Error::not_found("plan", plan_id))?;
    let subscribers = subscriptions::count_for_plan(&mut *tx, plan_id, true).await?;
    if subscribers > 0 {
        return Err(Error::Conflict(format!(
            "plan {plan_id} has {subscribers} subscription(s); deactivate it instead of deleting it"
        )));
    }
    if store::count_transactions(&mut *tx, plan_id).await? > 0 {
        return Err(Error::Conflict(format!(
            "plan {plan_id} has payments on record; deactivate it instead of deleting it"
        )));
    }
    store::delete(&mut *tx, plan_id).await?;
    let changes = audit::diff(Some(&plan_json(&plan)), &serde_json::json!({}));
    audit::record(&mut *tx, actor, "plan.delete", "plan", plan_id, format!("Plan {plan_id} deleted"), changes, now)
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
    let before = store::get(&mut *tx, plan_id).await?.ok_or_else(|| Error::not_found("plan", plan_id))?;
    let mut after = before.clone();
    after.is_active = !before.is_active;
    after.updated_at = now;
    store::update(&mut *tx, &after).await?;
    let state = if after.is_active { "activated" } else { "deactivated" };
    let changes = audit::diff(Some(&plan_json(&before)), &plan_json(&after));
    audit::record(&mut *tx, actor, "plan.toggle", "plan", plan_id, format!("Plan {plan_id} {state}"), changes, now)
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
    let source = store::get(&mut *tx, plan_id).await?.ok_or_else(|| Error::not_found("plan", plan_id))?;
    let mut copy = source.clone();
    copy.id = match new_id.map(|id| id.trim().to_owned()).filter(|id| !id.is_empty()) {
        Some(id) if !valid_plan_id(&id) => {
            return Err(Error::invalid("id", "Use 1 to 64 lower-case letters, digits, _ or -"));
        }
        Some(id) => id,
        None => {
            let stem: String = plan_id.chars().take(MAX_ID_LEN - 8).collect();
            free_plan_id(&mut tx, &format!("{stem}_copy")).await?
        }
    };
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
