//! The group-commit writer.
//!
//! One writer owns the single write connection, on a thread of its own
//! with its own single-threaded runtime (rusqlite blocks; a PostgreSQL
//! connection opened there is driven by that thread alone). It takes the first
//! queued write, then every write already waiting (up to `max_batch`), runs
//! them in one transaction (`BEGIN IMMEDIATE` on SQLite), each inside its own
//! savepoint so a write that refuses itself is rolled back alone (a send or
//! a mark only when it runs a statement of its own: its appends wait in
//! memory, `deferred`), and commits once. With SQLite's `synchronous=FULL`
//! one commit is one fsync, so a batch of N writes costs one fsync instead
//! of N.
//!
//! **Failure rules.** A fault — a failed `BEGIN`, savepoint, `COMMIT` or
//! `ROLLBACK`, an I/O error, a full disk, a lost connection, a transaction
//! the engine rolled back by itself — fails every write of the batch (none is
//! acknowledged), and the connection is discarded; the next batch opens a new
//! one. From then on [`crate::Store::health`] says why (`/readyz` answers
//! 503) until the readiness probe — a write as large as a big batch — commits:
//! writes that commit in between are acknowledged, but a small one proves
//! little (a nearly full disk still takes a one-page write), so only the
//! probe clears the fault. The store recovers by itself once the cause is
//! gone.
//!
//! The queue is bounded (`QUEUE_CAPACITY`): when the database is slower than
//! the writes arriving, callers wait in `submit` (back-pressure) instead of
//! the queue growing without limit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use crate::engine::WriteTx;
use crate::sessions::SendContext;
use crate::{Backend, Locks, OnCommit, SendKey, StoreError, WriteFn};

const QUEUE_CAPACITY: usize = 8192;

type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job = Box<dyn for<'c> FnOnce(&'c mut WriteTx) -> BoxFuture<'c, (bool, Completion)> + Send>;

/// A write waiting for its batch, with the rows it will lock.
struct Queued {
    job: Job,
    locks: Locks,
    /// A send (or a mark, `SendKey::mark`): on PostgreSQL its context is
    /// read with the batch's and its appends (or its mark) are written with
    /// the batch's (no savepoint unless it runs statements of its own).
    send: Option<SendKey>,
    /// The readiness probe: its commit clears a fault.
    probe: bool,
}

/// Counters for the metrics endpoint and the benchmarks.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriterStats {
    /// Batches committed.
    pub batches: u64,
    /// Writes committed or refused by their own logic.
    pub writes: u64,
    /// Batches that failed as a whole (a fault): none of their writes was acknowledged.
    pub failed_batches: u64,
    /// Savepoints opened: one per write that runs statements of its own in
    /// a batch of several; sends and marks that only append take none.
    pub savepoints: u64,
    /// SQLite: checkpoints the writer ran between batches so that the WAL
    /// starts again from its beginning under a steady load.
    pub wal_checkpoints: u64,
}

#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    writes: AtomicU64,
    failed_batches: AtomicU64,
    savepoints: AtomicU64,
    wal_checkpoints: AtomicU64,
    /// 1 while a batch is being run and answered.
    busy: AtomicU64,
}

/// Whether the writer can write, and if not, why.
#[derive(Default)]
pub(crate) struct Health {
    fault: Mutex<Option<String>>,
}

impl Health {
    pub(crate) fn fault(&self) -> Option<String> {
        self.fault.lock().expect("health lock").clone()
    }

    fn set(&self, fault: Option<String>) {
        let mut current = self.fault.lock().expect("health lock");
        match (&*current, &fault) {
            (None, Some(reason)) => {
                tracing::error!(error.message = %reason, "the store cannot write; writes are refused until it can");
                metrics::gauge!("backline_store_writable").set(0.0);
            }
            (Some(_), None) => {
                tracing::warn!("the store writes again");
                metrics::gauge!("backline_store_writable").set(1.0);
            }
            _ => {}
        }
        *current = fault;
    }
}

/// Stops the writer; answers when it has stopped.
type Stop = (oneshot::Sender<()>, oneshot::Receiver<()>);

#[derive(Clone)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Queued>,
    counters: Arc<Counters>,
    health: Arc<Health>,
    stop: Arc<Mutex<Option<Stop>>>,
}

impl Writer {
    /// Starts the writer on a thread of its own.
    pub(crate) fn spawn(
        tx: WriteTx,
        max_batch: usize,
        max_savepoints: usize,
    ) -> Result<Writer, StoreError> {
        let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let counters = Arc::new(Counters::default());
        let health = Arc::new(Health::default());
        let (stop_sender, stop_receiver) = oneshot::channel();
        let (done_sender, done_receiver) = oneshot::channel();
        let task = run(
            tx,
            receiver,
            (max_batch, max_savepoints),
            counters.clone(),
            health.clone(),
            stop_receiver,
        );
        // The writer has a thread and a single-threaded runtime of its own,
        // on either engine: SQLite's calls block, and a PostgreSQL
        // connection opened here is driven by this thread alone, so neither
        // waits for the sockets' tasks on the shared workers.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Config(format!("cannot start the writer: {e}")))?;
        std::thread::Builder::new()
            .name("backline-writer".into())
            .spawn(move || {
                runtime.block_on(task);
                let _ = done_sender.send(());
            })
            .map_err(|e| StoreError::Config(format!("cannot start the writer: {e}")))?;
        Ok(Writer {
            queue,
            counters,
            health,
            stop: Arc::new(Mutex::new(Some((stop_sender, done_receiver)))),
        })
    }

    pub(crate) fn stats(&self) -> WriterStats {
        WriterStats {
            batches: self.counters.batches.load(Ordering::Relaxed),
            writes: self.counters.writes.load(Ordering::Relaxed),
            failed_batches: self.counters.failed_batches.load(Ordering::Relaxed),
            savepoints: self.counters.savepoints.load(Ordering::Relaxed),
            wal_checkpoints: self.counters.wal_checkpoints.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn health(&self) -> &Health {
        &self.health
    }

    pub(crate) async fn submit<T: Send + 'static>(
        &self,
        write: WriteFn<T>,
        on_commit: Option<OnCommit<T>>,
    ) -> Result<T, StoreError> {
        self.enqueue(Locks::default(), None, write, on_commit)
            .await?
            .await
    }

    /// Runs the readiness probe's write: when its batch commits, the store
    /// is writable again and a fault is cleared.
    pub(crate) async fn probe(&self, write: WriteFn<()>) -> Result<(), StoreError> {
        self.queue_job(Locks::default(), None, write, None, true)
            .await?
            .await
    }

    /// Queues a write and returns what answers once its batch committed (or
    /// failed). Writes enqueued one after the other run in that order.
    pub(crate) async fn enqueue<T: Send + 'static>(
        &self,
        locks: Locks,
        send: Option<SendKey>,
        write: WriteFn<T>,
        on_commit: Option<OnCommit<T>>,
    ) -> Result<crate::Pending<T>, StoreError> {
        self.queue_job(locks, send, write, on_commit, false).await
    }

    async fn queue_job<T: Send + 'static>(
        &self,
        locks: Locks,
        send: Option<SendKey>,
        write: WriteFn<T>,
        on_commit: Option<OnCommit<T>>,
        probe: bool,
    ) -> Result<crate::Pending<T>, StoreError> {
        let (reply, answer) = oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |tx: &mut WriteTx| {
            Box::pin(async move {
                match write(tx).await {
                    Ok(mut value) => {
                        let completion: Completion = Box::new(move |commit| match commit {
                            Ok(()) => {
                                if let Some(hook) = on_commit {
                                    hook(&mut value);
                                }
                                let _ = reply.send(Ok(value));
                            }
                            Err(message) => {
                                let _ = reply.send(Err(StoreError::Unavailable(format!(
                                    "nothing was stored: {message}"
                                ))));
                            }
                        });
                        (true, completion)
                    }
                    Err(error) => {
                        let completion: Completion = Box::new(move |_| {
                            let _ = reply.send(Err(error));
                        });
                        (false, completion)
                    }
                }
            }) as BoxFuture<'_, (bool, Completion)>
        });
        self.queue
            .send(Queued {
                job,
                locks,
                send,
                probe,
            })
            .await
            .map_err(|_| StoreError::Closed)?;
        let health = self.health.clone();
        Ok(Box::pin(async move {
            // A dropped reply means the writer could not even start the batch
            // (no connection, BEGIN failed): nothing was written.
            match answer.await {
                Ok(result) => result,
                Err(_) => Err(StoreError::Unavailable(match health.fault() {
                    Some(reason) => format!("nothing was stored: {reason}"),
                    None => "the write could not be started".into(),
                })),
            }
        }))
    }

    /// Lets the queued writes finish, then stops the writer and closes its connection.
    pub(crate) async fn close(&self) {
        // Every `Store` clone holds a sender, so the channel never closes by
        // itself: wait (bounded) for the queue to drain and the batch in
        // flight to be committed and answered, then stop the writer.
        let stop = self.stop.lock().expect("writer stop lock").take();
        if let Some((stop, done)) = stop {
            let deadline = Instant::now() + std::time::Duration::from_secs(5);
            while (self.queue.capacity() < QUEUE_CAPACITY
                || self.counters.busy.load(Ordering::Acquire) != 0)
                && Instant::now() < deadline
            {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            let _ = stop.send(());
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), done).await;
        }
    }
}

async fn run(
    mut tx: WriteTx,
    mut receiver: mpsc::Receiver<Queued>,
    (max_batch, max_savepoints): (usize, usize),
    counters: Arc<Counters>,
    health: Arc<Health>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut batch: Vec<Queued> = Vec::with_capacity(max_batch);
    // Writes taken from the queue for the next batch (past the current
    // batch's savepoints), first in line.
    let mut carried: Vec<Queued> = Vec::new();
    // A batch that cannot start is dropped unrun: its callers are told
    // nothing was stored.
    let drop_batch = |batch: &mut Vec<Queued>, carried: bool, reason: String| {
        health.set(Some(reason));
        batch.clear();
        counters.failed_batches.fetch_add(1, Ordering::Relaxed);
        if !carried {
            counters.busy.store(0, Ordering::Release);
        }
    };
    loop {
        if carried.is_empty() {
            tokio::select! {
                biased;
                _ = &mut stop => return,
                received = receiver.recv_many(&mut batch, max_batch) => {
                    if received == 0 {
                        return;
                    }
                }
            }
        } else {
            batch.append(&mut carried);
            while batch.len() < max_batch {
                match receiver.try_recv() {
                    Ok(queued) => batch.push(queued),
                    Err(_) => break,
                }
            }
        }
        carried = split_at_savepoints(&mut batch, max_savepoints);
        counters.busy.store(1, Ordering::Release);
        let size = batch.len();
        let started = Instant::now();
        if let Err(error) = tx.ensure_open().await {
            drop_batch(
                &mut batch,
                !carried.is_empty(),
                format!("cannot open the database: {error}"),
            );
            continue;
        }
        // A connection that died while the writer was idle (a restarted
        // PostgreSQL, a terminated backend) fails at BEGIN, before any
        // write ran: reconnect once and go on, instead of failing writes
        // that never touched the dead connection.
        tx.begin_batch();
        if let Err(error) = begin(&mut tx).await {
            tracing::warn!(error.message = %error, "the writer's connection failed at BEGIN; reconnecting");
            tx.discard();
            let retried = match tx.ensure_open().await {
                Ok(()) => {
                    tx.begin_batch();
                    begin(&mut tx).await
                }
                Err(error) => Err(error),
            };
            if let Err(error) = retried {
                tx.end_batch();
                tx.discard();
                drop_batch(
                    &mut batch,
                    !carried.is_empty(),
                    format!("cannot begin a transaction: {error}"),
                );
                continue;
            }
        }
        let probed = batch.iter().any(|queued| queued.probe);
        let (commit, completions) = run_batch(&mut tx, batch.drain(..)).await;
        match &commit {
            // Only the probe's large write shows the store can write again
            // (and only if it changed its row: an empty commit succeeds on a
            // full disk).
            Ok(()) if probed && tx.batch_changed_rows() => health.set(None),
            Ok(()) => {}
            Err(reason) => {
                tracing::error!(error.message = %reason, writes = size, "store batch failed; none of its writes was stored");
                health.set(Some(reason.clone()));
                counters.failed_batches.fetch_add(1, Ordering::Relaxed);
                tx.discard();
            }
        }
        let took = started.elapsed();
        metrics::histogram!("backline_store_commit_seconds").record(took.as_secs_f64());
        if took > std::time::Duration::from_millis(100) {
            tracing::warn!(
                writes = size,
                took_ms = took.as_millis() as u64,
                "a store batch took over 100 ms"
            );
        }
        metrics::histogram!("backline_store_batch_size").record(size as f64);
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters.writes.fetch_add(size as u64, Ordering::Relaxed);
        counters
            .savepoints
            .store(tx.savepoints_opened(), Ordering::Relaxed);
        for (ok, completion) in completions {
            if ok {
                completion(commit.clone());
            } else {
                completion(Ok(()));
            }
        }
        // After the answers: a checkpoint delays the next batch, not this one.
        if commit.is_ok() {
            tx.finish_checkpoint();
            counters
                .wal_checkpoints
                .store(tx.wal_checkpoints(), Ordering::Relaxed);
        }
        if carried.is_empty() {
            counters.busy.store(0, Ordering::Release);
        }
    }
}

/// Cuts the batch after its `max_savepoints`-th write that needs a
/// savepoint (any write but a send); returns the rest, for the next batch.
fn split_at_savepoints(batch: &mut Vec<Queued>, max_savepoints: usize) -> Vec<Queued> {
    let mut savepoints = 0;
    let cut = batch.iter().position(|queued| {
        if queued.send.is_none() {
            savepoints += 1;
        }
        savepoints > max_savepoints
    });
    match cut {
        Some(at) => batch.split_off(at),
        None => Vec::new(),
    }
}

/// Opens the batch's transaction.
async fn begin(tx: &mut WriteTx) -> Result<(), StoreError> {
    let begin = match tx.backend() {
        // IMMEDIATE takes the write lock now, not at the first write.
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    };
    tx.control(begin).await
}

/// Runs one batch in the transaction `begin` opened; `Err` means nothing
/// of it was committed.
async fn run_batch(
    tx: &mut WriteTx,
    batch: std::vec::Drain<'_, Queued>,
) -> (Result<(), String>, Vec<(bool, Completion)>) {
    let single = batch.len() == 1;
    let mut completions = Vec::with_capacity(batch.len());
    let mut locks = Locks::default();
    let mut sends = Vec::new();
    let jobs: Vec<(Job, bool)> = batch
        .map(|queued| {
            locks.sessions.extend(queued.locks.sessions);
            locks.users.extend(queued.locks.users);
            let send = queued.send.is_some();
            sends.extend(queued.send);
            (queued.job, send)
        })
        .collect();
    let outcome = match read_ahead(tx, locks, &sends).await {
        // Dropping the unrun writes tells their callers nothing was stored.
        Err(error) => Err(format!("cannot read the batch's rows ahead: {error}")),
        Ok(()) => run_jobs(tx, jobs, single, &mut completions).await,
    };
    tx.end_batch();
    (outcome, completions)
}

/// Reads ahead what the batch's appends count on (`deferred`): each named
/// session's last seq, the stream head of each named user and of each
/// participant of those sessions, and the context of every send and mark.
async fn read_ahead(
    tx: &mut WriteTx,
    mut locks: Locks,
    sends: &[SendKey],
) -> Result<(), StoreError> {
    if locks.sessions.is_empty() && locks.users.is_empty() {
        tx.know_locked(Vec::new(), Vec::new());
        return Ok(());
    }
    locks.sessions.sort();
    locks.sessions.dedup();
    locks.users.sort();
    locks.users.dedup();
    let ((last_seqs, heads), contexts) = match tx.backend() {
        // The sends' contexts first: they hold their sessions' last seqs
        // and participants, which then need no statement of their own.
        Backend::Sqlite => {
            let contexts = tx.load_sends(sends).await?;
            (read_rows_sqlite(tx, locks, &contexts).await?, contexts)
        }
        // The contexts only once the rows are locked: read before, they
        // could miss another node's change.
        Backend::Postgres => {
            let known = lock_rows_postgres(tx, locks).await?;
            (known, tx.load_sends(sends).await?)
        }
    };
    tx.know_locked(last_seqs, heads);
    tx.know_sends(contexts);
    Ok(())
}

/// The sessions' last seqs and the users' heads.
type Known = (Vec<(String, i64)>, Vec<(String, i64)>);

/// PostgreSQL: locks the batch's hot rows before any write runs:
/// sessions, then users (named, and the participants of those sessions),
/// each in id order. Every node's writer takes them in this one order, so
/// two batches that share rows queue behind each other instead of
/// deadlocking (each write would otherwise lock them in its own order and
/// hold them to the batch's commit). The same statements read the last
/// seqs and the heads; each finds its rows by key (`= ANY` of a `text[]`).
async fn lock_rows_postgres(tx: &mut WriteTx, locks: Locks) -> Result<Known, StoreError> {
    let sessions = crate::db::Param::TextList(locks.sessions.into_iter().map(Some).collect());
    let users = crate::db::Param::TextList(locks.users.into_iter().map(Some).collect());
    // Rows found by key (`= ANY` of an array: an index scan of the
    // primary key), locked in id order.
    let last_seqs = crate::db::query_as::<(String, i64)>(
        "SELECT id, last_seq FROM im_sessions WHERE id = ANY(CAST($1 AS text[])) \
         ORDER BY id FOR UPDATE",
    )
    .bind(sessions.clone())
    .fetch_all(&mut *tx)
    .await?;
    // On PostgreSQL every append moves `stream_head` to the seq it gives
    // out (`events::append_many`, `deferred`), and pruning only deletes
    // events below it: the head is `stream_head` alone, no `MAX(seq)`.
    let heads = crate::db::query_as::<(String, i64)>(
        "SELECT id, stream_head FROM users \
         WHERE id = ANY(CAST($1 AS text[]) || ARRAY(SELECT user_id FROM session_participants \
                                                     WHERE session_id = ANY(CAST($2 AS text[])))) \
         ORDER BY id FOR UPDATE",
    )
    .bind(users)
    .bind(sessions)
    .fetch_all(&mut *tx)
    .await?;
    Ok((last_seqs, heads))
}

/// SQLite: the same without locks (the writer is the file's only writer):
/// a session a send's context holds from that context, any other with a
/// cached statement; the heads from the writer's cache (else stored).
async fn read_rows_sqlite(
    tx: &mut WriteTx,
    locks: Locks,
    contexts: &[(SendKey, SendContext)],
) -> Result<Known, StoreError> {
    let read: HashMap<&str, &SendContext> = contexts
        .iter()
        .map(|(key, context)| (key.session_id.as_str(), context))
        .collect();
    let mut last_seqs = Vec::with_capacity(locks.sessions.len());
    let mut users = locks.users;
    for session in locks.sessions {
        if let Some(context) = read.get(session.as_str()) {
            users.extend(context.participants.iter().map(|p| p.user_id.to_string()));
            last_seqs.push((session, context.session.last_seq));
            continue;
        }
        let last_seq =
            crate::db::query_scalar::<i64>("SELECT last_seq FROM im_sessions WHERE id = $1")
                .bind(&session)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(last_seq) = last_seq {
            users.extend(
                crate::db::query_scalar::<String>(
                    "SELECT user_id FROM session_participants WHERE session_id = $1",
                )
                .bind(&session)
                .fetch_all(&mut *tx)
                .await?,
            );
            last_seqs.push((session, last_seq));
        }
    }
    users.sort();
    users.dedup();
    let heads = tx.heads_of(users).await?;
    Ok((last_seqs, heads))
}

/// Runs the writes; a send takes a savepoint only when it runs a statement
/// of its own, and the appends the writes left waiting are written together
/// (at the latest just before the commit).
async fn run_jobs(
    tx: &mut WriteTx,
    jobs: Vec<(Job, bool)>,
    single: bool,
    completions: &mut Vec<(bool, Completion)>,
) -> Result<(), String> {
    for (job, send) in jobs {
        tx.start_write(send, single)
            .await
            .map_err(|e| e.to_string())?;
        let (ok, completion) = job(tx).await;
        completions.push((ok, completion));
        if let Some(fault) = tx.fault() {
            return Err(fault.to_owned());
        }
        tx.finish_write(ok).await.map_err(|e| e.to_string())?;
        if single && !ok {
            tx.batch_undone();
            tx.control("ROLLBACK").await.map_err(|e| e.to_string())?;
            return Ok(());
        }
    }
    tx.write_deferred(false).await.map_err(|e| e.to_string())?;
    commit(tx).await
}

async fn commit(tx: &mut WriteTx) -> Result<(), String> {
    let committing = Instant::now();
    tx.control("COMMIT").await.map_err(|e| e.to_string())?;
    tx.batch_committed();
    metrics::histogram!("backline_store_commit_statement_seconds")
        .record(committing.elapsed().as_secs_f64());
    Ok(())
}
