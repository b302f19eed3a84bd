//! The storage conformance suite: one set of checks, run on a SQLite file
//! always and on PostgreSQL when `BACKLINE_TEST_POSTGRES_URL` is set.

use std::sync::atomic::{AtomicU32, Ordering};

use backline_store::{
    events, sessions, transcript, users, CallId, ContactId, GroupId, IntegrationId, InteractionId,
    ParticipantRole, ParticipantState, SessionId, SessionState, Store, StoreError, StoreOptions,
    UserId,
};

/// Runs `$body` as one write of `$store`, `$conn` being the write's
/// `&mut WriteTx`; the variables listed in brackets are cloned into it.
macro_rules! tx {
    ($store:expr, [$($var:ident),* $(,)?], |$conn:ident| $body:expr) => {{
        $(let $var = $var.clone();)*
        $store
            .write(Box::new(move |$conn| Box::pin(async move { $body })))
            .await
    }};
    ($store:expr, |$conn:ident| $body:expr) => {
        tx!($store, [], |$conn| $body)
    };
}

mod accounts;
mod admin_console;
mod batched_sends;
mod calls;
mod compliance;
mod faults;
mod group_offers;
mod im_sessions;
mod interactions;
mod oidc;
mod scim;
mod supervision;
mod wal;

/// The backends this run covers, each with a fresh database.
pub(crate) async fn stores() -> Vec<(&'static str, Store, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("conformance.db").display()
    );
    let mut out = vec![(
        "sqlite",
        Store::open(&StoreOptions::new(url)).await.unwrap(),
        Some(dir),
    )];
    if let Some(admin) = backline_store::testing::postgres_url("store conformance") {
        let url = backline_store::testing::fresh_postgres_database(&admin)
            .await
            .unwrap();
        out.push((
            "postgres",
            Store::open(&StoreOptions::new(url)).await.unwrap(),
            None,
        ));
    }
    out
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Terminates the backend of the writer's own PostgreSQL connection, from
/// another connection (`admin`), in the middle of a write.
pub(crate) async fn terminate_own_backend(
    conn: &mut backline_store::WriteTx,
    admin: &str,
) -> Result<(), StoreError> {
    let pid: i64 = backline_store::db::query_scalar("SELECT CAST(pg_backend_pid() AS BIGINT)")
        .fetch_one(&mut *conn)
        .await?;
    backline_store::testing::postgres_execute(admin, &format!("SELECT pg_terminate_backend({pid})"))
        .await
}

/// `prefix-N`, unique in this run.
pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A user id from its text.
pub(crate) fn uid(text: &str) -> UserId {
    UserId::from(text.to_owned())
}

pub(crate) async fn add_user(store: &Store, name: &str) -> UserId {
    let id = uid(&format!("{name}-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
    let (user_id, username) = (id.clone(), id.to_string());
    store
        .write(Box::new(move |conn| {
            Box::pin(async move {
                users::insert(
                    conn,
                    users::NewUser {
                        id: &user_id,
                        username: &username,
                        display_name: "Test Person",
                        search_key: "test person",
                        password_hash: "x",
                        roles: "agent",
                        im_permitted: true,
                        created_at: 1,
                    },
                )
                .await
            })
        }))
        .await
        .unwrap();
    id
}

/// An interaction id from its text.
pub(crate) fn iid(text: &str) -> InteractionId {
    InteractionId::from(text.to_owned())
}

/// A group id from its text.
pub(crate) fn gid(text: &str) -> GroupId {
    GroupId::from(text.to_owned())
}

/// A call id from its text.
pub(crate) fn callid(text: &str) -> CallId {
    CallId::from(text.to_owned())
}

/// An integration id from its text.
pub(crate) fn intid(text: &str) -> IntegrationId {
    IntegrationId::from(text.to_owned())
}

/// A contact id from its text.
pub(crate) fn cid(text: &str) -> ContactId {
    ContactId::from(text.to_owned())
}

/// A session id from its text.
pub(crate) fn sid(text: &str) -> SessionId {
    SessionId::from(text.to_owned())
}

pub(crate) async fn add_session(store: &Store, owner: &UserId) -> SessionId {
    let sid = sid(&format!("s-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
    let (s, o) = (sid.clone(), owner.to_owned());
    store
        .write(Box::new(move |conn| {
            Box::pin(async move {
                sessions::insert(
                    conn,
                    sessions::NewSession {
                        id: &s,
                        state: SessionState::Connected,
                        created_by: &o,
                        created_at: 1,
                        client_id: None,
                        parent_interaction_id: None,
                    },
                )
                .await
            })
        }))
        .await
        .unwrap();
    sid
}

#[tokio::test]
async fn opening_twice_runs_migrations_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("twice.db").display()
    );
    let first = Store::open(&StoreOptions::new(url.clone())).await.unwrap();
    let id = add_user(&first, "kept").await;
    first.close().await;
    let second = Store::open(&StoreOptions::new(url)).await.unwrap();
    assert!(
        users::get(second.reader(), &id).await.unwrap().is_some(),
        "data survives a reopen"
    );
    if let Some(admin) = backline_store::testing::postgres_url("store conformance") {
        let url = backline_store::testing::fresh_postgres_database(&admin)
            .await
            .unwrap();
        Store::open(&StoreOptions::new(url.clone()))
            .await
            .unwrap()
            .close()
            .await;
        Store::open(&StoreOptions::new(url))
            .await
            .unwrap()
            .close()
            .await;
    }
}

#[tokio::test]
async fn unique_usernames_are_enforced_as_conflicts() {
    for (backend, store, _dir) in stores().await {
        let id = add_user(&store, "dup").await;
        let username = id.to_string();
        let result = store
            .write(Box::new(move |conn| {
                Box::pin(async move {
                    users::insert(
                        conn,
                        users::NewUser {
                            id: &uid("other-id"),
                            username: &username,
                            display_name: "x",
                            search_key: "x",
                            password_hash: "x",
                            roles: "agent",
                            im_permitted: true,
                            created_at: 1,
                        },
                    )
                    .await
                })
            }))
            .await;
        assert!(
            matches!(result, Err(StoreError::Conflict(_))),
            "{backend}: {result:?}"
        );
        assert!(
            users::get(store.reader(), &uid("other-id"))
                .await
                .unwrap()
                .is_none(),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn stream_seqs_are_gapless_and_ranges_read_back_in_order() {
    for (backend, store, _dir) in stores().await {
        let user = add_user(&store, "stream").await;
        for i in 0..10 {
            let u = user.clone();
            let seq = store
                .write(Box::new(move |conn| {
                    Box::pin(async move {
                        events::append(conn, &u, 1000 + i, &format!("{{\"n\":{i}}}")).await
                    })
                }))
                .await
                .unwrap();
            assert_eq!(seq, i + 1, "{backend}");
        }
        assert_eq!(
            events::head(store.reader(), &user).await.unwrap(),
            10,
            "{backend}"
        );
        let rows = events::range(store.reader(), &user, 3, 7, 100)
            .await
            .unwrap();
        let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [4, 5, 6, 7], "{backend}");
        assert_eq!(rows[0].payload, "{\"n\":3}", "{backend}");
        assert_eq!(
            events::oldest(store.reader(), &user).await.unwrap(),
            Some(1),
            "{backend}"
        );
        // Retention removes old events; the head stays.
        let pruned = store
            .write(Box::new(|conn| {
                Box::pin(async move { events::prune(conn, 1005).await })
            }))
            .await
            .unwrap();
        assert!(pruned >= 5, "{backend}: pruned {pruned}");
        assert_eq!(
            events::oldest(store.reader(), &user).await.unwrap(),
            Some(6),
            "{backend}"
        );
        assert_eq!(
            events::head(store.reader(), &user).await.unwrap(),
            10,
            "{backend}"
        );
        let unknown = events::head(store.reader(), &uid("nobody")).await;
        assert!(matches!(unknown, Err(StoreError::NotFound(_))), "{backend}");
    }
}

#[tokio::test]
async fn stored_events_that_mention_a_text_are_found_and_rewritten_in_place() {
    for (backend, store, _dir) in stores().await {
        let (a, b) = (
            add_user(&store, "scrub-a").await,
            add_user(&store, "scrub-b").await,
        );
        let ids = vec![a.clone(), b.clone()];
        for (ts, payload) in [
            (100, r#"{"s":"s-1","t":"early"}"#),
            (200, r#"{"s":"s-1","t":"secret"}"#),
            (300, r#"{"s":"s-2","t":"other"}"#),
            (400, r#"{"s":"s-1","t":"50%_off"}"#),
        ] {
            let ids = ids.clone();
            store
                .write(Box::new(move |conn| {
                    Box::pin(async move { events::append_many(conn, &ids, ts, payload).await })
                }))
                .await
                .unwrap();
        }
        // Since a time, for some users, containing a text (LIKE's own
        // wildcards in it are taken literally).
        let (only_a, found, literal) = (vec![a.clone()], ids.clone(), ids.clone());
        let (found, wildcard) = store
            .write(Box::new(move |conn| {
                Box::pin(async move {
                    let found = events::mentioning(conn, &found, 200, "\"s-1\"").await?;
                    let none = events::mentioning(conn, &literal, 0, "0_%").await?;
                    assert!(events::mentioning(conn, &[], 0, "s").await?.is_empty());
                    let of_a = events::mentioning(conn, &only_a, 0, "s-1").await?;
                    assert_eq!(of_a.len(), 3);
                    Ok((found, none))
                })
            }))
            .await
            .unwrap();
        let seqs: Vec<(UserId, i64)> = found.iter().map(|(u, s, _)| (u.clone(), *s)).collect();
        let mut expected = vec![
            (a.clone(), 2),
            (a.clone(), 4),
            (b.clone(), 2),
            (b.clone(), 4),
        ];
        expected.sort();
        assert_eq!(seqs, expected, "{backend}");
        assert_eq!(found[0].2, r#"{"s":"s-1","t":"secret"}"#, "{backend}");
        assert!(wildcard.is_empty(), "{backend}: {wildcard:?}");
        // Rewritten in place: same seq and time, new payload; a missing event is false.
        let (user, missing) = (a.clone(), a.clone());
        let (hit, miss) = store
            .write(Box::new(move |conn| {
                Box::pin(async move {
                    let hit =
                        events::replace_payload(conn, &user, 2, r#"{"s":"s-1","t":""}"#).await?;
                    let miss = events::replace_payload(conn, &missing, 99, "{}").await?;
                    Ok((hit, miss))
                })
            }))
            .await
            .unwrap();
        assert!(hit && !miss, "{backend}");
        let rows = events::range(store.reader(), &a, 1, 2, 10).await.unwrap();
        assert_eq!(rows.len(), 1, "{backend}");
        assert_eq!((rows[0].seq, rows[0].ts), (2, 200), "{backend}");
        assert_eq!(rows[0].payload, r#"{"s":"s-1","t":""}"#, "{backend}");
        let rows = events::range(store.reader(), &b, 1, 2, 10).await.unwrap();
        assert_eq!(rows[0].payload, r#"{"s":"s-1","t":"secret"}"#, "{backend}");
    }
}

#[tokio::test]
async fn transcript_seqs_pages_and_client_ids() {
    for (backend, store, _dir) in stores().await {
        let user = add_user(&store, "writer").await;
        let sid = add_session(&store, &user).await;
        for i in 0..6 {
            let (s, u) = (sid.clone(), user.clone());
            store
                .write(Box::new(move |conn| {
                    Box::pin(async move {
                        let seq = sessions::next_seq(conn, &s).await?;
                        transcript::insert(
                            conn,
                            transcript::NewEntry {
                                session_id: &s,
                                seq,
                                ts: 10 + i,
                                kind: "message",
                                actor_id: &u,
                                subject_id: None,
                                body: Some(&format!("text {i}")),
                                client_msg_id: Some(&format!("c{i}")),
                            },
                        )
                        .await
                    })
                }))
                .await
                .unwrap();
        }
        let forward = transcript::page(store.reader(), &sid, 2, i64::MAX, 3, false)
            .await
            .unwrap();
        assert_eq!(
            forward.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [3, 4, 5],
            "{backend}"
        );
        let backward = transcript::page(store.reader(), &sid, 0, 5, 2, true)
            .await
            .unwrap();
        assert_eq!(
            backward.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [3, 4],
            "{backend}"
        );
        assert_eq!(backward[0].actor_name, "Test Person", "{backend}");
        let found = transcript::by_client_msg_id(store.reader(), &sid, &user, "c4")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (found.seq, found.body.as_deref()),
            (5, Some("text 4")),
            "{backend}"
        );
        assert_eq!(
            transcript::last_message(store.reader(), &sid)
                .await
                .unwrap()
                .unwrap()
                .seq,
            6,
            "{backend}"
        );
        // The same client id twice is refused by the unique index.
        let (s, u) = (sid.clone(), user.clone());
        let dup = store
            .write(Box::new(move |conn| {
                Box::pin(async move {
                    let seq = sessions::next_seq(conn, &s).await?;
                    transcript::insert(
                        conn,
                        transcript::NewEntry {
                            session_id: &s,
                            seq,
                            ts: 99,
                            kind: "message",
                            actor_id: &u,
                            subject_id: None,
                            body: Some("again"),
                            client_msg_id: Some("c1"),
                        },
                    )
                    .await
                })
            }))
            .await;
        assert!(
            matches!(dup, Err(StoreError::Conflict(_))),
            "{backend}: {dup:?}"
        );
        // ...and rolled back whole: the seq it took is not consumed.
        let session = sessions::get(store.reader(), &sid).await.unwrap().unwrap();
        assert_eq!(session.last_seq, 6, "{backend}");
        assert_eq!(
            transcript::count_unread(store.reader(), &sid, &uid("someone-else"), 4)
                .await
                .unwrap(),
            2,
            "{backend}"
        );
    }
}

#[tokio::test]
async fn concurrent_writes_are_group_committed_and_a_failing_one_fails_alone() {
    for (backend, store, _dir) in stores().await {
        let user = add_user(&store, "batch").await;
        let before = store.writer_stats();
        let mut tasks = Vec::new();
        for i in 0..200 {
            let (store, u) = (store.clone(), user.clone());
            tasks.push(tokio::spawn(async move {
                store
                    .write(Box::new(move |conn| {
                        Box::pin(async move {
                            if i % 50 == 7 {
                                // Fails after writing: its savepoint must roll its append back.
                                events::append(conn, &u, 1, "{\"doomed\":true}").await?;
                                return Err(StoreError::Aborted("doomed on purpose".into()));
                            }
                            events::append(conn, &u, 1, "{}").await
                        })
                    }))
                    .await
            }));
        }
        let mut ok = 0;
        let mut failed = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => ok += 1,
                Err(StoreError::Aborted(cause)) => {
                    assert_eq!(cause.to_string(), "doomed on purpose");
                    failed += 1;
                }
                Err(other) => panic!("{backend}: {other:?}"),
            }
        }
        assert_eq!((ok, failed), (196, 4), "{backend}");
        let head = events::head(store.reader(), &user).await.unwrap();
        assert_eq!(head, 196, "{backend}: failed writes left nothing behind");
        let rows = events::range(store.reader(), &user, 0, head, 1000)
            .await
            .unwrap();
        assert_eq!(rows.len(), 196, "{backend}");
        assert!(rows.iter().all(|r| r.payload == "{}"), "{backend}");
        let after = store.writer_stats();
        let batches = after.batches - before.batches;
        assert_eq!(after.writes - before.writes, 200, "{backend}");
        assert!(
            batches < 200,
            "{backend}: {batches} batches for 200 concurrent writes"
        );
    }
}

#[tokio::test]
async fn marks_only_rise_and_timeouts_are_claimed_once() {
    for (backend, store, _dir) in stores().await {
        let owner = add_user(&store, "owner").await;
        let guest = add_user(&store, "guest").await;
        let sid = add_session(&store, &owner).await;
        let (s, g) = (sid.clone(), guest.clone());
        store
            .write(Box::new(move |conn| {
                Box::pin(async move {
                    sessions::insert_participant(
                        conn,
                        sessions::NewParticipant {
                            session_id: &s,
                            user_id: &g,
                            role: ParticipantRole::Invitee,
                            state: ParticipantState::Invited,
                            color: 1,
                            invited_at: Some(1),
                            invite_expires_at: Some(5),
                            joined_at: None,
                        },
                    )
                    .await
                })
            }))
            .await
            .unwrap();
        let expired = sessions::expired_invitations(store.reader(), 10, 10)
            .await
            .unwrap();
        assert!(expired.contains(&(sid.clone(), guest.clone())), "{backend}");
        for expected in [true, false] {
            let (s, g) = (sid.clone(), guest.clone());
            let claimed = store
                .write(Box::new(move |conn| {
                    Box::pin(async move { sessions::mark_timed_out(conn, &s, &g).await })
                }))
                .await
                .unwrap();
            assert_eq!(claimed, expected, "{backend}");
        }
        for (seq, expected) in [(3, true), (2, false), (3, false), (4, true)] {
            let (s, g) = (sid.clone(), guest.clone());
            let raised = store
                .write(Box::new(move |conn| {
                    Box::pin(async move { sessions::raise_mark(conn, &s, &g, true, seq).await })
                }))
                .await
                .unwrap();
            assert_eq!(raised, expected, "{backend}: read mark {seq}");
        }
        let participants = sessions::participants(store.reader(), &sid).await.unwrap();
        let p = participants.iter().find(|p| p.user_id == guest).unwrap();
        assert_eq!(
            (p.read_seq, p.delivered_seq, p.invite_timed_out),
            (4, 4, true),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn search_folds_and_escapes() {
    for (backend, store, _dir) in stores().await {
        let id = add_user(&store, "searchable").await;
        let u = id.clone();
        store
            .write(Box::new(move |conn| {
                Box::pin(async move {
                    users::set_profile(conn, &u, "Zoë 100% Real", "zoe 100% real searchable").await
                })
            }))
            .await
            .unwrap();
        let hits = users::search(store.reader(), "%100\\%%", "100\\%%", "% 100\\%%", 10)
            .await
            .unwrap();
        assert!(
            hits.iter().any(|u| u.id == id),
            "{backend}: literal percent matches"
        );
        let none = users::search(store.reader(), "%100\\_%", "x", "x", 10)
            .await
            .unwrap();
        assert!(
            none.iter().all(|u| u.id != id),
            "{backend}: escaped underscore is literal"
        );
        let many = users::get_many(store.reader(), &[id.clone(), uid("missing")])
            .await
            .unwrap();
        assert_eq!(many.len(), 1, "{backend}");
    }
}

#[tokio::test]
async fn history_search_matches_prefixes_and_filters_on_both_backends() {
    use backline_store::{contacts, interactions};
    for (backend, store, _dir) in stores().await {
        let agent = add_user(&store, "histagent").await;
        let contact = cid(&format!("contact-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
        let (c, a) = (contact.clone(), agent.clone());
        store
            .write(Box::new(move |conn| {
                Box::pin(async move {
                    let fields = contacts::ContactFields {
                        first_name: "Zoë",
                        last_name: "Martin",
                        phones: "[]",
                        emails: "[]",
                        attributes: "[]",
                    };
                    contacts::insert(conn, &c, None, &fields, 1).await?;
                    for (n, (media, subject, text, at)) in [
                        (
                            "voice",
                            "Broken kettle",
                            "broken kettle refund tres satisfied",
                            1_000,
                        ),
                        ("email", "Invoice", "invoice address corrected", 2_000),
                        (
                            "chat",
                            "Warranty",
                            "warranty two years kettle element",
                            3_000,
                        ),
                    ]
                    .into_iter()
                    .enumerate()
                    {
                        let id = iid(&format!("{c}-i{n}"));
                        interactions::insert(
                            conn,
                            interactions::NewInteraction {
                                id: &id,
                                integration_id: None,
                                external_id: None,
                                media,
                                state: "ended",
                                agent_id: if n == 1 { Some(&a) } else { None },
                                contact_id: Some(&c),
                                subject,
                                case_data: "[]",
                                outcome: None,
                                notes: None,
                                created_at: at,
                                ended_at: Some(at),
                            },
                        )
                        .await?;
                        interactions::index_for_search(conn, &id, text).await?;
                    }
                    // Re-indexing replaces the text.
                    interactions::index_for_search(
                        conn,
                        &iid(&format!("{c}-i1")),
                        "invoice address corrected goodwill",
                    )
                    .await
                })
            }))
            .await
            .unwrap();
        let search = |words: &[&str]| interactions::HistoryQuery {
            contact_id: contact.clone(),
            media: None,
            from: None,
            to: None,
            agent_id: None,
            words: words.iter().map(|w| w.to_string()).collect(),
            limit: 50,
        };
        let subjects = |rows: Vec<backline_store::rows::InteractionRow>| {
            rows.into_iter().map(|r| r.subject).collect::<Vec<_>>()
        };
        let all = interactions::history(store.reader(), store.backend(), &search(&[]))
            .await
            .unwrap();
        assert_eq!(
            subjects(all),
            ["Warranty", "Invoice", "Broken kettle"],
            "{backend}: newest first"
        );
        let kettle = interactions::history(store.reader(), store.backend(), &search(&["kett"]))
            .await
            .unwrap();
        assert_eq!(
            subjects(kettle),
            ["Warranty", "Broken kettle"],
            "{backend}: prefix match"
        );
        let both = interactions::history(
            store.reader(),
            store.backend(),
            &search(&["kettle", "refu"]),
        )
        .await
        .unwrap();
        assert_eq!(
            subjects(both),
            ["Broken kettle"],
            "{backend}: every word must match"
        );
        let reindexed =
            interactions::history(store.reader(), store.backend(), &search(&["goodwill"]))
                .await
                .unwrap();
        assert_eq!(subjects(reindexed), ["Invoice"], "{backend}");
        let mut filtered = search(&[]);
        filtered.media = Some("chat".into());
        assert_eq!(
            subjects(
                interactions::history(store.reader(), store.backend(), &filtered)
                    .await
                    .unwrap()
            ),
            ["Warranty"],
            "{backend}"
        );
        let mut window = search(&[]);
        window.from = Some(1_500);
        window.to = Some(2_500);
        assert_eq!(
            subjects(
                interactions::history(store.reader(), store.backend(), &window)
                    .await
                    .unwrap()
            ),
            ["Invoice"],
            "{backend}"
        );
        let mut by_agent = search(&["invoice"]);
        by_agent.agent_id = Some(agent.clone());
        by_agent.media = Some("email".into());
        assert_eq!(
            subjects(
                interactions::history(store.reader(), store.backend(), &by_agent)
                    .await
                    .unwrap()
            ),
            ["Invoice"],
            "{backend}"
        );
        let none = interactions::history(store.reader(), store.backend(), &search(&["nothing"]))
            .await
            .unwrap();
        assert!(none.is_empty(), "{backend}");
    }
}

#[tokio::test]
async fn contacts_are_found_by_external_id_and_updated_in_place() {
    use backline_store::contacts;
    for (backend, store, _dir) in stores().await {
        let id = cid(&format!("contact-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
        let external = format!("EXT-{id}");
        let (i, e) = (id.clone(), external.clone());
        store
            .write(Box::new(move |conn| {
                Box::pin(async move {
                    let fields = contacts::ContactFields {
                        first_name: "Ana",
                        last_name: "Lima",
                        phones: "[\"+1 555\"]",
                        emails: "[]",
                        attributes: "[{\"key\":\"k\",\"value\":\"v\"}]",
                    };
                    contacts::insert(conn, &i, Some(&e), &fields, 1).await?;
                    let updated = contacts::ContactFields {
                        first_name: "Ana",
                        last_name: "Lima-Souza",
                        ..fields
                    };
                    contacts::update(conn, &i, &updated, 2).await
                })
            }))
            .await
            .unwrap();
        let found = contacts::by_external_id(store.reader(), &external)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (found.id.as_str(), found.last_name.as_str()),
            (id.as_str(), "Lima-Souza"),
            "{backend}"
        );
        assert_eq!(found.phones, "[\"+1 555\"]", "{backend}");
        let (i, e) = (cid(&format!("{id}-dup")), external.clone());
        let dup = store
            .write(Box::new(move |conn| {
                Box::pin(async move {
                    let fields = contacts::ContactFields {
                        first_name: "X",
                        last_name: "Y",
                        phones: "[]",
                        emails: "[]",
                        attributes: "[]",
                    };
                    contacts::insert(conn, &i, Some(&e), &fields, 3).await
                })
            }))
            .await;
        assert!(
            matches!(dup, Err(StoreError::Conflict(_))),
            "{backend}: external ids are unique"
        );
    }
}

#[tokio::test]
async fn one_event_appended_to_several_streams_gets_each_users_next_seq() {
    for (backend, store, _dir) in stores().await {
        let a = add_user(&store, "many-a").await;
        let b = add_user(&store, "many-b").await;
        let u = a.clone();
        store
            .write(Box::new(move |conn| {
                Box::pin(async move { events::append(conn, &u, 1, "{}").await })
            }))
            .await
            .unwrap();
        let ids = vec![b.clone(), a.clone()];
        let seqs = store
            .write(Box::new(move |conn| {
                Box::pin(async move { events::append_many(conn, &ids, 2, "{\"x\":1}").await })
            }))
            .await
            .unwrap();
        assert_eq!(
            seqs,
            vec![(b.clone(), 1), (a.clone(), 2)],
            "{backend}: callers' order, each stream's own seq"
        );
        let rows = events::range(store.reader(), &a, 0, 10, 10).await.unwrap();
        assert_eq!(
            rows.iter()
                .map(|r| (r.seq, r.payload.as_str()))
                .collect::<Vec<_>>(),
            [(1, "{}"), (2, "{\"x\":1}")],
            "{backend}"
        );
        let missing = vec![a.clone(), uid("nobody")];
        let refused = store
            .write(Box::new(move |conn| {
                Box::pin(async move { events::append_many(conn, &missing, 3, "{}").await })
            }))
            .await;
        assert!(matches!(refused, Err(StoreError::NotFound(_))), "{backend}");
        assert_eq!(
            events::head(store.reader(), &a).await.unwrap(),
            2,
            "{backend}: the refused write left nothing"
        );
    }
}
