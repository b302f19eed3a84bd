//! The argon2id computations, on a fixed set of threads behind a bounded queue.
//!
//! Each computation takes 19 MiB for about 50 ms of one core. On a few
//! dedicated threads (not on the runtime's blocking pool, which grows to
//! hundreds of threads, each with an allocator arena that keeps its 19 MiB)
//! the memory in use is bounded by the thread count. A request that finds
//! the queue full is refused at once (`rate_limited`, retry in 1 s): a flood
//! of sign-ins cannot make the real ones wait behind it without end.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{Result, ServiceError};

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads and their queue.
pub(crate) struct Hasher {
    jobs: SyncSender<Job>,
}

impl Hasher {
    /// `threads` workers (0: one per core, at most 8) and at most `queue`
    /// computations waiting for one. The threads end when the hasher is dropped.
    pub(crate) fn new(threads: usize, queue: usize) -> Hasher {
        let threads = match threads {
            0 => crate::cpu_workers(),
            n => n,
        };
        let (jobs, receiver) = sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || work(&receiver))
                .expect("start a hashing thread");
        }
        Hasher { jobs }
    }

    /// Runs `compute` on a hashing thread, or refuses at once when the queue is full.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        compute: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // A caller that gave up (its request was dropped) costs nothing.
            if !reply.is_closed() {
                let _ = reply.send(compute());
            }
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                metrics::counter!("backline_password_checks_refused_total").increment(1);
                return Err(ServiceError::Throttled {
                    message: "too many sign-ins are being checked right now: retry in 1 s".into(),
                    retry_after: Duration::from_secs(1),
                });
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(ServiceError::Internal(anyhow::anyhow!(
                    "the hashing threads have stopped"
                )))
            }
        }
        answer
            .await
            .map_err(|_| ServiceError::Internal(anyhow::anyhow!("a hashing thread failed")))
    }
}

fn work(receiver: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for the next job.
        let job = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        match job {
            // A panic fails that one check (its caller hears of it), not the thread.
            Ok(job) => {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}
