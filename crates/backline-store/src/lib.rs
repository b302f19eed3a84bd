//! Backline's store: one facade over SQLite and PostgreSQL.
//!
//! The store is the source of truth. Every query of the project lives in this
//! crate, as runtime-checked SQL text that runs unchanged on both backends
//! through sqlx's `Any` driver (portable types only: TEXT, BIGINT, DOUBLE).
//!
//! Writes go through [`Store::write`]: one writer task per store runs the
//! queued writes in batches, each write in its own savepoint, and commits the
//! batch once (group commit). A write's `on_commit` hook runs in the writer
//! task right after the commit, in commit order, before its caller is
//! answered: that is where events are published, so publication order equals
//! commit order. Reads use a separate pool ([`Store::reader`]).
//!
//! Layout: [`writer`] (group commit), [`rows`] (row types), then one module
//! per area with the queries: [`users`], [`groups`], [`tokens`],
//! [`favourites`], [`sessions`], [`transcript`], [`events`], [`contacts`],
//! [`interactions`] (with history search), [`integrations`], [`audit`], [`outbox`],
//! [`calls`] (voice).

pub mod audit;
pub mod calls;
pub mod contacts;
pub mod events;
pub mod favourites;
pub mod groups;
pub mod integrations;
pub mod interactions;
pub mod outbox;
pub mod rows;
pub mod sessions;
pub mod testing;
pub mod tokens;
pub mod transcript;
pub mod users;
mod writer;

use std::str::FromStr;
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Executor};

pub use sqlx::Any;
pub use writer::WriterStats;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names.
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Config(format!(
                "database url must start with sqlite: or postgres:, got {:?}",
                url.split(':').next().unwrap_or("")
            )))
        }
    }
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (the caller decides what that means).
    #[error("unique constraint violated: {0}")]
    Conflict(String),
    /// A row the operation needs does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The write's own logic refused it (its savepoint was rolled back); the
    /// caller's error travels inside, to be taken back out with `downcast`.
    #[error("write aborted: {0}")]
    Aborted(Box<dyn std::error::Error + Send + Sync>),
    /// The transaction could not be committed, or the write could not be run
    /// (database unreachable): nothing of it was stored.
    #[error("the store could not complete the write: {0}")]
    Unavailable(String),
    /// The configuration names something impossible.
    #[error("store configuration: {0}")]
    Config(String),
    /// The writer task has stopped (shutdown).
    #[error("the store is closed")]
    Closed,
    /// The database answered with an error or could not be reached.
    #[error("database error")]
    Database(#[source] sqlx::Error),
    #[error("migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &error {
            if db.is_unique_violation() {
                return StoreError::Conflict(db.message().to_owned());
            }
        }
        if let sqlx::Error::RowNotFound = error {
            return StoreError::NotFound("row");
        }
        StoreError::Database(error)
    }
}

/// How to open a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://path?mode=rwc` or `postgres://…`.
    pub url: String,
    /// Connections of the read pool.
    pub max_read_connections: u32,
    /// Most writes committed together in one transaction.
    pub max_batch: usize,
}

impl StoreOptions {
    pub fn new(url: impl Into<String>) -> Self {
        StoreOptions {
            url: url.into(),
            max_read_connections: 8,
            max_batch: 512,
        }
    }
}

/// A write to run inside the writer's transaction.
pub type WriteFn<T> =
    Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, StoreError>> + Send>;

/// A hook run in the writer task right after a write's commit.
pub type OnCommit<T> = Box<dyn FnOnce(&mut T) + Send>;

/// The facade: a read pool and the group-commit writer.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    reader: AnyPool,
    writer: writer::Writer,
}

impl Store {
    /// Opens (creating a SQLite file when needed), migrates and starts the writer.
    pub async fn open(options: &StoreOptions) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(&options.url)?;
        let connect = AnyConnectOptions::from_str(&options.url)?;
        let write_pool = pool_options(backend, 1)
            .connect_with(connect.clone())
            .await?;
        migrate(&write_pool, backend).await?;
        let reader = pool_options(backend, options.max_read_connections.max(1))
            .connect_with(connect)
            .await?;
        let writer = writer::Writer::spawn(write_pool, options.max_batch.max(1));
        Ok(Store {
            backend,
            reader,
            writer,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The read pool. Reads see every committed write.
    pub fn reader(&self) -> &AnyPool {
        &self.reader
    }

    /// Runs `write` in the next batch and answers once the batch has committed.
    pub async fn write<T: Send + 'static>(&self, write: WriteFn<T>) -> Result<T, StoreError> {
        self.writer.submit(write, None).await
    }

    /// Like [`Store::write`], and runs `on_commit` in the writer task right
    /// after the commit, in commit order, before the caller is answered.
    pub async fn write_then<T: Send + 'static>(
        &self,
        write: WriteFn<T>,
        on_commit: OnCommit<T>,
    ) -> Result<T, StoreError> {
        self.writer.submit(write, Some(on_commit)).await
    }

    /// Checks that the database answers (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.reader.execute("SELECT 1").await?;
        Ok(())
    }

    /// Group-commit counters: batches and writes committed.
    pub fn writer_stats(&self) -> WriterStats {
        self.writer.stats()
    }

    /// Stops the writer after the queued writes and closes the pools.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

fn pool_options(backend: Backend, max: u32) -> AnyPoolOptions {
    let options = AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(10));
    match backend {
        // WAL lets readers run beside the writer; synchronous=FULL makes a
        // committed transaction survive power loss, which is what
        // "acknowledged means durable" requires.
        Backend::Sqlite => options.after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                )
                .await?;
                Ok(())
            })
        }),
        Backend::Postgres => options,
    }
}

/// Runs the shared migrations, then the backend's own (full-text search).
/// Both sets share sqlx's migrations table, with disjoint version numbers
/// (shared below 1000, backend-specific from 1001), so each set ignores the other's.
async fn migrate(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    let mut shared = sqlx::migrate!("./migrations");
    shared.set_ignore_missing(true);
    shared.run(pool).await.map_err(StoreError::Migrate)?;
    let mut own = match backend {
        Backend::Sqlite => sqlx::migrate!("./migrations-sqlite"),
        Backend::Postgres => sqlx::migrate!("./migrations-postgres"),
    };
    own.set_ignore_missing(true);
    own.run(pool).await.map_err(StoreError::Migrate)
}

/// `$1, $2, … $count`: an IN-list of numbered placeholders. Numbered ones
/// work on both backends (`QueryBuilder<Any>` would write `?`, which
/// PostgreSQL does not accept).
pub(crate) fn placeholders(count: usize) -> String {
    (1..=count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Current time in unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
