//! One process at a time runs the background jobs: a lease in the database (`job_lease`), taken
//! for a while and renewed by its holder on every run. Several `tariff serve` processes on one
//! database (replicas, an overlapping restart) then run each job once; if the holder dies, another
//! takes over once the lease expires.

use crate::Result;
use crate::store::{Store, leases};

/// The lease of the periodic billing jobs.
pub const JOBS: &str = "billing-jobs";

/// Takes or renews the lease `name` for `holder` for `seconds` from `now`. Returns whether
/// `holder` holds it (and so should run the job now).
///
/// # Errors
/// [`crate::Error::Database`].
pub async fn acquire(db: &Store, name: &str, holder: &str, now: i64, seconds: i64) -> Result<bool> {
    let mut tx = db.begin_write().await?;
    let held = leases::acquire(&mut tx, name, holder, now, now + seconds).await?;
    tx.commit().await?;
    Ok(held)
}

/// Gives the lease back (at shutdown), so another process can take over at once.
///
/// # Errors
/// [`crate::Error::Database`].
pub async fn release(db: &Store, name: &str, holder: &str) -> Result<()> {
    let mut tx = db.begin_write().await?;
    leases::release(&mut tx, name, holder).await?;
    tx.commit().await?;
    Ok(())
}
