//! Plain serde types shared by the server and the browser build: plans, money, metrics and the
//! request/response shapes of the JSON API. Nothing here touches a database or the network.

pub mod admin;
pub mod money;
pub mod plan;
pub mod portal;
pub mod subscription;
pub mod transaction;
pub mod usage;

pub use money::{Currency, MoneyError};
pub use plan::{Interval, Metric, Plan, PlanChanges, Quotas};
pub use portal::{UiError, Viewer};
pub use subscription::{Subscription, SubscriptionStatus};
pub use transaction::Transaction;
pub use usage::QuotaStatus;
