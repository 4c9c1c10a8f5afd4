//! The account picture: one user's subscription, plan, meters, latest usage and transactions, as
//! `/me` answers it, the portal's overview shows it and the admin's user page lists it.

use super::{UserRef, find_user};
use crate::payments::{history, refundable_minor};
use crate::plans;
use crate::store::Store;
use crate::{Error, NoSubscriptionPolicy, Result, subscriptions, usage};
use tariff_model::admin::{UserDetail, UserSummary};
use tariff_model::api::BillingInfo;
use tariff_model::portal::BillingOverview;
use tariff_model::{Entity, QuotaStatus, Subscription, Transaction, UsageRow};

/// How much of the history a picture carries.
#[derive(Clone, Copy, Debug)]
pub struct Depth {
    /// Latest usage events (0 for none).
    pub usage_events: i64,
    /// Latest transactions.
    pub transactions: i64,
}

/// An account as one user sees it at `now`.
#[derive(Clone, Debug)]
pub struct AccountPicture {
    pub user: UserRef,
    pub subscription: Option<Subscription>,
    /// Every metric's standing in the current period.
    pub meters: Vec<QuotaStatus>,
    pub recent_usage: Vec<UsageRow>,
    pub transactions: Vec<Transaction>,
}

/// The picture of `user`'s account at `now`, with `depth` of history.
///
/// # Errors
/// [`Error::Database`].
pub async fn picture(
    db: &Store,
    now: i64,
    policy: NoSubscriptionPolicy,
    user: &UserRef,
    depth: Depth,
) -> Result<AccountPicture> {
    let subscription = subscriptions::current(db, now, &user.account_id).await?;
    let meters = usage::meters(db, now, policy, user, subscription.as_ref()).await?;
    let recent_usage = if depth.usage_events > 0 {
        usage::recent(db, &user.account_id, depth.usage_events).await?
    } else {
        Vec::new()
    };
    let (transactions, _) = history(db, &user.account_id, depth.transactions, 0).await?;
    Ok(AccountPicture { user: user.clone(), subscription, meters, recent_usage, transactions })
}

/// `GET /api/v1/billing/me`: the picture with the 20 latest usage events and 10 transactions.
///
/// # Errors
/// [`Error::Database`].
pub async fn billing_info(
    db: &Store,
    now: i64,
    policy: NoSubscriptionPolicy,
    user: &UserRef,
    default_low_minor: i64,
) -> Result<BillingInfo> {
    let p = picture(db, now, policy, user, Depth { usage_events: 20, transactions: 10 }).await?;
    let balance = crate::balance::balance_of(db, &user.account_id, default_low_minor).await?;
    let current = crate::organizations::current_account(db, user).await?;
    Ok(BillingInfo {
        account_id: current.account_id,
        organization: current.organization,
        user_id: p.user.id,
        email: p.user.email,
        plan: p.subscription.as_ref().map(|s| s.plan.clone()),
        subscription: p.subscription,
        usage: p.meters,
        recent_usage: p.recent_usage,
        transactions: p.transactions,
        balance,
    })
}

/// The portal's overview (`/billing`): the subscription, what may be done about it and the five
/// latest payments.
///
/// # Errors
/// [`Error::Database`].
pub async fn overview(db: &Store, now: i64, user: &UserRef) -> Result<BillingOverview> {
    // Independent reads run at once, on connections of their own: the page waits for the
    // longest chain (the subscription's two or three reads, then one) instead of seven reads in a
    // row.
    let (subscription, live, (recent_transactions, _)) = tokio::try_join!(
        subscriptions::current(db, now, &user.account_id),
        async { Ok(crate::store::subscriptions::find_live(db.reader(), &user.account_id).await?) },
        history(db, &user.account_id, 5, 0),
    )?;
    let card_saved = live.is_some_and(|row| row.payment_method_id.is_some());
    let pending_plan_id = subscription.as_ref().and_then(|s| s.pending_plan_id.as_deref());
    let (cancel, pending_plan) = tokio::try_join!(subscriptions::cancel_options(db, subscription.as_ref()), async {
        match pending_plan_id {
            Some(id) => Ok(crate::store::plans::get(db.reader(), id).await?),
            None => Ok(None),
        }
    })?;
    let can_pause = user.require_payer().is_ok()
        && subscription.as_ref().is_some_and(|s| {
            subscriptions::pause::users_may_pause(&s.plan)
                && matches!(
                    s.status,
                    tariff_model::SubscriptionStatus::Active
                        | tariff_model::SubscriptionStatus::Trialing
                        | tariff_model::SubscriptionStatus::PastDue
                        | tariff_model::SubscriptionStatus::Paused
                )
        });
    Ok(BillingOverview { subscription, cancel, recent_transactions, pending_plan, card_saved, can_pause })
}

/// Everything the admin's user page shows: the user, their subscription, meters, the latest 50
/// transactions with what each may still be refunded, and every plan (for assigning one).
///
/// # Errors
/// [`Error::NotFound`] for an unknown user; [`Error::Database`].
pub async fn user_detail(
    db: &Store,
    now: i64,
    policy: NoSubscriptionPolicy,
    user_id: &str,
    default_low_minor: i64,
) -> Result<UserDetail> {
    let row = find_user(db, user_id).await?.ok_or_else(|| Error::not_found(Entity::User, user_id))?;
    let user = UserRef::from(row.clone());
    let p = picture(db, now, policy, &user, Depth { usage_events: 0, transactions: 50 }).await?;
    let summary = UserSummary {
        id: row.id,
        account_id: row.account_id,
        email: row.email,
        name: row.name,
        role: row.role,
        created_at: row.created_at,
        plan_id: p.subscription.as_ref().map(|s| s.plan_id.clone()),
        plan_name: p.subscription.as_ref().map(|s| s.plan.name.clone()),
        status: p.subscription.as_ref().map(|s| s.status),
    };
    let refundable_minor =
        p.transactions.iter().filter_map(|t| refundable_minor(t).map(|left| (t.id.clone(), left))).collect();
    Ok(UserDetail {
        user: summary,
        subscription: p.subscription,
        meters: p.meters,
        transactions: p.transactions,
        refundable_minor,
        plans: plans::list_all(db).await?,
        balance: crate::balance::balance_of(db, &user.account_id, default_low_minor).await?,
        organizations: crate::organizations::of_user(db, user_id).await?,
    })
}

/// What the admin's organisation page shows: the organisation, its subscription, meters,
/// transactions with what is left to refund, usage by member, every plan and the balance.
///
/// # Errors
/// [`Error::NotFound`] for an unknown organisation; [`Error::Database`].
pub async fn org_detail(
    db: &Store,
    now: i64,
    policy: NoSubscriptionPolicy,
    org_id: &str,
    default_low_minor: i64,
) -> Result<tariff_model::admin::OrgDetail> {
    let organization = crate::organizations::get_for_admin(db, now, org_id).await?;
    let usage = crate::organizations::usage_for_admin(db, now, org_id).await?;
    let account = crate::organizations::billing_ref(db, org_id).await?;
    let p = picture(db, now, policy, &account, Depth { usage_events: 0, transactions: 50 }).await?;
    let refundable_minor =
        p.transactions.iter().filter_map(|t| refundable_minor(t).map(|left| (t.id.clone(), left))).collect();
    Ok(tariff_model::admin::OrgDetail {
        organization,
        usage,
        subscription: p.subscription,
        meters: p.meters,
        transactions: p.transactions,
        refundable_minor,
        plans: plans::list_all(db).await?,
        balance: crate::balance::balance_of(db, org_id, default_low_minor).await?,
    })
}
