//! Payment history entries (spec 000 "Transaction Entity"). `amount` is in minor units.

use super::money::Currency;
use super::states::{TransactionKind, TransactionStatus};
use serde::{Deserialize, Serialize};

/// A payment, renewal, top-up or refund. `amount` and `refunded_minor` are minor units; times are
/// Unix seconds. `amount_decimal` repeats `amount` in major units for display.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transaction {
    pub id: String,
    pub user_id: String,
    pub subscription_id: Option<String>,
    pub plan_id: Option<String>,
    pub kind: TransactionKind,
    pub amount: i64,
    pub amount_decimal: f64,
    pub refunded_minor: i64,
    pub currency: Currency,
    pub status: TransactionStatus,
    pub yookassa_payment_id: Option<String>,
    pub yookassa_status: Option<String>,
    pub cancellation_reason: Option<String>,
    pub description: Option<String>,
    pub description_ru: Option<String>,
    pub receipt_url: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}
