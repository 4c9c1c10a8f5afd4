//! Organisations (seed 004's organisation-level plan and balance, issue 13): an organisation is
//! an `account` of kind `organization` that several users share. Its id *is* its account id, so
//! everything the billing core keys by account (subscription, quota counters, balance, charges)
//! works for it unchanged. Members have a role and may be capped per period.
//!
//! Times are Unix seconds; money is exact micro-minor units (`*_micros`) with a decimal in major
//! units beside it for people.

use crate::money::{Currency, DecimalText};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A member's role in an organisation. Owners and admins manage members, pay and change the
/// plan; members use the shared pool and read the balance and plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrgRole {
    Owner,
    Admin,
    Member,
}

impl OrgRole {
    pub const ALL: [OrgRole; 3] = [OrgRole::Owner, OrgRole::Admin, OrgRole::Member];

    /// The role as stored and sent: `owner`, `admin`, `member`.
    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Owner => "owner",
            OrgRole::Admin => "admin",
            OrgRole::Member => "member",
        }
    }

    /// The role named `text`, if there is one.
    pub fn parse(text: &str) -> Option<OrgRole> {
        OrgRole::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Owners and admins manage members and invitations, pay, top up and change the plan.
    pub fn manages(self) -> bool {
        matches!(self, OrgRole::Owner | OrgRole::Admin)
    }
}

impl std::fmt::Display for OrgRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for OrgRole {
    type Err = crate::UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrgRole::parse(s).ok_or_else(|| crate::UnknownValue { kind: "organisation role", value: s.to_owned() })
    }
}

/// The name of the spending cap in [`MemberCaps`] requests (`{"spend": 50.00}`) and in the
/// member counters; metrics use their own names.
pub const SPEND_CAP: &str = "spend";

/// What one member may take from the organisation's pool per period: units of a metric
/// (`metrics`, by metric name) and money from the balance (`spend_micros`, micro-minor units
/// of the organisation's currency). A missing entry means no cap beyond the pool itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberCaps {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spend_micros: Option<i64>,
}

impl MemberCaps {
    /// No cap at all.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty() && self.spend_micros.is_none()
    }

    /// The cap on `metric`, in the metric's unit per period.
    pub fn metric(&self, metric: &str) -> Option<i64> {
        self.metrics.get(metric).copied()
    }
}

/// A member's caps as the API shows them: `{"requests": 10, "spend": 50.0}` with the spending
/// cap also exact in `spend_micros`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CapsView {
    /// Units of each metric per period, by metric name.
    pub metrics: BTreeMap<String, i64>,
    /// Spending from the balance per period, major units (decimal), `null`: no cap.
    pub spend: Option<f64>,
    pub spend_micros: Option<i64>,
}

impl From<&MemberCaps> for CapsView {
    fn from(caps: &MemberCaps) -> CapsView {
        CapsView {
            metrics: caps.metrics.clone(),
            spend: caps.spend_micros.map(crate::balance::decimal_from_micros),
            spend_micros: caps.spend_micros,
        }
    }
}

/// One member of an organisation, with what they used this period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub role: OrgRole,
    pub caps: CapsView,
    /// When they joined, Unix seconds.
    pub joined_at: i64,
}

/// An organisation as its members see it (`GET /api/v1/organizations/{id}`): the shared plan
/// and balance, the caller's role, the members, and (for owners and admins) pending
/// invitations. `id` and `account_id` are the same: the organisation is a billing account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Organization {
    pub id: String,
    pub account_id: String,
    pub name: String,
    /// The caller's role (`null` for an administrator of Tariff who is not a member).
    pub role: Option<OrgRole>,
    pub plan_id: Option<String>,
    pub plan_name: Option<String>,
    pub plan_name_ru: Option<String>,
    pub subscription_status: Option<crate::SubscriptionStatus>,
    pub currency: Currency,
    /// The shared balance, major units (decimal) and exact micro-minor units.
    pub balance: f64,
    pub balance_micros: i64,
    pub members: Vec<Member>,
    /// Pending invitations (empty for members who do not manage).
    pub invitations: Vec<Invitation>,
    pub created_at: i64,
}

/// One line of `GET /api/v1/organizations` (the caller's organisations) and of the admin's list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganizationSummary {
    pub id: String,
    pub account_id: String,
    pub name: String,
    /// The caller's role; `null` in the admin's list.
    pub role: Option<OrgRole>,
    pub plan_id: Option<String>,
    pub plan_name: Option<String>,
    pub subscription_status: Option<crate::SubscriptionStatus>,
    pub members: i64,
    pub currency: Currency,
    pub balance: f64,
    pub balance_micros: i64,
    pub created_at: i64,
}

/// Where an invitation stands. `expired` is derived: pending past `expires_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Declined,
    Revoked,
    Expired,
}

impl InvitationStatus {
    /// The status as stored (`expired` is never stored).
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "pending",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Declined => "declined",
            InvitationStatus::Revoked => "revoked",
            InvitationStatus::Expired => "expired",
        }
    }

    /// The status named `text`, if there is one.
    pub fn parse(text: &str) -> Option<InvitationStatus> {
        [
            InvitationStatus::Pending,
            InvitationStatus::Accepted,
            InvitationStatus::Declined,
            InvitationStatus::Revoked,
            InvitationStatus::Expired,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

impl std::str::FromStr for InvitationStatus {
    type Err = crate::UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        InvitationStatus::parse(s).ok_or_else(|| crate::UnknownValue { kind: "invitation status", value: s.to_owned() })
    }
}

/// An invitation to join an organisation, sent to an email address; valid for 7 days.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invitation {
    pub id: String,
    pub organization_id: String,
    pub organization_name: String,
    pub email: String,
    pub role: OrgRole,
    pub status: InvitationStatus,
    /// Email of the owner or admin who invited.
    pub invited_by: String,
    /// Unix seconds; after it the invitation can no longer be accepted (410).
    pub expires_at: i64,
    pub created_at: i64,
}

/// Body of `POST /api/v1/organizations` and `PATCH /api/v1/organizations/{id}`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganizationBody {
    /// 1 to 100 characters after trimming.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100, pattern = "\\S"))]
    pub name: String,
}

/// Body of `POST /api/v1/organizations/{id}/invitations`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvitationBody {
    #[cfg_attr(feature = "openapi", schema(max_length = 254, example = "colleague@example.ru"))]
    pub email: String,
    /// `owner`, `admin` or `member` (the default); only an owner may invite an owner.
    #[cfg_attr(feature = "openapi", schema(example = "member"))]
    pub role: Option<String>,
}

/// Body of `PATCH /api/v1/organizations/{id}/members/{user_id}`: a new role and/or caps.
/// `caps` replaces the member's caps: `{"requests": 10, "spend": 50.00}`; `{}` removes them.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberChanges {
    pub role: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub caps: Option<BTreeMap<String, DecimalText>>,
}

/// Body of `PUT /api/v1/billing/account`: the account usage and payments go to from now on —
/// the caller's personal account id or an organisation they belong to.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountChoice {
    pub account_id: String,
}

/// The organisation a user bills to now (in `/me` and `PUT /api/v1/billing/account`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CurrentOrganization {
    pub id: String,
    pub name: String,
    pub role: OrgRole,
}

/// The billing account a user acts in: `account_id`, and the organisation when it is one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CurrentAccount {
    pub account_id: String,
    pub personal_account_id: String,
    pub organization: Option<CurrentOrganization>,
}

/// One member's consumption of the shared pool this period
/// (`GET /api/v1/organizations/{id}/usage?group_by=member`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberUsage {
    pub user_id: String,
    pub email: String,
    pub name: String,
    /// `null` for a former member whose usage stays on the organisation.
    pub role: Option<OrgRole>,
    /// Units of each metric recorded this period, by metric name.
    pub usage: BTreeMap<String, i64>,
    /// Units of each feature charged this period, by feature name.
    pub features: BTreeMap<String, i64>,
    /// What the member's usage took from the balance this period.
    pub spent: f64,
    pub spent_micros: i64,
}

/// The organisation's usage by member in its current period, `[period_start, period_end)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganizationUsage {
    pub organization_id: String,
    pub period_start: i64,
    pub period_end: i64,
    pub currency: Currency,
    pub members: Vec<MemberUsage>,
}

/// Query of the usage-by-member route: `group_by=member` (the only grouping there is).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct OrgUsageQuery {
    /// `member`, the only grouping (also the default).
    #[cfg_attr(feature = "openapi", param(pattern = "^member$", nullable = false))]
    pub group_by: Option<String>,
}

/// Query of the admin's organisation list: a search in names and member emails, and paging.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct OrganizationsQuery {
    /// Only organisations whose name, or a member's email, contains this text (case-insensitive).
    #[cfg_attr(feature = "openapi", param(nullable = false))]
    pub search: Option<String>,
    /// Page number, from 1.
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 1_000_000, nullable = false))]
    pub page: Option<i64>,
    /// Rows per page (default 50).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200, nullable = false))]
    pub page_size: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_only_owners_and_admins_manage() {
        for role in OrgRole::ALL {
            assert_eq!(OrgRole::parse(role.as_str()), Some(role));
        }
        assert!(OrgRole::Owner.manages() && OrgRole::Admin.manages() && !OrgRole::Member.manages());
        assert_eq!(OrgRole::parse("boss"), None);
    }

    #[test]
    fn caps_are_stored_compactly() {
        let caps = MemberCaps { metrics: BTreeMap::from([("requests".into(), 10)]), spend_micros: None };
        assert_eq!(serde_json::to_string(&caps).unwrap(), r#"{"metrics":{"requests":10}}"#);
        let back: MemberCaps = serde_json::from_str("{}").unwrap();
        assert!(back.is_empty());
    }
}
