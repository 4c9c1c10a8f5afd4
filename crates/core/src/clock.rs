//! The injectable source of "now" (DESIGN.md "Time"). Every rule that depends on time reads a
//! [`Clock`], so tests and the admin test clock can move time without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Current time in Unix seconds.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> i64;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
    }
}

/// A clock that runs with the wall clock plus an adjustable offset, for tests.
#[derive(Debug, Default)]
pub struct OffsetClock {
    offset_seconds: AtomicI64,
}

impl OffsetClock {
    /// Moves time forward (or backward, for negative values) by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.offset_seconds.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> i64 {
        SystemClock.now() + self.offset_seconds.load(Ordering::SeqCst)
    }
}

/// The sandbox's test clock (issue 14.4): another clock plus an offset that only grows. The
/// offset is kept in the database (`billing_test_clock`, see [`crate::test_clock`]) so every
/// process on it agrees; each process caches it here and refreshes it on every scheduler run.
#[derive(Debug)]
pub struct TestClock {
    base: std::sync::Arc<dyn Clock>,
    offset_seconds: AtomicI64,
}

impl TestClock {
    pub fn new(base: std::sync::Arc<dyn Clock>) -> TestClock {
        TestClock { base, offset_seconds: AtomicI64::new(0) }
    }

    /// The offset in seconds.
    pub fn offset(&self) -> i64 {
        self.offset_seconds.load(Ordering::SeqCst)
    }

    /// Sets the offset if it is larger than the current one (time never runs backwards).
    pub fn raise_offset(&self, seconds: i64) {
        self.offset_seconds.fetch_max(seconds, Ordering::SeqCst);
    }

    /// What the wrapped clock says.
    pub fn base_now(&self) -> i64 {
        self.base.now()
    }
}

impl Clock for TestClock {
    fn now(&self) -> i64 {
        self.base.now() + self.offset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_clock_moves_forward() {
        let clock = OffsetClock::default();
        let before = clock.now();
        clock.advance(86_400);
        assert!(clock.now() >= before + 86_400);
    }

    #[test]
    fn the_test_clock_never_runs_backwards() {
        let clock = TestClock::new(std::sync::Arc::new(SystemClock));
        clock.raise_offset(100);
        clock.raise_offset(50);
        assert_eq!(clock.offset(), 100);
        assert!(clock.now() >= clock.base_now() + 100);
    }
}
