//! Throttling of the sign-in and sign-up forms, which run argon2 and so are the cheapest way to
//! load the server without an account:
//! - [`LoginThrottle`] locks an email or a client address for a while after repeated failed
//!   logins. Each attempt reserves its failure *before* the password is verified, so parallel
//!   guesses cannot all pass the check; a success gives it back.
//! - [`AttemptLimits`] caps how many logins and sign-ups one client address may start per minute
//!   and per hour at all (governor's keyed GCRA limiter).
//!
//! Both are in memory, per process, with bounded keys (SHA-256 of the email or address) and
//! entries that expire.

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;

/// A throttle key: SHA-256 of what it is about, so a 2 MB email costs 32 bytes.
pub type ThrottleKey = [u8; 32];

/// The key of an email (lower-cased) or of a client address.
pub fn throttle_key(kind: &str, value: &str) -> ThrottleKey {
    Sha256::digest(format!("{kind}\0{}", value.to_lowercase()).as_bytes()).into()
}

/// Failed logins per key; see the module docs.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<ThrottleKey, (u32, i64)>>,
}

impl LoginThrottle {
    /// Failures allowed per key in a window before attempts are refused.
    pub const MAX_FAILURES: u32 = 5;
    /// Length of the window in seconds; the lock ends when the window that filled up ends.
    pub const WINDOW_SECONDS: i64 = 15 * 60;
    /// Most keys kept; past it, expired entries are dropped, and new keys are not tracked while
    /// it is still full (the per-address [`AttemptLimits`] still apply to them).
    pub const MAX_KEYS: usize = 100_000;

    /// Starts an attempt for `keys` at `now`: `Err(seconds)` until they may try again when any is
    /// locked; otherwise one failure is reserved for each key (call [`LoginThrottle::succeeded`]
    /// when the password was right).
    pub fn begin(&self, keys: &[ThrottleKey], now: i64) -> Result<(), i64> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let wait = keys
            .iter()
            .filter_map(|k| failures.get(k))
            .filter(|(count, start)| *count >= Self::MAX_FAILURES && now < start + Self::WINDOW_SECONDS)
            .map(|(_, start)| start + Self::WINDOW_SECONDS - now)
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        if failures.len() >= Self::MAX_KEYS {
            failures.retain(|_, (_, start)| now < *start + Self::WINDOW_SECONDS);
        }
        for key in keys {
            if failures.len() >= Self::MAX_KEYS && !failures.contains_key(key) {
                continue;
            }
            let entry = failures.entry(*key).or_insert((0, now));
            if now >= entry.1 + Self::WINDOW_SECONDS {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
        Ok(())
    }

    /// Forgets the failures of `keys` (after a successful login).
    pub fn succeeded(&self, keys: &[ThrottleKey]) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            failures.remove(key);
        }
    }

    /// How many keys are tracked.
    pub fn len(&self) -> usize {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How many logins and sign-ups one client address may start: per minute and per hour.
#[derive(Debug)]
pub struct AttemptLimits {
    logins: DefaultKeyedRateLimiter<IpAddr>,
    signups: DefaultKeyedRateLimiter<IpAddr>,
}

impl Default for AttemptLimits {
    fn default() -> Self {
        let per_minute = |n: u32| Quota::per_minute(NonZeroU32::new(n).expect("a positive quota"));
        let per_hour = |n: u32| Quota::per_hour(NonZeroU32::new(n).expect("a positive quota"));
        AttemptLimits {
            // A person logs in a few times a minute at most; a shared office address a bit more.
            logins: RateLimiter::keyed(per_minute(Self::LOGINS_PER_MINUTE)),
            signups: RateLimiter::keyed(
                per_hour(Self::SIGNUPS_PER_HOUR)
                    .allow_burst(NonZeroU32::new(Self::SIGNUP_BURST).expect("a positive burst")),
            ),
        }
    }
}

impl AttemptLimits {
    /// Login attempts per client address per minute.
    pub const LOGINS_PER_MINUTE: u32 = 30;
    /// Sign-ups per client address per hour, after a burst of [`AttemptLimits::SIGNUP_BURST`].
    pub const SIGNUPS_PER_HOUR: u32 = 60;
    pub const SIGNUP_BURST: u32 = 20;

    /// Takes one login attempt of `ip`: `Err(seconds)` to wait when it has none left.
    pub fn login(&self, ip: IpAddr) -> Result<(), u64> {
        Self::take(&self.logins, ip)
    }

    /// Takes one sign-up of `ip`: `Err(seconds)` to wait when it has none left.
    pub fn signup(&self, ip: IpAddr) -> Result<(), u64> {
        Self::take(&self.signups, ip)
    }

    fn take(limiter: &DefaultKeyedRateLimiter<IpAddr>, ip: IpAddr) -> Result<(), u64> {
        limiter.check_key(&ip).map_err(|not_until| {
            let clock = governor::clock::DefaultClock::default();
            not_until.wait_time_from(governor::clock::Clock::now(&clock)).as_secs().max(1)
        })
    }

    /// Drops the state of addresses that are back to a full quota (bounded memory under a flood
    /// of addresses); the background job calls it.
    pub fn shrink(&self) {
        self.logins.retain_recent();
        self.signups.retain_recent();
        self.logins.shrink_to_fit();
        self.signups.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_the_key_until_the_window_ends() {
        let throttle = LoginThrottle::default();
        let keys = [throttle_key("email", "a@example.com")];
        for i in 0..5 {
            assert_eq!(throttle.begin(&keys, 1000 + i), Ok(()));
        }
        assert_eq!(throttle.begin(&keys, 1010), Err(LoginThrottle::WINDOW_SECONDS - 10));
        assert_eq!(throttle.begin(&keys, 1000 + LoginThrottle::WINDOW_SECONDS), Ok(()));
    }

    #[test]
    fn a_success_gives_the_reservation_back() {
        let throttle = LoginThrottle::default();
        let keys = [throttle_key("email", "b@example.com")];
        for _ in 0..4 {
            throttle.begin(&keys, 10).unwrap();
        }
        throttle.succeeded(&keys);
        for _ in 0..5 {
            assert_eq!(throttle.begin(&keys, 11), Ok(()));
        }
        assert!(throttle.begin(&keys, 12).is_err());
    }

    #[test]
    fn keys_are_fixed_size_whatever_the_email() {
        let long = "x".repeat(2 * 1024 * 1024);
        assert_eq!(throttle_key("email", &long).len(), 32);
        assert_eq!(throttle_key("email", "A@Example.com"), throttle_key("email", "a@example.com"));
    }

    #[test]
    fn sign_ups_per_address_are_limited() {
        let limits = AttemptLimits::default();
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        for _ in 0..AttemptLimits::SIGNUP_BURST {
            assert!(limits.signup(ip).is_ok());
        }
        assert!(limits.signup(ip).is_err());
        assert!(limits.signup("203.0.113.8".parse().unwrap()).is_ok(), "other addresses are unaffected");
    }
}
