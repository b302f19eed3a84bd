//! Calls (voice) and their parties.

use backline_store::rows::CallRow;
use backline_store::{calls, CallKind, CallState, PartyKind, PartyState, Store, StoreError};
use backline_store::{CallId, InteractionId};

use crate::{stores, unique};

/// How a test call starts.
#[derive(Clone, Copy)]
struct Call<'a> {
    kind: CallKind,
    state: CallState,
    interaction_id: Option<&'a InteractionId>,
    contact_call_id: Option<&'a CallId>,
    created_at: i64,
    ring_expires_at: Option<i64>,
}

const CONTACT: Call<'static> = Call {
    kind: CallKind::Contact,
    state: CallState::Active,
    interaction_id: None,
    contact_call_id: None,
    created_at: 1,
    ring_expires_at: None,
};

async fn add_call(store: &Store, call: Call<'_>) -> CallId {
    let id = crate::callid(&unique("call"));
    let interaction = call.interaction_id.cloned();
    let contact_call = call.contact_call_id.cloned();
    let (created_at, ring_expires_at) = (call.created_at, call.ring_expires_at);
    tx!(store, [id], |conn| {
        calls::insert(
            conn,
            calls::NewCall {
                id: &id,
                kind: call.kind,
                state: call.state,
                interaction_id: interaction.as_ref(),
                consultation_session_id: None,
                contact_call_id: contact_call.as_ref(),
                created_at,
                ring_expires_at,
                caller_token_hash: None,
            },
        )
        .await
    })
    .unwrap();
    id
}

async fn add_party(store: &Store, call_id: &CallId, party_id: &str, state: PartyState) {
    let (call_id, party_id) = (call_id.to_owned(), party_id.to_owned());
    tx!(store, |conn| {
        calls::add_party(
            conn,
            &call_id,
            &party_id,
            PartyKind::Agent,
            "Agent",
            state,
            None,
            1,
        )
        .await
    })
    .unwrap();
}

async fn get(store: &Store, id: &CallId) -> CallRow {
    calls::get(store.reader(), id).await.unwrap().unwrap()
}

fn ids(rows: Vec<CallRow>) -> Vec<CallId> {
    rows.into_iter().map(|r| r.id).collect()
}

#[tokio::test]
async fn calls_read_back_as_inserted_and_by_their_caller_token() {
    for (backend, store, _dir) in stores().await {
        add_call(&store, CONTACT).await;
        add_call(&store, CONTACT).await;
        let (id, token) = (crate::callid(&unique("call")), unique("caller-token"));
        tx!(store, [id, token], |conn| {
            calls::insert(
                conn,
                calls::NewCall {
                    id: &id,
                    kind: CallKind::Contact,
                    state: CallState::Ringing,
                    interaction_id: Some(&crate::iid("interaction-x")),
                    consultation_session_id: Some(&crate::sid("session-x")),
                    contact_call_id: Some(&crate::callid("call-x")),
                    created_at: 100,
                    ring_expires_at: Some(130),
                    caller_token_hash: Some(&token),
                },
            )
            .await
        })
        .unwrap();
        let call = get(&store, &id).await;
        assert_eq!(
            (
                call.kind,
                call.state,
                call.interaction_id.as_ref().map(|i| i.as_str()),
                call.consultation_session_id.as_ref().map(|s| s.as_str()),
                call.contact_call_id.as_ref().map(|c| c.as_str()),
                call.created_at,
                call.ring_expires_at,
            ),
            (
                CallKind::Contact,
                CallState::Ringing,
                Some("interaction-x"),
                Some("session-x"),
                Some("call-x"),
                100,
                Some(130)
            ),
            "{backend}"
        );
        assert_eq!(
            (
                call.answered_at,
                call.ended_at,
                call.ended_reason,
                call.hold_started_at,
                call.orphaned_since
            ),
            (None, None, None, None, None),
            "{backend}"
        );
        let by_token = calls::by_caller_token(store.reader(), &token)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_token.id, id, "{backend}");
        assert!(
            calls::by_caller_token(store.reader(), "no-such-token")
                .await
                .unwrap()
                .is_none(),
            "{backend}"
        );
        assert!(
            calls::get(store.reader(), &crate::callid("no-such-call"))
                .await
                .unwrap()
                .is_none(),
            "{backend}"
        );
        // A token belongs to one call; calls without one are many.
        let dup = tx!(store, [token], |conn| {
            calls::insert(
                conn,
                calls::NewCall {
                    id: &crate::callid("another-call"),
                    kind: CallKind::Contact,
                    state: CallState::Ringing,
                    interaction_id: None,
                    consultation_session_id: None,
                    contact_call_id: None,
                    created_at: 101,
                    ring_expires_at: None,
                    caller_token_hash: Some(&token),
                },
            )
            .await
        });
        assert!(
            matches!(dup, Err(StoreError::Conflict(_))),
            "{backend}: {dup:?}"
        );
    }
}

#[tokio::test]
async fn parties_are_listed_in_the_order_they_joined_and_keep_their_device() {
    use PartyKind::{Agent, Contact};
    use PartyState::{Connected, Held, Ringing};
    for (backend, store, _dir) in stores().await {
        let id = add_call(&store, CONTACT).await;
        tx!(store, [id], |conn| {
            calls::add_party(
                conn,
                &id,
                "contact-1",
                Contact,
                "Ana Lima",
                Connected,
                None,
                1,
            )
            .await?;
            calls::add_party(conn, &id, "agent-1", Agent, "Agent One", Ringing, None, 2).await?;
            calls::add_party(
                conn,
                &id,
                "agent-2",
                Agent,
                "Agent Two",
                Connected,
                Some("desk-2"),
                3,
            )
            .await
        })
        .unwrap();
        let other = add_call(&store, CONTACT).await;
        add_party(&store, &other, "agent-1", Connected).await;
        let parties = |store: Store, id: CallId| async move {
            calls::parties(store.reader(), &id)
                .await
                .unwrap()
                .into_iter()
                .map(|p| {
                    assert_eq!(p.call_id, id, "{backend}");
                    (
                        p.position,
                        p.party_id,
                        p.kind,
                        p.display_name,
                        p.state,
                        p.device_id,
                    )
                })
                .collect::<Vec<_>>()
        };
        let party = |position: i64,
                     id: &str,
                     kind: PartyKind,
                     name: &str,
                     state: PartyState,
                     device: Option<&str>| {
            (
                position,
                id.to_owned(),
                kind,
                name.to_owned(),
                state,
                device.map(str::to_owned),
            )
        };
        assert_eq!(
            parties(store.clone(), id.clone()).await,
            [
                party(0, "contact-1", Contact, "Ana Lima", Connected, None),
                party(1, "agent-1", Agent, "Agent One", Ringing, None),
                party(2, "agent-2", Agent, "Agent Two", Connected, Some("desk-2")),
            ],
            "{backend}"
        );
        tx!(store, [id], |conn| {
            calls::set_party(conn, &id, "agent-1", Connected, Some("desk-1"), 4).await?;
            // No device given: the one it has stays.
            calls::set_party(conn, &id, "agent-2", Held, None, 5).await
        })
        .unwrap();
        assert_eq!(
            parties(store.clone(), id.clone()).await,
            [
                party(0, "contact-1", Contact, "Ana Lima", Connected, None),
                party(1, "agent-1", Agent, "Agent One", Connected, Some("desk-1")),
                party(2, "agent-2", Agent, "Agent Two", Held, Some("desk-2")),
            ],
            "{backend}"
        );
        assert_eq!(
            parties(store.clone(), other.clone()).await,
            [party(0, "agent-1", Agent, "Agent", Connected, None)],
            "{backend}: positions count per call"
        );
        let dup = tx!(store, [id], |conn| {
            calls::add_party(conn, &id, "agent-1", Agent, "Again", Ringing, None, 6).await
        });
        assert!(
            matches!(dup, Err(StoreError::Conflict(_))),
            "{backend}: {dup:?}"
        );
    }
}

#[tokio::test]
async fn a_partys_active_calls_leave_out_ended_calls_and_calls_it_left() {
    for (backend, store, _dir) in stores().await {
        let me = unique("party");
        let mut made = Vec::new();
        for created_at in [10, 30, 20, 40] {
            let id = add_call(
                &store,
                Call {
                    created_at,
                    ..CONTACT
                },
            )
            .await;
            add_party(&store, &id, &me, PartyState::Connected).await;
            made.push(id);
        }
        let [old, new, mid, newest] = <[CallId; 4]>::try_from(made).unwrap();
        let not_mine = add_call(
            &store,
            Call {
                created_at: 50,
                ..CONTACT
            },
        )
        .await;
        add_party(&store, &not_mine, "someone-else", PartyState::Connected).await;
        let active = |store: Store, me: String| async move {
            ids(calls::active_for_party(store.reader(), &me).await.unwrap())
        };
        assert_eq!(
            active(store.clone(), me.clone()).await,
            [newest.clone(), new.clone(), mid.clone(), old.clone()],
            "{backend}: newest first"
        );
        tx!(store, [me, newest, mid], |conn| {
            calls::end(conn, &newest, "hangup", 60).await?;
            calls::set_party(conn, &mid, &me, PartyState::Left, None, 61).await
        })
        .unwrap();
        assert_eq!(
            active(store.clone(), me.clone()).await,
            [new.clone(), old.clone()],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn an_interactions_contact_call_is_its_newest_open_one() {
    for (backend, store, _dir) in stores().await {
        let interaction = crate::iid(&unique("interaction"));
        let on = |created_at: i64, kind: CallKind| Call {
            kind,
            interaction_id: Some(&interaction),
            created_at,
            ..CONTACT
        };
        let older = add_call(&store, on(10, CallKind::Contact)).await;
        let newer = add_call(&store, on(20, CallKind::Contact)).await;
        add_call(&store, on(30, CallKind::Consultation)).await;
        add_call(
            &store,
            Call {
                created_at: 40,
                interaction_id: Some(&crate::iid("another-interaction")),
                ..CONTACT
            },
        )
        .await;
        let current = |store: Store, interaction: InteractionId| async move {
            calls::contact_call_of(store.reader(), &interaction)
                .await
                .unwrap()
                .map(|c| c.id)
        };
        assert_eq!(
            current(store.clone(), interaction.clone()).await,
            Some(newer.clone()),
            "{backend}"
        );
        tx!(store, [newer], |conn| calls::end(
            conn, &newer, "hangup", 50
        )
        .await)
        .unwrap();
        assert_eq!(
            current(store.clone(), interaction.clone()).await,
            Some(older.clone()),
            "{backend}: ended calls do not count"
        );
        tx!(store, [older], |conn| calls::end(
            conn, &older, "hangup", 51
        )
        .await)
        .unwrap();
        assert_eq!(
            current(store.clone(), interaction.clone()).await,
            None,
            "{backend}: a consultation is no contact call"
        );
    }
}

#[tokio::test]
async fn open_consultations_of_a_contact_call_are_listed_oldest_first() {
    for (backend, store, _dir) in stores().await {
        let contact_call = add_call(&store, CONTACT).await;
        let consultation = |created_at| Call {
            kind: CallKind::Consultation,
            contact_call_id: Some(&contact_call),
            created_at,
            ..CONTACT
        };
        let late = add_call(&store, consultation(30)).await;
        let early = add_call(&store, consultation(10)).await;
        let ended = add_call(&store, consultation(20)).await;
        add_call(
            &store,
            Call {
                kind: CallKind::Consultation,
                contact_call_id: Some(&crate::callid("another-call")),
                created_at: 5,
                ..CONTACT
            },
        )
        .await;
        tx!(store, [ended], |conn| calls::end(conn, &ended, "done", 40)
            .await)
        .unwrap();
        assert_eq!(
            ids(calls::open_consultations(store.reader(), &contact_call)
                .await
                .unwrap()),
            [early, late],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn ringing_calls_expire_and_answering_stops_the_ring_once() {
    for (backend, store, _dir) in stores().await {
        let ringing = |ring_expires_at| Call {
            state: CallState::Ringing,
            ring_expires_at: Some(ring_expires_at),
            ..CONTACT
        };
        let soon = add_call(&store, ringing(100)).await;
        let later = add_call(&store, ringing(200)).await;
        let answered = add_call(&store, ringing(100)).await;
        let not_ringing = add_call(
            &store,
            Call {
                ring_expires_at: Some(100),
                ..CONTACT
            },
        )
        .await;
        let expired = |now: i64| {
            let store = store.clone();
            let mine = [
                soon.clone(),
                later.clone(),
                answered.clone(),
                not_ringing.clone(),
            ];
            async move {
                let mut got: Vec<CallId> = calls::ring_expired(store.reader(), now)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|id| mine.contains(id))
                    .collect();
                got.sort();
                got
            }
        };
        let sorted = |mut v: Vec<CallId>| {
            v.sort();
            v
        };
        assert_eq!(expired(99).await, Vec::<CallId>::new(), "{backend}");
        assert_eq!(
            expired(100).await,
            sorted(vec![soon.clone(), answered.clone()]),
            "{backend}: due at the expiry"
        );
        tx!(store, [answered], |conn| {
            calls::answer(conn, &answered, 150).await?;
            // Answered again (another device): the first answer stays.
            calls::answer(conn, &answered, 160).await
        })
        .unwrap();
        let call = get(&store, &answered).await;
        assert_eq!(
            (call.state, call.answered_at, call.ring_expires_at),
            (CallState::Active, Some(150), None),
            "{backend}"
        );
        assert_eq!(
            expired(200).await,
            sorted(vec![soon.clone(), later.clone()]),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn held_contact_calls_are_listed_until_resumed_or_ended() {
    for (backend, store, _dir) in stores().await {
        let held = add_call(&store, CONTACT).await;
        let resumed = add_call(&store, CONTACT).await;
        let ended = add_call(&store, CONTACT).await;
        let consultation = add_call(
            &store,
            Call {
                kind: CallKind::Consultation,
                ..CONTACT
            },
        )
        .await;
        tx!(store, [held, resumed, ended, consultation], |conn| {
            for id in [&held, &resumed, &ended, &consultation] {
                calls::set_orphaned_since(conn, id, Some(5)).await?;
                calls::set_hold(conn, id, Some(10)).await?;
            }
            calls::set_orphaned_since(conn, &held, Some(12)).await?;
            calls::set_hold(conn, &resumed, None).await?;
            calls::end(conn, &ended, "abandoned", 20).await
        })
        .unwrap();
        let mine = [&held, &resumed, &ended, &consultation];
        let listed: Vec<(CallId, Option<i64>)> = calls::held_contact_calls(store.reader())
            .await
            .unwrap()
            .into_iter()
            .filter(|c| mine.contains(&&c.id))
            .map(|c| (c.id, c.hold_started_at))
            .collect();
        assert_eq!(listed, [(held.clone(), Some(10))], "{backend}");
        let rows = [
            get(&store, &held).await,
            get(&store, &resumed).await,
            get(&store, &ended).await,
        ];
        assert_eq!(
            rows.iter()
                .map(|c| (c.hold_started_at, c.orphaned_since))
                .collect::<Vec<_>>(),
            [(Some(10), Some(12)), (None, None), (None, None)],
            "{backend}: holding resets the orphan clock; ending clears the hold"
        );
        tx!(store, [held], |conn| {
            calls::set_orphaned_since(conn, &held, None).await
        })
        .unwrap();
        assert_eq!(get(&store, &held).await.orphaned_since, None, "{backend}");
    }
}

#[tokio::test]
async fn ending_a_call_twice_keeps_the_first_end() {
    for (backend, store, _dir) in stores().await {
        let id = add_call(
            &store,
            Call {
                state: CallState::Ringing,
                ring_expires_at: Some(100),
                ..CONTACT
            },
        )
        .await;
        tx!(store, [id], |conn| {
            calls::set_hold(conn, &id, Some(50)).await?;
            calls::end(conn, &id, "no_answer", 60).await?;
            calls::end(conn, &id, "hangup", 70).await
        })
        .unwrap();
        let call = get(&store, &id).await;
        assert_eq!(
            (
                call.state,
                call.ended_reason.as_deref(),
                call.ended_at,
                call.hold_started_at,
                call.ring_expires_at
            ),
            (CallState::Ended, Some("no_answer"), Some(60), None, None),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn an_interaction_is_on_hold_since_its_open_contact_call_held_the_contact() {
    for (backend, store, _dir) in stores().await {
        let interaction = crate::iid(&unique("interaction"));
        let held = |store: Store, interaction: InteractionId| async move {
            calls::held_since(store.reader(), &interaction)
                .await
                .unwrap()
        };
        assert_eq!(
            held(store.clone(), interaction.clone()).await,
            None,
            "{backend}"
        );
        let call = add_call(
            &store,
            Call {
                interaction_id: Some(&interaction),
                ..CONTACT
            },
        )
        .await;
        assert_eq!(
            held(store.clone(), interaction.clone()).await,
            None,
            "{backend}"
        );
        tx!(store, [call], |conn| calls::set_hold(conn, &call, Some(70))
            .await)
        .unwrap();
        assert_eq!(
            held(store.clone(), interaction.clone()).await,
            Some(70),
            "{backend}"
        );
        assert_eq!(
            held(store.clone(), crate::iid(&unique("other"))).await,
            None,
            "{backend}"
        );
        tx!(store, [call], |conn| calls::set_hold(conn, &call, None)
            .await)
        .unwrap();
        assert_eq!(
            held(store.clone(), interaction.clone()).await,
            None,
            "{backend}"
        );
        tx!(store, [call], |conn| calls::set_hold(conn, &call, Some(90))
            .await)
        .unwrap();
        tx!(store, [call], |conn| calls::end(conn, &call, "hangup", 95)
            .await)
        .unwrap();
        assert_eq!(
            held(store.clone(), interaction.clone()).await,
            None,
            "{backend}: an ended call holds nobody"
        );
    }
}
