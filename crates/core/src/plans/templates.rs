//! The plan templates of `tariff init-plans` (spec 002 "Template Module: plan_templates.py"):
//! default plans (free, starter, pro, business, unlimited), annual variants at 20% off twelve
//! monthly prices, and promotional plans. `free` and `pro` carry exactly the values of spec 003
//! (the setup guide's `setup_plans.py`).

use serde_json::json;
use tariff_model::{Currency, Interval, Metric, Plan, Quotas, money::decimal_from_minor};

/// Discount of the annual variants, in percent of twelve monthly prices.
pub const ANNUAL_DISCOUNT_PERCENT: i64 = 20;
/// How long a promotional plan seeded now stays valid, in seconds (31 days).
pub const PROMO_VALIDITY_SECONDS: i64 = 31 * 86_400;

struct Template {
    id: &'static str,
    name: &'static str,
    name_ru: &'static str,
    description: &'static str,
    description_ru: &'static str,
    price_minor: i64,
    quotas: Option<[(Metric, i64); 3]>,
    features: &'static [&'static str],
    is_active: bool,
    display_order: i64,
}

const DEFAULTS: [Template; 5] = [
    Template {
        id: "free",
        name: "Free",
        name_ru: "Бесплатный",
        description: "Basic access to AI models",
        description_ru: "Базовый доступ к AI моделям",
        price_minor: 0,
        quotas: Some([(Metric::TokensInput, 100_000), (Metric::TokensOutput, 50_000), (Metric::Requests, 1_000)]),
        features: &["gpt35_access"],
        is_active: true,
        display_order: 0,
    },
    Template {
        id: "starter",
        name: "Starter",
        name_ru: "Стартовый",
        description: "More tokens for everyday work",
        description_ru: "Больше токенов для повседневной работы",
        price_minor: 49_000,
        quotas: Some([(Metric::TokensInput, 300_000), (Metric::TokensOutput, 150_000), (Metric::Requests, 3_000)]),
        features: &["gpt35_access", "gpt4_access"],
        is_active: true,
        display_order: 1,
    },
    Template {
        id: "pro",
        name: "Pro",
        name_ru: "Профессиональный",
        description: "Advanced features and higher quotas",
        description_ru: "Расширенные возможности и увеличенные квоты",
        price_minor: 99_000,
        quotas: Some([(Metric::TokensInput, 1_000_000), (Metric::TokensOutput, 500_000), (Metric::Requests, 10_000)]),
        features: &["gpt4_access", "claude_access"],
        is_active: true,
        display_order: 2,
    },
    Template {
        id: "business",
        name: "Business",
        name_ru: "Бизнес",
        description: "Team-sized quotas, priority support and API access",
        description_ru: "Квоты для команды, приоритетная поддержка и доступ к API",
        price_minor: 299_000,
        quotas: Some([(Metric::TokensInput, 5_000_000), (Metric::TokensOutput, 2_500_000), (Metric::Requests, 50_000)]),
        features: &["gpt4_access", "claude_access", "priority_support", "api_access"],
        is_active: true,
        display_order: 3,
    },
    Template {
        id: "unlimited",
        name: "Unlimited",
        name_ru: "Безлимитный",
        description: "No quotas, for individual agreements",
        description_ru: "Без квот, для индивидуальных договорённостей",
        price_minor: 999_000,
        quotas: None,
        features: &["gpt4_access", "claude_access", "priority_support", "api_access"],
        is_active: false,
        display_order: 4,
    },
];

fn build(t: &Template, now: i64) -> Plan {
    let quotas = t.quotas.map(|q| q.into_iter().map(|(m, limit)| (m, Some(limit))).collect::<Quotas>());
    Plan {
        id: t.id.to_owned(),
        name: t.name.to_owned(),
        name_ru: Some(t.name_ru.to_owned()),
        description: Some(t.description.to_owned()),
        description_ru: Some(t.description_ru.to_owned()),
        price: decimal_from_minor(t.price_minor),
        price_minor: t.price_minor,
        currency: Currency::Rub,
        interval: Interval::Month,
        quotas,
        features: t.features.iter().map(|f| (*f).to_owned()).collect(),
        is_active: t.is_active,
        display_order: t.display_order,
        plan_extra_metadata: None,
        trial_days: 0,
        overage: None,
        feature_limits: None,
        discount_percent: 0,
        created_at: now,
        updated_at: now,
    }
}

fn default_plan(id: &str, now: i64) -> Plan {
    let template = DEFAULTS.iter().find(|t| t.id == id).expect("template ids are fixed");
    build(template, now)
}

/// free, starter, pro, business (active, monthly) and unlimited (inactive, no quotas).
pub fn default_plans(now: i64) -> Vec<Plan> {
    DEFAULTS.iter().map(|t| build(t, now)).collect()
}

/// starter_annual, pro_annual, business_annual: interval `year`, priced at twelve monthly prices
/// less [`ANNUAL_DISCOUNT_PERCENT`], with twelve months of quota per (yearly) period.
pub fn annual_plans(now: i64) -> Vec<Plan> {
    ["starter", "pro", "business"]
        .into_iter()
        .enumerate()
        .map(|(i, base_id)| {
            let mut plan = default_plan(base_id, now);
            let monthly_minor = plan.price_minor;
            plan.id = format!("{base_id}_annual");
            plan.name = format!("{} Annual", plan.name);
            plan.name_ru = plan.name_ru.map(|n| format!("{n} (годовой)"));
            plan.description = plan.description.map(|d| format!("{d}. Billed yearly, {ANNUAL_DISCOUNT_PERCENT}% off"));
            plan.description_ru =
                plan.description_ru.map(|d| format!("{d}. Оплата за год со скидкой {ANNUAL_DISCOUNT_PERCENT}%"));
            plan.set_price_minor(monthly_minor * 12 * (100 - ANNUAL_DISCOUNT_PERCENT) / 100);
            plan.interval = Interval::Year;
            plan.quotas = plan.quotas.map(|q| q.into_iter().map(|(m, l)| (m, l.map(|l| l * 12))).collect());
            plan.display_order = 11 + i as i64;
            plan.plan_extra_metadata = Some(json!({
                "billing": "annual",
                "discount_percent": ANNUAL_DISCOUNT_PERCENT,
                "monthly_plan_id": base_id,
                "monthly_price_minor": monthly_minor,
            }));
            plan
        })
        .collect()
}

/// Promotional plans: `pro_promo`, Pro at half price, valid from `now` for
/// [`PROMO_VALIDITY_SECONDS`], with the promo flag, code and validity in `plan_extra_metadata`.
pub fn promo_plans(now: i64) -> Vec<Plan> {
    let mut plan = default_plan("pro", now);
    let base_price = plan.price_minor;
    plan.id = "pro_promo".to_owned();
    plan.name = "Pro Promo".to_owned();
    plan.name_ru = Some("Профессиональный — акция".to_owned());
    plan.description = Some("Pro at half price for a limited time".to_owned());
    plan.description_ru = Some("Профессиональный за полцены, ограниченное предложение".to_owned());
    plan.set_price_minor(base_price / 2);
    plan.display_order = 20;
    plan.plan_extra_metadata = Some(json!({
        "promo": true,
        "promo_code": "PROHALF",
        "discount_percent": 50,
        "base_plan_id": "pro",
        "valid_from": now,
        "valid_until": now + PROMO_VALIDITY_SECONDS,
    }));
    vec![plan]
}

/// Seed 004's pay-as-you-go example (`init-plans --include-payg`): Free, Pro and Team with
/// included units of the example features and discounts on pay-as-you-go prices. Free and Pro
/// are the default plans with their `feature_limits` and `discount_percent` set; Team is new.
pub fn payg_plans(now: i64) -> Vec<Plan> {
    let mut free = default_plan("free", now);
    free.feature_limits = Some(std::collections::BTreeMap::from([("CategorizationAgent".to_owned(), 20)]));
    let mut pro = default_plan("pro", now);
    pro.feature_limits = Some(std::collections::BTreeMap::from([
        ("CategorizationAgent".to_owned(), 500),
        ("gpt-4o".to_owned(), 1_000_000),
    ]));
    pro.discount_percent = 10;
    let mut team = default_plan("business", now);
    team.id = "team".to_owned();
    team.name = "Team".to_owned();
    team.name_ru = Some("Командный".to_owned());
    team.description = Some("Shared limits and the deepest discounts for teams".to_owned());
    team.description_ru = Some("Общие лимиты и самые большие скидки для команд".to_owned());
    team.set_price_minor(499_000);
    team.display_order = 30;
    team.features = vec!["gpt4_access".to_owned(), "claude_access".to_owned(), "DeepAnalysis".to_owned()];
    team.feature_limits = Some(std::collections::BTreeMap::from([
        ("CategorizationAgent".to_owned(), 5_000),
        ("gpt-4o".to_owned(), 10_000_000),
        ("DeepAnalysis".to_owned(), 50),
    ]));
    team.discount_percent = 20;
    vec![free, pro, team]
}

/// Seed 004's example features, one of each access level: `CategorizationAgent` (included,
/// 1.00 ₽ per run), `gpt-4o` (premium, 0.15 ₽ per 1,000 tokens), `DeepAnalysis` (exclusive to
/// plans that list it, 12.00 ₽ per report).
pub fn payg_features(now: i64) -> Vec<tariff_model::Feature> {
    let feature =
        |name: &str, title: &str, title_ru: &str, price_minor: i64, per_units: i64, access| tariff_model::Feature {
            name: name.to_owned(),
            title: title.to_owned(),
            title_ru: Some(title_ru.to_owned()),
            description: None,
            description_ru: None,
            unit_price: decimal_from_minor(price_minor),
            unit_price_minor: price_minor,
            per_units,
            currency: Currency::Rub,
            access,
            is_active: true,
            created_at: now,
            updated_at: now,
        };
    use tariff_model::Access;
    vec![
        feature("CategorizationAgent", "Categorization agent", "Агент категоризации", 100, 1, Access::Included),
        feature("gpt-4o", "GPT-4o tokens", "Токены GPT-4o", 15, 1_000, Access::Premium),
        feature("DeepAnalysis", "Deep analysis report", "Глубокий анализ", 1_200, 1, Access::Exclusive),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_and_pro_carry_the_setup_guide_values() {
        let plans = default_plans(0);
        let free = plans.iter().find(|p| p.id == "free").unwrap();
        assert_eq!((free.name.as_str(), free.name_ru.as_deref()), ("Free", Some("Бесплатный")));
        assert_eq!(free.price_minor, 0);
        assert_eq!(free.quota(Metric::TokensInput), Some(100_000));
        assert_eq!(free.quota(Metric::TokensOutput), Some(50_000));
        assert_eq!(free.quota(Metric::Requests), Some(1_000));
        assert_eq!(free.features, vec!["gpt35_access"]);
        let pro = plans.iter().find(|p| p.id == "pro").unwrap();
        assert_eq!(pro.name_ru.as_deref(), Some("Профессиональный"));
        assert_eq!(pro.description_ru.as_deref(), Some("Расширенные возможности и увеличенные квоты"));
        assert_eq!(pro.price, 990.0);
        assert_eq!(pro.quota(Metric::TokensInput), Some(1_000_000));
        assert_eq!(pro.features, vec!["gpt4_access", "claude_access"]);
    }

    #[test]
    fn unlimited_is_inactive_without_quotas() {
        let plans = default_plans(0);
        let unlimited = plans.iter().find(|p| p.id == "unlimited").unwrap();
        assert!(!unlimited.is_active);
        assert!(unlimited.quotas.is_none());
    }

    #[test]
    fn annual_plans_cost_twelve_months_less_twenty_percent() {
        let annual = annual_plans(0);
        let ids: Vec<_> = annual.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["starter_annual", "pro_annual", "business_annual"]);
        let pro = &annual[1];
        assert_eq!(pro.interval, Interval::Year);
        assert_eq!(pro.price_minor, 99_000 * 12 * 80 / 100);
        assert_eq!(pro.price, 9504.0);
    }

    #[test]
    fn promo_plans_carry_flag_code_and_validity() {
        let promo = &promo_plans(1_000)[0];
        let meta = promo.plan_extra_metadata.as_ref().unwrap();
        assert_eq!(meta["promo"], true);
        assert!(meta["promo_code"].is_string());
        assert_eq!(meta["valid_from"], 1_000);
        assert_eq!(meta["valid_until"], 1_000 + PROMO_VALIDITY_SECONDS);
    }
}
