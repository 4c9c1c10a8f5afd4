//! Applying a paid period to an account (DESIGN.md "Paying"), inside the payment's transaction.

use super::{DUNNING_GRACE_SECONDS, insert, new_row};
use crate::periods::{add_intervals, period_containing};
use crate::store::WriteTx;
use crate::store::subscriptions::{self as store, SubscriptionRow};
use crate::{Error, Result};
use tariff_model::{Message, Plan, SubscriptionStatus};

/// The payment a paid period comes from.
#[derive(Clone, Copy, Debug)]
pub struct PaidBy<'a> {
    pub user_id: &'a str,
    pub account_id: &'a str,
    /// The saved card, for renewals without the payer.
    pub payment_method_id: Option<&'a str>,
    /// The provider's payment id.
    pub payment_id: &'a str,
}

/// Applies a paid period of `plan` to the account inside the payment's transaction `tx`: the same
/// plan is renewed from its current end (or from now if that end has passed beyond the dunning
/// grace); another plan is switched to at once with a new period from now; without a live
/// subscription one is created. The saved card and the payment id are recorded; the dunning
/// state is cleared. Returns the subscription id. Call it only once per payment (the caller's
/// conditional transaction update guarantees that).
///
/// # Errors
/// [`Error::Conflict`] when the subscription changed concurrently; [`Error::Database`].
pub async fn apply_paid_period(tx: &mut WriteTx, now: i64, plan: &Plan, paid: PaidBy<'_>) -> Result<String> {
    match store::find_live(tx.conn(), paid.account_id).await? {
        Some(current) => {
            let mut next = current.clone();
            let trial_ended = current.status == SubscriptionStatus::Trialing && now >= current.current_period_end;
            if current.plan_id == plan.id && (current.status != SubscriptionStatus::Trialing || trial_ended) {
                // Renewals (on time, or paid during dunning) continue the billing cycle.
                if now < current.current_period_end + DUNNING_GRACE_SECONDS + 86_400 {
                    let anchor = if current.status == SubscriptionStatus::Trialing {
                        // The first paid period starts where the trial ends, a whole interval
                        // long, and its start is the billing anchor from then on.
                        next.billing_anchor = Some(current.current_period_end);
                        current.current_period_end
                    } else {
                        current.billing_anchor.unwrap_or(current.current_period_start)
                    };
                    next.current_period_start = current.current_period_end;
                    next.current_period_end = period_containing(anchor, plan.interval, current.current_period_end).1;
                } else {
                    next.current_period_start = now;
                    next.current_period_end = add_intervals(now, plan.interval, 1);
                    next.billing_anchor = Some(now);
                }
            } else {
                next.plan_id = plan.id.clone();
                next.current_period_start = now;
                next.current_period_end = add_intervals(now, plan.interval, 1);
                next.billing_anchor = Some(now);
            }
            write_paid(tx, now, &current, next, &paid).await
        }
        None => {
            let mut row = new_row(paid.user_id, paid.account_id, plan, now, now);
            row.status = SubscriptionStatus::Active;
            row.trial_end = None;
            row.current_period_end = add_intervals(now, plan.interval, 1);
            row.payment_method_id = paid.payment_method_id.map(str::to_owned);
            row.yookassa_payment_id = Some(paid.payment_id.to_owned());
            insert(tx, &row).await?;
            Ok(row.id)
        }
    }
}

/// Applies a paid upgrade to `plan` inside the payment's transaction `tx`: the plan switches now
/// and the period that was prorated (ending `period_end`) continues; with `period_end` `None`
/// (an interval change) a new period starts now. Usage counted this period stays counted. The
/// saved card is recorded; a scheduled downgrade or cancellation is withdrawn. Returns the
/// subscription id, or `None` when the payment no longer fits the subscription (it is on `plan`
/// already, not running, or the prorated period has ended): the caller gives the payment back.
///
/// # Errors
/// [`Error::Conflict`] when the subscription changed concurrently; [`Error::Database`].
pub async fn apply_upgrade(
    tx: &mut WriteTx,
    now: i64,
    plan: &Plan,
    paid: PaidBy<'_>,
    period_end: Option<i64>,
) -> Result<Option<String>> {
    let Some(current) = store::find_live(tx.conn(), paid.account_id).await? else {
        return Ok(None);
    };
    // The amount was the rest of one period of one plan: paid for another situation (upgraded
    // already by another payment, the period over, paused), it buys nothing and is given back.
    let stale = current.plan_id == plan.id
        || !matches!(
            current.status,
            SubscriptionStatus::Active | SubscriptionStatus::PastDue | SubscriptionStatus::Trialing
        )
        || period_end.is_some_and(|end| end != current.current_period_end || end <= now);
    if stale {
        return Ok(None);
    }
    let mut next = current.clone();
    next.plan_id = plan.id.clone();
    if period_end.is_none() {
        next.current_period_start = now;
        next.current_period_end = add_intervals(now, plan.interval, 1);
        next.billing_anchor = Some(now);
    }
    write_paid(tx, now, &current, next, &paid).await.map(Some)
}

/// Makes `next` a running paid subscription: `active`, with no trial, cancellation, scheduled
/// change or pause left over.
pub(super) fn make_running(next: &mut SubscriptionRow) {
    next.status = SubscriptionStatus::Active;
    next.trial_end = None;
    next.cancel_at_period_end = false;
    next.canceled_at = None;
    next.pending_plan_id = None;
    next.pending_change_at = None;
    next.paused_at = None;
}

/// Writes `next` (its plan and period already set) over `current` as paid by `paid`: running,
/// with the payment and the saved card recorded and dunning reset. Returns the subscription id.
async fn write_paid(
    tx: &mut WriteTx,
    now: i64,
    current: &SubscriptionRow,
    mut next: SubscriptionRow,
    paid: &PaidBy<'_>,
) -> Result<String> {
    make_running(&mut next);
    if let Some(method) = paid.payment_method_id {
        next.payment_method_id = Some(method.to_owned());
    }
    next.yookassa_payment_id = Some(paid.payment_id.to_owned());
    next.updated_at = now.max(current.updated_at + 1);
    if !super::update(tx, &next, current).await? {
        return Err(Error::Conflict(Message::SubscriptionChanged));
    }
    store::reset_dunning(tx, &next.id).await?;
    Ok(next.id)
}
