//! Password hashing: argon2id (default parameters, 19 MiB of memory each) on the blocking thread
//! pool, at most [`concurrency`] at a time so that a flood of sign-ups or logins cannot exhaust
//! memory; and generated passwords.

use crate::{Error, Result};
use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
use argon2::{Argon2, PasswordHash, PasswordVerifier};
use rand::Rng;

/// How many argon2 computations may run at once: one per CPU, at least two. Later ones wait.
pub fn concurrency() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).max(2)
}

/// The permits of [`concurrency`].
fn permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(concurrency()))
}

/// Hashes a password with argon2id into a PHC string, off the async runtime.
///
/// # Errors
/// [`Error::Internal`] if hashing fails (it does not for valid input).
pub async fn hash(password: String) -> Result<String> {
    let _permit = permits().acquire().await.map_err(|e| Error::Internal(format!("hashing permits: {e}")))?;
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
pub async fn verify(password: String, hash: String) -> bool {
    let Ok(_permit) = permits().acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// An argon2 hash of a random password, made once, to verify against for unknown emails (so
/// response times do not tell which emails have accounts).
pub async fn decoy_hash() -> Result<String> {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DECOY.get_or_try_init(|| hash(generate())).await.cloned()
}

/// A random 20-character password from an unambiguous alphabet.
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..20).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}
