//! The group-commit writer.
//!
//! One task owns the single write connection. It takes the first queued write,
//! then every write already waiting (up to `max_batch`), runs them in one
//! transaction, each inside its own savepoint so a failing write is rolled
//! back alone, and commits once. With SQLite's `synchronous=FULL` one commit
//! is one fsync, so a batch of N writes costs one fsync instead of N.
//!
//! The queue is bounded (`QUEUE_CAPACITY`): when the database is slower than
//! the writes arriving, callers wait in `submit` (back-pressure) instead of
//! the queue growing without limit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use sqlx::{AnyConnection, AnyPool, Connection, Executor};
use tokio::sync::{mpsc, oneshot, Mutex};
use tokio::task::JoinHandle;

use crate::{OnCommit, StoreError, WriteFn};

const QUEUE_CAPACITY: usize = 8192;

type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job =
    Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, (bool, Completion)> + Send>;

/// Counters for the metrics endpoint and the benchmarks.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriterStats {
    pub batches: u64,
    pub writes: u64,
}

#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    writes: AtomicU64,
    /// 1 while a batch is being run and answered.
    busy: AtomicU64,
}

#[derive(Clone)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Job>,
    counters: Arc<Counters>,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Writer {
    pub(crate) fn spawn(pool: AnyPool, max_batch: usize) -> Writer {
        let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let queue: mpsc::Sender<Job> = queue;
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(run(pool, receiver, max_batch, counters.clone()));
        Writer {
            queue,
            counters,
            task: Arc::new(Mutex::new(Some(task))),
        }
    }

    pub(crate) fn stats(&self) -> WriterStats {
        WriterStats {
            batches: self.counters.batches.load(Ordering::Relaxed),
            writes: self.counters.writes.load(Ordering::Relaxed),
        }
    }

    pub(crate) async fn submit<T: Send + 'static>(
        &self,
        write: WriteFn<T>,
        on_commit: Option<OnCommit<T>>,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |conn: &mut AnyConnection| {
            Box::pin(async move {
                match write(conn).await {
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
                                    "commit failed: {message}"
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
        self.queue.send(job).await.map_err(|_| StoreError::Closed)?;
        // A dropped reply means the writer could not even start the batch
        // (no connection, BEGIN failed): nothing was written.
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the write could not be started".into()))?
    }

    /// Lets the queued writes finish, then stops the task.
    pub(crate) async fn close(&self) {
        // Every `Store` clone holds a sender, so the channel never closes by
        // itself: wait (bounded) for the queue to drain and the batch in
        // flight to be committed and answered, then stop the task.
        if let Some(task) = self.task.lock().await.take() {
            let queue = self.queue.clone();
            let deadline = Instant::now() + std::time::Duration::from_secs(5);
            while (queue.capacity() < QUEUE_CAPACITY
                || self.counters.busy.load(Ordering::Acquire) != 0)
                && Instant::now() < deadline
            {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            task.abort();
            let _ = task.await;
        }
    }
}

async fn run(
    pool: AnyPool,
    mut receiver: mpsc::Receiver<Job>,
    max_batch: usize,
    counters: Arc<Counters>,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    loop {
        if receiver.recv_many(&mut batch, max_batch).await == 0 {
            return;
        }
        counters.busy.store(1, Ordering::Release);
        let size = batch.len();
        let started = Instant::now();
        let completions = match pool.acquire().await {
            Ok(mut conn) => run_batch(&mut conn, batch.drain(..)).await,
            Err(error) => {
                let message = error.to_string();
                tracing::error!(error.message = %message, "store writer cannot get a connection");
                // The jobs are dropped unrun; their callers are told the write
                // could not be started (nothing was written).
                batch.clear();
                counters.busy.store(0, Ordering::Release);
                continue;
            }
        };
        let (commit, completions) = completions;
        metrics::histogram!("backline_store_commit_seconds")
            .record(started.elapsed().as_secs_f64());
        metrics::histogram!("backline_store_batch_size").record(size as f64);
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters.writes.fetch_add(size as u64, Ordering::Relaxed);
        for (ok, completion) in completions {
            if ok {
                completion(commit.clone());
            } else {
                completion(Ok(()));
            }
        }
        counters.busy.store(0, Ordering::Release);
    }
}

async fn run_batch(
    conn: &mut AnyConnection,
    jobs: impl ExactSizeIterator<Item = Job>,
) -> (Result<(), String>, Vec<(bool, Completion)>) {
    let single = jobs.len() == 1;
    let mut completions = Vec::with_capacity(jobs.len());
    let mut tx = match conn.begin().await {
        Ok(tx) => tx,
        Err(error) => {
            let message = error.to_string();
            for job in jobs {
                drop(job);
            }
            return (Err(message), completions);
        }
    };
    // Each write runs inside its own savepoint. To save a round trip per
    // write, closing one write's savepoint and opening the next one's go to
    // the database as one statement list.
    let mut previous_ok: Option<bool> = None;
    for job in jobs {
        if single {
            let (ok, completion) = job(&mut tx).await;
            completions.push((ok, completion));
            if !ok {
                let _ = tx.rollback().await;
                return (Ok(()), completions);
            }
            continue;
        }
        let open = match previous_ok {
            None => "SAVEPOINT backline_write",
            Some(true) => "RELEASE SAVEPOINT backline_write; SAVEPOINT backline_write",
            Some(false) => {
                "ROLLBACK TO SAVEPOINT backline_write; RELEASE SAVEPOINT backline_write; \
                 SAVEPOINT backline_write"
            }
        };
        if let Err(error) = (&mut *tx).execute(open).await {
            // Which part failed is unknown: give up the whole batch (nothing
            // is acknowledged; every write is idempotent and may be retried).
            let message = error.to_string();
            tracing::error!(error.message = %message, "savepoint handling failed; batch rolled back");
            drop(job);
            let _ = tx.rollback().await;
            return (Err(message), completions);
        }
        let (ok, completion) = job(&mut tx).await;
        previous_ok = Some(ok);
        completions.push((ok, completion));
    }
    if previous_ok == Some(false) {
        if let Err(error) = (&mut *tx)
            .execute("ROLLBACK TO SAVEPOINT backline_write")
            .await
        {
            let message = error.to_string();
            let _ = tx.rollback().await;
            return (Err(message), completions);
        }
    }
    let commit = tx.commit().await.map_err(|error| error.to_string());
    if let Err(message) = &commit {
        tracing::error!(error.message = %message, "store batch commit failed");
    }
    (commit, completions)
}
