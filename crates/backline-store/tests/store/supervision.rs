//! Supervision: who may join a session as its supervisor, the access a
//! joined supervisor has to the interaction, and whispers in transcript pages.

use backline_store::GroupId;
use backline_store::UserId;
use backline_store::{groups, offers, sessions, transcript, ParticipantRole, Store};

use crate::im_sessions::{add_session_at, join};
use crate::{add_user, stores, unique};

async fn add_group(store: &Store, members: &[&UserId], supervisor: &UserId) -> GroupId {
    let id = crate::gid(&unique("g"));
    let (members, supervisor): (Vec<UserId>, UserId) = (
        members.iter().map(|m| (*m).clone()).collect(),
        supervisor.clone(),
    );
    tx!(store, [id], |conn| {
        groups::insert(conn, &id, id.as_str(), id.as_str(), 1).await?;
        for member in &members {
            groups::add_member(conn, &id, member).await?;
        }
        groups::add_supervisor(conn, &id, &supervisor).await
    })
    .unwrap();
    id
}

#[tokio::test]
async fn a_supervisor_of_a_participants_group_or_of_the_offered_group_may_supervise() {
    for (backend, store, _dir) in stores().await {
        let agent = add_user(&store, "agent").await;
        let expert = add_user(&store, "expert").await;
        let judy = add_user(&store, "judy").await;
        let kim = add_user(&store, "kim").await;
        let lou = add_user(&store, "lou").await;
        let outsider = add_user(&store, "outsider").await;
        add_group(&store, &[&expert], &judy).await;
        add_group(&store, &[&outsider], &kim).await;
        let offered = add_group(&store, &[], &lou).await;
        let sid = add_session_at(&store, &agent, 1, Some(&crate::iid("i-1"))).await;
        join(&store, &sid, &agent, ParticipantRole::Initiator, 0).await;
        let may = |user: UserId| {
            let (store, sid) = (store.clone(), sid.clone());
            async move {
                sessions::may_supervise(store.reader(), &sid, &user)
                    .await
                    .unwrap()
            }
        };
        assert!(
            !may(judy.clone()).await,
            "{backend}: the expert is not in yet"
        );
        join(&store, &sid, &expert, ParticipantRole::Invitee, 1).await;
        assert!(may(judy.clone()).await, "{backend}: the expert's group");
        assert!(!may(kim.clone()).await, "{backend}: another group");
        assert!(!may(lou.clone()).await, "{backend}: not offered yet");
        let (s, g) = (sid.clone(), offered.clone());
        tx!(store, |conn| offers::insert(conn, &s, &g, 1, None).await).unwrap();
        assert!(may(lou.clone()).await, "{backend}: the offered group");
        assert!(
            !may(agent.clone()).await,
            "{backend}: a participant is no supervisor"
        );
        // A joined supervisor's own groups do not widen the circle.
        add_group(&store, &[&judy], &kim).await;
        join(&store, &sid, &judy, ParticipantRole::Supervisor, 2).await;
        assert!(!may(kim.clone()).await, "{backend}: the supervisor's group");

        // The board: the same circle, open consultations only, with when the
        // first invitee joined; and the groups each one supervises.
        let board = |user: UserId| {
            let store = store.clone();
            async move {
                sessions::supervised(store.reader(), &user, 10)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            board(judy.clone()).await,
            [(sid.clone(), Some(1))],
            "{backend}"
        );
        assert_eq!(
            board(lou.clone()).await,
            [(sid.clone(), Some(1))],
            "{backend}"
        );
        assert_eq!(board(kim.clone()).await, [], "{backend}");
        let plain = add_session_at(&store, &agent, 2, None).await;
        join(&store, &plain, &agent, ParticipantRole::Initiator, 0).await;
        let waiting = add_session_at(&store, &expert, 3, Some(&crate::iid("i-2"))).await;
        join(&store, &waiting, &expert, ParticipantRole::Initiator, 0).await;
        assert_eq!(
            board(judy.clone()).await,
            [(sid.clone(), Some(1)), (waiting.clone(), None)],
            "{backend}: oldest first; not a plain IM session"
        );
        let (s, a) = (sid.clone(), agent.clone());
        tx!(store, |conn| sessions::end(conn, &s, 100, &a).await).unwrap();
        assert_eq!(
            board(judy.clone()).await,
            [(waiting, None)],
            "{backend}: ended"
        );
        let names: Vec<GroupId> = groups::supervised_by(store.reader(), &kim)
            .await
            .unwrap()
            .into_iter()
            .map(|g| g.id)
            .collect();
        assert_eq!(names.len(), 2, "{backend}: {names:?}");
        assert!(groups::supervised_by(store.reader(), &agent)
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn a_joined_supervisor_has_access_and_a_whisper_is_for_its_two_ends_only() {
    for (backend, store, _dir) in stores().await {
        let agent = add_user(&store, "agent").await;
        let expert = add_user(&store, "expert").await;
        let judy = add_user(&store, "judy").await;
        let parent = crate::iid(&unique("interaction"));
        let sid = add_session_at(&store, &agent, 1, Some(&parent)).await;
        join(&store, &sid, &agent, ParticipantRole::Initiator, 0).await;
        join(&store, &sid, &expert, ParticipantRole::Invitee, 1).await;
        join(&store, &sid, &judy, ParticipantRole::Supervisor, 2).await;
        let access = |user: UserId| {
            let (store, parent) = (store.clone(), parent.clone());
            async move {
                sessions::accepted_consultation(store.reader(), &parent, &user, 0)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            access(judy.clone()).await,
            Some(sessions::ConsultationAccess::Supervising),
            "{backend}"
        );
        assert_eq!(
            access(expert.clone()).await,
            Some(sessions::ConsultationAccess::Open),
            "{backend}"
        );
        let (s, a, j, e) = (sid.clone(), agent.clone(), judy.clone(), expert.clone());
        tx!(store, |conn| {
            for (kind, actor, subject) in [
                ("message", &a, None),
                ("whisper", &j, Some(&a)),
                ("message", &e, None),
            ] {
                transcript::append(
                    conn,
                    transcript::AppendEntry {
                        session_id: &s,
                        ts: 5,
                        kind,
                        actor_id: actor,
                        subject_id: subject,
                        body: Some("text"),
                        client_msg_id: None,
                    },
                )
                .await?;
            }
            Ok(())
        })
        .unwrap();
        for (viewer, seen) in [
            (&agent, vec![1, 2, 3]),
            (&judy, vec![1, 2, 3]),
            (&expert, vec![1, 3]),
        ] {
            let page = transcript::page_for(store.reader(), &sid, viewer, 0, i64::MAX, 10, false)
                .await
                .unwrap();
            assert_eq!(
                page.iter().map(|e| e.seq).collect::<Vec<_>>(),
                seen,
                "{backend}: {viewer}"
            );
        }
        let backward = transcript::page_for(store.reader(), &sid, &expert, 0, 4, 1, true)
            .await
            .unwrap();
        assert_eq!(
            backward.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [3],
            "{backend}"
        );
        let (s, a) = (sid.clone(), agent.clone());
        tx!(store, |conn| sessions::end(conn, &s, 100, &a).await).unwrap();
        assert_eq!(
            access(judy.clone()).await,
            Some(sessions::ConsultationAccess::EndedAt(100)),
            "{backend}: the grace period as for a target"
        );
    }
}

#[tokio::test]
async fn a_consultations_board_watchers_are_its_groups_supervisors_until_it_ended() {
    for (backend, store, _dir) in stores().await {
        let agent = add_user(&store, "agent").await;
        let expert = add_user(&store, "expert").await;
        let judy = add_user(&store, "judy").await;
        let lou = add_user(&store, "lou").await;
        let experts = add_group(&store, &[&expert], &judy).await;
        let offered = add_group(&store, &[], &lou).await;
        let parent = crate::iid(&unique("interaction"));
        let sid = add_session_at(&store, &agent, 1, Some(&parent)).await;
        join(&store, &sid, &agent, ParticipantRole::Initiator, 0).await;
        let watchers = |since: i64| {
            let (store, sid) = (store.clone(), sid.clone());
            async move {
                sessions::board_watchers(store.reader(), &sid, since)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(watchers(0).await, [], "{backend}");
        join(&store, &sid, &expert, ParticipantRole::Invitee, 1).await;
        let (s, g) = (sid.clone(), offered.clone());
        tx!(store, |conn| offers::insert(conn, &s, &g, 1, None).await).unwrap();
        let mut expected = vec![
            (judy.clone(), experts.clone()),
            (lou.clone(), offered.clone()),
        ];
        expected.sort();
        assert_eq!(watchers(0).await, expected, "{backend}");
        assert_eq!(
            sessions::open_consultations_of(store.reader(), &parent)
                .await
                .unwrap(),
            std::slice::from_ref(&sid),
            "{backend}"
        );
        assert_eq!(
            groups::supervisors_of_member(store.reader(), &expert)
                .await
                .unwrap(),
            [(judy.clone(), experts.clone())],
            "{backend}"
        );
        assert_eq!(
            groups::supervisor_pairs(store.reader(), &offered)
                .await
                .unwrap(),
            [(lou.clone(), offered.clone())],
            "{backend}"
        );
        // The write that ends it still reaches the boards; later ones do not.
        let (s, a) = (sid.clone(), agent.clone());
        tx!(store, |conn| sessions::end(conn, &s, 100, &a).await).unwrap();
        assert_eq!(watchers(100).await, expected, "{backend}");
        assert_eq!(watchers(101).await, [], "{backend}");
        assert!(sessions::open_consultations_of(store.reader(), &parent)
            .await
            .unwrap()
            .is_empty());
        // A plain IM session is on nobody's board.
        let plain = add_session_at(&store, &expert, 2, None).await;
        join(&store, &plain, &expert, ParticipantRole::Initiator, 0).await;
        assert!(sessions::board_watchers(store.reader(), &plain, 0)
            .await
            .unwrap()
            .is_empty());
    }
}
