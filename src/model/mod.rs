//! Plain serde types shared by the server and the browser build: plans, money, metrics and the
//! request/response shapes of the JSON API. Nothing here touches a database or the network.

pub mod money;
pub mod plan;

pub use money::{Currency, MoneyError};
pub use plan::{Interval, Metric, Plan, Quotas};
