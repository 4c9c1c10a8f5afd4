//! English and Russian text for every label (UI.md "Both languages everywhere").
//!
//! The locale comes from the `lang` query parameter when present (so plain links switch language
//! without JavaScript), else from the `lang` cookie, else English. Choosing a language through the
//! query stores it in the cookie: the server sets it on the response, the browser sets it after
//! hydration, so both sides compute the same locale and hydration matches.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

/// Name of the cookie that remembers the language.
pub const LOCALE_COOKIE: &str = "lang";

/// A supported interface language.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Locale {
    #[default]
    En,
    Ru,
}

impl Locale {
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Ru => "ru",
        }
    }

    pub fn parse(code: &str) -> Option<Locale> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Locale::En),
            "ru" => Some(Locale::Ru),
            _ => None,
        }
    }

    /// The language's own name, for the switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::Ru => "Русский",
        }
    }

    pub fn text(self) -> &'static Text {
        match self {
            Locale::En => &EN,
            Locale::Ru => &RU,
        }
    }
}

/// The interface strings of one language.
pub struct Text {
    pub product_tagline: &'static str,
    pub pricing_title: &'static str,
    pub pricing_lead: &'static str,
    pub monthly: &'static str,
    pub annual: &'static str,
    pub billing_period: &'static str,
    pub language: &'static str,
    pub per_day: &'static str,
    pub per_week: &'static str,
    pub per_month: &'static str,
    pub per_year: &'static str,
    pub included_per_day: &'static str,
    pub included_per_week: &'static str,
    pub included_per_month: &'static str,
    pub included_per_year: &'static str,
    pub features: &'static str,
    pub unlimited: &'static str,
    pub free: &'static str,
    pub promo: &'static str,
    pub promo_until: &'static str,
    pub trial_days: &'static str,
    pub loading: &'static str,
    pub load_failed: &'static str,
    pub no_plans: &'static str,
    pub no_annual_plans: &'static str,
    pub not_found_title: &'static str,
    pub not_found_text: &'static str,
    pub back_to_pricing: &'static str,
    pub footer: &'static str,
}

static EN: Text = Text {
    product_tagline: "Billing for AI products",
    pricing_title: "Plans and pricing",
    pricing_lead: "Pick the plan that fits your usage. Quotas reset every billing period.",
    monthly: "Monthly",
    annual: "Annual",
    billing_period: "Billing period",
    language: "Language",
    per_day: "day",
    per_week: "week",
    per_month: "month",
    per_year: "year",
    included_per_day: "Included every day",
    included_per_week: "Included every week",
    included_per_month: "Included every month",
    included_per_year: "Included every year",
    features: "Features",
    unlimited: "unlimited",
    free: "Free",
    promo: "Promo",
    promo_until: "Offer ends",
    trial_days: "days free trial",
    loading: "Loading plans…",
    load_failed: "Plans could not be loaded. Refresh the page to try again.",
    no_plans: "No plans are available yet.",
    no_annual_plans: "Annual billing is not offered yet. Switch to monthly to see every plan.",
    not_found_title: "Page not found",
    not_found_text: "There is nothing at this address.",
    back_to_pricing: "Back to plans",
    footer: "Prices include VAT where it applies. Payments are processed by YooKassa.",
};

static RU: Text = Text {
    product_tagline: "Биллинг для AI-продуктов",
    pricing_title: "Тарифы и цены",
    pricing_lead: "Выберите тариф под ваш объём работы. Квоты обновляются каждый расчётный период.",
    monthly: "Помесячно",
    annual: "На год",
    billing_period: "Период оплаты",
    language: "Язык",
    per_day: "день",
    per_week: "неделю",
    per_month: "мес.",
    per_year: "год",
    included_per_day: "Включено на каждый день",
    included_per_week: "Включено на каждую неделю",
    included_per_month: "Включено на каждый месяц",
    included_per_year: "Включено на каждый год",
    features: "Возможности",
    unlimited: "без ограничений",
    free: "Бесплатно",
    promo: "Акция",
    promo_until: "Предложение действует до",
    trial_days: "дн. бесплатного периода",
    loading: "Загружаем тарифы…",
    load_failed: "Не удалось загрузить тарифы. Обновите страницу, чтобы попробовать ещё раз.",
    no_plans: "Тарифов пока нет.",
    no_annual_plans: "Годовая оплата пока недоступна. Переключитесь на помесячную, чтобы увидеть все тарифы.",
    not_found_title: "Страница не найдена",
    not_found_text: "По этому адресу ничего нет.",
    back_to_pricing: "К тарифам",
    footer: "Цены указаны с НДС, где он применяется. Платежи обрабатывает ЮKassa.",
};

/// Reads the `lang` value out of a `Cookie` header value.
pub fn locale_from_cookie_header(header: &str) -> Option<Locale> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == LOCALE_COOKIE)
        .and_then(|(_, value)| Locale::parse(value))
}

/// The `Set-Cookie` value that remembers `locale` for a year.
pub fn locale_cookie(locale: Locale) -> String {
    format!("{LOCALE_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax", locale.code())
}

/// The locale stored in the request's cookie (server) or the document's cookie (browser).
fn stored_locale() -> Option<Locale> {
    #[cfg(feature = "ssr")]
    {
        use_context::<axum::http::request::Parts>().and_then(|parts| {
            // The web layer settled the language already (it knows the signed-in user's choice).
            if let Some(locale) = parts.extensions.get::<crate::server::web::RequestLocale>() {
                return Some(locale.0);
            }
            parts
                .headers
                .get_all(axum::http::header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(locale_from_cookie_header)
        })
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        use wasm_bindgen::JsCast;
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.dyn_into::<web_sys::HtmlDocument>().ok())
            .and_then(|d| d.cookie().ok())
            .and_then(|c| locale_from_cookie_header(&c))
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        None
    }
}

/// Remembers the locale: on the server as a `Set-Cookie` header, in the browser in `document.cookie`.
fn store_locale(locale: Locale) {
    #[cfg(feature = "ssr")]
    {
        if let (Some(response), Ok(value)) =
            (use_context::<leptos_axum::ResponseOptions>(), axum::http::HeaderValue::from_str(&locale_cookie(locale)))
        {
            response.append_header(axum::http::header::SET_COOKIE, value);
        }
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        use wasm_bindgen::JsCast;
        if let Some(doc) =
            web_sys::window().and_then(|w| w.document()).and_then(|d| d.dyn_into::<web_sys::HtmlDocument>().ok())
        {
            let _ = doc.set_cookie(&locale_cookie(locale));
        }
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        let _ = locale;
    }
}

/// Sets up the locale for the page (call once, inside the `<Router>`) and returns it.
/// Components read it with [`use_locale`].
pub fn provide_locale() -> Memo<Locale> {
    let query = use_query_map();
    let remembered = RwSignal::new(stored_locale().unwrap_or_default());
    let from_query = Memo::new(move |_| query.read().get("lang").and_then(|l| Locale::parse(&l)));
    // On the server the response carries the cookie; in the browser an effect stores it.
    if let Some(chosen) = from_query.get_untracked() {
        store_locale(chosen);
    }
    Effect::new(move |previous: Option<Option<Locale>>| {
        let current = from_query.get();
        if let Some(chosen) = current {
            if remembered.get_untracked() != chosen {
                remembered.set(chosen);
            }
            store_locale(chosen);
            // A choice made after hydration never reaches the web layer (no page request), so
            // store it on the signed-in user here; the first run is the server-rendered choice.
            if previous.is_some() && previous != Some(current) {
                leptos::task::spawn_local(async move {
                    let _ = remember_locale(chosen.code().to_owned()).await;
                });
            }
        }
        current
    });
    let locale = Memo::new(move |_| from_query.get().unwrap_or_else(|| remembered.get()));
    provide_context(locale);
    locale
}

/// Stores `locale` (`en` or `ru`) as the signed-in user's language, so it follows them to other
/// devices. Anonymous visitors have only the cookie; for them this does nothing.
///
/// # Errors
/// A field message for an unknown language code.
#[server(prefix = "/api/ui", endpoint = "locale")]
pub async fn remember_locale(locale: String) -> Result<(), crate::model::UiError> {
    use crate::ui::serverside::{fail, state, viewer};
    let Some(chosen) = Locale::parse(&locale) else {
        return Err(fail(crate::server::Error::invalid("locale", "use en or ru")));
    };
    if let Some(viewer) = viewer() {
        let state = state();
        crate::server::billing::accounts::set_locale(&state.store, state.now(), &viewer.id, chosen.code())
            .await
            .map_err(fail)?;
    }
    Ok(())
}

/// The current locale (after [`provide_locale`] ran higher up).
pub fn use_locale() -> Memo<Locale> {
    use_context::<Memo<Locale>>().unwrap_or_else(|| Memo::new(|_| Locale::En))
}

/// `en` or `ru`, by locale: for labels used in one place.
pub fn t(locale: Locale, en: &'static str, ru: &'static str) -> &'static str {
    match locale {
        Locale::En => en,
        Locale::Ru => ru,
    }
}

/// A message of the service layer in the viewer's language. Service messages are English
/// sentences; known ones have a Russian translation here, unknown ones stay English.
pub fn message(english: &str, locale: Locale) -> String {
    if locale == Locale::En {
        return english.to_owned();
    }
    let russian = match english {
        "Enter a valid email address" => "Введите корректный адрес электронной почты",
        "Use at least 8 characters" => "Используйте не меньше 8 символов",
        "The server could not complete the request. Try again later." => {
            "Сервер не смог выполнить запрос. Попробуйте позже."
        }
        "Payments are not configured on this server." => "Приём платежей на этом сервере не настроен.",
        "This plan is not available for purchase" => "Этот тариф недоступен для покупки",
        "Free plans need no payment" => "Бесплатный тариф не нужно оплачивать",
        "Give the token a name of 1 to 100 characters" => "Дайте токену название длиной от 1 до 100 символов",
        "The plan was not found." => "Тариф не найден.",
        "The subscription was not found." => "Подписка не найдена.",
        "The transaction was not found." => "Платёж не найден.",
        "The token was not found." => "Токен не найден.",
        "The user was not found." => "Пользователь не найден.",
        "must not be negative" => "не может быть отрицательным",
        "must be at least 0" => "не может быть меньше 0",
        "is required" => "обязательное поле",
        "Give the plan a name" => "Укажите название тарифа",
        "Set a price (0 for a free plan)" => "Укажите цену (0 для бесплатного тарифа)",
        "Use 1 to 64 lower-case letters, digits, _ or -" => "От 1 до 64 строчных латинских букв, цифр, _ или -",
        "Use at most 200 characters" => "Не больше 200 символов",
        "cannot be decreased while the plan has active or trialing subscribers; create a new plan instead" => {
            "нельзя уменьшить, пока у тарифа есть активные или пробные подписки; создайте новый тариф"
        }
        "must be between 0 and 365" => "должно быть от 0 до 365",
        "must be a JSON object or null" => "должно быть JSON-объектом или пустым",
        "Each feature is a code of 1 to 64 characters" => "Каждая функция — код длиной от 1 до 64 символов",
        "A plan's id cannot be changed; duplicate the plan instead" => {
            "Идентификатор тарифа изменить нельзя; создайте копию тарифа"
        }
        "Enter a whole number, or tick unlimited" => "Введите целое число или отметьте «без ограничений»",
        "Enter a price such as 990.00" => "Введите цену, например 990.00",
        "Enter a whole number of minor units" => "Введите целое число копеек",
        "Enter a whole number" => "Введите целое число",
        "Not valid JSON" => "Некорректный JSON",
        _ => return russian_by_prefix(english).unwrap_or_else(|| english.to_owned()),
    };
    russian.to_owned()
}

/// Translations of messages that carry a value after a fixed beginning.
fn russian_by_prefix(english: &str) -> Option<String> {
    if let Some(email) = english.strip_prefix("a user with email ").and_then(|r| r.strip_suffix(" already exists")) {
        return Some(format!("Пользователь с адресом {email} уже зарегистрирован"));
    }
    if let Some(rest) = english.strip_prefix("plan ")
        && let Some((id, tail)) = rest.split_once(" has ")
    {
        if let Some(count) = tail.strip_suffix(" subscription(s); deactivate it instead of deleting it") {
            return Some(format!("У тарифа {id} есть подписки ({count}); отключите его вместо удаления"));
        }
        if tail == "payments on record; deactivate it instead of deleting it" {
            return Some(format!("По тарифу {id} есть платежи; отключите его вместо удаления"));
        }
    }
    if english.starts_with("the payment provider refused the request") {
        return Some("Платёжный сервис отклонил запрос. Попробуйте позже.".to_owned());
    }
    if english.starts_with("YooKassa") || english.contains("could not be reached") {
        return Some("Платёжный сервис сейчас недоступен. Попробуйте позже.".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_header_yields_the_locale() {
        assert_eq!(locale_from_cookie_header("a=1; lang=ru; b=2"), Some(Locale::Ru));
        assert_eq!(locale_from_cookie_header("lang=xx"), None);
        assert_eq!(locale_from_cookie_header(""), None);
    }
}
