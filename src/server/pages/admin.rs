//! The admin dashboard's page bodies. Every one starts with [`require_admin`].

use super::{admin_actor, fail, invalid, is_form_post, keep_secret_once, require_admin, state, take_secret};
use crate::actions::UiError;
use crate::actions::admin::{AUDIT_PAGE_SIZE, AuditFilters, PAGE_SIZE};
use crate::server::web::FRESH_WEBHOOK_SECRET_KEY;
use crate::ui::admin::plans::metric_fields;
use std::collections::BTreeMap;
use tariff_core::accounts::{self, picture};
use tariff_core::{Error, audit, payments, plans, stats, subscriptions};
use tariff_model::admin::{AdminHome, AuditRow, PlanWithStats, SubscriberRow, UserDetail, UserSummary};
use tariff_model::money::minor_from_decimal;
use tariff_model::portal::Page;
use tariff_model::{Entity, InvalidField, Message, Metric, Plan, PlanChanges};

/// Months of MRR the admin's home charts.
pub const MRR_MONTHS: i64 = 12;

/// See [`crate::actions::admin::get_admin_overview`].
pub async fn overview() -> Result<AdminHome, UiError> {
    require_admin()?;
    let state = state();
    let db = &state.billing.store;
    let overview = stats::overview(db, state.now()).await.map_err(fail)?;
    let mrr = tariff_core::revenue::series(db, state.now(), MRR_MONTHS).await.map_err(fail)?;
    let clock = state.test_clock.is_some().then(|| crate::server::jobs::clock_state(&state, 0));
    Ok(AdminHome { overview, mrr, clock })
}

/// See [`crate::actions::admin::advance_clock`].
pub async fn advance_clock(days: String) -> Result<tariff_model::api::ClockState, UiError> {
    let admin = require_admin()?;
    let state = state();
    let days: i64 = match days.trim().parse() {
        Ok(d) if (1..=1826).contains(&d) => d,
        _ => return Err(invalid(vec![InvalidField::new("days", Message::ClockForwardOnly)])),
    };
    crate::server::jobs::advance_clock(&state, &admin_actor(&admin), days * 86_400).await.map_err(fail)
}

/// See [`crate::actions::admin::get_admin_plans`].
pub async fn plans() -> Result<Vec<PlanWithStats>, UiError> {
    require_admin()?;
    Ok(stats::plans_with_stats(&state().billing.store).await.map_err(fail)?.0)
}

/// See [`crate::actions::admin::toggle_plan`].
pub async fn toggle_plan(id: String) -> Result<(), UiError> {
    let admin = require_admin()?;
    let state = state();
    plans::toggle(&state.billing.store, state.now(), &admin_actor(&admin), &id).await.map_err(fail)?;
    Ok(())
}

/// See [`crate::actions::admin::duplicate_plan`].
pub async fn duplicate_plan(id: String) -> Result<String, UiError> {
    let admin = require_admin()?;
    let state = state();
    let copy = plans::duplicate(&state.billing.store, state.now(), &admin_actor(&admin), &id, None, None)
        .await
        .map_err(fail)?;
    // The list comes back naming the copy.
    if is_form_post() {
        leptos_axum::redirect(&format!("/admin/plans?copied={}", copy.id));
    }
    Ok(copy.id)
}

/// See [`crate::actions::admin::delete_plan`].
pub async fn delete_plan(id: String) -> Result<(), UiError> {
    let admin = require_admin()?;
    let state = state();
    plans::delete(&state.billing.store, state.now(), &admin_actor(&admin), &id).await.map_err(fail)
}

/// See [`crate::actions::admin::get_plan_for_edit`].
pub async fn plan_for_edit(id: Option<String>) -> Result<Option<PlanWithStats>, UiError> {
    require_admin()?;
    let Some(id) = id else {
        return Ok(None);
    };
    let (plans, _) = stats::plans_with_stats(&state().billing.store).await.map_err(fail)?;
    plans.into_iter().find(|p| p.plan.id == id).map(Some).ok_or_else(|| fail(Error::not_found(Entity::Plan, id)))
}

/// See [`crate::actions::admin::save_plan`].
pub async fn save_plan(id: String, fields: BTreeMap<String, String>) -> Result<(), UiError> {
    let admin = require_admin()?;
    let state = state();
    let (changes, errors) = plan_changes(&fields);
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    let actor = admin_actor(&admin);
    let db = &state.billing.store;
    if id.is_empty() {
        plans::create(db, state.now(), &actor, changes).await.map_err(fail)?;
    } else {
        plans::update(db, state.now(), &actor, &id, changes).await.map_err(fail)?;
    }
    leptos_axum::redirect("/admin/plans");
    Ok(())
}

/// The editor's fields as a [`PlanChanges`], and the fields that could not be read.
fn plan_changes(fields: &BTreeMap<String, String>) -> (PlanChanges, Vec<InvalidField>) {
    let mut errors = Vec::new();
    let get = |name: &str| fields.get(name).map(|v| v.trim()).unwrap_or_default();
    let optional = |name: &str| {
        let v = get(name);
        Some((!v.is_empty()).then(|| v.to_owned()))
    };
    let mut changes = PlanChanges {
        name: Some(get("name").to_owned()),
        name_ru: optional("name_ru"),
        description: optional("description"),
        description_ru: optional("description_ru"),
        currency: Some(get("currency").to_owned()),
        interval: Some(get("interval").to_owned()),
        is_active: Some(get("is_active") == "true"),
        confirm_price_change: Some(get("confirm_price") == "true"),
        ..Default::default()
    };
    if !get("new_id").is_empty() {
        changes.id = Some(get("new_id").to_owned());
    }
    let price = super::decimal_input(get("price"));
    match minor_from_decimal(&price) {
        Ok(_) => changes.price = Some(price.as_str().into()),
        Err(_) => errors.push(InvalidField::new("price", Message::PriceFormat)),
    }
    for (name, slot) in [("trial_days", &mut changes.trial_days), ("display_order", &mut changes.display_order)] {
        match get(name) {
            "" => *slot = Some(0),
            text => match text.parse::<i64>() {
                Ok(n) => *slot = Some(n),
                Err(_) => errors.push(InvalidField::new(name, Message::WholeNumber)),
            },
        }
    }
    let mut quotas = BTreeMap::new();
    let mut overage = BTreeMap::new();
    for metric in Metric::ALL {
        let (quota_field, unlimited_field, overage_field) = metric_fields(metric);
        if get(unlimited_field) == "true" {
            quotas.insert(metric.as_str().to_owned(), None);
        } else {
            match get(quota_field).replace([' ', ','], "").parse::<i64>() {
                Ok(limit) => {
                    quotas.insert(metric.as_str().to_owned(), Some(limit));
                }
                Err(_) => errors.push(InvalidField::new(quota_field, Message::WholeNumberOrUnlimited)),
            }
        }
        match get(overage_field) {
            "" => {}
            text => match text.parse::<i64>() {
                Ok(price) => {
                    overage.insert(metric.as_str().to_owned(), price);
                }
                Err(_) => errors.push(InvalidField::new(overage_field, Message::WholeMinorUnits)),
            },
        }
    }
    changes.quotas = Some(Some(quotas));
    changes.overage = Some((!overage.is_empty()).then_some(overage));
    match get("discount_percent") {
        "" => changes.discount_percent = Some(0),
        text => match text.trim_end_matches('%').trim().parse::<i64>() {
            Ok(n) => changes.discount_percent = Some(n),
            Err(_) => errors.push(InvalidField::new("discount_percent", Message::WholeNumber)),
        },
    }
    // Included feature units, one `name: units` per line.
    let mut limits = BTreeMap::new();
    for line in get("feature_limits").lines().map(str::trim).filter(|l| !l.is_empty()) {
        let parsed = line
            .split_once([':', '='])
            .and_then(|(name, units)| Some((name.trim(), units.trim().replace([' ', ','], "").parse::<i64>().ok()?)));
        match parsed {
            Some((name, units)) => {
                limits.insert(name.to_owned(), units);
            }
            None => errors.push(InvalidField::new("feature_limits", Message::FeatureLimitLine)),
        }
    }
    changes.feature_limits = Some((!limits.is_empty()).then_some(limits));
    changes.features =
        Some(get("features").split(['\n', ',']).map(str::trim).filter(|f| !f.is_empty()).map(str::to_owned).collect());
    changes.plan_extra_metadata = match get("plan_extra_metadata") {
        "" => Some(None),
        text => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(value) => Some(Some(value)),
            Err(_) => {
                errors.push(InvalidField::new("plan_extra_metadata", Message::JsonInvalid));
                None
            }
        },
    };
    (changes, errors)
}

/// See [`crate::actions::admin::get_admin_users`].
pub async fn users(email: Option<String>, status: Option<String>, page: i64) -> Result<Page<UserSummary>, UiError> {
    require_admin()?;
    accounts::list_users(&state().billing.store, email.as_deref(), status.as_deref(), page, PAGE_SIZE)
        .await
        .map_err(fail)
}

/// See [`crate::actions::admin::get_plan_subscribers`].
pub async fn subscribers(
    plan_id: String,
    status: Option<String>,
    email: Option<String>,
    page: i64,
) -> Result<(Plan, Page<SubscriberRow>), UiError> {
    require_admin()?;
    let db = &state().billing.store;
    let plan = plans::get(db, &plan_id).await.map_err(fail)?;
    let page = page.max(1);
    let (items, total) = subscriptions::plan_subscribers(
        db,
        &plan_id,
        status.as_deref(),
        email.as_deref(),
        PAGE_SIZE,
        (page - 1) * PAGE_SIZE,
    )
    .await
    .map_err(fail)?;
    Ok((plan, Page { items, total, page, page_size: PAGE_SIZE }))
}

/// See [`crate::actions::admin::get_admin_user`].
pub async fn user(id: String) -> Result<UserDetail, UiError> {
    require_admin()?;
    let state = state();
    let policy = state.billing.settings.no_subscription_policy;
    let low = state.billing.settings.low_balance_minor;
    picture::user_detail(&state.billing.store, state.now(), policy, &id, low).await.map_err(fail)
}

/// See [`crate::actions::admin::assign_plan`].
pub async fn assign(user_id: String, plan_id: String) -> Result<(), UiError> {
    let admin = require_admin()?;
    let state = state();
    let user = accounts::user_ref(&state.billing.store, &user_id).await.map_err(fail)?;
    subscriptions::assign(&state.billing.store, state.now(), &admin_actor(&admin), &user, &plan_id)
        .await
        .map_err(fail)?;
    Ok(())
}

/// See [`crate::actions::admin::admin_pause`].
pub async fn pause(subscription_id: String, pause: bool) -> Result<(), UiError> {
    let admin = require_admin()?;
    let state = state();
    subscriptions::pause_by_admin(&state.billing, &admin_actor(&admin), &subscription_id, pause).await.map_err(fail)?;
    Ok(())
}

/// See [`crate::actions::admin::admin_change_plan`].
pub async fn change_plan(subscription_id: String, plan_id: String, prorate: bool) -> Result<(), UiError> {
    let admin = require_admin()?;
    let state = state();
    let outcome =
        subscriptions::admin_change(&state.billing, &admin_actor(&admin), &subscription_id, &plan_id, prorate)
            .await
            .map_err(|e| match fail(e) {
                UiError::Fields(fields) => {
                    UiError::Message(fields.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join(" "))
                }
                other => other,
            })?;
    if outcome.status == "declined" {
        super::set_status(axum::http::StatusCode::PAYMENT_REQUIRED);
        let reason = crate::ui::widgets::decline_reason(outcome.cancellation_reason.as_deref(), super::locale());
        return Err(UiError::Message(reason.to_owned()));
    }
    Ok(())
}

/// See [`crate::actions::admin::refund_payment`].
pub async fn refund(transaction_id: String, amount: String) -> Result<(), UiError> {
    let admin = require_admin()?;
    let state = state();
    let amount = match amount.trim() {
        "" => None,
        text => match minor_from_decimal(&super::decimal_input(text)) {
            Ok(minor) => Some(minor),
            Err(_) => return Err(invalid(vec![InvalidField::new("amount", Message::PriceFormat)])),
        },
    };
    payments::refund(&state.billing, &admin_actor(&admin), &transaction_id, amount).await.map_err(fail)?;
    Ok(())
}

/// A manual adjustment as the form sends it: the amount as people type it (`1 250,50`).
fn adjustment(amount: &str, reason: String) -> Result<tariff_model::balance::AdjustmentBody, UiError> {
    let cleaned: String = super::decimal_input(amount);
    if cleaned.is_empty() {
        return Err(invalid(vec![InvalidField::new("amount", Message::PriceFormat)]));
    }
    Ok(tariff_model::balance::AdjustmentBody { amount: tariff_model::money::DecimalText(cleaned), reason })
}

/// See [`crate::actions::admin::adjust_balance`].
pub async fn adjust_balance(user_id: String, amount: String, reason: String) -> Result<(), UiError> {
    let admin = require_admin()?;
    let state = state();
    let body = adjustment(&amount, reason)?;
    let low = state.billing.settings.low_balance_minor;
    tariff_core::balance::adjust(&state.billing.store, state.now(), &admin_actor(&admin), &user_id, &body, low)
        .await
        .map_err(fail)?;
    Ok(())
}

/// See [`crate::actions::admin::get_admin_features`].
pub async fn features() -> Result<Vec<tariff_model::Feature>, UiError> {
    require_admin()?;
    tariff_core::features::list(&state().billing.store).await.map_err(fail)
}

/// The feature editor's fields as posted.
pub struct FeatureFields {
    pub name: String,
    pub title: String,
    pub title_ru: String,
    pub unit_price: String,
    pub per_units: String,
    pub currency: String,
    pub access: String,
    pub is_active: bool,
}

/// See [`crate::actions::admin::save_feature`].
pub async fn save_feature(create: bool, f: FeatureFields) -> Result<tariff_model::Feature, UiError> {
    let admin = require_admin()?;
    let state = state();
    let per_units = match f.per_units.trim() {
        "" => None,
        text => match text.replace([' ', '\u{a0}'], "").parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => return Err(invalid(vec![InvalidField::new("per_units", Message::WholeNumber)])),
        },
    };
    let price: String = super::decimal_input(&f.unit_price);
    let title_ru = Some(Some(f.title_ru.trim().to_owned()).filter(|t| !t.is_empty()));
    let changes = tariff_model::FeatureChanges {
        name: Some(f.name.trim().to_owned()),
        title: Some(f.title),
        title_ru,
        unit_price: Some(tariff_model::money::DecimalText(price)),
        per_units,
        currency: Some(f.currency),
        access: Some(f.access),
        is_active: Some(f.is_active),
        ..Default::default()
    };
    let db = &state.billing.store;
    let actor = admin_actor(&admin);
    let saved = if create {
        tariff_core::features::create(db, state.now(), &actor, changes).await
    } else {
        tariff_core::features::update(db, state.now(), &actor, f.name.trim(), changes).await
    };
    saved.map_err(fail)
}

/// See [`crate::actions::admin::get_audit`].
pub async fn audit(filters: AuditFilters, page: i64) -> Result<Page<AuditRow>, UiError> {
    require_admin()?;
    let db = &state().billing.store;
    let nonempty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let (entity_type, entity_id) = match filters.entity.split_once(':') {
        Some((kind, id)) if !kind.starts_with("system") => (nonempty(kind), nonempty(id)),
        _ => (nonempty(&filters.entity), None),
    };
    // The actor may be given by email; the log records user ids.
    let actor = match nonempty(&filters.actor) {
        Some(actor) => Some(accounts::audit_actor_id(db, &actor).await.map_err(fail)?),
        None => None,
    };
    let filter = audit::AuditFilter {
        entity_type,
        entity_id,
        user_id: actor,
        action: nonempty(&filters.action),
        since: None,
        until: None,
    };
    let page = page.max(1);
    let (items, total) = audit::list(db, &filter, AUDIT_PAGE_SIZE, (page - 1) * AUDIT_PAGE_SIZE).await.map_err(fail)?;
    Ok(Page { items, total, page, page_size: AUDIT_PAGE_SIZE })
}

/// See [`crate::actions::admin::get_admin_orgs`].
pub async fn orgs(search: Option<String>, page: i64) -> Result<Page<tariff_model::org::OrganizationSummary>, UiError> {
    require_admin()?;
    let (page, page_size, offset) = tariff_core::paging::paging(Some(page), Some(PAGE_SIZE)).map_err(fail)?;
    let (items, total) =
        tariff_core::organizations::list_all(&state().billing.store, search.as_deref(), page_size, offset)
            .await
            .map_err(fail)?;
    Ok(Page { items, total, page, page_size })
}

/// See [`crate::actions::admin::get_admin_org`].
pub async fn org(id: String) -> Result<tariff_model::admin::OrgDetail, UiError> {
    require_admin()?;
    let state = state();
    let policy = state.billing.settings.no_subscription_policy;
    let low = state.billing.settings.low_balance_minor;
    picture::org_detail(&state.billing.store, state.now(), policy, &id, low).await.map_err(fail)
}

/// See [`crate::actions::admin::assign_org_plan`].
pub async fn assign_org(org_id: String, plan_id: String) -> Result<(), UiError> {
    let admin = require_admin()?;
    let state = state();
    let account = tariff_core::organizations::billing_ref(&state.billing.store, &org_id).await.map_err(fail)?;
    subscriptions::assign(&state.billing.store, state.now(), &admin_actor(&admin), &account, &plan_id)
        .await
        .map_err(fail)?;
    Ok(())
}

/// See [`crate::actions::admin::adjust_org_balance`].
pub async fn adjust_org_balance(org_id: String, amount: String, reason: String) -> Result<(), UiError> {
    let admin = require_admin()?;
    let state = state();
    let body = adjustment(&amount, reason)?;
    let low = state.billing.settings.low_balance_minor;
    let db = &state.billing.store;
    tariff_core::balance::adjust_organization(db, state.now(), &admin_actor(&admin), &org_id, &body, low)
        .await
        .map_err(fail)?;
    Ok(())
}

/// See [`crate::actions::admin::get_admin_webhooks`].
pub async fn webhooks() -> Result<crate::actions::admin::AdminWebhooks, UiError> {
    use tariff_core::events::endpoints;
    require_admin()?;
    let state = state();
    let db = &state.billing.store;
    let mut views = Vec::new();
    for endpoint in endpoints::list(db).await.map_err(fail)? {
        let deliveries = endpoints::deliveries(db, &endpoint.id, crate::actions::admin::WEBHOOK_DELIVERIES_SHOWN)
            .await
            .map_err(fail)?;
        views.push(crate::actions::admin::WebhookEndpointView { endpoint, deliveries });
    }
    Ok(crate::actions::admin::AdminWebhooks { endpoints: views, fresh: take_secret(FRESH_WEBHOOK_SECRET_KEY).await? })
}

/// See [`crate::actions::admin::save_webhook`].
pub async fn save_webhook(
    id: String,
    fields: BTreeMap<String, String>,
) -> Result<tariff_model::WebhookEndpoint, UiError> {
    use tariff_core::events::endpoints;
    let admin = require_admin()?;
    let state = state();
    let text = |name: &str| fields.get(name).map(|v| v.trim().to_owned());
    let event_types = text("event_types").map(|types| {
        types.split([',', ' ', '\n']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect::<Vec<_>>()
    });
    let body = tariff_model::events::WebhookEndpointBody {
        url: text("url"),
        description: text("description"),
        event_types,
        enabled: Some(fields.contains_key("enabled")),
    };
    let policy = state.config.webhook_policy();
    let db = &state.billing.store;
    let actor = admin_actor(&admin);
    if id.trim().is_empty() {
        let created = endpoints::create(db, state.now(), &actor, &policy, body).await.map_err(fail)?;
        // A plain form post is answered with a redirect back to the page: the page shows the
        // secret from the session, once.
        if is_form_post()
            && let Some(secret) = &created.secret
        {
            keep_secret_once(FRESH_WEBHOOK_SECRET_KEY, &created.url, secret).await?;
        }
        Ok(created)
    } else {
        endpoints::update(db, state.now(), &actor, &policy, id.trim(), body).await.map_err(fail)
    }
}

/// See [`crate::actions::admin::webhook_action`].
pub async fn webhook_action(
    endpoint_id: String,
    action: String,
    delivery_id: Option<String>,
) -> Result<String, UiError> {
    use tariff_core::events::endpoints;
    let admin = require_admin()?;
    let state = state();
    let db = &state.billing.store;
    let actor = admin_actor(&admin);
    match (action.as_str(), delivery_id) {
        ("test", _) => {
            let body = tariff_model::events::TestEventBody::default();
            let delivery = endpoints::send_test(db, state.now(), &actor, &endpoint_id, body).await.map_err(fail)?;
            Ok(delivery.id)
        }
        ("redeliver", Some(delivery_id)) => {
            endpoints::redeliver(db, state.now(), &actor, &endpoint_id, &delivery_id).await.map_err(fail)?;
            Ok(delivery_id)
        }
        ("delete", _) => {
            endpoints::delete(db, state.now(), &actor, &endpoint_id).await.map_err(fail)?;
            Ok(endpoint_id)
        }
        _ => Err(fail(Error::not_found(Entity::Route, action))),
    }
}
