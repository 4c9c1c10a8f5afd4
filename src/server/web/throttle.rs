//! Throttling of failed logins (the web login form).

use std::collections::HashMap;
use std::sync::Mutex;

/// Counts failed logins per key (email, client address) and refuses further attempts for a while
/// once a key has failed [`LoginThrottle::MAX_FAILURES`] times within
/// [`LoginThrottle::WINDOW_SECONDS`]. A success clears the key.
///
/// Kept in memory (per process): a rate-limit library counts every attempt, but a person who
/// logs in and out often must not be locked out, so only failures count here.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, i64)>>,
}

impl LoginThrottle {
    /// Failures allowed per key in a window before attempts are refused.
    pub const MAX_FAILURES: u32 = 5;
    /// Length of the window in seconds; the lock ends when the window that filled up ends.
    pub const WINDOW_SECONDS: i64 = 15 * 60;

    /// `Err(seconds)` until the keys may try again, when any of them is locked at `now`.
    pub fn check(&self, keys: &[String], now: i64) -> Result<(), i64> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let wait = keys
            .iter()
            .filter_map(|k| failures.get(k))
            .filter(|(count, start)| *count >= Self::MAX_FAILURES && now < start + Self::WINDOW_SECONDS)
            .map(|(_, start)| start + Self::WINDOW_SECONDS - now)
            .max();
        wait.map_or(Ok(()), Err)
    }

    /// Records one failure for each key at `now`.
    pub fn failed(&self, keys: &[String], now: i64) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() > 100_000 {
            failures.retain(|_, (_, start)| now < *start + Self::WINDOW_SECONDS);
        }
        for key in keys {
            let entry = failures.entry(key.clone()).or_insert((0, now));
            if now >= entry.1 + Self::WINDOW_SECONDS {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
    }

    /// Forgets the failures of `keys` (after a successful login).
    pub fn succeeded(&self, keys: &[String]) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            failures.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_the_key_until_the_window_ends() {
        let throttle = LoginThrottle::default();
        let keys = vec!["email:a@example.com".to_owned()];
        for i in 0..5 {
            assert_eq!(throttle.check(&keys, 1000 + i), Ok(()));
            throttle.failed(&keys, 1000 + i);
        }
        assert_eq!(throttle.check(&keys, 1010), Err(LoginThrottle::WINDOW_SECONDS - 10));
        assert_eq!(throttle.check(&keys, 1000 + LoginThrottle::WINDOW_SECONDS), Ok(()));
    }

    #[test]
    fn a_success_clears_the_failures() {
        let throttle = LoginThrottle::default();
        let keys = vec!["email:b@example.com".to_owned()];
        for _ in 0..4 {
            throttle.failed(&keys, 10);
        }
        throttle.succeeded(&keys);
        throttle.failed(&keys, 11);
        assert_eq!(throttle.check(&keys, 12), Ok(()));
    }
}
