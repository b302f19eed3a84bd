//! A SQLite VFS that writes each commit's WAL frames with one write (one
//! per 124 KiB).
//!
//! SQLite writes every frame of a commit with two calls, the 24-byte frame
//! header and the page, one after the other: a commit of N pages costs 2N
//! system calls before its fsync, and on this engine's workload that was
//! the largest part of the writer's time. This VFS wraps the platform's own
//! ("unix") and changes one thing: writes to a WAL file that continue the
//! previous one are gathered in memory and reach the file as one write
//! when SQLite next needs the file as it is — before it syncs it (so a
//! commit is on disk exactly when it was before: `synchronous = FULL`
//! syncs the WAL before the commit is made visible), reads it, asks its
//! size, truncates it or closes it, or when a write does not continue the
//! gathered ones. The database file, the shared-memory index and every
//! other file go straight through.
//!
//! An error of the gathered write (a full disk, an I/O error) is the error
//! of the call that flushed it — the sync of the commit, which then fails
//! as it would have failed at the write — and the gathered frames are
//! dropped: SQLite treats the transaction as failed, and the writer
//! discards the connection (the failure rules).

use std::ffi::{c_int, c_void, CStr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use rusqlite::ffi;

/// The name connections open the store's files with.
pub const NAME: &CStr = c"backline-walbuf";

/// Gathered bytes beyond this are written out at once.
const MAX_GATHERED: usize = 8 << 20;

/// The most one call of the platform's write takes: SQLite's unix VFS
/// keeps 17 bits of a write's length (its pages are at most 64 KiB), so
/// a longer write goes out in pieces of this size.
const MAX_WRITE: usize = 124 << 10;

/// The wrapped file: SQLite allocates `szOsFile` bytes for it; the real
/// file's own object lives right after this one.
#[repr(C)]
struct File {
    base: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
    /// Only a WAL file gathers its writes.
    wal: bool,
    gathered: Vec<u8>,
    /// Where `gathered` starts in the file.
    offset: i64,
}

/// The platform's VFS, which this one wraps.
struct Vfs {
    real: *mut ffi::sqlite3_vfs,
}

// The pointers are to objects registered with SQLite for the life of the
// process; SQLite serialises what it does with them.
unsafe impl Send for Vfs {}
unsafe impl Sync for Vfs {}

static VFS: OnceLock<Result<Vfs, String>> = OnceLock::new();

/// Writes that reached a WAL file, in this process.
static WAL_WRITES: AtomicU64 = AtomicU64::new(0);

/// How many writes reached WAL files through this VFS since the process
/// started (one per flush of gathered frames, or per 124 KiB of them).
pub fn wal_writes() -> u64 {
    WAL_WRITES.load(Ordering::Relaxed)
}

/// Registers the VFS (once); an error when SQLite has no default VFS.
pub fn register() -> Result<(), String> {
    VFS.get_or_init(|| unsafe {
        let real = ffi::sqlite3_vfs_find(std::ptr::null());
        if real.is_null() {
            return Err("SQLite has no default VFS".into());
        }
        let mut ours: ffi::sqlite3_vfs = *real;
        let own_size = std::mem::size_of::<File>().next_multiple_of(16);
        ours.szOsFile = (own_size as c_int) + (*real).szOsFile;
        ours.zName = NAME.as_ptr();
        ours.pNext = std::ptr::null_mut();
        ours.xOpen = Some(open);
        let ours = Box::into_raw(Box::new(ours));
        let rc = ffi::sqlite3_vfs_register(ours, 0);
        if rc != ffi::SQLITE_OK {
            drop(Box::from_raw(ours));
            return Err(format!("cannot register the WAL VFS (SQLite error {rc})"));
        }
        Ok(Vfs { real })
    })
    .as_ref()
    .map(|_| ())
    .map_err(Clone::clone)
}

fn real_vfs() -> *mut ffi::sqlite3_vfs {
    match VFS.get() {
        Some(Ok(vfs)) => vfs.real,
        _ => std::ptr::null_mut(),
    }
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let real_vfs = real_vfs();
    let Some(real_open) = real_vfs.as_ref().and_then(|vfs| vfs.xOpen) else {
        return ffi::SQLITE_CANTOPEN;
    };
    let own_size = std::mem::size_of::<File>().next_multiple_of(16);
    let real = (file as *mut u8).add(own_size) as *mut ffi::sqlite3_file;
    let rc = real_open(real_vfs, name, real, flags, out_flags);
    if rc != ffi::SQLITE_OK {
        // A real file left with methods wants its close; SQLite calls no
        // method of ours when we leave none.
        if let Some(close) = (*real).pMethods.as_ref().and_then(|m| m.xClose) {
            close(real);
        }
        (*file).pMethods = std::ptr::null();
        return rc;
    }
    let methods: &'static ffi::sqlite3_io_methods = &METHODS;
    std::ptr::write(
        file as *mut File,
        File {
            base: ffi::sqlite3_file { pMethods: methods },
            real,
            wal: flags & ffi::SQLITE_OPEN_WAL != 0,
            gathered: Vec::new(),
            offset: 0,
        },
    );
    ffi::SQLITE_OK
}

unsafe fn this<'a>(file: *mut ffi::sqlite3_file) -> &'a mut File {
    &mut *(file as *mut File)
}

unsafe fn methods<'a>(file: &File) -> &'a ffi::sqlite3_io_methods {
    &*(*file.real).pMethods
}

/// Writes out what is gathered; the real write's code.
unsafe fn flush(file: &mut File) -> c_int {
    if file.gathered.is_empty() {
        return ffi::SQLITE_OK;
    }
    let Some(write) = methods(file).xWrite else {
        return ffi::SQLITE_IOERR_WRITE;
    };
    let mut rc = ffi::SQLITE_OK;
    let mut offset = file.offset;
    for piece in file.gathered.chunks(MAX_WRITE) {
        WAL_WRITES.fetch_add(1, Ordering::Relaxed);
        rc = write(
            file.real,
            piece.as_ptr() as *const c_void,
            piece.len() as c_int,
            offset,
        );
        if rc != ffi::SQLITE_OK {
            break;
        }
        offset += piece.len() as i64;
    }
    file.gathered.clear();
    if file.gathered.capacity() > MAX_GATHERED {
        file.gathered.shrink_to(MAX_GATHERED);
    }
    rc
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    let this = this(file);
    let flushed = flush(this);
    let rc = match methods(this).xClose {
        Some(close) => close(this.real),
        None => ffi::SQLITE_OK,
    };
    std::ptr::drop_in_place(file as *mut File);
    if flushed != ffi::SQLITE_OK {
        flushed
    } else {
        rc
    }
}

unsafe extern "C" fn read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    let this = this(file);
    if !this.gathered.is_empty() {
        let rc = flush(this);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
    }
    match methods(this).xRead {
        Some(read) => read(this.real, buf, amount, offset),
        None => ffi::SQLITE_IOERR_READ,
    }
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    let this = this(file);
    if this.wal && amount > 0 {
        let continues = this.offset + this.gathered.len() as i64 == offset;
        if !this.gathered.is_empty()
            && (!continues || this.gathered.len() + amount as usize > MAX_GATHERED)
        {
            let rc = flush(this);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
        }
        if this.gathered.is_empty() {
            this.offset = offset;
        }
        this.gathered.extend_from_slice(std::slice::from_raw_parts(
            buf as *const u8,
            amount as usize,
        ));
        return ffi::SQLITE_OK;
    }
    match methods(this).xWrite {
        Some(write) => write(this.real, buf, amount, offset),
        None => ffi::SQLITE_IOERR_WRITE,
    }
}

/// Flushes, then runs `call` on the real file.
macro_rules! flushed {
    ($file:expr, $method:ident, $missing:expr, |$f:ident| $call:expr) => {{
        let this = this($file);
        let rc = flush(this);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        match methods(this).$method {
            Some($f) => {
                let $f = ($f, this.real);
                $call
            }
            None => $missing,
        }
    }};
}

unsafe extern "C" fn truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    flushed!(file, xTruncate, ffi::SQLITE_IOERR_TRUNCATE, |f| f.0(
        f.1, size
    ))
}

unsafe extern "C" fn sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    flushed!(file, xSync, ffi::SQLITE_IOERR_FSYNC, |f| f.0(f.1, flags))
}

unsafe extern "C" fn file_size(file: *mut ffi::sqlite3_file, size: *mut i64) -> c_int {
    flushed!(file, xFileSize, ffi::SQLITE_IOERR_FSTAT, |f| f.0(f.1, size))
}

/// Runs a method of the real file as it is (nothing gathered matters to it).
macro_rules! forward {
    ($file:expr, $method:ident, $missing:expr, |$f:ident| $call:expr) => {{
        let this = this($file);
        match methods(this).$method {
            Some($f) => {
                let $f = ($f, this.real);
                $call
            }
            None => $missing,
        }
    }};
}

unsafe extern "C" fn lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    forward!(file, xLock, ffi::SQLITE_IOERR_LOCK, |f| f.0(f.1, level))
}

unsafe extern "C" fn unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    forward!(file, xUnlock, ffi::SQLITE_IOERR_UNLOCK, |f| f.0(f.1, level))
}

unsafe extern "C" fn check_reserved_lock(file: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    forward!(
        file,
        xCheckReservedLock,
        ffi::SQLITE_IOERR_CHECKRESERVEDLOCK,
        |f| f.0(f.1, out)
    )
}

unsafe extern "C" fn file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    forward!(file, xFileControl, ffi::SQLITE_NOTFOUND, |f| f.0(
        f.1, op, arg
    ))
}

unsafe extern "C" fn sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    forward!(file, xSectorSize, 4096, |f| f.0(f.1))
}

unsafe extern "C" fn device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    forward!(file, xDeviceCharacteristics, 0, |f| f.0(f.1))
}

unsafe extern "C" fn shm_map(
    file: *mut ffi::sqlite3_file,
    page: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    forward!(file, xShmMap, ffi::SQLITE_IOERR_SHMMAP, |f| f.0(
        f.1, page, size, extend, out
    ))
}

unsafe extern "C" fn shm_lock(
    file: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    forward!(file, xShmLock, ffi::SQLITE_IOERR_SHMLOCK, |f| f.0(
        f.1, offset, n, flags
    ))
}

unsafe extern "C" fn shm_barrier(file: *mut ffi::sqlite3_file) {
    forward!(file, xShmBarrier, (), |f| f.0(f.1))
}

unsafe extern "C" fn shm_unmap(file: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    forward!(file, xShmUnmap, ffi::SQLITE_OK, |f| f.0(f.1, delete))
}

unsafe extern "C" fn fetch(
    file: *mut ffi::sqlite3_file,
    offset: i64,
    amount: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // No memory map over gathered bytes: flushed first.
    flushed!(
        file,
        xFetch,
        {
            *out = std::ptr::null_mut();
            ffi::SQLITE_OK
        },
        |f| f.0(f.1, offset, amount, out)
    )
}

unsafe extern "C" fn unfetch(
    file: *mut ffi::sqlite3_file,
    offset: i64,
    page: *mut c_void,
) -> c_int {
    forward!(file, xUnfetch, ffi::SQLITE_OK, |f| f.0(f.1, offset, page))
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: Some(fetch),
    xUnfetch: Some(unfetch),
};

#[cfg(test)]
mod tests {
    use rusqlite::{Connection, OpenFlags};

    /// The write counter is the process's: one test at a time.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn open(path: &std::path::Path) -> Connection {
        super::register().unwrap();
        let conn = Connection::open_with_flags_and_vfs(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
            super::NAME,
        )
        .unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 0;",
        )
        .unwrap();
        conn
    }

    /// A commit of many pages reaches the WAL in one write (SQLite alone
    /// writes two per page), and what it wrote is what every connection,
    /// and a reopened file, reads.
    #[test]
    fn a_commit_reaches_the_wal_in_one_write_and_reads_back() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = open(&path);
        writer
            .execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
            .unwrap();
        let reader = open(&path);
        let mut expected = 0;
        for round in 0..20 {
            let before = super::wal_writes();
            writer.execute_batch("BEGIN IMMEDIATE").unwrap();
            for i in 0..50 {
                let k = round * 50 + i;
                writer
                    .execute("INSERT INTO t (k, v) VALUES (?1, ?2)", (k, "x".repeat(300)))
                    .unwrap();
                expected += 1;
            }
            writer.execute_batch("COMMIT").unwrap();
            let writes = super::wal_writes() - before;
            // 50 rows of 300 bytes: four pages or more, each a frame.
            assert!(writes <= 2, "round {round}: {writes} writes for one commit");
            let (count, sum): (i64, i64) = reader
                .query_row("SELECT COUNT(*), SUM(length(v)) FROM t", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .unwrap();
            assert_eq!((count, sum), (expected, expected * 300), "round {round}");
        }
        // A commit larger than one write of the platform's VFS takes: in pieces.
        let before = super::wal_writes();
        writer.execute_batch("BEGIN IMMEDIATE").unwrap();
        for k in 0..1_000 {
            writer
                .execute(
                    "INSERT INTO t (k, v) VALUES (?1, ?2)",
                    (50_000 + k, "y".repeat(1000)),
                )
                .unwrap();
        }
        writer.execute_batch("COMMIT").unwrap();
        expected += 1_000;
        let writes = super::wal_writes() - before;
        assert!(
            (8..=12).contains(&writes),
            "{writes} writes for a 1 MB commit"
        );
        let count: i64 = reader
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, expected);
        // Checkpointed, then written again from the start of the WAL.
        writer
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        writer
            .execute("INSERT INTO t (k, v) VALUES (?1, ?2)", (100_000, "after"))
            .unwrap();
        drop((writer, reader));
        let reopened = open(&path);
        let count: i64 = reopened
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, expected + 1);
        let integrity: String = reopened
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok");
    }

    /// A transaction larger than the page cache spills frames to the WAL
    /// before its commit and reads them back: they are flushed first.
    #[test]
    fn a_transaction_that_spills_reads_its_own_frames() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spill.db");
        let conn = open(&path);
        conn.execute_batch(
            "PRAGMA cache_size = 10; CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL);",
        )
        .unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        for k in 0..5_000 {
            conn.execute(
                "INSERT INTO t (k, v) VALUES (?1, ?2)",
                (k, format!("{k:0>200}")),
            )
            .unwrap();
        }
        let sum: i64 = conn
            .query_row("SELECT SUM(CAST(v AS INTEGER)) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sum, (0..5_000).sum::<i64>());
        conn.execute_batch("COMMIT").unwrap();
        drop(conn);
        let reopened = open(&path);
        let (count, integrity): (i64, String) = (
            reopened
                .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
                .unwrap(),
            reopened
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .unwrap(),
        );
        assert_eq!((count, integrity.as_str()), (5_000, "ok"));
    }
}
