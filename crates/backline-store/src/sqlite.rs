//! The native SQLite engine: rusqlite connections with cached prepared
//! statements, the data directory's lock, and the WAL checkpointer.
//!
//! One writer connection (owned by the writer thread), read connections
//! checked out by the read side's blocking threads, and one checkpointer
//! thread: no commit checkpoints (`wal_autocheckpoint = 0`), so a
//! checkpoint's fsyncs never stall a batch. Only past [`RESTART_FRAMES`]
//! does the writer, between two batches, copy the few frames the
//! checkpointer left, so that the WAL can start again ([`WalState`]).

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::db::{Param, Rows, Value};
use crate::StoreError;

/// The file path in a `sqlite:` URL (`sqlite://path?mode=rwc`, `sqlite:path`).
pub(crate) fn path_from_url(url: &str) -> Result<PathBuf, StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| StoreError::Config(format!("not a sqlite: url: {url}")))?;
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        return Err(StoreError::Config(
            "a SQLite store needs a file path (sqlite://path/to/backline.db)".into(),
        ));
    }
    Ok(PathBuf::from(path))
}

/// What a connection is for; each role gets its own settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Writer,
    Reader,
    Checkpointer,
}

/// Opens a connection with the store's settings.
///
/// WAL lets readers run beside the writer; `synchronous = FULL` makes a
/// committed transaction survive power loss, which is what "acknowledged
/// means durable" requires.
pub(crate) fn open(path: &Path, role: Role) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    // Every connection opens its files through the VFS that writes a
    // commit's WAL frames at once (`backline-walbuf`).
    backline_walbuf::register().map_err(StoreError::Config)?;
    let conn =
        Connection::open_with_flags_and_vfs(path, flags, backline_walbuf::NAME).map_err(error)?;
    conn.set_prepared_statement_cache_capacity(512);
    conn.busy_timeout(Duration::from_secs(10)).map_err(error)?;
    // A cached statement keeps its plan whatever values are bound: without
    // the query planner stability guarantee, SQLite re-prepares a statement
    // whose plan could depend on a bound value (a LIMIT, an IN list …) at
    // every new binding, which cost the writer a fifth of its time.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(error)?;
    // Savepoints' sub-journals in memory, not in temporary files. (No memory
    // map: an I/O error on a mapped page is a SIGBUS, not an error code.)
    let mut pragmas = String::from(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
         PRAGMA temp_store = MEMORY;",
    );
    match role {
        // The WAL restarts from its start once checkpointed; the size limit
        // keeps its file from holding on to the size of the largest burst.
        // 16 MiB of page cache keeps the hot pages (sessions, index roots,
        // the tails of the streams) in memory; a larger cache costs every
        // commit more (SQLite walks the cache's hash when a transaction ends).
        Role::Writer => pragmas.push_str(
            " PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864; \
             PRAGMA cache_size = -16384;",
        ),
        Role::Reader => pragmas.push_str(" PRAGMA query_only = ON; PRAGMA cache_size = -16384;"),
        Role::Checkpointer => {}
    }
    conn.execute_batch(&pragmas).map_err(error)?;
    Ok(conn)
}

/// `$1` … `$n`: the names SQLite gives numbered placeholders.
static PARAMETER_NAMES: LazyLock<Vec<String>> =
    LazyLock::new(|| (0..=2000).map(|n| format!("${n}")).collect());

/// Runs one statement (prepared once per connection, then cached).
pub(crate) fn run(conn: &Connection, sql: &str, params: &[Param]) -> Result<Rows, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(error)?;
    if stmt.parameter_count() != params.len() {
        return Err(StoreError::Database(format!(
            "statement expects {} parameters, {} bound: {sql}",
            stmt.parameter_count(),
            params.len()
        )));
    }
    for (i, param) in params.iter().enumerate() {
        let index = match PARAMETER_NAMES.get(i + 1) {
            Some(name) => stmt.parameter_index(name).map_err(error)?,
            None => None,
        }
        .unwrap_or(i + 1);
        match param {
            Param::Int(v) => stmt.raw_bind_parameter(index, v),
            Param::Real(v) => stmt.raw_bind_parameter(index, v),
            Param::Text(v) => stmt.raw_bind_parameter(index, v),
            Param::TextList(_) | Param::IntList(_) => {
                return Err(StoreError::Database(format!(
                    "SQLite binds no lists (parameter {}): {sql}",
                    i + 1
                )))
            }
        }
        .map_err(error)?;
    }
    let width = stmt.column_count();
    if width == 0 {
        let affected = stmt.raw_execute().map_err(error)?;
        return Ok(Rows {
            columns: Arc::from(Vec::new()),
            values: Vec::new(),
            affected: affected as u64,
        });
    }
    let columns: Arc<[String]> = stmt.column_names().map(str::to_owned).collect();
    let mut values = Vec::new();
    {
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next().map_err(error)? {
            for i in 0..width {
                values.push(match row.get_ref(i).map_err(error)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Real(v) => Value::Real(v),
                    ValueRef::Text(v) => Value::Text(String::from_utf8_lossy(v).into_owned()),
                    ValueRef::Blob(v) => Value::Blob(v.to_vec()),
                });
            }
        }
    }
    Ok(Rows {
        columns,
        values,
        affected: conn.changes(),
    })
}

/// Maps a rusqlite error onto the store's: unique violations are conflicts;
/// errors that mean the file or the transaction can no longer be trusted
/// (disk full, I/O, corruption …) are faults, which fail the writer's batch.
pub(crate) fn error(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(failure, message) => {
            let text = message.clone().unwrap_or_else(|| failure.to_string());
            match failure.code {
                ErrorCode::ConstraintViolation
                    if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        || failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
                {
                    StoreError::Conflict(text)
                }
                ErrorCode::DiskFull
                | ErrorCode::SystemIoFailure
                | ErrorCode::DatabaseCorrupt
                | ErrorCode::NotADatabase
                | ErrorCode::CannotOpen
                | ErrorCode::ReadOnly
                | ErrorCode::OutOfMemory
                | ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::FileLockingProtocolFailed => StoreError::Fault(text),
                _ => StoreError::Database(text),
            }
        }
        _ => StoreError::Database(e.to_string()),
    }
}

/// An error met while opening the database file, naming the file.
pub(crate) fn cannot_open(path: &Path, error: StoreError) -> StoreError {
    StoreError::Config(format!(
        "cannot open the database {}: {error}",
        path.display()
    ))
}

/// The exclusive lock a process holds on its database file while it runs.
///
/// A second process that opens the same file would keep a writer of its own
/// and a hub of its own: messages would cross between the two only at a
/// ping. So it refuses to start instead, naming the directory and the
/// process that holds it.
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    pub(crate) fn acquire(db_path: &Path) -> Result<DirLock, StoreError> {
        let dir = db_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Config(format!(
                    "cannot create the data directory {}: {e}",
                    dir.display()
                ))
            })?;
        }
        let mut lock_name = db_path.file_name().unwrap_or_default().to_owned();
        lock_name.push(".lock");
        let lock_path = dir.join(lock_name);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| StoreError::Config(format!("cannot open {}: {e}", lock_path.display())))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    "another process".to_owned()
                } else {
                    format!("another backline process ({holder})")
                };
                return Err(StoreError::Locked(format!(
                    "the data directory {} is in use by {who}: database {} is locked by {}; \
                     stop that process, give this one another --data-dir or --database, \
                     or administer the running server through its admin API",
                    dir.display(),
                    db_path.display(),
                    lock_path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(StoreError::Config(format!(
                    "cannot lock {}: {e}",
                    lock_path.display()
                )))
            }
        }
        // Writing the holder's pid is also the first write to the data
        // directory: a full or read-only one fails here, at once, naming
        // the file and the system's error.
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| write!(file, "pid {}", std::process::id()))
            .and_then(|()| file.sync_all())
            .map_err(|e| {
                StoreError::Config(format!("cannot write {}: {e}", lock_path.display()))
            })?;
        Ok(DirLock { _file: file })
    }
}

/// Read connections, checked out one per statement (or per [`crate::ReadConn`]).
///
/// At most `max` connections exist at once: a read beyond that waits for
/// a permit (a sign-in storm queues its token lookups instead of opening a
/// connection, three file descriptors and a blocking thread per socket).
pub(crate) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
    permits: Arc<tokio::sync::Semaphore>,
}

impl ReadPool {
    pub(crate) fn new(path: PathBuf, max: usize) -> ReadPool {
        ReadPool {
            path,
            idle: Mutex::new(Vec::new()),
            max_idle: max.max(1),
            permits: Arc::new(tokio::sync::Semaphore::new(max.max(1))),
        }
    }

    pub(crate) fn checkout(&self) -> Result<Connection, StoreError> {
        let idle = self.idle.lock().expect("read pool lock").pop();
        match idle {
            Some(conn) => Ok(conn),
            None => open(&self.path, Role::Reader),
        }
    }

    /// Returns a connection; one that failed with a fault is dropped instead.
    pub(crate) fn checkin(&self, conn: Connection, healthy: bool) {
        if !healthy {
            return;
        }
        let mut idle = self.idle.lock().expect("read pool lock");
        if idle.len() < self.max_idle {
            idle.push(conn);
        }
    }

    pub(crate) fn clear(&self) {
        self.idle.lock().expect("read pool lock").clear();
    }

    /// Runs one statement on a blocking thread, off the async workers.
    pub(crate) async fn run(
        self: &Arc<Self>,
        sql: crate::db::Sql,
        params: Vec<Param>,
    ) -> Result<Rows, StoreError> {
        // Owned by the blocking task: a caller that gives up does not free
        // the permit of a read still running.
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let conn = pool.checkout()?;
            let result = run(&conn, &sql, &params);
            pool.checkin(conn, !matches!(result, Err(StoreError::Fault(_))));
            result
        })
        .await
        .map_err(|e| StoreError::Database(format!("read task failed: {e}")))?
    }
}

/// Frames past which the WAL is to start again from its beginning (16 MiB
/// of 4 KiB pages): see [`WalState`].
pub(crate) const RESTART_FRAMES: i64 = 4096;

/// What the checkpointer tells the writer about the WAL.
///
/// SQLite starts the WAL again from its beginning only when a write begins
/// with every frame already copied into the database file. The checkpointer
/// copies from its own thread while the writer goes on appending, so under
/// a steady load it seldom finds the WAL fully copied, and the file grew by
/// every commit (750 MiB in 20 s at 1,000 msgs/s) until the load stopped.
/// When a pass finds the WAL past [`RESTART_FRAMES`], the checkpointer
/// passes again at once until a pass finds few new frames ([`catch_up`]),
/// then asks the writer to finish the copy between two batches: only the
/// frames appended during that last pass are left, and the next write
/// restarts the WAL.
#[derive(Default)]
pub(crate) struct WalState {
    restart_wanted: AtomicBool,
}

impl WalState {
    /// Whether the checkpointer asked the writer to finish its copy.
    pub(crate) fn restart_wanted(&self) -> bool {
        self.restart_wanted.load(Ordering::Acquire)
    }

    /// The writer answered the request (until the checkpointer's next pass).
    pub(crate) fn answered(&self) {
        self.restart_wanted.store(false, Ordering::Release);
    }
}

/// What a checkpoint did.
pub(crate) enum Checkpoint {
    /// Another connection's checkpoint was running: nothing was done.
    Busy,
    /// The WAL's frames, and how many of them the database file now holds
    /// (fewer while a reader still reads older frames).
    Copied { frames: i64, copied: i64 },
}

/// `PRAGMA wal_checkpoint(PASSIVE)`. PASSIVE never waits for the writer or
/// the readers (FULL, RESTART and TRUNCATE would hold new writers back).
pub(crate) fn checkpoint(conn: &Connection) -> Result<Checkpoint, StoreError> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok(match row.get::<_, i64>(0)? {
            0 => Checkpoint::Copied {
                frames: row.get(1)?,
                copied: row.get(2)?,
            },
            _ => Checkpoint::Busy,
        })
    })
    .map_err(error)
}

/// Frames appended during a pass that are few enough for the writer to
/// copy between two batches (1 MiB).
const CATCH_UP_FRAMES: i64 = 256;

/// Passes in a row, at most, before the writer is asked anyway.
const CATCH_UP_PASSES: usize = 4;

/// One round of the checkpointer: a pass, and while the WAL is past
/// [`RESTART_FRAMES`], passes in a row until one finds only a few frames
/// appended since the one before; then the writer is asked to copy the
/// rest (the frames appended during that last, short pass).
fn catch_up(conn: &Connection, wal: &WalState) {
    let mut copied_before = None;
    for pass in 1..=CATCH_UP_PASSES {
        let (frames, copied) = match checkpoint(conn) {
            Ok(Checkpoint::Copied { frames, copied }) => (frames, copied),
            Ok(Checkpoint::Busy) => return,
            Err(e) => {
                tracing::debug!(error.message = %e, "WAL checkpoint failed; retrying");
                return;
            }
        };
        metrics::gauge!("backline_store_wal_frames").set(frames as f64);
        if frames < RESTART_FRAMES {
            return;
        }
        let few_left = copied_before.is_some_and(|before| frames - before <= CATCH_UP_FRAMES);
        if few_left || pass == CATCH_UP_PASSES {
            wal.restart_wanted.store(true, Ordering::Release);
            return;
        }
        copied_before = Some(copied);
    }
}

/// Checkpoints the WAL into the database file from its own thread, so the
/// writer's commits never wait for one.
pub(crate) struct Checkpointer {
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Checkpointer {
    pub(crate) fn start(path: PathBuf, wal: Arc<WalState>) -> Result<Checkpointer, StoreError> {
        let conn = open(&path, Role::Checkpointer)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("backline-checkpoint".into())
            .spawn(move || {
                while !flag.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(100));
                    catch_up(&conn, &wal);
                }
            })
            .map_err(|e| StoreError::Config(format!("cannot start the checkpointer: {e}")))?;
        Ok(Checkpointer {
            stop,
            thread: Mutex::new(Some(thread)),
        })
    }

    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.lock().expect("checkpointer lock").take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}
