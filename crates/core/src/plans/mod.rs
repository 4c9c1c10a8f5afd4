//! Plan rules: the public catalogue, plan ids, editing (`edit`), and initialisation from the
//! templates of spec 002 (`init`, `templates`).

pub mod edit;
pub mod init;
pub mod templates;

use crate::store::{Store, plans as store};
use crate::{Error, Result};
use tariff_model::{Entity, Plan};

pub use edit::{create, decreased_quotas, delete, duplicate, toggle, update};
pub use init::{InitOptions, InitSummary, init_plans, seed_defaults_if_empty};

/// The plan every new account starts on, when it exists and is active.
pub const FREE_PLAN_ID: &str = "free";

/// Active plans ordered by `display_order` (the public `GET /api/v1/billing/plans`).
///
/// # Errors
/// [`Error::Database`] when the store fails.
pub async fn list_active(db: &Store) -> Result<Vec<Plan>> {
    Ok(store::list(db.reader(), true).await?)
}

/// One active plan (the public `GET /api/v1/billing/plans/{plan_id}`).
///
/// # Errors
/// [`Error::NotFound`] for an unknown or inactive plan; [`Error::Database`].
pub async fn get_active(db: &Store, plan_id: &str) -> Result<Plan> {
    match store::get(db.reader(), plan_id).await? {
        Some(plan) if plan.is_active => Ok(plan),
        _ => Err(Error::not_found(Entity::Plan, plan_id)),
    }
}

/// Longest accepted plan id, name or feature code, in characters.
pub(crate) const MAX_ID_LEN: usize = 64;
pub(crate) const MAX_NAME_LEN: usize = 200;
pub(crate) const MAX_TRIAL_DAYS: i64 = 365;

/// Any plan by id, active or not (admin view).
///
/// # Errors
/// [`Error::NotFound`]; [`Error::Database`].
pub async fn get(db: &Store, plan_id: &str) -> Result<Plan> {
    store::get(db.reader(), plan_id).await?.ok_or_else(|| Error::not_found(Entity::Plan, plan_id))
}

/// Every plan, active or not, by `display_order` (admin view).
///
/// # Errors
/// [`Error::Database`].
pub async fn list_all(db: &Store) -> Result<Vec<Plan>> {
    Ok(store::list(db.reader(), false).await?)
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
