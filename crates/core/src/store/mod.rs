//! The store: sqlx on SQLite or PostgreSQL through the `Any` driver, so that one set of queries
//! (with `$1` placeholders) serves both dialects. One file per aggregate; no business rules here.
//!
//! Conventions: money in minor units (`bigint`), time in Unix seconds (`bigint`), JSON as text,
//! booleans as `boolean` on PostgreSQL and 0/1 on SQLite (read them with [`get_bool`]), states as
//! their enum's name (read them with [`get_enum`]: an unknown value is a decode error).
//!
//! Reads take any executor (the pool through [`Store::reader`], or a transaction); the quota
//! standing of the hot path reads on connections of its own ([`Store::hot_standing`]). Every write
//! takes a [`WriteTx`], the only way to write: on SQLite it holds this process's place in the
//! writer queue, so no code can bypass the queue.

pub mod audit;
pub mod balances;
pub mod charges;
pub(crate) mod committer;
pub mod events;
pub mod features;
pub mod leases;
pub mod orgs;
pub mod plans;
pub mod reservations;
pub mod revenue;
pub mod sessions;
pub mod subscriptions;
pub mod test_clock;
pub mod tokens;
pub mod transactions;
pub mod trials;
pub mod usage;
pub mod users;
pub mod webhooks;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor, Row};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument as _;

/// The error of a database call.
pub use sqlx::Error as DatabaseError;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");

/// Which SQL database the store talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The dialect a `DATABASE_URL` names.
    pub fn from_url(url: &str) -> Option<Dialect> {
        if url.starts_with("sqlite:") {
            Some(Dialect::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Dialect::Postgres)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SQLite",
            Dialect::Postgres => "PostgreSQL",
        }
    }
}

/// Why the store could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL (use sqlite:... or postgres://...)")]
    UnsupportedUrl,
    #[error("cannot create the directory for the SQLite database {path}: {source}")]
    CreateDir { path: String, source: std::io::Error },
    #[error("cannot connect to the {dialect} database: {source}")]
    Connect { dialect: &'static str, source: sqlx::Error },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A connection pool plus the dialect it speaks. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    /// The hot path's reads (see [`Store::hot_standing`]); `None` for an in-memory SQLite database,
    /// which a connection opened beside the pool would not share.
    hot: Option<deadpool::managed::Pool<HotConnections>>,
    dialect: Dialect,
    /// Queue of this process's SQLite writers (see [`Store::begin_write`]).
    sqlite_writer: Arc<tokio::sync::Mutex<()>>,
    /// What this process keeps beside the database: the principal cache and the group
    /// committer of consumes.
    pub(crate) local: Arc<Local>,
}

/// How long an authenticated token's principal is reused without reading the database, in
/// seconds: a change made through this process (revoking a token, switching the billed account,
/// a membership change) is seen at once; one made by another process (`tariff token revoke`,
/// another replica) within this time.
pub const PRINCIPAL_CACHE_SECONDS: u64 = 2;
/// The most principals cached (one per token in use).
const PRINCIPAL_CACHE_ENTRIES: u64 = 100_000;
/// How long a plan's parsed limits are kept, in seconds. They are keyed by the plan's
/// `updated_at`, so an edit is seen at once by every process; only two edits within one second
/// made by another process can be seen this late (edits through this process empty the cache).
pub const PLAN_CACHE_SECONDS: u64 = 60;
/// The most plan versions cached.
const PLAN_CACHE_ENTRIES: u64 = 10_000;

/// State of one process kept with its [`Store`].
pub(crate) struct Local {
    /// Principals by token hash (see [`PRINCIPAL_CACHE_SECONDS`]), each with the
    /// [`Local::principals_generation`] read before it was loaded.
    pub principals: moka::sync::Cache<String, Arc<(u64, crate::tokens::Principal)>>,
    /// Bumped by every commit that changed a principal, before the cache is emptied: a cached
    /// principal of an older generation is not served. This closes the window in which a
    /// principal read from the database just before such a commit is put into the cache just
    /// after it was emptied (a stale account or membership for up to 2 s).
    pub principals_generation: Arc<std::sync::atomic::AtomicU64>,
    /// The group committer of consumes, started on first use (see [`crate::usage::group`]).
    pub consumer: std::sync::OnceLock<crate::usage::group::Committer>,
    /// The group committer of feature charges, started on first use (see
    /// [`crate::balance::group`]).
    pub charger: std::sync::OnceLock<crate::balance::group::Committer>,
    /// The group committer of reservations' holds, commits and releases, started on first use
    /// (see [`crate::usage::reserve`]).
    pub reserver: std::sync::OnceLock<crate::usage::reserve::Committer>,
    /// Plans' parsed quotas, overage prices and discount by plan id and version (`updated_at`);
    /// see [`crate::usage::plan_limits`].
    pub plan_limits: moka::sync::Cache<(String, i64), Arc<crate::usage::PlanLimits>>,
    /// Woken after the commit of a transaction that wrote events (the webhook worker waits on it).
    pub events: Arc<tokio::sync::Notify>,
    /// The same for the mailer of customer emails.
    pub mail: Arc<tokio::sync::Notify>,
    /// The server's default low-balance threshold, minor units (`BILLING_LOW_BALANCE`): the
    /// `balance.low` event fires when a debit takes a balance below it (or the account's own).
    pub low_balance_minor: Arc<std::sync::atomic::AtomicI64>,
    /// Customer emails are sent (`SMTP_URL` is set): events of a kind with an email are written
    /// with their email pending.
    pub emails: Arc<std::sync::atomic::AtomicBool>,
}

impl Local {
    fn new() -> Local {
        Local {
            principals: moka::sync::Cache::builder()
                .max_capacity(PRINCIPAL_CACHE_ENTRIES)
                .time_to_live(Duration::from_secs(PRINCIPAL_CACHE_SECONDS))
                .build(),
            principals_generation: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            consumer: std::sync::OnceLock::new(),
            charger: std::sync::OnceLock::new(),
            reserver: std::sync::OnceLock::new(),
            plan_limits: moka::sync::Cache::builder()
                .max_capacity(PLAN_CACHE_ENTRIES)
                .time_to_live(Duration::from_secs(PLAN_CACHE_SECONDS))
                .build(),
            events: Arc::new(tokio::sync::Notify::new()),
            mail: Arc::new(tokio::sync::Notify::new()),
            low_balance_minor: Arc::new(std::sync::atomic::AtomicI64::new(0)),
            emails: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        }
    }
}

impl std::fmt::Debug for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local").field("principals", &self.principals.entry_count()).finish_non_exhaustive()
    }
}

/// A write transaction (see [`Store::begin_write`]): the store's write functions take it, reads
/// may use [`WriteTx::conn`]. Finish with [`WriteTx::commit`]; dropping it rolls back.
///
/// On SQLite it holds this process's writer slot until the database's write lock is free again:
/// a transaction dropped unfinished (a request whose client hung up mid-write) is rolled back in
/// a task that keeps the slot until the rollback has run, and a commit keeps it until the commit
/// has run even when its caller stops waiting. Otherwise the next writer's `BEGIN IMMEDIATE`
/// would meet a lock still held by a statement that was running when its caller went away, and
/// wait for it in SQLite's busy handler, failing with "database is locked" after the 5 s busy
/// timeout if the statement was slow (a write stalled on the disk).
pub struct WriteTx {
    /// `None` only once the transaction has ended (commit, rollback, drop).
    tx: Option<sqlx::Transaction<'static, sqlx::Any>>,
    writer: Option<tokio::sync::OwnedMutexGuard<()>>,
    local: Arc<Local>,
    /// Set by writes that change who a token acts for (tokens, memberships, the billed account):
    /// the commit empties the principal cache.
    principals_changed: bool,
    /// Set by plan writes: the commit empties the plan-limits cache.
    plans_changed: bool,
    /// What to do once the commit succeeded (metrics of what the transaction did).
    after_commit: Vec<Box<dyn FnOnce() + Send>>,
    dialect: Dialect,
}

/// A point inside a [`WriteTx`] that it can go back to ([`WriteTx::savepoint`]).
#[must_use = "a savepoint is released or rolled back to"]
pub(crate) struct Savepoint {
    /// How many after-commit actions the transaction had when it was taken.
    after_commit: usize,
}

impl WriteTx {
    /// The transaction's connection, as an executor for reads inside the transaction.
    pub fn conn(&mut self) -> &mut sqlx::AnyConnection {
        self.tx.as_mut().expect("a write transaction is open until it ends")
    }

    /// Marks the transaction as changing what a token's principal is (see [`Local::principals`]).
    pub(crate) fn principals_changed(&mut self) {
        self.principals_changed = true;
    }

    /// Marks the transaction as changing a plan (see [`Local::plan_limits`]).
    pub(crate) fn plans_changed(&mut self) {
        self.plans_changed = true;
    }

    /// The dialect of the transaction's database.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The server's default low-balance threshold, minor units (see [`Store::set_low_balance_default`]).
    pub(crate) fn low_balance_default(&self) -> i64 {
        self.local.low_balance_minor.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether customer emails are sent (see [`Store::set_emails`]).
    pub(crate) fn emails(&self) -> bool {
        self.local.emails.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Wakes the webhook worker once the transaction commits (it wrote events).
    pub(crate) fn events_written(&mut self) {
        let (events, mail) = (self.local.events.clone(), self.local.mail.clone());
        self.after_commit(move || {
            events.notify_one();
            mail.notify_one();
        });
    }

    /// Runs `f` after the transaction commits (never when it rolls back).
    pub(crate) fn after_commit(&mut self, f: impl FnOnce() + Send + 'static) {
        self.after_commit.push(Box::new(f));
    }

    /// Marks where [`WriteTx::rollback_to`] goes back to: one write of a group that may fail on
    /// its own (see [`crate::usage::reserve`]). Savepoints of one transaction are not nested:
    /// each is released or rolled back to before the next.
    pub(crate) async fn savepoint(&mut self) -> Result<Savepoint, sqlx::Error> {
        self.conn().execute("savepoint grouped_write").await?;
        Ok(Savepoint { after_commit: self.after_commit.len() })
    }

    /// Keeps what was written since `savepoint` (it commits with the transaction).
    pub(crate) async fn release(&mut self, _savepoint: Savepoint) -> Result<(), sqlx::Error> {
        self.conn().execute("release savepoint grouped_write").await.map(|_| ())
    }

    /// Undoes what was written since `savepoint`, and what it asked to run after the commit;
    /// the transaction goes on (on PostgreSQL also after a failed statement).
    pub(crate) async fn rollback_to(&mut self, savepoint: Savepoint) -> Result<(), sqlx::Error> {
        self.conn().execute("rollback to savepoint grouped_write").await?;
        self.after_commit.truncate(savepoint.after_commit);
        self.conn().execute("release savepoint grouped_write").await.map(|_| ())
    }

    /// Commits, then lets the next writer in. The commit and what follows it (emptying the caches
    /// it changed, the after-commit actions) run to their end in a task of their own, even if
    /// the caller stops waiting; on SQLite that task holds the writer slot until the commit has
    /// run. (A commit that fails leaves sqlx to roll back on the connection's next use: that is
    /// not awaited before the slot is freed.)
    ///
    /// # Errors
    /// The database error of the commit; [`sqlx::Error::WorkerCrashed`] if the commit's task
    /// panicked or was cancelled by the runtime shutting down.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        let tx = self.tx.take().expect("a write transaction is open until it ends");
        let writer = self.writer.take();
        let local = self.local.clone();
        let (principals_changed, plans_changed) = (self.principals_changed, self.plans_changed);
        let after_commit = std::mem::take(&mut self.after_commit);
        let finish = async move {
            tx.commit().await?;
            drop(writer);
            if principals_changed {
                local.principals_generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
                local.principals.invalidate_all();
            }
            if plans_changed {
                local.plan_limits.invalidate_all();
            }
            for f in after_commit {
                f();
            }
            Ok(())
        };
        tokio::spawn(finish.instrument(tracing::Span::current())).await.map_err(|_| sqlx::Error::WorkerCrashed)?
    }

    /// Rolls back, then lets the next writer in (on SQLite in a task that holds the writer slot
    /// until the rollback has run, even if the caller stops waiting).
    ///
    /// # Errors
    /// The database error of the rollback; [`sqlx::Error::WorkerCrashed`] as for
    /// [`WriteTx::commit`].
    pub async fn rollback(mut self) -> Result<(), sqlx::Error> {
        let tx = self.tx.take().expect("a write transaction is open until it ends");
        match self.writer.take() {
            Some(writer) => tokio::spawn(
                async move {
                    let rolled_back = tx.rollback().await;
                    drop(writer);
                    rolled_back
                }
                .instrument(tracing::Span::current()),
            )
            .await
            .map_err(|_| sqlx::Error::WorkerCrashed)?,
            None => tx.rollback().await,
        }
    }
}

impl Drop for WriteTx {
    /// A transaction dropped unfinished: sqlx queues its rollback behind whatever its connection
    /// is still running; on SQLite a task awaits that rollback before it frees the writer slot.
    /// (Outside a runtime, which only happens at shutdown, the slot is freed at once.)
    fn drop(&mut self) {
        let Some(tx) = self.tx.take() else { return };
        match (self.writer.take(), tokio::runtime::Handle::try_current()) {
            (Some(writer), Ok(runtime)) => {
                let rollback = async move {
                    if let Err(e) = tx.rollback().await {
                        tracing::warn!(target: crate::LOG_TARGET, error = %e, "rolling back an abandoned write transaction failed");
                    }
                    drop(writer);
                };
                runtime.spawn(rollback.instrument(tracing::Span::current()));
            }
            _ => drop(tx),
        }
    }
}

impl Store {
    /// Opens a pool on `url`. For SQLite the database file's directory is created if missing and
    /// every connection uses WAL journaling, foreign keys, a 5 s busy timeout and a 64 MiB page cache.
    ///
    /// # Errors
    /// [`StoreError::UnsupportedUrl`], [`StoreError::CreateDir`] or [`StoreError::Connect`].
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::from_url(url).ok_or(StoreError::UnsupportedUrl)?;
        if dialect == Dialect::Sqlite {
            ensure_sqlite_dir(url)?;
        }
        // No ping before handing out a connection (sqlx's default): it doubled the round trips
        // of every query. A connection that broke (the database restarted) fails its next query
        // once, which answers 503 and is closed by the pool.
        let mut options = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .test_before_acquire(false);
        if dialect == Dialect::Sqlite {
            options = options.after_connect(|conn, _meta| Box::pin(sqlite_pragmas(conn)));
        }
        let pool =
            options.connect(url).await.map_err(|source| StoreError::Connect { dialect: dialect.name(), source })?;
        let in_memory = dialect == Dialect::Sqlite && (url.contains(":memory:") || url.contains("mode=memory"));
        let hot = (!in_memory).then(|| {
            deadpool::managed::Pool::builder(HotConnections { url: url.to_owned(), dialect })
                .max_size(HOT_CONNECTIONS)
                .runtime(deadpool::Runtime::Tokio1)
                .wait_timeout(Some(Duration::from_secs(5)))
                .create_timeout(Some(Duration::from_secs(5)))
                .build()
                .expect("a runtime and its timeouts are set")
        });
        let local = Arc::new(Local::new());
        if dialect == Dialect::Sqlite && !in_memory {
            checkpoint_in_background(url.to_owned(), pool.clone(), Arc::downgrade(&local));
        }
        Ok(Store { pool, hot, dialect, sqlite_writer: Arc::new(tokio::sync::Mutex::new(())), local })
    }

    /// Applies the pending migrations of this dialect (`migrations/sqlite` or `migrations/postgres`).
    ///
    /// # Errors
    /// [`StoreError::Migrate`] when a migration fails or an applied one was changed.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.dialect {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// Sets the default low-balance threshold, minor units (`BILLING_LOW_BALANCE`), that decides
    /// when a debit writes a `balance.low` event for an account without its own threshold.
    pub fn set_low_balance_default(&self, minor: i64) {
        self.local.low_balance_minor.store(minor, std::sync::atomic::Ordering::Relaxed);
    }

    /// Turns customer emails on (`SMTP_URL` is set): from now on an event of a kind with an email
    /// is written with its email pending, for the mailer.
    pub fn set_emails(&self, on: bool) {
        self.local.emails.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Notified after every commit that wrote events: the webhook worker waits on it between polls.
    pub fn events_notify(&self) -> Arc<tokio::sync::Notify> {
        self.local.events.clone()
    }

    /// Notified after every commit that wrote events: the mailer waits on it between polls.
    pub fn mail_notify(&self) -> Arc<tokio::sync::Notify> {
        self.local.mail.clone()
    }

    /// Round-trips a trivial query; used by `GET /healthz`.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("select 1").execute(&self.pool).await.map(|_| ())
    }

    /// Starts a transaction that will write.
    ///
    /// SQLite has one writer at a time. Left to itself, a waiting writer sleeps in SQLite's busy
    /// handler (up to 100 ms a nap), which wrecks tail latency under load; so this process queues
    /// its writers on an async mutex (FIFO, no sleeping), and the transaction still begins with
    /// `BEGIN IMMEDIATE` so that writers in other processes (the CLI) wait on the busy timeout
    /// instead of failing with `SQLITE_BUSY` after a read. PostgreSQL transactions begin as usual.
    ///
    /// # Errors
    /// The database error, e.g. when the lock is not granted within the busy timeout.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        match self.dialect {
            Dialect::Sqlite => {
                let writer = self.sqlite_writer.clone().lock_owned().await;
                // Begun in a task of its own, so that a caller who stops waiting cannot free the
                // writer slot while `BEGIN IMMEDIATE` runs: the task's transaction is then dropped,
                // and its rollback keeps the slot (see [`WriteTx`]).
                let (pool, local, dialect) = (self.pool.clone(), self.local.clone(), self.dialect);
                let begin = async move {
                    let tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                    Ok(WriteTx {
                        tx: Some(tx),
                        writer: Some(writer),
                        local,
                        principals_changed: false,
                        plans_changed: false,
                        after_commit: Vec::new(),
                        dialect,
                    })
                };
                tokio::spawn(begin.instrument(tracing::Span::current()))
                    .await
                    .map_err(|_| sqlx::Error::WorkerCrashed)?
            }
            Dialect::Postgres => Ok(WriteTx {
                tx: Some(self.pool.begin().await?),
                writer: None,
                local: self.local.clone(),
                principals_changed: false,
                plans_changed: false,
                after_commit: Vec::new(),
                dialect: self.dialect,
            }),
        }
    }

    /// The same database and caches without the committer: what the committer itself works
    /// with, so that it does not keep itself alive (it ends when the last [`Store`] goes).
    pub(crate) fn detached(&self) -> Store {
        let local = Local {
            principals: self.local.principals.clone(),
            principals_generation: self.local.principals_generation.clone(),
            plan_limits: self.local.plan_limits.clone(),
            consumer: std::sync::OnceLock::new(),
            charger: std::sync::OnceLock::new(),
            reserver: std::sync::OnceLock::new(),
            events: self.local.events.clone(),
            mail: self.local.mail.clone(),
            low_balance_minor: self.local.low_balance_minor.clone(),
            emails: self.local.emails.clone(),
        };
        Store { local: Arc::new(local), ..self.clone() }
    }

    /// The pool, for reads only; writes go through [`Store::begin_write`].
    pub(crate) fn reader(&self) -> &AnyPool {
        &self.pool
    }

    /// Where `account_id` stands on `metric` ([`usage::standing`]), read on one of the hot
    /// path's [`HOT_CONNECTIONS`] connections: the quota read of every `check` and of a consume
    /// outside a group. They are kept beside sqlx's pool because that pool tests every
    /// connection it takes back with a round trip to the database (sqlx-core 0.8
    /// `PoolConnection::return_to_pool` pings), which doubled the round trips of a one-read
    /// request; on SQLite each round trip is two thread switches. A busy connection is handed
    /// out again untested; one idle for [`HOT_IDLE_TEST_SECONDS`] is pinged first, and one older
    /// than [`HOT_MAX_AGE_SECONDS`] is replaced (see [`HotConnections`]). A connection whose read
    /// failed because the database went away ([`crate::error::database_unreachable`]: I/O, TLS,
    /// a crashed SQLite worker, PostgreSQL's shutdown or connection errors) or with a protocol
    /// error is dropped, and the read (which changes nothing) is tried again on another one, up
    /// to [`HOT_CONNECTIONS`] more times. An in-memory SQLite database reads on the pool.
    ///
    /// # Errors
    /// The read's error; [`sqlx::Error::PoolTimedOut`] when no connection frees up within 5 s or
    /// a new one does not open within 5 s; the connect error when a new connection cannot be
    /// opened (the database is down).
    pub(crate) async fn hot_standing(
        &self,
        account_id: &str,
        metric: &str,
    ) -> Result<Option<usage::Standing>, sqlx::Error> {
        use deadpool::managed::{Object, PoolError};
        let Some(hot) = &self.hot else {
            return usage::standing(self.reader(), account_id, metric).await;
        };
        let mut tries = 0;
        loop {
            tries += 1;
            let mut conn = hot.get().await.map_err(|e| match e {
                PoolError::Backend(e) => e,
                PoolError::Closed => sqlx::Error::PoolClosed,
                PoolError::Timeout(_) => sqlx::Error::PoolTimedOut,
                PoolError::NoRuntimeSpecified | PoolError::PostCreateHook(_) => {
                    sqlx::Error::Configuration("the hot path's connections are misconfigured".into())
                }
            })?;
            let result = usage::standing(&mut *conn, account_id, metric).await;
            match &result {
                Err(e) if crate::error::database_unreachable(e) || matches!(e, sqlx::Error::Protocol(_)) => {
                    drop(Object::take(conn));
                    // Every other idle connection may have gone the same way; once they are
                    // dropped, the next try opens a new one (or fails at once: the database is down).
                    if tries <= HOT_CONNECTIONS {
                        continue;
                    }
                }
                _ => {}
            }
            return result;
        }
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The pool's open connections and how many of them are idle (for `/metrics`).
    pub fn pool_connections(&self) -> (u32, u32) {
        (self.pool.size(), u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX))
    }

    /// The hot path's connections ([`Store::hot_standing`]): open, and idle among them (for
    /// `/metrics`). `(0, 0)` for an in-memory SQLite database, which has none.
    pub fn hot_connections(&self) -> (usize, usize) {
        self.hot.as_ref().map_or((0, 0), |hot| {
            let status = hot.status();
            (status.size, status.available)
        })
    }

    /// Consumes queued for this process's group committer and not yet taken (for `/metrics`).
    pub fn consumes_waiting(&self) -> usize {
        self.local.consumer.get().map_or(0, crate::usage::group::Committer::waiting)
    }

    /// Closes every connection; pending queries finish first.
    pub async fn close(&self) {
        if let Some(hot) = &self.hot {
            hot.close();
        }
        self.pool.close().await;
    }
}

/// How many connections [`Store::hot_standing`] keeps open, beside the pool's
/// `DATABASE_MAX_CONNECTIONS`. A read takes tens of microseconds, so a few serve every core.
pub const HOT_CONNECTIONS: usize = 4;

/// A hot-path connection unused for this long (seconds) is pinged before it is handed out, so
/// that one a proxy, firewall or `idle_session_timeout` closed is replaced instead of failing a
/// request.
pub const HOT_IDLE_TEST_SECONDS: u64 = 30;

/// A hot-path connection is replaced after this long (seconds), as sqlx's pool retires its own
/// (`max_lifetime`, 30 min).
pub const HOT_MAX_AGE_SECONDS: u64 = 30 * 60;

/// Opens the connections of [`Store::hot_standing`]: on SQLite with the pool's settings
/// ([`sqlite_pragmas`]). Handing one out again tests it only when it was idle for
/// [`HOT_IDLE_TEST_SECONDS`]; one older than [`HOT_MAX_AGE_SECONDS`] is replaced.
struct HotConnections {
    url: String,
    dialect: Dialect,
}

impl std::fmt::Debug for HotConnections {
    // Without the URL: it may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotConnections").field("dialect", &self.dialect).finish_non_exhaustive()
    }
}

impl deadpool::managed::Manager for HotConnections {
    type Type = sqlx::AnyConnection;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<sqlx::AnyConnection, sqlx::Error> {
        use sqlx::Connection;
        let mut conn = sqlx::AnyConnection::connect(&self.url).await?;
        if self.dialect == Dialect::Sqlite {
            sqlite_pragmas(&mut conn).await?;
        }
        Ok(conn)
    }

    async fn recycle(
        &self,
        conn: &mut sqlx::AnyConnection,
        metrics: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<sqlx::Error> {
        use sqlx::Connection;
        if metrics.age() > Duration::from_secs(HOT_MAX_AGE_SECONDS) {
            return Err(deadpool::managed::RecycleError::message("older than its maximum age"));
        }
        if metrics.last_used() > Duration::from_secs(HOT_IDLE_TEST_SECONDS) {
            conn.ping().await.map_err(deadpool::managed::RecycleError::Backend)?;
        }
        Ok(())
    }
}

/// How often SQLite's write-ahead log is copied into the database file in the background (see
/// [`checkpoint_in_background`]).
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(50);

/// Copies SQLite's write-ahead log into the database file every [`CHECKPOINT_INTERVAL`], on a
/// connection of its own (not one of the pool's) and without waiting for readers or writers
/// (`wal_checkpoint(PASSIVE)`), so that the log mostly starts again before it reaches SQLite's
/// automatic checkpoint (1,000 pages) — and when commits land during a checkpoint and the log
/// keeps growing, that one finds less to copy. The automatic checkpoint runs inside the commit
/// that crosses it, while this process's writer lock is held, and its fsync of the database file
/// made the slowest 1 % of writes. Measured on the charge load (release server, wrk -t1 -c32,
/// three 10 s runs each): p99 12.1–12.5 ms with only the automatic checkpoint, 8.7–8.8 ms with an
/// external process checkpointing the same way, 8.6–9.1 ms with this task (then on a pool
/// connection); the rate unchanged.
/// The task ends when the store's last handle is dropped or its pool is closed.
fn checkpoint_in_background(url: String, pool: AnyPool, local: std::sync::Weak<Local>) {
    tokio::spawn(async move {
        use sqlx::Connection;
        let mut interval = tokio::time::interval(CHECKPOINT_INTERVAL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut conn: Option<sqlx::AnyConnection> = None;
        loop {
            interval.tick().await;
            if local.strong_count() == 0 || pool.is_closed() {
                break;
            }
            if conn.is_none() {
                conn = sqlx::AnyConnection::connect(&url).await.ok();
            }
            let Some(c) = conn.as_mut() else { continue };
            if let Err(e) = c.execute("pragma wal_checkpoint(PASSIVE)").await {
                tracing::debug!(target: crate::LOG_TARGET, error = %e, "a background checkpoint of the SQLite log failed");
                conn = None;
            }
        }
        if let Some(c) = conn {
            let _ = c.close().await;
        }
    });
}

/// Every SQLite connection's settings: WAL journaling, foreign keys, a 5 s busy timeout and a
/// 64 MiB page cache (default 2 MiB: usage tables grow fast), temporary tables in memory.
async fn sqlite_pragmas(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    conn.execute("pragma journal_mode = wal").await?;
    conn.execute("pragma synchronous = normal").await?;
    conn.execute("pragma foreign_keys = on").await?;
    conn.execute("pragma busy_timeout = 5000").await?;
    conn.execute("pragma cache_size = -65536").await?;
    conn.execute("pragma temp_store = memory").await?;
    Ok(())
}

fn ensure_sqlite_dir(url: &str) -> Result<(), StoreError> {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:").split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|source| StoreError::CreateDir { path: parent.display().to_string(), source })?;
    }
    Ok(())
}

/// Reads a boolean column: `boolean` on PostgreSQL, integer 0/1 on SQLite.
pub(crate) fn get_bool(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    match row.try_get::<bool, _>(column) {
        Ok(value) => Ok(value),
        Err(_) => row.try_get::<i64, _>(column).map(|v| v != 0),
    }
}

/// Reads a nullable JSON text column into `T`.
pub(crate) fn get_json<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> Result<Option<T>, sqlx::Error> {
    let text: Option<String> = row.try_get(column)?;
    match text {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| sqlx::Error::ColumnDecode { index: column.to_owned(), source: Box::new(e) }),
    }
}

/// Serialises a value for a JSON text column.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("serialising plain data to JSON cannot fail")
}

/// Reads a text column holding one of an enum's names (an unknown value is a decode error, never
/// a silent default).
pub(crate) fn get_enum<T>(row: &AnyRow, column: &str) -> Result<T, sqlx::Error>
where
    T: std::str::FromStr<Err = tariff_model::UnknownValue>,
{
    let text: String = row.try_get(column)?;
    text.parse().map_err(|e: tariff_model::UnknownValue| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(e),
    })
}

/// Reads a nullable text column holding one of an enum's names.
pub(crate) fn get_enum_opt<T>(row: &AnyRow, column: &str) -> Result<Option<T>, sqlx::Error>
where
    T: std::str::FromStr<Err = tariff_model::UnknownValue>,
{
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| {
        t.parse().map_err(|e: tariff_model::UnknownValue| sqlx::Error::ColumnDecode {
            index: column.to_owned(),
            source: Box::new(e),
        })
    })
    .transpose()
}

/// The live statuses ([`SubscriptionStatus::LIVE`](tariff_model::SubscriptionStatus::LIVE)) as
/// an SQL list of literals, `'active', 'trialing', 'past_due', 'paused'`: fixed values, never
/// input. Written as literals rather than bound, a query's `status in (…)` matches the predicate
/// of the partial unique index `billing_subscription_live_key`, so PostgreSQL finds an account's
/// live subscription with one probe of that index, also in the generic plan of a prepared
/// statement (with bound statuses it reads the account's entries of
/// `billing_subscription_account_status_idx` and filters them).
pub(crate) fn live_statuses() -> &'static str {
    static LIST: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        tariff_model::SubscriptionStatus::LIVE
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    });
    &LIST
}

/// `$first, $first+1, …` for `count` parameters: the placeholders of an `in (…)` list whose
/// values are bound, never formatted into the SQL.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Whether `err` is a violation of the unique index or constraint called `name`.
pub(crate) fn is_unique_violation(err: &sqlx::Error, name: &str) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.is_unique_violation() && (db.constraint() == Some(name) || db.message().contains(name))
        }
        _ => false,
    }
}

/// A billing error met inside a store write (the event hooks), as the store's error type: a
/// database error stays itself, anything else becomes a protocol error carrying its text.
pub(crate) fn into_database_error(e: crate::Error) -> sqlx::Error {
    match e {
        crate::Error::Database(e) => e,
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose caller went away in the middle of a slow statement keeps the writer slot
    /// until its transaction has rolled back: the next writer waits for the slot, and never for
    /// SQLite's lock. The pool's connections get a 100 ms busy timeout here, so a next writer
    /// let in early would fail with "database is locked" while the abandoned statement (about a
    /// second of counting) still holds the lock.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_abandoned_sqlite_writer_keeps_the_slot_until_it_has_rolled_back() {
        let dir = std::env::temp_dir().join(format!("tariff-abandoned-{}", uuid::Uuid::now_v7()));
        let store = Store::connect(&format!("sqlite://{}?mode=rwc", dir.join("w.db").display()), 2).await.unwrap();
        store.pool.execute("create table t (n integer)").await.unwrap();
        let (mut a, mut b) = (store.pool.acquire().await.unwrap(), store.pool.acquire().await.unwrap());
        a.execute("pragma busy_timeout = 100").await.unwrap();
        b.execute("pragma busy_timeout = 100").await.unwrap();
        drop((a, b));
        let slow = "with recursive c(x) as (select 1 union all select x + 1 from c where x < 20000000) \
                    select count(*) from c";
        let writer = async {
            let mut tx = store.begin_write().await.unwrap();
            tx.conn().execute("insert into t values (1)").await.unwrap();
            let _: i64 = sqlx::query_scalar(slow).fetch_one(tx.conn()).await.unwrap();
            tx.commit().await.unwrap();
        };
        // Abandoned 100 ms in, inside the slow statement.
        assert!(tokio::time::timeout(Duration::from_millis(100), writer).await.is_err(), "the statement is slow");
        let mut next = store.begin_write().await.expect("the next writer waits for the slot, not for the lock");
        next.conn().execute("insert into t values (2)").await.unwrap();
        next.commit().await.unwrap();
        let ones: i64 = sqlx::query_scalar("select count(*) from t where n = 1").fetch_one(&store.pool).await.unwrap();
        let twos: i64 = sqlx::query_scalar("select count(*) from t where n = 2").fetch_one(&store.pool).await.unwrap();
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!((ones, twos), (0, 1), "the abandoned writer's insert rolled back, the next one's committed");
    }

    /// What is written reaches the database file within a few background checkpoints, long
    /// before SQLite's own checkpoint at 1,000 pages of log would copy it (the connections stay
    /// open, so no checkpoint on close does it either).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_log_is_checkpointed_in_the_background() {
        let dir = std::env::temp_dir().join(format!("tariff-checkpoint-{}", uuid::Uuid::now_v7()));
        let path = dir.join("log.db");
        let store = Store::connect(&format!("sqlite://{}?mode=rwc", path.display()), 2).await.unwrap();
        store.pool.execute("create table filler (bytes blob)").await.unwrap();
        for _ in 0..40 {
            store.pool.execute("insert into filler values (randomblob(2000))").await.unwrap();
        }
        let pages: i64 =
            sqlx::query_scalar("select page_count * page_size from pragma_page_count(), pragma_page_size()")
                .fetch_one(&store.pool)
                .await
                .unwrap();
        assert!(pages > 20 * 4096, "the writes filled {pages} bytes of pages");
        let mode: String = sqlx::query_scalar("pragma journal_mode").fetch_one(&store.pool).await.unwrap();
        let log = std::fs::metadata(dir.join("log.db-wal")).map(|m| m.len()).unwrap_or(0);
        let mut in_file = 0;
        for _ in 0..1000 {
            in_file = std::fs::metadata(&path).unwrap().len() as i64;
            if in_file == pages {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        // The pages went through the log (WAL mode), not straight into the file.
        assert_eq!((mode.as_str(), log > 0), ("wal", true), "log of {log} bytes");
        assert_eq!(in_file, pages, "the database file holds every page within 20 s");
    }
}
