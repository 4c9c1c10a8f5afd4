//! Plan initialisation from the templates (spec 002 `init_plans`), and seeding the defaults at
//! the first start of `serve`.

use super::edit::plan_json;
use super::templates;
use crate::Result;
use crate::audit::{self, Actor};
use crate::store::{Store, plans as store};

/// Which template sets `init_plans` writes and whether it overwrites existing plans
/// (spec 002 command-line options `--include-annual`, `--include-promo`, `--force`).
#[derive(Clone, Copy, Debug, Default)]
pub struct InitOptions {
    pub include_annual: bool,
    pub include_promo: bool,
    /// Seed 004's pay-as-you-go example: Free/Pro/Team with included units and discounts, and
    /// the example features (`--include-payg`).
    pub include_payg: bool,
    pub force: bool,
}

/// The ids of the plans `init_plans` created, updated and skipped, in template order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InitSummary {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub skipped: Vec<String>,
    /// Features (with `--include-payg`) by name, the same way.
    pub features_created: Vec<String>,
    pub features_updated: Vec<String>,
    pub features_skipped: Vec<String>,
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
    if options.include_payg {
        // The pay-as-you-go versions of free and pro take the place of the plain ones.
        for plan in templates::payg_plans(now) {
            match plans.iter_mut().find(|p| p.id == plan.id) {
                Some(slot) => *slot = plan,
                None => plans.push(plan),
            }
        }
    }
    let mut summary = InitSummary::default();
    for plan in plans {
        let mut tx = db.begin_write().await?;
        let existing = store::get(tx.conn(), &plan.id).await?;
        match existing {
            Some(existing) if options.force => {
                let mut updated = plan.clone();
                updated.created_at = existing.created_at;
                store::update(&mut tx, &updated).await?;
                let changes = audit::diff(Some(&plan_json(&existing)), &plan_json(&updated));
                let description = format!("Plan {} updated from its template", updated.id);
                audit::record(&mut tx, actor, "plan.update", "plan", &updated.id, description, changes, now).await?;
                summary.updated.push(updated.id);
            }
            Some(_) => summary.skipped.push(plan.id),
            None => {
                if store::insert_if_absent(&mut tx, &plan).await? {
                    let changes = audit::diff(None, &plan_json(&plan));
                    let description = format!("Plan {} created from its template", plan.id);
                    audit::record(&mut tx, actor, "plan.create", "plan", &plan.id, description, changes, now).await?;
                    summary.created.push(plan.id);
                } else {
                    summary.skipped.push(plan.id);
                }
            }
        }
        tx.commit().await?;
    }
    if options.include_payg {
        init_features(db, now, actor, options.force, &mut summary).await?;
    }
    Ok(summary)
}

/// Writes seed 004's example features like the plans: created, updated with `force`, or skipped.
async fn init_features(db: &Store, now: i64, actor: &Actor, force: bool, summary: &mut InitSummary) -> Result<()> {
    use crate::store::features as feature_store;
    for feature in templates::payg_features(now) {
        let mut tx = db.begin_write().await?;
        let json = |f: &tariff_model::Feature| serde_json::to_value(f).expect("a feature serialises");
        match feature_store::get(tx.conn(), &feature.name).await? {
            Some(existing) if force => {
                let mut updated = feature.clone();
                updated.created_at = existing.created_at;
                feature_store::update(&mut tx, &updated).await?;
                let changes = audit::diff(Some(&json(&existing)), &json(&updated));
                let description = format!("Feature {} updated from its template", feature.name);
                audit::record(&mut tx, actor, "feature.update", "feature", &feature.name, description, changes, now)
                    .await?;
                summary.features_updated.push(feature.name);
            }
            Some(_) => summary.features_skipped.push(feature.name),
            None => {
                if feature_store::insert_if_absent(&mut tx, &feature).await? {
                    let changes = audit::diff(None, &json(&feature));
                    let description = format!("Feature {} created from its template", feature.name);
                    audit::record(
                        &mut tx,
                        actor,
                        "feature.create",
                        "feature",
                        &feature.name,
                        description,
                        changes,
                        now,
                    )
                    .await?;
                    summary.features_created.push(feature.name);
                } else {
                    summary.features_skipped.push(feature.name);
                }
            }
        }
        tx.commit().await?;
    }
    Ok(())
}

/// Seeds the default plans when the plan table is empty (first start of `serve`).
/// Returns the summary when it seeded, `None` when plans already existed.
///
/// # Errors
/// [`Error::Database`].
pub async fn seed_defaults_if_empty(db: &Store, now: i64) -> Result<Option<InitSummary>> {
    if store::count(db.reader()).await? > 0 {
        return Ok(None);
    }
    let summary = init_plans(db, now, &Actor::system("startup"), InitOptions::default()).await?;
    Ok(Some(summary))
}
