//! The server-side bodies of the organisation pages' server functions
//! ([`crate::actions::orgs`]): each checks the session and calls one function of
//! `tariff_core::organizations`, acting as the viewer.

use super::{fail, is_form_post, require_viewer, state, user_ref};
use crate::actions::UiError;
use std::collections::BTreeMap;
use tariff_core::organizations;
use tariff_model::money::DecimalText;
use tariff_model::org::{AccountChoice, InvitationBody, MemberChanges, OrganizationBody};
use tariff_model::portal::{OrgPage, OrgsOverview};

/// See [`crate::actions::orgs::get_orgs_overview`].
pub async fn overview() -> Result<OrgsOverview, UiError> {
    let viewer = require_viewer()?;
    let state = state();
    let db = &state.billing.store;
    let me = user_ref(&viewer);
    Ok(OrgsOverview {
        organizations: organizations::list_mine(db, &me).await.map_err(fail)?,
        invitations: organizations::my_invitations(db, state.now(), &me).await.map_err(fail)?,
    })
}

/// See [`crate::actions::orgs::get_org_page`].
pub async fn page(id: String) -> Result<OrgPage, UiError> {
    let viewer = require_viewer()?;
    let state = state();
    let db = &state.billing.store;
    let me = user_ref(&viewer);
    let organization = organizations::get(db, state.now(), &id, &me).await.map_err(fail)?;
    let usage = match organization.role {
        Some(role) if role.manages() => {
            Some(organizations::usage_by_member(db, state.now(), &id, &me, None).await.map_err(fail)?)
        }
        _ => None,
    };
    Ok(OrgPage { organization, usage, billing_here: viewer.account_id == id, viewer_id: viewer.id })
}

/// See [`crate::actions::orgs::create_organization`].
pub async fn create(name: String) -> Result<String, UiError> {
    let viewer = require_viewer()?;
    let state = state();
    let org = organizations::create(&state.billing.store, state.now(), &user_ref(&viewer), &OrganizationBody { name })
        .await
        .map_err(fail)?;
    // The browser goes to the new organisation's page.
    if is_form_post() {
        leptos_axum::redirect(&format!("/org/{}", org.id));
    }
    Ok(org.id)
}

/// See [`crate::actions::orgs::rename_organization`].
pub async fn rename(org_id: String, name: String) -> Result<(), UiError> {
    let viewer = require_viewer()?;
    let state = state();
    let body = OrganizationBody { name };
    organizations::rename(&state.billing.store, state.now(), &org_id, &user_ref(&viewer), &body).await.map_err(fail)?;
    Ok(())
}

/// See [`crate::actions::orgs::switch_account`].
pub async fn switch(account_id: String) -> Result<(), UiError> {
    let viewer = require_viewer()?;
    let state = state();
    let choice = AccountChoice { account_id };
    organizations::switch(&state.billing.store, state.now(), &user_ref(&viewer), &choice).await.map_err(fail)?;
    Ok(())
}

/// See [`crate::actions::orgs::accept_invitation`].
pub async fn accept(id: String) -> Result<String, UiError> {
    let viewer = require_viewer()?;
    let state = state();
    let org = organizations::accept(&state.billing.store, state.now(), &id, &user_ref(&viewer)).await.map_err(fail)?;
    Ok(org.id)
}

/// See [`crate::actions::orgs::decline_invitation`].
pub async fn decline(id: String) -> Result<(), UiError> {
    let viewer = require_viewer()?;
    let state = state();
    organizations::decline(&state.billing.store, state.now(), &id, &user_ref(&viewer)).await.map_err(fail)?;
    Ok(())
}

/// See [`crate::actions::orgs::invite_member`].
pub async fn invite(org_id: String, email: String, role: String) -> Result<(), UiError> {
    let viewer = require_viewer()?;
    let state = state();
    let body = InvitationBody { email, role: Some(role) };
    organizations::invite(&state.billing.store, state.now(), &org_id, &user_ref(&viewer), &body).await.map_err(fail)?;
    Ok(())
}

/// See [`crate::actions::orgs::revoke_invitation`].
pub async fn revoke(org_id: String, invitation_id: String) -> Result<(), UiError> {
    let viewer = require_viewer()?;
    let state = state();
    let me = user_ref(&viewer);
    organizations::revoke_invitation(&state.billing.store, state.now(), &org_id, &invitation_id, &me)
        .await
        .map_err(fail)?;
    Ok(())
}

/// See [`crate::actions::orgs::set_member_role`].
pub async fn set_role(org_id: String, user_id: String, role: String) -> Result<(), UiError> {
    let viewer = require_viewer()?;
    let state = state();
    let changes = MemberChanges { role: Some(role), caps: None };
    let me = user_ref(&viewer);
    organizations::update_member(&state.billing.store, state.now(), &org_id, &user_id, &me, &changes)
        .await
        .map_err(fail)?;
    Ok(())
}

/// See [`crate::actions::orgs::set_member_caps`]. Empty fields mean no cap; amounts are read as
/// people type them (`1 250,50`).
pub async fn set_caps(org_id: String, user_id: String, caps: BTreeMap<String, String>) -> Result<(), UiError> {
    let viewer = require_viewer()?;
    let state = state();
    let caps: BTreeMap<String, DecimalText> = caps
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k, DecimalText(super::decimal_input(&v))))
        .collect();
    let changes = MemberChanges { role: None, caps: Some(caps) };
    let me = user_ref(&viewer);
    organizations::update_member(&state.billing.store, state.now(), &org_id, &user_id, &me, &changes)
        .await
        .map_err(fail)?;
    Ok(())
}

/// See [`crate::actions::orgs::remove_member`].
pub async fn remove(org_id: String, user_id: String) -> Result<(), UiError> {
    let viewer = require_viewer()?;
    let state = state();
    organizations::remove_member(&state.billing.store, state.now(), &org_id, &user_id, &user_ref(&viewer))
        .await
        .map_err(fail)
}
