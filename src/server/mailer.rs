//! Customer emails (issue 16 §5), on when `SMTP_URL` is set: the mailer takes each event whose
//! email is pending in the outbox, writes it in the recipient's language (plain text and simple
//! HTML) and sends it with lettre. An email exists only for a change that committed, because it
//! is a column of the event written in the change's transaction; a try is leased in the database
//! first, so replicas never send the same try twice. Failed tries are retried with back-off
//! (`tariff_core::events::email::finish`).
//!
//! Emails: payment receipt, payment failed (with the reason and a link to pay), trial ending,
//! yearly renewal reminder, usage at 80 % and 100 %, invitation to an organisation. Users turn
//! kinds off on `/settings/notifications`.

use super::state::AppState;
use crate::ui::format;
use crate::ui::i18n::{Locale, t};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;
use tariff_core::events::email::{self, ClaimedEmail, Recipient, Sent};
use tariff_model::{Currency, Event, EventType, Metric};

/// How often due retries are looked for when nothing wakes the mailer.
pub const POLL_EVERY: Duration = Duration::from_secs(2);
/// How long one try may take (connection and conversation).
const SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// One email, ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Starts the mailer when `SMTP_URL` is set (and turns pending emails on in the store); `None`
/// otherwise. Abort the handle to stop it.
///
/// # Errors
/// A message when `SMTP_URL` or `SMTP_FROM` cannot be used.
pub fn spawn(state: AppState) -> Result<Option<tokio::task::JoinHandle<()>>, String> {
    let Some(url) = state.config.smtp_url.clone() else { return Ok(None) };
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
        .map_err(|e| format!("SMTP_URL cannot be used: {e}"))?
        .timeout(Some(SEND_TIMEOUT))
        .build();
    let from: Mailbox = state
        .config
        .smtp_from
        .parse()
        .map_err(|e| format!("SMTP_FROM {:?} is not an address: {e}", state.config.smtp_from))?;
    state.billing.store.set_emails(true);
    Ok(Some(tokio::spawn(async move {
        let wake = state.billing.store.mail_notify();
        loop {
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(POLL_EVERY) => {}
            }
            if let Err(e) = tick(&state, &transport, &from).await {
                tracing::warn!(target: tariff_core::LOG_TARGET, error = %e, "mailer: reading due emails failed; retrying");
            }
        }
    })))
}

async fn tick(
    state: &AppState,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
) -> tariff_core::Result<()> {
    let store = &state.billing.store;
    let now = state.now();
    for id in email::due(store, now, 20).await? {
        let Some(claimed) = email::claim(store, &id, now, SEND_TIMEOUT.as_secs() as i64 + 30).await? else { continue };
        let outcome = send(state, transport, from, &claimed).await;
        let label = match &outcome {
            Sent::Sent => "sent",
            Sent::Skipped(_) => "skipped",
            Sent::Failed(why) => {
                tracing::info!(target: tariff_core::LOG_TARGET, event_id = %claimed.event.id, attempt = claimed.attempt,
                    error = %why, "an email could not be sent; it is tried again later");
                "failed"
            }
        };
        metrics::counter!("tariff_emails_total", "outcome" => label).increment(1);
        email::finish(store, &claimed, &outcome, state.now()).await?;
    }
    Ok(())
}

async fn send(
    state: &AppState,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
    claimed: &ClaimedEmail,
) -> Sent {
    let recipient = match email::recipient(&state.billing.store, &claimed.event).await {
        Ok(Ok(recipient)) => recipient,
        Ok(Err(why)) => return Sent::Skipped(why.to_owned()),
        Err(e) => return Sent::Failed(e.to_string()),
    };
    let Some(composed) = compose(&claimed.event, &recipient, &state.config.base_url()) else {
        return Sent::Skipped("no email for this event".into());
    };
    let to: Mailbox = match recipient.email.parse() {
        Ok(to) => to,
        Err(_) => return Sent::Skipped("the address cannot be used".into()),
    };
    let message = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(composed.subject)
        .multipart(MultiPart::alternative_plain_html(composed.text, composed.html));
    let message = match message {
        Ok(message) => message,
        Err(e) => return Sent::Failed(format!("the message could not be built: {e}")),
    };
    match transport.send(message).await {
        Ok(_) => Sent::Sent,
        Err(e) => Sent::Failed(e.to_string()),
    }
}

fn amount_of(data: &serde_json::Value, locale: Locale) -> String {
    let minor = data["amount"].as_i64().unwrap_or_default();
    let currency = data["currency"].as_str().and_then(|c| c.parse::<Currency>().ok()).unwrap_or(Currency::Rub);
    format::money(minor, currency, locale)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The email of `event` for `to`, in their language: a subject, paragraphs and a link. `None`
/// for an event type without an email.
pub fn compose(event: &Event, to: &Recipient, base_url: &str) -> Option<Composed> {
    let l = to.locale;
    let data = &event.data;
    let plan_name = || {
        let plan = &data["plan"];
        match l {
            Locale::Ru => plan["name_ru"].as_str().or(plan["name"].as_str()),
            Locale::En => plan["name"].as_str(),
        }
        .unwrap_or_default()
        .to_owned()
    };
    let billing = format!("{base_url}/billing");
    let (subject, paragraphs, link): (String, Vec<String>, (String, &str)) = match event.event_type {
        EventType::PaymentSucceeded => {
            let amount = amount_of(data, l);
            let what = data["description"].as_str().unwrap_or_default();
            (
                format!("{} {amount}", t(l, "Receipt: paid", "Чек: оплачено")),
                vec![
                    format!(
                        "{} {amount}.",
                        t(l, "Thank you. We received your payment of", "Спасибо! Мы получили оплату")
                    ),
                    format!("{}: {what}", t(l, "For", "За")),
                    format!("{}: {}", t(l, "Date", "Дата"), format::date_time(event.created_at, l)),
                    format!("{}: {}", t(l, "Payment", "Платёж"), data["id"].as_str().unwrap_or_default()),
                ],
                (format!("{base_url}/billing/transactions"), t(l, "Your payments", "Ваши платежи")),
            )
        }
        EventType::RefundSucceeded => {
            let amount = amount_of(data, l);
            (
                format!("{} {amount}", t(l, "Refund:", "Возврат:")),
                vec![format!(
                    "{} {amount}. {}",
                    t(l, "We refunded", "Мы вернули"),
                    t(l, "Your bank shows it within a few days.", "Банк отразит возврат в течение нескольких дней.")
                )],
                (format!("{base_url}/billing/transactions"), t(l, "Your payments", "Ваши платежи")),
            )
        }
        EventType::PaymentFailed => {
            let amount = amount_of(data, l);
            let reason = crate::ui::widgets::decline_reason(data["cancellation_reason"].as_str(), l);
            (
                format!("{} {amount}", t(l, "Payment declined:", "Платёж отклонён:")),
                vec![
                    format!("{} {amount}.", t(l, "We could not take your payment of", "Не удалось провести платёж на")),
                    reason.to_owned(),
                    t(
                        l,
                        "Pay again or use another card to keep your plan.",
                        "Оплатите снова или используйте другую карту, чтобы сохранить тариф.",
                    )
                    .to_owned(),
                ],
                (billing, t(l, "Pay now", "Оплатить")),
            )
        }
        EventType::TrialWillEnd => {
            let at = format::date(data["trial_end"].as_i64().unwrap_or(event.created_at), l);
            let sentence = format!(
                "{} {} {} {at}",
                t(l, "Your trial of", "Пробный период тарифа"),
                plan_name(),
                t(l, "ends on", "закончится")
            );
            (
                sentence.clone(),
                vec![format!(
                    "{sentence}. {}",
                    t(
                        l,
                        "With a saved card the plan continues; without one the account moves to the free plan.",
                        "С сохранённой картой тариф продолжится; без неё счёт перейдёт на бесплатный тариф."
                    )
                )],
                (format!("{base_url}/billing/plans"), t(l, "Add a card", "Добавить карту")),
            )
        }
        EventType::RenewalUpcoming => {
            let at = format::date(data["current_period_end"].as_i64().unwrap_or(event.created_at), l);
            let price = data["plan"]["price_minor"].as_i64().unwrap_or_default();
            let currency =
                data["plan"]["currency"].as_str().and_then(|c| c.parse::<Currency>().ok()).unwrap_or(Currency::Rub);
            let amount = format::money(price, currency, l);
            (
                format!("{} {} {at}", plan_name(), t(l, "renews on", "продлится")),
                vec![format!(
                    "{} {} {at}: {amount} {}",
                    t(l, "Your yearly plan", "Ваш годовой тариф"),
                    plan_name(),
                    t(l, "will be charged to your saved card.", "будет списано с сохранённой карты.")
                )],
                (billing, t(l, "Manage your plan", "Управление тарифом")),
            )
        }
        EventType::UsageThreshold => {
            let metric = data["metric"].as_str().and_then(|m| m.parse::<Metric>().ok())?;
            let threshold = data["threshold"].as_i64().unwrap_or_default();
            let limit = data["limit"].as_i64().unwrap_or_default();
            let quota = format::quota(metric, Some(limit), l);
            let advice = if threshold >= 100 {
                t(
                    l,
                    "Further usage is refused until the next period, an upgrade or, where the plan allows, a top-up.",
                    "Дальнейшее использование недоступно до следующего периода, смены тарифа или, если тариф позволяет, пополнения баланса.",
                )
            } else {
                t(l, "Consider upgrading before it runs out.", "Подумайте о смене тарифа, пока квота не закончилась.")
            };
            (
                format!("{} {threshold}% {} {}", t(l, "You have used", "Использовано"), t(l, "of", "из"), quota),
                vec![format!(
                    "{} {threshold}% {} {quota}. {advice}",
                    t(l, "You have used", "Использовано"),
                    t(l, "of your quota of", "квоты:")
                )],
                (format!("{base_url}/billing/usage"), t(l, "Your usage", "Ваше использование")),
            )
        }
        EventType::InvitationCreated => {
            let org = data["organization_name"].as_str().unwrap_or_default();
            let by = data["invited_by"].as_str().unwrap_or_default();
            (
                format!("{} {org}", t(l, "You are invited to join", "Вас приглашают в организацию")),
                vec![format!(
                    "{by} {} {org}. {}",
                    t(l, "invited you to", "приглашает вас в"),
                    t(
                        l,
                        "Sign in (or sign up with this address) to accept within 7 days.",
                        "Войдите (или зарегистрируйтесь с этим адресом), чтобы принять приглашение в течение 7 дней."
                    )
                )],
                (billing, t(l, "Open the invitation", "Открыть приглашение")),
            )
        }
        _ => return None,
    };
    let greeting = match (&to.name, l) {
        (Some(name), Locale::En) if !name.is_empty() => format!("Hello {name},"),
        (Some(name), Locale::Ru) if !name.is_empty() => format!("Здравствуйте, {name}!"),
        _ => t(l, "Hello,", "Здравствуйте!").to_owned(),
    };
    let mut text = format!("{greeting}\n\n");
    for p in &paragraphs {
        text.push_str(p);
        text.push_str("\n\n");
    }
    text.push_str(&format!("{}: {}\n\n— Tariff\n", link.1, link.0));
    let mut html = format!("<p>{}</p>", escape(&greeting));
    for p in &paragraphs {
        html.push_str(&format!("<p>{}</p>", escape(p)));
    }
    html.push_str(&format!("<p><a href=\"{}\">{}</a></p><p>— Tariff</p>", escape(&link.0), escape(link.1)));
    Some(Composed { subject, text, html })
}
