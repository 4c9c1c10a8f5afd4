//! Plan initialisation (spec 002), the plan store round-trip and the first admin, through the
//! service layer, on SQLite and PostgreSQL.

use crate::common::{Backend, TestDb};
use std::collections::BTreeMap;
use tariff::model::{Currency, Interval, Metric, Plan};
use tariff_core::accounts::{self, AdminBootstrap};
use tariff_core::audit::Actor;
use tariff_core::plans::{InitOptions, init_plans};
use tariff_core::store::{audit, plans};

async fn init_plans_creates_then_skips_then_updates_with_force(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let reader = db.reader().await;
    let actor = Actor::cli();

    let first = init_plans(&store, 1_000, &actor, InitOptions::default()).await.unwrap();
    assert_eq!(first.created, ["free", "starter", "pro", "business", "unlimited"]);
    assert!(first.updated.is_empty() && first.skipped.is_empty());

    let second = init_plans(&store, 2_000, &actor, InitOptions::default()).await.unwrap();
    assert_eq!(second.skipped.len(), 5);
    assert!(second.created.is_empty() && second.updated.is_empty());

    let all = InitOptions { include_annual: true, include_promo: true, include_payg: false, force: false };
    let third = init_plans(&store, 3_000, &actor, all).await.unwrap();
    assert_eq!(third.created, ["starter_annual", "pro_annual", "business_annual", "pro_promo"]);
    assert_eq!(third.skipped.len(), 5);

    let forced = init_plans(&store, 4_000, &actor, InitOptions { force: true, ..all }).await.unwrap();
    assert_eq!(forced.updated.len(), 9);
    let pro = plans::get(&reader, "pro").await.unwrap().unwrap();
    assert_eq!(pro.created_at, 1_000, "--force keeps the creation time");
    assert_eq!(pro.updated_at, 4_000);

    let annual = plans::get(&reader, "business_annual").await.unwrap().unwrap();
    assert_eq!(annual.interval, Interval::Year);
    assert_eq!(annual.price_minor, 299_000 * 12 * 80 / 100);
    let promo = plans::get(&reader, "pro_promo").await.unwrap().unwrap();
    let meta = promo.plan_extra_metadata.unwrap();
    assert_eq!(meta["promo"], true);
    assert_eq!(meta["promo_code"], "PROHALF");

    let unlimited = plans::get(&reader, "unlimited").await.unwrap().unwrap();
    assert!(!unlimited.is_active);
    assert_eq!(unlimited.quotas, None);

    let trail = audit::list_for_entity(&reader, "plan", "pro").await.unwrap();
    let actions: Vec<&str> = trail.iter().map(|(action, _)| action.as_str()).collect();
    assert_eq!(actions, ["plan.update", "plan.create"], "each write is audited, newest first");
    assert!(trail.iter().all(|(_, user)| user == "system:cli"));

    store.close().await;
    db.cleanup().await;
}
on_both_databases!(init_plans_twice_and_forced, init_plans_creates_then_skips_then_updates_with_force);

/// `init-plans --include-payg` (issue 12.11): seed 004's Free/Pro/Team with included units and
/// discounts, and one feature of each access level; a second run skips, `--force` updates.
async fn init_plans_with_payg_seeds_seed_004s_example(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let reader = db.reader().await;
    let actor = Actor::cli();
    let payg = InitOptions { include_payg: true, ..Default::default() };
    let first = init_plans(&store, 1_000, &actor, payg).await.unwrap();
    assert_eq!(first.created, ["free", "starter", "pro", "business", "unlimited", "team"]);
    assert_eq!(first.features_created, ["CategorizationAgent", "gpt-4o", "DeepAnalysis"]);
    let pro = plans::get(&reader, "pro").await.unwrap().unwrap();
    assert_eq!(pro.discount_percent, 10);
    assert_eq!(pro.feature_limit("gpt-4o"), 1_000_000);
    let team = plans::get(&reader, "team").await.unwrap().unwrap();
    assert_eq!((team.price_minor, team.discount_percent), (499_000, 20));
    assert!(team.lists_feature("DeepAnalysis"));
    let tokens = tariff_core::store::features::get(&reader, "gpt-4o").await.unwrap().unwrap();
    assert_eq!((tokens.unit_price_minor, tokens.per_units, tokens.access), (15, 1_000, tariff_model::Access::Premium));

    let again = init_plans(&store, 2_000, &actor, payg).await.unwrap();
    assert_eq!(again.features_skipped.len(), 3);
    let forced = init_plans(&store, 3_000, &actor, InitOptions { force: true, ..payg }).await.unwrap();
    assert_eq!(forced.features_updated.len(), 3);
    let trail = audit::list_for_entity(&reader, "feature", "DeepAnalysis").await.unwrap();
    let actions: Vec<&str> = trail.iter().map(|(action, _)| action.as_str()).collect();
    assert_eq!(actions, ["feature.update", "feature.create"]);
    store.close().await;
    db.cleanup().await;
}
on_both_databases!(init_plans_payg, init_plans_with_payg_seeds_seed_004s_example);

async fn every_plan_field_round_trips(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let mut plan = Plan {
        id: "roundtrip".into(),
        name: "Round trip".into(),
        name_ru: Some("Туда и обратно".into()),
        description: None,
        description_ru: Some("Описание".into()),
        price: 0.0,
        price_minor: 0,
        currency: Currency::Eur,
        interval: Interval::Week,
        quotas: Some(BTreeMap::from([(Metric::Images, Some(25)), (Metric::AudioMinutes, None)])),
        features: vec!["a".into(), "b \"quoted\"".into()],
        is_active: false,
        display_order: -3,
        plan_extra_metadata: Some(serde_json::json!({"nested": {"list": [1, 2.5, null]}})),
        trial_days: 14,
        overage: Some(BTreeMap::from([(Metric::TokensInput, 3)])),
        feature_limits: Some(BTreeMap::from([("gpt-4o".to_owned(), 1_000)])),
        discount_percent: 15,
        created_at: 1_795_219_200,
        updated_at: 1_795_219_201,
    };
    plan.set_price_minor(123_456_789);
    let reader = db.reader().await;
    let mut tx = store.begin_write().await.unwrap();
    assert!(plans::insert_if_absent(&mut tx, &plan).await.unwrap());
    assert!(!plans::insert_if_absent(&mut tx, &plan).await.unwrap(), "a second insert is a no-op");
    tx.commit().await.unwrap();
    let stored = plans::get(&reader, "roundtrip").await.unwrap().unwrap();
    assert_eq!(stored, plan);
    assert_eq!(stored.price, 1_234_567.89);

    plan.is_active = true;
    plan.quotas = None;
    let mut tx = store.begin_write().await.unwrap();
    assert!(plans::update(&mut tx, &plan).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(plans::get(&reader, "roundtrip").await.unwrap().unwrap(), plan);
    store.close().await;
    db.cleanup().await;
}
on_both_databases!(plan_round_trip, every_plan_field_round_trips);

async fn first_admin_is_created_once_and_can_sign_in(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let config = crate::common::config(&db, &[]);
    assert_eq!(
        accounts::ensure_first_admin(&store, 1, &config.first_admin()).await.unwrap(),
        AdminBootstrap::Created { email: crate::common::ADMIN_EMAIL.into() }
    );
    assert_eq!(accounts::ensure_first_admin(&store, 2, &config.first_admin()).await.unwrap(), AdminBootstrap::Exists);
    assert!(accounts::authenticate(&store, "ADMIN@example.com", crate::common::ADMIN_PASSWORD).await.is_ok());
    assert!(accounts::authenticate(&store, crate::common::ADMIN_EMAIL, "wrong password").await.is_err());
    store.close().await;
    db.cleanup().await;
}
on_both_databases!(first_admin, first_admin_is_created_once_and_can_sign_in);

#[tokio::test]
async fn development_without_admin_email_generates_a_password_once() {
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let config = crate::common::config(&db, &[("ADMIN_EMAIL", ""), ("ADMIN_PASSWORD", "")]);
    let AdminBootstrap::Generated { email, password } =
        accounts::ensure_first_admin(&store, 1, &config.first_admin()).await.unwrap()
    else {
        panic!("expected a generated admin");
    };
    assert_eq!(email, accounts::DEV_ADMIN_EMAIL);
    assert!(password.len() >= 16);
    assert!(accounts::authenticate(&store, &email, &password).await.is_ok());
    assert_eq!(accounts::ensure_first_admin(&store, 2, &config.first_admin()).await.unwrap(), AdminBootstrap::Exists);

    let production = crate::common::config(
        &db,
        &[
            ("ADMIN_EMAIL", ""),
            ("ADMIN_PASSWORD", ""),
            ("TARIFF_ENV", "production"),
            ("SESSION_SECRET", "a-session-secret-of-at-least-32-characters"),
            ("YOOKASSA_SANDBOX", "on"),
        ],
    );
    let empty = TestDb::new(Backend::Sqlite).await;
    let empty_store = empty.store().await;
    assert_eq!(
        accounts::ensure_first_admin(&empty_store, 1, &production.first_admin()).await.unwrap(),
        AdminBootstrap::Missing
    );
}
