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
    Ok(summary)
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
