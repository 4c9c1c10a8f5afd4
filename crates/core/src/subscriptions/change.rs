//! Changing plan (issue 14.1): upgrades take effect now and are paid for the rest of the period,
//! to the second; downgrades wait for the period's end (`pending_plan_id`, `pending_change_at`)
//! and are applied by the rollover, after which the renewal job charges the new plan's price.
//!
//! - An **upgrade** is a plan with a higher monthly-normalised price, or a longer interval at a
//!   higher price (month → year of the same tier). In the same interval it costs
//!   `(new price − old price) × remaining / period`, rounded half up to minor units once; across
//!   intervals a new period starts now and costs the new price less the unused part of the old
//!   one. From the free plan, a trial or a past-due subscription nothing is credited: the change
//!   is a purchase of a new period from now.
//! - The amount is charged to the saved card without the payer; without one the payer confirms at
//!   a `confirmation_url`. The plan switches only when that payment succeeds (applied with the
//!   payment, [`super::apply_upgrade`]); quotas follow the plan at once and usage counted this
//!   period stays counted.
//! - Anything else is a **downgrade**, scheduled for `current_period_end`; it can be withdrawn
//!   ([`cancel_change`]) and is withdrawn by an upgrade.

use super::rollover::rollover_if_due;
use super::{to_model, update};
use crate::audit::{self, Actor};
use crate::gateway::{PaymentRequest, PaymentState, Receipt, ReceiptLine};
use crate::payments::checkout::{PaymentRequestParts, start_payment, valid_return_url};
use crate::payments::{payment_metadata, plan_snapshot, provider_error};
use crate::periods::add_intervals;
use crate::stats::twelfths_per_month;
use crate::store::subscriptions::{self as store, SubscriptionRow};
use crate::store::transactions::{self as transactions, NewTransaction};
use crate::store::{Store, plans};
use crate::tokens::UserRef;
use crate::{Billing, Error, Result};
use tariff_model::money::decimal_from_minor;
use tariff_model::{
    ChangeKind, ChangeOutcome, ChangePreview, Entity, Interval, Message, Plan, SubscriptionStatus, TransactionKind,
};

/// How long one period of `interval` is, roughly, in days: only to order intervals.
fn interval_rank(interval: Interval) -> u8 {
    match interval {
        Interval::Day => 0,
        Interval::Week => 1,
        Interval::Month => 2,
        Interval::Year => 3,
    }
}

/// Whether moving from `from` to `to` is an upgrade: a higher monthly-normalised price, or a
/// longer interval of the same family (month → year of one tier, see
/// [`super::trial::plan_family`]) at a higher price. A move to a shorter interval never is (a year → a month):
/// the period paid ahead runs out first, so its unused part is never thrown away.
pub fn is_upgrade(from: &Plan, to: &Plan) -> bool {
    let monthly = |p: &Plan| i128::from(p.price_minor) * twelfths_per_month(p.interval);
    let (to_rank, from_rank) = (interval_rank(to.interval), interval_rank(from.interval));
    let same_tier = super::trial::plan_family(from) == super::trial::plan_family(to);
    to_rank >= from_rank
        && (monthly(to) > monthly(from) || (to_rank > from_rank && same_tier && to.price_minor > from.price_minor))
}

/// `amount × part / whole`, rounded half up (amounts ≥ 0, `whole` > 0).
fn prorate(amount: i64, part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        return 0;
    }
    let part = part.clamp(0, whole);
    ((i128::from(amount) * i128::from(part) * 2 + i128::from(whole)) / (2 * i128::from(whole))) as i64
}

/// What changing `current` (on `from`) to `to` at `now` costs and when it applies. The sentence
/// (`message`) is left empty for the caller's language.
pub fn preview_of(current: &SubscriptionRow, from: &Plan, to: &Plan, now: i64) -> ChangePreview {
    let (start, end) = (current.current_period_start, current.current_period_end);
    let purchase = from.is_free()
        || matches!(current.status, SubscriptionStatus::Trialing | SubscriptionStatus::PastDue)
        || end <= now;
    let (total, remaining) = (end - start, end - now);
    let upgrade = !to.is_free() && (purchase || is_upgrade(from, to));
    let (amount, credit, effective_at, next_renewal_at, new_period) = if !upgrade {
        (0, 0, end, end, false)
    } else if purchase {
        (to.price_minor, 0, now, add_intervals(now, to.interval, 1), true)
    } else {
        let credit = prorate(from.price_minor, remaining, total);
        if to.interval == from.interval {
            let amount = prorate(to.price_minor - from.price_minor, remaining, total);
            (amount, credit, now, end, false)
        } else {
            ((to.price_minor - credit).max(0), credit, now, add_intervals(now, to.interval, 1), true)
        }
    };
    ChangePreview {
        kind: if upgrade { ChangeKind::Upgrade } else { ChangeKind::Downgrade },
        from_plan_id: from.id.clone(),
        plan_id: to.id.clone(),
        currency: to.currency,
        amount_due: decimal_from_minor(amount),
        amount_due_minor: amount,
        credit: decimal_from_minor(credit),
        credit_minor: credit,
        effective_at,
        next_renewal_at,
        next_amount: decimal_from_minor(to.price_minor),
        next_amount_minor: to.price_minor,
        new_period,
        message: String::new(),
    }
}

/// The message of a preview, for the caller's language.
pub fn preview_message(preview: &ChangePreview, to: &Plan) -> Message {
    match preview.kind {
        ChangeKind::Upgrade if preview.new_period => Message::UpgradeNewPeriod {
            amount_minor: preview.amount_due_minor,
            currency: preview.currency,
            until: preview.next_renewal_at,
        },
        ChangeKind::Upgrade => {
            Message::UpgradeNow { amount_minor: preview.amount_due_minor, currency: preview.currency }
        }
        ChangeKind::Downgrade => Message::DowngradeOn { plan: to.name.clone(), at: preview.effective_at },
    }
}

/// The account's live subscription, its plan and the plan asked for, checked: 404 for an unknown
/// plan or no subscription; 422 for the current plan, an inactive plan or another currency; 409
/// for a paused subscription.
async fn sides(db: &Store, now: i64, account_id: &str, plan_id: &str) -> Result<(SubscriptionRow, Plan, Plan)> {
    let to = plans::get(db.reader(), plan_id).await?.ok_or_else(|| Error::not_found(Entity::Plan, plan_id))?;
    let Some(subscription) = super::current(db, now, account_id).await? else {
        return Err(Error::not_found(Entity::Subscription, account_id));
    };
    let row = store::find_live(db.reader(), account_id)
        .await?
        .ok_or_else(|| Error::not_found(Entity::Subscription, account_id))?;
    let from = subscription.plan;
    if row.status == SubscriptionStatus::Paused {
        return Err(Error::Conflict(Message::SubscriptionPaused));
    }
    if to.id == from.id {
        return Err(Error::invalid("plan_id", Message::PlanIsCurrent));
    }
    if !to.is_active {
        return Err(Error::invalid("plan_id", Message::PlanNotForSale));
    }
    if to.currency != from.currency {
        return Err(Error::invalid("plan_id", Message::PlanCurrencyDiffers { expected: from.currency }));
    }
    Ok((row, from, to))
}

/// What changing the account's plan to `plan_id` would do now. Writes nothing.
///
/// # Errors
/// As [`change`], without the payment's.
pub async fn preview(db: &Store, now: i64, account_id: &str, plan_id: &str) -> Result<(ChangePreview, Plan)> {
    let (row, from, to) = sides(db, now, account_id, plan_id).await?;
    Ok((preview_of(&row, &from, &to, now), to))
}

/// What changing to each of `plans` would do now, for an account running a paid plan (`active`;
/// nothing for free plans, trials, past-due or paused subscriptions: those buy through
/// checkout, or must be resumed first). The current plan, inactive plans and plans in another
/// currency are left out. Writes nothing.
///
/// # Errors
/// [`Error::Database`].
pub async fn previews_for(
    db: &Store,
    now: i64,
    account_id: &str,
    plans: &[Plan],
) -> Result<Vec<(ChangePreview, Plan)>> {
    let Some(row) = store::find_live(db.reader(), account_id).await? else {
        return Ok(Vec::new());
    };
    if row.status != SubscriptionStatus::Active || row.current_period_end <= now {
        return Ok(Vec::new());
    }
    let from = super::plan_of(db, &row).await?;
    if from.is_free() {
        return Ok(Vec::new());
    }
    Ok(plans
        .iter()
        .filter(|to| to.id != from.id && to.is_active && to.currency == from.currency)
        .map(|to| (preview_of(&row, &from, to, now), to.clone()))
        .collect())
}

/// The subscription after an upgrade to `plan` at `now` that keeps the period ending
/// `period_end` (or starts a new one).
fn upgraded(current: &SubscriptionRow, plan: &Plan, now: i64, keep_period: bool) -> SubscriptionRow {
    let mut next = current.clone();
    next.plan_id = plan.id.clone();
    if !keep_period {
        next.current_period_start = now;
        next.current_period_end = add_intervals(now, plan.interval, 1);
        next.billing_anchor = Some(now);
    }
    super::paid_period::make_running(&mut next);
    next.updated_at = now.max(current.updated_at + 1);
    next
}

/// Changes the plan of `user`'s billing account to `plan_id` (see the module docs). Upgrades
/// answer `applied` (paid with the saved card, or nothing to pay), `pending` (confirm at
/// `confirmation_url`) or `declined` (the card was declined; nothing changed); downgrades
/// answer `scheduled`.
///
/// # Errors
/// [`Error::Forbidden`] for a plain organisation member; [`Error::NotFound`] for an unknown plan
/// or without a subscription; [`Error::Validation`] for the current plan, an inactive plan,
/// another currency, or a missing or bad `return_url` when the payer must confirm;
/// [`Error::Conflict`] for a paused subscription or one that changed meanwhile;
/// [`Error::Unavailable`] / [`Error::PaymentProvider`] from the gateway; [`Error::Database`].
pub async fn change(
    billing: &Billing,
    user: &UserRef,
    plan_id: &str,
    return_url: Option<&str>,
) -> Result<ChangeOutcome> {
    change_returning(billing, user, plan_id, |_| return_url.map(str::to_owned)).await
}

/// [`change`] with the payer's way back built from the new transaction's id (the portal's
/// `/billing/return?transaction=…`); `None` when there is none.
///
/// # Errors
/// As [`change`].
pub async fn change_returning(
    billing: &Billing,
    user: &UserRef,
    plan_id: &str,
    return_url: impl FnOnce(&str) -> Option<String>,
) -> Result<ChangeOutcome> {
    user.require_payer()?;
    let db = &billing.store;
    let now = billing.now();
    rollover_if_due(db, now, &user.account_id).await?;
    let (row, from, to) = sides(db, now, &user.account_id, plan_id).await?;
    let preview = preview_of(&row, &from, &to, now);
    match preview.kind {
        ChangeKind::Downgrade => schedule(billing, &row, &to, &preview).await,
        ChangeKind::Upgrade if preview.amount_due_minor == 0 => {
            let mut tx = db.begin_write().await?;
            let next = upgraded(&row, &to, now, !preview.new_period);
            if !update(&mut tx, &next, &row).await? {
                return Err(Error::Conflict(Message::SubscriptionChanged));
            }
            tx.commit().await?;
            outcome(billing, &user.account_id, &preview, "applied", Default::default()).await
        }
        ChangeKind::Upgrade => pay_upgrade(billing, user, &row, &from, &to, &preview, return_url).await,
    }
}

/// What a payment step of a change left: the transaction, payment, where to confirm, why declined.
#[derive(Default)]
struct PaymentFacts {
    transaction_id: Option<String>,
    payment_id: Option<String>,
    confirmation_url: Option<String>,
    cancellation_reason: Option<String>,
}

async fn outcome(
    billing: &Billing,
    account_id: &str,
    preview: &ChangePreview,
    status: &str,
    facts: PaymentFacts,
) -> Result<ChangeOutcome> {
    let subscription = super::current(&billing.store, billing.now(), account_id)
        .await?
        .ok_or_else(|| Error::not_found(Entity::Subscription, account_id))?;
    Ok(ChangeOutcome {
        kind: preview.kind,
        status: status.to_owned(),
        amount_due: preview.amount_due,
        amount_due_minor: preview.amount_due_minor,
        effective_at: preview.effective_at,
        transaction_id: facts.transaction_id,
        payment_id: facts.payment_id,
        confirmation_url: facts.confirmation_url,
        cancellation_reason: facts.cancellation_reason,
        subscription,
    })
}

/// Schedules a downgrade to `to` at the period's end.
async fn schedule(
    billing: &Billing,
    row: &SubscriptionRow,
    to: &Plan,
    preview: &ChangePreview,
) -> Result<ChangeOutcome> {
    let now = billing.now();
    let mut next = row.clone();
    if row.status == SubscriptionStatus::Trialing {
        // From a trial only the free plan is a downgrade: the trial simply ends into it.
        next.cancel_at_period_end = true;
    } else {
        next.pending_plan_id = Some(to.id.clone());
        next.pending_change_at = Some(row.current_period_end);
        // The latest choice is the one that happens: a pending cancellation is withdrawn.
        next.cancel_at_period_end = false;
    }
    next.updated_at = now.max(row.updated_at + 1);
    let mut tx = billing.store.begin_write().await?;
    if !update(&mut tx, &next, row).await? {
        return Err(Error::Conflict(Message::SubscriptionChanged));
    }
    tx.commit().await?;
    tracing::info!(target: crate::LOG_TARGET, subscription_id = %row.id, plan_id = %to.id, at = row.current_period_end, "downgrade scheduled for the period's end");
    outcome(billing, &row.account_id, preview, "scheduled", PaymentFacts::default()).await
}

/// The pending payment of an upgrade: the prorated amount (plan change `upgrade`, applied
/// without a new period) or, for a purchase, one period of the new plan.
fn upgrade_transaction(
    user: &UserRef,
    row: &SubscriptionRow,
    to: &Plan,
    preview: &ChangePreview,
    now: i64,
) -> NewTransaction {
    let name_ru = to.name_ru.as_deref().unwrap_or(&to.name);
    let (description, description_ru) = if preview.new_period && preview.credit_minor == 0 {
        (format!("{} plan, from now", to.name), format!("Тариф «{name_ru}» с сегодняшнего дня"))
    } else {
        (format!("Upgrade to the {} plan", to.name), format!("Переход на тариф «{name_ru}»"))
    };
    let mut transaction = NewTransaction::pending(
        TransactionKind::Subscription,
        &user.id,
        &user.account_id,
        preview.amount_due_minor,
        to.currency.code(),
        description,
        description_ru,
        now,
    );
    transaction.plan_id = Some(to.id.clone());
    transaction.plan_snapshot = Some(plan_snapshot(to));
    transaction.subscription_id = Some(row.id.clone());
    if preview.credit_minor > 0 || !preview.new_period {
        transaction.plan_change = Some("upgrade");
        transaction.change_period_end = (!preview.new_period).then_some(row.current_period_end);
    }
    transaction
}

async fn pay_upgrade(
    billing: &Billing,
    user: &UserRef,
    row: &SubscriptionRow,
    from: &Plan,
    to: &Plan,
    preview: &ChangePreview,
    return_url: impl FnOnce(&str) -> Option<String>,
) -> Result<ChangeOutcome> {
    let now = billing.now();
    let transaction = upgrade_transaction(user, row, to, preview, now);
    let metadata = payment_metadata(&transaction.id, &user.id, &to.id, transaction.kind);
    let Some(method) = row.payment_method_id.clone() else {
        let return_url = return_url(&transaction.id);
        let return_url = return_url.as_deref().map(str::trim).filter(|u| !u.is_empty());
        let Some(return_url) = return_url else {
            return Err(Error::invalid("return_url", Message::ReturnUrlRequired));
        };
        if !valid_return_url(return_url) {
            return Err(Error::invalid(
                "return_url",
                Message::ReturnUrlInvalid { max: crate::payments::checkout::MAX_RETURN_URL },
            ));
        }
        let parts = PaymentRequestParts {
            amount_minor: preview.amount_due_minor,
            currency: to.currency,
            save_payment_method: true,
            metadata,
        };
        let transaction_id = transaction.id.clone();
        let checkout = start_payment(billing, user, transaction, return_url.to_owned(), parts).await?;
        tracing::info!(target: crate::LOG_TARGET, %transaction_id, from = %from.id, to = %to.id, amount_minor = preview.amount_due_minor, "upgrade waits for the payer's confirmation");
        let facts = PaymentFacts {
            transaction_id: Some(checkout.transaction_id),
            payment_id: Some(checkout.payment_id),
            confirmation_url: Some(checkout.confirmation_url),
            cancellation_reason: None,
        };
        return outcome(billing, &user.account_id, preview, "pending", facts).await;
    };
    let gateway = billing.gateway()?;
    let db = &billing.store;
    let mut transaction = transaction;
    let description: String = transaction.description.chars().take(128).collect();
    let receipt = billing.settings.receipts.then(|| Receipt {
        customer_email: user.email.clone(),
        lines: vec![ReceiptLine {
            description: description.clone(),
            amount_minor: preview.amount_due_minor,
            vat_code: billing.settings.vat_code,
        }],
    });
    let request = PaymentRequest {
        amount_minor: preview.amount_due_minor,
        currency: to.currency,
        description,
        return_url: None,
        payment_method_id: Some(method),
        save_payment_method: false,
        metadata,
        receipt,
    };
    // Stored with the request first: without an answer the sweeper sends it again, same key.
    transaction.gateway_request = Some(serde_json::to_string(&request).map_err(|e| Error::Internal(e.to_string()))?);
    let mut tx = db.begin_write().await?;
    transactions::insert(&mut tx, &transaction).await?;
    tx.commit().await?;
    let payment = match gateway.create_payment(&request, &transaction.idempotence_key).await {
        Ok(payment) => payment,
        Err(e @ crate::gateway::GatewayError::Refused { .. }) => {
            let mut tx = db.begin_write().await?;
            transactions::mark_rejected(&mut tx, &transaction.id, billing.now()).await?;
            tx.commit().await?;
            return Err(provider_error(e));
        }
        // No answer: the transaction keeps its key; the poller settles it later.
        Err(e) => return Err(provider_error(e)),
    };
    let mut tx = db.begin_write().await?;
    transactions::set_payment(&mut tx, &transaction.id, &payment.id, payment.state.as_str(), billing.now()).await?;
    tx.commit().await?;
    crate::payments::apply_payment(billing, &payment).await?;
    let status = match payment.state {
        PaymentState::Succeeded | PaymentState::WaitingForCapture => "applied",
        PaymentState::Canceled => "declined",
        PaymentState::Pending => "pending",
    };
    tracing::info!(target: crate::LOG_TARGET, transaction_id = %transaction.id, payment_id = %payment.id, from = %from.id, to = %to.id, amount_minor = preview.amount_due_minor, status, "upgrade charged to the saved card");
    let facts = PaymentFacts {
        transaction_id: Some(transaction.id),
        payment_id: Some(payment.id),
        confirmation_url: None,
        cancellation_reason: payment.cancellation_reason,
    };
    outcome(billing, &user.account_id, preview, status, facts).await
}

/// Withdraws the scheduled downgrade of the account's subscription.
///
/// # Errors
/// [`Error::Forbidden`] for a plain organisation member; [`Error::NotFound`] without a
/// subscription; [`Error::Conflict`] when no change is scheduled or it changed meanwhile;
/// [`Error::Database`].
pub async fn cancel_change(db: &Store, now: i64, user: &UserRef) -> Result<tariff_model::Subscription> {
    user.require_payer()?;
    rollover_if_due(db, now, &user.account_id).await?;
    let row = store::find_live(db.reader(), &user.account_id)
        .await?
        .ok_or_else(|| Error::not_found(Entity::Subscription, &user.account_id))?;
    if row.pending_plan_id.is_none() {
        return Err(Error::Conflict(Message::NoPendingChange));
    }
    let mut next = row.clone();
    next.pending_plan_id = None;
    next.pending_change_at = None;
    next.updated_at = now.max(row.updated_at + 1);
    let mut tx = db.begin_write().await?;
    if !update(&mut tx, &next, &row).await? {
        return Err(Error::Conflict(Message::SubscriptionChanged));
    }
    tx.commit().await?;
    let plan = super::plan_of(db, &next).await?;
    Ok(to_model(next, plan))
}

/// Admin: changes the plan of subscription `subscription_id`. With `prorate` it is the user's
/// own change (upgrades charged to the saved card, downgrades scheduled); without, the plan
/// switches now and the current period continues, with no charge. Audited as
/// `subscription.change`.
///
/// # Errors
/// [`Error::NotFound`] for an unknown or ended subscription or plan; [`Error::Validation`] as
/// [`change`] (a prorated upgrade without a saved card needs the payer: 422 `return_url`);
/// [`Error::Conflict`]; the gateway's errors; [`Error::Database`].
pub async fn admin_change(
    billing: &Billing,
    actor: &Actor,
    subscription_id: &str,
    plan_id: &str,
    prorate: bool,
) -> Result<ChangeOutcome> {
    let db = &billing.store;
    let now = billing.now();
    let row = store::find_by_id(db.reader(), subscription_id)
        .await?
        .filter(|s| s.status.is_live())
        .ok_or_else(|| Error::not_found(Entity::Subscription, subscription_id))?;
    let owner = crate::accounts::billing_user(db, &row.user_id).await?;
    let payer = UserRef::personal(owner.id.clone(), row.account_id.clone(), owner.email.clone(), false);
    let result = if prorate {
        change(billing, &payer, plan_id, None).await?
    } else {
        rollover_if_due(db, now, &row.account_id).await?;
        let (current, from, to) = sides(db, now, &row.account_id, plan_id).await?;
        let mut preview = preview_of(&current, &from, &to, now);
        preview.amount_due = 0.0;
        preview.amount_due_minor = 0;
        preview.effective_at = now;
        // A comp: the plan switches now and the period runs on; the subscription's state stays
        // as it is (a trial stays a trial, dunning goes on), only a scheduled change is replaced.
        let mut next = current.clone();
        next.plan_id = to.id.clone();
        next.pending_plan_id = None;
        next.pending_change_at = None;
        next.updated_at = now.max(current.updated_at + 1);
        let mut tx = db.begin_write().await?;
        if !update(&mut tx, &next, &current).await? {
            return Err(Error::Conflict(Message::SubscriptionChanged));
        }
        tx.commit().await?;
        outcome(billing, &row.account_id, &preview, "applied", PaymentFacts::default()).await?
    };
    let mut tx = db.begin_write().await?;
    let before = serde_json::json!({"plan_id": row.plan_id, "pending_plan_id": row.pending_plan_id});
    let after = serde_json::json!({
        "plan_id": result.subscription.plan_id,
        "pending_plan_id": result.subscription.pending_plan_id,
        "prorate": prorate,
        "status": result.status,
        "amount_due_minor": result.amount_due_minor,
    });
    audit::record(
        &mut tx,
        actor,
        "subscription.change",
        "subscription",
        subscription_id,
        format!(
            "Subscription {subscription_id} changed to plan {plan_id}{}",
            if prorate { " with proration" } else { "" }
        ),
        audit::diff(Some(&before), &after),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tariff_model::Currency;

    fn plan(id: &str, price_minor: i64, interval: Interval) -> Plan {
        let mut plan = Plan::blank(0);
        plan.id = id.into();
        plan.set_price_minor(price_minor);
        plan.currency = Currency::Rub;
        plan.interval = interval;
        plan
    }

    fn row(start: i64, end: i64) -> SubscriptionRow {
        let mut row = super::super::new_row("u", "a", &plan("starter", 49_000, Interval::Month), start, start);
        row.current_period_end = end;
        row
    }

    #[test]
    fn starter_to_pro_half_way_costs_half_the_difference() {
        let (starter, pro) = (plan("starter", 49_000, Interval::Month), plan("pro", 99_000, Interval::Month));
        let period = 30 * 86_400;
        let p = preview_of(&row(0, period), &starter, &pro, period / 2);
        assert_eq!(p.kind, ChangeKind::Upgrade);
        assert_eq!(p.amount_due_minor, 25_000);
        assert_eq!(p.credit_minor, 24_500);
        assert_eq!((p.effective_at, p.next_renewal_at, p.next_amount_minor), (period / 2, period, 99_000));
        assert!(!p.new_period);
    }

    #[test]
    fn a_shorter_interval_waits_for_the_period_end() {
        // 12,000 ₽ a year, half used (6,000 ₽ unused) → 1,100 ₽ a month: a higher monthly price,
        // but paying now would throw 4,900 ₽ of credit away. It waits for the year's end.
        let (yearly, monthly) = (plan("y", 1_200_000, Interval::Year), plan("m", 110_000, Interval::Month));
        assert!(!is_upgrade(&yearly, &monthly));
        let p = preview_of(&row(0, 1_000), &yearly, &monthly, 500);
        assert_eq!(p.kind, ChangeKind::Downgrade);
        assert_eq!((p.amount_due_minor, p.effective_at, p.next_amount_minor), (0, 1_000, 110_000));
    }

    #[test]
    fn a_downgrade_waits_for_the_period_end() {
        let (starter, pro) = (plan("starter", 49_000, Interval::Month), plan("pro", 99_000, Interval::Month));
        let p = preview_of(&row(0, 1_000), &pro, &starter, 10);
        assert_eq!(p.kind, ChangeKind::Downgrade);
        assert_eq!((p.amount_due_minor, p.effective_at, p.next_amount_minor), (0, 1_000, 49_000));
    }

    #[test]
    fn a_yearly_plan_of_the_same_tier_is_an_upgrade_with_a_new_period() {
        let month = plan("pro", 99_000, Interval::Month);
        let mut year = plan("pro-year", 990_000, Interval::Year);
        year.plan_extra_metadata = Some(serde_json::json!({"monthly_plan_id": "pro"}));
        assert!(is_upgrade(&month, &year));
        assert!(!is_upgrade(&year, &month));
        // A yearly plan of a lower tier, cheaper by the month, waits for the period's end.
        let mut starter_year = plan("starter-year", 470_000, Interval::Year);
        starter_year.plan_extra_metadata = Some(serde_json::json!({"monthly_plan_id": "starter"}));
        assert!(!is_upgrade(&month, &starter_year));
        let p = preview_of(&row(0, 100), &month, &year, 50);
        assert_eq!(p.credit_minor, 49_500);
        assert_eq!(p.amount_due_minor, 990_000 - 49_500);
        assert!(p.new_period);
    }

    #[test]
    fn proration_rounds_once_half_up() {
        assert_eq!(prorate(1, 1, 2), 1);
        assert_eq!(prorate(50_000, 1, 3), 16_667);
        assert_eq!(prorate(50_000, 5, 3), 50_000);
        assert_eq!(prorate(50_000, -5, 3), 0);
    }
}
