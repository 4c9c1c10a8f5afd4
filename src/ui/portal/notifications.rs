//! `/settings/notifications` (issue 16 §6): which customer emails the viewer gets — receipts,
//! declined payments, trial ending, yearly renewal reminders, usage alerts, invitations. A plain
//! form of checkboxes that works without JavaScript.

use super::{PortalNav, loading};
use crate::actions::portal::{EmailSettings, SaveEmailSettings, get_email_settings};
use crate::ui::i18n::{Locale, t, use_locale};
use crate::ui::widgets::{ErrorPanel, action_message, page_title};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use tariff_model::events::EmailKind;

/// A kind of email in words: its name and what it says.
pub fn kind_label(kind: EmailKind, locale: Locale) -> (&'static str, &'static str) {
    match kind {
        EmailKind::Receipts => (
            t(locale, "Receipts", "Чеки"),
            t(locale, "A receipt for every payment and refund.", "Чек за каждый платёж и возврат."),
        ),
        EmailKind::PaymentFailed => (
            t(locale, "Declined payments", "Отклонённые платежи"),
            t(
                locale,
                "Why a payment failed and a link to pay again.",
                "Почему платёж не прошёл, и ссылка, чтобы оплатить снова.",
            ),
        ),
        EmailKind::Trial => (
            t(locale, "Trial ending", "Конец пробного периода"),
            t(locale, "Three days before a trial ends.", "За три дня до конца пробного периода."),
        ),
        EmailKind::Renewal => (
            t(locale, "Yearly renewals", "Продление годового тарифа"),
            t(locale, "A week before a yearly plan is charged again.", "За неделю до списания за годовой тариф."),
        ),
        EmailKind::Usage => (
            t(locale, "Usage alerts", "Предупреждения об использовании"),
            t(locale, "At 80 % and 100 % of a quota.", "При 80 % и 100 % квоты."),
        ),
        EmailKind::Invitations => (
            t(locale, "Invitations", "Приглашения"),
            t(locale, "Invitations to join an organisation.", "Приглашения в организации."),
        ),
    }
}

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let locale = use_locale();
    let save = ServerAction::<SaveEmailSettings>::new();
    let data = Resource::new(move || save.version().get(), |_| get_email_settings());
    // After a plain form post (no JavaScript) the page comes back with `?saved=1`.
    let query = use_query_map();
    let saved_by_post = Memo::new(move |_| query.with(|q| q.get("saved").as_deref() == Some("1")));
    view! {
        {page_title(move || t(locale.get(), "Email notifications", "Уведомления по почте").to_owned())}
        <PortalNav/>
        <h1 class="page-title">{move || t(locale.get(), "Email notifications", "Уведомления по почте")}</h1>
        {action_message(save.value(), &[])}
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                let locale = locale.get();
                match data.await {
                    Ok(settings) => settings_view(settings, locale, save, saved_by_post).into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn settings_view(
    settings: EmailSettings,
    locale: Locale,
    save: ServerAction<SaveEmailSettings>,
    saved_by_post: Memo<bool>,
) -> impl IntoView {
    let saved = move || {
        let answered = save.value().get();
        (matches!(answered, Some(Ok(()))) || (answered.is_none() && saved_by_post.get()))
            .then(|| view! { <p class="notice notice-ok" data-saved="">{t(locale, "Saved.", "Сохранено.")}</p> })
    };
    let off_notice = (!settings.emails_on).then(|| {
        view! { <p class="notice warn" data-emails-off="">{t(locale, "This server sends no emails yet (its operator has not set SMTP_URL); your choices apply once it does.", "Этот сервер пока не отправляет писем (оператор не задал SMTP_URL); ваш выбор начнёт действовать, когда задаст.")}</p> }
    });
    let boxes = EmailKind::ALL
        .into_iter()
        .map(|kind| {
            let (name, what) = kind_label(kind, locale);
            let id = format!("email-{}", kind.as_str());
            let label_for = id.clone();
            view! {
                <label class="check" for=label_for>
                    <input id=id type="checkbox" name=format!("on[{}]", kind.as_str()) value="on" checked=settings.preferences.wants(kind)/>
                    <span><strong>{name}</strong>" — "{what}</span>
                </label>
            }
        })
        .collect_view();
    view! {
        {off_notice}
        {saved}
        <section class="card">
            <p class="muted">{t(locale, "Choose which emails we send you. Each is in your interface language.", "Выберите, какие письма мы вам присылаем. Письма приходят на языке интерфейса.")}</p>
            <ActionForm action=save attr:class="form" attr:data-form="notifications">
                {boxes}
                <input type="hidden" name="on[_]" value=""/>
                <button type="submit" class="button primary">{t(locale, "Save", "Сохранить")}</button>
            </ActionForm>
        </section>
    }
}
