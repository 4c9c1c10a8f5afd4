//! Public and user-facing JSON routes under `/api/v1/billing` (spec 000 "User Endpoints",
//! spec 003 "API Endpoints").

use crate::model::Plan;
use crate::server::billing;
use crate::server::error::Result;
use crate::server::state::AppState;
use axum::Json;
use axum::extract::{Path, State};

/// `GET /api/v1/billing/plans`: active plans ordered by `display_order`, each with every spec
/// field, `price` as a decimal number and `price_minor` in minor units. Public.
pub async fn list_plans(State(state): State<AppState>) -> Result<Json<Vec<Plan>>> {
    Ok(Json(billing::plans::list_active(&state.store).await?))
}

/// `GET /api/v1/billing/plans/{plan_id}`: one active plan; 404 problem JSON for an unknown or
/// inactive plan. Public.
pub async fn get_plan(
    State(state): State<AppState>,
    Path(plan_id): Path<String>,
) -> Result<Json<Plan>> {
    Ok(Json(
        billing::plans::get_active(&state.store, &plan_id).await?,
    ))
}
