//! Legal holds and retention.

use backline_store::compliance::{self, Counts, Cutoffs};
use backline_store::UserId;
use backline_store::{audit, contacts, interactions, sessions, transcript, Store};
use backline_store::{ContactId, InteractionId};

use crate::im_sessions::add_session_at;
use crate::{add_user, stores, unique};

/// An interaction that ended at `ended_at`.
async fn ended_interaction(store: &Store, ended_at: i64) -> InteractionId {
    ended_interaction_of(store, None, ended_at).await
}

/// An interaction of `contact` that ended at `ended_at`, with an attached
/// transcript and an audit entry about it.
async fn ended_interaction_of(
    store: &Store,
    contact: Option<&ContactId>,
    ended_at: i64,
) -> InteractionId {
    let id = crate::iid(&unique("interaction"));
    let contact = contact.cloned();
    tx!(store, [id], |conn| {
        interactions::insert(
            conn,
            interactions::NewInteraction {
                id: &id,
                integration_id: None,
                external_id: None,
                media: "chat",
                state: "ended",
                agent_id: None,
                contact_id: contact.as_ref(),
                subject: "Question",
                case_data: "[]",
                outcome: None,
                notes: None,
                created_at: ended_at - 10,
                ended_at: Some(ended_at),
            },
        )
        .await?;
        interactions::attach_transcript(conn, &id, None, "Note", "text", ended_at).await?;
        audit::insert(
            conn,
            audit::NewAudit {
                id: &unique("audit"),
                ts: ended_at,
                actor_id: "someone",
                action: "read_case_data",
                resource: &format!("interaction:{id}"),
                allowed: true,
                detail: "",
            },
        )
        .await
    })
    .unwrap();
    id
}

/// An ended consultation about `parent` with one message.
async fn ended_consultation(
    store: &Store,
    owner: &UserId,
    parent: &InteractionId,
    ended_at: i64,
) -> backline_store::SessionId {
    let sid = add_session_at(store, owner, ended_at - 10, Some(parent)).await;
    let owner = owner.to_owned();
    tx!(store, [sid, owner], |conn| {
        let seq = sessions::next_seq(conn, &sid).await?;
        transcript::insert(
            conn,
            transcript::NewEntry {
                session_id: &sid,
                seq,
                ts: ended_at - 5,
                kind: "message",
                actor_id: &owner,
                subject_id: None,
                body: Some("hello"),
                client_msg_id: None,
            },
        )
        .await?;
        sessions::end(conn, &sid, ended_at, &owner).await
    })
    .unwrap();
    sid
}

#[tokio::test]
async fn retention_deletes_what_is_past_its_age_except_what_is_held() {
    for (backend, store, _dir) in stores().await {
        let owner = add_user(&store, "agent").await;
        let held = ended_interaction(&store, 100).await;
        let neighbour = ended_interaction(&store, 100).await;
        let recent = ended_interaction(&store, 10_000).await;
        let held_chat = ended_consultation(&store, &owner, &held, 100).await;
        let neighbour_chat = ended_consultation(&store, &owner, &neighbour, 100).await;
        let (h, o) = (held.clone(), owner.clone());
        let placed = tx!(store, [h, o], |conn| {
            Ok((
                compliance::place_hold(conn, "interaction", h.as_str(), "case 7", &o, 50).await?,
                compliance::place_hold(conn, "interaction", h.as_str(), "again", &o, 60).await?,
            ))
        })
        .unwrap();
        assert_eq!(placed, (true, false), "{backend}: the first hold stands");
        let hold = compliance::hold(store.reader(), "interaction", held.as_str())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (hold.reason.as_str(), hold.placed_at),
            ("case 7", 50),
            "{backend}"
        );

        let cutoffs = Cutoffs {
            transcripts: Some(1000),
            interactions: Some(1000),
            audit: Some(1000),
        };
        let expected = Counts {
            transcripts: 1,
            interactions: 1,
            audit: 1,
        };
        let dry = tx!(store, [], |conn| compliance::retention(conn, cutoffs, true)
            .await)
        .unwrap();
        assert_eq!(dry, expected, "{backend}: the dry run counts");
        let first = tx!(store, [], |conn| compliance::retention(
            conn, cutoffs, false
        )
        .await)
        .unwrap();
        assert_eq!(
            first, expected,
            "{backend}: the run deletes what the dry run counted"
        );
        let again = tx!(store, [], |conn| compliance::retention(
            conn, cutoffs, false
        )
        .await)
        .unwrap();
        assert_eq!(again, Counts::default(), "{backend}");

        let reader = store.reader();
        assert!(
            interactions::get(reader, &held).await.unwrap().is_some(),
            "{backend}"
        );
        assert!(
            interactions::get(reader, &recent).await.unwrap().is_some(),
            "{backend}"
        );
        assert!(
            interactions::get(reader, &neighbour)
                .await
                .unwrap()
                .is_none(),
            "{backend}"
        );
        assert!(
            sessions::get(reader, &held_chat).await.unwrap().is_some(),
            "{backend}"
        );
        assert!(
            sessions::get(reader, &neighbour_chat)
                .await
                .unwrap()
                .is_none(),
            "{backend}"
        );
        assert_eq!(
            transcript::page(reader, &neighbour_chat, 0, i64::MAX, 10, false)
                .await
                .unwrap()
                .len(),
            0,
            "{backend}: the transcript goes with its session"
        );
        let resources: Vec<String> = audit::recent(reader, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.resource)
            .collect();
        assert!(
            resources.contains(&format!("interaction:{held}")),
            "{backend}"
        );
        assert!(
            !resources.contains(&format!("interaction:{neighbour}")),
            "{backend}"
        );

        // Lifted, the hold keeps nothing.
        let h = held.clone();
        let lifted = tx!(store, [h], |conn| {
            Ok((
                compliance::lift_hold(conn, "interaction", h.as_str()).await?,
                compliance::lift_hold(conn, "interaction", h.as_str()).await?,
            ))
        })
        .unwrap();
        assert_eq!(lifted, (true, false), "{backend}");
        assert!(compliance::holds(store.reader()).await.unwrap().is_empty());
        let last = tx!(store, [], |conn| compliance::retention(
            conn, cutoffs, false
        )
        .await)
        .unwrap();
        assert_eq!(last, expected, "{backend}");
        assert!(interactions::get(store.reader(), &held)
            .await
            .unwrap()
            .is_none());
    }
}

async fn add_contact(store: &Store) -> ContactId {
    let id = crate::cid(&unique("contact"));
    tx!(store, [id], |conn| {
        let fields = contacts::ContactFields {
            first_name: "Zoë",
            last_name: "Martin",
            phones: "[]",
            emails: "[]",
            attributes: "[]",
        };
        contacts::insert(conn, &id, None, &fields, 1).await
    })
    .unwrap();
    id
}

#[tokio::test]
async fn a_contact_is_listed_checked_for_holds_and_erased_with_its_history() {
    for (backend, store, _dir) in stores().await {
        let owner = add_user(&store, "agent").await;
        let contact = add_contact(&store).await;
        let other = add_contact(&store).await;
        let first = ended_interaction_of(&store, Some(&contact), 100).await;
        let second = ended_interaction_of(&store, Some(&contact), 200).await;
        let kept = ended_interaction_of(&store, Some(&other), 100).await;
        let chat = ended_consultation(&store, &owner, &second, 300).await;
        let reader = store.reader();
        assert_eq!(
            compliance::contact_interactions(reader, &contact)
                .await
                .unwrap(),
            [first.clone(), second.clone()],
            "{backend}"
        );
        let audit_about: Vec<String> = compliance::contact_audit(reader, &contact)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.resource)
            .collect();
        assert_eq!(
            audit_about,
            [
                format!("interaction:{first}"),
                format!("interaction:{second}")
            ],
            "{backend}"
        );
        assert!(
            !compliance::contact_held(reader, &contact).await.unwrap(),
            "{backend}"
        );
        let (s, o) = (second.clone(), owner.clone());
        tx!(store, [s, o], |conn| {
            compliance::place_hold(conn, "interaction", s.as_str(), "m", &o, 1).await
        })
        .unwrap();
        assert!(
            compliance::contact_held(store.reader(), &contact)
                .await
                .unwrap(),
            "{backend}"
        );
        assert!(
            !compliance::contact_held(store.reader(), &other)
                .await
                .unwrap(),
            "{backend}"
        );

        let c = contact.clone();
        let erased = tx!(store, [c], |conn| Ok((
            compliance::erase_contact(conn, &c).await?,
            compliance::erase_contact(conn, &crate::cid("no-such-contact")).await?,
        )))
        .unwrap();
        assert_eq!(erased, (Some(2), None), "{backend}");
        let reader = store.reader();
        assert!(
            contacts::get(reader, &contact).await.unwrap().is_none(),
            "{backend}"
        );
        assert!(
            interactions::get(reader, &first).await.unwrap().is_none(),
            "{backend}"
        );
        assert!(
            sessions::get(reader, &chat).await.unwrap().is_none(),
            "{backend}"
        );
        assert!(
            interactions::get(reader, &kept).await.unwrap().is_some(),
            "{backend}"
        );
        assert!(
            interactions::transcripts(reader, std::slice::from_ref(&first))
                .await
                .unwrap()
                .is_empty(),
            "{backend}"
        );
    }
}
