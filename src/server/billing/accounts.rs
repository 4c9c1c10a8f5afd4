//! Accounts and users: the billing customer and the people who sign in for it.
//! Passwords are hashed with argon2 (default parameters) on the blocking thread pool.

use crate::server::config::{Config, Environment};
use crate::server::error::{Error, Result};
use crate::server::store::{Store, users as store};
use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
use argon2::{Argon2, PasswordHash, PasswordVerifier};
use rand::Rng;
use secrecy::ExposeSecret;

/// Email used for the development admin when `ADMIN_EMAIL` is unset.
pub const DEV_ADMIN_EMAIL: &str = "admin@tariff.local";

/// Hashes a password with argon2id into a PHC string, off the async runtime.
///
/// # Errors
/// [`Error::Internal`] if hashing fails (it does not for valid input).
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(format!("password hashing task failed: {e}")))?
}

/// Whether `password` matches the PHC string `hash`, checked off the async runtime.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A new user with a personal account.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub email: String,
    pub password: String,
    pub name: String,
    pub admin: bool,
}

/// Signs a user up: their personal account, the user, and a subscription to the active `free`
/// plan (if there is one), in one transaction. Returns the user id.
///
/// # Errors
/// [`Error::Validation`] for a malformed email or a password shorter than 8 characters;
/// [`Error::Conflict`] when the email is taken; [`Error::Database`].
pub async fn create_user(db: &Store, now: i64, user: NewUser) -> Result<String> {
    let email = user.email.trim().to_lowercase();
    if !crate::server::config::looks_like_email(&email) {
        return Err(Error::invalid("email", "Enter a valid email address"));
    }
    if user.password.chars().count() < 8 {
        return Err(Error::invalid("password", "Use at least 8 characters"));
    }
    let name = if user.name.trim().is_empty() { email.clone() } else { user.name.trim().to_owned() };
    let hash = hash_password(user.password).await?;
    let user_id = uuid::Uuid::new_v4().to_string();
    let account_id = uuid::Uuid::new_v4().to_string();
    let role = if user.admin { "admin" } else { "user" };
    let mut tx = db.begin_write().await?;
    store::insert_account(&mut *tx, &account_id, &name, "RUB", now).await?;
    match store::insert_user(&mut *tx, &user_id, &account_id, &email, &hash, &name, role, now).await {
        Ok(()) => {}
        Err(e) if crate::server::store::is_unique_violation(&e, "app_user_email_key") => {
            return Err(Error::Conflict(format!("a user with email {email} already exists")));
        }
        Err(e) => return Err(e.into()),
    }
    super::subscriptions::start_free_plan(&mut tx, &user_id, &account_id, now).await?;
    tx.commit().await?;
    Ok(user_id)
}

/// What [`ensure_first_admin`] did at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminBootstrap {
    /// The configured admin (or some admin) already exists.
    Exists,
    /// Created from `ADMIN_EMAIL`/`ADMIN_PASSWORD`.
    Created { email: String },
    /// Development only: created with a generated password, to be shown once.
    Generated { email: String, password: String },
    /// Production without `ADMIN_EMAIL` and no admin yet.
    Missing,
}

/// Creates the first admin at start (DESIGN.md `ADMIN_EMAIL`/`ADMIN_PASSWORD`): the configured
/// admin if that email has no user yet; in development without `ADMIN_EMAIL`, when no admin exists
/// at all, [`DEV_ADMIN_EMAIL`] with a generated password that the caller prints once.
///
/// # Errors
/// [`Error::Database`]; [`Error::Validation`] for an `ADMIN_PASSWORD` under 8 characters.
pub async fn ensure_first_admin(db: &Store, now: i64, config: &Config) -> Result<AdminBootstrap> {
    let (email, password, generated) = match (&config.admin_email, &config.admin_password) {
        (Some(email), _) if store::find_by_email(db.pool(), email).await?.is_some() => {
            return Ok(AdminBootstrap::Exists);
        }
        (Some(email), Some(password)) => (email.clone(), password.expose_secret().to_owned(), false),
        (Some(email), None) => (email.clone(), generate_password(), true),
        (None, _) if store::count_admins(db.pool()).await? > 0 => {
            return Ok(AdminBootstrap::Exists);
        }
        (None, _) if config.environment == Environment::Production => {
            return Ok(AdminBootstrap::Missing);
        }
        (None, _) => (DEV_ADMIN_EMAIL.to_owned(), generate_password(), true),
    };
    let new_user =
        NewUser { email: email.clone(), password: password.clone(), name: "Administrator".to_owned(), admin: true };
    match create_user(db, now, new_user).await {
        Ok(_) if generated => Ok(AdminBootstrap::Generated { email, password }),
        Ok(_) => Ok(AdminBootstrap::Created { email }),
        // Another process created it between our check and insert.
        Err(Error::Conflict(_)) => Ok(AdminBootstrap::Exists),
        Err(e) => Err(e),
    }
}

/// A random 20-character password from an unambiguous alphabet.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..20).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

/// Checks an email and password against the stored hash. Returns the user id on success.
///
/// # Errors
/// [`Error::Unauthorized`] for an unknown email or a wrong password (one message for both);
/// [`Error::Database`].
pub async fn authenticate(db: &Store, email: &str, password: &str) -> Result<String> {
    let hash = match store::find_by_email(db.pool(), email.trim()).await? {
        Some(user) => store::password_hash(db.pool(), &user.id).await?.map(|hash| (user.id, hash)),
        None => None,
    };
    match hash {
        Some((user_id, hash)) => {
            if verify_password(password.to_owned(), hash).await {
                Ok(user_id)
            } else {
                Err(Error::Unauthorized)
            }
        }
        None => {
            // Spend the same time as a wrong password, so response times do not tell which
            // emails have accounts.
            verify_password(password.to_owned(), decoy_hash().await?).await;
            Err(Error::Unauthorized)
        }
    }
}

/// An argon2 hash of a random password, made once, to verify against for unknown emails.
async fn decoy_hash() -> Result<String> {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DECOY.get_or_try_init(|| hash_password(generate_password())).await.cloned()
}

/// A page of users (newest first) with their live plan, optionally only those whose email
/// contains `email_contains` and whose live subscription has `status` (`canceled`: those without
/// a live subscription). `page` is 1-based.
///
/// # Errors
/// [`Error::Validation`] for an unknown status; [`Error::Database`].
pub async fn list_users(
    db: &Store,
    email_contains: Option<&str>,
    status: Option<&str>,
    page: i64,
    page_size: i64,
) -> Result<crate::model::portal::Page<crate::model::admin::UserSummary>> {
    use crate::model::SubscriptionStatus;
    let page = page.max(1);
    let email = email_contains.map(str::trim).filter(|e| !e.is_empty());
    let status = match status.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some("canceled") => Some(store::UserStatusFilter::NoLiveSubscription),
        Some(s) if SubscriptionStatus::parse(s).is_some() => Some(store::UserStatusFilter::Live(s)),
        Some(_) => return Err(Error::invalid("status", "use active, trialing, past_due, canceled or paused")),
    };
    let (items, total) = store::list_with_plans(db.pool(), email, status, page_size, (page - 1) * page_size).await?;
    Ok(crate::model::portal::Page { items, total, page, page_size })
}

/// Everything the admin's user page shows: the user, their live subscription, quota standing,
/// the latest 50 transactions and every plan (for assigning one).
///
/// # Errors
/// [`Error::NotFound`] for an unknown user; [`Error::Database`].
pub async fn user_detail(state: &crate::server::AppState, user_id: &str) -> Result<crate::model::admin::UserDetail> {
    use super::{payments, plans, subscriptions, usage};
    let row = store::find_by_id(state.store.pool(), user_id).await?.ok_or_else(|| Error::not_found("user", user_id))?;
    let now = state.now();
    let user = super::tokens::UserRef {
        id: row.id.clone(),
        account_id: row.account_id.clone(),
        email: row.email.clone(),
        is_admin: row.role == "admin",
    };
    let subscription = subscriptions::current(&state.store, now, &row.account_id).await?;
    let meters =
        usage::overview(&state.store, now, state.config.no_subscription_policy, &user, subscription.as_ref()).await?;
    let (transactions, _) = payments::history(state, &row.account_id, 50, 0).await?;
    let plans = plans::list_all(&state.store).await?;
    let summary = crate::model::admin::UserSummary {
        id: row.id,
        account_id: row.account_id,
        email: row.email,
        name: row.name,
        role: row.role,
        created_at: row.created_at,
        plan_id: subscription.as_ref().map(|s| s.plan_id.clone()),
        plan_name: subscription.as_ref().map(|s| s.plan.name.clone()),
        status: subscription.as_ref().map(|s| s.status.as_str().to_owned()),
    };
    Ok(crate::model::admin::UserDetail { user: summary, subscription, meters, transactions, plans })
}

/// The user with `user_id`, if there is one.
///
/// # Errors
/// [`Error::Database`].
pub async fn find_user(db: &Store, user_id: &str) -> Result<Option<store::UserRow>> {
    Ok(store::find_by_id(db.pool(), user_id).await?)
}

/// The user with `user_id` as the service layer names a customer.
///
/// # Errors
/// [`Error::NotFound`] for an unknown user; [`Error::Database`].
pub async fn user_ref(db: &Store, user_id: &str) -> Result<super::tokens::UserRef> {
    let user = find_user(db, user_id).await?.ok_or_else(|| Error::not_found("user", user_id))?;
    Ok(super::tokens::UserRef {
        id: user.id,
        account_id: user.account_id,
        email: user.email,
        is_admin: user.role == "admin",
    })
}

/// Stores a user's interface language (`en` or `ru`), which follows them across devices.
///
/// # Errors
/// [`Error::Validation`] for another code; [`Error::Database`].
pub async fn set_locale(db: &Store, now: i64, user_id: &str, locale: &str) -> Result<()> {
    if !matches!(locale, "en" | "ru") {
        return Err(Error::invalid("locale", "use en or ru"));
    }
    Ok(store::set_locale(db.pool(), user_id, locale, now).await?)
}

/// The user id an audit filter means by `actor`: an email is looked up, anything else (an id,
/// `system`, `system:cli`) is taken as it is.
///
/// # Errors
/// [`Error::Database`].
pub async fn audit_actor_id(db: &Store, actor: &str) -> Result<String> {
    if actor.contains('@') {
        Ok(store::find_by_email(db.pool(), actor).await?.map(|u| u.id).unwrap_or_else(|| actor.to_owned()))
    } else {
        Ok(actor.to_owned())
    }
}
