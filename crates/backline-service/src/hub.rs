//! The per-node registry of live desktop connections, and presence.
//!
//! The hub knows no sockets: each connection registers an outbound
//! `mpsc::Sender<Outbound>` and a [`Cut`]. Delivery never blocks: a
//! connection whose bounded queue is full is cut (`slow_consumer`) and
//! resumes from its last seq, so a slow desktop never slows others and the
//! server's memory stays bounded.
//!
//! A connection is cut once: the first reason wins, and a slow-consumer cut
//! (queue full here, or a write timed out in the socket loop) is counted once
//! in `backline_slow_consumer_disconnects_total{reason}`.
//!
//! Locking: one `std::sync::Mutex` guards the maps; it is held only for
//! non-blocking `try_send`s and map updates, never across an `.await`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use backline_protocol::frames::ServerFrame;
use backline_protocol::model::Status;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What a connection's writer receives.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A stored stream event, already serialised as a whole `event` frame.
    Event { seq: u64, frame: Arc<str> },
    /// An ephemeral frame (typing, presence).
    Frame(Arc<str>),
}

/// A registered connection, as the socket loop holds it.
pub struct Registration {
    pub id: u64,
    pub receiver: mpsc::Receiver<Outbound>,
    /// Set when the connection is cut, by the hub or by the socket loop.
    pub cut: Cut,
    /// Changes when the connection should catch up with its stream head in
    /// the store now (the bus may have lost messages), as at a ping.
    pub catch_up: tokio::sync::watch::Receiver<u64>,
}

/// Why a connection was cut (the value of [`Cut::reason`]).
pub mod kill_reason {
    /// Its outbound queue was full (the hub could not queue an event).
    pub const SLOW_CONSUMER: u8 = 1;
    /// Its session token was revoked (sign-out, account disabled, password reset).
    pub const SIGNED_OUT: u8 = 2;
    pub const SHUTDOWN: u8 = 3;
    /// A socket write did not complete in time (the desktop stopped reading).
    pub const WRITE_TIMEOUT: u8 = 4;
}

/// How one connection is cut off: a cancellation token and the first reason.
#[derive(Debug, Clone, Default)]
pub struct Cut {
    token: CancellationToken,
    reason: Arc<AtomicU8>,
}

impl Cut {
    /// Cuts the connection for `reason` (a [`kill_reason`]) unless it is cut
    /// already; true when this call cut it. A slow-consumer cut is counted
    /// here, so each cut counts once whoever notices it.
    pub fn cut(&self, reason: u8) -> bool {
        let first = self
            .reason
            .compare_exchange(0, reason, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok();
        self.token.cancel();
        if first {
            let label = match reason {
                kill_reason::SLOW_CONSUMER => Some("queue_full"),
                kill_reason::WRITE_TIMEOUT => Some("write_timeout"),
                _ => None,
            };
            if let Some(label) = label {
                metrics::counter!("backline_slow_consumer_disconnects_total", "reason" => label)
                    .increment(1);
            }
        }
        first
    }

    /// The first reason the connection was cut for, 0 while it is not.
    pub fn reason(&self) -> u8 {
        self.reason.load(Ordering::Relaxed)
    }

    /// Completes once the connection is cut.
    pub async fn cancelled(&self) {
        self.token.cancelled().await
    }
}

struct Conn {
    user_id: Arc<str>,
    /// SHA-256 of the session token the connection authenticated with.
    token_hash: Option<Arc<str>>,
    sender: mpsc::Sender<Outbound>,
    cut: Cut,
    watching: HashSet<Arc<str>>,
}

#[derive(Default)]
struct Inner {
    conns: HashMap<u64, Conn>,
    by_user: HashMap<Arc<str>, Vec<u64>>,
    watchers: HashMap<Arc<str>, HashSet<u64>>,
    /// Users connected on other nodes, as each node last announced them.
    remote: HashMap<Arc<str>, RemoteNode>,
    /// Users a heartbeat showed online again (their node was taken for gone,
    /// or is new here): their watchers here get their status at the next sweep.
    revived: HashSet<Arc<str>>,
}

/// What another node announced of its connected users, and when.
struct RemoteNode {
    users: HashSet<Arc<str>>,
    seen: std::time::Instant,
}

/// How often a node announces its connected users to the others.
pub const HEARTBEAT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// A node not heard from for this long (three heartbeats) is taken to be
/// gone with its desktops: its users turn offline for their watchers. It is
/// also the grace a drained node's users have to reconnect elsewhere.
pub const REMOTE_NODE_EXPIRY: std::time::Duration = std::time::Duration::from_secs(3);

/// What a sweep of the other nodes found (see [`Hub::sweep_remote`]).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PresenceSweep {
    /// Users whose every connection was on nodes now taken for gone.
    pub gone: Vec<String>,
    /// Users a heartbeat showed online again since the last sweep.
    pub revived: Vec<String>,
}

/// A change of a user's connectedness on this node, for presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// First connection of the user on this node.
    Up,
    /// Last connection of the user on this node closed.
    Down,
    None,
}

pub struct Hub {
    queue_capacity: usize,
    next_id: AtomicU64,
    inner: Mutex<Inner>,
    catch_up: tokio::sync::watch::Sender<u64>,
}

impl Hub {
    pub fn new(queue_capacity: usize) -> Hub {
        Hub {
            queue_capacity: queue_capacity.max(16),
            next_id: AtomicU64::new(1),
            inner: Mutex::new(Inner::default()),
            catch_up: tokio::sync::watch::Sender::new(0),
        }
    }

    /// Asks every connection on this node to catch up with its stream head
    /// in the store now: the bus was cut off or dropped messages.
    pub fn catch_up_all(&self) {
        self.catch_up.send_modify(|generation| *generation += 1);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated
        // in a way that matters more than losing the hub, so keep going.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a connection of `user_id`, authenticated with the token whose
    /// hash is `token_hash` (so that signing that token out closes it).
    pub fn register(&self, user_id: &str, token_hash: Option<&str>) -> (Registration, Edge) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = mpsc::channel(self.queue_capacity);
        let cut = Cut::default();
        let user: Arc<str> = Arc::from(user_id);
        let mut inner = self.lock();
        let list = inner.by_user.entry(user.clone()).or_default();
        list.push(id);
        let edge = if list.len() == 1 {
            Edge::Up
        } else {
            Edge::None
        };
        inner.conns.insert(
            id,
            Conn {
                user_id: user,
                token_hash: token_hash.map(Arc::from),
                sender,
                cut: cut.clone(),
                watching: HashSet::new(),
            },
        );
        metrics::gauge!("backline_connections").increment(1.0);
        let mut catch_up = self.catch_up.subscribe();
        catch_up.mark_unchanged();
        (
            Registration {
                id,
                receiver,
                cut,
                catch_up,
            },
            edge,
        )
    }

    /// Removes a connection; returns `Down` when it was the user's last on this node.
    pub fn unregister(&self, id: u64) -> Edge {
        let mut inner = self.lock();
        let Some(conn) = inner.conns.remove(&id) else {
            return Edge::None;
        };
        metrics::gauge!("backline_connections").decrement(1.0);
        for watched in &conn.watching {
            if let Some(set) = inner.watchers.get_mut(watched) {
                set.remove(&id);
                if set.is_empty() {
                    inner.watchers.remove(watched);
                }
            }
        }
        let mut edge = Edge::None;
        if let Some(list) = inner.by_user.get_mut(&conn.user_id) {
            list.retain(|other| *other != id);
            if list.is_empty() {
                inner.by_user.remove(&conn.user_id);
                edge = Edge::Down;
            }
        }
        edge
    }

    /// Replaces the set of users a connection watches.
    pub fn watch(&self, id: u64, user_ids: &[String]) {
        let mut inner = self.lock();
        let Some(conn) = inner.conns.get_mut(&id) else {
            return;
        };
        let new: HashSet<Arc<str>> = user_ids.iter().map(|u| Arc::from(u.as_str())).collect();
        let old = std::mem::replace(&mut conn.watching, new.clone());
        for gone in old.difference(&new) {
            if let Some(set) = inner.watchers.get_mut(gone) {
                set.remove(&id);
                if set.is_empty() {
                    inner.watchers.remove(gone);
                }
            }
        }
        for added in new {
            inner.watchers.entry(added).or_default().insert(id);
        }
    }

    /// Queues a stream event for every connection of `user_id` on this node.
    pub fn deliver_event(&self, user_id: &str, seq: u64, frame: &Arc<str>) {
        let inner = self.lock();
        if let Some(ids) = inner.by_user.get(user_id) {
            for id in ids {
                if let Some(conn) = inner.conns.get(id) {
                    push(
                        conn,
                        Outbound::Event {
                            seq,
                            frame: frame.clone(),
                        },
                    );
                }
            }
        }
    }

    /// Queues an ephemeral frame for every connection of each user, except `skip_conn`.
    pub fn deliver_frame(&self, user_ids: &[String], frame: &Arc<str>) {
        let inner = self.lock();
        for user_id in user_ids {
            if let Some(ids) = inner.by_user.get(user_id.as_str()) {
                for id in ids {
                    if let Some(conn) = inner.conns.get(id) {
                        push(conn, Outbound::Frame(frame.clone()));
                    }
                }
            }
        }
    }

    /// Sends a presence frame to every connection watching `user_id`. (The
    /// user's own desktops learn of their status from their stream.)
    pub fn deliver_presence(&self, user_id: &str, status: Status, reason: Option<String>) {
        let frame: Arc<str> = Arc::from(
            serde_json::to_string(&ServerFrame::Presence {
                user_id: user_id.to_owned(),
                status,
                reason,
            })
            .unwrap_or_default(),
        );
        let inner = self.lock();
        let Some(targets) = inner.watchers.get(user_id) else {
            return;
        };
        for id in targets {
            if let Some(conn) = inner.conns.get(id) {
                push(conn, Outbound::Frame(frame.clone()));
            }
        }
    }

    /// Queues one frame for one connection.
    pub fn send_to(&self, id: u64, frame: Arc<str>) {
        let inner = self.lock();
        if let Some(conn) = inner.conns.get(&id) {
            push(conn, Outbound::Frame(frame));
        }
    }

    /// Whether the user has a connection on this node or, as announced
    /// recently, on another.
    pub fn is_online(&self, user_id: &str) -> bool {
        online_in(&self.lock(), user_id)
    }

    /// Forgets the nodes not heard from for [`REMOTE_NODE_EXPIRY`] and
    /// returns their users who are connected nowhere else (to be shown
    /// offline to their watchers here), and the users heartbeats revived.
    pub fn sweep_remote(&self) -> PresenceSweep {
        let mut inner = self.lock();
        let expired: Vec<Arc<str>> = inner
            .remote
            .iter()
            .filter(|(_, node)| node.seen.elapsed() >= REMOTE_NODE_EXPIRY)
            .map(|(id, _)| id.clone())
            .collect();
        let mut gone = Vec::new();
        for id in expired {
            if let Some(node) = inner.remote.remove(&id) {
                tracing::warn!(node = %id, "node not heard from: its users are offline");
                gone.extend(node.users);
            }
        }
        gone.retain(|user| !online_in(&inner, user));
        gone.sort();
        gone.dedup();
        let mut revived: Vec<String> = inner.revived.drain().map(|u| u.to_string()).collect();
        revived.sort();
        PresenceSweep {
            gone: gone.into_iter().map(|u| u.to_string()).collect(),
            revived,
        }
    }

    fn remote_node<'a>(inner: &'a mut Inner, node: &str) -> &'a mut RemoteNode {
        let entry = inner
            .remote
            .entry(Arc::from(node))
            .or_insert_with(|| RemoteNode {
                users: HashSet::new(),
                seen: std::time::Instant::now(),
            });
        entry.seen = std::time::Instant::now();
        entry
    }

    /// Records another node's announcement of a user's connectedness there.
    pub fn set_remote_online(&self, user_id: &str, node: &str, online: bool) {
        let mut inner = self.lock();
        let remote = Self::remote_node(&mut inner, node);
        if online {
            remote.users.insert(Arc::from(user_id));
        } else {
            remote.users.remove(user_id);
        }
    }

    /// Replaces what another node has connected (its periodic heartbeat).
    pub fn set_remote_users(&self, node: &str, users: &[String]) {
        let mut inner = self.lock();
        let users: HashSet<Arc<str>> = users.iter().map(|u| Arc::from(u.as_str())).collect();
        let newly: Vec<Arc<str>> = users
            .iter()
            .filter(|user| !online_in(&inner, user))
            .cloned()
            .collect();
        inner.revived.extend(newly);
        Self::remote_node(&mut inner, node).users = users;
    }

    /// Kills every connection of a user (account disabled, signed out everywhere).
    pub fn kill_user(&self, user_id: &str) {
        let inner = self.lock();
        if let Some(ids) = inner.by_user.get(user_id) {
            for id in ids {
                if let Some(conn) = inner.conns.get(id) {
                    conn.cut.cut(kill_reason::SIGNED_OUT);
                }
            }
        }
    }

    /// Kills the connections of a user that authenticated with one token (signed out).
    pub fn kill_token(&self, user_id: &str, token_hash: &str) {
        let inner = self.lock();
        if let Some(ids) = inner.by_user.get(user_id) {
            for id in ids {
                if let Some(conn) = inner.conns.get(id) {
                    if conn.token_hash.as_deref() == Some(token_hash) {
                        conn.cut.cut(kill_reason::SIGNED_OUT);
                    }
                }
            }
        }
    }

    /// Kills every connection (shutdown).
    pub fn kill_all(&self) {
        let inner = self.lock();
        for conn in inner.conns.values() {
            conn.cut.cut(kill_reason::SHUTDOWN);
        }
    }

    pub fn connection_count(&self) -> usize {
        self.lock().conns.len()
    }

    /// Users with at least one connection on this node.
    pub fn local_users(&self) -> Vec<String> {
        self.lock().by_user.keys().map(|u| u.to_string()).collect()
    }
}

fn online_in(inner: &Inner, user_id: &str) -> bool {
    inner.by_user.contains_key(user_id)
        || inner
            .remote
            .values()
            .any(|node| node.seen.elapsed() < REMOTE_NODE_EXPIRY && node.users.contains(user_id))
}

fn push(conn: &Conn, item: Outbound) {
    match conn.sender.try_send(item) {
        Ok(()) => {}
        Err(mpsc::error::TrySendError::Full(_)) => {
            conn.cut.cut(kill_reason::SLOW_CONSUMER);
        }
        Err(mpsc::error::TrySendError::Closed(_)) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age(hub: &Hub, node: &str) {
        let mut inner = hub.lock();
        let remote = inner.remote.get_mut(node).unwrap();
        remote.seen -= REMOTE_NODE_EXPIRY;
    }

    #[test]
    fn a_silent_nodes_users_are_gone_unless_connected_elsewhere() {
        let hub = Hub::new(16);
        let (_registration, _) = hub.register("also-here", None);
        hub.set_remote_users(
            "lost",
            &["only-there".into(), "also-b".into(), "also-here".into()],
        );
        hub.set_remote_users("b", &["also-b".into()]);
        // Heard from for the first time: shown online (their status is sent).
        assert_eq!(
            hub.sweep_remote().revived,
            ["also-b", "only-there"].map(String::from)
        );
        age(&hub, "lost");
        assert!(!hub.is_online("only-there"));
        assert_eq!(
            hub.sweep_remote(),
            PresenceSweep {
                gone: vec!["only-there".into()],
                revived: vec![],
            }
        );
        // Nothing twice; a heartbeat brings the node's users back.
        assert_eq!(hub.sweep_remote(), PresenceSweep::default());
        hub.set_remote_users("lost", &["only-there".into()]);
        assert_eq!(hub.sweep_remote().revived, ["only-there".to_owned()]);
        assert!(hub.is_online("only-there"));
    }
}
