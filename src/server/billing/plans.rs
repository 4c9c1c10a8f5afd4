//! Plan rules: the public catalogue and plan initialisation from templates (spec 002).

use super::audit::{self, Actor};
use super::templates;
use crate::model::Plan;
use crate::server::error::{Error, Result};
use crate::server::store::{Store, plans as store};

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
pub async fn init_plans(
    db: &Store,
    now: i64,
    actor: &Actor,
    options: InitOptions,
) -> Result<InitSummary> {
    let mut plans = templates::default_plans(now);
    if options.include_annual {
        plans.extend(templates::annual_plans(now));
    }
    if options.include_promo {
        plans.extend(templates::promo_plans(now));
    }
    let mut summary = InitSummary::default();
    for plan in plans {
        let mut tx = db.pool().begin().await?;
        let existing = store::get(&mut *tx, &plan.id).await?;
        match existing {
            Some(existing) if options.force => {
                let mut updated = plan.clone();
                updated.created_at = existing.created_at;
                store::update(&mut *tx, &updated).await?;
                let changes = audit::diff(Some(&plan_json(&existing)), &plan_json(&updated));
                let description = format!("Plan {} updated from its template", updated.id);
                audit::record(
                    &mut *tx,
                    actor,
                    "plan.update",
                    "plan",
                    &updated.id,
                    description,
                    changes,
                    now,
                )
                .await?;
                summary.updated.push(updated.id);
            }
            Some(_) => summary.skipped.push(plan.id),
            None => {
                if store::insert_if_absent(&mut *tx, &plan).await? {
                    let changes = audit::diff(None, &plan_json(&plan));
                    let description = format!("Plan {} created from its template", plan.id);
                    audit::record(
                        &mut *tx,
                        actor,
                        "plan.create",
                        "plan",
                        &plan.id,
                        description,
                        changes,
                        now,
                    )
                    .await?;
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
