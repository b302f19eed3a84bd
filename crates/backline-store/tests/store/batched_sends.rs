//! Sends queued together (`Store::enqueue_send_then`): the writer reads
//! their contexts for the whole batch and writes their entries and events
//! together (on PostgreSQL in one statement). Many of them at once, over sessions and
//! users they share, with retries, writes that refuse themselves and other
//! writes in between, must keep every guarantee of the one-at-a-time path.

use std::collections::{BTreeMap, HashMap};

use backline_store::{
    events, sessions, transcript, Locks, ParticipantRole, Pending, SendKey, SessionId, Store,
    StoreError, UserId, WriteTx,
};

use crate::im_sessions::join;
use crate::{add_session, add_user, stores};

/// A send's key, readable by the test ([`SendKey`] keeps its parts).
#[derive(Debug, Clone)]
struct Key {
    session_id: SessionId,
    actor_id: UserId,
    client_msg_id: String,
}

impl Key {
    fn send_key(&self) -> SendKey {
        SendKey::new(&self.session_id, &self.actor_id, &self.client_msg_id)
    }
}

/// What a send did, as its write reports it.
#[derive(Debug, Clone, PartialEq)]
enum Sent {
    /// Appended with this seq; each participant's stream seq.
    Stored(i64, Vec<(UserId, i64)>),
    /// A retry: the first send's seq.
    Duplicate(i64),
}

/// The send path as the service runs it: the context (read ahead or
/// queried), idempotency, the entry, one event to every participant.
/// `refuse` makes the write refuse itself after appending.
async fn send(conn: &mut WriteTx, key: &Key, body: &str, refuse: bool) -> Result<Sent, StoreError> {
    let context = sessions::send_context(conn, &key.session_id, &key.actor_id, &key.client_msg_id)
        .await?
        .ok_or(StoreError::NotFound("session"))?;
    if let Some((seq, _, prior)) = context.prior {
        if prior.as_deref() != Some(body) {
            return Err(StoreError::Aborted("idempotency conflict".into()));
        }
        return Ok(Sent::Duplicate(seq));
    }
    let seq = transcript::append(
        conn,
        transcript::AppendEntry {
            session_id: &key.session_id,
            ts: 7,
            kind: "message",
            actor_id: &key.actor_id,
            subject_id: None,
            body: Some(body),
            client_msg_id: Some(&key.client_msg_id),
        },
    )
    .await?;
    if seq != context.session.last_seq + 1 {
        return Err(StoreError::Database(format!(
            "seq {seq} after a context with last seq {}",
            context.session.last_seq
        )));
    }
    let users: Vec<UserId> = context
        .participants
        .iter()
        .map(|p| p.user_id.clone())
        .collect();
    let payload = format!(r#"{{"session":"{}","seq":{seq}}}"#, key.session_id);
    let streams = events::append_many(conn, &users, 7, &payload).await?;
    if refuse {
        return Err(StoreError::Aborted("refused after appending".into()));
    }
    Ok(Sent::Stored(seq, streams))
}

fn queue_send(
    store: &Store,
    key: Key,
    body: String,
    refuse: bool,
) -> impl std::future::Future<Output = Result<Pending<Sent>, StoreError>> + '_ {
    let write_key = key.clone();
    store.enqueue_send_then(
        Locks::session(&key.session_id),
        key.send_key(),
        Box::new(move |conn| Box::pin(async move { send(conn, &write_key, &body, refuse).await })),
        Box::new(|_| {}),
    )
}

/// A write that is not a send, on the same rows: raises a mark (which the
/// batch's sends read ahead learn of) and appends an event to the user;
/// with `forget`, it also runs a statement of its own that makes the batch
/// forget what it read ahead, so the writes after it run their statements.
fn queue_mark(
    store: &Store,
    session: SessionId,
    user: UserId,
    forget: bool,
) -> impl std::future::Future<Output = Result<Pending<Sent>, StoreError>> + '_ {
    store.enqueue_then(
        Locks::session(&session),
        Box::new(move |conn| {
            Box::pin(async move {
                sessions::raise_mark(conn, &session, &user, false, 1).await?;
                if forget {
                    backline_store::users::set_zoom(conn, &user, 100).await?;
                }
                let seq = events::append(conn, &user, 7, r#"{"mark":1}"#).await?;
                Ok(Sent::Stored(0, vec![(user, seq)]))
            })
        }),
        Box::new(|_| {}),
    )
}

#[tokio::test]
async fn sends_queued_together_keep_seqs_gapless_retries_single_and_acknowledged_sends_stored() {
    for (backend, store, _dir) in stores().await {
        // Six users, four sessions of three participants each, sharing users.
        let mut users = Vec::new();
        for _ in 0..6 {
            users.push(add_user(&store, "batch").await);
        }
        let mut members: BTreeMap<SessionId, Vec<UserId>> = BTreeMap::new();
        for s in 0..4 {
            let owner = users[s].clone();
            let sid = add_session(&store, &owner).await;
            let others = [
                users[s].clone(),
                users[(s + 1) % 6].clone(),
                users[(s + 3) % 6].clone(),
            ];
            for (color, user) in others.iter().enumerate() {
                let role = if color == 0 {
                    ParticipantRole::Initiator
                } else {
                    ParticipantRole::Invitee
                };
                join(&store, &sid, user, role, color as i64).await;
            }
            members.insert(sid, others.to_vec());
        }
        let sids: Vec<SessionId> = members.keys().cloned().collect();

        // Four tasks queue 150 writes each without waiting for answers, so
        // that batches are large and interleave: sends, retries of earlier
        // sends (same client id and text), sends that refuse themselves, a
        // retry with another text (refused), and marks in between.
        let mut tasks = Vec::new();
        for t in 0..4 {
            let (store, sids, members) = (store.clone(), sids.clone(), members.clone());
            tasks.push(tokio::spawn(async move {
                let mut queued = Vec::new();
                for i in 0..150usize {
                    // A retry repeats the send queued three before (its
                    // session, sender, client id and text); another text
                    // under the previous send's client id is refused.
                    let (orig, body, refuse) = if i % 7 == 6 {
                        (i - 3, format!("text {t}-{}", i - 3), false)
                    } else if i % 23 == 22 {
                        (i - 1, "another text".to_owned(), false)
                    } else {
                        (i, format!("text {t}-{i}"), i % 11 == 10)
                    };
                    let sid = sids[(orig + t) % sids.len()].clone();
                    let actor = members[&sid][orig % 3].clone();
                    let key = Key {
                        session_id: sid.clone(),
                        actor_id: actor.clone(),
                        client_msg_id: format!("c{t}-{orig}"),
                    };
                    let pending = if i % 19 == 18 {
                        queue_mark(&store, sid, actor, i % 38 == 37).await.unwrap()
                    } else {
                        queue_send(&store, key.clone(), body.clone(), refuse)
                            .await
                            .unwrap()
                    };
                    queued.push((key, body, refuse, i % 19 == 18, pending));
                }
                let mut answered = Vec::new();
                for (key, body, refuse, mark, pending) in queued {
                    answered.push((key, body, refuse, mark, pending.await));
                }
                answered
            }));
        }
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.extend(task.await.unwrap());
        }

        // Every session's transcript: seqs 1..n, no gap, no duplicate.
        let mut stored: HashMap<(SessionId, UserId, String), (i64, String)> = HashMap::new();
        for sid in members.keys() {
            let entries = transcript::page(store.reader(), sid, 0, i64::MAX, 10_000, false)
                .await
                .unwrap();
            let seqs: Vec<i64> = entries.iter().map(|e| e.seq).collect();
            assert_eq!(
                seqs,
                (1..=entries.len() as i64).collect::<Vec<_>>(),
                "{backend}: {sid}"
            );
            let session = sessions::get(store.reader(), sid).await.unwrap().unwrap();
            assert_eq!(
                session.last_seq,
                entries.len() as i64,
                "{backend}: last_seq of {sid}"
            );
            for e in entries {
                let key = (
                    sid.clone(),
                    e.actor_id.clone(),
                    e.client_msg_id.clone().unwrap(),
                );
                assert!(
                    stored.insert(key, (e.seq, e.body.unwrap())).is_none(),
                    "{backend}: one row per client id"
                );
            }
        }

        // Acknowledged means stored, with its seq; a refused write stored nothing.
        let (mut acknowledged, mut duplicates) = (0, 0);
        for (key, body, refuse, mark, result) in &outcomes {
            if *mark {
                assert!(result.is_ok(), "{backend}: a mark: {result:?}");
                continue;
            }
            let row = stored.get(&(
                key.session_id.clone(),
                key.actor_id.clone(),
                key.client_msg_id.clone(),
            ));
            match result {
                Ok(Sent::Stored(seq, streams)) => {
                    acknowledged += 1;
                    assert!(!refuse, "{backend}");
                    assert_eq!(row, Some(&(*seq, body.clone())), "{backend}: {key:?}");
                    assert_eq!(streams.len(), 3, "{backend}: an event per participant");
                }
                Ok(Sent::Duplicate(seq)) => {
                    duplicates += 1;
                    assert_eq!(
                        row,
                        Some(&(*seq, body.clone())),
                        "{backend}: a retry answers the first send"
                    );
                }
                // Refused by itself, or a retry with another text: the
                // counts below show it stored nothing.
                Err(StoreError::Aborted(_)) => {
                    assert!(
                        *refuse || row.is_some_and(|(_, stored)| stored != body),
                        "{backend}: {key:?} refused: {row:?}"
                    );
                }
                Err(other) => panic!("{backend}: {key:?}: {other}"),
            }
        }
        assert!(
            acknowledged > 300 && duplicates > 30,
            "{backend}: {acknowledged} stored, {duplicates} retries"
        );
        assert_eq!(
            stored.len(),
            acknowledged,
            "{backend}: every stored message was acknowledged once"
        );

        // Every user's stream: seqs 1..head without a gap, the head where the
        // account says, and each stored message's event at the seq its write got.
        let mut events_of: HashMap<(UserId, i64), String> = HashMap::new();
        for user in &users {
            let head = events::head(store.reader(), user).await.unwrap();
            let stream = events::range(store.reader(), user, 0, head, 100_000)
                .await
                .unwrap();
            let seqs: Vec<i64> = stream.iter().map(|e| e.seq).collect();
            assert_eq!(
                seqs,
                (1..=head).collect::<Vec<_>>(),
                "{backend}: stream of {user}"
            );
            let account = backline_store::users::get(store.reader(), user)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(account.stream_head, head, "{backend}: the account's head");
            for event in stream {
                events_of.insert((user.clone(), event.seq), event.payload);
            }
        }
        for (key, _, _, mark, result) in &outcomes {
            if let (false, Ok(Sent::Stored(seq, streams))) = (mark, result) {
                for (user, stream_seq) in streams {
                    assert_eq!(
                        events_of.get(&(user.clone(), *stream_seq)),
                        Some(&format!(
                            r#"{{"session":"{}","seq":{seq}}}"#,
                            key.session_id
                        )),
                        "{backend}: {user}'s event {stream_seq}"
                    );
                }
            }
        }
        let per_user: usize = outcomes
            .iter()
            .map(|(_, _, _, _, r)| match r {
                Ok(Sent::Stored(_, streams)) => streams.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(
            events_of.len(),
            per_user,
            "{backend}: no event without its write"
        );
        store.close().await;
    }
}

/// A session of `owner` (color 0) with `guest` (color 1), both joined.
async fn two_party_session(store: &Store, owner: &UserId, guest: &UserId) -> SessionId {
    let sid = add_session(store, owner).await;
    join(store, &sid, owner, ParticipantRole::Initiator, 0).await;
    join(store, &sid, guest, ParticipantRole::Invitee, 1).await;
    sid
}

#[tokio::test]
async fn a_sends_context_read_ahead_is_the_one_its_query_reads() {
    for (backend, store, _dir) in stores().await {
        let owner = add_user(&store, "ahead").await;
        let guest = add_user(&store, "ahead").await;
        let sid = two_party_session(&store, &owner, &guest).await;
        let key = Key {
            session_id: sid.clone(),
            actor_id: owner.clone(),
            client_msg_id: "same".into(),
        };
        // The first send and its retry in one batch: the retry's context
        // has the first one as its prior, though it is not yet written.
        // A mark in between: the context read ahead learns of it too.
        let first = queue_send(&store, key.clone(), "hello".into(), false)
            .await
            .unwrap();
        let mark = queue_mark(&store, sid.clone(), guest.clone(), false)
            .await
            .unwrap();
        let check_key = key.clone();
        let check = store
            .enqueue_send_then(
                Locks::session(&sid),
                key.send_key(),
                Box::new(move |conn| {
                    Box::pin(async move {
                        let k = &check_key;
                        let (session, actor, client) =
                            (&k.session_id, &k.actor_id, &k.client_msg_id);
                        let ahead = sessions::send_context(conn, session, actor, client).await?;
                        let queried =
                            sessions::load_for_send(&mut *conn, session, actor, client).await?;
                        Ok([ahead, queried].map(|context| {
                            let c = context.expect("the session exists");
                            let people: Vec<_> = c
                                .participants
                                .iter()
                                .map(|p| {
                                    (
                                        p.user_id.clone(),
                                        p.state,
                                        p.color,
                                        p.delivered_seq,
                                        p.read_seq,
                                    )
                                })
                                .collect();
                            format!(
                                "{:?}",
                                (
                                    c.session.id,
                                    c.session.state,
                                    c.session.last_seq,
                                    c.prior,
                                    people
                                )
                            )
                        }))
                    })
                }),
                Box::new(|_| {}),
            )
            .await
            .unwrap();
        assert_eq!(
            first.await.unwrap(),
            Sent::Stored(1, vec![(owner.clone(), 1), (guest.clone(), 1)]),
            "{backend}"
        );
        assert_eq!(
            mark.await.unwrap(),
            Sent::Stored(0, vec![(guest.clone(), 2)]),
            "{backend}"
        );
        let [ahead, queried] = check.await.unwrap();
        assert!(
            ahead.contains(&format!("({guest:?}, Joined, 1, 1, 0)")),
            "{backend}: {ahead}"
        );
        assert_eq!(ahead, queried, "{backend}: the context read ahead");
        assert!(
            ahead.contains("1, Some((1, 7, Some(\"hello\")))"),
            "{backend}: {ahead}"
        );
        store.close().await;
    }
}

/// A PostgreSQL backend terminated while a batch of sends waits to be
/// written: the batch fails as a whole, nothing of it is stored, none of it
/// is acknowledged, and the writer goes on.
#[tokio::test]
async fn a_backend_terminated_while_sends_wait_fails_every_send_of_the_batch() {
    let Some(admin) = backline_store::testing::postgres_url("batched sends") else {
        return;
    };
    let url = backline_store::testing::fresh_postgres_database(&admin)
        .await
        .unwrap();
    let store = Store::open(&backline_store::StoreOptions::new(url))
        .await
        .unwrap();
    let owner = add_user(&store, "doomed").await;
    let guest = add_user(&store, "doomed").await;
    let sid = add_session(&store, &owner).await;
    join(&store, &sid, &owner, ParticipantRole::Initiator, 0).await;
    join(&store, &sid, &guest, ParticipantRole::Invitee, 1).await;

    let key = |i: usize| Key {
        session_id: sid.clone(),
        actor_id: if i.is_multiple_of(2) {
            owner.clone()
        } else {
            guest.clone()
        },
        client_msg_id: format!("k{i}"),
    };
    let mut queued = Vec::new();
    for i in 0..40 {
        let pending = if i == 20 {
            // A send that, after its append, has its backend terminated.
            let (k, admin) = (key(i), admin.clone());
            store
                .enqueue_send_then(
                    Locks::session(&sid),
                    k.send_key(),
                    Box::new(move |conn| {
                        Box::pin(async move {
                            let sent = send(conn, &k, "text", false).await?;
                            crate::terminate_own_backend(conn, &admin).await?;
                            Ok(sent)
                        })
                    }),
                    Box::new(|_| {}),
                )
                .await
                .unwrap()
        } else {
            queue_send(&store, key(i), "text".into(), false)
                .await
                .unwrap()
        };
        queued.push((i, pending));
    }
    let mut outcomes = Vec::new();
    for (i, pending) in queued {
        outcomes.push((i, pending.await));
    }
    assert!(
        matches!(outcomes[20].1, Err(StoreError::Unavailable(_))),
        "the send whose backend died is not acknowledged: {:?}",
        outcomes[20].1
    );
    assert!(store.writer_stats().failed_batches >= 1);
    // Those of its batch are refused with it; acknowledged ones are stored.
    let entries = transcript::page(store.reader(), &sid, 0, i64::MAX, 1000, false)
        .await
        .unwrap();
    for (i, result) in &outcomes {
        let row = entries
            .iter()
            .find(|e| e.client_msg_id.as_deref() == Some(key(*i).client_msg_id.as_str()));
        match result {
            Ok(Sent::Stored(seq, _)) => assert_eq!(row.map(|e| e.seq), Some(*seq), "send {i}"),
            Ok(other) => panic!("send {i}: {other:?}"),
            Err(StoreError::Unavailable(_)) => {
                assert!(row.is_none(), "send {i} was refused but stored")
            }
            Err(other) => panic!("send {i}: {other}"),
        }
    }
    let seqs: Vec<i64> = entries.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=entries.len() as i64).collect::<Vec<_>>(),
        "no gap after the fault"
    );
    for user in [&owner, &guest] {
        let head = events::head(store.reader(), user).await.unwrap();
        let stream = events::range(store.reader(), user, 0, head, 1000)
            .await
            .unwrap();
        assert_eq!(stream.len() as i64, head, "{user}: no gap in the stream");
        assert_eq!(
            head,
            entries.len() as i64,
            "{user}: one event per stored message"
        );
    }
    // The writer goes on: a send after the fault is stored.
    let after = queue_send(&store, key(99), "after".into(), false)
        .await
        .unwrap()
        .await;
    assert!(matches!(after, Ok(Sent::Stored(..))), "{after:?}");
    store.close().await;
}

/// A write that takes 300 ms: the writes queued behind it make one batch.
async fn queue_slow(store: &Store) -> Pending<()> {
    store
        .enqueue_then(
            Locks::default(),
            Box::new(|_conn| {
                Box::pin(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                    Ok(())
                })
            }),
            Box::new(|_| {}),
        )
        .await
        .unwrap()
}

/// Each user's stored head and highest event: on PostgreSQL `stream_head`
/// itself (what the batch's lock statement reads as the head), on both
/// engines the head the store answers; and the highest stored seq.
async fn heads(store: &Store, users: &[UserId]) -> Vec<(i64, i64, Option<i64>)> {
    let mut out = Vec::new();
    for user in users {
        let (stored, highest) = backline_store::db::query_as::<(i64, Option<i64>)>(
            "SELECT stream_head, (SELECT CAST(MAX(seq) AS BIGINT) FROM user_events \
             WHERE user_id = $1) FROM users WHERE id = $1",
        )
        .bind(user.as_str())
        .fetch_one(store.reader())
        .await
        .unwrap();
        let head = events::head(store.reader(), user).await.unwrap();
        out.push((stored, head, highest));
    }
    out
}

/// After every kind of append, each user's head is its highest event's seq;
/// on PostgreSQL `stream_head` is that seq too (the batch's locks read the
/// head from it alone). The appends: one at a time (no rows read ahead),
/// to several users at once, read ahead and written with the batch, in a
/// batch after a statement that makes the writer forget what it read,
/// rolled back with their write, a send's, and after pruning every event.
#[tokio::test]
async fn every_kind_of_append_leaves_the_stream_head_at_the_highest_event() {
    for (backend, store, _dir) in stores().await {
        let owner = add_user(&store, "heads").await;
        let guest = add_user(&store, "heads").await;
        let users = vec![owner.clone(), guest.clone()];
        let check = |step: &'static str, expected: [i64; 2]| {
            let (store, users) = (store.clone(), users.clone());
            async move {
                let found = heads(&store, &users).await;
                for ((stored, head, highest), want) in found.into_iter().zip(expected) {
                    assert_eq!(head, want, "{backend}, {step}: the head");
                    if step != "pruned" {
                        let event = (want > 0).then_some(want);
                        assert_eq!(highest, event, "{backend}, {step}: the highest event");
                    }
                    if backend == "postgres" {
                        assert_eq!(stored, want, "{backend}, {step}: stream_head");
                    }
                }
            }
        };

        // One at a time, and to several users at once: no rows read ahead.
        let o = owner.clone();
        tx!(store, |conn| events::append(conn, &o, 7, "{}").await).unwrap();
        check("one", [1, 0]).await;
        let u = users.clone();
        tx!(store, |conn| events::append_many(conn, &u, 7, "{}").await).unwrap();
        check("several", [2, 1]).await;

        // Read ahead (the users named in the write's locks) and written with
        // the batch; then a write that runs an update first, so that the
        // writer forgets and the next appends run their own statements; a
        // write that appends and refuses itself; all in one batch behind a
        // slow write.
        let names: Vec<&UserId> = users.iter().collect();
        let slow = queue_slow(&store).await;
        let mut queued = Vec::new();
        for (n, (forget, refuse)) in [(false, false), (false, true), (true, false), (false, false)]
            .into_iter()
            .enumerate()
        {
            let u = users.clone();
            queued.push(
                store
                    .enqueue_then(
                        Locks::users(&names),
                        Box::new(move |conn| {
                            Box::pin(async move {
                                if forget {
                                    backline_store::users::set_zoom(conn, &u[0], 110).await?;
                                }
                                let seqs = events::append_many(conn, &u, 7, "{}").await?;
                                if refuse {
                                    return Err(StoreError::Aborted(format!("refused {n}").into()));
                                }
                                Ok(seqs)
                            })
                        }),
                        Box::new(|_| {}),
                    )
                    .await
                    .unwrap(),
            );
        }
        slow.await.unwrap();
        let mut answers = Vec::new();
        for pending in queued {
            answers.push(pending.await.map(|seqs| seqs[0].1).ok());
        }
        assert_eq!(answers, [Some(3), None, Some(4), Some(5)], "{backend}");
        check("batched", [5, 4]).await;

        // A send: its entry and events written with the batch.
        let sid = two_party_session(&store, &owner, &guest).await;
        let key = Key {
            session_id: sid.clone(),
            actor_id: owner.clone(),
            client_msg_id: "heads".into(),
        };
        let sent = queue_send(&store, key, "hi".into(), false)
            .await
            .unwrap()
            .await
            .unwrap();
        assert_eq!(
            sent,
            Sent::Stored(1, vec![(owner.clone(), 6), (guest.clone(), 5)]),
            "{backend}"
        );
        check("sent", [6, 5]).await;

        // Pruning every event keeps the heads; the next appends, read ahead
        // or not, go on from them.
        tx!(store, |conn| events::prune(conn, i64::MAX).await).unwrap();
        check("pruned", [6, 5]).await;
        let u = users.clone();
        tx!(store, |conn| events::append_many(conn, &u, 7, "{}").await).unwrap();
        check("after pruning", [7, 6]).await;
        let u = users.clone();
        let seqs = store
            .enqueue_then(
                Locks::users(&names),
                Box::new(move |conn| {
                    Box::pin(async move { events::append_many(conn, &u, 7, "{}").await })
                }),
                Box::new(|_| {}),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        assert_eq!(
            seqs,
            vec![(owner.clone(), 8), (guest.clone(), 7)],
            "{backend}"
        );
        check("read ahead after pruning", [8, 7]).await;
        store.close().await;
    }
}

/// A mark as the service queues it (`SendKey::mark`): the session read
/// ahead or queried, then the mark raised; `refuse` makes the write refuse
/// itself after raising.
fn queue_keyed_mark<'a>(
    store: &'a Store,
    session: &SessionId,
    user: &UserId,
    read: bool,
    seq: i64,
    refuse: bool,
) -> impl std::future::Future<Output = Result<Pending<bool>, StoreError>> + 'a {
    let (s, u) = (session.clone(), user.clone());
    store.enqueue_send_then(
        Locks::session(session),
        SendKey::mark(session, user),
        Box::new(move |conn| {
            Box::pin(async move {
                let (found, _) = sessions::mark_context(conn, &s, &u)
                    .await?
                    .ok_or(StoreError::NotFound("session"))?;
                assert_eq!(found.id, s);
                let raised = sessions::raise_mark(conn, &s, &u, read, seq).await?;
                if refuse {
                    return Err(StoreError::Aborted("refused after marking".into()));
                }
                Ok(raised)
            })
        }),
        Box::new(|_| {}),
    )
}

/// Marks queued in one batch with sends around them: raised in what the
/// batch read ahead and written with its appends; each answers whether it
/// raised the mark,
/// a send's context read ahead sees the marks raised before it, a mark
/// rolled back with its write is not stored, and the stored marks are the
/// highest raised.
#[tokio::test]
async fn marks_queued_with_their_key_raise_as_their_statement_does() {
    for (backend, store, _dir) in stores().await {
        let owner = add_user(&store, "marks").await;
        let guest = add_user(&store, "marks").await;
        let stranger = add_user(&store, "marks").await;
        let sid = two_party_session(&store, &owner, &guest).await;
        for n in 0..3 {
            let key = Key {
                session_id: sid.clone(),
                actor_id: owner.clone(),
                client_msg_id: format!("m{n}"),
            };
            queue_send(&store, key, format!("text {n}"), false)
                .await
                .unwrap()
                .await
                .unwrap();
        }

        // All in one batch, behind a slow write.
        let slow = queue_slow(&store).await;
        let (o, g, x) = (&owner, &guest, &stranger);
        let mut marks = Vec::new();
        for (user, read, seq) in [(g, false, 2), (g, false, 1), (g, true, 2), (x, false, 1)] {
            marks.push(
                queue_keyed_mark(&store, &sid, user, read, seq, false)
                    .await
                    .unwrap(),
            );
        }
        let check_key = Key {
            session_id: sid.clone(),
            actor_id: owner.clone(),
            client_msg_id: "check".into(),
        };
        let check = store
            .enqueue_send_then(
                Locks::session(&sid),
                check_key.send_key(),
                Box::new(move |conn| {
                    Box::pin(async move {
                        let k = &check_key;
                        let context = sessions::send_context(
                            conn,
                            &k.session_id,
                            &k.actor_id,
                            &k.client_msg_id,
                        )
                        .await?
                        .ok_or(StoreError::NotFound("session"))?;
                        Ok(context
                            .participants
                            .iter()
                            .map(|p| (p.user_id.clone(), p.delivered_seq, p.read_seq))
                            .collect::<Vec<_>>())
                    })
                }),
                Box::new(|_| {}),
            )
            .await
            .unwrap();
        for (user, read, seq, refuse) in [
            (g, false, 3, false),
            (g, true, 3, false),
            (o, false, 3, false),
            (o, false, 2, false),
            (o, true, 3, true),
            (o, true, 1, false),
        ] {
            marks.push(
                queue_keyed_mark(&store, &sid, user, read, seq, refuse)
                    .await
                    .unwrap(),
            );
        }
        slow.await.unwrap();
        let mut answers = Vec::new();
        for pending in marks {
            answers.push(pending.await.ok());
        }
        assert_eq!(
            answers,
            [
                Some(true),
                Some(false),
                Some(true),
                Some(false),
                Some(true),
                Some(true),
                Some(true),
                Some(false),
                None,
                Some(true)
            ],
            "{backend}: whether each mark was raised"
        );
        assert_eq!(
            check.await.unwrap(),
            vec![(owner.clone(), 0, 0), (guest.clone(), 2, 2)],
            "{backend}: the marks a send's context saw"
        );
        let stored: Vec<_> = sessions::participants(store.reader(), &sid)
            .await
            .unwrap()
            .into_iter()
            .map(|p| (p.user_id, p.delivered_seq, p.read_seq))
            .collect();
        assert_eq!(
            stored,
            vec![(owner.clone(), 3, 1), (guest.clone(), 3, 3)],
            "{backend}: the stored marks"
        );
        store.close().await;
    }
}

/// Sends and marks queued together only append: on either engine they take
/// no savepoint (a savepoint per write is what a batch of sends cost on
/// SQLite: its sub-journal copies every page the write touches), and every
/// one is stored with its seq.
#[tokio::test]
async fn sends_and_marks_queued_together_take_no_savepoint() {
    for (backend, store, _dir) in stores().await {
        let (a, b, c) = (
            add_user(&store, "nosp").await,
            add_user(&store, "nosp").await,
            add_user(&store, "nosp").await,
        );
        let first = two_party_session(&store, &a, &b).await;
        let second = two_party_session(&store, &c, &b).await;
        let before = store.writer_stats();
        let mut queued = Vec::new();
        let mut marks = Vec::new();
        for n in 0..60 {
            let (sid, actor) = if n % 2 == 0 {
                (&first, &a)
            } else {
                (&second, &b)
            };
            let key = Key {
                session_id: sid.clone(),
                actor_id: actor.clone(),
                client_msg_id: format!("n{n}"),
            };
            queued.push(
                queue_send(&store, key, format!("text {n}"), false)
                    .await
                    .unwrap(),
            );
            if n % 3 == 2 {
                marks.push(
                    queue_keyed_mark(&store, &first, &b, n % 2 == 1, 1, false)
                        .await
                        .unwrap(),
                );
            }
        }
        let mut seqs = Vec::new();
        for pending in queued {
            match pending.await {
                Ok(Sent::Stored(seq, streams)) => {
                    assert_eq!(streams.len(), 2, "{backend}");
                    seqs.push(seq);
                }
                other => panic!("{backend}: {other:?}"),
            }
        }
        for pending in marks {
            pending.await.unwrap();
        }
        let after = store.writer_stats();
        assert!(
            after.batches - before.batches < 80,
            "{backend}: the writes were batched"
        );
        assert_eq!(
            after.savepoints - before.savepoints,
            0,
            "{backend}: savepoints for {} writes in {} batches",
            after.writes - before.writes,
            after.batches - before.batches
        );
        for sid in [&first, &second] {
            let entries = transcript::page(store.reader(), sid, 0, i64::MAX, 100, false)
                .await
                .unwrap();
            let stored: Vec<i64> = entries.iter().map(|e| e.seq).collect();
            assert_eq!(stored, (1..=30).collect::<Vec<_>>(), "{backend}: {sid}");
        }
        seqs.sort_unstable();
        seqs.dedup();
        assert_eq!(seqs, (1..=30).collect::<Vec<_>>(), "{backend}");
        let marked = sessions::participants(store.reader(), &first)
            .await
            .unwrap();
        let guest = marked.iter().find(|p| p.user_id == b).unwrap();
        assert_eq!((guest.delivered_seq, guest.read_seq), (1, 1), "{backend}");
        store.close().await;
    }
}
