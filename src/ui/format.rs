//! Locale-aware formatting of numbers, money, dates, quotas and feature names
//! (UI.md: `1,000,000` / `1 000 000`, `990 ₽`, `21 Nov 2026` / `21 нояб. 2026 г.`).

use super::i18n::Locale;
use crate::model::{Currency, Interval, Metric};
use crate::ui::i18n::LocaleText;

/// Groups digits by thousands: `1,000,000` in English, `1 000 000` (no-break spaces) in Russian.
pub fn number(value: i64, locale: Locale) -> String {
    let separator = match locale {
        Locale::En => ',',
        Locale::Ru => '\u{a0}',
    };
    let digits = value.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(ch);
    }
    out
}

/// An amount in minor units with its currency: `990 ₽`, `1,990.50 ₽`, `$19.99` in English;
/// `990 ₽`, `1 990,50 ₽`, `19,99 $` in Russian. Whole amounts drop the `.00`.
pub fn money(minor: i64, currency: Currency, locale: Locale) -> String {
    let major = number(minor / 100, locale);
    let cents = (minor % 100).abs();
    let amount = if cents == 0 {
        major
    } else {
        let decimal = if locale == Locale::Ru { ',' } else { '.' };
        format!("{major}{decimal}{cents:02}")
    };
    match (locale, currency) {
        (Locale::En, Currency::Usd | Currency::Eur) => format!("{}{amount}", currency.symbol()),
        _ => format!("{amount}\u{a0}{}", currency.symbol()),
    }
}

/// An exact amount in micro-minor units (balances, pay-as-you-go prices) with its currency, as
/// [`money`] for whole minor units, else with the sub-kopeck digits it needs:
/// `0.00015 ₽` / `0,00015 ₽`.
pub fn money_micros(micros: i64, currency: Currency, locale: Locale) -> String {
    use crate::model::balance::MICROS_PER_MINOR;
    if micros % MICROS_PER_MINOR == 0 {
        return money(micros / MICROS_PER_MINOR, currency, locale);
    }
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    let per_major = MICROS_PER_MINOR.unsigned_abs() * 100;
    let major = number((abs / per_major) as i64, locale);
    let fraction = format!("{:08}", abs % per_major);
    let fraction = fraction.trim_end_matches('0');
    let decimal = if locale == Locale::Ru { ',' } else { '.' };
    let amount = format!("{sign}{major}{decimal}{fraction}");
    match (locale, currency) {
        (Locale::En, Currency::Usd | Currency::Eur) => format!("{sign}{}{}", currency.symbol(), &amount[sign.len()..]),
        _ => format!("{amount}\u{a0}{}", currency.symbol()),
    }
}

/// "month" / "мес." — the word after the slash in `990 ₽ / month`.
pub fn per_interval(interval: Interval, locale: Locale) -> &'static str {
    let t = locale.text();
    match interval {
        Interval::Day => t.per_day,
        Interval::Week => t.per_week,
        Interval::Month => t.per_month,
        Interval::Year => t.per_year,
    }
}

/// "Included every month" and its siblings, the caption above a plan's quotas.
pub fn included_per(interval: Interval, locale: Locale) -> &'static str {
    let t = locale.text();
    match interval {
        Interval::Day => t.included_per_day,
        Interval::Week => t.included_per_week,
        Interval::Month => t.included_per_month,
        Interval::Year => t.included_per_year,
    }
}

/// Russian plural form index for `n`: 0 = one (1, 21), 1 = few (2–4, 22–24), 2 = many.
fn russian_plural(n: i64) -> usize {
    let n = n.unsigned_abs();
    match (n % 10, n % 100) {
        (1, r) if r != 11 => 0,
        (2..=4, r) if !(12..=14).contains(&r) => 1,
        _ => 2,
    }
}

/// A metric's unit name for a count, e.g. `input tokens`, `входящих токена`.
pub fn metric_unit(metric: Metric, count: i64, locale: Locale) -> &'static str {
    match locale {
        Locale::En => {
            let one = count == 1;
            match metric {
                Metric::TokensInput => {
                    if one {
                        "input token"
                    } else {
                        "input tokens"
                    }
                }
                Metric::TokensOutput => {
                    if one {
                        "output token"
                    } else {
                        "output tokens"
                    }
                }
                Metric::Requests => {
                    if one {
                        "request"
                    } else {
                        "requests"
                    }
                }
                Metric::Images => {
                    if one {
                        "image"
                    } else {
                        "images"
                    }
                }
                Metric::AudioMinutes => {
                    if one {
                        "audio minute"
                    } else {
                        "audio minutes"
                    }
                }
            }
        }
        Locale::Ru => {
            let forms: [&'static str; 3] = match metric {
                Metric::TokensInput => ["входящий токен", "входящих токена", "входящих токенов"],
                Metric::TokensOutput => ["исходящий токен", "исходящих токена", "исходящих токенов"],
                Metric::Requests => ["запрос", "запроса", "запросов"],
                Metric::Images => ["изображение", "изображения", "изображений"],
                Metric::AudioMinutes => ["минута аудио", "минуты аудио", "минут аудио"],
            };
            forms[russian_plural(count)]
        }
    }
}

/// A metric's name without a count, for "unlimited …" lines.
pub fn metric_name(metric: Metric, locale: Locale) -> &'static str {
    match locale {
        Locale::En => metric_unit(metric, 2, locale),
        Locale::Ru => match metric {
            Metric::TokensInput => "Входящие токены",
            Metric::TokensOutput => "Исходящие токены",
            Metric::Requests => "Запросы",
            Metric::Images => "Изображения",
            Metric::AudioMinutes => "Минуты аудио",
        },
    }
}

/// A quota in words: `1,000,000 input tokens`, or `input tokens: unlimited`.
pub fn quota(metric: Metric, limit: Option<i64>, locale: Locale) -> String {
    match limit {
        Some(limit) => format!("{} {}", number(limit, locale), metric_unit(metric, limit, locale)),
        None => match locale {
            Locale::En => format!("{}: {}", capitalize(metric_name(metric, locale)), locale.text().unlimited),
            Locale::Ru => format!("{}: {}", metric_name(metric, locale), locale.text().unlimited),
        },
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A plan feature code (`gpt4_access`) as a phrase; unknown codes are shown with spaces.
pub fn feature(code: &str, locale: Locale) -> String {
    let known = match (code, locale) {
        ("gpt35_access", Locale::En) => "GPT-3.5 models",
        ("gpt35_access", Locale::Ru) => "Модели GPT-3.5",
        ("gpt4_access", Locale::En) => "GPT-4 models",
        ("gpt4_access", Locale::Ru) => "Модели GPT-4",
        ("claude_access", Locale::En) => "Claude models",
        ("claude_access", Locale::Ru) => "Модели Claude",
        ("priority_support", Locale::En) => "Priority support",
        ("priority_support", Locale::Ru) => "Приоритетная поддержка",
        ("api_access", Locale::En) => "API access",
        ("api_access", Locale::Ru) => "Доступ к API",
        _ => "",
    };
    if known.is_empty() { capitalize(&code.replace('_', " ")) } else { known.to_owned() }
}

const MONTHS_EN: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTHS_RU: [&str; 12] =
    ["янв.", "февр.", "мар.", "апр.", "мая", "июн.", "июл.", "авг.", "сент.", "окт.", "нояб.", "дек."];

/// A Unix time as a UTC calendar date: `21 Nov 2026` / `21 нояб. 2026 г.`.
/// Times outside the representable range are shown as the raw number.
pub fn date(unix_seconds: i64, locale: Locale) -> String {
    let Ok(moment) = time::OffsetDateTime::from_unix_timestamp(unix_seconds) else {
        return unix_seconds.to_string();
    };
    let (year, month, day) = (moment.year(), u8::from(moment.month()) as usize, moment.day());
    match locale {
        Locale::En => format!("{day} {} {year}", MONTHS_EN[month - 1]),
        Locale::Ru => format!("{day} {} {year} г.", MONTHS_RU[month - 1]),
    }
}

/// A Unix time as a UTC date and time: `21 Nov 2026, 14:05 UTC` / `21 нояб. 2026 г., 14:05 UTC`.
pub fn date_time(unix_seconds: i64, locale: Locale) -> String {
    let Ok(moment) = time::OffsetDateTime::from_unix_timestamp(unix_seconds) else {
        return unix_seconds.to_string();
    };
    format!("{}, {:02}:{:02} UTC", date(unix_seconds, locale), moment.hour(), moment.minute())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_group_by_locale() {
        assert_eq!(number(1_000_000, Locale::En), "1,000,000");
        assert_eq!(number(1_000_000, Locale::Ru), "1\u{a0}000\u{a0}000");
        assert_eq!(number(999, Locale::En), "999");
        assert_eq!(number(-1_500, Locale::En), "-1,500");
    }

    #[test]
    fn exact_amounts_show_the_digits_they_need() {
        assert_eq!(money_micros(15_000, Currency::Rub, Locale::En), "0.00015\u{a0}₽");
        assert_eq!(money_micros(49_985_015_000, Currency::Rub, Locale::Ru), "499,85015\u{a0}₽");
        assert_eq!(money_micros(50_000_000_000, Currency::Rub, Locale::En), "500\u{a0}₽");
        assert_eq!(money_micros(1_500_000, Currency::Usd, Locale::En), "$0.015");
    }

    #[test]
    fn money_shows_the_currency_sign() {
        assert_eq!(money(99_000, Currency::Rub, Locale::En), "990\u{a0}₽");
        assert_eq!(money(199_050, Currency::Rub, Locale::Ru), "1\u{a0}990,50\u{a0}₽");
        assert_eq!(money(1_999, Currency::Usd, Locale::En), "$19.99");
        assert_eq!(money(1_999, Currency::Eur, Locale::Ru), "19,99\u{a0}€");
    }

    #[test]
    fn quotas_read_as_words() {
        assert_eq!(quota(Metric::TokensInput, Some(1_000_000), Locale::En), "1,000,000 input tokens");
        assert_eq!(quota(Metric::Requests, Some(1), Locale::En), "1 request");
        assert_eq!(quota(Metric::Requests, Some(1_000), Locale::Ru), "1\u{a0}000 запросов");
        assert_eq!(quota(Metric::Requests, Some(22), Locale::Ru), "22 запроса");
        assert_eq!(quota(Metric::Images, None, Locale::En), "Images: unlimited");
    }

    #[test]
    fn dates_use_the_locale_month_names() {
        // 2026-11-21 00:00:00 UTC
        assert_eq!(date(1_795_219_200, Locale::En), "21 Nov 2026");
        assert_eq!(date(1_795_219_200, Locale::Ru), "21 нояб. 2026 г.");
        assert_eq!(date(0, Locale::En), "1 Jan 1970");
        assert_eq!(date(951_782_400, Locale::En), "29 Feb 2000");
    }
}
