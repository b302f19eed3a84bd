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
use crate::{postgres, sqlite, StoreError};

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
        }
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
    }

    pub(crate) fn begin_batch(&mut self) {
        self.fault = None;
        self.in_batch = true;
        self.changes_at_begin = self.sqlite.as_ref().map_or(0, |c| c.total_changes());
        self.rows_affected = 0;
        self.undo_write.clear();
        self.undo_batch.clear();
    }

    pub(crate) fn end_batch(&mut self) {
        self.in_batch = false;
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

    /// Whether this engine keeps stream heads in the writer (SQLite).
    pub(crate) fn caches_heads(&self) -> bool {
        matches!(self.source, Source::Sqlite(_))
    }

    /// Gives out the next stream seq of each user (SQLite's head cache);
    /// `NotFound` when a user does not exist.
    pub(crate) async fn next_stream_seqs(
        &mut self,
        user_ids: &[String],
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let mut out = Vec::with_capacity(user_ids.len());
        for user in user_ids {
            let head = match self.heads.get(user) {
                Some(head) => *head,
                None => {
                    let head = crate::db::query_scalar::<i64>(crate::events::HEAD_SQL)
                        .bind(user.as_str())
                        .fetch_optional(&mut *self)
                        .await?
                        .ok_or(StoreError::NotFound("user"))?;
                    self.heads.insert(user.clone(), head);
                    head
                }
            };
            let old = self.heads.insert(user.clone(), head + 1);
            self.undo_write.push((user.clone(), old));
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
            let result = if let Some(conn) = &self.sqlite {
                sqlite::run(conn, &sql, &params)
            } else if let Some(conn) = &mut self.postgres {
                postgres::run(&mut *conn, sql, params).await
            } else {
                Err(StoreError::Fault("the writer has no connection".into()))
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
