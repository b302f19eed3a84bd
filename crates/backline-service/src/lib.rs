//! Backline's use cases and runtime state.
//!
//! [`Backline`] is the one handle the server holds: it owns the store, the
//! hub of live connections, the bus and the limits, and its methods are the
//! use cases, grouped by area in the modules below. Handlers call these
//! methods; only `backline-store` contains SQL.
//!
//! Every write follows the commit rule: validate, then one store write that
//! appends transcript entries and stream events in one transaction, then —
//! in the writer's post-commit hook, in commit order — publish the events.
//!
//! Layout, in reading order: [`error`], [`config`], [`hub`], [`bus`],
//! [`stream`] (event append and replay), [`auth`], [`accounts`], [`shared`]
//! (what the areas below share: the sharing rule, an interaction's view and
//! consultations, contacts, webhooks, state mappings), [`directory`], then
//! the three areas, each a folder: [`sessions`] (IM sessions and
//! transcripts), [`interactions`] (contacts, history, the platform API),
//! [`voice`] (calls, hold, transfer, conference, signalling); then
//! [`webhooks`], [`workers`], [`text`], [`input`] (the rules for text from
//! outside: no NUL, single-line names), [`cards`] (payment-card numbers
//! masked before an IM message is stored), [`compliance`] (retention and
//! legal holds).
//!
//! The layering rule: `sessions`, `interactions` and `voice` depend on
//! `shared` (and on `stream`, `bus`, `hub`, `auth`, `error`, `text`), never
//! on each other; `shared` depends on none of them.

pub mod accounts;
pub mod auth;
pub mod bus;
pub mod cards;
pub mod compliance;
pub mod config;
pub mod directory;
pub mod error;
pub mod hub;
pub mod input;
pub mod interactions;
pub mod reports;
pub mod scim;
pub mod sessions;
pub mod shared;
pub mod sso;
pub mod stream;
pub mod text;
pub mod voice;
pub mod webhooks;
pub mod workers;

use std::num::NonZeroU32;
use std::sync::Arc;

use backline_store::WriteTx;
use backline_store::{Locks, SendKey, Store, StoreError};
use futures::future::BoxFuture;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub use config::ServiceConfig;
pub use error::{Result, ServiceError};

use crate::bus::{Bus, BusMessage};
use crate::hub::Hub;

/// The handle every handler holds. Cheap to clone.
#[derive(Clone)]
pub struct Backline {
    inner: Arc<Inner>,
}

struct Inner {
    config: ServiceConfig,
    store: Store,
    hub: Arc<Hub>,
    bus: Bus,
    limiter: DefaultKeyedRateLimiter<String>,
    /// The click-to-call page is open to anyone: each client address has
    /// its own budget of new calls.
    public_calls: DefaultKeyedRateLimiter<std::net::IpAddr>,
    /// Ringing web calls by caller (address and tab), to give a caller who
    /// asks again the call that already rings.
    ringing_callers: voice::RingingCallers,
    hasher: auth::Hasher,
    sign_in_throttle: auth::SignInThrottle,
    /// The OpenID provider, when single sign-on is configured.
    sso: Option<sso::Provider>,
    /// Sign-ins with the provider one client address may start (each keeps a row for 10 minutes).
    sso_starts: DefaultKeyedRateLimiter<std::net::IpAddr>,
    shutdown: tokio_util::sync::CancellationToken,
}

impl Backline {
    /// Builds the service over an open store, with a local or NATS bus.
    pub async fn new(config: ServiceConfig, store: Store) -> anyhow::Result<Backline> {
        let hub = Arc::new(Hub::new(config.outbound_queue));
        let bus = match &config.nats_url {
            Some(url) => {
                Bus::nats(
                    &config.node_id,
                    hub.clone(),
                    url,
                    &config.nats_subject_prefix,
                )
                .await?
            }
            None => Bus::local(&config.node_id, hub.clone()),
        };
        let rate = NonZeroU32::new(config.rate_per_second.max(1)).expect("positive");
        let burst = NonZeroU32::new(config.rate_burst.max(1)).expect("positive");
        let limiter = RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst));
        let public_calls = RateLimiter::keyed(
            Quota::per_minute(
                NonZeroU32::new(config.public_calls_per_minute.max(1)).expect("positive"),
            )
            .allow_burst(NonZeroU32::new(config.public_calls_burst.max(1)).expect("positive")),
        );
        let hasher =
            auth::Hasher::new(config.sign_in.hashing_threads, config.sign_in.hashing_queue);
        let sign_in_throttle = auth::sign_in_throttle(&config.sign_in);
        let sso = config.oidc.clone().map(sso::Provider::new).transpose()?;
        Ok(Backline {
            inner: Arc::new(Inner {
                hasher,
                sign_in_throttle,
                sso,
                sso_starts: RateLimiter::keyed(
                    Quota::per_minute(NonZeroU32::new(sso::STARTS_PER_MINUTE).expect("positive"))
                        .allow_burst(NonZeroU32::new(sso::STARTS_BURST).expect("positive")),
                ),
                config,
                store,
                hub,
                bus,
                limiter,
                public_calls,
                ringing_callers: Default::default(),
                shutdown: tokio_util::sync::CancellationToken::new(),
            }),
        })
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.inner.config
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.inner.hub
    }

    pub fn bus(&self) -> &Bus {
        &self.inner.bus
    }

    /// A connection of the read pool, for reads of several queries.
    pub(crate) async fn read_conn(&self) -> Result<backline_store::ReadConn> {
        Ok(self.store().read_conn().await?)
    }

    /// Cancelled when the server begins to shut down.
    pub fn shutdown_token(&self) -> &tokio_util::sync::CancellationToken {
        &self.inner.shutdown
    }

    /// Refuses the request when the user has used up their rate.
    pub(crate) fn check_rate(&self, user_id: &str) -> Result<()> {
        match self.inner.limiter.check_key(&user_id.to_owned()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                Err(error::err(
                    backline_protocol::ErrorCode::RateLimited,
                    format!("too many requests: retry in {} ms", wait.as_millis().max(1)),
                ))
            }
        }
    }

    /// Takes one sign-in with the identity provider from `address`'s budget.
    pub(crate) fn admit_sso_start(&self, address: std::net::IpAddr) -> Result<()> {
        let limiter = &self.inner.sso_starts;
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        limiter.check_key(&address).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            let secs = wait.as_millis().div_ceil(1000).max(1) as u64;
            crate::error::ServiceError::Throttled {
                message: format!("too many sign-ins started from this address: retry in {secs} s"),
                retry_after: std::time::Duration::from_secs(secs),
            }
        })
    }

    /// Takes one new web call from `address`'s budget; `Err(wait)` when it
    /// is spent. Only the address's own attempts count against it.
    pub fn admit_public_call(&self, address: std::net::IpAddr) -> Result<(), std::time::Duration> {
        let limiter = &self.inner.public_calls;
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        limiter.check_key(&address).map_err(|not_until| {
            not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ))
        })
    }

    pub(crate) fn ringing_callers(&self) -> &voice::RingingCallers {
        &self.inner.ringing_callers
    }

    /// Runs one write in the group-commit writer and publishes the bus
    /// messages it produced right after the commit, in commit order.
    pub(crate) async fn commit<T, F>(&self, write: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut WriteTx) -> BoxFuture<'c, Result<(T, Vec<BusMessage>)>>
            + Send
            + 'static,
    {
        self.enqueue_commit(write).await?.await
    }

    /// Like [`Backline::commit`], but answers as soon as the write is queued,
    /// with what answers once it committed. Writes queued one after the other
    /// commit in that order.
    pub(crate) async fn enqueue_commit<T, F>(
        &self,
        write: F,
    ) -> Result<BoxFuture<'static, Result<T>>>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut WriteTx) -> BoxFuture<'c, Result<(T, Vec<BusMessage>)>>
            + Send
            + 'static,
    {
        self.enqueue_commit_locking(Locks::default(), write).await
    }

    /// Like [`Backline::commit`], naming the hot rows the write locks
    /// (see [`Locks`]): a write on a session names it.
    pub(crate) async fn commit_locking<T, F>(&self, locks: Locks, write: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut WriteTx) -> BoxFuture<'c, Result<(T, Vec<BusMessage>)>>
            + Send
            + 'static,
    {
        self.enqueue_commit_locking(locks, write).await?.await
    }

    /// Like [`Backline::enqueue_commit`], naming the hot rows the write locks.
    pub(crate) async fn enqueue_commit_locking<T, F>(
        &self,
        locks: Locks,
        write: F,
    ) -> Result<BoxFuture<'static, Result<T>>>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut WriteTx) -> BoxFuture<'c, Result<(T, Vec<BusMessage>)>>
            + Send
            + 'static,
    {
        self.enqueue_commit_with(locks, None, write).await
    }

    /// Like [`Backline::enqueue_commit_locking`]; with `send`, the write is
    /// that send: the store reads its context and writes its appends with
    /// the rest of its batch ([`backline_store::Store::enqueue_send_then`]).
    pub(crate) async fn enqueue_commit_with<T, F>(
        &self,
        locks: Locks,
        send: Option<SendKey>,
        write: F,
    ) -> Result<BoxFuture<'static, Result<T>>>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut WriteTx) -> BoxFuture<'c, Result<(T, Vec<BusMessage>)>>
            + Send
            + 'static,
    {
        let bus = self.inner.bus.clone();
        let write: backline_store::WriteFn<(T, Vec<BusMessage>)> = Box::new(move |conn| {
            Box::pin(async move {
                // Any error rolls the write back (its savepoint); the
                // ServiceError itself travels out through the store.
                write(conn)
                    .await
                    .map_err(|error| StoreError::Aborted(Box::new(error)))
            })
        });
        let publish: backline_store::OnCommit<(T, Vec<BusMessage>)> =
            Box::new(move |(_, msgs): &mut (T, Vec<BusMessage>)| {
                let msgs = std::mem::take(msgs);
                if !msgs.is_empty() {
                    bus.publish(msgs);
                }
            });
        let store = &self.inner.store;
        let pending = match send {
            Some(send) => store.enqueue_send_then(locks, send, write, publish).await,
            None => store.enqueue_then(locks, write, publish).await,
        }
        .map_err(write_failed)?;
        Ok(Box::pin(async move {
            match pending.await {
                Ok((value, _)) => Ok(value),
                Err(error) => Err(write_failed(error)),
            }
        }))
    }
}

/// Threads for CPU-heavy work (password hashing, snippets): one per core,
/// at most 8, so such work never takes every core nor the async workers.
pub(crate) fn cpu_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 8)
}

/// A write's error as the service reports it; faults are logged.
fn write_failed(error: StoreError) -> ServiceError {
    let error = ServiceError::from(error);
    if !matches!(error, ServiceError::Client { .. }) {
        tracing::error!(error.message = %error, error.cause_chain = ?error, "write failed");
    }
    error
}
