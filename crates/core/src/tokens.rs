//! API tokens: creation (shown once), authentication of `Authorization: Bearer` requests, revocation.
//!
//! A token is `trf_` followed by 64 hex digits (32 random bytes); only its SHA-256 is stored, so a
//! database leak does not leak usable tokens. Scopes (issue "Billing core" §1):
//! `user` acts as its owner; `service` acts for any user through a `user_id` field;
//! `admin` may call the admin routes and exists only for admin users.

use crate::clock::Clock;
use crate::store::{Store, tokens as store, users};
use crate::{Error, Result};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tariff_model::{Entity, Message, Role, Scope};

/// Prefix of every Tariff API token, so leaked tokens are easy to recognise and scan for.
pub const TOKEN_PREFIX: &str = "trf_";

/// Parses a scope name (the CLI's `--scope`).
///
/// # Errors
/// [`Error::Validation`] on `scope` for an unknown name.
pub fn parse_scope(text: &str) -> Result<Scope> {
    text.parse().map_err(|_| Error::invalid("scope", Message::ScopeUnknown { value: text.to_owned() }))
}

/// The user a request acts as (or for), and the account it bills: `account_id` is the billing
/// account (personal, or the organisation the user chose, issue 13), `personal_account_id` the
/// user's own; `membership` is the user's role and caps when `account_id` is an organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRef {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub is_admin: bool,
    pub personal_account_id: String,
    pub membership: Option<Membership>,
}

/// A user's place in the organisation they bill to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub role: tariff_model::OrgRole,
    pub caps: tariff_model::MemberCaps,
}

impl UserRef {
    /// The user billing to their personal account.
    pub fn personal(id: String, account_id: String, email: String, is_admin: bool) -> UserRef {
        UserRef { id, personal_account_id: account_id.clone(), account_id, email, is_admin, membership: None }
    }

    /// Paying, topping up and changing or canceling the plan are for owners and admins of an
    /// organisation (anyone on a personal account).
    ///
    /// # Errors
    /// [`Error::Forbidden`] ([`Message::OrgManagersOnly`]) for an organisation's plain member.
    pub fn require_payer(&self) -> Result<()> {
        match &self.membership {
            Some(m) if !m.role.manages() => Err(Error::Forbidden(Message::OrgManagersOnly)),
            _ => Ok(()),
        }
    }

    /// The member's caps in the organisation billed (none on a personal account).
    pub fn caps(&self) -> Option<&tariff_model::MemberCaps> {
        self.membership.as_ref().map(|m| &m.caps).filter(|c| !c.is_empty())
    }
}

impl From<crate::accounts::User> for UserRef {
    /// The user on their personal account (see [`crate::accounts::billing_user`] for the account
    /// they bill to now).
    fn from(user: crate::accounts::User) -> UserRef {
        UserRef::personal(user.id, user.account_id, user.email, user.role == Role::Admin)
    }
}

impl From<users::BillingUserRow> for UserRef {
    fn from(row: users::BillingUserRow) -> UserRef {
        let membership = row.org_role.map(|role| Membership {
            role,
            caps: row.org_caps.as_deref().and_then(|c| serde_json::from_str(c).ok()).unwrap_or_default(),
        });
        UserRef {
            id: row.id,
            account_id: row.account_id,
            email: row.email,
            is_admin: row.role == Role::Admin,
            personal_account_id: row.personal_account_id,
            membership,
        }
    }
}

/// The authenticated caller of an API request.
#[derive(Clone, Debug)]
pub struct Principal {
    pub token_id: String,
    pub scope: Scope,
    pub user: UserRef,
}

impl Principal {
    /// Admin routes need an `admin`-scope token of a user who is still an admin.
    ///
    /// # Errors
    /// [`Error::Forbidden`] otherwise.
    pub fn require_admin(&self) -> Result<()> {
        if self.scope == Scope::Admin && self.user.is_admin {
            Ok(())
        } else {
            Err(Error::Forbidden(Message::AdminTokenRequired))
        }
    }

    /// Service-only routes (batch ingestion) accept `service` and `admin` tokens.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for a `user` token.
    pub fn require_service(&self) -> Result<()> {
        match self.scope {
            Scope::Service => Ok(()),
            Scope::Admin if self.user.is_admin => Ok(()),
            _ => Err(Error::Forbidden(Message::ServiceTokenRequired)),
        }
    }

    /// The user the request is about: the token's owner, or with a `service` (or admin) token the
    /// user named by `user_id`.
    ///
    /// # Errors
    /// [`Error::Forbidden`] when a `user` token names another user; [`Error::NotFound`] for an
    /// unknown `user_id`; [`Error::Database`].
    pub async fn subject(&self, db: &Store, user_id: Option<&str>) -> Result<UserRef> {
        match user_id {
            None => Ok(self.user.clone()),
            Some(id) if id == self.user.id => Ok(self.user.clone()),
            Some(id) => {
                let may_act_for_others = match self.scope {
                    Scope::Service => true,
                    Scope::Admin => self.user.is_admin,
                    Scope::User => false,
                };
                if !may_act_for_others {
                    return Err(Error::Forbidden(Message::OwnUserOnly));
                }
                let user = users::find_billing_user(db.reader(), id)
                    .await?
                    .ok_or_else(|| Error::not_found(Entity::User, id))?;
                Ok(UserRef::from(user))
            }
        }
    }
}

/// SHA-256 of a token, as lower-case hex.
pub fn hash_token(token: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    hex
}

fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{TOKEN_PREFIX}{hex}")
}

/// A token just created: its id and the secret, which is never shown again.
#[derive(Clone, Debug)]
pub struct CreatedToken {
    pub id: String,
    pub token: String,
    pub scope: Scope,
}

/// Creates a token for the user with `email`.
///
/// # Errors
/// [`Error::NotFound`] for an unknown email; [`Error::Validation`] for an empty name or an
/// `admin` scope for a user who is not an admin; [`Error::Database`].
pub async fn create(db: &Store, clock: &dyn Clock, email: &str, name: &str, scope: Scope) -> Result<CreatedToken> {
    let user = users::find_by_email(db.reader(), email).await?.ok_or_else(|| Error::not_found(Entity::User, email))?;
    create_for_user(db, clock, &user.id, user.role == Role::Admin, name, scope).await
}

/// Creates a token for a known user id.
///
/// # Errors
/// As [`create`].
pub async fn create_for_user(
    db: &Store,
    clock: &dyn Clock,
    user_id: &str,
    user_is_admin: bool,
    name: &str,
    scope: Scope,
) -> Result<CreatedToken> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("name", Message::TokenNameInvalid));
    }
    if scope == Scope::Admin && !user_is_admin {
        return Err(Error::invalid("scope", Message::AdminScopeForAdminsOnly));
    }
    let token = generate_token();
    let id = uuid::Uuid::new_v4().to_string();
    let mut tx = db.begin_write().await?;
    store::insert(&mut tx, &id, user_id, name, &hash_token(&token), scope, clock.now()).await?;
    tx.commit().await?;
    Ok(CreatedToken { id, token, scope })
}

/// Resolves a Bearer token to its principal and records its use (at most once a minute).
///
/// The principal is kept for [`crate::store::PRINCIPAL_CACHE_SECONDS`] by token hash, so the hot
/// path (`check`, `consume`) reads no token row; writes through this process that change a
/// principal (revocation, membership, the billed account) empty the cache when they commit.
///
/// # Errors
/// [`Error::Unauthorized`] for a malformed, unknown or revoked token; [`Error::Database`].
pub async fn authenticate(db: &Store, clock: &dyn Clock, token: &str) -> Result<Principal> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() != TOKEN_PREFIX.len() + 64 {
        return Err(Error::Unauthorized);
    }
    let hash = hash_token(token);
    let cache = &db.local.principals;
    // Read before the database: a principal loaded before a commit that changed it carries the
    // older generation and is not served once that commit has bumped it.
    let generation = db.local.principals_generation.load(std::sync::atomic::Ordering::Acquire);
    if let Some(cached) = cache.get(&hash)
        && cached.0 == generation
    {
        return Ok(cached.1.clone());
    }
    let owner = store::find_active_by_hash(db.reader(), &hash).await?.ok_or(Error::Unauthorized)?;
    let now = clock.now();
    if owner.last_used_at.is_none_or(|t| t < now - 60) {
        let db = db.clone();
        let token_id = owner.token_id.clone();
        tokio::spawn(async move {
            let touched = async {
                let mut tx = db.begin_write().await?;
                store::touch(&mut tx, &token_id, now).await?;
                tx.commit().await
            };
            if let Err(e) = touched.await {
                tracing::warn!(error = %e, "could not record token use");
            }
        });
    }
    let principal = Principal { token_id: owner.token_id, scope: owner.scope, user: UserRef::from(owner.user) };
    cache.insert(hash, std::sync::Arc::new((generation, principal.clone())));
    Ok(principal)
}

/// Revokes one of the tokens of the user with `email`.
///
/// # Errors
/// [`Error::NotFound`] for an unknown user, or a token that is not theirs or already revoked.
pub async fn revoke(db: &Store, clock: &dyn Clock, email: &str, token_id: &str) -> Result<()> {
    let user = users::find_by_email(db.reader(), email).await?.ok_or_else(|| Error::not_found(Entity::User, email))?;
    let mut tx = db.begin_write().await?;
    let revoked = store::revoke(&mut tx, token_id, &user.id, clock.now()).await?;
    tx.commit().await?;
    if revoked { Ok(()) } else { Err(Error::not_found(Entity::Token, token_id)) }
}

/// The tokens of the user with `email`, newest first (without secrets).
///
/// # Errors
/// [`Error::NotFound`] for an unknown user; [`Error::Database`].
pub async fn list(db: &Store, email: &str) -> Result<Vec<tariff_model::portal::TokenView>> {
    let user = users::find_by_email(db.reader(), email).await?.ok_or_else(|| Error::not_found(Entity::User, email))?;
    let rows = store::list_for_user(db.reader(), &user.id).await?;
    Ok(rows
        .into_iter()
        .map(|row| tariff_model::portal::TokenView {
            id: row.id,
            name: row.name,
            scope: row.scope,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A principal read before a commit that changed principals and cached after it (a request
    /// racing the commit) is not served: it carries the generation before the commit's bump.
    #[tokio::test]
    async fn a_principal_cached_across_a_change_is_not_served() {
        let db = Store::connect("sqlite::memory:", 1).await.unwrap();
        db.migrate().await.unwrap();
        let clock = crate::clock::SystemClock;
        let new_user = crate::accounts::NewUser {
            email: "racer@example.com".into(),
            password: "correct horse battery".into(),
            name: "Racer".into(),
            admin: false,
        };
        crate::accounts::create_user(&db, clock.now(), new_user).await.unwrap();
        let created = create(&db, &clock, "racer@example.com", "t", Scope::User).await.unwrap();
        let fresh = authenticate(&db, &clock, &created.token).await.unwrap();
        // The racing request read the principal before the commit below...
        let mut stale = fresh.clone();
        stale.user.account_id = "an account it no longer bills".into();
        let generation = db.local.principals_generation.load(std::sync::atomic::Ordering::Acquire);
        let mut tx = db.begin_write().await.unwrap();
        tx.principals_changed();
        tx.commit().await.unwrap();
        // ...and cached it after the commit had emptied the cache.
        db.local.principals.insert(hash_token(&created.token), std::sync::Arc::new((generation, stale)));
        let seen = authenticate(&db, &clock, &created.token).await.unwrap();
        assert_eq!(seen.user.account_id, fresh.user.account_id, "the stale principal was served");
    }

    #[test]
    fn tokens_are_prefixed_and_hashed() {
        let token = generate_token();
        assert!(token.starts_with(TOKEN_PREFIX));
        assert_eq!(token.len(), TOKEN_PREFIX.len() + 64);
        assert_eq!(hash_token(&token).len(), 64);
        assert_ne!(hash_token(&token), hash_token(&generate_token()));
        assert_eq!(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
