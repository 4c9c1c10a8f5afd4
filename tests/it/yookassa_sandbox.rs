//! The YooKassa client against the built-in sandbox over real HTTP: idempotence, errors, retries,
//! the hosted test-card page, notifications, capture, cancel and refunds.

use crate::common::{Backend, TestApp, spawn_app_with};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tariff_yookassa::{Amount, Client, ClientConfig, Confirmation, CreatePayment, CreateRefund, YooKassaError};

const SECRET: &str = crate::common::SANDBOX_SECRET;

async fn app() -> TestApp {
    spawn_app_with(Backend::Sqlite, &[("YOOKASSA_SECRET_KEY", SECRET)]).await
}

/// A listener that records the notifications the sandbox sends.
async fn webhook_listener(app: &TestApp) -> Arc<Mutex<Vec<Value>>> {
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = received.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    app.state.sandbox.as_ref().unwrap().set_webhook_url(&url);
    received
}

async fn wait_for(received: &Arc<Mutex<Vec<Value>>>, count: usize) -> Vec<Value> {
    for _ in 0..100 {
        if received.lock().unwrap().len() >= count {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    received.lock().unwrap().clone()
}

fn payment_request(value: &str, capture: bool) -> CreatePayment {
    CreatePayment {
        amount: Some(Amount { value: value.into(), currency: "RUB".into() }),
        description: Some("Pro, 1 month".into()),
        capture,
        confirmation: Some(Confirmation {
            kind: "redirect".into(),
            confirmation_url: None,
            return_url: Some("https://shop.example/return".into()),
        }),
        metadata: BTreeMap::from([("transaction_id".to_owned(), "t-1".to_owned())]),
        ..Default::default()
    }
}

fn client(app: &TestApp) -> Client {
    app.yookassa()
}

/// Pays on the hosted page with `card`; returns the response status and redirect target.
async fn pay(app: &TestApp, confirmation_url: &str, card: &str) -> (u16, Option<String>) {
    let response = app
        .client
        .post(confirmation_url)
        .form(&[("card_number", card), ("expiry", "12/30"), ("csc", "123")])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.headers().get("location").map(|v| v.to_str().unwrap().to_owned()))
}

#[tokio::test]
async fn payments_are_created_idempotently_and_errors_are_typed() {
    let app = app().await;
    let yk = client(&app);
    let request = payment_request("990.00", true);
    let payment = yk.create_payment(&request, "key-1").await.unwrap();
    assert_eq!(payment.status, "pending");
    assert_eq!(payment.amount.value, "990.00");
    assert!(payment.test);
    assert_eq!(payment.metadata["transaction_id"], "t-1");
    let url = payment.confirmation.as_ref().unwrap().confirmation_url.clone().unwrap();
    assert_eq!(url, format!("{}/sandbox/yookassa/checkout/{}", app.base, payment.id));
    assert_eq!(yk.get_payment(&payment.id).await.unwrap(), payment);

    // Same key and body: the original answer. Same key, other body: 400 on Idempotence-Key.
    assert_eq!(yk.create_payment(&request, "key-1").await.unwrap().id, payment.id);
    let other = yk.create_payment(&payment_request("1.00", true), "key-1").await.unwrap_err();
    let YooKassaError::Api { status, error } = &other else { panic!("{other:?}") };
    assert_eq!(
        (*status, error.code.as_str(), error.parameter.as_deref()),
        (400, "invalid_request", Some("Idempotence-Key"))
    );

    // Validation, unknown ids, wrong credentials.
    let bad = yk.create_payment(&payment_request("990.5", true), "key-2").await.unwrap_err();
    assert_eq!(bad.code(), Some("invalid_request"));
    let missing = yk.get_payment("00000000-0000-0000-0000-000000000000").await.unwrap_err();
    assert!(matches!(missing, YooKassaError::Api { status: 404, .. }));
    assert_eq!(missing.code(), Some("not_found"));
    let intruder = Client::new(ClientConfig::new(yk.base_url(), "sandbox-shop", "wrong".to_owned().into())).unwrap();
    let denied = intruder.get_payment(&payment.id).await.unwrap_err();
    assert!(matches!(denied, YooKassaError::Api { status: 401, .. }));
    assert_eq!(denied.code(), Some("invalid_credentials"));
    app.stop().await;
}

#[tokio::test]
async fn a_500_is_retried_with_the_same_key_and_one_payment_exists() {
    let app = app().await;
    let yk = client(&app);
    let control = format!("{}/sandbox/yookassa/control/faults", app.base);
    let queued = app
        .client
        .post(&control)
        .basic_auth("sandbox-shop", Some(SECRET))
        .json(&serde_json::json!({"kind": "error_500"}))
        .send()
        .await
        .unwrap();
    assert_eq!(queued.status(), 200);
    let payment = yk.create_payment(&payment_request("990.00", true), "retry-key").await.unwrap();
    let list: Value = app
        .client
        .get(format!("{}/sandbox/yookassa/v3/payments", app.base))
        .basic_auth("sandbox-shop", Some(SECRET))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "the retry reused the idempotence key");
    assert_eq!(items[0]["id"], payment.id.as_str());

    // When YooKassa keeps failing, the client gives up with Unavailable after its attempts.
    app.client
        .post(&control)
        .basic_auth("sandbox-shop", Some(SECRET))
        .json(&serde_json::json!({"kind": "error_500", "count": 10}))
        .send()
        .await
        .unwrap();
    let err = yk.get_payment(&payment.id).await.unwrap_err();
    assert!(matches!(err, YooKassaError::Unavailable { attempts: 4, .. }), "{err:?}");
    app.stop().await;
}

#[tokio::test]
async fn the_hosted_page_settles_payments_with_test_cards_and_notifies() {
    let app = app().await;
    let yk = client(&app);
    let received = webhook_listener(&app).await;

    let payment = yk.create_payment(&payment_request("990.00", true), "page-1").await.unwrap();
    let url = payment.confirmation.unwrap().confirmation_url.unwrap();
    let page = app.client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Test mode — no real money moves"));
    assert!(page.contains("990.00 RUB"));
    assert!(page.contains("5555555555554444"), "test cards are listed");

    let (status, _) = pay(&app, &url, "1234 5678").await;
    assert_eq!(status, 422, "unknown cards are refused on the page");
    assert_eq!(yk.get_payment(&payment.id).await.unwrap().status, "pending");

    let (status, location) = pay(&app, &url, "5555 5555 5555 4444").await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some("https://shop.example/return"));
    let paid = yk.get_payment(&payment.id).await.unwrap();
    assert_eq!(paid.status, "succeeded");
    assert!(paid.paid && paid.refundable);
    assert_eq!(paid.payment_method.as_ref().unwrap().card.as_ref().unwrap().last4, "4444");
    assert_eq!(pay(&app, &url, "5555555555554444").await.0, 422, "a settled payment cannot be paid twice");

    let declined = yk.create_payment(&payment_request("990.00", true), "page-2").await.unwrap();
    let (status, _) = pay(&app, &declined.confirmation.unwrap().confirmation_url.unwrap(), "5555555555554600").await;
    assert_eq!(status, 303);
    let declined = yk.get_payment(&declined.id).await.unwrap();
    assert_eq!(declined.status, "canceled");
    let details = declined.cancellation_details.unwrap();
    assert_eq!((details.party.as_str(), details.reason.as_str()), ("payment_network", "insufficient_funds"));

    let notes = wait_for(&received, 2).await;
    let events: Vec<(&str, &str)> =
        notes.iter().map(|n| (n["event"].as_str().unwrap(), n["object"]["id"].as_str().unwrap())).collect();
    assert!(events.contains(&("payment.succeeded", paid.id.as_str())), "{events:?}");
    assert!(events.contains(&("payment.canceled", declined.id.as_str())), "{events:?}");
    assert!(notes.iter().all(|n| n["type"] == "notification"));
    app.stop().await;
}

#[tokio::test]
async fn capture_cancel_refund_and_autopayments() {
    let app = app().await;
    let yk = client(&app);

    // Two-stage: paid → waiting_for_capture → captured.
    let held = yk.create_payment(&payment_request("500.00", false), "hold-1").await.unwrap();
    pay(&app, held.confirmation.as_ref().unwrap().confirmation_url.as_ref().unwrap(), "4111111111111111").await;
    assert_eq!(yk.get_payment(&held.id).await.unwrap().status, "waiting_for_capture");
    let captured = yk.capture_payment(&held.id, None, "capture-1").await.unwrap();
    assert_eq!(captured.status, "succeeded");
    assert_eq!(yk.capture_payment(&held.id, None, "capture-2").await.unwrap_err().code(), Some("invalid_request"));

    let held2 = yk.create_payment(&payment_request("500.00", false), "hold-2").await.unwrap();
    pay(&app, held2.confirmation.as_ref().unwrap().confirmation_url.as_ref().unwrap(), "4111111111111111").await;
    let canceled = yk.cancel_payment(&held2.id, "cancel-1").await.unwrap();
    assert_eq!(canceled.status, "canceled");
    assert_eq!(canceled.cancellation_details.unwrap().reason, "canceled_by_merchant");

    // Refunds: partial, then the rest, then nothing more.
    let refund = |value: &str| CreateRefund {
        payment_id: captured.id.clone(),
        amount: Some(Amount { value: value.into(), currency: "RUB".into() }),
        ..Default::default()
    };
    let first = yk.create_refund(&refund("200.00"), "refund-1").await.unwrap();
    assert_eq!((first.status.as_str(), first.amount.value.as_str()), ("succeeded", "200.00"));
    assert_eq!(yk.get_refund(&first.id).await.unwrap(), first);
    assert_eq!(yk.get_payment(&captured.id).await.unwrap().refunded_amount.unwrap().value, "200.00");
    yk.create_refund(&refund("300.00"), "refund-2").await.unwrap();
    let too_much = yk.create_refund(&refund("0.01"), "refund-3").await.unwrap_err();
    let YooKassaError::Api { error, .. } = &too_much else { panic!("{too_much:?}") };
    assert_eq!(error.parameter.as_deref(), Some("amount"));

    // A saved card pays later without the payer.
    let mut first_payment = payment_request("990.00", true);
    first_payment.save_payment_method = true;
    let saving = yk.create_payment(&first_payment, "save-1").await.unwrap();
    pay(&app, saving.confirmation.as_ref().unwrap().confirmation_url.as_ref().unwrap(), "5555555555554444").await;
    let method = yk.get_payment(&saving.id).await.unwrap().payment_method.unwrap();
    assert!(method.saved);
    let renewal = CreatePayment {
        amount: Some(Amount { value: "990.00".into(), currency: "RUB".into() }),
        capture: true,
        payment_method_id: Some(method.id.clone()),
        ..Default::default()
    };
    assert_eq!(yk.create_payment(&renewal, "renew-1").await.unwrap().status, "succeeded");
    app.stop().await;
}
