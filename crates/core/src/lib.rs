//! Tariff's billing core: every business rule and the store. Called alike by the JSON API, the
//! pages' server functions, the command line and the background jobs of the app; it knows
//! nothing of HTTP, pages or YooKassa (payments go through [`gateway::PaymentGateway`]).
//!
//! Money is integer minor units with a currency; time is Unix seconds from the injectable
//! [`clock::Clock`]; errors are [`Error`]s with stable codes and message codes, never sentences.
//! Each area has one file per use case (`payments/checkout.rs`, `payments/refunds.rs`, …).

pub mod accounts;
pub mod audit;
pub mod balance;
pub mod clock;
pub mod error;
pub mod events;
pub mod features;
pub mod gateway;
pub mod leases;
pub mod organizations;
pub mod paging;
pub mod payments;
pub mod periods;
pub mod plans;
pub mod revenue;
pub mod stats;
pub mod store;
pub mod subscriptions;
pub mod test_clock;
pub mod tokens;
pub mod usage;

pub use error::{Error, Result};

/// The `tracing` target of every billing log line (payments, notifications, renewals, refunds,
/// subscriptions, quotas, usage): `RUST_LOG=tariff::billing=debug` selects them, and `billing`
/// appears in each line of both log formats (seed 003 "Мониторинг": `grep -i billing`).
pub const LOG_TARGET: &str = "tariff::billing";

use std::sync::Arc;

/// What usage is allowed for an account that has no subscription
/// (`BILLING_NO_SUBSCRIPTION_POLICY`; the spec's default is `allow`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NoSubscriptionPolicy {
    /// Unlimited, counted per calendar month.
    #[default]
    Allow,
    /// 403 for every usage call.
    Deny,
}

/// The operator's billing choices, read once at start.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub no_subscription_policy: NoSubscriptionPolicy,
    /// Send a 54-FZ receipt with each payment (`YOOKASSA_RECEIPTS=on`).
    pub receipts: bool,
    /// VAT code of receipt lines (1–12, YooKassa's codes).
    pub vat_code: u8,
    /// Smallest and largest top-up, minor units (`BILLING_TOPUP_MIN` / `_MAX`).
    pub topup_min_minor: i64,
    pub topup_max_minor: i64,
    /// Default low-balance threshold, minor units (`BILLING_LOW_BALANCE`).
    pub low_balance_minor: i64,
    /// The shop takes test payments (the sandbox, or a YooKassa test shop whose secret key starts
    /// with `test_`): only payments with the same `test` flag are applied.
    pub test_payments: bool,
}

/// Everything a billing rule may need: the store, the clock, the payment gateway (absent when
/// payments are not configured) and the settings. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Billing {
    pub store: store::Store,
    pub clock: Arc<dyn clock::Clock>,
    pub gateway: Option<Arc<dyn gateway::PaymentGateway>>,
    pub settings: Arc<Settings>,
}

impl Billing {
    /// Now, in Unix seconds, from the injectable clock.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The payment gateway.
    ///
    /// # Errors
    /// [`Error::Unavailable`] (503) when payments are not configured on this server.
    pub fn gateway(&self) -> Result<&Arc<dyn gateway::PaymentGateway>> {
        self.gateway.as_ref().ok_or(Error::Unavailable(tariff_model::Message::PaymentsNotConfigured))
    }
}
