//! Server functions of the organisation pages (issue 13): the viewer's organisations and
//! invitations, the organisation page, the account switcher, members, roles, caps and
//! invitations. Each acts as the signed-in viewer with the same rules as the JSON API.

use super::UiError;
use leptos::prelude::*;
use std::collections::BTreeMap;
use tariff_model::portal::{OrgPage, OrgsOverview};

/// The viewer's organisations (with their role) and the invitations waiting for them.
///
/// # Errors
/// [`UiError::SignedOut`]; [`tariff_model::Message::ServerError`].
#[server(prefix = "/api/ui", endpoint = "orgs/overview")]
pub async fn get_orgs_overview() -> Result<OrgsOverview, UiError> {
    crate::server::pages::orgs::overview().await
}

/// One organisation: members, plan, balance, invitations and usage by member (owners and admins).
///
/// # Errors
/// [`UiError::SignedOut`]; [`UiError::NotFound`] unless the viewer is a member.
#[server(prefix = "/api/ui", endpoint = "orgs/page")]
pub async fn get_org_page(id: String) -> Result<OrgPage, UiError> {
    crate::server::pages::orgs::page(id).await
}

/// Creates an organisation with the viewer as owner; returns its id.
///
/// # Errors
/// [`UiError::SignedOut`]; a field message on `name`.
#[server(prefix = "/api/ui", endpoint = "orgs/create")]
pub async fn create_organization(name: String) -> Result<String, UiError> {
    crate::server::pages::orgs::create(name).await
}

/// Renames an organisation (owners and admins).
///
/// # Errors
/// [`UiError::SignedOut`]; a field message on `name`; a message for a plain member.
#[server(prefix = "/api/ui", endpoint = "orgs/rename")]
pub async fn rename_organization(org_id: String, name: String) -> Result<(), UiError> {
    crate::server::pages::orgs::rename(org_id, name).await
}

/// Bills the viewer's usage and payments to `account_id`: their own account or an
/// organisation they belong to.
///
/// # Errors
/// [`UiError::SignedOut`]; a message for any other account.
#[server(prefix = "/api/ui", endpoint = "orgs/switch")]
pub async fn switch_account(account_id: String) -> Result<(), UiError> {
    crate::server::pages::orgs::switch(account_id).await
}

/// Accepts an invitation to the viewer's email; returns the organisation's id.
///
/// # Errors
/// [`UiError::SignedOut`]; [`UiError::NotFound`]; a message when it expired or was revoked.
#[server(prefix = "/api/ui", endpoint = "orgs/accept")]
pub async fn accept_invitation(id: String) -> Result<String, UiError> {
    crate::server::pages::orgs::accept(id).await
}

/// Declines an invitation to the viewer's email.
///
/// # Errors
/// As [`accept_invitation`].
#[server(prefix = "/api/ui", endpoint = "orgs/decline")]
pub async fn decline_invitation(id: String) -> Result<(), UiError> {
    crate::server::pages::orgs::decline(id).await
}

/// Invites `email` to the organisation as `role` (owners and admins).
///
/// # Errors
/// [`UiError::SignedOut`]; field messages on `email` and `role`; a message when the address is a
/// member or invited already, or the viewer may not invite.
#[server(prefix = "/api/ui", endpoint = "orgs/invite")]
pub async fn invite_member(org_id: String, email: String, role: String) -> Result<(), UiError> {
    crate::server::pages::orgs::invite(org_id, email, role).await
}

/// Revokes a pending invitation (owners and admins).
///
/// # Errors
/// [`UiError::SignedOut`]; [`UiError::NotFound`]; a message when it is no longer pending.
#[server(prefix = "/api/ui", endpoint = "orgs/revoke")]
pub async fn revoke_invitation(org_id: String, invitation_id: String) -> Result<(), UiError> {
    crate::server::pages::orgs::revoke(org_id, invitation_id).await
}

/// Changes a member's role.
///
/// # Errors
/// [`UiError::SignedOut`]; a message when not allowed or for the last owner.
#[server(prefix = "/api/ui", endpoint = "orgs/role")]
pub async fn set_member_role(org_id: String, user_id: String, role: String) -> Result<(), UiError> {
    crate::server::pages::orgs::set_role(org_id, user_id, role).await
}

/// Replaces a member's caps per period: `caps[requests]`, … and `caps[spend]` (an amount);
/// empty fields mean no cap.
///
/// # Errors
/// [`UiError::SignedOut`]; field messages `caps.<name>`; a message when not allowed.
#[server(prefix = "/api/ui", endpoint = "orgs/caps")]
pub async fn set_member_caps(org_id: String, user_id: String, caps: BTreeMap<String, String>) -> Result<(), UiError> {
    crate::server::pages::orgs::set_caps(org_id, user_id, caps).await
}

/// Removes a member, or lets the viewer leave (their own `user_id`).
///
/// # Errors
/// [`UiError::SignedOut`]; a message when not allowed or for the last owner.
#[server(prefix = "/api/ui", endpoint = "orgs/remove")]
pub async fn remove_member(org_id: String, user_id: String) -> Result<(), UiError> {
    crate::server::pages::orgs::remove(org_id, user_id).await
}
