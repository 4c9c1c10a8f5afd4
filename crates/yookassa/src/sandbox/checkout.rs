//! The sandbox's hosted confirmation page (`confirmation_url`): looks like a payment page, says
//! plainly that no real money moves, lists the test cards, and settles the payment with the card
//! the payer enters, then redirects to `return_url`. Plain HTML forms: works without JavaScript.

use super::{Sandbox, cards};
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

const STYLE: &str = r#"
:root { --bg:#f4f5f7; --surface:#fff; --border:#dfe2e7; --text:#1a1d23; --muted:#5b6270; --accent:#4338ca; --warn:#8a4b00; --warn-soft:#fff1d6; --danger:#b42318; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--text); font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif; }
.banner { background:var(--warn-soft); color:var(--warn); padding:10px 16px; text-align:center; font-weight:600; border-bottom:1px solid #f0d9a8; }
main { max-width:460px; margin:32px auto; padding:0 16px; }
.card { background:var(--surface); border:1px solid var(--border); border-radius:12px; padding:24px; }
.amount { font-size:32px; font-weight:700; margin:4px 0 0; }
.muted { color:var(--muted); font-size:14px; }
label { display:block; font-size:14px; font-weight:600; margin:16px 0 4px; }
input { width:100%; padding:10px 12px; font-size:16px; border:1px solid var(--border); border-radius:8px; }
input:focus-visible, button:focus-visible { outline:3px solid var(--accent); outline-offset:2px; }
.row { display:flex; gap:12px; } .row > div { flex:1; }
button { width:100%; margin-top:20px; padding:12px; font-size:16px; font-weight:600; color:#fff; background:var(--accent); border:0; border-radius:8px; cursor:pointer; }
.error { color:var(--danger); background:#fdecea; border-radius:8px; padding:8px 12px; margin-top:12px; }
details { margin-top:20px; } table { width:100%; border-collapse:collapse; font-size:13px; } td { padding:3px 4px; border-bottom:1px solid var(--border); font-variant-numeric:tabular-nums; }
"#;

fn page_html(sandbox: &Sandbox, payment_id: &str, error: Option<&str>) -> Option<String> {
    let ledger = sandbox.ledger();
    let entry = ledger.payments.get(payment_id)?;
    let p = &entry.payment;
    let amount = format!("{} {}", escape(&p.amount.value), escape(&p.amount.currency));
    let description = escape(p.description.as_deref().unwrap_or(""));
    let shop = escape(&sandbox.shop_id);
    let body = if p.status == "pending" {
        let error = error.map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, escape(e))).unwrap_or_default();
        format!(
            r#"<form method="post">
  <label for="card_number">Card number</label>
  <input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number" placeholder="5555 5555 5555 4444" required>
  <div class="row">
    <div><label for="expiry">Expiry (MM/YY)</label><input id="expiry" name="expiry" placeholder="12/30" required></div>
    <div><label for="csc">CVC</label><input id="csc" name="csc" inputmode="numeric" placeholder="123" required></div>
  </div>
  {error}
  <button type="submit">Pay {amount}</button>
</form>"#
        )
    } else {
        let back = p.confirmation.as_ref().and_then(|c| c.return_url.as_deref()).unwrap_or("/");
        format!(
            r#"<p>This payment is already <strong>{}</strong>.</p><p><a href="{}">Return to the shop</a></p>"#,
            escape(&p.status),
            escape(back)
        )
    };
    let success_rows: String = cards::SUCCESS_CARDS
        .iter()
        .map(|(n, scheme, tds)| {
            format!(
                "<tr><td>{n}</td><td>{scheme}</td><td>succeeds{}</td></tr>",
                if *tds { " (3-D Secure)" } else { "" }
            )
        })
        .collect();
    let decline_rows: String = cards::DECLINE_CARDS
        .iter()
        .map(|(numbers, party, reason)| {
            format!("<tr><td>{}</td><td>declined: {reason} ({party})</td></tr>", numbers.join("<br>"))
        })
        .collect();
    Some(format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pay {amount} · YooKassa sandbox</title><link rel="icon" type="image/svg+xml" href="/favicon.svg"><style>{STYLE}</style></head>
<body><div class="banner" role="note">Test mode — no real money moves · Тестовый режим — деньги не списываются</div>
<main><div class="card">
<p class="muted">YooKassa sandbox · shop {shop}</p>
<p class="amount">{amount}</p><p class="muted">{description}</p>
{body}
<details open><summary>Test cards (any future expiry date and any CVC)</summary>
<table><tbody>{success_rows}</tbody></table><table><tbody>{decline_rows}</tbody></table></details>
</div></main></body></html>"#
    ))
}

/// `GET /sandbox/yookassa/checkout/{payment_id}`.
pub async fn page(State(sandbox): State<Arc<Sandbox>>, Path(id): Path<String>) -> Response {
    match page_html(&sandbox, &id, None) {
        Some(html) => Html(html).into_response(),
        None => (StatusCode::NOT_FOUND, Html("<h1>Payment not found</h1>".to_owned())).into_response(),
    }
}

#[derive(Deserialize)]
pub struct CardForm {
    card_number: String,
    #[serde(default)]
    expiry: String,
    #[serde(default)]
    #[allow(dead_code)]
    csc: String,
}

/// `POST /sandbox/yookassa/checkout/{payment_id}`: pay with the card, then go back to the shop.
pub async fn submit(
    State(sandbox): State<Arc<Sandbox>>,
    Path(id): Path<String>,
    Form(form): Form<CardForm>,
) -> Response {
    match sandbox.pay_with_card(&id, &form.card_number, &form.expiry) {
        Ok(payment) => {
            let back = payment.confirmation.and_then(|c| c.return_url).unwrap_or_else(|| "/".to_owned());
            Redirect::to(&back).into_response()
        }
        Err(message) => match page_html(&sandbox, &id, Some(&message)) {
            Some(html) => (StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response(),
            None => (StatusCode::NOT_FOUND, Html("<h1>Payment not found</h1>".to_owned())).into_response(),
        },
    }
}
