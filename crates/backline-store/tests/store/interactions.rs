//! Contacts, interactions and their transcripts, integrations and the webhook outbox.

use backline_store::rows::InteractionRow;
use backline_store::UserId;
use backline_store::{contacts, integrations, interactions, outbox, users, Store, StoreError};
use backline_store::{IntegrationId, InteractionId};

use crate::{add_user, stores, unique};

/// An integration named `id`, with the token hash `token-{id}`.
pub(crate) async fn add_integration(store: &Store, id: &IntegrationId) {
    let id = id.clone();
    tx!(store, |conn| {
        integrations::insert(
            conn,
            integrations::NewIntegration {
                id: &id,
                name: id.as_str(),
                token_hash: &format!("token-{id}"),
                webhook_url: Some("http://127.0.0.1:9/hook"),
                webhook_secret: "secret",
                scopes: "platform",
                created_at: 7,
            },
        )
        .await
    })
    .unwrap();
}

/// An open chat interaction of `agent` created at `created_at`.
async fn add_interaction(store: &Store, agent: Option<&UserId>, created_at: i64) -> InteractionId {
    let id = crate::iid(&unique("interaction"));
    let agent = agent.cloned();
    tx!(store, [id], |conn| {
        interactions::insert(
            conn,
            interactions::NewInteraction {
                id: &id,
                integration_id: None,
                external_id: None,
                media: "chat",
                state: "active",
                agent_id: agent.as_ref(),
                contact_id: None,
                subject: "Question",
                case_data: "[]",
                outcome: None,
                notes: None,
                created_at,
                ended_at: None,
            },
        )
        .await
    })
    .unwrap();
    id
}

fn ids(rows: Vec<InteractionRow>) -> Vec<InteractionId> {
    rows.into_iter().map(|r| r.id).collect()
}

#[tokio::test]
async fn contacts_are_read_by_id_and_a_missing_one_is_none() {
    for (backend, store, _dir) in stores().await {
        let id = crate::cid(&unique("contact"));
        tx!(store, [id], |conn| {
            let fields = contacts::ContactFields {
                first_name: "Ana",
                last_name: "Lima",
                phones: "[\"+1 555\"]",
                emails: "[\"ana@example.com\"]",
                attributes: "[]",
            };
            contacts::insert(conn, &id, None, &fields, 1).await
        })
        .unwrap();
        let contact = contacts::get(store.reader(), &id).await.unwrap().unwrap();
        assert_eq!(
            (
                contact.id.as_str(),
                contact.external_id.as_deref(),
                contact.first_name.as_str(),
                contact.last_name.as_str(),
                contact.phones.as_str(),
                contact.emails.as_str(),
                contact.attributes.as_str()
            ),
            (
                id.as_str(),
                None,
                "Ana",
                "Lima",
                "[\"+1 555\"]",
                "[\"ana@example.com\"]",
                "[]"
            ),
            "{backend}"
        );
        assert!(
            contacts::get(store.reader(), &crate::cid("no-such-contact"))
                .await
                .unwrap()
                .is_none(),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn interactions_read_back_with_agent_and_contact_names() {
    for (backend, store, _dir) in stores().await {
        let agent = add_user(&store, "named-agent").await;
        let (integration, contact, id) = (
            crate::intid(&unique("integration")),
            crate::cid(&unique("contact")),
            crate::iid(&unique("interaction")),
        );
        add_integration(&store, &integration).await;
        tx!(store, [agent, integration, contact, id], |conn| {
            users::set_profile(conn, &agent, "Agent Smith", "agent smith").await?;
            let fields = contacts::ContactFields {
                first_name: "Zoë",
                last_name: "Martin",
                phones: "[]",
                emails: "[]",
                attributes: "[]",
            };
            contacts::insert(conn, &contact, None, &fields, 1).await?;
            interactions::insert(
                conn,
                interactions::NewInteraction {
                    id: &id,
                    integration_id: Some(&integration),
                    external_id: Some("EXT-1"),
                    media: "voice",
                    state: "ringing",
                    agent_id: Some(&agent),
                    contact_id: Some(&contact),
                    subject: "Kettle",
                    case_data: "[{\"key\":\"order\",\"value\":\"42\"}]",
                    outcome: None,
                    notes: None,
                    created_at: 1_000,
                    ended_at: None,
                },
            )
            .await
        })
        .unwrap();
        let row = interactions::get(store.reader(), &id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                row.integration_id.as_ref().map(|i| i.as_str()),
                row.external_id.as_deref(),
                row.media.as_str(),
                row.state.as_str(),
                row.agent_name.as_deref(),
                row.contact_first_name.as_deref(),
                row.contact_last_name.as_deref(),
            ),
            (
                Some(integration.as_str()),
                Some("EXT-1"),
                "voice",
                "ringing",
                Some("Agent Smith"),
                Some("Zoë"),
                Some("Martin")
            ),
            "{backend}"
        );
        assert_eq!(
            (
                row.subject.as_str(),
                row.case_data.as_str(),
                row.agent_done,
                row.created_at,
                row.ended_at
            ),
            (
                "Kettle",
                "[{\"key\":\"order\",\"value\":\"42\"}]",
                0,
                1_000,
                None
            ),
            "{backend}"
        );
        let found = interactions::by_external_id(store.reader(), &integration, "EXT-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id, id, "{backend}");
        assert!(
            interactions::by_external_id(store.reader(), &integration, "EXT-2")
                .await
                .unwrap()
                .is_none(),
            "{backend}"
        );
        assert!(
            interactions::by_external_id(
                store.reader(),
                &crate::intid("other-integration"),
                "EXT-1"
            )
            .await
            .unwrap()
            .is_none(),
            "{backend}"
        );
        assert!(
            interactions::get(store.reader(), &crate::iid("no-such-interaction"))
                .await
                .unwrap()
                .is_none(),
            "{backend}"
        );
        // An interaction without agent or contact has no names.
        let bare = add_interaction(&store, None, 1).await;
        let row = interactions::get(store.reader(), &bare)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (row.agent_id, row.agent_name, row.contact_first_name),
            (None, None, None),
            "{backend}"
        );
        let dup = tx!(store, [integration], |conn| {
            interactions::insert(
                conn,
                interactions::NewInteraction {
                    id: &crate::iid("another-interaction"),
                    integration_id: Some(&integration),
                    external_id: Some("EXT-1"),
                    media: "voice",
                    state: "ringing",
                    agent_id: None,
                    contact_id: None,
                    subject: "",
                    case_data: "[]",
                    outcome: None,
                    notes: None,
                    created_at: 2_000,
                    ended_at: None,
                },
            )
            .await
        });
        assert!(
            matches!(dup, Err(StoreError::Conflict(_))),
            "{backend}: one interaction per external id: {dup:?}"
        );
    }
}

#[tokio::test]
async fn an_agents_workspace_lists_open_interactions_newest_first() {
    for (backend, store, _dir) in stores().await {
        let agent = add_user(&store, "busy-agent").await;
        let colleague = add_user(&store, "colleague").await;
        let old = add_interaction(&store, Some(&agent), 10).await;
        let new = add_interaction(&store, Some(&agent), 30).await;
        let mid = add_interaction(&store, Some(&agent), 20).await;
        let theirs = add_interaction(&store, Some(&colleague), 40).await;
        assert_eq!(
            ids(interactions::workspace(store.reader(), &agent)
                .await
                .unwrap()),
            [new.clone(), mid.clone(), old.clone()],
            "{backend}"
        );
        tx!(store, [mid, theirs], |conn| {
            interactions::set_agent_done(conn, &mid).await?;
            interactions::set_agent_done(conn, &theirs).await
        })
        .unwrap();
        assert_eq!(
            ids(interactions::workspace(store.reader(), &agent)
                .await
                .unwrap()),
            [new.clone(), old.clone()],
            "{backend}: done leaves the workspace"
        );
        assert!(
            interactions::workspace(store.reader(), &colleague)
                .await
                .unwrap()
                .is_empty(),
            "{backend}"
        );
        // A transfer hands a done interaction to another agent, open again.
        tx!(store, [mid, colleague], |conn| {
            interactions::set_agent(conn, &mid, &colleague).await
        })
        .unwrap();
        let moved = interactions::workspace(store.reader(), &colleague)
            .await
            .unwrap();
        assert_eq!(
            moved
                .iter()
                .map(|r| (r.id.clone(), r.agent_id.clone(), r.agent_done))
                .collect::<Vec<_>>(),
            [(mid.clone(), Some(colleague.clone()), 0)],
            "{backend}"
        );
        assert_eq!(
            ids(interactions::workspace(store.reader(), &agent)
                .await
                .unwrap()),
            [new.clone(), old.clone()],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn interactions_are_updated_and_ended_in_place() {
    for (backend, store, _dir) in stores().await {
        let id = add_interaction(&store, None, 5).await;
        let other = add_interaction(&store, None, 6).await;
        tx!(store, [id], |conn| {
            interactions::update(conn, &id, "Refund", "[{\"key\":\"k\",\"value\":\"v\"}]").await?;
            interactions::end(conn, &id, Some("solved"), Some("called back"), 99).await
        })
        .unwrap();
        let row = interactions::get(store.reader(), &id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                row.subject.as_str(),
                row.case_data.as_str(),
                row.state.as_str(),
                row.outcome.as_deref(),
                row.notes.as_deref(),
                row.ended_at
            ),
            (
                "Refund",
                "[{\"key\":\"k\",\"value\":\"v\"}]",
                "ended",
                Some("solved"),
                Some("called back"),
                Some(99)
            ),
            "{backend}"
        );
        let untouched = interactions::get(store.reader(), &other)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                untouched.subject.as_str(),
                untouched.state.as_str(),
                untouched.ended_at
            ),
            ("Question", "active", None),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn transcripts_are_attached_in_order_and_a_session_only_once() {
    for (backend, store, _dir) in stores().await {
        let first = add_interaction(&store, None, 1).await;
        let second = add_interaction(&store, None, 2).await;
        let attached = tx!(store, [first, second], |conn| {
            let mut attached = Vec::new();
            for (interaction, session, title, at) in [
                (&first, Some("s-a"), "Chat A", 10),
                (&first, Some("s-b"), "Chat B", 20),
                (&first, Some("s-a"), "Chat A again", 30),
                (&first, None, "Note", 40),
                (&first, None, "Note", 50),
                (&second, Some("s-a"), "Chat A", 60),
            ] {
                attached.push(
                    interactions::attach_transcript(
                        conn,
                        interaction,
                        session,
                        title,
                        &format!("body {at}"),
                        at,
                    )
                    .await?,
                );
            }
            Ok(attached)
        })
        .unwrap();
        assert_eq!(
            attached,
            [true, true, false, true, true, true],
            "{backend}: a session's transcript is attached once per interaction"
        );
        let mut asked = [second.clone(), first.clone()];
        let rows = interactions::transcripts(store.reader(), &asked)
            .await
            .unwrap();
        let got: Vec<(InteractionId, i64, Option<String>, String, i64)> = rows
            .into_iter()
            .map(|r| {
                assert_eq!(r.body, format!("body {}", r.attached_at), "{backend}");
                (
                    r.interaction_id,
                    r.position,
                    r.session_id,
                    r.title,
                    r.attached_at,
                )
            })
            .collect();
        asked.sort();
        let row =
            |interaction: &InteractionId, position, session: Option<&str>, title: &str, at| {
                (
                    interaction.clone(),
                    position,
                    session.map(str::to_owned),
                    title.to_owned(),
                    at,
                )
            };
        let mut expected = vec![
            row(&first, 0, Some("s-a"), "Chat A", 10),
            row(&first, 1, Some("s-b"), "Chat B", 20),
            row(&first, 2, None, "Note", 40),
            row(&first, 3, None, "Note", 50),
            row(&second, 0, Some("s-a"), "Chat A", 60),
        ];
        expected.sort_by_key(|r| asked.iter().position(|id| *id == r.0));
        assert_eq!(got, expected, "{backend}: by interaction, then position");
        assert!(
            interactions::transcripts(store.reader(), &[])
                .await
                .unwrap()
                .is_empty(),
            "{backend}"
        );
        assert_eq!(
            interactions::transcripts(store.reader(), std::slice::from_ref(&second))
                .await
                .unwrap()
                .len(),
            1,
            "{backend}"
        );
    }
}

#[tokio::test]
async fn an_attached_transcript_is_replaced_in_place() {
    for (backend, store, _dir) in stores().await {
        let id = add_interaction(&store, None, 1).await;
        let replaced = tx!(store, [id], |conn| {
            interactions::attach_transcript(conn, &id, Some("s-chat"), "Chat", "secret\n", 5)
                .await?;
            Ok((
                interactions::replace_attached_transcript(
                    conn,
                    &id,
                    &crate::sid("s-chat"),
                    "redacted\n",
                )
                .await?,
                interactions::replace_attached_transcript(conn, &id, &crate::sid("s-other"), "x")
                    .await?,
            ))
        })
        .unwrap();
        assert_eq!(replaced, (true, false), "{backend}");
        let rows = interactions::transcripts(store.reader(), std::slice::from_ref(&id))
            .await
            .unwrap();
        assert_eq!(
            rows.iter()
                .map(|r| (r.position, r.title.as_str(), r.body.as_str(), r.attached_at))
                .collect::<Vec<_>>(),
            [(0, "Chat", "redacted\n", 5)],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn call_logs_grow_line_by_line_under_their_key() {
    for (backend, store, _dir) in stores().await {
        let id = add_interaction(&store, None, 1).await;
        tx!(store, [id], |conn| {
            interactions::attach_transcript(conn, &id, Some("s-chat"), "Chat", "hi\n", 5).await?;
            interactions::append_log(conn, &id, "call-1", "Call log", "ringing", 10).await?;
            interactions::append_log(conn, &id, "call-2", "Second call", "ringing", 15).await?;
            interactions::append_log(conn, &id, "call-1", "ignored title", "answered", 20).await
        })
        .unwrap();
        tx!(store, [id], |conn| {
            interactions::append_log(conn, &id, "call-1", "ignored title", "ended", 30).await
        })
        .unwrap();
        let rows = interactions::transcripts(store.reader(), std::slice::from_ref(&id))
            .await
            .unwrap();
        assert_eq!(
            rows.iter()
                .map(|r| (
                    r.position,
                    r.session_id.as_deref(),
                    r.title.as_str(),
                    r.body.as_str(),
                    r.attached_at
                ))
                .collect::<Vec<_>>(),
            [
                (0, Some("s-chat"), "Chat", "hi\n", 5),
                (
                    1,
                    Some("call-1"),
                    "Call log",
                    "ringing\nanswered\nended\n",
                    10
                ),
                (2, Some("call-2"), "Second call", "ringing\n", 15),
            ],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn integrations_are_found_by_token_hash_and_listed_by_name() {
    for (backend, store, _dir) in stores().await {
        let tag = unique("int");
        let (zulu, alpha) = (
            crate::intid(&format!("zulu-{tag}")),
            crate::intid(&format!("alpha-{tag}")),
        );
        add_integration(&store, &zulu).await;
        add_integration(&store, &alpha).await;
        let found = integrations::by_token_hash(store.reader(), &format!("token-{alpha}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                found.id.as_str(),
                found.name.as_str(),
                found.webhook_url.as_deref(),
                found.webhook_secret.as_str(),
                found.created_at
            ),
            (
                alpha.as_str(),
                alpha.as_str(),
                Some("http://127.0.0.1:9/hook"),
                "secret",
                7
            ),
            "{backend}"
        );
        let got = integrations::get(store.reader(), &zulu)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.name, zulu.as_str(), "{backend}");
        assert!(
            integrations::get(store.reader(), &crate::intid("no-such-integration"))
                .await
                .unwrap()
                .is_none(),
            "{backend}"
        );
        assert!(
            integrations::by_token_hash(store.reader(), zulu.as_str())
                .await
                .unwrap()
                .is_none(),
            "{backend}: found by the token's hash only"
        );
        let listed: Vec<String> = integrations::list(store.reader())
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.name)
            .filter(|name| name.ends_with(&tag))
            .collect();
        assert_eq!(
            listed,
            [alpha.as_str(), zulu.as_str()],
            "{backend}: by name"
        );
        for (n, (name, token)) in [
            (alpha.to_string(), "fresh-token".to_owned()),
            ("fresh-name".to_owned(), format!("token-{zulu}")),
        ]
        .into_iter()
        .enumerate()
        {
            let dup = tx!(store, |conn| {
                integrations::insert(
                    conn,
                    integrations::NewIntegration {
                        id: &crate::intid(&format!("dup-{n}")),
                        name: &name,
                        token_hash: &token,
                        webhook_url: None,
                        webhook_secret: "s",
                        scopes: "platform",
                        created_at: 8,
                    },
                )
                .await
            });
            assert!(
                matches!(dup, Err(StoreError::Conflict(_))),
                "{backend}: names and tokens are unique: {dup:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_failed_webhook_event_lets_the_next_one_go_and_counts_follow_the_states() {
    for (backend, store, _dir) in stores().await {
        let before = outbox::counts(store.reader()).await.unwrap();
        let integration = crate::intid(&unique("hooks"));
        add_integration(&store, &integration).await;
        let events: Vec<String> = (0..3).map(|i| format!("{integration}-e{i}")).collect();
        tx!(store, [integration, events], |conn| {
            for (n, id) in events.iter().enumerate() {
                outbox::enqueue(
                    conn,
                    id,
                    &integration,
                    &crate::iid("interaction-1"),
                    "interaction.ended",
                    "{}",
                    10 + n as i64,
                )
                .await?;
            }
            Ok(())
        })
        .unwrap();
        let mine = |rows: Vec<backline_store::rows::OutboxRow>| {
            rows.into_iter()
                .filter(|r| r.integration_id == integration)
                .map(|r| (r.id, r.attempts))
                .collect::<Vec<_>>()
        };
        let delta = |now: (i64, i64, i64)| (now.0 - before.0, now.1 - before.1, now.2 - before.2);
        assert_eq!(
            delta(outbox::counts(store.reader()).await.unwrap()),
            (3, 0, 0),
            "{backend}"
        );
        tx!(store, [events], |conn| {
            outbox::mark_retry(conn, &events[0], 20, "HTTP 500").await?;
            outbox::mark_retry(conn, &events[0], 30, "HTTP 502").await
        })
        .unwrap();
        assert_eq!(
            mine(claim(&store, 30, 0).await),
            [(events[0].clone(), 2)],
            "{backend}: attempts are counted"
        );
        tx!(store, [events], |conn| {
            outbox::mark_failed(conn, &events[0], 31, "gave up").await
        })
        .unwrap();
        let due = claim(&store, 31, 0).await;
        let next = due
            .iter()
            .find(|r| r.integration_id == integration)
            .unwrap();
        assert_eq!(
            (
                next.id.as_str(),
                next.attempts,
                next.event_type.as_str(),
                next.created_at,
                next.webhook_url.as_deref(),
                next.webhook_secret.as_str()
            ),
            (
                events[1].as_str(),
                0,
                "interaction.ended",
                11,
                Some("http://127.0.0.1:9/hook"),
                "secret"
            ),
            "{backend}: the next event goes on"
        );
        assert_eq!(
            mine(due),
            [(events[1].clone(), 0)],
            "{backend}: one per interaction"
        );
        assert_eq!(
            delta(outbox::counts(store.reader()).await.unwrap()),
            (2, 0, 1),
            "{backend}"
        );
        tx!(store, [events], |conn| {
            outbox::mark_delivered(conn, &events[1], 32).await
        })
        .unwrap();
        assert_eq!(
            delta(outbox::counts(store.reader()).await.unwrap()),
            (1, 1, 1),
            "{backend}: (pending, delivered, failed)"
        );
        assert_eq!(
            mine(claim(&store, 32, 0).await),
            [(events[2].clone(), 0)],
            "{backend}"
        );
    }
}

/// Claims what is sendable at `now` for a lease of `lease_ms`, as a node would.
async fn claim(store: &Store, now: i64, lease_ms: i64) -> Vec<backline_store::rows::OutboxRow> {
    let claimant = unique("node");
    tx!(store, |conn| outbox::claim(
        conn, &claimant, now, lease_ms, 50
    )
    .await)
    .unwrap()
}

/// Queues `(id, interaction, created_at)` events for `integration`.
async fn enqueue(store: &Store, integration: &IntegrationId, events: &[(&str, &str, i64)]) {
    let integration = integration.clone();
    let events: Vec<(String, InteractionId, i64)> = events
        .iter()
        .map(|(id, interaction, at)| (id.to_string(), crate::iid(interaction), *at))
        .collect();
    tx!(store, |conn| {
        for (id, interaction, at) in &events {
            outbox::enqueue(conn, id, &integration, interaction, "t", "{}", *at).await?;
        }
        Ok(())
    })
    .unwrap();
}

#[tokio::test]
async fn webhook_events_are_leased_one_interaction_at_a_time_in_order() {
    for (backend, store, _dir) in stores().await {
        let hooks = crate::intid(&unique("hooks"));
        add_integration(&store, &hooks).await;
        let id = |name: &str| format!("{hooks}-{name}");
        let (a0, a1, b0) = (id("a0"), id("a1"), id("b0"));
        enqueue(
            &store,
            &hooks,
            &[(&a0, "A", 10), (&a1, "A", 11), (&b0, "B", 12)],
        )
        .await;
        let ids = |rows: Vec<backline_store::rows::OutboxRow>| {
            let mut ids: Vec<String> = rows.into_iter().map(|r| r.id).collect();
            ids.sort();
            ids
        };
        assert_eq!(
            ids(claim(&store, 100, 1_000).await),
            [a0.clone(), b0.clone()],
            "{backend}: the oldest event of each interaction"
        );
        assert!(
            claim(&store, 100, 1_000).await.is_empty(),
            "{backend}: leased events are nobody else's, and A's next one waits"
        );
        tx!(store, [a0], |conn| outbox::mark_retry(
            conn, &a0, 1_000, "HTTP 500"
        )
        .await)
        .unwrap();
        assert!(
            claim(&store, 500, 1_000).await.is_empty(),
            "{backend}: a retried event is not due before its time, and its interaction waits"
        );
        assert_eq!(
            ids(claim(&store, 1_000, 1_000).await),
            std::slice::from_ref(&a0),
            "{backend}"
        );
        assert_eq!(
            ids(claim(&store, 1_100, 1_000).await),
            std::slice::from_ref(&b0),
            "{backend}: a lease that ran out (its node died) is claimed again"
        );
        tx!(store, [a0], |conn| outbox::mark_delivered(conn, &a0, 1_200)
            .await)
        .unwrap();
        let next = claim(&store, 1_200, 1_000).await;
        assert_eq!(
            (
                next[0].id.as_str(),
                next[0].interaction_id.as_str(),
                next.len()
            ),
            (a1.as_str(), "A", 1),
            "{backend}: delivered, the interaction's next event goes"
        );
    }
}

/// Two nodes on one PostgreSQL claim at the same time: every event is
/// handed out once, and each interaction's events in their order.
#[tokio::test]
async fn nodes_claiming_together_send_each_webhook_event_once_in_order() {
    let Some(admin) = backline_store::testing::postgres_url("webhook claims") else {
        return;
    };
    let url = backline_store::testing::fresh_postgres_database(&admin)
        .await
        .unwrap();
    let options = backline_store::StoreOptions::new(url);
    let (one, two) = (
        Store::open(&options).await.unwrap(),
        Store::open(&options).await.unwrap(),
    );
    let hooks = crate::intid(&unique("hooks"));
    add_integration(&one, &hooks).await;
    let events: Vec<(String, String, i64)> = (0..240)
        .map(|n| (format!("e{n:03}"), format!("i{}", n % 24), n as i64))
        .collect();
    let borrowed: Vec<(&str, &str, i64)> = events
        .iter()
        .map(|(id, interaction, at)| (id.as_str(), interaction.as_str(), *at))
        .collect();
    enqueue(&one, &hooks, &borrowed).await;
    let node = |store: Store| async move {
        let mut sent = Vec::new();
        let mut idle = 0;
        while idle < 20 {
            let claimed = {
                let claimant = unique("node");
                tx!(store, |conn| outbox::claim(
                    conn, &claimant, 1_000, 60_000, 7
                )
                .await)
                .unwrap()
            };
            if claimed.is_empty() {
                idle += 1;
                tokio::task::yield_now().await;
                continue;
            }
            idle = 0;
            for row in claimed {
                let id = row.id.clone();
                tx!(store, [id], |conn| outbox::mark_delivered(conn, &id, 1_001)
                    .await)
                .unwrap();
                sent.push((row.interaction_id, row.id));
            }
        }
        sent
    };
    let (a, b) = tokio::join!(tokio::spawn(node(one)), tokio::spawn(node(two)));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(!a.is_empty() && !b.is_empty(), "both nodes took part");
    let mut all: Vec<&(InteractionId, String)> = a.iter().chain(b.iter()).collect();
    assert_eq!(all.len(), 240, "every event once");
    all.sort_by(|x, y| x.1.cmp(&y.1));
    all.dedup_by(|x, y| x.1 == y.1);
    assert_eq!(all.len(), 240, "no event twice");
    // Per interaction, each node sent its share in created order, and an
    // event was claimable only once the one before it was delivered.
    for sent in [&a, &b] {
        for interaction in (0..24).map(|n| crate::iid(&format!("i{n}"))) {
            let order: Vec<&String> = sent
                .iter()
                .filter(|(i, _)| *i == interaction)
                .map(|(_, id)| id)
                .collect();
            let mut sorted = order.clone();
            sorted.sort();
            assert_eq!(order, sorted, "{interaction} in order");
        }
    }
}
