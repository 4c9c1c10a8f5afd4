//! English and Russian text for every label (UI.md "Both languages everywhere").
//!
//! The locale comes from the `lang` query parameter when present (so plain links switch language
//! without JavaScript), else from the `lang` cookie, else English. Choosing a language through the
//! query stores it in the cookie (the response sets it), and for a signed-in user in their account
//! (the web layer, `crate::server::web::viewer`).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Name of the cookie that remembers the language.
pub const LOCALE_COOKIE: &str = "lang";

pub use tariff_model::Locale;
use tariff_model::{Entity, Message};

/// The language of this request, as the server's web layer settled it (`?lang=`, the user's
/// stored language, the `lang` cookie, English), put into the request's extensions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestLocale(pub Locale);

/// The interface strings of a [`Locale`].
pub trait LocaleText {
    fn text(self) -> &'static Text;
}

impl LocaleText for Locale {
    fn text(self) -> &'static Text {
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

/// The locale the web layer settled for the request (it knows the signed-in user's choice), else
/// the one stored in the request's cookie.
fn stored_locale() -> Option<Locale> {
    use_context::<axum::http::request::Parts>().and_then(|parts| {
        if let Some(locale) = parts.extensions.get::<RequestLocale>() {
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

/// Remembers the locale in the response's `Set-Cookie` header.
fn store_locale(locale: Locale) {
    if let (Some(response), Ok(value)) =
        (use_context::<leptos_axum::ResponseOptions>(), axum::http::HeaderValue::from_str(&locale_cookie(locale)))
    {
        response.append_header(axum::http::header::SET_COOKIE, value);
    }
}

/// Sets up the locale for the page (call once, inside the `<Router>`) and returns it: `?lang=`
/// when the address has it (then also remembered in a cookie), else the request's.
/// Components read it with [`use_locale`].
pub fn provide_locale() -> Memo<Locale> {
    let from_query = use_query_map().read_untracked().get("lang").and_then(|l| Locale::parse(&l));
    if let Some(chosen) = from_query {
        store_locale(chosen);
    }
    let chosen = from_query.or_else(stored_locale).unwrap_or_default();
    let locale = Memo::new(move |_| chosen);
    provide_context(locale);
    locale
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

/// Formats an amount for a message: `990 ₽` / `990,00 ₽` style (see [`super::format::money`]).
fn amount(minor: i64, currency: tariff_model::Currency, locale: Locale) -> String {
    super::format::money(minor, currency, locale)
}

fn money_exact(micros: i64, currency: tariff_model::Currency, locale: Locale) -> String {
    super::format::money_micros(micros, currency, locale)
}

/// A [`Message`] in `locale`. Every code has its text in both languages (the match is
/// exhaustive; a test checks that every Russian text is a translation). The JSON API answers the
/// English text.
pub fn message(message: &Message, locale: Locale) -> String {
    match locale {
        Locale::En => english(message),
        Locale::Ru => russian(message),
    }
}

fn english(m: &Message) -> String {
    use Message::*;
    let en = Locale::En;
    match m {
        ServerError => "The server could not complete the request. Try again later.".into(),
        NotFound { entity } => format!("The {} was not found.", entity.as_str()),
        Retry => "The request did not go through. Check your connection and try again.".into(),
        SessionEnded => "Your session has ended. Log in again.".into(),
        AdminsOnly => "This is for administrators only.".into(),
        EmailInvalid => "Enter a valid email address".into(),
        EmailTaken { email } => format!("a user with email {email} already exists"),
        EmailTakenLogIn => "An account with this email already exists. Log in instead.".into(),
        PasswordTooShort { min } => format!("Use at least {min} characters"),
        WrongCredentials => "The email or password is wrong.".into(),
        TooManyAttempts { minutes } => format!("Too many failed attempts. Try again in {minutes} min."),
        TextTooLong { max } => format!("Use at most {max} characters"),
        LocaleUnknown => "use en or ru".into(),
        StatusUnknown => "use active, trialing, past_due, canceled or paused".into(),
        UnknownUser => "unknown user".into(),
        CrossOriginRefused => "This form was sent from another site and was refused.".into(),
        TokenNameInvalid => "Give the token a name of 1 to 100 characters".into(),
        ScopeUnknown { value } => format!("unknown scope {value:?}; use user, service or admin"),
        AdminScopeForAdminsOnly => "only admin users can have admin tokens".into(),
        AdminTokenRequired => "this route needs an admin token".into(),
        ServiceTokenRequired => "this route needs a service token".into(),
        OwnUserOnly => "a user token can only act for its own user".into(),
        PlanNameRequired => "Give the plan a name".into(),
        PriceRequired => "Set a price (0 for a free plan)".into(),
        PlanIdInvalid => "Use 1 to 64 lower-case letters, digits, _ or -".into(),
        PlanIdTaken { id } => format!("a plan with id {id:?} already exists"),
        PlanIdImmutable => "A plan's id cannot be changed; duplicate the plan instead".into(),
        PriceMinorMismatch => "does not match price".into(),
        NotNegative => "must not be negative".into(),
        QuotaNotNegative => "must not be negative (use null for unlimited)".into(),
        FeatureCodeInvalid => {
            "Each feature is a code of 1 to 64 letters, digits, _ . : or -, starting with a letter or digit".into()
        }
        MetadataNotObject => "must be a JSON object or null".into(),
        TrialDaysRange { max } => format!("must be between 0 and {max}"),
        QuotaDecreaseForbidden => {
            "cannot be decreased while the plan has active or trialing subscribers; create a new plan instead".into()
        }
        PlanHasSubscriptions { plan_id, count } => {
            format!("plan {plan_id} has {count} subscription(s); deactivate it instead of deleting it")
        }
        PlanHasPayments { plan_id } => {
            format!("plan {plan_id} has payments on record; deactivate it instead of deleting it")
        }
        PlanHasTrials { plan_id } => {
            format!("plan {plan_id} has trials on record; deactivate it instead of deleting it")
        }
        PriceChangeUnconfirmed { from_minor, to_minor, currency } => format!(
            "The price changes from {} to {}; subscribers pay it from their next renewal. Confirm the new price and save again.",
            amount(*from_minor, *currency, en),
            amount(*to_minor, *currency, en)
        ),
        UnknownCurrency { value } => format!("unsupported currency {value:?}; use RUB, USD or EUR"),
        UnknownInterval { value } => format!("unknown interval {value:?}; use day, week, month or year"),
        UnknownMetric { value } => format!("unknown metric {value:?}"),
        AmountNotExact { value } => {
            format!("amount {value:?} is not a decimal number with at most two decimal places")
        }
        AmountTooLarge => "amount is too large".into(),
        AmountNotPositive => "must be greater than zero".into(),
        AlreadySubscribed => "the account already has a live subscription".into(),
        SubscriptionChanged => "the subscription changed concurrently; try again".into(),
        FreePlanNotCancellable => "The free plan cannot be canceled; it is what every account falls back to.".into(),
        FreePlanNotDeletable => {
            "The free plan cannot be deleted; sign-ups and lapsed customers fall back to it. Edit its quotas instead."
                .into()
        }
        SubscriptionRequired => "an active subscription is required to use this service".into(),
        PositiveWholeNumber => "must be a positive whole number".into(),
        ReferenceLength { max } => format!("must be 1 to {max} characters"),
        NotAnObject => "must be a JSON object".into(),
        MetadataTooLarge { max_bytes } => format!("must be at most {max_bytes} bytes of JSON"),
        BatchEmpty => "send at least one event".into(),
        BatchTooLarge { max } => format!("send at most {max} events per batch"),
        PageTooSmall => "must be 1 or more".into(),
        PageSizeRange { max } => format!("must be between 1 and {max}"),
        PlanNotForSale => "This plan is not available for purchase".into(),
        FreePlanNeedsNoPayment => "Free plans need no payment".into(),
        ReturnUrlInvalid { max } => format!("Give an http(s) URL of at most {max} characters"),
        PaymentsNotConfigured => "Payments are not configured on this server.".into(),
        ProviderUnavailable => "The payment provider did not answer; try again in a minute.".into(),
        DatabaseUnavailable => "The billing database is not reachable right now; try again in a few seconds.".into(),
        ProviderRefused => "The payment provider refused the request. Try again later.".into(),
        RefundNotAllowed => "Only a succeeded payment can be refunded".into(),
        NothingToRefund => "Nothing is left to refund".into(),
        RefundAtMost { amount_minor, .. } => {
            format!("At most {} can be refunded", tariff_model::money::yookassa_amount(*amount_minor))
        }
        DiscountRange => "must be between 0 and 100".into(),
        FeatureTitleRequired => "Give the feature a name people read".into(),
        FeatureNameTaken { name } => format!("a feature named {name:?} already exists"),
        FeatureNameImmutable => "A feature's name is its id and cannot be changed".into(),
        AccessUnknown { value } => format!("unknown access {value:?}; use included, premium or exclusive"),
        PerUnitsRange { max } => format!("must be a whole number between 1 and {max}"),
        UnitPriceNotExact => {
            "The price of one unit must be a whole number of millionths of a kopeck; choose per_units that divides the price".into()
        }
        FeatureNotAvailable { feature } => format!("The feature {feature} is not available on your plan"),
        InsufficientBalance { required_micros, balance_micros, currency } => format!(
            "The balance of {} cannot pay {}; top up the balance",
            money_exact(*balance_micros, *currency, en),
            money_exact(*required_micros, *currency, en)
        ),
        TopupRange { min_minor, max_minor, currency } => format!(
            "Top up between {} and {}",
            amount(*min_minor, *currency, en),
            amount(*max_minor, *currency, en)
        ),
        AdjustmentReasonRequired => "Say why the balance is adjusted".into(),
        AmountNotZero => "must not be zero".into(),
        BalanceWouldGoNegative { balance_micros, currency } => format!(
            "The balance is {}; a debit cannot take it below zero",
            money_exact(*balance_micros, *currency, en)
        ),
        RefundBeyondUnspent { amount_minor, currency } => format!(
            "Only {} of this top-up is still unspent and can be refunded",
            amount(*amount_minor, *currency, en)
        ),
        CurrencyMismatch { expected } => format!("The account is billed in {expected}"),
        FeatureLimitLine => "Write one feature per line as name: units, e.g. gpt-4o: 100000".into(),
        OrgNameRequired => "Name the organisation".into(),
        RoleUnknown { value } => format!("unknown role {value:?}; use owner, admin or member"),
        AlreadyMember { email } => format!("{email} is already a member of this organisation"),
        AlreadyInvited { email } => format!("{email} has a pending invitation already"),
        LastOwner => "An organisation needs an owner: make someone else an owner first".into(),
        InvitationGone => "This invitation has expired, was revoked or was answered already".into(),
        OrgManagersOnly => "Only the organisation's owners and admins can do this".into(),
        OrgOwnersOnly => "Only an owner can make someone an owner, or change or remove an owner".into(),
        NotAMember => "You can bill only to your own account or an organisation you belong to".into(),
        ReservationNotHeld { status } => format!("The reservation is {status} and can no longer change"),
        TtlRange { max } => format!("Enter a number of seconds from 1 to {max}"),
        RateLimited { seconds } => format!("Too many requests; try again in {seconds} s"),
        CapUnknown { value } => {
            format!("unknown cap {value:?}; use a metric (tokens_input, tokens_output, requests, images, audio_minutes) or spend")
        }
        MemberCapReached { cap } => format!("Your own limit for {cap} in this organisation is used up for this period"),
        AssignTargetRequired => "Name either user_id or organization_id".into(),
        PlanIsCurrent => "This is the current plan already".into(),
        PlanCurrencyDiffers { expected } => format!("Choose a plan priced in {}", expected.code()),
        NoPendingChange => "No plan change is scheduled".into(),
        ReturnUrlRequired => "Without a saved card the payer must confirm: give a return_url".into(),
        PlanHasNoTrial => "This plan has no trial".into(),
        TrialUsed => "This account has had a trial of this plan already".into(),
        NotTrialing => "The subscription is not a trial".into(),
        SubscriptionPaused => "The subscription is paused; resume it to use the service".into(),
        NotPausable => "Only an active, trialing or past due subscription can be paused".into(),
        NotPaused => "The subscription is not paused".into(),
        PauseNotAllowed => "This plan cannot be paused by its subscribers".into(),
        ClockForwardOnly => "The test clock moves only forward, by 1 second to 5 years".into(),
        WebhookUrlInvalid => "Enter an absolute http:// or https:// address".into(),
        WebhookHttpsRequired => "Endpoints use HTTPS in production (or a host the operator allows)".into(),
        WebhookAddressNotAllowed => "Private, loopback and link-local addresses are refused in production".into(),
        EventTypeUnknown { value } => format!("{value:?} is not an event type"),
        EventTypesRequired => "Choose at least one event type, or \"*\" for all".into(),
        OverlapRange { max } => format!("The old secret keeps signing for 0 to {max} seconds"),
        MonthsRange { max } => format!("months must be 1 to {max}"),
        UpgradeNow { amount_minor, currency } => {
            format!("Upgrade now: pay {} for the rest of this period", amount(*amount_minor, *currency, en))
        }
        UpgradeNewPeriod { amount_minor, currency, until } => format!(
            "Upgrade now: pay {} for a new period until {}",
            amount(*amount_minor, *currency, en),
            super::format::date(*until, en)
        ),
        DowngradeOn { plan, at } => format!("Switches to {plan} on {}", super::format::date(*at, en)),
        SourceUnknown => "the source address is unknown".into(),
        SourceNotAllowed => "notifications are accepted only from YooKassa's addresses".into(),
        WholeNumberOrUnlimited => "Enter a whole number, or tick unlimited".into(),
        PriceFormat => "Enter a price such as 990.00".into(),
        WholeMinorUnits => "Enter a whole number of minor units".into(),
        WholeNumber => "Enter a whole number".into(),
        JsonInvalid => "Not valid JSON".into(),
    }
}

fn russian(m: &Message) -> String {
    use Message::*;
    let ru = Locale::Ru;
    match m {
        ServerError => "Сервер не смог выполнить запрос. Попробуйте позже.".into(),
        NotFound { entity } => match entity {
            Entity::Plan => "Тариф не найден.",
            Entity::Subscription => "Подписка не найдена.",
            Entity::Transaction => "Платёж не найден.",
            Entity::Token => "Токен не найден.",
            Entity::User => "Пользователь не найден.",
            Entity::Metric => "Такой метрики нет.",
            Entity::Route => "По этому адресу ничего нет.",
            Entity::Feature => "Функция не найдена.",
            Entity::Organization => "Организация не найдена.",
            Entity::Invitation => "Приглашение не найдено.",
            Entity::Member => "Участник не найден.",
            Entity::Reservation => "Резервирование не найдено.",
            Entity::WebhookEndpoint => "Адрес для вебхуков не найден.",
            Entity::WebhookDelivery => "Доставка не найдена.",
        }
        .into(),
        Retry => "Запрос не прошёл. Проверьте соединение и попробуйте ещё раз.".into(),
        SessionEnded => "Ваш сеанс завершён. Войдите ещё раз.".into(),
        AdminsOnly => "Это доступно только администраторам.".into(),
        EmailInvalid => "Введите корректный адрес электронной почты".into(),
        EmailTaken { email } => format!("Пользователь с адресом {email} уже зарегистрирован"),
        EmailTakenLogIn => "Аккаунт с этим адресом уже есть. Войдите.".into(),
        PasswordTooShort { min } => format!("Используйте не меньше {min} символов"),
        WrongCredentials => "Неверный адрес почты или пароль.".into(),
        TooManyAttempts { minutes } => format!("Слишком много неудачных попыток. Попробуйте через {minutes} мин."),
        TextTooLong { max } => format!("Не больше {max} символов"),
        LocaleUnknown => "укажите en или ru".into(),
        StatusUnknown => "укажите active, trialing, past_due, canceled или paused".into(),
        UnknownUser => "неизвестный пользователь".into(),
        CrossOriginRefused => "Форма отправлена с другого сайта и отклонена.".into(),
        TokenNameInvalid => "Дайте токену название длиной от 1 до 100 символов".into(),
        ScopeUnknown { value } => format!("неизвестная область {value:?}; укажите user, service или admin"),
        AdminScopeForAdminsOnly => "токены с областью admin бывают только у администраторов".into(),
        AdminTokenRequired => "для этого адреса нужен токен администратора".into(),
        ServiceTokenRequired => "для этого адреса нужен сервисный токен".into(),
        OwnUserOnly => "токен пользователя действует только от имени своего владельца".into(),
        PlanNameRequired => "Укажите название тарифа".into(),
        PriceRequired => "Укажите цену (0 для бесплатного тарифа)".into(),
        PlanIdInvalid => "От 1 до 64 строчных латинских букв, цифр, _ или -".into(),
        PlanIdTaken { id } => format!("Тариф с идентификатором {id:?} уже есть"),
        PlanIdImmutable => "Идентификатор тарифа изменить нельзя; создайте копию тарифа".into(),
        PriceMinorMismatch => "не совпадает с ценой".into(),
        NotNegative => "не может быть отрицательным".into(),
        QuotaNotNegative => "не может быть отрицательной (null — без ограничений)".into(),
        FeatureCodeInvalid => {
            "Каждая функция — код из 1–64 латинских букв, цифр и знаков _ . : -, начинающийся с буквы или цифры".into()
        }
        MetadataNotObject => "должно быть JSON-объектом или пустым".into(),
        TrialDaysRange { max } => format!("должно быть от 0 до {max}"),
        QuotaDecreaseForbidden => {
            "нельзя уменьшить, пока у тарифа есть активные или пробные подписки; создайте новый тариф".into()
        }
        PlanHasSubscriptions { plan_id, count } => {
            format!("У тарифа {plan_id} есть подписки ({count}); отключите его вместо удаления")
        }
        PlanHasPayments { plan_id } => format!("По тарифу {plan_id} есть платежи; отключите его вместо удаления"),
        PlanHasTrials { plan_id } => {
            format!("По тарифу {plan_id} были пробные периоды; отключите его вместо удаления")
        }
        PriceChangeUnconfirmed { from_minor, to_minor, currency } => format!(
            "Цена меняется с {} на {}; подписчики будут платить её со следующего продления. Подтвердите новую цену и сохраните ещё раз.",
            amount(*from_minor, *currency, ru),
            amount(*to_minor, *currency, ru)
        ),
        UnknownCurrency { value } => format!("валюта {value:?} не поддерживается; укажите RUB, USD или EUR"),
        UnknownInterval { value } => format!("неизвестный период {value:?}; укажите day, week, month или year"),
        UnknownMetric { value } => format!("неизвестная метрика {value:?}"),
        AmountNotExact { value } => format!("сумма {value:?} — не десятичное число с не более чем двумя знаками"),
        AmountTooLarge => "слишком большая сумма".into(),
        AmountNotPositive => "должно быть больше нуля".into(),
        AlreadySubscribed => "у аккаунта уже есть действующая подписка".into(),
        SubscriptionChanged => "подписка изменилась одновременно с запросом; попробуйте ещё раз".into(),
        FreePlanNotCancellable => "Бесплатный тариф нельзя отменить: на него переходит любой аккаунт.".into(),
        FreePlanNotDeletable => {
            "Бесплатный тариф нельзя удалить: на него переходят новые и бывшие клиенты. Измените его квоты.".into()
        }
        SubscriptionRequired => "чтобы пользоваться сервисом, нужна действующая подписка".into(),
        PositiveWholeNumber => "должно быть целым положительным числом".into(),
        ReferenceLength { max } => format!("должно быть длиной от 1 до {max} символов"),
        NotAnObject => "должно быть JSON-объектом".into(),
        MetadataTooLarge { max_bytes } => format!("не больше {max_bytes} байт JSON"),
        BatchEmpty => "отправьте хотя бы одно событие".into(),
        BatchTooLarge { max } => format!("не больше {max} событий в пакете"),
        PageTooSmall => "должно быть не меньше 1".into(),
        PageSizeRange { max } => format!("должно быть от 1 до {max}"),
        PlanNotForSale => "Этот тариф недоступен для покупки".into(),
        FreePlanNeedsNoPayment => "Бесплатный тариф не нужно оплачивать".into(),
        ReturnUrlInvalid { max } => format!("Укажите адрес http(s) длиной не больше {max} символов"),
        PaymentsNotConfigured => "Приём платежей на этом сервере не настроен.".into(),
        ProviderUnavailable => "Платёжный сервис не ответил; попробуйте через минуту.".into(),
        DatabaseUnavailable => "База данных биллинга сейчас недоступна; попробуйте через несколько секунд.".into(),
        ProviderRefused => "Платёжный сервис отклонил запрос. Попробуйте позже.".into(),
        RefundNotAllowed => "Вернуть можно только успешный платёж".into(),
        NothingToRefund => "Возвращать больше нечего".into(),
        RefundAtMost { amount_minor, currency } => {
            format!("Вернуть можно не больше {}", amount(*amount_minor, *currency, ru))
        }
        DiscountRange => "должна быть от 0 до 100".into(),
        FeatureTitleRequired => "Дайте функции название для людей".into(),
        FeatureNameTaken { name } => format!("Функция {name:?} уже есть"),
        FeatureNameImmutable => "Имя функции — её идентификатор, его нельзя изменить".into(),
        AccessUnknown { value } => format!("неизвестный доступ {value:?}; используйте included, premium или exclusive"),
        PerUnitsRange { max } => format!("должно быть целым числом от 1 до {max}"),
        UnitPriceNotExact => {
            "Цена одной единицы должна быть целым числом миллионных долей копейки; выберите per_units, на которое делится цена".into()
        }
        FeatureNotAvailable { feature } => format!("Функция {feature} недоступна на вашем тарифе"),
        InsufficientBalance { required_micros, balance_micros, currency } => format!(
            "На балансе {}, этого не хватает на {}; пополните баланс",
            money_exact(*balance_micros, *currency, ru),
            money_exact(*required_micros, *currency, ru)
        ),
        TopupRange { min_minor, max_minor, currency } => format!(
            "Пополнение — от {} до {}",
            amount(*min_minor, *currency, ru),
            amount(*max_minor, *currency, ru)
        ),
        AdjustmentReasonRequired => "Укажите причину изменения баланса".into(),
        AmountNotZero => "не может быть нулём".into(),
        BalanceWouldGoNegative { balance_micros, currency } => format!(
            "На балансе {}; списание не может увести его ниже нуля",
            money_exact(*balance_micros, *currency, ru)
        ),
        RefundBeyondUnspent { amount_minor, currency } => format!(
            "Из этого пополнения не потрачено и может быть возвращено только {}",
            amount(*amount_minor, *currency, ru)
        ),
        CurrencyMismatch { expected } => format!("Счёт ведётся в валюте {expected}"),
        FeatureLimitLine => "Пишите по одной функции в строке: имя: единицы, например gpt-4o: 100000".into(),
        OrgNameRequired => "Укажите название организации".into(),
        RoleUnknown { value } => format!("неизвестная роль {value:?}; используйте owner, admin или member"),
        AlreadyMember { email } => format!("{email} уже состоит в этой организации"),
        AlreadyInvited { email } => format!("У {email} уже есть действующее приглашение"),
        LastOwner => "У организации должен быть владелец: сначала назначьте владельцем кого-то ещё".into(),
        InvitationGone => "Приглашение истекло, отозвано или на него уже ответили".into(),
        OrgManagersOnly => "Это могут делать только владельцы и администраторы организации".into(),
        OrgOwnersOnly => "Только владелец может назначить владельца, изменить или удалить владельца".into(),
        NotAMember => "Оплачивать можно только со своего счёта или счёта организации, в которой вы состоите".into(),
        ReservationNotHeld { status } => {
            let status = match status {
                tariff_model::usage::ReservationStatus::Held => "удерживается",
                tariff_model::usage::ReservationStatus::Committed => "уже подтверждено",
                tariff_model::usage::ReservationStatus::Released => "уже отменено",
                tariff_model::usage::ReservationStatus::Expired => "истекло",
            };
            format!("Резервирование {status} и больше не меняется")
        }
        TtlRange { max } => format!("Укажите число секунд от 1 до {max}"),
        RateLimited { seconds } => format!("Слишком много запросов; повторите через {seconds} с"),
        CapUnknown { value } => {
            format!("неизвестный лимит {value:?}; используйте метрику (tokens_input, tokens_output, requests, images, audio_minutes) или spend")
        }
        MemberCapReached { cap } => format!("Ваш личный лимит {cap} в этой организации на этот период исчерпан"),
        AssignTargetRequired => "Укажите либо user_id, либо organization_id".into(),
        PlanIsCurrent => "Это уже текущий тариф".into(),
        PlanCurrencyDiffers { expected } => format!("Выберите тариф в валюте {}", expected.code()),
        NoPendingChange => "Смена тарифа не запланирована".into(),
        ReturnUrlRequired => "Без сохранённой карты плательщик должен подтвердить оплату: укажите return_url".into(),
        PlanHasNoTrial => "У этого тарифа нет пробного периода".into(),
        TrialUsed => "Пробный период этого тарифа уже был у этого аккаунта".into(),
        NotTrialing => "Подписка не в пробном периоде".into(),
        SubscriptionPaused => "Подписка приостановлена; возобновите её, чтобы пользоваться сервисом".into(),
        NotPausable => "Приостановить можно только активную, пробную или просроченную подписку".into(),
        NotPaused => "Подписка не приостановлена".into(),
        PauseNotAllowed => "Подписчики этого тарифа не могут приостанавливать подписку".into(),
        ClockForwardOnly => "Тестовые часы идут только вперёд: от 1 секунды до 5 лет".into(),
        WebhookUrlInvalid => "Укажите полный адрес http:// или https://".into(),
        WebhookHttpsRequired => "В рабочем режиме адрес должен быть HTTPS (или хост, разрешённый оператором)".into(),
        WebhookAddressNotAllowed => "В рабочем режиме частные, локальные и link-local адреса запрещены".into(),
        EventTypeUnknown { value } => format!("{value:?} — не тип события"),
        EventTypesRequired => "Выберите хотя бы один тип события или \"*\" для всех".into(),
        OverlapRange { max } => format!("Старый секрет подписывает ещё от 0 до {max} секунд"),
        MonthsRange { max } => format!("months — от 1 до {max}"),
        UpgradeNow { amount_minor, currency } => {
            format!("Перейти сейчас: оплатить {} за остаток периода", amount(*amount_minor, *currency, ru))
        }
        UpgradeNewPeriod { amount_minor, currency, until } => format!(
            "Перейти сейчас: оплатить {} за новый период до {}",
            amount(*amount_minor, *currency, ru),
            super::format::date(*until, ru)
        ),
        DowngradeOn { plan, at } => format!("Переход на «{plan}» {}", super::format::date(*at, ru)),
        SourceUnknown => "адрес отправителя неизвестен".into(),
        SourceNotAllowed => "уведомления принимаются только с адресов ЮKassa".into(),
        WholeNumberOrUnlimited => "Введите целое число или отметьте «без ограничений»".into(),
        PriceFormat => "Введите цену, например 990.00".into(),
        WholeMinorUnits => "Введите целое число копеек".into(),
        WholeNumber => "Введите целое число".into(),
        JsonInvalid => "Некорректный JSON".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_has_its_text_in_both_languages() {
        for m in Message::examples() {
            let (en, ru) = (message(&m, Locale::En), message(&m, Locale::Ru));
            assert!(!en.trim().is_empty() && !ru.trim().is_empty(), "{m:?}");
            assert_ne!(en, ru, "{m:?} has no Russian text");
            // A Russian text is written in Cyrillic (codes and values it quotes may be Latin).
            assert!(ru.chars().any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap_or(c))), "{m:?}: {ru}");
        }
    }

    #[test]
    fn every_error_code_answers_with_its_status() {
        for code in tariff_model::ErrorCode::ALL {
            assert!((400..600).contains(&code.status()), "{code}");
        }
    }

    #[test]
    fn cookie_header_yields_the_locale() {
        assert_eq!(locale_from_cookie_header("a=1; lang=ru; b=2"), Some(Locale::Ru));
        assert_eq!(locale_from_cookie_header("lang=xx"), None);
        assert_eq!(locale_from_cookie_header(""), None);
    }
}
