//! Backline's store: one typed facade over two native engines, SQLite
//! (rusqlite, the embedded default) and PostgreSQL (sqlx's driver).
//!
//! The store is the source of truth. Every query of the project lives in this
//! crate, as SQL text with numbered placeholders that runs unchanged on both
//! engines (portable types only: TEXT, BIGINT, DOUBLE) through the store's
//! own query layer ([`db`]). No driver type crosses the crate's boundary: the
//! service sees [`WriteTx`], [`Reader`], row types and [`StoreError`].
//!
//! Writes go through [`Store::write`]: one writer task per store runs the
//! queued writes in batches, each write in its own savepoint, and commits the
//! batch once (group commit). A write's `on_commit` hook runs in the writer
//! task right after the commit, in commit order, before its caller is
//! answered: that is where events are published, so publication order equals
//! commit order. Reads use separate connections ([`Store::reader`]).
//!
//! Layout: [`db`] (parameters, rows, the `Exec` trait), `engine` (the
//! executors over either engine), `sqlite` and `postgres` (the engines),
//! `writer` (group commit and its failure rules), `migrate`, [`rows`] (row
//! types), then one module
//! per area with the queries: [`users`], [`groups`], [`tokens`],
//! [`favourites`], [`sessions`], [`transcript`], [`events`], [`contacts`],
//! [`interactions`] (with history search), [`integrations`], [`audit`], [`outbox`],
//! [`calls`] (voice), [`scim`] (provisioning).

pub mod audit;
pub mod calls;
pub mod compliance;
pub mod contacts;
pub mod db;
mod deferred;
mod engine;
pub mod events;
pub mod favourites;
pub mod groups;
pub mod ids;
pub mod integrations;
pub mod interactions;
mod migrate;
pub mod offers;
pub mod oidc;
pub mod outbox;
pub mod outcomes;
mod postgres;
pub mod rows;
pub mod scim;
pub mod sessions;
mod sqlite;
pub mod testing;
pub mod tokens;
pub mod transcript;
pub mod types;
pub mod users;
mod writer;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;

pub use db::Exec;
pub use engine::{ReadConn, Reader, WriteTx};
pub use ids::{CallId, ContactId, GroupId, IntegrationId, InteractionId, SessionId, UserId};
pub use types::{
    CallKind, CallState, ConsultationOutcome, OfferStage, OfferState, ParticipantRole,
    ParticipantState, PartyKind, PartyState, SessionState,
};
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
    /// The write was not stored (its batch failed, or the store cannot write
    /// now); it may be retried.
    #[error("the store could not complete the write: {0}")]
    Unavailable(String),
    /// The configuration names something impossible.
    #[error("store configuration: {0}")]
    Config(String),
    /// Another process holds the data directory.
    #[error("{0}")]
    Locked(String),
    /// The writer has stopped (shutdown).
    #[error("the store is closed")]
    Closed,
    /// A statement failed; the transaction it ran in is still usable.
    #[error("database error: {0}")]
    Database(String),
    /// The engine can no longer be trusted with the transaction: disk full,
    /// I/O error, connection lost. The writer fails the whole batch.
    #[error("database fault: {0}")]
    Fault(String),
    /// A value read back did not have the type the row expects.
    #[error("cannot read a row: {0}")]
    Decode(String),
    #[error("migration failed: {0}")]
    Migrate(String),
}

/// Most writes in one PostgreSQL batch that run inside a savepoint of their
/// own (its per-backend subtransaction cache). Sends whose statements the
/// writer defers take none, and fill a batch up to `max_batch`.
const POSTGRES_MAX_SAVEPOINTS: usize = 64;
/// How long [`Store::ping`] waits for the database.
const PING_TIMEOUT: Duration = Duration::from_millis(450);

/// What the readiness probe writes while the writer is failing: 64 KiB.
static PROBE_FILLER: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| "probe ".repeat(64 * 1024 / 6));

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
    Box<dyn for<'c> FnOnce(&'c mut WriteTx) -> BoxFuture<'c, Result<T, StoreError>> + Send>;

/// The hot rows a write will lock: the sessions it appends to and the users
/// whose streams it appends to (the participants of those sessions count
/// without being named). On PostgreSQL the writer locks the rows of a whole
/// batch at its start, sessions then users, each in id order, so that
/// batches of several nodes touching the same rows never wait on each other
/// in a cycle (a deadlock). SQLite has one writer and ignores them.
#[derive(Debug, Clone, Default)]
pub struct Locks {
    pub(crate) sessions: Vec<String>,
    pub(crate) users: Vec<String>,
}

impl Locks {
    /// A write on one session (and its participants' streams).
    pub fn session(id: &SessionId) -> Locks {
        Locks {
            sessions: vec![id.as_str().to_owned()],
            users: Vec::new(),
        }
    }

    /// A write that appends to these users' streams.
    pub fn users(ids: &[&UserId]) -> Locks {
        Locks {
            sessions: Vec::new(),
            users: ids.iter().map(|id| id.as_str().to_owned()).collect(),
        }
    }

    /// Also appends to these users' streams.
    pub fn add_users<'a>(&mut self, ids: impl IntoIterator<Item = &'a UserId>) {
        self.users
            .extend(ids.into_iter().map(|id| id.as_str().to_owned()));
    }
}

/// What identifies a send: its session, its sender and the sender's client
/// id. A write queued with it ([`Store::enqueue_send_then`]) is a send whose
/// context the PostgreSQL writer reads for the whole batch in one query, and
/// whose transcript entry and stream events it writes with the rest of the
/// batch's in one statement (see `deferred`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SendKey {
    pub(crate) session_id: String,
    pub(crate) actor_id: String,
    pub(crate) client_msg_id: String,
}

impl SendKey {
    /// The send of `client_msg_id` by `actor` in `session`.
    pub fn new(session: &SessionId, actor: &UserId, client_msg_id: &str) -> SendKey {
        SendKey {
            session_id: session.as_str().to_owned(),
            actor_id: actor.as_str().to_owned(),
            client_msg_id: client_msg_id.to_owned(),
        }
    }
}

impl SendKey {
    /// The key of a participant's mark (`sessions::mark_context`,
    /// `sessions::raise_mark`): the batch reads the session's context as
    /// for a send, and finds no earlier message (no send has an empty
    /// client id), and writes the mark with the batch's appends.
    pub fn mark(session_id: &SessionId, user_id: &UserId) -> SendKey {
        SendKey {
            session_id: session_id.as_str().to_owned(),
            actor_id: user_id.as_str().to_owned(),
            client_msg_id: String::new(),
        }
    }
}

/// A queued write's answer: its value once its batch committed.
pub type Pending<T> = BoxFuture<'static, Result<T, StoreError>>;

/// A hook run in the writer task right after a write's commit.
pub type OnCommit<T> = Box<dyn FnOnce(&mut T) + Send>;

/// The facade: the read side and the group-commit writer.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    reader: Reader,
    writer: writer::Writer,
    checkpointer: Option<sqlite::Checkpointer>,
    lock: Mutex<Option<sqlite::DirLock>>,
}

impl Store {
    /// Opens (creating a SQLite file when needed), migrates and starts the writer.
    ///
    /// A SQLite store first takes the data directory's lock: a second
    /// process on the same file is refused with [`StoreError::Locked`].
    pub async fn open(options: &StoreOptions) -> Result<Store, StoreError> {
        let backend = Backend::from_url(&options.url)?;
        let max_batch = options.max_batch.max(1);
        // On PostgreSQL a write that runs statements of its own does so in a
        // savepoint, a subtransaction: past 64 of them in one transaction,
        // every snapshot has to look them up in pg_subtrans.
        let max_savepoints = match backend {
            Backend::Sqlite => max_batch,
            Backend::Postgres => POSTGRES_MAX_SAVEPOINTS,
        };
        let (source, reader, lock, checkpointer) = match backend {
            Backend::Sqlite => {
                let path = sqlite::path_from_url(&options.url)?;
                let lock = sqlite::DirLock::acquire(&path)?;
                let source = engine::Source::Sqlite(path.clone());
                migrate::run(&source)
                    .await
                    .map_err(|e| sqlite::cannot_open(&path, e))?;
                let reader = Reader::sqlite(Arc::new(sqlite::ReadPool::new(
                    path.clone(),
                    options.max_read_connections as usize,
                )));
                let wal = Arc::new(sqlite::WalState::default());
                let checkpointer = sqlite::Checkpointer::start(path.clone(), wal.clone())
                    .map_err(|e| sqlite::cannot_open(&path, e))?;
                (source, reader, Some(lock), Some((checkpointer, wal)))
            }
            Backend::Postgres => {
                let connect = postgres::options(&options.url)?;
                let source = engine::Source::Postgres(Box::new(connect.clone()));
                migrate::run(&source).await?;
                let pool = postgres::pool(connect, options.max_read_connections).await?;
                (source, Reader::postgres(pool), None, None)
            }
        };
        let mut tx = WriteTx::new(source);
        let checkpointer = checkpointer.map(|(checkpointer, wal)| {
            tx.watch_wal(wal);
            checkpointer
        });
        // SQLite's connection opens here (a bad file fails the start);
        // PostgreSQL's on the writer's thread, whose runtime then drives it
        // (the migration above has shown the server answers).
        if backend == Backend::Sqlite {
            if let Err(error) = tx.ensure_open().await {
                return Err(sqlite::cannot_open(
                    &sqlite::path_from_url(&options.url)?,
                    error,
                ));
            }
        }
        let writer = writer::Writer::spawn(tx, max_batch, max_savepoints)?;
        Ok(Store {
            inner: Arc::new(Inner {
                backend,
                reader,
                writer,
                checkpointer,
                lock: Mutex::new(lock),
            }),
        })
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// The read side. Reads see every committed write.
    pub fn reader(&self) -> &Reader {
        &self.inner.reader
    }

    /// One read connection, for several reads in a row.
    pub async fn read_conn(&self) -> Result<ReadConn, StoreError> {
        self.inner.reader.acquire().await
    }

    /// Runs `write` in the next batch and answers once the batch has committed.
    pub async fn write<T: Send + 'static>(&self, write: WriteFn<T>) -> Result<T, StoreError> {
        self.inner.writer.submit(write, None).await
    }

    /// Like [`Store::write`], and runs `on_commit` in the writer task right
    /// after the commit, in commit order, before the caller is answered.
    pub async fn write_then<T: Send + 'static>(
        &self,
        write: WriteFn<T>,
        on_commit: OnCommit<T>,
    ) -> Result<T, StoreError> {
        self.inner.writer.submit(write, Some(on_commit)).await
    }

    /// Queues `write` (and its hook) and returns what answers once its
    /// batch has committed. A caller that enqueues several writes one after
    /// the other gets them committed in that order, and may go on (read its
    /// next request) while they commit: that is how a socket pipelines sends.
    pub async fn enqueue_then<T: Send + 'static>(
        &self,
        locks: Locks,
        write: WriteFn<T>,
        on_commit: OnCommit<T>,
    ) -> Result<Pending<T>, StoreError> {
        self.inner
            .writer
            .enqueue(locks, None, write, Some(on_commit))
            .await
    }

    /// Like [`Store::enqueue_then`], for a send (`sessions::send_context`,
    /// `transcript::append`, `events::append_many`) or a mark: the writer
    /// reads the context of every send of a batch ahead and writes their
    /// entries and events together (`deferred`), and a send that only
    /// appends takes no savepoint.
    pub async fn enqueue_send_then<T: Send + 'static>(
        &self,
        locks: Locks,
        send: SendKey,
        write: WriteFn<T>,
        on_commit: OnCommit<T>,
    ) -> Result<Pending<T>, StoreError> {
        self.inner
            .writer
            .enqueue(locks, Some(send), write, Some(on_commit))
            .await
    }

    /// Why the store cannot write now, if it cannot (a batch failed and the
    /// readiness probe has not committed since).
    pub fn health(&self) -> Option<String> {
        self.inner.writer.health().fault()
    }

    /// Readiness: the read side answers and the writer can write. After a
    /// fault, a probe write as large as a big batch finds out whether it can
    /// again; only its commit clears the fault.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let check = async {
            if let Some(fault) = self.health() {
                self.inner
                    .writer
                    .probe(Box::new(|tx| {
                        Box::pin(async move {
                            // As large as a big batch: a nearly full disk that
                            // still takes a tiny write is not ready.
                            db::query(
                                "UPDATE store_probe SET checked_at = $1, filler = $2 WHERE id = 1",
                            )
                            .bind(now_ms())
                            .bind(PROBE_FILLER.as_str())
                            .execute(tx)
                            .await
                            .map(|_| ())
                        })
                    }))
                    .await
                    .map_err(|_| {
                        StoreError::Unavailable(format!("the store cannot write: {fault}"))
                    })?;
            }
            db::query("SELECT 1").execute(self.reader()).await?;
            Ok(())
        };
        // A load balancer's check must get its answer well inside its own
        // time-out: a database that does not answer is "not ready" now.
        match tokio::time::timeout(PING_TIMEOUT, check).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Unavailable(format!(
                "the database did not answer within {} ms",
                PING_TIMEOUT.as_millis()
            ))),
        }
    }

    /// Group-commit counters: batches and writes committed.
    pub fn writer_stats(&self) -> WriterStats {
        self.inner.writer.stats()
    }

    /// Stops the writer after the queued writes, closes the connections and
    /// releases the data directory.
    pub async fn close(&self) {
        self.inner.writer.close().await;
        if let Some(checkpointer) = &self.inner.checkpointer {
            checkpointer.stop();
        }
        self.inner.reader.close().await;
        self.inner.lock.lock().expect("store lock").take();
    }
}

/// `$1, $2, … $count`: an IN-list of numbered placeholders. Numbered ones
/// work on both backends (`QueryBuilder<Any>` would write `?`, which
/// PostgreSQL does not accept).
pub(crate) fn placeholders(count: usize) -> String {
    placeholders_from(1, count)
}

/// `$first, … $(first + count - 1)`.
pub(crate) fn placeholders_from(first: usize, count: usize) -> String {
    (first..first + count)
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
