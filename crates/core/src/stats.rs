//! Subscriber statistics and MRR (DESIGN.md "MRR").
//!
//! MRR is the sum over subscriptions with status `active` or `past_due` of the plan price
//! normalised to a month — day × 365/12, week × 52/12, month × 1, year ÷ 12 — per currency, never
//! converted; trials are excluded. Committed MRR also excludes `cancel_at_period_end`. Counts come
//! from one SQL aggregate; the normalisation is exact integer arithmetic over twelfths, rounded
//! half up to minor units once per figure.

use crate::Result;
use crate::store::{Store, plans, subscriptions};
use std::collections::BTreeMap;
pub use tariff_model::admin::{CurrencyMrr, PlanWithStats, Totals};
use tariff_model::money::decimal_from_minor;
use tariff_model::{Currency, Interval};

/// Twelfths of a month in one interval: a monthly price is `price × twelfths / 12`.
pub fn twelfths_per_month(interval: Interval) -> i128 {
    match interval {
        Interval::Day => 365,
        Interval::Week => 52,
        Interval::Month => 12,
        Interval::Year => 1,
    }
}

/// `numerator / 12`, rounded half up, as minor units.
fn round_twelfths(numerator: i128) -> i64 {
    ((numerator + 6).div_euclid(12)) as i64
}

/// Monthly recurring revenue of `count` subscriptions at `price_minor` per `interval`, in minor units.
pub fn mrr_minor(price_minor: i64, interval: Interval, count: i64) -> i64 {
    round_twelfths(i128::from(price_minor) * twelfths_per_month(interval) * i128::from(count))
}

/// Every plan (active or not) with its statistics, by `display_order`, and the totals.
///
/// # Errors
/// [`crate::Error::Database`].
pub async fn plans_with_stats(db: &Store) -> Result<(Vec<PlanWithStats>, Totals)> {
    let all_plans = plans::list(db.reader(), false).await?;
    let counts: BTreeMap<String, subscriptions::PlanCounts> =
        subscriptions::counts_by_plan(db.reader()).await?.into_iter().map(|c| (c.plan_id.clone(), c)).collect();
    let mut numerators: BTreeMap<Currency, (i128, i128)> = BTreeMap::new();
    let mut totals = Totals {
        mrr: Vec::new(),
        active_subscriptions: 0,
        trialing_subscriptions: 0,
        past_due_subscriptions: 0,
        canceled_subscriptions: 0,
        total_subscriptions: 0,
    };
    let mut rows = Vec::with_capacity(all_plans.len());
    for plan in all_plans {
        let c = counts.get(&plan.id).cloned().unwrap_or_default();
        let k = twelfths_per_month(plan.interval) * i128::from(plan.price_minor);
        let entry = numerators.entry(plan.currency).or_default();
        entry.0 += k * i128::from(c.paying);
        entry.1 += k * i128::from(c.committed);
        totals.active_subscriptions += c.active;
        totals.trialing_subscriptions += c.trialing;
        totals.past_due_subscriptions += c.past_due;
        totals.canceled_subscriptions += c.canceled;
        totals.total_subscriptions += c.total;
        let mrr = mrr_minor(plan.price_minor, plan.interval, c.paying);
        let committed = mrr_minor(plan.price_minor, plan.interval, c.committed);
        rows.push(PlanWithStats {
            plan,
            active_subscriptions: c.active,
            trialing_subscriptions: c.trialing,
            past_due_subscriptions: c.past_due,
            canceled_subscriptions: c.canceled,
            paused_subscriptions: c.paused,
            total_subscriptions: c.total,
            mrr: decimal_from_minor(mrr),
            mrr_minor: mrr,
            committed_mrr: decimal_from_minor(committed),
            committed_mrr_minor: committed,
        });
    }
    totals.mrr = numerators
        .into_iter()
        .map(|(currency, (paying, committed))| {
            let (mrr, committed) = (round_twelfths(paying), round_twelfths(committed));
            CurrencyMrr {
                currency,
                mrr: decimal_from_minor(mrr),
                mrr_minor: mrr,
                committed_mrr: decimal_from_minor(committed),
                committed_mrr_minor: committed,
            }
        })
        .collect();
    Ok((rows, totals))
}

/// The admin overview: totals and MRR per currency, every plan's statistics, subscriptions to
/// paid plans started and ended in the 30 days before `now`, and ARPU (MRR ÷ paying
/// subscriptions, i.e. `active` or `past_due` on a paid plan) per currency, the sum of balances
/// (prepaid liability) and pay-as-you-go revenue of those 30 days.
///
/// # Errors
/// [`crate::Error::Database`].
pub async fn overview(db: &Store, now: i64) -> Result<tariff_model::admin::AdminOverview> {
    let (plans, totals) = plans_with_stats(db).await?;
    let (new_30d, churned_30d) = subscriptions::movement_since(db.reader(), now - 30 * 86_400).await?;
    let arpu = totals
        .mrr
        .iter()
        .map(|currency_mrr| {
            let paying: i64 = plans
                .iter()
                .filter(|p| p.plan.currency == currency_mrr.currency && p.plan.price_minor > 0)
                .map(|p| p.active_subscriptions + p.past_due_subscriptions)
                .sum();
            tariff_model::admin::CurrencyArpu {
                currency: currency_mrr.currency,
                arpu_minor: if paying == 0 { 0 } else { (currency_mrr.mrr_minor + paying / 2) / paying },
                paying_subscriptions: paying,
            }
        })
        .collect();
    let prepaid_balances = crate::store::balances::liability(db.reader()).await?;
    let payg_revenue_30d = crate::store::balances::charged_since(db.reader(), now - 30 * 86_400).await?;
    Ok(tariff_model::admin::AdminOverview {
        totals,
        plans,
        new_30d,
        churned_30d,
        arpu,
        prepaid_balances,
        payg_revenue_30d,
        as_of: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_normalise_to_a_month() {
        assert_eq!(mrr_minor(99_000, Interval::Month, 3), 297_000);
        assert_eq!(mrr_minor(950_400, Interval::Year, 1), 79_200, "annual counts one twelfth");
        assert_eq!(mrr_minor(1_000, Interval::Week, 1), 4_333, "52/12 weeks, rounded half up");
        assert_eq!(mrr_minor(100, Interval::Day, 1), 3_042, "365/12 days");
        assert_eq!(mrr_minor(99_000, Interval::Month, 0), 0);
    }
}
