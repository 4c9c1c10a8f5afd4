//! The session store of the web UI: tower-sessions records kept in the billing database through
//! the main pool (the SQL is the core store's `app_session`), written through its write
//! transactions like every other write. Expiry is wall-clock time, as tower-sessions computes it
//! (not the billing clock, which tests and the admin test clock move).

use async_trait::async_trait;
use tariff_core::store::{DatabaseError, Store, sessions};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

/// Sessions in the billing database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DatabaseSessions {
    store: Store,
}

/// Now, wall-clock Unix seconds.
fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl DatabaseSessions {
    pub fn new(store: Store) -> DatabaseSessions {
        DatabaseSessions { store }
    }

    /// Deletes expired sessions. Returns how many.
    ///
    /// # Errors
    /// The database error.
    pub async fn delete_expired(&self) -> Result<u64, DatabaseError> {
        let mut tx = self.store.begin_write().await?;
        let deleted = sessions::delete_expired(&mut tx, now()).await?;
        tx.commit().await?;
        Ok(deleted)
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn encode(record: &Record) -> session_store::Result<String> {
    serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))
}

#[async_trait]
impl SessionStore for DatabaseSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = encode(record)?;
        let expires_at = record.expiry_date.unix_timestamp();
        loop {
            let mut tx = self.store.begin_write().await.map_err(backend)?;
            let created =
                sessions::create(&mut tx, &record.id.to_string(), &data, expires_at).await.map_err(backend)?;
            tx.commit().await.map_err(backend)?;
            if created {
                return Ok(());
            }
            // An id collision (2^-128 per pair): draw another.
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = encode(record)?;
        let mut tx = self.store.begin_write().await.map_err(backend)?;
        sessions::save(&mut tx, &record.id.to_string(), &data, record.expiry_date.unix_timestamp())
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some((data, expires_at)) = sessions::load(&self.store, &id.to_string(), now()).await.map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(expires_at).map_err(backend)?;
        Ok(Some(Record { id: *id, data, expiry_date }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let mut tx = self.store.begin_write().await.map_err(backend)?;
        sessions::delete(&mut tx, &id.to_string()).await.map_err(backend)?;
        tx.commit().await.map_err(backend)
    }
}
