//! [`tariff_core::gateway::PaymentGateway`] for YooKassa: maps the core's requests onto the API's
//! bodies (ref §3.1, §4.1) and its answers back, with amounts as two-decimal strings.

use crate::client::{Client, YooKassaError};
use crate::{
    Amount, Confirmation, CreatePayment, CreateRefund, Payment, Receipt, ReceiptCustomer, ReceiptItem, Refund,
};
use async_trait::async_trait;
use tariff_core::gateway::{self as core, GatewayError, PaymentGateway, PaymentState, RefundState};

impl From<YooKassaError> for GatewayError {
    fn from(e: YooKassaError) -> GatewayError {
        match e {
            YooKassaError::Api { status, error } => GatewayError::Refused {
                status,
                detail: error.description.clone().unwrap_or_default(),
                code: error.code,
            },
            YooKassaError::Unavailable { attempts, last } => {
                GatewayError::Unavailable(format!("{attempts} attempts, last: {last}"))
            }
            YooKassaError::Decode(message) => GatewayError::Decode(message),
        }
    }
}

fn payment_state(status: &str) -> Result<PaymentState, GatewayError> {
    match status {
        "pending" => Ok(PaymentState::Pending),
        "waiting_for_capture" => Ok(PaymentState::WaitingForCapture),
        "succeeded" => Ok(PaymentState::Succeeded),
        "canceled" => Ok(PaymentState::Canceled),
        other => Err(GatewayError::Decode(format!("unknown payment status {other:?}"))),
    }
}

fn refund_state(status: &str) -> Result<RefundState, GatewayError> {
    match status {
        "pending" => Ok(RefundState::Pending),
        "succeeded" => Ok(RefundState::Succeeded),
        "canceled" => Ok(RefundState::Canceled),
        other => Err(GatewayError::Decode(format!("unknown refund status {other:?}"))),
    }
}

fn minor(amount: &Amount) -> Result<i64, GatewayError> {
    amount.minor().map_err(|e| GatewayError::Decode(format!("amount {:?}: {e}", amount.value)))
}

/// A YooKassa payment as the core sees it.
fn to_core_payment(payment: Payment) -> Result<core::Payment, GatewayError> {
    Ok(core::Payment {
        state: payment_state(&payment.status)?,
        amount_minor: minor(&payment.amount)?,
        currency: payment.amount.currency.clone(),
        confirmation_url: payment.confirmation.and_then(|c| c.confirmation_url),
        payment_method: payment.payment_method.map(|m| core::PaymentMethodRef { id: m.id, saved: m.saved }),
        cancellation_reason: payment.cancellation_details.map(|d| d.reason),
        test: payment.test,
        id: payment.id,
    })
}

/// The body of `POST /payments` for a core payment request: captured at once.
fn create_payment_body(request: &core::PaymentRequest) -> CreatePayment {
    let amount = Amount::from_minor(request.amount_minor, request.currency.code());
    CreatePayment {
        amount: Some(amount),
        description: Some(request.description.chars().take(128).collect()),
        capture: true,
        confirmation: request.return_url.as_ref().map(|url| Confirmation {
            kind: "redirect".into(),
            confirmation_url: None,
            return_url: Some(url.clone()),
        }),
        save_payment_method: request.save_payment_method,
        payment_method_id: request.payment_method_id.clone(),
        metadata: request.metadata.clone(),
        receipt: request.receipt.as_ref().map(|r| Receipt {
            customer: ReceiptCustomer { email: Some(r.customer_email.clone()) },
            items: r
                .lines
                .iter()
                .map(|line| ReceiptItem {
                    description: line.description.chars().take(128).collect(),
                    quantity: "1.00".into(),
                    amount: Amount::from_minor(line.amount_minor, request.currency.code()),
                    vat_code: line.vat_code,
                    payment_subject: Some("service".into()),
                    payment_mode: Some("full_payment".into()),
                })
                .collect(),
        }),
    }
}

fn to_core_refund(refund: Refund) -> Result<core::Refund, GatewayError> {
    Ok(core::Refund {
        state: refund_state(&refund.status)?,
        amount_minor: minor(&refund.amount)?,
        payment_id: refund.payment_id,
        id: refund.id,
    })
}

#[async_trait]
impl PaymentGateway for Client {
    async fn create_payment(
        &self,
        request: &core::PaymentRequest,
        idempotence_key: &str,
    ) -> Result<core::Payment, GatewayError> {
        to_core_payment(Client::create_payment(self, &create_payment_body(request), idempotence_key).await?)
    }

    async fn get_payment(&self, payment_id: &str) -> Result<core::Payment, GatewayError> {
        to_core_payment(Client::get_payment(self, payment_id).await?)
    }

    async fn capture_payment(&self, payment_id: &str, idempotence_key: &str) -> Result<core::Payment, GatewayError> {
        to_core_payment(Client::capture_payment(self, payment_id, None, idempotence_key).await?)
    }

    async fn create_refund(
        &self,
        request: &core::RefundRequest,
        idempotence_key: &str,
    ) -> Result<core::Refund, GatewayError> {
        let body = CreateRefund {
            payment_id: request.payment_id.clone(),
            amount: Some(Amount::from_minor(request.amount_minor, request.currency.code())),
            description: Some(request.description.clone()),
            metadata: request.metadata.clone(),
        };
        to_core_refund(Client::create_refund(self, &body, idempotence_key).await?)
    }

    async fn get_refund(&self, refund_id: &str) -> Result<core::Refund, GatewayError> {
        to_core_refund(Client::get_refund(self, refund_id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use tariff_model::Currency;

    #[test]
    fn requests_map_to_yookassa_bodies() {
        let request = core::PaymentRequest {
            amount_minor: 99_000,
            currency: Currency::Rub,
            description: "Pro plan, 1 month".into(),
            return_url: Some("https://example.com/back".into()),
            payment_method_id: None,
            save_payment_method: true,
            metadata: BTreeMap::from([("transaction_id".into(), "t1".into())]),
            receipt: None,
        };
        let body = serde_json::to_value(create_payment_body(&request)).unwrap();
        assert_eq!(body["amount"], serde_json::json!({"value": "990.00", "currency": "RUB"}));
        assert_eq!(body["capture"], true);
        assert_eq!(body["confirmation"]["type"], "redirect");
        assert_eq!(body["save_payment_method"], true);
    }
}
