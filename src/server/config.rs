//! Configuration from the environment (and `.env` in development), read and validated once at
//! start (DESIGN.md "Configuration"). Secrets are wrapped in [`SecretString`], whose `Debug`
//! output is redacted, and are never logged.

use super::access_log::{AccessLogConfig, AccessLogLevel};
use super::rate_limit::RateLimitConfig;
use secrecy::{ExposeSecret, SecretString};
use std::net::SocketAddr;
use std::path::PathBuf;
use tariff_core::NoSubscriptionPolicy;
use tariff_core::accounts::looks_like_email;

/// Default SQLite database: a file under `./data`, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/tariff.db?mode=rwc";
/// YooKassa API v3 base URL (reference §1).
pub const DEFAULT_YOOKASSA_API_URL: &str = "https://api.yookassa.ru/v3";

/// Whether the server runs for development (generated admin password, pretty logs) or production.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// Log output format (`LOG_FORMAT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// YooKassa credentials and mode.
#[derive(Clone, Debug)]
pub struct YooKassaConfig {
    pub shop_id: Option<String>,
    pub secret_key: Option<SecretString>,
    pub webhook_secret: Option<SecretString>,
    /// `YOOKASSA_API_URL` when set; otherwise YooKassa's (live) or the built-in sandbox's URL.
    pub api_url: Option<String>,
    /// The built-in sandbox is mounted at `/sandbox/yookassa/v3` and used instead of YooKassa.
    pub sandbox: bool,
}

impl YooKassaConfig {
    /// Both the shop id and the secret key are set (the setup guide's condition for
    /// "YooKassa billing client initialized").
    pub fn is_configured(&self) -> bool {
        self.shop_id.is_some() && self.secret_key.is_some()
    }
}

/// The whole configuration of a Tariff server. Its `Debug` output redacts secrets and the
/// credentials inside the database and Redis URLs.
#[derive(Clone)]
pub struct Config {
    pub environment: Environment,
    /// `DATABASE_URL`: `sqlite://...` or `postgres://...`.
    pub database_url: String,
    /// `DATABASE_MAX_CONNECTIONS`, default 10.
    pub database_max_connections: u32,
    /// `LEPTOS_SITE_ADDR`, default `127.0.0.1:3000`.
    pub site_addr: SocketAddr,
    /// `LEPTOS_SITE_ROOT`: where the built site (`pkg/`, assets) lives, default `target/site`.
    pub site_root: PathBuf,
    /// `APP_BASE_URL`: the public URL of this server (no trailing slash); when unset,
    /// `http://<site addr>` (see [`Config::base_url`]).
    pub app_base_url: Option<String>,
    pub session_secret: Option<SecretString>,
    pub admin_email: Option<String>,
    pub admin_password: Option<SecretString>,
    pub yookassa: YooKassaConfig,
    /// Networks notifications may come from (`YOOKASSA_WEBHOOK_ALLOWED_IPS`, comma-separated;
    /// default YooKassa's published ranges, plus loopback for the sandbox in development).
    pub webhook_allowed_ips: Vec<ipnet::IpNet>,
    /// Proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`, comma-separated; default none).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `YOOKASSA_RECEIPTS=on`: send a 54-FZ receipt with each payment.
    pub receipts: bool,
    /// `YOOKASSA_VAT_CODE` for receipt items (1–12, default 1 = VAT not charged).
    pub vat_code: u8,
    pub redis_url: Option<String>,
    pub no_subscription_policy: NoSubscriptionPolicy,
    pub log_format: LogFormat,
    /// `BILLING_TOPUP_MIN` / `BILLING_TOPUP_MAX`: the smallest and largest top-up, decimal in
    /// major units (default 10.00 and 700000.00), kept in minor units.
    pub topup_min_minor: i64,
    pub topup_max_minor: i64,
    /// `BILLING_LOW_BALANCE`: the default low-balance threshold, decimal in major units
    /// (default 100.00), kept in minor units.
    pub low_balance_minor: i64,
    /// `RATE_LIMIT_*`: the API's rate limiter.
    pub rate_limit: RateLimitConfig,
    /// `METRICS_TOKEN`: the Bearer token `GET /metrics` requires. Without it, `/metrics` is open
    /// in development and not served in production.
    pub metrics_token: Option<SecretString>,
    /// `AUDIT_LOG_*`: the access log in seed 000's shape.
    pub access_log: AccessLogConfig,
    /// `WEBHOOK_*`: outgoing webhooks (issue 16).
    pub webhooks: WebhookConfig,
    /// `SMTP_URL`: customer emails are sent through this server when set (lettre's URL form:
    /// `smtp://host:25`, `smtps://user:pass@host:465`, `smtp://host:587?tls=required`).
    pub smtp_url: Option<String>,
    /// `SMTP_FROM`: the sender of customer emails, default `Tariff <billing@localhost>`.
    pub smtp_from: String,
}

/// Outgoing webhooks: `WEBHOOK_ALLOWED_HOSTS` (comma-separated host names, addresses or CIDR
/// blocks that production may deliver to over plain HTTP or on a private network; default none)
/// and `WEBHOOK_TIMEOUT_SECONDS` (per attempt, 1–60, default 10).
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    pub allowed_hosts: Vec<String>,
    pub timeout_seconds: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig { allowed_hosts: Vec::new(), timeout_seconds: 10 }
    }
}

impl Config {
    /// Where webhook endpoints may point (production: HTTPS and public addresses, unless allowed).
    pub fn webhook_policy(&self) -> tariff_core::events::delivery::Policy {
        tariff_core::events::delivery::Policy {
            production: self.environment == Environment::Production,
            allowed_hosts: self.webhooks.allowed_hosts.clone(),
        }
    }
}

/// `url` without its credentials: `postgres://tariff:secret@db/x` → `postgres://***@db/x`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => format!("{}***{}", &url[..scheme_end + 3], &url[at..]),
        _ => url.to_owned(),
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("environment", &self.environment)
            .field("database_url", &redact_url(&self.database_url))
            .field("database_max_connections", &self.database_max_connections)
            .field("site_addr", &self.site_addr)
            .field("site_root", &self.site_root)
            .field("app_base_url", &self.app_base_url)
            .field("session_secret", &self.session_secret)
            .field("admin_email", &self.admin_email)
            .field("admin_password", &self.admin_password)
            .field("yookassa", &self.yookassa)
            .field("webhook_allowed_ips", &self.webhook_allowed_ips)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("receipts", &self.receipts)
            .field("vat_code", &self.vat_code)
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("no_subscription_policy", &self.no_subscription_policy)
            .field("log_format", &self.log_format)
            .field("topup_min_minor", &self.topup_min_minor)
            .field("topup_max_minor", &self.topup_max_minor)
            .field("low_balance_minor", &self.low_balance_minor)
            .field("rate_limit", &self.rate_limit)
            .field("metrics_token", &self.metrics_token)
            .field("access_log", &self.access_log)
            .field("webhooks", &self.webhooks)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("smtp_from", &self.smtp_from)
            .finish()
    }
}

/// A variable that is set but cannot be used; the message names the variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

impl Config {
    /// The public URL of this server without a trailing slash: `APP_BASE_URL`, or
    /// `http://<LEPTOS_SITE_ADDR>`.
    pub fn base_url(&self) -> String {
        self.app_base_url.clone().unwrap_or_else(|| format!("http://{}", self.site_addr))
    }

    /// The billing core's settings.
    pub fn billing_settings(&self) -> tariff_core::Settings {
        tariff_core::Settings {
            no_subscription_policy: self.no_subscription_policy,
            receipts: self.receipts,
            vat_code: self.vat_code,
            topup_min_minor: self.topup_min_minor,
            topup_max_minor: self.topup_max_minor,
            low_balance_minor: self.low_balance_minor,
            test_payments: self.yookassa.sandbox
                || self.yookassa.secret_key.as_ref().is_some_and(|k| k.expose_secret().starts_with("test_")),
        }
    }

    /// Who the first admin is (`ADMIN_EMAIL` / `ADMIN_PASSWORD`).
    pub fn first_admin(&self) -> tariff_core::accounts::FirstAdmin {
        tariff_core::accounts::FirstAdmin {
            email: self.admin_email.clone(),
            password: self.admin_password.as_ref().map(|p| p.expose_secret().to_owned()),
            production: self.environment == Environment::Production,
        }
    }

    /// Reads the process environment, after loading `.env` if one exists in the working directory.
    pub fn from_env() -> Result<Config, ConfigError> {
        let _ = dotenvy::dotenv();
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any variable source; empty values count as unset.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first variable whose value is not acceptable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let invalid = |var: &'static str, message: String| ConfigError { var, message };

        let environment = match get("TARIFF_ENV").as_deref() {
            None | Some("development") | Some("dev") => Environment::Development,
            Some("production") | Some("prod") => Environment::Production,
            Some(other) => {
                return Err(invalid("TARIFF_ENV", format!("{other:?} is not development or production")));
            }
        };
        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(invalid("DATABASE_URL", "must start with sqlite: or postgres://".into()));
        }
        let database_max_connections = match get("DATABASE_MAX_CONNECTIONS") {
            None => 10,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| invalid("DATABASE_MAX_CONNECTIONS", format!("{v:?} is not a positive integer")))?,
        };
        let site_addr_text = get("LEPTOS_SITE_ADDR").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
        let site_addr: SocketAddr = site_addr_text
            .parse()
            .map_err(|_| invalid("LEPTOS_SITE_ADDR", format!("{site_addr_text:?} is not host:port")))?;
        let site_root = PathBuf::from(get("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".to_owned()));
        let app_base_url = get("APP_BASE_URL").map(|u| u.trim_end_matches('/').to_owned());
        if app_base_url.as_ref().is_some_and(|u| !(u.starts_with("http://") || u.starts_with("https://"))) {
            return Err(invalid("APP_BASE_URL", "must start with http:// or https://".into()));
        }
        let admin_email = get("ADMIN_EMAIL").map(|e| e.to_lowercase());
        if let Some(email) = &admin_email
            && !looks_like_email(email)
        {
            return Err(invalid("ADMIN_EMAIL", format!("{email:?} is not an email address")));
        }
        let admin_password = get("ADMIN_PASSWORD").map(SecretString::from);
        let session_secret = get("SESSION_SECRET");
        if session_secret.as_ref().is_some_and(|s| s.len() < 32) {
            return Err(invalid("SESSION_SECRET", "must be at least 32 characters".into()));
        }
        if environment == Environment::Production && session_secret.is_none() {
            return Err(invalid("SESSION_SECRET", "must be set in production (sessions must survive restarts)".into()));
        }
        if environment == Environment::Production && admin_email.is_some() && admin_password.is_none() {
            return Err(invalid("ADMIN_PASSWORD", "must be set with ADMIN_EMAIL in production".into()));
        }

        let shop_id = get("YOOKASSA_SHOP_ID");
        let production = environment == Environment::Production;
        // Production never takes test money: the sandbox runs there only when asked for by name
        // (a staging server), never because the shop id is missing.
        let sandbox = match get("YOOKASSA_SANDBOX").as_deref() {
            None => shop_id.is_none() && !production,
            Some("on") | Some("true") | Some("1") => true,
            Some("off") | Some("false") | Some("0") => false,
            Some(other) => {
                return Err(invalid("YOOKASSA_SANDBOX", format!("{other:?} is not on or off")));
            }
        };
        let secret_key = get("YOOKASSA_SECRET_KEY").map(SecretString::from);
        if production && !sandbox {
            if shop_id.is_none() {
                return Err(invalid(
                    "YOOKASSA_SHOP_ID",
                    "must be set in production (a staging server without real payments sets YOOKASSA_SANDBOX=on)"
                        .into(),
                ));
            }
            if secret_key.is_none() {
                return Err(invalid("YOOKASSA_SECRET_KEY", "must be set with YOOKASSA_SHOP_ID in production".into()));
            }
        }
        let yookassa = YooKassaConfig {
            shop_id,
            secret_key,
            webhook_secret: get("YOOKASSA_WEBHOOK_SECRET").map(SecretString::from),
            api_url: get("YOOKASSA_API_URL").map(|u| u.trim_end_matches('/').to_owned()),
            sandbox,
        };

        let parse_networks = |var: &'static str, text: &str| -> Result<Vec<ipnet::IpNet>, ConfigError> {
            text.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| {
                    t.parse::<ipnet::IpNet>()
                        .or_else(|_| t.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                        .map_err(|_| ConfigError {
                            var,
                            message: format!("{t:?} is not an IP address or CIDR network"),
                        })
                })
                .collect()
        };
        let mut webhook_allowed_ips = match get("YOOKASSA_WEBHOOK_ALLOWED_IPS") {
            Some(list) => parse_networks("YOOKASSA_WEBHOOK_ALLOWED_IPS", &list)?,
            None => parse_networks("YOOKASSA_WEBHOOK_ALLOWED_IPS", &tariff_yookassa::NOTIFICATION_IP_RANGES.join(","))?,
        };
        // The sandbox notifies over loopback; only a development server believes loopback.
        if yookassa.sandbox && !production {
            webhook_allowed_ips.extend(parse_networks("YOOKASSA_WEBHOOK_ALLOWED_IPS", "127.0.0.0/8,::1/128")?);
        }
        let trusted_proxies = parse_networks("TRUSTED_PROXIES", &get("TRUSTED_PROXIES").unwrap_or_default())?;
        let receipts = match get("YOOKASSA_RECEIPTS").as_deref() {
            None | Some("off") | Some("false") | Some("0") => false,
            Some("on") | Some("true") | Some("1") => true,
            Some(other) => return Err(invalid("YOOKASSA_RECEIPTS", format!("{other:?} is not on or off"))),
        };
        let vat_code = match get("YOOKASSA_VAT_CODE") {
            None => 1,
            Some(v) => v
                .parse::<u8>()
                .ok()
                .filter(|c| (1..=12).contains(c))
                .ok_or_else(|| invalid("YOOKASSA_VAT_CODE", format!("{v:?} is not a VAT code from 1 to 12")))?,
        };

        let no_subscription_policy = match get("BILLING_NO_SUBSCRIPTION_POLICY").as_deref() {
            None | Some("allow") => NoSubscriptionPolicy::Allow,
            Some("deny") => NoSubscriptionPolicy::Deny,
            Some(other) => {
                return Err(invalid("BILLING_NO_SUBSCRIPTION_POLICY", format!("{other:?} is not allow or deny")));
            }
        };
        let amount = |var: &'static str, default: i64| -> Result<i64, ConfigError> {
            match get(var) {
                None => Ok(default),
                Some(text) => tariff_model::money::minor_from_decimal(text.trim())
                    .ok()
                    .filter(|m| *m >= 0)
                    .ok_or_else(|| invalid(var, format!("{text:?} is not an amount such as 10.00"))),
            }
        };
        let topup_min_minor = amount("BILLING_TOPUP_MIN", 1_000)?;
        let topup_max_minor = amount("BILLING_TOPUP_MAX", 70_000_000)?;
        if topup_max_minor > 10_000_000_000 {
            return Err(invalid("BILLING_TOPUP_MAX", "must be at most 100000000.00".to_owned()));
        }
        if topup_min_minor == 0 || topup_min_minor > topup_max_minor {
            return Err(invalid("BILLING_TOPUP_MIN", "must be above zero and at most BILLING_TOPUP_MAX".to_owned()));
        }
        let low_balance_minor = amount("BILLING_LOW_BALANCE", 10_000)?;
        let log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(invalid("LOG_FORMAT", format!("{other:?} is not pretty or json")));
            }
        };

        let count = |var: &'static str, default: u32| -> Result<u32, ConfigError> {
            match get(var) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| invalid(var, format!("{v:?} is not a positive integer"))),
            }
        };
        let rate_limit = RateLimitConfig {
            enabled: match get("RATE_LIMIT_ENABLED").as_deref() {
                None | Some("on") | Some("true") | Some("1") => true,
                Some("off") | Some("false") | Some("0") => false,
                Some(other) => return Err(invalid("RATE_LIMIT_ENABLED", format!("{other:?} is not on or off"))),
            },
            requests: count("RATE_LIMIT_REQUESTS", RateLimitConfig::default().requests)?,
            service_requests: count("RATE_LIMIT_SERVICE_REQUESTS", RateLimitConfig::default().service_requests)?,
            window_seconds: count("RATE_LIMIT_WINDOW_SECONDS", RateLimitConfig::default().window_seconds)?,
            bucket_seconds: count("RATE_LIMIT_BUCKET_SECONDS", RateLimitConfig::default().bucket_seconds)?,
        };
        if rate_limit.bucket_seconds > rate_limit.window_seconds {
            return Err(invalid("RATE_LIMIT_BUCKET_SECONDS", "must be at most RATE_LIMIT_WINDOW_SECONDS".into()));
        }
        let mut access_log = AccessLogConfig::default();
        if let Some(level) = get("AUDIT_LOG_LEVEL") {
            access_log.level = AccessLogLevel::parse(&level).ok_or_else(|| {
                invalid("AUDIT_LOG_LEVEL", format!("{level:?} is not NONE, METADATA, REQUEST or REQUEST_RESPONSE"))
            })?;
        }
        access_log.file = get("AUDIT_LOG_FILE").map(PathBuf::from);
        if let Some(size) = get("AUDIT_LOG_MAX_BODY_SIZE") {
            access_log.max_body_bytes = size.parse::<usize>().ok().filter(|n| *n <= 1 << 20).ok_or_else(|| {
                invalid("AUDIT_LOG_MAX_BODY_SIZE", format!("{size:?} is not a number of bytes up to 1048576"))
            })?;
        }
        if let Some(paths) = get("AUDIT_LOG_EXCLUDED_PATHS") {
            access_log.excluded_paths =
                paths.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect();
        }
        let mut webhooks = WebhookConfig::default();
        if let Some(hosts) = get("WEBHOOK_ALLOWED_HOSTS") {
            webhooks.allowed_hosts =
                hosts.split(',').map(str::trim).filter(|h| !h.is_empty()).map(str::to_owned).collect();
        }
        if let Some(seconds) = get("WEBHOOK_TIMEOUT_SECONDS") {
            webhooks.timeout_seconds = seconds
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=60).contains(n))
                .ok_or_else(|| invalid("WEBHOOK_TIMEOUT_SECONDS", format!("{seconds:?} is not 1 to 60 seconds")))?;
        }
        let smtp_url = get("SMTP_URL").filter(|u| !u.trim().is_empty());
        if smtp_url.as_ref().is_some_and(|u| !(u.starts_with("smtp://") || u.starts_with("smtps://"))) {
            return Err(invalid("SMTP_URL", "must start with smtp:// or smtps://".into()));
        }
        let redis_url = get("REDIS_URL");
        if redis_url.as_ref().is_some_and(|u| !(u.starts_with("redis://") || u.starts_with("rediss://"))) {
            return Err(invalid("REDIS_URL", "must start with redis:// or rediss://".into()));
        }

        Ok(Config {
            environment,
            database_url,
            database_max_connections,
            site_addr,
            site_root,
            app_base_url,
            session_secret: session_secret.map(SecretString::from),
            admin_email,
            admin_password,
            yookassa,
            webhook_allowed_ips,
            trusted_proxies,
            receipts,
            vat_code,
            redis_url,
            no_subscription_policy,
            log_format,
            topup_min_minor,
            topup_max_minor,
            low_balance_minor,
            rate_limit,
            metrics_token: get("METRICS_TOKEN").map(SecretString::from),
            access_log,
            webhooks,
            smtp_url,
            smtp_from: get("SMTP_FROM").unwrap_or_else(|| "Tariff <billing@localhost>".to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_use_sqlite_and_the_sandbox() {
        let c = config(&[]).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.site_addr.to_string(), "127.0.0.1:3000");
        assert!(c.yookassa.sandbox);
        assert!(!c.yookassa.is_configured());
        assert_eq!(c.no_subscription_policy, NoSubscriptionPolicy::Allow);
    }

    #[test]
    fn a_shop_id_turns_the_sandbox_off_unless_forced_on() {
        let c = config(&[("YOOKASSA_SHOP_ID", "123"), ("YOOKASSA_SECRET_KEY", "s")]).unwrap();
        assert!(!c.yookassa.sandbox);
        assert!(c.yookassa.is_configured());
        let c = config(&[("YOOKASSA_SHOP_ID", "123"), ("YOOKASSA_SANDBOX", "on")]).unwrap();
        assert!(c.yookassa.sandbox);
    }

    #[test]
    fn invalid_values_name_the_variable() {
        assert_eq!(config(&[("LEPTOS_SITE_ADDR", "nope")]).unwrap_err().var, "LEPTOS_SITE_ADDR");
        assert_eq!(config(&[("DATABASE_URL", "mysql://x")]).unwrap_err().var, "DATABASE_URL");
        assert_eq!(
            config(&[("BILLING_NO_SUBSCRIPTION_POLICY", "maybe")]).unwrap_err().var,
            "BILLING_NO_SUBSCRIPTION_POLICY"
        );
        assert_eq!(config(&[("ADMIN_EMAIL", "not-an-email")]).unwrap_err().var, "ADMIN_EMAIL");
    }

    #[test]
    fn webhook_sources_default_to_yookassa_ranges_plus_loopback_in_sandbox() {
        let c = config(&[]).unwrap();
        let allowed =
            |ip: &str| c.webhook_allowed_ips.iter().any(|n| n.contains(&ip.parse::<std::net::IpAddr>().unwrap()));
        assert!(allowed("185.71.76.5") && allowed("77.75.156.11") && allowed("2a02:5180::1") && allowed("127.0.0.1"));
        assert!(!allowed("8.8.8.8"));
        let live = config(&[("YOOKASSA_SHOP_ID", "1"), ("YOOKASSA_SECRET_KEY", "s")]).unwrap();
        assert!(
            !live.webhook_allowed_ips.iter().any(|n| n.contains(&"127.0.0.1".parse::<std::net::IpAddr>().unwrap()))
        );
        assert_eq!(config(&[("TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1")]).unwrap().trusted_proxies.len(), 2);
        assert_eq!(config(&[("TRUSTED_PROXIES", "nope")]).unwrap_err().var, "TRUSTED_PROXIES");
    }

    #[test]
    fn production_never_takes_test_money_unless_asked_by_name() {
        let production = [("TARIFF_ENV", "production"), ("SESSION_SECRET", "a-session-secret-of-at-least-32-chars")];
        assert_eq!(config(&production).unwrap_err().var, "YOOKASSA_SHOP_ID", "no silent sandbox");
        let mut live = production.to_vec();
        live.push(("YOOKASSA_SHOP_ID", "123"));
        assert_eq!(config(&live).unwrap_err().var, "YOOKASSA_SECRET_KEY");
        live.push(("YOOKASSA_SECRET_KEY", "live_x"));
        let c = config(&live).unwrap();
        assert!(!c.yookassa.sandbox);
        let loopback = "127.0.0.1".parse::<std::net::IpAddr>().unwrap();
        assert!(!c.webhook_allowed_ips.iter().any(|n| n.contains(&loopback)));
        let mut staging = production.to_vec();
        staging.push(("YOOKASSA_SANDBOX", "on"));
        let c = config(&staging).unwrap();
        assert!(c.yookassa.sandbox, "a staging server asks for the sandbox by name");
        assert!(!c.webhook_allowed_ips.iter().any(|n| n.contains(&loopback)), "loopback only in development");
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let c = config(&[
            ("YOOKASSA_SECRET_KEY", "live_supersecret"),
            ("ADMIN_PASSWORD", "hunter22"),
            ("DATABASE_URL", "postgres://tariff:dbpassword@db.internal:5432/tariff"),
            ("REDIS_URL", "redis://:redispassword@cache:6379/0"),
        ])
        .unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("supersecret"));
        assert!(!debug.contains("hunter22"));
        assert!(!debug.contains("dbpassword") && debug.contains("postgres://***@db.internal:5432/tariff"), "{debug}");
        assert!(!debug.contains("redispassword"), "{debug}");
    }
}
