//! The executors the store's queries run on, over either engine: the
//! writer's transaction ([`WriteTx`]), the read side ([`Reader`]) and one
//! read connection ([`ReadConn`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use futures::future::BoxFuture;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool};

use crate::db::{Exec, Param, Rows, Sql};
use crate::deferred::{Deferred, Flush};
use crate::sessions::SendContext;
use crate::{postgres, sqlite, SendKey, StoreError, UserId};

/// Where the writer's connection comes from.
#[derive(Clone)]
pub(crate) enum Source {
    Sqlite(PathBuf),
    Postgres(Box<PgConnectOptions>),
}

/// The writer's unit of work: the connection of the batch being written.
///
/// Every write of a batch gets `&mut WriteTx` and runs its statements on it.
/// The writer watches it: a statement that fails with a fault (disk full,
/// I/O error, lost connection, a transaction the engine rolled back by
/// itself) is recorded here, whatever the write then does with the error,
/// and fails the whole batch.
pub struct WriteTx {
    source: Source,
    sqlite: Option<rusqlite::Connection>,
    postgres: Option<PgConnection>,
    fault: Option<String>,
    in_batch: bool,
    /// SQLite only (the writer is the file's one writer, the lock sees to
    /// that): each user's last stream seq, so that an append costs no
    /// `users` row write. Read on first use as the greater of
    /// `users.stream_head` (a floor kept by pruning) and the user's highest
    /// stored event; forgotten with the connection.
    heads: HashMap<String, i64>,
    /// Heads changed by the current write (to restore if it is rolled back
    /// to its savepoint) and by the batch's earlier writes.
    undo_write: Vec<(String, Option<i64>)>,
    undo_batch: Vec<(String, Option<i64>)>,
    /// Rows changed since the batch began: SQLite's connection total at the
    /// start of the batch, and PostgreSQL's sum of rows affected.
    changes_at_begin: u64,
    rows_affected: u64,
    /// What the batch read ahead and the appends that wait to be written
    /// together (`deferred`).
    deferred: Deferred,
    /// The current write's savepoint.
    savepoint: Savepoint,
    /// The last write's savepoint waits for its `RELEASE` (sent with the
    /// next `SAVEPOINT`; `COMMIT` needs none).
    release_pending: bool,
    /// The next statement leaves what the batch knows (`keep_read_ahead`).
    keep_next: bool,
    /// Savepoints opened since the writer started (`WriterStats`).
    savepoints: u64,
    /// SQLite: the checkpointer's requests to restart the WAL.
    wal: Option<Arc<sqlite::WalState>>,
    /// Checkpoints the writer ran for them (`WriterStats`).
    wal_checkpoints: u64,
}

/// Where the statements of the current write run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Savepoint {
    /// No write is running, or the batch has one write: its statements run
    /// in the transaction itself (its failure rolls the whole batch back).
    None,
    /// A send: it takes a savepoint only at its first statement of its own.
    Deferred,
    Open,
}

/// Whether a statement only reads (and so leaves what the writer knows true).
fn reads_only(sql: &str) -> bool {
    sql.trim_start()
        .get(..6)
        .is_some_and(|word| word.eq_ignore_ascii_case("select"))
}

impl WriteTx {
    pub(crate) fn new(source: Source) -> WriteTx {
        WriteTx {
            source,
            sqlite: None,
            postgres: None,
            fault: None,
            in_batch: false,
            heads: HashMap::new(),
            undo_write: Vec::new(),
            undo_batch: Vec::new(),
            changes_at_begin: 0,
            rows_affected: 0,
            deferred: Deferred::default(),
            savepoint: Savepoint::None,
            release_pending: false,
            keep_next: false,
            savepoints: 0,
            wal: None,
            wal_checkpoints: 0,
        }
    }

    /// SQLite: listen to the checkpointer (see [`sqlite::WalState`]).
    pub(crate) fn watch_wal(&mut self, wal: Arc<sqlite::WalState>) {
        self.wal = Some(wal);
    }

    /// SQLite, between two batches: when the checkpointer asked for it,
    /// copies the WAL's last frames into the database file, so that the next
    /// write starts the WAL again from its beginning. Only the frames
    /// appended since the checkpointer's pass are left to copy. While the
    /// checkpointer's own pass runs, the writer tries again after its next
    /// batch. A failure stores nothing and loses nothing (the WAL keeps
    /// every frame): it is logged, and the next request tries again.
    pub(crate) fn finish_checkpoint(&mut self) {
        let (Some(conn), Some(wal)) = (&self.sqlite, &self.wal) else {
            return;
        };
        if !wal.restart_wanted() {
            return;
        }
        let started = std::time::Instant::now();
        match sqlite::checkpoint(conn) {
            Ok(sqlite::Checkpoint::Busy) => return,
            Ok(sqlite::Checkpoint::Copied { frames, copied }) if copied < frames => {
                tracing::debug!(
                    frames,
                    copied,
                    "a reader still holds WAL frames; the WAL restarts later"
                );
            }
            Ok(sqlite::Checkpoint::Copied { .. }) => {}
            Err(error) => {
                tracing::warn!(error.message = %error, "the writer's WAL checkpoint failed; retrying at the next request");
            }
        }
        metrics::histogram!("backline_store_writer_checkpoint_seconds")
            .record(started.elapsed().as_secs_f64());
        self.wal_checkpoints += 1;
        wal.answered();
    }

    /// Checkpoints the writer ran for the checkpointer since it started.
    pub(crate) fn wal_checkpoints(&self) -> u64 {
        self.wal_checkpoints
    }

    /// Whether a connection is open.
    pub(crate) fn is_open(&self) -> bool {
        self.sqlite.is_some() || self.postgres.is_some()
    }

    /// Opens the connection when there is none (at start, after a fault).
    pub(crate) async fn ensure_open(&mut self) -> Result<(), StoreError> {
        if self.is_open() {
            return Ok(());
        }
        match &self.source {
            Source::Sqlite(path) => {
                self.sqlite = Some(sqlite::open(path, sqlite::Role::Writer)?);
            }
            Source::Postgres(options) => {
                self.postgres = Some(postgres::connect(options).await?);
            }
        }
        Ok(())
    }

    /// Drops the connection and what was cached with it: the next batch
    /// opens a new one and reads the heads again.
    pub(crate) fn discard(&mut self) {
        self.sqlite = None;
        self.postgres = None;
        self.heads.clear();
        self.undo_write.clear();
        self.undo_batch.clear();
        self.deferred.reset();
    }

    pub(crate) fn begin_batch(&mut self) {
        self.fault = None;
        self.in_batch = true;
        self.changes_at_begin = self.sqlite.as_ref().map_or(0, |c| c.total_changes());
        self.rows_affected = 0;
        self.undo_write.clear();
        self.undo_batch.clear();
        self.deferred.reset();
        self.savepoint = Savepoint::None;
        self.release_pending = false;
    }

    pub(crate) fn end_batch(&mut self) {
        self.in_batch = false;
        self.deferred.reset();
        self.savepoint = Savepoint::None;
        self.release_pending = false;
    }

    /// What the batch read ahead (each locked session's last seq, each
    /// locked user's stream head), which the batch's appends then count on.
    /// PostgreSQL keeps the rows locked until the commit; SQLite's writer is
    /// the file's only writer.
    pub(crate) fn know_locked(&mut self, last_seqs: Vec<(String, i64)>, heads: Vec<(String, i64)>) {
        self.deferred.know(last_seqs, heads);
    }

    /// Reads the context of the batch's sends: one query on PostgreSQL,
    /// one cached statement per send on SQLite.
    pub(crate) async fn load_sends(
        &mut self,
        keys: &[SendKey],
    ) -> Result<Vec<(SendKey, SendContext)>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        if self.sqlite.is_some() {
            let mut contexts = Vec::with_capacity(keys.len());
            for key in keys {
                let context = crate::sessions::load_for_send(
                    &mut *self,
                    &crate::SessionId::from(key.session_id.clone()),
                    &UserId::from(key.actor_id.clone()),
                    &key.client_msg_id,
                )
                .await?;
                if let Some(context) = context {
                    contexts.push((key.clone(), context));
                }
            }
            return Ok(contexts);
        }
        let Some(conn) = self.postgres.as_mut() else {
            return Err(StoreError::Fault("the writer has no connection".into()));
        };
        let loaded = crate::deferred::read_sends(conn, keys).await;
        if let Err(error) = &loaded {
            self.record(error);
        }
        loaded
    }

    /// The contexts of the batch's sends, read after what
    /// [`WriteTx::know_locked`] was told.
    pub(crate) fn know_sends(&mut self, contexts: Vec<(SendKey, SendContext)>) {
        self.deferred.know_sends(contexts);
    }

    /// A send's context as the batch read it ahead, if it did.
    pub(crate) fn read_ahead(&self, key: &SendKey) -> Option<SendContext> {
        if !self.in_batch {
            return None;
        }
        self.deferred.send_context(key)
    }

    /// A session whose seq the batch knows: gives the entry its seq and
    /// keeps it for the batch's next write of appends.
    pub(crate) fn defer_entry(
        &mut self,
        entry: &crate::transcript::AppendEntry<'_>,
    ) -> Option<i64> {
        if !self.in_batch {
            return None;
        }
        self.deferred.entry(entry)
    }

    /// Users whose heads the batch knows: gives each its next stream seq
    /// and keeps the events for the batch's next write of appends.
    pub(crate) fn defer_events(
        &mut self,
        user_ids: &[UserId],
        ts: i64,
        payload: &str,
    ) -> Option<Vec<(UserId, i64)>> {
        if !self.in_batch {
            return None;
        }
        self.deferred.events(user_ids, ts, payload)
    }

    /// A participant whose marks the batch read ahead: raises the mark in
    /// what the batch knows and keeps it for the batch's next write of
    /// appends; whether it was raised (`None`: not known here).
    pub(crate) fn defer_mark(
        &mut self,
        session_id: &str,
        user_id: &str,
        read: bool,
        seq: i64,
    ) -> Option<bool> {
        if !self.in_batch {
            return None;
        }
        self.deferred.mark(session_id, user_id, read, seq)
    }

    /// The next statement changes no row the batch read ahead but the
    /// participants' marks, which the caller tells with [`WriteTx::mark_raised`]:
    /// it leaves what the batch knows.
    pub(crate) fn keep_read_ahead(&mut self) {
        self.keep_next = true;
    }

    /// A participant's mark was raised: the sends read ahead learn of it.
    pub(crate) fn mark_raised(&mut self, session_id: &str, user_id: &str, read: bool, seq: i64) {
        self.deferred.mark_raised(session_id, user_id, read, seq);
    }

    /// A write of the batch begins. A send (`deferrable`) opens
    /// its savepoint only if it runs a statement of its own; any other write
    /// opens one now, after the appends that wait are written.
    pub(crate) async fn start_write(
        &mut self,
        deferrable: bool,
        single: bool,
    ) -> Result<(), StoreError> {
        self.deferred.begin_write();
        self.savepoint = if single {
            Savepoint::None
        } else if deferrable {
            Savepoint::Deferred
        } else {
            self.write_deferred(false).await?;
            self.open_savepoint().await?;
            Savepoint::Open
        };
        Ok(())
    }

    /// The current write is over. A write kept keeps its appends; a write
    /// rolled back drops them and gives its seqs back (SQLite: and the
    /// heads it moved in the writer's cache).
    pub(crate) async fn finish_write(&mut self, ok: bool) -> Result<(), StoreError> {
        let savepoint = std::mem::replace(&mut self.savepoint, Savepoint::None);
        if ok {
            self.deferred.keep_write();
            self.write_kept();
            if savepoint == Savepoint::Open {
                self.release_pending = true;
            }
            return Ok(());
        }
        self.deferred.undo_write();
        if savepoint == Savepoint::Open {
            self.control("ROLLBACK TO SAVEPOINT backline_write; RELEASE SAVEPOINT backline_write")
                .await?;
        }
        // A single write's batch is rolled back whole by the writer
        // (`batch_undone`); otherwise what the write moved was inside its
        // savepoint.
        if savepoint != Savepoint::None {
            self.write_undone();
        }
        Ok(())
    }

    async fn open_savepoint(&mut self) -> Result<(), StoreError> {
        let sql = if self.release_pending {
            "RELEASE SAVEPOINT backline_write; SAVEPOINT backline_write"
        } else {
            "SAVEPOINT backline_write"
        };
        self.control(sql).await?;
        self.savepoints += 1;
        self.release_pending = false;
        Ok(())
    }

    /// Writes the appends that wait (only those of earlier writes when
    /// `earlier_only`): one statement on PostgreSQL, a cached statement per
    /// row on SQLite. Any failure fails the batch: the rows of several
    /// writes were in it.
    pub(crate) async fn write_deferred(&mut self, earlier_only: bool) -> Result<(), StoreError> {
        let rows: Flush = if earlier_only {
            self.deferred.take_earlier()
        } else {
            self.deferred.take_all()
        };
        if rows.is_empty() {
            return Ok(());
        }
        let written = if let Some(conn) = &self.sqlite {
            rows.write_sqlite(conn).map(|(changed, heads)| {
                // The cache follows the stored events; what the current
                // write moved inside its savepoint is undone with it.
                let in_savepoint = self.savepoint == Savepoint::Open;
                for (user, head) in heads {
                    let old = self.heads.insert(user.clone(), head);
                    if in_savepoint {
                        self.undo_write.push((user, old));
                    } else {
                        self.undo_batch.push((user, old));
                    }
                }
                changed
            })
        } else if let Some(conn) = self.postgres.as_mut() {
            rows.write(conn).await
        } else {
            return Err(StoreError::Fault("the writer has no connection".into()));
        };
        match written {
            Ok(changed) => {
                self.rows_affected += changed;
                Ok(())
            }
            Err(error) => {
                let message = format!("cannot write the batch's appends: {error}");
                if self.fault.is_none() {
                    self.fault = Some(message.clone());
                }
                Err(StoreError::Fault(message))
            }
        }
    }

    /// Before a statement of a write: the write's savepoint if
    /// it has none yet, and every waiting append written first, so that the
    /// statement sees the batch as it is.
    async fn before_statement(&mut self) -> Result<(), StoreError> {
        if !self.in_batch {
            return Ok(());
        }
        if self.savepoint == Savepoint::Deferred {
            if self.deferred.earlier_waiting() {
                self.write_deferred(true).await?;
            }
            self.open_savepoint().await?;
            self.savepoint = Savepoint::Open;
        }
        if !self.deferred.is_empty() {
            self.write_deferred(false).await?;
        }
        Ok(())
    }

    /// Whether the batch changed any row. A commit that changed nothing
    /// wrote nothing, so it proves nothing about whether the store can
    /// write (an empty commit succeeds on a full disk).
    pub(crate) fn batch_changed_rows(&self) -> bool {
        match &self.sqlite {
            Some(conn) => conn.total_changes() > self.changes_at_begin,
            None => self.rows_affected > 0,
        }
    }

    /// The current write was released into the batch: its changes stay.
    pub(crate) fn write_kept(&mut self) {
        self.undo_batch.append(&mut self.undo_write);
    }

    /// The current write was rolled back to its savepoint: so are its heads.
    pub(crate) fn write_undone(&mut self) {
        while let Some((user, old)) = self.undo_write.pop() {
            self.restore(user, old);
        }
    }

    /// The batch committed: its heads are now the stored ones.
    pub(crate) fn batch_committed(&mut self) {
        self.undo_write.clear();
        self.undo_batch.clear();
    }

    /// The batch was rolled back as a whole.
    pub(crate) fn batch_undone(&mut self) {
        self.write_undone();
        while let Some((user, old)) = self.undo_batch.pop() {
            self.restore(user, old);
        }
    }

    fn restore(&mut self, user: String, old: Option<i64>) {
        match old {
            Some(head) => {
                self.heads.insert(user, head);
            }
            None => {
                self.heads.remove(&user);
            }
        }
    }

    /// Savepoints opened since the writer started.
    pub(crate) fn savepoints_opened(&self) -> u64 {
        self.savepoints
    }

    /// Whether this engine keeps stream heads in the writer (SQLite).
    pub(crate) fn caches_heads(&self) -> bool {
        matches!(self.source, Source::Sqlite(_))
    }

    /// SQLite: the heads of `users` from the writer's cache, read (and
    /// cached) where missing; a user that does not exist has none.
    pub(crate) async fn heads_of(
        &mut self,
        users: Vec<String>,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let mut heads = Vec::with_capacity(users.len());
        for user in users {
            let head = match self.heads.get(&user) {
                Some(head) => Some(*head),
                None => {
                    let head = crate::db::query_scalar::<i64>(crate::events::HEAD_SQL)
                        .bind(&user)
                        .fetch_optional(&mut *self)
                        .await?;
                    if let Some(head) = head {
                        self.heads.insert(user.clone(), head);
                    }
                    head
                }
            };
            if let Some(head) = head {
                heads.push((user, head));
            }
        }
        Ok(heads)
    }

    /// Gives out the next stream seq of each user (SQLite's head cache);
    /// `NotFound` when a user does not exist.
    pub(crate) async fn next_stream_seqs(
        &mut self,
        user_ids: &[UserId],
    ) -> Result<Vec<(UserId, i64)>, StoreError> {
        // Seqs from the cache: the appends that wait are written first (the
        // cache then follows them), and what the batch read ahead is
        // forgotten, as before any other statement that moves a head.
        self.before_statement().await?;
        self.deferred.forget();
        let mut out = Vec::with_capacity(user_ids.len());
        for user in user_ids {
            let head = match self.heads.get(user.as_str()) {
                Some(head) => *head,
                None => {
                    let head = crate::db::query_scalar::<i64>(crate::events::HEAD_SQL)
                        .bind(user)
                        .fetch_optional(&mut *self)
                        .await?
                        .ok_or(StoreError::NotFound("user"))?;
                    self.heads.insert(user.as_str().to_owned(), head);
                    head
                }
            };
            let old = self.heads.insert(user.as_str().to_owned(), head + 1);
            self.undo_write.push((user.as_str().to_owned(), old));
            out.push((user.clone(), head + 1));
        }
        Ok(out)
    }

    /// The fault seen since the batch began, if any.
    pub(crate) fn fault(&self) -> Option<&str> {
        self.fault.as_deref()
    }

    fn record(&mut self, error: &StoreError) {
        if let StoreError::Fault(message) = error {
            if self.fault.is_none() {
                self.fault = Some(message.clone());
            }
        }
        // SQLite rolls a whole transaction back by itself on some errors
        // (SQLITE_FULL, SQLITE_IOERR …); what follows would run outside any
        // transaction, so the batch is lost.
        if self.in_batch && self.fault.is_none() {
            if let Some(conn) = &self.sqlite {
                if conn.is_autocommit() {
                    self.fault = Some(format!("the transaction was rolled back: {error}"));
                }
            }
        }
    }

    /// Runs transaction control (`BEGIN`, savepoints, `COMMIT` …).
    pub(crate) async fn control(&mut self, sql: &'static str) -> Result<(), StoreError> {
        let result = if let Some(conn) = &self.sqlite {
            // Prepared once and cached, like every other statement: a batch
            // switches savepoints once per write.
            sql.split(';')
                .map(str::trim)
                .filter(|statement| !statement.is_empty())
                .try_for_each(|statement| {
                    conn.prepare_cached(statement)
                        .and_then(|mut prepared| prepared.raw_execute())
                        .map(|_| ())
                })
                .map_err(sqlite::error)
        } else if let Some(conn) = &mut self.postgres {
            postgres::control(conn, sql).await
        } else {
            Err(StoreError::Fault("the writer has no connection".into()))
        };
        if let Err(error) = &result {
            // A failed transaction-control statement leaves the
            // transaction's state unknown: always a fault.
            if self.fault.is_none() {
                self.fault = Some(error.to_string());
            }
        }
        result
    }

    /// Which engine runs this transaction.
    pub fn backend(&self) -> crate::Backend {
        match self.source {
            Source::Sqlite(_) => crate::Backend::Sqlite,
            Source::Postgres(_) => crate::Backend::Postgres,
        }
    }
}

impl Exec for &mut WriteTx {
    fn run<'a>(self, sql: Sql, params: Vec<Param>) -> BoxFuture<'a, Result<Rows, StoreError>>
    where
        Self: 'a,
    {
        Box::pin(async move {
            let result = if !self.is_open() {
                Err(StoreError::Fault("the writer has no connection".into()))
            } else {
                let keeps = std::mem::take(&mut self.keep_next);
                match self.before_statement().await {
                    Err(error) => Err(error),
                    Ok(()) => {
                        if !reads_only(&sql) && !keeps {
                            // It may move what the batch knows.
                            self.deferred.forget();
                        }
                        if let Some(conn) = &self.sqlite {
                            sqlite::run(conn, &sql, &params)
                        } else if let Some(conn) = &mut self.postgres {
                            postgres::run(&mut *conn, sql, params).await
                        } else {
                            Err(StoreError::Fault("the writer has no connection".into()))
                        }
                    }
                }
            };
            match &result {
                Ok(rows) => self.rows_affected += rows.affected,
                Err(error) => self.record(error),
            }
            result
        })
    }
}

/// The read side: reads see every committed write.
#[derive(Clone)]
pub struct Reader {
    inner: ReaderInner,
}

#[derive(Clone)]
enum ReaderInner {
    Sqlite(Arc<sqlite::ReadPool>),
    Postgres(PgPool),
}

impl Reader {
    pub(crate) fn sqlite(pool: Arc<sqlite::ReadPool>) -> Reader {
        Reader {
            inner: ReaderInner::Sqlite(pool),
        }
    }

    pub(crate) fn postgres(pool: PgPool) -> Reader {
        Reader {
            inner: ReaderInner::Postgres(pool),
        }
    }

    /// One connection for several reads in a row.
    pub async fn acquire(&self) -> Result<ReadConn, StoreError> {
        match &self.inner {
            ReaderInner::Sqlite(pool) => Ok(ReadConn(ReadConnInner::Sqlite(pool.clone()))),
            ReaderInner::Postgres(pool) => Ok(ReadConn(ReadConnInner::Postgres(
                pool.acquire().await.map_err(postgres::error)?,
            ))),
        }
    }

    pub(crate) async fn close(&self) {
        match &self.inner {
            ReaderInner::Sqlite(pool) => pool.clear(),
            ReaderInner::Postgres(pool) => pool.close().await,
        }
    }
}

impl Exec for &Reader {
    fn run<'a>(self, sql: Sql, params: Vec<Param>) -> BoxFuture<'a, Result<Rows, StoreError>>
    where
        Self: 'a,
    {
        Box::pin(async move {
            match &self.inner {
                ReaderInner::Sqlite(pool) => pool.run(sql, params).await,
                ReaderInner::Postgres(pool) => postgres::run(pool, sql, params).await,
            }
        })
    }
}

/// One read connection (PostgreSQL), or the read pool (SQLite, whose reads
/// each take a connection on a blocking thread).
pub struct ReadConn(ReadConnInner);

enum ReadConnInner {
    Sqlite(Arc<sqlite::ReadPool>),
    Postgres(PoolConnection<sqlx::Postgres>),
}

impl Exec for &mut ReadConn {
    fn run<'a>(self, sql: Sql, params: Vec<Param>) -> BoxFuture<'a, Result<Rows, StoreError>>
    where
        Self: 'a,
    {
        Box::pin(async move {
            match &mut self.0 {
                ReadConnInner::Sqlite(pool) => pool.run(sql, params).await,
                ReadConnInner::Postgres(conn) => postgres::run(&mut **conn, sql, params).await,
            }
        })
    }
}
