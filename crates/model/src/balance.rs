//! Pay-as-you-go (seed 004): account balances and their ledger, priced features with access
//! levels, charges, top-ups and the read models of seed 004's routes.
//!
//! Balances are exact fixed-point amounts in **micro-minor units** (`*_micros`: millionths of a
//! kopeck or cent), so usage priced below a kopeck per unit (0.15 ₽ per 1,000 tokens is 15,000
//! micro-kopecks per token) is debited exactly and never rounded per event. Next to each exact
//! `*_micros` value the API shows the decimal in major units (`balance`, `charged`) and whole
//! minor units rounded down (`balance_minor`). Prices are integer minor units per block of
//! `per_units` units.

use super::money::{Currency, DecimalText, whole_number};
use super::states::string_enum;
use serde::{Deserialize, Serialize};

/// Micro-minor units in one minor unit (one kopeck = 1,000,000 micro-kopecks).
pub const MICROS_PER_MINOR: i64 = 1_000_000;

/// Exact micro-minor units as a decimal number of major units (`150_000` µkop → `0.0015` ₽),
/// for display fields next to the exact value.
pub fn decimal_from_micros(micros: i64) -> f64 {
    // Split first so that whole amounts stay exact in f64.
    let minor = micros.div_euclid(MICROS_PER_MINOR);
    let rest = micros.rem_euclid(MICROS_PER_MINOR);
    (minor as f64 + rest as f64 / MICROS_PER_MINOR as f64) / 100.0
}

/// Whole minor units in `micros`, rounded toward zero (what a balance can fully pay).
pub fn minor_from_micros(micros: i64) -> i64 {
    micros / MICROS_PER_MINOR
}

/// Minor units as micro-minor units; `None` beyond what an `i64` holds.
pub fn micros_from_minor(minor: i64) -> Option<i64> {
    minor.checked_mul(MICROS_PER_MINOR)
}

string_enum! {
    /// Who may use a feature (seed 004 "Premium/Exclusive Features", DESIGN.md "Pay-as-you-go").
    pub enum Access as "feature access" {
        /// Every plan, the free plan included.
        Included = "included",
        /// Any paid plan.
        Premium = "premium",
        /// Only plans that list the feature in `features` or `feature_limits`.
        Exclusive = "exclusive",
    }
}

string_enum! {
    /// Why a balance moved (`billing_balance_entry.reason`).
    pub enum BalanceReason as "balance reason" {
        /// A paid top-up credited the balance.
        Topup = "topup",
        /// Pay-as-you-go usage debited it.
        Charge = "charge",
        /// A refund of a top-up took back what it had credited.
        Refund = "refund",
        /// An administrator credited or debited it by hand, with a reason.
        Adjustment = "adjustment",
        /// A movement undone (a refund the provider refused gives the balance back).
        Reversal = "reversal",
    }
}

/// A priced feature (seed 004 `FeatureConfig`), as the admin API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Feature {
    /// Stable id, e.g. `CategorizationAgent` or `gpt-4o`.
    pub name: String,
    /// Display name in English.
    pub title: String,
    pub title_ru: Option<String>,
    pub description: Option<String>,
    pub description_ru: Option<String>,
    /// List price of one block of `per_units` units, decimal in major units (`0.15`).
    pub unit_price: f64,
    /// The same in minor units (`15` kopecks).
    pub unit_price_minor: i64,
    /// Units per priced block (`1000` for "per 1,000 tokens").
    pub per_units: i64,
    pub currency: Currency,
    pub access: Access,
    pub is_active: bool,
    /// Unix seconds.
    pub created_at: i64,
    pub updated_at: i64,
}

impl Feature {
    /// Whether an account on `plan` (`None`: no subscription) may use the feature (DESIGN.md
    /// "Pay-as-you-go"): `included` every plan, `premium` any paid plan, `exclusive` only plans
    /// that list it; never when the feature is inactive.
    pub fn available_on(&self, plan: Option<&super::Plan>) -> bool {
        self.is_active
            && match self.access {
                Access::Included => true,
                Access::Premium => plan.is_some_and(|p| !p.is_free()),
                Access::Exclusive => plan.is_some_and(|p| p.lists_feature(&self.name)),
            }
    }

    /// The price of one block of `per_units` units at `discount_percent` off, micro-minor units.
    pub fn block_price_micros(&self, discount_percent: i64) -> i64 {
        cost_micros(self.unit_price_minor, self.per_units, self.per_units, discount_percent).unwrap_or(0)
    }

    /// The exact price of `units` units at `discount_percent` off, in micro-minor units,
    /// rounded up to a whole micro-minor unit (exact whenever the discounted price of one unit
    /// is a whole number of them, which feature validation guarantees for the list price).
    /// `None` on overflow.
    pub fn cost_micros(&self, units: i64, discount_percent: i64) -> Option<i64> {
        cost_micros(self.unit_price_minor, self.per_units, units, discount_percent)
    }
}

/// `units × price_minor / per_units × (100 − discount) / 100` in micro-minor units, rounded up
/// to a whole micro-minor unit; `None` on overflow or a non-positive `per_units`.
pub fn cost_micros(price_minor: i64, per_units: i64, units: i64, discount_percent: i64) -> Option<i64> {
    if per_units <= 0 || !(0..=100).contains(&discount_percent) || units < 0 || price_minor < 0 {
        return None;
    }
    let numerator = i128::from(units)
        .checked_mul(i128::from(price_minor))?
        .checked_mul(i128::from(MICROS_PER_MINOR))?
        .checked_mul(i128::from(100 - discount_percent))?;
    let denominator = i128::from(per_units) * 100;
    let cost = (numerator + denominator - 1) / denominator;
    i64::try_from(cost).ok()
}

/// The body of feature create (`POST`) and partial update (`PUT`) in the admin API. Create needs
/// `name`, `title`, a price (`unit_price` or `unit_price_minor`) and `access`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeatureChanges {
    /// The stable id (create only): 1–64 ASCII letters, digits, `_`, `.`, `:` or `-`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"))]
    pub name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200, pattern = "\\S"))]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "super::plan::nullable", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 200))]
    pub title_ru: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::plan::nullable", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::plan::nullable", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub description_ru: Option<Option<String>>,
    /// Price of one block in major units, at most two decimals (`0.15`).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>, example = 0.15))]
    pub unit_price: Option<DecimalText>,
    /// The price in minor units instead of `unit_price` (if both are sent they must agree).
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub unit_price_minor: Option<i64>,
    /// Units per block, 1 to 1,000,000 (default 1).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1_000_000))]
    pub per_units: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<super::Currency>))]
    pub currency: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Access>))]
    pub access: Option<String>,
    pub is_active: Option<bool>,
}

/// Body of `POST /api/v1/billing/charge` (seed 004 `charge()`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChargeBody {
    /// The feature's `name`.
    pub feature: String,
    /// Units used, a whole number ≥ 1.
    #[serde(deserialize_with = "whole_number")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1_000_000_000_000_i64))]
    pub units: i64,
    /// The user charged (service tokens); a user token may only name itself.
    pub user_id: Option<String>,
    /// Charge this organisation (the user must be a member, else 403) instead of the user's
    /// current billing account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// Idempotence key of this charge: the same id again answers the first charge's figures and
    /// charges nothing.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub event_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<serde_json::Value>,
}

/// What a charge did: how many units came from the plan's included limit and what the rest
/// cost from the balance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Charged {
    pub feature: String,
    pub units: i64,
    /// Units taken from the plan's included limit for this period.
    pub from_included: i64,
    /// Units paid from the balance.
    pub charged_units: i64,
    /// What the balance paid, decimal in major units.
    pub charged: f64,
    /// The same in whole minor units, rounded down (`charged_micros` is exact).
    pub charged_minor: i64,
    /// The same exactly, in micro-minor units.
    pub charged_micros: i64,
    /// The balance after the charge, decimal in major units.
    pub balance: f64,
    /// The same in whole minor units, rounded down.
    pub balance_minor: i64,
    /// The same exactly, in micro-minor units.
    pub balance_micros: i64,
    pub currency: Currency,
    /// `true` when this `event_id` was charged before: the first answer, nothing charged now.
    pub duplicate: bool,
}

/// One ledger entry (`billing_balance_entry`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BalanceEntry {
    pub id: String,
    /// Decimal in major units; negative for a debit.
    pub delta: f64,
    /// Exact, in micro-minor units.
    pub delta_micros: i64,
    /// The balance after this entry, in micro-minor units.
    pub balance_after_micros: i64,
    pub currency: Currency,
    pub reason: BalanceReason,
    /// What the entry is for: a transaction id (top-up, refund) or a charge id.
    pub reference: Option<String>,
    /// Who moved it: a user id (admin adjustments, charges) or `system`.
    pub actor: Option<String>,
    /// For adjustments, the administrator's reason.
    pub description: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// What `GET /api/v1/billing/balance` answers (seed 004 `get_balance()`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Balance {
    /// The account's balance, decimal in major units.
    pub balance: f64,
    /// Whole minor units, rounded down.
    pub balance_minor: i64,
    /// Exact, in micro-minor units.
    pub balance_micros: i64,
    pub currency: Currency,
    /// Usage that already happened and the balance could not cover, decimal in major units;
    /// the next top-up settles it first.
    pub owed: f64,
    pub owed_micros: i64,
    /// `true` when the balance is below `low_balance_threshold`.
    pub low: bool,
    /// Decimal in major units.
    pub low_balance_threshold: f64,
    pub low_balance_threshold_minor: i64,
    /// The newest ledger entries, newest first (at most 20).
    pub entries: Vec<BalanceEntry>,
}

/// Body of `POST /api/v1/billing/topup`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TopupBody {
    /// Decimal in major units, at most two decimals, within the server's limits (by default
    /// 10.00 to 700,000.00).
    #[cfg_attr(feature = "openapi", schema(value_type = f64, example = 500.00))]
    pub amount: DecimalText,
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^https?://", max_length = 2048, example = "https://app.example.ru/billing/balance")
    )]
    pub return_url: String,
    pub user_id: Option<String>,
}

/// Body of `POST /api/v1/admin/billing/users/{user_id}/balance`: a manual credit (positive) or
/// debit (negative) of the user's billing account.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdjustmentBody {
    /// Decimal in major units, at most two decimals, not zero; negative debits.
    #[cfg_attr(feature = "openapi", schema(value_type = f64, example = 50.00))]
    pub amount: DecimalText,
    /// Why, for the ledger and the audit log (required).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 500, pattern = "\\S"))]
    pub reason: String,
}

/// Body of `PATCH /api/v1/admin/billing/users/{user_id}/balance`: the account's own low-balance
/// threshold (decimal in major units), or `null` for the server's default.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThresholdBody {
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>, example = 200.00))]
    pub low_balance_threshold: Option<DecimalText>,
}

/// What `GET /api/v1/billing/features/{name}/price` answers (seed 004 `get_price()`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeaturePrice {
    pub feature: String,
    pub currency: Currency,
    pub per_units: i64,
    /// List price of one block, decimal in major units.
    pub list_price: f64,
    pub list_price_minor: i64,
    /// The plan's discount on pay-as-you-go prices, 0–100.
    pub discount_percent: i64,
    /// The price of one block for this account, decimal in major units.
    pub price: f64,
    /// The same exactly, in micro-minor units.
    pub price_micros: i64,
    pub access: Access,
    /// Whether this account's plan may use the feature.
    pub available: bool,
}

/// One feature of `GET /api/v1/billing/features`: the feature, whether this account may use it,
/// its price for this account and the units its plan includes this period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeatureOffer {
    pub name: String,
    pub title: String,
    pub title_ru: Option<String>,
    pub description: Option<String>,
    pub description_ru: Option<String>,
    pub access: Access,
    pub available: bool,
    pub currency: Currency,
    pub per_units: i64,
    pub list_price: f64,
    pub list_price_minor: i64,
    pub discount_percent: i64,
    pub price: f64,
    pub price_micros: i64,
    /// Units the plan includes per period; 0 for none.
    pub included: i64,
    /// Included units left this period.
    pub remaining: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_at_fifteen_kopecks_per_thousand_costs_fifteen_thousand_micros() {
        assert_eq!(cost_micros(15, 1000, 1, 0), Some(15_000));
        // 1,000 such charges are exactly 15 kopecks.
        assert_eq!((0..1000).map(|_| cost_micros(15, 1000, 1, 0).unwrap()).sum::<i64>(), 15 * MICROS_PER_MINOR);
        // 20 % off 1.00 ₽ per unit, 5 units: 4.00 ₽.
        assert_eq!(cost_micros(100, 1, 5, 20), Some(400 * MICROS_PER_MINOR));
        assert_eq!(cost_micros(100, 1, 5, 100), Some(0));
        assert_eq!(cost_micros(i64::MAX, 1, i64::MAX, 0), None);
        assert_eq!(cost_micros(1, 0, 1, 0), None);
    }

    #[test]
    fn micros_display_as_major_units() {
        assert_eq!(decimal_from_micros(50_000 * MICROS_PER_MINOR), 500.0);
        assert_eq!(decimal_from_micros(15_000), 0.00015);
        assert_eq!(minor_from_micros(49_985 * MICROS_PER_MINOR + 999_999), 49_985);
    }
}
