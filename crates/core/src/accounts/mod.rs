//! Accounts and users: the billing customer and the people who sign in for it — sign-up, the
//! first admin, password checks, languages, and the admin's user list.

pub mod passwords;
pub mod picture;

use crate::store::users::{self as store, NewUserRow, UserStatusFilter};
use crate::store::{Store, is_unique_violation};
use crate::{Error, Result};
use tariff_model::admin::UserSummary;
use tariff_model::portal::Page;
use tariff_model::{Entity, Locale, Message, Role, SubscriptionStatus};

pub use crate::tokens::UserRef;

pub use tariff_model::User;

/// Email used for the development admin when `ADMIN_EMAIL` is unset.
pub const DEV_ADMIN_EMAIL: &str = "admin@tariff.local";
/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: u32 = 8;
/// Longest accepted password, in characters (argon2 hashes any length; this bounds the work).
pub const MAX_PASSWORD_CHARS: u32 = 1024;
/// Longest accepted email address, in characters (RFC 5321's limit for a path).
pub const MAX_EMAIL_CHARS: u32 = 254;
/// Longest accepted name of a person, in characters.
pub const MAX_NAME_CHARS: u32 = 100;

/// A deliberately loose email check: one `@` with text on both sides and a dot in the domain.
pub fn looks_like_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.contains(char::is_whitespace)
        }
        None => false,
    }
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
/// [`Error::Validation`] for a malformed email or one over 254 characters, a password shorter than
/// 8 or longer than 1,024 characters, a name over 100 characters; [`Error::Conflict`]
/// ([`Message::EmailTaken`]) when the email is taken; [`Error::Database`].
pub async fn create_user(db: &Store, now: i64, user: NewUser) -> Result<String> {
    let email = user.email.trim().to_lowercase();
    if email.chars().count() > MAX_EMAIL_CHARS as usize {
        return Err(Error::invalid("email", Message::TextTooLong { max: MAX_EMAIL_CHARS }));
    }
    if !looks_like_email(&email) {
        return Err(Error::invalid("email", Message::EmailInvalid));
    }
    let password_chars = user.password.chars().count();
    if password_chars < MIN_PASSWORD_CHARS as usize {
        return Err(Error::invalid("password", Message::PasswordTooShort { min: MIN_PASSWORD_CHARS }));
    }
    if password_chars > MAX_PASSWORD_CHARS as usize {
        return Err(Error::invalid("password", Message::TextTooLong { max: MAX_PASSWORD_CHARS }));
    }
    if user.name.trim().chars().count() > MAX_NAME_CHARS as usize {
        return Err(Error::invalid("name", Message::TextTooLong { max: MAX_NAME_CHARS }));
    }
    let name = if user.name.trim().is_empty() { email.clone() } else { user.name.trim().to_owned() };
    let hash = passwords::hash(user.password).await?;
    let user_id = uuid::Uuid::new_v4().to_string();
    let account_id = uuid::Uuid::new_v4().to_string();
    let role = if user.admin { Role::Admin } else { Role::User };
    let mut tx = db.begin_write().await?;
    store::insert_account(&mut tx, &account_id, &name, "RUB", now).await?;
    let row = NewUserRow {
        id: &user_id,
        account_id: &account_id,
        email: &email,
        password_hash: &hash,
        name: &name,
        role,
        now,
    };
    match store::insert_user(&mut tx, &row).await {
        Ok(()) => {}
        Err(e) if is_unique_violation(&e, "app_user_email_key") => {
            return Err(Error::Conflict(Message::EmailTaken { email }));
        }
        Err(e) => return Err(e.into()),
    }
    crate::subscriptions::start_free_plan(&mut tx, &user_id, &account_id, now).await?;
    tx.commit().await?;
    Ok(user_id)
}

/// Who the first admin is, from `ADMIN_EMAIL` / `ADMIN_PASSWORD`.
#[derive(Clone, Debug, Default)]
pub struct FirstAdmin {
    pub email: Option<String>,
    pub password: Option<String>,
    /// In production no password is ever generated.
    pub production: bool,
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
pub async fn ensure_first_admin(db: &Store, now: i64, first: &FirstAdmin) -> Result<AdminBootstrap> {
    let (email, password, generated) = match (&first.email, &first.password) {
        (Some(email), _) if store::find_by_email(db.reader(), email).await?.is_some() => {
            return Ok(AdminBootstrap::Exists);
        }
        (Some(email), Some(password)) => (email.clone(), password.clone(), false),
        (Some(email), None) => (email.clone(), passwords::generate(), true),
        (None, _) if store::count_admins(db.reader()).await? > 0 => {
            return Ok(AdminBootstrap::Exists);
        }
        (None, _) if first.production => {
            return Ok(AdminBootstrap::Missing);
        }
        (None, _) => (DEV_ADMIN_EMAIL.to_owned(), passwords::generate(), true),
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

/// Checks an email and password against the stored hash. Returns the user id on success.
///
/// # Errors
/// [`Error::Unauthorized`] for an unknown email or a wrong password (one answer for both, in the
/// same time); [`Error::Database`].
pub async fn authenticate(db: &Store, email: &str, password: &str) -> Result<String> {
    if email.chars().count() > MAX_EMAIL_CHARS as usize || password.chars().count() > MAX_PASSWORD_CHARS as usize {
        // Nothing that long was ever accepted; still spend the time of a check.
        passwords::verify(String::new(), passwords::decoy_hash().await?).await;
        return Err(Error::Unauthorized);
    }
    let hash = match store::find_by_email(db.reader(), email.trim()).await? {
        Some(user) => store::password_hash(db.reader(), &user.id).await?.map(|hash| (user.id, hash)),
        None => None,
    };
    match hash {
        Some((user_id, hash)) => {
            if passwords::verify(password.to_owned(), hash).await {
                Ok(user_id)
            } else {
                Err(Error::Unauthorized)
            }
        }
        None => {
            passwords::verify(password.to_owned(), passwords::decoy_hash().await?).await;
            Err(Error::Unauthorized)
        }
    }
}

/// Which users the admin's user list keeps by subscription status: `active`, `trialing`,
/// `past_due` or `paused` keep those whose live subscription has it; `canceled` those without a
/// live subscription.
///
/// # Errors
/// [`Error::Validation`] on `status` for another value.
pub fn status_filter(status: Option<&str>) -> Result<Option<UserStatusFilter>> {
    match status.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => match SubscriptionStatus::parse(s) {
            Some(SubscriptionStatus::Canceled) => Ok(Some(UserStatusFilter::NoLiveSubscription)),
            Some(live) => Ok(Some(UserStatusFilter::Live(live))),
            None => Err(Error::invalid("status", Message::StatusUnknown)),
        },
    }
}

/// A page of users (newest first) with their live plan, optionally only those whose email
/// contains `email_contains` and of one subscription `status` (see [`status_filter`]).
/// `page` is 1-based.
///
/// # Errors
/// [`Error::Validation`] for an unknown status; [`Error::Database`].
pub async fn list_users(
    db: &Store,
    email_contains: Option<&str>,
    status: Option<&str>,
    page: i64,
    page_size: i64,
) -> Result<Page<UserSummary>> {
    let page = page.max(1);
    let email = email_contains.map(str::trim).filter(|e| !e.is_empty());
    let status = status_filter(status)?;
    let (items, total) = store::list_with_plans(db.reader(), email, status, page_size, (page - 1) * page_size).await?;
    Ok(Page { items, total, page, page_size })
}

/// The user with `user_id`, if there is one.
///
/// # Errors
/// [`Error::Database`].
pub async fn find_user(db: &Store, user_id: &str) -> Result<Option<User>> {
    Ok(store::find_by_id(db.reader(), user_id).await?)
}

/// The user with `user_id` as the billing rules name a customer.
///
/// # Errors
/// [`Error::NotFound`] for an unknown user; [`Error::Database`].
pub async fn user_ref(db: &Store, user_id: &str) -> Result<UserRef> {
    let user = find_user(db, user_id).await?.ok_or_else(|| Error::not_found(Entity::User, user_id))?;
    Ok(UserRef::from(user))
}

/// The user with `user_id` as the billing rules act for them now: billed to their personal
/// account, or to the organisation they chose while they are a member of it.
///
/// # Errors
/// [`Error::NotFound`] for an unknown user; [`Error::Database`].
pub async fn billing_user(db: &Store, user_id: &str) -> Result<UserRef> {
    let row =
        store::find_billing_user(db.reader(), user_id).await?.ok_or_else(|| Error::not_found(Entity::User, user_id))?;
    Ok(UserRef::from(row))
}

/// Stores a user's interface language, which follows them across devices. Writes nothing when
/// it is already stored.
///
/// # Errors
/// [`Error::Database`].
pub async fn set_locale(db: &Store, now: i64, user_id: &str, locale: Locale) -> Result<()> {
    let mut tx = db.begin_write().await?;
    store::set_locale(&mut tx, user_id, locale, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Parses a language code for [`set_locale`].
///
/// # Errors
/// [`Error::Validation`] on `locale` for anything but `en` or `ru`.
pub fn parse_locale(code: &str) -> Result<Locale> {
    Locale::parse(code).ok_or_else(|| Error::invalid("locale", Message::LocaleUnknown))
}

/// The user id an audit filter means by `actor`: an email is looked up, anything else (an id,
/// `system`, `system:cli`) is taken as it is.
///
/// # Errors
/// [`Error::Database`].
pub async fn audit_actor_id(db: &Store, actor: &str) -> Result<String> {
    if actor.contains('@') {
        Ok(store::find_by_email(db.reader(), actor).await?.map(|u| u.id).unwrap_or_else(|| actor.to_owned()))
    } else {
        Ok(actor.to_owned())
    }
}
