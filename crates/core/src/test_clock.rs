//! The sandbox's test clock (issue 14.4): admins move "now" forward and the scheduler runs what
//! falls due on the way, in order, exactly as it would at those times. Only forward, by 1 second
//! to [`MAX_ADVANCE_SECONDS`]; the offset is stored in `billing_test_clock` so every process on
//! the database agrees (each refreshes it on every scheduler run). The app offers it only with
//! the sandbox on.

use crate::clock::TestClock;
use crate::store::{Store, subscriptions, test_clock as store};
use crate::{Error, Result};
use tariff_model::Message;

/// The furthest one call may move the clock: five years, in seconds.
pub const MAX_ADVANCE_SECONDS: i64 = 5 * 366 * 86_400;

/// At most this many due moments are stepped through in one advance; beyond, the rest is run at
/// the target time at once.
pub const MAX_STEPS: usize = 500;

/// Checks an advance: 1 second to [`MAX_ADVANCE_SECONDS`].
///
/// # Errors
/// [`Error::Validation`] on `advance_seconds`.
pub fn validate(advance_seconds: i64) -> Result<()> {
    if (1..=MAX_ADVANCE_SECONDS).contains(&advance_seconds) {
        Ok(())
    } else {
        Err(Error::invalid("advance_seconds", Message::ClockForwardOnly))
    }
}

/// Reads the stored offset into `clock` (at start and on every scheduler run).
///
/// # Errors
/// [`Error::Database`].
pub async fn refresh(db: &Store, clock: &TestClock) -> Result<()> {
    clock.raise_offset(store::offset(db.reader()).await?);
    Ok(())
}

/// Moves `clock` to `to` (Unix seconds; never backwards), stored for every process.
///
/// # Errors
/// [`Error::Database`].
pub async fn move_to(db: &Store, clock: &TestClock, to: i64) -> Result<()> {
    set_offset(db, clock, to - clock.base_now()).await
}

/// Sets `clock`'s offset to `offset_seconds` (never lower), stored for every process. An advance
/// ends with this rather than [`move_to`] its target time: the wall clock runs on while the due
/// moments are stepped through, and the offset must still grow by exactly the advance asked for.
/// (Advances are one at a time within a process; two processes advancing at once both start
/// from the same offset, and the larger result is kept.)
///
/// # Errors
/// [`Error::Database`].
pub async fn set_offset(db: &Store, clock: &TestClock, offset_seconds: i64) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let stored = store::set_forward(&mut tx, offset_seconds, clock.base_now()).await?;
    tx.commit().await?;
    clock.raise_offset(stored);
    Ok(())
}

/// The next moment in `(after, until]` at which a subscription has something due.
///
/// # Errors
/// [`Error::Database`].
pub async fn next_due(db: &Store, after: i64, until: i64) -> Result<Option<i64>> {
    Ok(subscriptions::next_due_at(db.reader(), after, until).await?)
}
