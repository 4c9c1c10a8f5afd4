//! Organisations (issue 13, seed 004's organisation-level plan and balance): one account whose
//! subscription, quota counters and balance its members share. Members, roles and invitations;
//! which account a user bills to now; member caps; usage by member.
//!
//! Rules: owners and admins manage members and invitations, pay, top up and change the plan;
//! only an owner makes, changes or removes an owner; the last owner can neither leave nor be
//! demoted or removed (409). Anyone who is not a member gets 404 for the organisation (no
//! enumeration). Every change is audited with the acting user.

pub mod caps;

use crate::audit::{self, Actor};
use crate::store::orgs::{self as store, InvitationRow, MemberRow, OrgRow};
use crate::store::{Store, WriteTx, is_unique_violation, users};
use crate::tokens::{Membership, UserRef};
use crate::{Error, Result};
use serde_json::json;
use tariff_model::org::{
    AccountChoice, CapsView, CurrentAccount, CurrentOrganization, Invitation, InvitationBody, InvitationStatus, Member,
    MemberCaps, MemberChanges, MemberUsage, OrgRole, Organization, OrganizationBody, OrganizationSummary,
    OrganizationUsage,
};
use tariff_model::{Currency, Entity, Message};

/// How long an invitation may be accepted, in seconds (7 days).
pub const INVITATION_TTL_SECONDS: i64 = 7 * 86_400;
/// Longest organisation name, in characters.
pub const MAX_NAME_CHARS: u32 = 100;

fn actor_of(user: &UserRef) -> Actor {
    Actor { user_id: user.id.clone(), metadata: json!({ "channel": "organization", "email": user.email }) }
}

fn valid_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid("name", Message::OrgNameRequired));
    }
    if name.chars().count() > MAX_NAME_CHARS as usize {
        return Err(Error::invalid("name", Message::TextTooLong { max: MAX_NAME_CHARS }));
    }
    Ok(name.to_owned())
}

fn parse_role(text: Option<&str>, default: OrgRole) -> Result<OrgRole> {
    match text {
        None => Ok(default),
        Some(t) => {
            OrgRole::parse(t.trim()).ok_or_else(|| Error::invalid("role", Message::RoleUnknown { value: t.to_owned() }))
        }
    }
}

fn caps_of(row: &MemberRow) -> MemberCaps {
    row.caps.as_deref().and_then(|c| serde_json::from_str(c).ok()).unwrap_or_default()
}

fn member_view(row: &MemberRow) -> Member {
    Member {
        user_id: row.user_id.clone(),
        email: row.email.clone(),
        name: row.name.clone(),
        role: row.role,
        caps: CapsView::from(&caps_of(row)),
        joined_at: row.created_at,
    }
}

fn invitation_view(row: InvitationRow, now: i64) -> Invitation {
    let status = if row.status == InvitationStatus::Pending && row.expires_at <= now {
        InvitationStatus::Expired
    } else {
        row.status
    };
    Invitation {
        id: row.id,
        organization_id: row.account_id,
        organization_name: row.organization_name,
        email: row.email,
        role: row.role,
        status,
        invited_by: row.invited_by,
        expires_at: row.expires_at,
        created_at: row.created_at,
    }
}

/// The organisation and the caller's membership; 404 for anyone who is not a member.
async fn as_member(db: &Store, org_id: &str, user: &UserRef) -> Result<(OrgRow, MemberRow)> {
    let not_found = || Error::not_found(Entity::Organization, org_id);
    let org = store::get(db.reader(), org_id).await?.ok_or_else(not_found)?;
    let me = store::member(db.reader(), org_id, &user.id).await?.ok_or_else(not_found)?;
    Ok((org, me))
}

/// As [`as_member`], and the caller must be an owner or admin (403 otherwise).
async fn as_manager(db: &Store, org_id: &str, user: &UserRef) -> Result<(OrgRow, MemberRow)> {
    let (org, me) = as_member(db, org_id, user).await?;
    if !me.role.manages() {
        return Err(Error::Forbidden(Message::OrgManagersOnly));
    }
    Ok((org, me))
}

/// Creates an organisation with `user` as its owner, its own balance (in RUB) and a
/// subscription to the free plan like a new user's. The creator's billing stays where it was.
///
/// # Errors
/// [`Error::Validation`] on `name` (empty, over 100 characters); [`Error::Database`].
pub async fn create(db: &Store, now: i64, user: &UserRef, body: &OrganizationBody) -> Result<Organization> {
    let name = valid_name(&body.name)?;
    let id = uuid::Uuid::new_v4().to_string();
    let mut tx = db.begin_write().await?;
    store::insert(&mut tx, &id, &name, Currency::Rub, now).await?;
    store::insert_member(&mut tx, &id, &user.id, OrgRole::Owner, now).await?;
    crate::subscriptions::start_free_plan(&mut tx, &user.id, &id, now).await?;
    audit::record(
        &mut tx,
        &actor_of(user),
        "organization.create",
        "organization",
        &id,
        format!("Organization {name} created by {}", user.email),
        audit::diff(None, &json!({ "name": name, "owner": user.email })),
        now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(target: crate::LOG_TARGET, account_id = %id, "organization created by user {}", user.id);
    get(db, now, &id, user).await
}

/// The organisations `user` belongs to, with their role.
///
/// # Errors
/// [`Error::Database`].
pub async fn list_mine(db: &Store, user: &UserRef) -> Result<Vec<OrganizationSummary>> {
    Ok(store::of_user(db.reader(), &user.id).await?)
}

async fn picture(
    db: &Store,
    now: i64,
    org: OrgRow,
    role: Option<OrgRole>,
    with_invitations: bool,
) -> Result<Organization> {
    let subscription = crate::subscriptions::current(db, now, &org.id).await?;
    let members = store::members(db.reader(), &org.id).await?.iter().map(member_view).collect();
    let invitations = if with_invitations {
        store::invitations_of(db.reader(), &org.id, now).await?.into_iter().map(|r| invitation_view(r, now)).collect()
    } else {
        Vec::new()
    };
    Ok(Organization {
        account_id: org.id.clone(),
        id: org.id,
        name: org.name,
        role,
        plan_id: subscription.as_ref().map(|s| s.plan.id.clone()),
        plan_name: subscription.as_ref().map(|s| s.plan.name.clone()),
        plan_name_ru: subscription.as_ref().and_then(|s| s.plan.name_ru.clone()),
        subscription_status: subscription.as_ref().map(|s| s.status),
        currency: org.currency,
        balance: tariff_model::balance::decimal_from_micros(org.balance_micros),
        balance_micros: org.balance_micros,
        members,
        invitations,
        created_at: org.created_at,
    })
}

/// One organisation as a member sees it: members, plan, balance; pending invitations for
/// owners and admins.
///
/// # Errors
/// [`Error::NotFound`] unless `user` is a member; [`Error::Database`].
pub async fn get(db: &Store, now: i64, org_id: &str, user: &UserRef) -> Result<Organization> {
    let (org, me) = as_member(db, org_id, user).await?;
    picture(db, now, org, Some(me.role), me.role.manages()).await
}

/// One organisation for Tariff's administrators (no membership needed).
///
/// # Errors
/// [`Error::NotFound`] for an unknown organisation; [`Error::Database`].
pub async fn get_for_admin(db: &Store, now: i64, org_id: &str) -> Result<Organization> {
    let org = store::get(db.reader(), org_id).await?.ok_or_else(|| Error::not_found(Entity::Organization, org_id))?;
    picture(db, now, org, None, true).await
}

/// A page of every organisation for the admin, optionally filtered by name or member email.
///
/// # Errors
/// [`Error::Database`].
pub async fn list_all(
    db: &Store,
    search: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<OrganizationSummary>, i64)> {
    let search = search.map(str::trim).filter(|s| !s.is_empty());
    Ok(store::list_all(db.reader(), search, limit, offset).await?)
}

/// Renames the organisation (owners and admins).
///
/// # Errors
/// [`Error::NotFound`] for a non-member; [`Error::Forbidden`] for a plain member;
/// [`Error::Validation`] on `name`; [`Error::Database`].
pub async fn rename(
    db: &Store,
    now: i64,
    org_id: &str,
    user: &UserRef,
    body: &OrganizationBody,
) -> Result<Organization> {
    let (org, _) = as_manager(db, org_id, user).await?;
    let name = valid_name(&body.name)?;
    if name != org.name {
        let mut tx = db.begin_write().await?;
        store::rename(&mut tx, org_id, &name, now).await?;
        audit::record(
            &mut tx,
            &actor_of(user),
            "organization.update",
            "organization",
            org_id,
            format!("Organization {} renamed to {name}", org.name),
            audit::diff(Some(&json!({ "name": org.name })), &json!({ "name": name })),
            now,
        )
        .await?;
        tx.commit().await?;
    }
    get(db, now, org_id, user).await
}

/// Invites `body.email` to join as `body.role` (default `member`), valid for 7 days.
///
/// # Errors
/// [`Error::NotFound`] for a non-member; [`Error::Forbidden`] for a plain member, or an admin
/// inviting an owner; [`Error::Validation`] on `email` or `role` (422); [`Error::Conflict`] when
/// the address belongs to a member already or has a pending invitation (409); [`Error::Database`].
pub async fn invite(db: &Store, now: i64, org_id: &str, user: &UserRef, body: &InvitationBody) -> Result<Invitation> {
    let (org, me) = as_manager(db, org_id, user).await?;
    let email = body.email.trim().to_lowercase();
    if email.chars().count() > crate::accounts::MAX_EMAIL_CHARS as usize {
        return Err(Error::invalid("email", Message::TextTooLong { max: crate::accounts::MAX_EMAIL_CHARS }));
    }
    if !crate::accounts::looks_like_email(&email) {
        return Err(Error::invalid("email", Message::EmailInvalid));
    }
    let role = parse_role(body.role.as_deref(), OrgRole::Member)?;
    if role == OrgRole::Owner && me.role != OrgRole::Owner {
        return Err(Error::Forbidden(Message::OrgOwnersOnly));
    }
    if let Some(existing) = users::find_by_email(db.reader(), &email).await?
        && store::member(db.reader(), org_id, &existing.id).await?.is_some()
    {
        return Err(Error::Conflict(Message::AlreadyMember { email }));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let mut tx = db.begin_write().await?;
    store::retire_expired(&mut tx, org_id, &email, now).await?;
    let new = store::NewInvitation {
        id: &id,
        account_id: org_id,
        email: &email,
        role,
        invited_by: &user.id,
        expires_at: now + INVITATION_TTL_SECONDS,
        now,
    };
    match store::insert_invitation(&mut tx, &new).await {
        Ok(()) => {}
        // PostgreSQL names the index; SQLite names its columns.
        Err(e)
            if is_unique_violation(&e, "organization_invitation_pending_key")
                || is_unique_violation(&e, "organization_invitation.account_id") =>
        {
            return Err(Error::Conflict(Message::AlreadyInvited { email }));
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        &mut tx,
        &actor_of(user),
        "organization.invite",
        "organization",
        org_id,
        format!("{email} invited to {} as {role}", org.name),
        audit::diff(None, &json!({ "invitation_id": id, "email": email, "role": role.as_str() })),
        now,
    )
    .await?;
    let row =
        store::invitation(tx.conn(), &id).await?.ok_or_else(|| Error::Internal("an invitation vanished".into()))?;
    let invitation = invitation_view(row, now);
    let data = serde_json::to_value(&invitation).map_err(|e| Error::Internal(e.to_string()))?;
    crate::events::emit(&mut tx, tariff_model::EventType::InvitationCreated, org_id, Some(&user.id), data, now).await?;
    tx.commit().await?;
    Ok(invitation)
}

/// Revokes a pending invitation of the organisation (owners and admins).
///
/// # Errors
/// [`Error::NotFound`] for a non-member or an invitation of another organisation;
/// [`Error::Forbidden`] for a plain member; [`Error::Gone`] (410) when it is no longer pending;
/// [`Error::Database`].
pub async fn revoke_invitation(
    db: &Store,
    now: i64,
    org_id: &str,
    invitation_id: &str,
    user: &UserRef,
) -> Result<Invitation> {
    as_manager(db, org_id, user).await?;
    let row = store::invitation(db.reader(), invitation_id)
        .await?
        .filter(|r| r.account_id == org_id)
        .ok_or_else(|| Error::not_found(Entity::Invitation, invitation_id))?;
    let mut tx = db.begin_write().await?;
    if !store::answer_invitation(&mut tx, invitation_id, InvitationStatus::Revoked, now).await? {
        return Err(Error::Gone(Message::InvitationGone));
    }
    audit::record(
        &mut tx,
        &actor_of(user),
        "organization.invitation_revoke",
        "organization",
        org_id,
        format!("Invitation of {} to {} revoked", row.email, row.organization_name),
        audit::diff(Some(&json!({ "invitation": "pending" })), &json!({ "invitation": "revoked", "email": row.email })),
        now,
    )
    .await?;
    tx.commit().await?;
    let row = store::invitation(db.reader(), invitation_id)
        .await?
        .ok_or_else(|| Error::Internal("an invitation vanished".into()))?;
    Ok(invitation_view(row, now))
}

/// The pending, unexpired invitations to `user`'s email.
///
/// # Errors
/// [`Error::Database`].
pub async fn my_invitations(db: &Store, now: i64, user: &UserRef) -> Result<Vec<Invitation>> {
    let rows = store::invitations_for_email(db.reader(), &user.email.to_lowercase(), now).await?;
    Ok(rows.into_iter().map(|r| invitation_view(r, now)).collect())
}

/// The invitation, if it was sent to `user`'s email (404 otherwise: no enumeration).
async fn addressed_to(db: &Store, invitation_id: &str, user: &UserRef) -> Result<InvitationRow> {
    store::invitation(db.reader(), invitation_id)
        .await?
        .filter(|r| r.email.eq_ignore_ascii_case(user.email.trim()))
        .ok_or_else(|| Error::not_found(Entity::Invitation, invitation_id))
}

/// Accepts an invitation sent to `user`'s email: they join with its role. Their billing account
/// stays where it was until they switch (`PUT /api/v1/billing/account`).
///
/// # Errors
/// [`Error::NotFound`] for an invitation to another address; [`Error::Gone`] (410) when it
/// expired, was revoked or answered; [`Error::Conflict`] when they are a member already;
/// [`Error::Database`].
pub async fn accept(db: &Store, now: i64, invitation_id: &str, user: &UserRef) -> Result<Organization> {
    let row = addressed_to(db, invitation_id, user).await?;
    let mut tx = db.begin_write().await?;
    if !store::answer_invitation(&mut tx, invitation_id, InvitationStatus::Accepted, now).await? {
        return Err(Error::Gone(Message::InvitationGone));
    }
    if !store::insert_member(&mut tx, &row.account_id, &user.id, row.role, now).await? {
        return Err(Error::Conflict(Message::AlreadyMember { email: user.email.clone() }));
    }
    audit::record(
        &mut tx,
        &actor_of(user),
        "organization.join",
        "organization",
        &row.account_id,
        format!("{} joined {} as {}", user.email, row.organization_name, row.role),
        audit::diff(None, &json!({ "member": user.email, "role": row.role.as_str(), "invitation_id": row.id })),
        now,
    )
    .await?;
    tx.commit().await?;
    get(db, now, &row.account_id, user).await
}

/// Declines an invitation sent to `user`'s email.
///
/// # Errors
/// As [`accept`] (without the conflict).
pub async fn decline(db: &Store, now: i64, invitation_id: &str, user: &UserRef) -> Result<Invitation> {
    addressed_to(db, invitation_id, user).await?;
    let mut tx = db.begin_write().await?;
    if !store::answer_invitation(&mut tx, invitation_id, InvitationStatus::Declined, now).await? {
        return Err(Error::Gone(Message::InvitationGone));
    }
    tx.commit().await?;
    let row = store::invitation(db.reader(), invitation_id)
        .await?
        .ok_or_else(|| Error::Internal("an invitation vanished".into()))?;
    Ok(invitation_view(row, now))
}

/// Refuses a change that would leave the organisation without an owner: `target` is an owner
/// and the only one (read with the owners locked, in `tx`).
async fn keep_an_owner(tx: &mut WriteTx, db: &Store, org_id: &str, target: &MemberRow) -> Result<()> {
    if target.role == OrgRole::Owner && store::lock_owners(tx, db.dialect(), org_id).await? <= 1 {
        return Err(Error::Conflict(Message::LastOwner));
    }
    Ok(())
}

/// Changes a member's role and/or caps (owners and admins; owners only for anything about an
/// owner). `caps` replaces the member's caps.
///
/// # Errors
/// [`Error::NotFound`] for a non-member caller or an unknown member; [`Error::Forbidden`] for a
/// plain member, or an admin touching an owner; [`Error::Validation`] on `role` or `caps.*`;
/// [`Error::Conflict`] when the last owner would be demoted; [`Error::Database`].
pub async fn update_member(
    db: &Store,
    now: i64,
    org_id: &str,
    member_id: &str,
    user: &UserRef,
    changes: &MemberChanges,
) -> Result<Member> {
    let (org, me) = as_manager(db, org_id, user).await?;
    let target = store::member(db.reader(), org_id, member_id)
        .await?
        .ok_or_else(|| Error::not_found(Entity::Member, member_id))?;
    let role = parse_role(changes.role.as_deref(), target.role)?;
    let caps = match &changes.caps {
        Some(map) => caps::parse(map)?,
        None => caps_of(&target),
    };
    let touches_owner = target.role == OrgRole::Owner || role == OrgRole::Owner;
    if touches_owner && me.role != OrgRole::Owner && (role != target.role || target.role == OrgRole::Owner) {
        return Err(Error::Forbidden(Message::OrgOwnersOnly));
    }
    let mut tx = db.begin_write().await?;
    if role != OrgRole::Owner {
        keep_an_owner(&mut tx, db, org_id, &target).await?;
    }
    let caps_json = if caps.is_empty() {
        None
    } else {
        Some(serde_json::to_string(&caps).map_err(|e| Error::Internal(e.to_string()))?)
    };
    if !store::update_member(&mut tx, org_id, member_id, role, caps_json.as_deref(), now).await? {
        return Err(Error::not_found(Entity::Member, member_id));
    }
    let before = json!({ "role": target.role.as_str(), "caps": caps_of(&target) });
    let after = json!({ "role": role.as_str(), "caps": caps });
    audit::record(
        &mut tx,
        &actor_of(user),
        "organization.member_update",
        "organization",
        org_id,
        format!("Member {} of {} changed", target.email, org.name),
        audit::diff(Some(&before), &after),
        now,
    )
    .await?;
    tx.commit().await?;
    let row = store::member(db.reader(), org_id, member_id)
        .await?
        .ok_or_else(|| Error::not_found(Entity::Member, member_id))?;
    Ok(member_view(&row))
}

/// Removes a member, or lets `user` leave (`member_id` = their own id). Owners and admins remove
/// others; only owners remove owners; the last owner can neither leave nor be removed (409). The
/// removed user's billing goes back to their personal account; their past usage stays on the
/// organisation.
///
/// # Errors
/// [`Error::NotFound`] for a non-member caller or an unknown member; [`Error::Forbidden`] as
/// above; [`Error::Conflict`] for the last owner; [`Error::Database`].
pub async fn remove_member(db: &Store, now: i64, org_id: &str, member_id: &str, user: &UserRef) -> Result<()> {
    let (org, me) = as_member(db, org_id, user).await?;
    let leaving = member_id == user.id;
    let target = if leaving {
        me.clone()
    } else {
        if !me.role.manages() {
            return Err(Error::Forbidden(Message::OrgManagersOnly));
        }
        store::member(db.reader(), org_id, member_id)
            .await?
            .ok_or_else(|| Error::not_found(Entity::Member, member_id))?
    };
    if !leaving && target.role == OrgRole::Owner && me.role != OrgRole::Owner {
        return Err(Error::Forbidden(Message::OrgOwnersOnly));
    }
    let mut tx = db.begin_write().await?;
    keep_an_owner(&mut tx, db, org_id, &target).await?;
    if !store::delete_member(&mut tx, org_id, member_id, now).await? {
        return Err(Error::not_found(Entity::Member, member_id));
    }
    let (action, description) = if leaving {
        ("organization.leave", format!("{} left {}", target.email, org.name))
    } else {
        ("organization.member_remove", format!("{} removed from {} by {}", target.email, org.name, user.email))
    };
    audit::record(
        &mut tx,
        &actor_of(user),
        action,
        "organization",
        org_id,
        description,
        audit::diff(
            Some(&json!({ "member": target.email, "role": target.role.as_str() })),
            &json!({ "member": null, "role": null }),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The account `user` bills to now, and the organisation when it is one.
///
/// # Errors
/// [`Error::Database`].
pub async fn current_account(db: &Store, user: &UserRef) -> Result<CurrentAccount> {
    let organization = match &user.membership {
        Some(m) => store::get(db.reader(), &user.account_id).await?.map(|org| CurrentOrganization {
            id: org.id,
            name: org.name,
            role: m.role,
        }),
        None => None,
    };
    Ok(CurrentAccount {
        account_id: user.account_id.clone(),
        personal_account_id: user.personal_account_id.clone(),
        organization,
    })
}

/// Makes `choice.account_id` the account `user`'s usage, charges, checks and payments go to:
/// their personal account, or an organisation they belong to.
///
/// # Errors
/// [`Error::Forbidden`] ([`Message::NotAMember`]) for any other account; [`Error::Database`].
pub async fn switch(db: &Store, now: i64, user: &UserRef, choice: &AccountChoice) -> Result<CurrentAccount> {
    let target = choice.account_id.trim();
    let current = if target == user.personal_account_id {
        None
    } else if store::member(db.reader(), target, &user.id).await?.is_some() {
        Some(target)
    } else {
        return Err(Error::Forbidden(Message::NotAMember));
    };
    let mut tx = db.begin_write().await?;
    users::set_current_account(&mut tx, &user.id, current, now).await?;
    tx.commit().await?;
    let user = crate::accounts::billing_user(db, &user.id).await?;
    current_account(db, &user).await
}

/// `user` acting in the organisation `org_id` for this one request (a service token's
/// `organization_id`): the same user, billing the organisation with their role and caps there.
///
/// # Errors
/// [`Error::Forbidden`] ([`Message::NotAMember`]) unless the user is a member; [`Error::Database`].
pub async fn acting_in(db: &Store, user: UserRef, org_id: &str) -> Result<UserRef> {
    let member = store::member(db.reader(), org_id, &user.id).await?.ok_or(Error::Forbidden(Message::NotAMember))?;
    let caps = caps_of(&member);
    Ok(UserRef { account_id: org_id.to_owned(), membership: Some(Membership { role: member.role, caps }), ..user })
}

/// The organisation as the billing rules name a customer for administrative changes (an
/// admin's plan assignment): billed to the organisation, in the name of its first owner.
///
/// # Errors
/// [`Error::NotFound`] for an unknown organisation, or one without members; [`Error::Database`].
pub async fn billing_ref(db: &Store, org_id: &str) -> Result<UserRef> {
    let not_found = || Error::not_found(Entity::Organization, org_id);
    let org = store::get(db.reader(), org_id).await?.ok_or_else(not_found)?;
    let owner = store::members(db.reader(), org_id).await?.into_iter().next().ok_or_else(not_found)?;
    let user = crate::accounts::billing_user(db, &owner.user_id).await?;
    Ok(UserRef {
        account_id: org.id,
        email: format!("{} ({})", org.name, owner.email),
        membership: Some(Membership { role: owner.role, caps: caps_of(&owner) }),
        ..user
    })
}

/// The organisation's usage in its current period by member: units of each metric, units of
/// each feature and what each member's usage took from the balance (owners and admins).
///
/// # Errors
/// [`Error::NotFound`] for a non-member; [`Error::Forbidden`] for a plain member;
/// [`Error::Validation`] on `group_by` unless it is `member` (or absent); [`Error::Database`].
pub async fn usage_by_member(
    db: &Store,
    now: i64,
    org_id: &str,
    user: &UserRef,
    group_by: Option<&str>,
) -> Result<OrganizationUsage> {
    if group_by.is_some_and(|g| g != "member") {
        return Err(Error::invalid("group_by", Message::StatusUnknown));
    }
    let (org, _) = as_manager(db, org_id, user).await?;
    usage_report(db, now, &org).await
}

/// [`usage_by_member`] for Tariff's administrators.
///
/// # Errors
/// [`Error::NotFound`] for an unknown organisation; [`Error::Database`].
pub async fn usage_for_admin(db: &Store, now: i64, org_id: &str) -> Result<OrganizationUsage> {
    let org = store::get(db.reader(), org_id).await?.ok_or_else(|| Error::not_found(Entity::Organization, org_id))?;
    usage_report(db, now, &org).await
}

async fn usage_report(db: &Store, now: i64, org: &OrgRow) -> Result<OrganizationUsage> {
    let (period_start, period_end) = crate::usage::period_of(db, now, &org.id).await?;
    let members = store::members(db.reader(), &org.id).await?;
    let (usage, charges) = store::totals_by_member(db.reader(), &org.id, period_start).await?;
    let mut lines: Vec<MemberUsage> = members
        .iter()
        .map(|m| MemberUsage {
            user_id: m.user_id.clone(),
            email: m.email.clone(),
            name: m.name.clone(),
            role: Some(m.role),
            usage: Default::default(),
            features: Default::default(),
            spent: 0.0,
            spent_micros: 0,
        })
        .collect();
    for (total, is_feature) in usage.iter().map(|t| (t, false)).chain(charges.iter().map(|t| (t, true))) {
        let index = match lines.iter().position(|l| l.user_id == total.user_id) {
            Some(i) => i,
            None => {
                lines.push(MemberUsage {
                    user_id: total.user_id.clone(),
                    email: total.email.clone(),
                    name: total.name.clone(),
                    role: None,
                    usage: Default::default(),
                    features: Default::default(),
                    spent: 0.0,
                    spent_micros: 0,
                });
                lines.len() - 1
            }
        };
        let line = &mut lines[index];
        let target = if is_feature { &mut line.features } else { &mut line.usage };
        *target.entry(total.key.clone()).or_default() += total.units;
        line.spent_micros = line.spent_micros.saturating_add(total.charged_micros);
        line.spent = tariff_model::balance::decimal_from_micros(line.spent_micros);
    }
    Ok(OrganizationUsage {
        organization_id: org.id.clone(),
        period_start,
        period_end,
        currency: org.currency,
        members: lines,
    })
}

/// The organisations a user belongs to, for the admin's user page and the portal's switcher.
///
/// # Errors
/// [`Error::Database`].
pub async fn of_user(db: &Store, user_id: &str) -> Result<Vec<OrganizationSummary>> {
    Ok(store::of_user(db.reader(), user_id).await?)
}
