//! IM sessions, their participants and their transcripts.

use backline_store::UserId;
use backline_store::{
    sessions, transcript, users, ParticipantRole, ParticipantState, SessionState, Store, StoreError,
};
use backline_store::{InteractionId, SessionId};

use crate::{add_session, add_user, stores, unique};

/// A session created by `owner` at `created_at`, about `parent` if given.
pub(crate) async fn add_session_at(
    store: &Store,
    owner: &UserId,
    created_at: i64,
    parent: Option<&InteractionId>,
) -> SessionId {
    let sid = crate::sid(&unique("s"));
    let (owner, parent) = (owner.to_owned(), parent.cloned());
    tx!(store, [sid], |conn| {
        sessions::insert(
            conn,
            sessions::NewSession {
                id: &sid,
                state: SessionState::Connected,
                created_by: &owner,
                created_at,
                client_id: None,
                parent_interaction_id: parent.as_ref(),
            },
        )
        .await
    })
    .unwrap();
    sid
}

/// Adds `user` to a session as a joined participant (`role`, `color`).
pub(crate) async fn join(
    store: &Store,
    sid: &SessionId,
    user: &UserId,
    role: ParticipantRole,
    color: i64,
) {
    let (sid, user) = (sid.to_owned(), user.to_owned());
    tx!(store, |conn| {
        sessions::insert_participant(
            conn,
            sessions::NewParticipant {
                session_id: &sid,
                user_id: &user,
                role,
                state: ParticipantState::Joined,
                color,
                invited_at: None,
                invite_expires_at: None,
                joined_at: Some(1),
            },
        )
        .await
    })
    .unwrap();
}

/// Invites `user` to a session, the invitation expiring at `expires_at`.
pub(crate) async fn invite(
    store: &Store,
    sid: &SessionId,
    user: &UserId,
    color: i64,
    expires_at: i64,
) {
    let (sid, user) = (sid.to_owned(), user.to_owned());
    tx!(store, |conn| {
        sessions::insert_participant(
            conn,
            sessions::NewParticipant {
                session_id: &sid,
                user_id: &user,
                role: ParticipantRole::Invitee,
                state: ParticipantState::Invited,
                color,
                invited_at: Some(1),
                invite_expires_at: Some(expires_at),
                joined_at: None,
            },
        )
        .await
    })
    .unwrap();
}

#[tokio::test]
async fn sessions_are_found_by_their_creators_client_id() {
    for (backend, store, _dir) in stores().await {
        let alice = add_user(&store, "alice").await;
        let bob = add_user(&store, "bob").await;
        let (mine, theirs) = (crate::sid(&unique("s")), crate::sid(&unique("s")));
        tx!(store, [alice, bob, mine, theirs], |conn| {
            for (sid, by) in [(&mine, &alice), (&theirs, &bob)] {
                sessions::insert(
                    conn,
                    sessions::NewSession {
                        id: sid,
                        state: SessionState::Connected,
                        created_by: by,
                        created_at: 5,
                        client_id: Some("client-1"),
                        parent_interaction_id: None,
                    },
                )
                .await?;
            }
            Ok(())
        })
        .unwrap();
        let found = sessions::by_client_id(store.reader(), &alice, "client-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                found.id.as_str(),
                found.created_by.as_str(),
                found.created_at
            ),
            (mine.as_str(), alice.as_str(), 5),
            "{backend}"
        );
        let found = sessions::by_client_id(store.reader(), &bob, "client-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id, theirs, "{backend}: each creator has their own");
        assert!(
            sessions::by_client_id(store.reader(), &alice, "client-2")
                .await
                .unwrap()
                .is_none(),
            "{backend}"
        );
        let dup = tx!(store, [alice], |conn| {
            sessions::insert(
                conn,
                sessions::NewSession {
                    id: &crate::sid("another-session"),
                    state: SessionState::Connected,
                    created_by: &alice,
                    created_at: 6,
                    client_id: Some("client-1"),
                    parent_interaction_id: None,
                },
            )
            .await
        });
        assert!(
            matches!(dup, Err(StoreError::Conflict(_))),
            "{backend}: {dup:?}"
        );
        assert!(
            sessions::get(store.reader(), &crate::sid("another-session"))
                .await
                .unwrap()
                .is_none(),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn consultations_of_an_interaction_are_listed_newest_first() {
    for (backend, store, _dir) in stores().await {
        let agent = add_user(&store, "consulting").await;
        let (parent, elsewhere) = (
            crate::iid(&unique("interaction")),
            crate::iid(&unique("interaction")),
        );
        let old = add_session_at(&store, &agent, 10, Some(&parent)).await;
        let newest = add_session_at(&store, &agent, 30, Some(&parent)).await;
        let middle = add_session_at(&store, &agent, 20, Some(&parent)).await;
        add_session_at(&store, &agent, 40, Some(&elsewhere)).await;
        add_session_at(&store, &agent, 50, None).await;
        let found = sessions::consultations(store.reader(), &parent)
            .await
            .unwrap();
        assert_eq!(
            found.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
            [newest, middle, old],
            "{backend}"
        );
        assert!(
            found
                .iter()
                .all(|s| s.parent_interaction_id.as_ref() == Some(&parent)),
            "{backend}"
        );
        assert!(
            sessions::consultations(store.reader(), &crate::iid("no-such-interaction"))
                .await
                .unwrap()
                .is_empty(),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn only_an_invitee_who_joined_has_accepted_a_consultation() {
    for (backend, store, _dir) in stores().await {
        let agent = add_user(&store, "initiator").await;
        let expert = add_user(&store, "expert").await;
        let parent = crate::iid(&unique("interaction"));
        let sid = add_session_at(&store, &agent, 10, Some(&parent)).await;
        join(&store, &sid, &agent, ParticipantRole::Initiator, 0).await;
        invite(&store, &sid, &expert, 1, 1_000).await;
        let accepted = |user: UserId, interaction: InteractionId| {
            let store = store.clone();
            async move {
                sessions::accepted_consultation(store.reader(), &interaction, &user, 0)
                    .await
                    .unwrap()
                    .is_some()
            }
        };
        assert!(
            !accepted(expert.clone(), parent.clone()).await,
            "{backend}: invited, not joined"
        );
        assert!(
            !accepted(agent.clone(), parent.clone()).await,
            "{backend}: the initiator does not count"
        );
        tx!(store, [sid, expert], |conn| {
            sessions::set_participant_state(conn, &sid, &expert, ParticipantState::Joined, 50).await
        })
        .unwrap();
        assert!(accepted(expert.clone(), parent.clone()).await, "{backend}");
        assert!(
            !accepted(expert.clone(), crate::iid("another-interaction")).await,
            "{backend}"
        );
        let participants = sessions::participants(store.reader(), &sid).await.unwrap();
        assert_eq!(
            participants
                .iter()
                .map(|p| (p.user_id.clone(), p.role, p.state))
                .collect::<Vec<_>>(),
            [
                (
                    agent.clone(),
                    ParticipantRole::Initiator,
                    ParticipantState::Joined
                ),
                (
                    expert.clone(),
                    ParticipantRole::Invitee,
                    ParticipantState::Joined
                )
            ],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn an_ended_consultation_grants_access_only_if_it_ended_since_the_given_time() {
    for (backend, store, _dir) in stores().await {
        let agent = add_user(&store, "initiator").await;
        let expert = add_user(&store, "expert").await;
        let parent = crate::iid(&unique("interaction"));
        let first = add_session_at(&store, &agent, 10, Some(&parent)).await;
        let second = add_session_at(&store, &agent, 20, Some(&parent)).await;
        for sid in [&first, &second] {
            join(&store, sid, &agent, ParticipantRole::Initiator, 0).await;
            join(&store, sid, &expert, ParticipantRole::Invitee, 1).await;
        }
        let access = |since: i64| {
            let (store, parent, expert) = (store.clone(), parent.clone(), expert.clone());
            async move {
                sessions::accepted_consultation(store.reader(), &parent, &expert, since)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            access(i64::MAX).await,
            Some(sessions::ConsultationAccess::Open),
            "{backend}: open consultations grant access whatever the time"
        );
        tx!(store, [first, agent], |conn| {
            sessions::end(conn, &first, 1_000, &agent).await
        })
        .unwrap();
        assert_eq!(
            access(i64::MAX).await,
            Some(sessions::ConsultationAccess::Open),
            "{backend}: one consultation is still open"
        );
        tx!(store, [second, agent], |conn| {
            sessions::end(conn, &second, 2_000, &agent).await
        })
        .unwrap();
        assert_eq!(
            access(1_500).await,
            Some(sessions::ConsultationAccess::EndedAt(2_000)),
            "{backend}: the latest end counts"
        );
        assert_eq!(
            access(2_000).await,
            Some(sessions::ConsultationAccess::EndedAt(2_000)),
            "{backend}: the bound is inclusive"
        );
        assert_eq!(access(2_001).await, None, "{backend}: both ended before");
        assert_eq!(
            sessions::accepted_consultation(store.reader(), &parent, &agent, 0)
                .await
                .unwrap(),
            None,
            "{backend}: the initiator does not count"
        );
    }
}

#[tokio::test]
async fn an_invitee_who_rejected_can_be_invited_again_with_a_fresh_expiry() {
    for (backend, store, _dir) in stores().await {
        let owner = add_user(&store, "host").await;
        let guest = add_user(&store, "reinvited").await;
        let sid = add_session(&store, &owner).await;
        invite(&store, &sid, &guest, 1, 100).await;
        let claimed = tx!(store, [sid, guest], |conn| {
            sessions::mark_timed_out(conn, &sid, &guest).await
        })
        .unwrap();
        assert!(claimed, "{backend}");
        tx!(store, [sid, guest], |conn| {
            sessions::set_participant_state(conn, &sid, &guest, ParticipantState::Rejected, 150)
                .await
        })
        .unwrap();
        let guest_row = |store: Store, sid: SessionId, guest: UserId| async move {
            sessions::participants(store.reader(), &sid)
                .await
                .unwrap()
                .into_iter()
                .find(|p| p.user_id == guest)
                .unwrap()
        };
        let p = guest_row(store.clone(), sid.clone(), guest.clone()).await;
        assert_eq!(
            (p.state, p.invite_timed_out),
            (ParticipantState::Rejected, true),
            "{backend}"
        );
        tx!(store, [sid, guest], |conn| {
            sessions::invite(conn, &sid, &guest, 200, 300).await
        })
        .unwrap();
        let p = guest_row(store.clone(), sid.clone(), guest.clone()).await;
        assert_eq!(
            (p.state, p.invite_timed_out, p.invite_expires_at),
            (ParticipantState::Invited, false, Some(300)),
            "{backend}: a fresh invitation"
        );
        let pending = |now: i64| {
            let store = store.clone();
            let key = (sid.clone(), guest.clone());
            async move {
                sessions::expired_invitations(store.reader(), now, 100)
                    .await
                    .unwrap()
                    .contains(&key)
            }
        };
        assert!(!pending(299).await, "{backend}: not yet expired");
        assert!(pending(300).await, "{backend}: expired again");
    }
}

#[tokio::test]
async fn ending_a_session_records_when_and_by_whom() {
    for (backend, store, _dir) in stores().await {
        let owner = add_user(&store, "opener").await;
        let ender = add_user(&store, "ender").await;
        let sid = add_session(&store, &owner).await;
        let other = add_session(&store, &owner).await;
        tx!(store, [sid], |conn| {
            sessions::set_state(conn, &sid, SessionState::Inviting).await
        })
        .unwrap();
        let session = sessions::get(store.reader(), &sid).await.unwrap().unwrap();
        assert_eq!(
            (session.state, session.ended_at, session.ended_by),
            (SessionState::Inviting, None, None),
            "{backend}"
        );
        tx!(store, [sid, ender], |conn| {
            sessions::end(conn, &sid, 77, &ender).await
        })
        .unwrap();
        let session = sessions::get(store.reader(), &sid).await.unwrap().unwrap();
        assert_eq!(
            (
                session.state,
                session.ended_at,
                session.ended_by.as_ref().map(UserId::as_str)
            ),
            (SessionState::Ended, Some(77), Some(ender.as_str())),
            "{backend}"
        );
        let untouched = sessions::get(store.reader(), &other)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (untouched.state, untouched.ended_at),
            (SessionState::Connected, None),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn workspaces_list_sessions_newest_first_until_marked_done() {
    for (backend, store, _dir) in stores().await {
        let me = add_user(&store, "worker").await;
        let owner = add_user(&store, "creator").await;
        let old = add_session_at(&store, &owner, 10, None).await;
        let new = add_session_at(&store, &owner, 30, None).await;
        let mid = add_session_at(&store, &owner, 20, None).await;
        let not_mine = add_session_at(&store, &owner, 40, None).await;
        for sid in [&old, &new, &mid] {
            join(&store, sid, &me, ParticipantRole::Invitee, 1).await;
        }
        join(&store, &not_mine, &owner, ParticipantRole::Initiator, 0).await;
        assert_eq!(
            sessions::workspace(store.reader(), &me).await.unwrap(),
            [new.clone(), mid.clone(), old.clone()],
            "{backend}"
        );
        tx!(store, [mid, me], |conn| sessions::set_done(conn, &mid, &me)
            .await)
        .unwrap();
        assert_eq!(
            sessions::workspace(store.reader(), &me).await.unwrap(),
            [new.clone(), old.clone()],
            "{backend}"
        );
        let done: Vec<bool> = sessions::participants(store.reader(), &mid)
            .await
            .unwrap()
            .iter()
            .map(|p| p.done)
            .collect();
        assert_eq!(done, [true], "{backend}");
    }
}

#[tokio::test]
async fn recent_partners_are_ordered_by_their_latest_shared_session() {
    for (backend, store, _dir) in stores().await {
        let me = add_user(&store, "me").await;
        let a = add_user(&store, "partner-a").await;
        let b = add_user(&store, "partner-b").await;
        let c = add_user(&store, "partner-c").await;
        let stranger = add_user(&store, "stranger").await;
        // a shares the oldest and the newest session with me.
        for (at, others) in [
            (10, vec![&a]),
            (20, vec![&c]),
            (30, vec![&b]),
            (40, vec![&a]),
        ] {
            let sid = add_session_at(&store, &me, at, None).await;
            join(&store, &sid, &me, ParticipantRole::Initiator, 0).await;
            for (n, other) in others.into_iter().enumerate() {
                join(&store, &sid, other, ParticipantRole::Invitee, 1 + n as i64).await;
            }
        }
        let alone = add_session_at(&store, &stranger, 50, None).await;
        join(&store, &alone, &stranger, ParticipantRole::Initiator, 0).await;
        join(&store, &alone, &c, ParticipantRole::Invitee, 1).await;
        assert_eq!(
            sessions::recent_partners(store.reader(), &me, 10)
                .await
                .unwrap(),
            [a.clone(), b.clone(), c.clone()],
            "{backend}"
        );
        assert_eq!(
            sessions::recent_partners(store.reader(), &me, 2)
                .await
                .unwrap(),
            [a.clone(), b.clone()],
            "{backend}: limited"
        );
    }
}

#[tokio::test]
async fn load_for_send_reads_the_session_its_participants_and_the_prior_message() {
    for (backend, store, _dir) in stores().await {
        let owner = add_user(&store, "sender").await;
        let guest = add_user(&store, "reader").await;
        let sid = add_session(&store, &owner).await;
        join(&store, &sid, &guest, ParticipantRole::Invitee, 2).await;
        join(&store, &sid, &owner, ParticipantRole::Initiator, 1).await;
        tx!(store, [sid, owner], |conn| {
            let seq = sessions::next_seq(conn, &sid).await?;
            transcript::insert(
                conn,
                transcript::NewEntry {
                    session_id: &sid,
                    seq,
                    ts: 42,
                    kind: "message",
                    actor_id: &owner,
                    subject_id: None,
                    body: Some("hello"),
                    client_msg_id: Some("m1"),
                },
            )
            .await
        })
        .unwrap();
        let context = sessions::load_for_send(store.reader(), &sid, &owner, "m1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                context.session.id.as_str(),
                context.session.created_by.as_str(),
                context.session.last_seq,
                context.session.state
            ),
            (sid.as_str(), owner.as_str(), 1, SessionState::Connected),
            "{backend}"
        );
        assert_eq!(
            context
                .participants
                .iter()
                .map(|p| (p.user_id.clone(), p.color))
                .collect::<Vec<_>>(),
            [(owner.clone(), 1), (guest.clone(), 2)],
            "{backend}: by color"
        );
        assert_eq!(
            context.prior,
            Some((1, 42, Some("hello".to_owned()))),
            "{backend}"
        );
        let other_actor = sessions::load_for_send(store.reader(), &sid, &guest, "m1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (other_actor.prior, other_actor.participants.len()),
            (None, 2),
            "{backend}: client ids are per sender"
        );
        let fresh_id = sessions::load_for_send(store.reader(), &sid, &owner, "m2")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(fresh_id.prior, None, "{backend}");
        assert!(
            sessions::load_for_send(store.reader(), &crate::sid("no-such-session"), &owner, "m1")
                .await
                .unwrap()
                .is_none(),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn transcript_entries_are_read_by_seq_with_their_names() {
    for (backend, store, _dir) in stores().await {
        let owner = add_user(&store, "actor").await;
        let guest = add_user(&store, "subject").await;
        tx!(store, [guest], |conn| {
            users::set_profile(conn, &guest, "Guest Person", "guest person").await
        })
        .unwrap();
        let sid = add_session(&store, &owner).await;
        tx!(store, [sid, owner, guest], |conn| {
            for (kind, subject, body) in [
                ("message", None, Some("first")),
                ("invited", Some(&guest), None),
            ] {
                let seq = sessions::next_seq(conn, &sid).await?;
                transcript::insert(
                    conn,
                    transcript::NewEntry {
                        session_id: &sid,
                        seq,
                        ts: 100 + seq,
                        kind,
                        actor_id: &owner,
                        subject_id: subject,
                        body,
                        client_msg_id: None,
                    },
                )
                .await?;
            }
            Ok(())
        })
        .unwrap();
        let message = transcript::get(store.reader(), &sid, 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                message.kind.as_str(),
                message.ts,
                message.actor_name.as_str(),
                message.body.as_deref(),
                message.subject_name.as_deref()
            ),
            ("message", 101, "Test Person", Some("first"), None),
            "{backend}"
        );
        let event = transcript::get(store.reader(), &sid, 2)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                event.kind.as_str(),
                event.subject_id.as_ref().map(UserId::as_str),
                event.subject_name.as_deref(),
                event.body
            ),
            ("invited", Some(guest.as_str()), Some("Guest Person"), None),
            "{backend}"
        );
        assert!(
            transcript::get(store.reader(), &sid, 3)
                .await
                .unwrap()
                .is_none(),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn appended_entries_take_the_sessions_next_seq_and_a_missing_session_is_not_found() {
    for (backend, store, _dir) in crate::stores().await {
        let user = crate::add_user(&store, "append").await;
        let session = crate::add_session(&store, &user).await;
        for expected in 1..=3 {
            let (s, u) = (session.clone(), user.clone());
            let seq = store
                .write(Box::new(move |conn| {
                    Box::pin(async move {
                        transcript::append(
                            conn,
                            transcript::AppendEntry {
                                session_id: &s,
                                ts: 5,
                                kind: "message",
                                actor_id: &u,
                                subject_id: None,
                                body: Some("hello"),
                                client_msg_id: Some(&format!("a{expected}")),
                            },
                        )
                        .await
                    })
                }))
                .await
                .unwrap();
            assert_eq!(seq, expected, "{backend}");
        }
        let stored = transcript::get(store.reader(), &session, 3)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (stored.body.as_deref(), stored.client_msg_id.as_deref()),
            (Some("hello"), Some("a3")),
            "{backend}"
        );
        let last_seq = backline_store::sessions::get(store.reader(), &session)
            .await
            .unwrap()
            .unwrap()
            .last_seq;
        assert_eq!(last_seq, 3, "{backend}");
        let u = user.clone();
        let missing = store
            .write(Box::new(move |conn| {
                Box::pin(async move {
                    transcript::append(
                        conn,
                        transcript::AppendEntry {
                            session_id: &crate::sid("no-such-session"),
                            ts: 5,
                            kind: "message",
                            actor_id: &u,
                            subject_id: None,
                            body: None,
                            client_msg_id: None,
                        },
                    )
                    .await
                })
            }))
            .await;
        assert!(
            matches!(missing, Err(StoreError::NotFound(_))),
            "{backend}: {missing:?}"
        );
    }
}

#[tokio::test]
async fn a_redacted_message_keeps_its_seq_and_records_who_and_when() {
    for (backend, store, _dir) in stores().await {
        let owner = add_user(&store, "writer").await;
        let admin = add_user(&store, "redactor").await;
        tx!(store, [admin], |conn| {
            users::set_profile(conn, &admin, "Ada Admin", "ada admin").await
        })
        .unwrap();
        let sid = add_session(&store, &owner).await;
        let outcome = tx!(store, [sid, owner, admin], |conn| {
            for (kind, body) in [("message", Some("secret")), ("left", None)] {
                let seq = sessions::next_seq(conn, &sid).await?;
                transcript::insert(
                    conn,
                    transcript::NewEntry {
                        session_id: &sid,
                        seq,
                        ts: 100 + seq,
                        kind,
                        actor_id: &owner,
                        subject_id: None,
                        body,
                        client_msg_id: None,
                    },
                )
                .await?;
            }
            Ok((
                transcript::redact(conn, &sid, 1, "", &admin, 500).await?,
                // A system entry and a missing seq are not messages.
                transcript::redact(conn, &sid, 2, "", &admin, 500).await?,
                transcript::redact(conn, &sid, 9, "", &admin, 500).await?,
            ))
        })
        .unwrap();
        assert_eq!(outcome, (true, false, false), "{backend}");
        let entries = transcript::page(store.reader(), &sid, 0, i64::MAX, 10, false)
            .await
            .unwrap();
        let got: Vec<_> = entries
            .iter()
            .map(|e| {
                (
                    e.seq,
                    e.body.as_deref(),
                    e.redacted_by.as_ref().map(UserId::as_str),
                    e.redacted_by_name.as_deref(),
                    e.redacted_at,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    1,
                    Some(""),
                    Some(admin.as_str()),
                    Some("Ada Admin"),
                    Some(500)
                ),
                (2, None, None, None, None)
            ],
            "{backend}"
        );
    }
}
