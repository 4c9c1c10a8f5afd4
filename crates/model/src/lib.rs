//! Tariff's shared types, compiled into the server and into the browser bundle alike: money,
//! plans, subscriptions, usage, transactions, every JSON request and response body of the API,
//! the status enums and the stable error codes. Nothing here touches a database or the network;
//! with the `openapi` feature every type also describes itself for the OpenAPI document.

pub mod admin;
pub mod api;
pub mod balance;
pub mod error;
pub mod events;
pub mod money;
pub mod org;
pub mod plan;
pub mod portal;
pub mod problem;
pub mod states;
pub mod subscription;
pub mod transaction;
pub mod usage;

pub use admin::User;
pub use balance::{Access, Balance, BalanceEntry, BalanceReason, Charged, Feature, FeatureChanges};
pub use error::{Entity, ErrorCode, InvalidField, Message};
pub use events::{Event, EventType, WebhookDelivery, WebhookEndpoint};
pub use money::{Currency, MoneyError};
pub use org::{Invitation, InvitationStatus, Member, MemberCaps, OrgRole, Organization};
pub use plan::{Interval, Metric, Plan, PlanChanges, Quotas};
pub use portal::Viewer;
pub use problem::{FieldError, Problem};
pub use states::{InboxStatus, Locale, Role, Scope, TransactionKind, TransactionStatus, UnknownValue};
pub use subscription::{CancelOptions, ChangeKind, ChangeOutcome, ChangePreview, Subscription, SubscriptionStatus};
pub use transaction::Transaction;
pub use usage::{BatchOutcome, QuotaStatus, Tracked, UsageEvent, UsageRow};
