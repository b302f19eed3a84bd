//! Set-based appends: what the writer knows of a batch's hot rows, and the
//! transcript entries, stream events and participants' marks it has not
//! yet written.
//!
//! At the start of a batch the writer locks the rows its writes named
//! (sessions, then users) and reads, in the same statements, each session's
//! `last_seq` and each user's stream head; with the rows locked until the
//! commit, nobody else can move them. It also reads the context of every
//! send and mark of the batch in one query. From then on a transcript entry
//! or a stream event appended to those rows takes its seq from here and
//! waits in memory, and so does a mark raised on a participant read ahead;
//! one statement writes all that waited (`UNNEST` of arrays) before any
//! other statement runs and before the commit. A batch of sends and marks
//! thus costs a fixed number of round trips, not four or five per write.
//!
//! SQLite's writer is the file's only writer: it reads the same things
//! ahead without locks (heads from its cache), and writes what waits with
//! cached single-row statements ([`Flush::write_sqlite`]). There the gain is
//! not round trips but the savepoint a send no longer takes.
//!
//! What is known stays true only while nothing else changes these rows: any
//! statement a write runs that is not a `SELECT` clears it for the rest of
//! the batch (what waits is written first), and the writes after it run
//! their statements as before. A write rolled back gives back its seqs and
//! drops what it left waiting.

use std::collections::HashMap;
use std::sync::Arc;

use crate::db::Param;
use crate::sessions::SendContext;
use crate::transcript::AppendEntry;
use crate::{SendKey, StoreError, UserId};

/// A transcript entry waiting to be written.
struct Entry {
    session_id: String,
    seq: i64,
    ts: i64,
    kind: String,
    actor_id: String,
    subject_id: Option<String>,
    body: Option<String>,
    client_msg_id: Option<String>,
}

/// A stream event waiting to be written; one event to several users shares
/// its payload.
struct Event {
    user_id: String,
    seq: i64,
    ts: i64,
    payload: Arc<str>,
}

/// A participant's delivered or read mark waiting to be written.
struct Mark {
    session_id: String,
    user_id: String,
    read: bool,
    seq: i64,
}

/// A seq given out by the current write, with what it replaced.
enum Undo {
    Seq(String, i64),
    Head(String, i64),
}

#[derive(Default)]
pub(crate) struct Deferred {
    /// Whether `last_seqs`, `heads` and `contexts` may be used.
    known: bool,
    last_seqs: HashMap<String, i64>,
    heads: HashMap<String, i64>,
    contexts: HashMap<SendKey, SendContext>,
    entries: Vec<Entry>,
    events: Vec<Event>,
    marks: Vec<Mark>,
    /// Where the current write's waiting rows begin.
    entries_mark: usize,
    events_mark: usize,
    marks_mark: usize,
    /// What the batch knows learnt of the current write's changes (its rows
    /// written inside its savepoint, a mark it raised).
    learnt_own: bool,
    undo: Vec<Undo>,
}

/// The rows one statement writes: entries, events and marks.
pub(crate) struct Flush {
    entries: Vec<Entry>,
    events: Vec<Event>,
    marks: Vec<Mark>,
}

impl Deferred {
    /// Forgets everything (a batch begins or ends, a connection is dropped).
    pub(crate) fn reset(&mut self) {
        *self = Deferred::default();
    }

    /// What the batch's locks read: the sessions' last seqs and the users' heads.
    pub(crate) fn know(&mut self, last_seqs: Vec<(String, i64)>, heads: Vec<(String, i64)>) {
        self.known = true;
        self.last_seqs.extend(last_seqs);
        self.heads.extend(heads);
    }

    /// The contexts of the batch's sends, read with the rows locked.
    pub(crate) fn know_sends(&mut self, contexts: Vec<(SendKey, SendContext)>) {
        if self.known {
            self.contexts.extend(contexts);
        }
    }

    /// A statement that changed rows by itself ran: what is known may be
    /// stale for the rest of the batch. What waits stays waiting.
    pub(crate) fn forget(&mut self) {
        self.known = false;
        self.last_seqs.clear();
        self.heads.clear();
        self.contexts.clear();
        self.undo.clear();
    }

    pub(crate) fn begin_write(&mut self) {
        self.entries_mark = self.entries.len();
        self.events_mark = self.events.len();
        self.marks_mark = self.marks.len();
        self.learnt_own = false;
        self.undo.clear();
    }

    /// The current write was kept.
    pub(crate) fn keep_write(&mut self) {
        self.undo.clear();
    }

    /// The current write was rolled back: its waiting rows go, its seqs come
    /// back. If what is known learnt of its changes (now rolled back with
    /// its savepoint), forget it.
    pub(crate) fn undo_write(&mut self) {
        self.entries.truncate(self.entries_mark);
        self.events.truncate(self.events_mark);
        self.marks.truncate(self.marks_mark);
        if self.learnt_own {
            self.forget();
        }
        while let Some(undo) = self.undo.pop() {
            match undo {
                Undo::Seq(session, seq) => self.last_seqs.insert(session, seq),
                Undo::Head(user, head) => self.heads.insert(user, head),
            };
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.events.is_empty() && self.marks.is_empty()
    }

    /// Whether rows of earlier writes wait (the current write's excluded).
    pub(crate) fn earlier_waiting(&self) -> bool {
        self.entries_mark > 0 || self.events_mark > 0 || self.marks_mark > 0
    }

    /// Takes the rows of the writes before the current one.
    pub(crate) fn take_earlier(&mut self) -> Flush {
        let entries: Vec<Entry> = self.entries.drain(..self.entries_mark).collect();
        let events = self.events.drain(..self.events_mark).collect();
        let marks = self.marks.drain(..self.marks_mark).collect();
        self.entries_mark = 0;
        self.events_mark = 0;
        self.marks_mark = 0;
        self.note_written(&entries);
        Flush {
            entries,
            events,
            marks,
        }
    }

    /// Takes every waiting row, the current write's too.
    pub(crate) fn take_all(&mut self) -> Flush {
        if self.entries.len() > self.entries_mark
            || self.events.len() > self.events_mark
            || self.marks.len() > self.marks_mark
        {
            self.learnt_own = true;
        }
        self.entries_mark = 0;
        self.events_mark = 0;
        self.marks_mark = 0;
        let entries = std::mem::take(&mut self.entries);
        self.note_written(&entries);
        Flush {
            entries,
            events: std::mem::take(&mut self.events),
            marks: std::mem::take(&mut self.marks),
        }
    }

    /// Entries about to be written are a retry's earlier message from now
    /// on: the sends read ahead learn of them.
    fn note_written(&mut self, entries: &[Entry]) {
        if self.contexts.is_empty() {
            return;
        }
        for entry in entries {
            let Some(client_msg_id) = &entry.client_msg_id else {
                continue;
            };
            let key = SendKey {
                session_id: entry.session_id.clone(),
                actor_id: entry.actor_id.clone(),
                client_msg_id: client_msg_id.clone(),
            };
            if let Some(context) = self.contexts.get_mut(&key) {
                context.prior = Some((entry.seq, entry.ts, entry.body.clone()));
            }
        }
    }

    /// A participant's delivered or read mark was raised (as
    /// `sessions::raise_mark` does it).
    pub(crate) fn mark_raised(&mut self, session_id: &str, user_id: &str, read: bool, seq: i64) {
        for (key, context) in &mut self.contexts {
            if key.session_id != session_id {
                continue;
            }
            for p in context
                .participants
                .iter_mut()
                .filter(|p| p.user_id.as_str() == user_id)
            {
                if read && p.read_seq < seq {
                    p.read_seq = seq;
                }
                p.delivered_seq = p.delivered_seq.max(seq);
                self.learnt_own = true;
            }
        }
    }

    /// Raises a participant's mark as `sessions::raise_mark` does, from the
    /// marks the batch read ahead with a context of the session, and keeps
    /// the change for the batch's next write of appends: whether it was
    /// raised, `None` when the batch knows no context of that participant.
    pub(crate) fn mark(
        &mut self,
        session_id: &str,
        user_id: &str,
        read: bool,
        seq: i64,
    ) -> Option<bool> {
        if !self.known {
            return None;
        }
        let participant = self
            .contexts
            .iter()
            .filter(|(key, _)| key.session_id == session_id)
            .find_map(|(_, context)| {
                context
                    .participants
                    .iter()
                    .find(|p| p.user_id.as_str() == user_id)
            })?;
        let raised = if read {
            participant.read_seq < seq
        } else {
            participant.delivered_seq < seq
        };
        if raised {
            self.mark_raised(session_id, user_id, read, seq);
            self.marks.push(Mark {
                session_id: session_id.to_owned(),
                user_id: user_id.to_owned(),
                read,
                seq,
            });
        }
        Some(raised)
    }

    /// The send's context as the batch read it, brought up to date with the
    /// batch's own appends: the session's last seq, and a message this
    /// sender already appended with this client id in the batch.
    pub(crate) fn send_context(&self, key: &SendKey) -> Option<SendContext> {
        if !self.known {
            return None;
        }
        let mut context = self.contexts.get(key)?.clone();
        context.session.last_seq = *self.last_seqs.get(&key.session_id)?;
        if let Some(entry) = self.entries.iter().rev().find(|e| {
            e.session_id == key.session_id
                && e.actor_id == key.actor_id
                && e.client_msg_id.as_deref() == Some(key.client_msg_id.as_str())
        }) {
            context.prior = Some((entry.seq, entry.ts, entry.body.clone()));
        }
        Some(context)
    }

    /// Gives the entry the session's next seq and keeps it waiting; `None`
    /// when the session's seq is not known here.
    pub(crate) fn entry(&mut self, entry: &AppendEntry<'_>) -> Option<i64> {
        if !self.known {
            return None;
        }
        let last = self.last_seqs.get_mut(entry.session_id.as_str())?;
        self.undo
            .push(Undo::Seq(entry.session_id.as_str().to_owned(), *last));
        *last += 1;
        let seq = *last;
        self.entries.push(Entry {
            session_id: entry.session_id.as_str().to_owned(),
            seq,
            ts: entry.ts,
            kind: entry.kind.to_owned(),
            actor_id: entry.actor_id.as_str().to_owned(),
            subject_id: entry.subject_id.map(|id| id.as_str().to_owned()),
            body: entry.body.map(str::to_owned),
            client_msg_id: entry.client_msg_id.map(str::to_owned),
        });
        Some(seq)
    }

    /// Gives each user its next stream seq for one event and keeps the
    /// events waiting; `None` when a head is not known here (or a user is
    /// named twice).
    pub(crate) fn events(
        &mut self,
        user_ids: &[UserId],
        ts: i64,
        payload: &str,
    ) -> Option<Vec<(UserId, i64)>> {
        if !self.known
            || user_ids
                .iter()
                .any(|u| !self.heads.contains_key(u.as_str()))
            || (1..user_ids.len()).any(|i| user_ids[..i].contains(&user_ids[i]))
        {
            return None;
        }
        let payload: Arc<str> = Arc::from(payload);
        let mut out = Vec::with_capacity(user_ids.len());
        for user in user_ids {
            let head = self.heads.get_mut(user.as_str())?;
            self.undo.push(Undo::Head(user.as_str().to_owned(), *head));
            *head += 1;
            out.push((user.clone(), *head));
            self.events.push(Event {
                user_id: user.as_str().to_owned(),
                seq: *head,
                ts,
                payload: payload.clone(),
            });
        }
        Some(out)
    }
}

/// Writes waiting entries, events and marks in one statement: the entries,
/// the sessions' `last_seq`, the events, the users' `stream_head` and the
/// participants' marks (one row per participant, each mark only raised).
/// The `= ANY` conditions let the updates find their rows by key instead of
/// scanning the tables.
const FLUSH_SQL: &str = "WITH e AS (\
     SELECT * FROM unnest(CAST($1 AS text[]), CAST($2 AS bigint[]), CAST($3 AS bigint[]), \
     CAST($4 AS text[]), CAST($5 AS text[]), CAST($6 AS text[]), CAST($7 AS text[]), CAST($8 AS text[])) \
     AS e(session_id, seq, ts, kind, actor_id, subject_id, body, client_msg_id)), \
 t AS (INSERT INTO transcript (session_id, seq, ts, kind, actor_id, subject_id, body, client_msg_id) \
     SELECT session_id, seq, ts, kind, actor_id, subject_id, body, client_msg_id FROM e RETURNING 1), \
 s AS (UPDATE im_sessions SET last_seq = m.seq \
     FROM (SELECT session_id, MAX(seq) AS seq FROM e GROUP BY session_id) m \
     WHERE im_sessions.id = m.session_id AND im_sessions.id = ANY(CAST($1 AS text[])) \
     AND im_sessions.last_seq < m.seq RETURNING 1), \
 p AS (SELECT payload, n FROM unnest(CAST($12 AS text[])) WITH ORDINALITY AS p(payload, n)), \
 v AS (SELECT * FROM unnest(CAST($9 AS text[]), CAST($10 AS bigint[]), CAST($11 AS bigint[]), \
     CAST($13 AS bigint[])) AS v(user_id, seq, ts, payload_n)), \
 i AS (INSERT INTO user_events (user_id, seq, ts, payload) \
     SELECT v.user_id, v.seq, v.ts, p.payload FROM v JOIN p ON p.n = v.payload_n RETURNING 1), \
 h AS (UPDATE users SET stream_head = m.seq \
     FROM (SELECT user_id, MAX(seq) AS seq FROM v GROUP BY user_id) m \
     WHERE users.id = m.user_id AND users.id = ANY(CAST($9 AS text[])) \
     AND users.stream_head < m.seq RETURNING 1), \
 k AS (UPDATE session_participants SET \
     delivered_seq = GREATEST(session_participants.delivered_seq, m.delivered_to), \
     read_seq = GREATEST(session_participants.read_seq, m.read_to) \
     FROM unnest(CAST($14 AS text[]), CAST($15 AS text[]), CAST($16 AS bigint[]), \
     CAST($17 AS bigint[])) AS m(session_id, user_id, delivered_to, read_to) \
     WHERE session_participants.session_id = m.session_id \
     AND session_participants.user_id = m.user_id \
     AND session_participants.session_id = ANY(CAST($14 AS text[])) RETURNING 1) \
 SELECT (SELECT COUNT(*) FROM t) AS entries, (SELECT COUNT(*) FROM s) AS sessions, \
        (SELECT COUNT(*) FROM i) AS events, (SELECT COUNT(*) FROM h) AS users, \
        (SELECT COUNT(*) FROM k) AS marks";

impl Flush {
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.events.is_empty() && self.marks.is_empty()
    }

    /// Runs the statement on the writer's connection. Every row must land
    /// and every session and user move: anything else is an error, and the
    /// batch fails as a whole.
    pub(crate) async fn write(
        self,
        conn: &mut sqlx::postgres::PgConnection,
    ) -> Result<u64, StoreError> {
        let sessions = distinct(self.entries.iter().map(|e| e.session_id.as_str()));
        let users = distinct(self.events.iter().map(|e| e.user_id.as_str()));
        let (entry_count, event_count) = (self.entries.len(), self.events.len());
        let mut payloads: Vec<Option<String>> = Vec::new();
        let mut payload_n: Vec<i64> = Vec::with_capacity(event_count);
        let mut previous: Option<&Arc<str>> = None;
        for event in &self.events {
            if !previous.is_some_and(|p| Arc::ptr_eq(p, &event.payload)) {
                payloads.push(Some(event.payload.to_string()));
            }
            previous = Some(&event.payload);
            payload_n.push(payloads.len() as i64);
        }
        // One row per participant: the highest delivered and read marks.
        let mut marks: Vec<(&str, &str, i64, i64)> = Vec::new();
        for mark in &self.marks {
            let read = if mark.read { mark.seq } else { 0 };
            match marks
                .iter_mut()
                .find(|m| m.0 == mark.session_id && m.1 == mark.user_id)
            {
                Some(m) => {
                    m.2 = m.2.max(mark.seq);
                    m.3 = m.3.max(read);
                }
                None => marks.push((&mark.session_id, &mark.user_id, mark.seq, read)),
            }
        }
        let mark_count = marks.len();
        let (entries, events) = (&self.entries, &self.events);
        let params = vec![
            texts(entries, |e| Some(e.session_id.clone())),
            ints(entries, |e| e.seq),
            ints(entries, |e| e.ts),
            texts(entries, |e| Some(e.kind.clone())),
            texts(entries, |e| Some(e.actor_id.clone())),
            texts(entries, |e| e.subject_id.clone()),
            texts(entries, |e| e.body.clone()),
            texts(entries, |e| e.client_msg_id.clone()),
            texts(events, |v| Some(v.user_id.clone())),
            ints(events, |v| v.seq),
            ints(events, |v| v.ts),
            Param::TextList(payloads),
            Param::IntList(payload_n),
            texts(&marks, |m| Some(m.0.to_owned())),
            texts(&marks, |m| Some(m.1.to_owned())),
            ints(&marks, |m| m.2),
            ints(&marks, |m| m.3),
        ];
        let rows = crate::postgres::run(&mut *conn, FLUSH_SQL.into(), params).await?;
        if rows.is_empty() {
            return Err(StoreError::Fault(
                "the batch's appends wrote nothing".into(),
            ));
        }
        let written = rows.row(0);
        let counts: [i64; 5] = [
            written.get("entries")?,
            written.get("sessions")?,
            written.get("events")?,
            written.get("users")?,
            written.get("marks")?,
        ];
        let expected = [
            entry_count as i64,
            sessions as i64,
            event_count as i64,
            users as i64,
            mark_count as i64,
        ];
        if counts != expected {
            return Err(StoreError::Fault(format!(
                "the batch's appends did not land as counted: wrote {counts:?} \
                 (entries, sessions, events, users, marks), expected {expected:?}"
            )));
        }
        Ok((entry_count + sessions + event_count + users + mark_count) as u64)
    }
}

impl Flush {
    /// SQLite: writes the waiting rows with cached single-row statements
    /// (a statement costs no round trip there), each prepared once per
    /// flush and bound to the rows' own strings, entries and events in key
    /// order. Every row must land and every session and mark move: anything
    /// else is an error, and the batch fails as a whole. Returns the rows
    /// changed and each user's new head, for the writer's cache (SQLite
    /// keeps heads there, not in `users.stream_head`).
    pub(crate) fn write_sqlite(
        mut self,
        conn: &rusqlite::Connection,
    ) -> Result<(u64, Vec<(String, i64)>), StoreError> {
        use crate::sqlite::error;
        use rusqlite::params;
        let mut changed = 0u64;
        let mut expect = |rows: rusqlite::Result<usize>, what: &str| match rows.map_err(error)? {
            1 => {
                changed += 1;
                Ok(())
            }
            n => Err(StoreError::Fault(format!(
                "the batch's appends did not land as counted: {what} changed {n} rows"
            ))),
        };
        if !self.entries.is_empty() {
            self.entries
                .sort_by(|a, b| (&a.session_id, a.seq).cmp(&(&b.session_id, b.seq)));
            let mut insert = conn
                .prepare_cached(
                    "INSERT INTO transcript (session_id, seq, ts, kind, actor_id, subject_id, \
                     body, client_msg_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(error)?;
            let mut last_seq = conn
                .prepare_cached(
                    "UPDATE im_sessions SET last_seq = ?2 WHERE id = ?1 AND last_seq < ?2",
                )
                .map_err(error)?;
            for (n, e) in self.entries.iter().enumerate() {
                expect(
                    insert.execute(params![
                        e.session_id,
                        e.seq,
                        e.ts,
                        e.kind,
                        e.actor_id,
                        e.subject_id,
                        e.body,
                        e.client_msg_id
                    ]),
                    "an entry",
                )?;
                // Sorted: a session's last entry is the one before the next session's first.
                let next = self.entries.get(n + 1);
                if next.is_none_or(|next| next.session_id != e.session_id) {
                    expect(
                        last_seq.execute(params![e.session_id, e.seq]),
                        "a session's last seq",
                    )?;
                }
            }
        }
        let mut heads: Vec<(String, i64)> = Vec::new();
        if !self.events.is_empty() {
            self.events
                .sort_by(|a, b| (&a.user_id, a.seq).cmp(&(&b.user_id, b.seq)));
            let mut insert = conn
                .prepare_cached(
                    "INSERT INTO user_events (user_id, seq, ts, payload) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(error)?;
            for v in &self.events {
                expect(
                    insert.execute(params![v.user_id, v.seq, v.ts, &*v.payload]),
                    "an event",
                )?;
                match heads.last_mut() {
                    Some((user, head)) if *user == v.user_id => *head = v.seq,
                    _ => heads.push((v.user_id.clone(), v.seq)),
                }
            }
        }
        for mark in &self.marks {
            let sql = if mark.read {
                "UPDATE session_participants SET read_seq = MAX(read_seq, ?3), \
                 delivered_seq = MAX(delivered_seq, ?3) WHERE session_id = ?1 AND user_id = ?2"
            } else {
                "UPDATE session_participants SET delivered_seq = MAX(delivered_seq, ?3) \
                 WHERE session_id = ?1 AND user_id = ?2"
            };
            let mut update = conn.prepare_cached(sql).map_err(error)?;
            expect(
                update.execute(params![mark.session_id, mark.user_id, mark.seq]),
                "a mark",
            )?;
        }
        Ok((changed, heads))
    }
}

/// One column of rows, as a `text[]`.
fn texts<T>(rows: &[T], column: impl Fn(&T) -> Option<String>) -> Param {
    Param::TextList(rows.iter().map(column).collect())
}

/// One column of rows, as a `bigint[]`.
fn ints<T>(rows: &[T], column: impl Fn(&T) -> i64) -> Param {
    Param::IntList(rows.iter().map(column).collect())
}

fn distinct<'a>(ids: impl Iterator<Item = &'a str>) -> usize {
    let mut ids: Vec<&str> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len()
}

/// Reads, for every send of a batch at once, what `sessions::load_for_send`
/// reads for one.
pub(crate) async fn read_sends(
    conn: &mut sqlx::postgres::PgConnection,
    keys: &[SendKey],
) -> Result<Vec<(SendKey, SendContext)>, StoreError> {
    let params = vec![
        Param::TextList(keys.iter().map(|k| Some(k.session_id.clone())).collect()),
        Param::TextList(keys.iter().map(|k| Some(k.actor_id.clone())).collect()),
        Param::TextList(keys.iter().map(|k| Some(k.client_msg_id.clone())).collect()),
    ];
    let rows =
        crate::postgres::run(&mut *conn, crate::sessions::READ_SENDS_SQL.into(), params).await?;
    crate::sessions::contexts_by_key(&rows, keys)
}
