//! Sends queued together (`Store::enqueue_send_then`): on PostgreSQL the
//! writer reads their contexts for the whole batch and writes their entries
//! and events in one statement. Many of them at once, over sessions and
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

#[tokio::test]
async fn a_sends_context_read_ahead_is_the_one_its_query_reads() {
    for (backend, store, _dir) in stores().await {
        let owner = add_user(&store, "ahead").await;
        let guest = add_user(&store, "ahead").await;
        let sid = add_session(&store, &owner).await;
        join(&store, &sid, &owner, ParticipantRole::Initiator, 0).await;
        join(&store, &sid, &guest, ParticipantRole::Invitee, 1).await;
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
