//! `/admin/webhooks` (issue 16 §4): the endpoints that receive Tariff's events, whether each is
//! healthy (or why it was disabled), its newest deliveries with status, attempts, response code,
//! latency and payload, "send a test event" and "redeliver"; a form to register an endpoint, whose
//! signing secret is shown once.

use super::admin_page;
use crate::actions::admin::{AdminWebhooks, SaveWebhook, WebhookAction, WebhookEndpointView, get_admin_webhooks};
use crate::ui::format;
use crate::ui::i18n::{Locale, t, use_locale};
use crate::ui::widgets::{action_message, page_title};
use leptos::prelude::*;
use tariff_model::{EventType, WebhookDelivery, WebhookEndpoint};

#[component]
pub fn AdminWebhooksPage() -> impl IntoView {
    let locale = use_locale();
    let save = ServerAction::<SaveWebhook>::new();
    let act = ServerAction::<WebhookAction>::new();
    let data = Resource::new(move || (save.version().get(), act.version().get()), |_| get_admin_webhooks());
    view! {
        {page_title(move || t(locale.get(), "Webhooks", "Вебхуки").to_owned())}
        {admin_page(data, move |page, locale| webhooks_view(page, locale, save, act))}
    }
}

fn webhooks_view(
    page: AdminWebhooks,
    locale: Locale,
    save: ServerAction<SaveWebhook>,
    act: ServerAction<WebhookAction>,
) -> impl IntoView {
    let AdminWebhooks { endpoints, fresh } = page;
    // The secret of an endpoint just registered: the session's (kept for one render) after the
    // form post (the action's own answer only when a client calls the server function itself).
    let created_secret = move || {
        let answered = save.value().get().and_then(Result::ok).and_then(|e| e.secret.map(|secret| (e.url, secret)));
        answered.or_else(|| fresh.clone()).map(|(url, secret)| {
            view! {
                <section class="card notice" data-card="secret">
                    <h2>{t(locale, "Signing secret", "Секрет подписи")}</h2>
                    <p>{format!("{} {url}. {}", t(locale, "Endpoint registered:", "Адрес добавлен:"), t(locale, "Copy the secret now: it is not shown again.", "Скопируйте секрет сейчас: он больше не будет показан."))}</p>
                    <pre class="secret" data-secret="">{secret}</pre>
                </section>
            }
        })
    };
    let empty = endpoints.is_empty();
    let cards = endpoints.into_iter().map(|view| endpoint_card(view, locale, save, act)).collect_view();
    view! {
        <h1 class="page-title">{t(locale, "Webhooks", "Вебхуки")}</h1>
        <p class="lead">{t(locale,
            "Tariff posts each event to these endpoints, signed as Standard Webhooks says (webhook-id, webhook-timestamp, webhook-signature), in order per account, retrying failures with back-off for at least 24 hours.",
            "Tariff отправляет каждое событие на эти адреса с подписью Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature), по порядку для каждого счёта, повторяя неудачные попытки не меньше суток.")}</p>
        {action_message(save.value(), &["url", "event_types", "description"])}
        {action_message(act.value(), &[])}
        {created_secret}
        {empty.then(|| view! { <p class="empty" data-empty="webhooks">{t(locale, "No endpoints yet.", "Адресов пока нет.")}</p> })}
        {cards}
        <section class="card" data-card="new-webhook">
            <h2>{t(locale, "Add an endpoint", "Добавить адрес")}</h2>
            {endpoint_form(None, locale, save)}
        </section>
    }
}

fn endpoint_state(e: &WebhookEndpoint, locale: Locale) -> impl IntoView + use<> {
    let (class, label, key) = match (e.enabled, e.failing_since) {
        (false, _) if e.disabled_reason.is_some() => {
            ("badge badge-danger", t(locale, "disabled: failing", "выключен: ошибки"), "disabled")
        }
        (false, _) => ("badge badge-muted", t(locale, "disabled", "выключен"), "off"),
        (true, Some(_)) => ("badge badge-warn", t(locale, "failing", "ошибки"), "failing"),
        (true, None) => ("badge badge-ok", t(locale, "healthy", "работает"), "ok"),
    };
    view! { <span class=class data-state=key>{label}</span> }
}

fn delivery_badge(d: &WebhookDelivery, locale: Locale) -> impl IntoView + use<> {
    let (class, label) = match d.status.as_str() {
        "delivered" => ("badge badge-ok", t(locale, "delivered", "доставлено")),
        "failed" => ("badge badge-danger", t(locale, "failed", "не доставлено")),
        _ if d.attempts > 0 => ("badge badge-warn", t(locale, "retrying", "повтор")),
        _ => ("badge badge-info", t(locale, "queued", "в очереди")),
    };
    view! { <span class=class data-status=d.status.clone()>{label}</span> }
}

fn endpoint_card(
    view: WebhookEndpointView,
    locale: Locale,
    save: ServerAction<SaveWebhook>,
    act: ServerAction<WebhookAction>,
) -> impl IntoView {
    let e = view.endpoint;
    let id = e.id.clone();
    let types = e.event_types.join(", ");
    let rows = view
        .deliveries
        .iter()
        .map(|d| {
            let code = d.last_status_code.map_or_else(|| d.last_error.clone().unwrap_or_else(|| "—".into()), |c| c.to_string());
            let latency = d.last_latency_ms.map_or("—".to_owned(), |ms| format!("{} ms", format::number(ms, locale)));
            let payload = serde_json::to_string_pretty(&d.payload).unwrap_or_default();
            let (endpoint_id, delivery_id) = (id.clone(), d.id.clone());
            view! {
                <tr data-delivery=d.id.clone()>
                    <td data-label=t(locale, "Event", "Событие")><code>{d.event_type.clone()}</code></td>
                    <td data-label=t(locale, "Status", "Статус")>{delivery_badge(d, locale)}</td>
                    <td data-label=t(locale, "Attempts", "Попытки") class="num">{d.attempts}</td>
                    <td data-label=t(locale, "Answer", "Ответ")>{code}</td>
                    <td data-label=t(locale, "Latency", "Время") class="num">{latency}</td>
                    <td data-label=t(locale, "Created", "Создано")>{format::date_time(d.created_at, locale)}</td>
                    <td>
                        <details class="compact"><summary>{t(locale, "Payload", "Данные")}</summary><pre class="payload">{payload}</pre></details>
                        <ActionForm action=act attr:class="row-form" attr:data-form="redeliver">
                            <input type="hidden" name="endpoint_id" value=endpoint_id/>
                            <input type="hidden" name="action" value="redeliver"/>
                            <input type="hidden" name="delivery_id" value=delivery_id/>
                            <button type="submit" class="button small">{t(locale, "Redeliver", "Отправить снова")}</button>
                        </ActionForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let no_deliveries = view.deliveries.is_empty();
    let reason = e.disabled_reason.clone();
    let editor = endpoint_form(Some(e.clone()), locale, save);
    let (test_id, delete_id) = (id.clone(), id.clone());
    view! {
        <section class="card" data-endpoint=id>
            <div class="card-head">
                <h2><code>{e.url.clone()}</code></h2>
                {endpoint_state(&e, locale)}
            </div>
            <p class="muted">{if e.description.is_empty() { String::new() } else { format!("{} · ", e.description) }}{t(locale, "Events: ", "События: ")}<code>{types}</code></p>
            {reason.map(|r| view! { <p class="field-error" data-reason="">{r}</p> })}
            <div class="row-actions">
                <ActionForm action=act attr:class="row-form" attr:data-form="send-test">
                    <input type="hidden" name="endpoint_id" value=test_id/>
                    <input type="hidden" name="action" value="test"/>
                    <button type="submit" class="button small primary">{t(locale, "Send a test event", "Отправить тестовое событие")}</button>
                </ActionForm>
                <details class="confirm compact"><summary>{t(locale, "Edit", "Изменить")}</summary>{editor}</details>
                <details class="confirm danger-zone compact">
                    <summary>{t(locale, "Delete", "Удалить")}</summary>
                    <ActionForm action=act attr:class="row-form" attr:data-form="delete-webhook">
                        <input type="hidden" name="endpoint_id" value=delete_id/>
                        <input type="hidden" name="action" value="delete"/>
                        <button type="submit" class="button small danger">{t(locale, "Delete the endpoint and its deliveries", "Удалить адрес и его доставки")}</button>
                    </ActionForm>
                </details>
            </div>
            <h3>{t(locale, "Recent deliveries", "Последние доставки")}</h3>
            {if no_deliveries {
                view! { <p class="empty">{t(locale, "Nothing sent yet.", "Пока ничего не отправлено.")}</p> }.into_any()
            } else {
                view! {
                    <table class="table stack" data-table="deliveries">
                        <thead><tr>
                            <th scope="col">{t(locale, "Event", "Событие")}</th>
                            <th scope="col">{t(locale, "Status", "Статус")}</th>
                            <th scope="col" class="num">{t(locale, "Attempts", "Попытки")}</th>
                            <th scope="col">{t(locale, "Answer", "Ответ")}</th>
                            <th scope="col" class="num">{t(locale, "Latency", "Время")}</th>
                            <th scope="col">{t(locale, "Created", "Создано")}</th>
                            <th scope="col"></th>
                        </tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

/// The editor of `endpoint`, or the form for a new one.
fn endpoint_form(endpoint: Option<WebhookEndpoint>, locale: Locale, save: ServerAction<SaveWebhook>) -> impl IntoView {
    let id = endpoint.as_ref().map(|e| e.id.clone()).unwrap_or_default();
    let prefix = if id.is_empty() { "new".to_owned() } else { id.clone() };
    let field_id = move |field: &str| format!("webhook-{prefix}-{field}");
    let url = endpoint.as_ref().map(|e| e.url.clone()).unwrap_or_default();
    let description = endpoint.as_ref().map(|e| e.description.clone()).unwrap_or_default();
    let types = endpoint.as_ref().map_or_else(|| "*".to_owned(), |e| e.event_types.join(", "));
    let enabled = endpoint.as_ref().is_none_or(|e| e.enabled);
    let (url_id, description_id, types_id) = (field_id("url"), field_id("description"), field_id("event_types"));
    let known = EventType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ");
    let form_name = if endpoint.is_none() { "webhook-new" } else { "webhook-edit" };
    view! {
        <ActionForm action=save attr:class="form" attr:data-form=form_name>
            <input type="hidden" name="id" value=id/>
            <label for=url_id.clone()>{t(locale, "URL", "Адрес")}</label>
            <input id=url_id name="fields[url]" type="url" value=url required placeholder="https://example.com/hooks/tariff"/>
            <label for=description_id.clone()>{t(locale, "Description", "Описание")}</label>
            <input id=description_id name="fields[description]" value=description/>
            <label for=types_id.clone()>{t(locale, "Event types (comma-separated, or * for all)", "Типы событий (через запятую, или * для всех)")}</label>
            <input id=types_id name="fields[event_types]" value=types required/>
            <p class="hint">{known}</p>
            <label class="check"><input type="checkbox" name="fields[enabled]" value="on" checked=enabled/> {t(locale, "Enabled", "Включён")}</label>
            <button type="submit" class="button primary">{if endpoint.is_none() { t(locale, "Add endpoint", "Добавить") } else { t(locale, "Save", "Сохранить") }}</button>
        </ActionForm>
    }
}
