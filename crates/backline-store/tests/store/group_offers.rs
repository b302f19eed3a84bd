//! Group consultations: group offer settings and supervisors, the offer row
//! (take, cancel, waves), who it may go to next, missed invitations, and
//! consultation outcomes.

use backline_store::GroupId;
use backline_store::UserId;
use backline_store::{
    groups, offers, outcomes, sessions, users, ConsultationOutcome, OfferStage, OfferState,
    ParticipantState, Store,
};

use crate::im_sessions::invite;
use crate::{add_session, add_user, stores, unique};

async fn add_group(store: &Store) -> GroupId {
    let id = crate::gid(&unique("g"));
    tx!(store, [id], |conn| groups::insert(
        conn,
        &id,
        id.as_str(),
        id.as_str(),
        1
    )
    .await)
    .unwrap();
    id
}

async fn add_member(store: &Store, group: &GroupId, user: &UserId) {
    let (g, u) = (group.to_owned(), user.to_owned());
    tx!(store, |conn| groups::add_member(conn, &g, &u).await).unwrap();
}

/// Sets `user` Ready, idle since `since`.
async fn ready(store: &Store, user: &UserId, since: i64) {
    let u = user.to_owned();
    tx!(store, |conn| {
        users::set_status(conn, &u, "ready", None).await?;
        offers::set_idle_since(conn, &u, since).await
    })
    .unwrap();
}

#[tokio::test]
async fn group_settings_and_supervisors_are_kept() {
    for (backend, store, _dir) in stores().await {
        let (g, overflow) = (add_group(&store).await, add_group(&store).await);
        let judy = add_user(&store, "judy").await;
        let fresh = groups::settings(store.reader(), &g).await.unwrap().unwrap();
        assert_eq!(
            (
                fresh.wave_size,
                fresh.answer_secs,
                fresh.overflow_group_id,
                fresh.escalate_secs,
                fresh.escalate_to_supervisors
            ),
            (1, 30, None, 0, 0),
            "{backend}"
        );
        let changed = tx!(store, [g, overflow], |conn| {
            let settings = groups::OfferSettings {
                wave_size: 3,
                answer_secs: 12,
                overflow_group_id: Some(&overflow),
                escalate_secs: 45,
                escalate_to_supervisors: true,
            };
            groups::set_settings(conn, &g, settings).await
        })
        .unwrap();
        assert!(changed, "{backend}");
        let missing = tx!(store, |conn| groups::set_settings(
            conn,
            &crate::gid("nope"),
            groups::OfferSettings {
                wave_size: 1,
                answer_secs: 1,
                overflow_group_id: None,
                escalate_secs: 0,
                escalate_to_supervisors: false,
            }
        )
        .await)
        .unwrap();
        assert!(!missing, "{backend}: no such group");
        let now = groups::settings(store.reader(), &g).await.unwrap().unwrap();
        assert_eq!(
            (
                now.wave_size,
                now.answer_secs,
                now.overflow_group_id.as_ref().map(|g| g.as_str()),
                now.escalate_secs,
                now.escalate_to_supervisors
            ),
            (3, 12, Some(overflow.as_str()), 45, 1),
            "{backend}"
        );
        assert!(groups::settings(store.reader(), &crate::gid("nope"))
            .await
            .unwrap()
            .is_none());

        tx!(store, [g, judy], |conn| {
            groups::add_supervisor(conn, &g, &judy).await?;
            groups::add_supervisor(conn, &g, &judy).await
        })
        .unwrap();
        assert_eq!(
            groups::supervisors(store.reader(), &g).await.unwrap(),
            vec![judy.clone()],
            "{backend}"
        );
        let removed = tx!(store, [g, judy], |conn| groups::remove_supervisor(
            conn, &g, &judy
        )
        .await)
        .unwrap();
        let again = tx!(store, [g, judy], |conn| groups::remove_supervisor(
            conn, &g, &judy
        )
        .await)
        .unwrap();
        assert_eq!((removed, again), (true, false), "{backend}");
        assert!(groups::supervisors(store.reader(), &g)
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn an_offer_is_taken_once_and_moves_on_wave_by_wave() {
    for (backend, store, _dir) in stores().await {
        let agent = add_user(&store, "agent").await;
        let (dave, erin) = (
            add_user(&store, "dave").await,
            add_user(&store, "erin").await,
        );
        let g = add_group(&store).await;
        let sid = add_session(&store, &agent).await;
        tx!(store, [sid, g], |conn| offers::insert(
            conn, &sid, &g, 100, None
        )
        .await)
        .unwrap();
        let offer = offers::get(store.reader(), &sid).await.unwrap().unwrap();
        assert_eq!(
            (
                offer.state,
                offer.stage,
                offer.wave,
                offer.wave_expires_at,
                offer.group_name.as_str()
            ),
            (OfferState::Open, OfferStage::Members, 0, 100, g.as_str()),
            "{backend}"
        );

        // Waves: one writer moves a wave on; a second one from the same wave does nothing.
        let first = tx!(store, [sid], |conn| {
            offers::advance(conn, &sid, 0, 1, OfferStage::Overflow, 500).await
        })
        .unwrap();
        let stale = tx!(store, [sid], |conn| {
            offers::advance(conn, &sid, 0, 1, OfferStage::Members, 900).await
        })
        .unwrap();
        assert_eq!((first, stale), (true, false), "{backend}");
        assert_eq!(
            offers::due(store.reader(), 499, 10).await.unwrap(),
            vec![],
            "{backend}"
        );
        assert_eq!(
            offers::due(store.reader(), 500, 10).await.unwrap(),
            vec![(sid.clone(), 1)],
            "{backend}"
        );

        // Pending invitations of open offers, per member.
        invite(&store, &sid, &dave, 1, 10).await;
        assert_eq!(
            offers::pending_for(store.reader(), &dave).await.unwrap(),
            vec![(sid.clone(), g.clone())]
        );
        assert!(offers::pending_for(store.reader(), &erin)
            .await
            .unwrap()
            .is_empty());

        // The first take wins; the second is refused.
        let (a, b) = (dave.clone(), erin.clone());
        let won = tx!(store, [sid], |conn| offers::take(conn, &sid, &a, 700).await).unwrap();
        let lost = tx!(store, [sid], |conn| offers::take(conn, &sid, &b, 701).await).unwrap();
        assert_eq!((won, lost), (true, false), "{backend}");
        let taken = offers::get(store.reader(), &sid).await.unwrap().unwrap();
        assert_eq!(
            (
                taken.state,
                taken.taken_by.as_ref().map(UserId::as_str),
                taken.taken_by_name.as_deref(),
                taken.taken_at
            ),
            (
                OfferState::Taken,
                Some(dave.as_str()),
                Some("Test Person"),
                Some(700)
            ),
            "{backend}"
        );
        // A taken offer is neither due, nor pending, nor cancelled, nor moved on.
        assert!(offers::due(store.reader(), i64::MAX, 10)
            .await
            .unwrap()
            .is_empty());
        assert!(offers::pending_for(store.reader(), &dave)
            .await
            .unwrap()
            .is_empty());
        let cancelled = tx!(store, [sid], |conn| offers::cancel(conn, &sid).await).unwrap();
        let moved = tx!(store, [sid], |conn| offers::advance(
            conn,
            &sid,
            1,
            2,
            OfferStage::Supervisors,
            1
        )
        .await)
        .unwrap();
        assert_eq!((cancelled, moved), (false, false), "{backend}");

        // An open offer cancels once, and cannot be taken after.
        let other = add_session(&store, &agent).await;
        tx!(store, [other, g], |conn| offers::insert(
            conn, &other, &g, 1, None
        )
        .await)
        .unwrap();
        let once = tx!(store, [other], |conn| offers::cancel(conn, &other).await).unwrap();
        let twice = tx!(store, [other], |conn| offers::cancel(conn, &other).await).unwrap();
        let late = tx!(store, [other, erin], |conn| offers::take(
            conn, &other, &erin, 2
        )
        .await)
        .unwrap();
        assert_eq!((once, twice, late), (true, false, false), "{backend}");
        assert_eq!(
            offers::get(store.reader(), &other)
                .await
                .unwrap()
                .unwrap()
                .state,
            OfferState::Cancelled
        );
    }
}

#[tokio::test]
async fn candidates_are_ready_permitted_members_not_yet_offered_longest_idle_first() {
    for (backend, store, _dir) in stores().await {
        let agent = add_user(&store, "agent").await;
        let (old, recent, away, offered) = (
            add_user(&store, "old").await,
            add_user(&store, "recent").await,
            add_user(&store, "away").await,
            add_user(&store, "offered").await,
        );
        let (sup, olga) = (
            add_user(&store, "sup").await,
            add_user(&store, "olga").await,
        );
        let (g, overflow) = (add_group(&store).await, add_group(&store).await);
        for member in [&recent, &old, &away, &offered] {
            add_member(&store, &g, member).await;
        }
        add_member(&store, &overflow, &olga).await;
        ready(&store, &recent, 50).await;
        ready(&store, &old, 10).await;
        ready(&store, &offered, 5).await;
        ready(&store, &olga, 1).await;
        tx!(store, [g, overflow, sup], |conn| {
            let settings = groups::OfferSettings {
                wave_size: 1,
                answer_secs: 30,
                overflow_group_id: Some(&overflow),
                escalate_secs: 0,
                escalate_to_supervisors: false,
            };
            groups::set_settings(conn, &g, settings).await?;
            groups::add_supervisor(conn, &g, &sup).await
        })
        .unwrap();
        let sid = add_session(&store, &agent).await;
        invite(&store, &sid, &offered, 1, 10).await;

        let members = offers::candidates(store.reader(), &sid, &g, OfferStage::Members)
            .await
            .unwrap();
        assert_eq!(
            members,
            vec![old.clone(), recent.clone()],
            "{backend}: Ready, not offered, longest idle first"
        );
        let overflowed = offers::candidates(store.reader(), &sid, &overflow, OfferStage::Overflow)
            .await
            .unwrap();
        assert_eq!(overflowed, vec![olga.clone()], "{backend}");
        // Supervisors are offered whatever their status.
        let sups = offers::candidates(store.reader(), &sid, &g, OfferStage::Supervisors)
            .await
            .unwrap();
        assert_eq!(sups, vec![sup.clone()], "{backend}");
        // Everyone the offer could reach: members, supervisors, the overflow group.
        let mut everyone = vec![old, recent, away, offered, sup, olga];
        everyone.sort();
        assert_eq!(
            offers::reach(store.reader(), &g).await.unwrap(),
            everyone,
            "{backend}"
        );
    }
}

#[tokio::test]
async fn missed_invitations_stay_until_cleared_and_outcomes_are_recorded() {
    for (backend, store, _dir) in stores().await {
        let agent = add_user(&store, "agent").await;
        let bob = add_user(&store, "bob").await;
        let (missed, answered, taken) = (
            add_session(&store, &agent).await,
            add_session(&store, &agent).await,
            add_session(&store, &agent).await,
        );
        let g = add_group(&store).await;
        for sid in [&missed, &answered, &taken] {
            invite(&store, sid, &bob, 1, 10).await;
            let (s, b) = (sid.clone(), bob.clone());
            tx!(store, |conn| sessions::mark_timed_out(conn, &s, &b).await).unwrap();
        }
        // One answered late (rejected); one was a group offer somebody else took.
        tx!(store, [answered, bob, taken, agent, g], |conn| {
            sessions::set_participant_state(conn, &answered, &bob, ParticipantState::Rejected, 5)
                .await?;
            offers::insert(conn, &taken, &g, 1, None).await?;
            offers::take(conn, &taken, &agent, 2).await
        })
        .unwrap();
        assert_eq!(
            sessions::missed(store.reader(), &bob).await.unwrap(),
            vec![missed.clone()],
            "{backend}"
        );
        let cleared = tx!(store, [missed, bob], |conn| sessions::clear_missed(
            conn, &missed, &bob
        )
        .await)
        .unwrap();
        let again = tx!(store, [missed, bob], |conn| sessions::clear_missed(
            conn, &missed, &bob
        )
        .await)
        .unwrap();
        assert_eq!((cleared, again), (true, false), "{backend}");
        assert!(
            sessions::missed(store.reader(), &bob)
                .await
                .unwrap()
                .is_empty(),
            "{backend}"
        );

        // Outcomes: recorded, then replaced.
        assert!(outcomes::get(store.reader(), &missed)
            .await
            .unwrap()
            .is_none());
        tx!(store, [missed, agent], |conn| {
            outcomes::record(
                conn,
                &missed,
                ConsultationOutcome::NoAnswer,
                None,
                &agent,
                10,
            )
            .await?;
            outcomes::record(
                conn,
                &missed,
                ConsultationOutcome::NeedsFollowUp,
                Some("call back"),
                &agent,
                11,
            )
            .await
        })
        .unwrap();
        let outcome = outcomes::get(store.reader(), &missed)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                outcome.outcome,
                outcome.note.as_deref(),
                outcome.recorded_by.as_str(),
                outcome.recorded_at
            ),
            (
                ConsultationOutcome::NeedsFollowUp,
                Some("call back"),
                agent.as_str(),
                11
            ),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn the_report_reads_the_offers_of_a_range_with_their_end_and_outcome() {
    for (backend, store, _dir) in stores().await {
        let agent = add_user(&store, "agent").await;
        let g = add_group(&store).await;
        let (early, taken, late) = (
            add_session(&store, &agent).await,
            add_session(&store, &agent).await,
            add_session(&store, &agent).await,
        );
        tx!(store, [early, taken, late, g, agent], |conn| {
            offers::insert(conn, &early, &g, 100, None).await?;
            offers::insert(conn, &taken, &g, 200, None).await?;
            offers::insert(conn, &late, &g, 300, None).await?;
            offers::take(conn, &taken, &agent, 250).await?;
            sessions::end(conn, &taken, 400, &agent).await?;
            outcomes::record(
                conn,
                &taken,
                ConsultationOutcome::Answered,
                None,
                &agent,
                401,
            )
            .await
        })
        .unwrap();
        let rows = offers::report(store.reader(), 150, 300, 10).await.unwrap();
        assert_eq!(rows.len(), 1, "{backend}: from inclusive, to exclusive");
        let row = &rows[0];
        assert_eq!(
            (
                row.group_id.as_str(),
                row.state,
                row.created_at,
                row.taken_at,
                row.ended_at,
                row.outcome
            ),
            (
                g.as_str(),
                OfferState::Taken,
                200,
                Some(250),
                Some(400),
                Some(ConsultationOutcome::Answered)
            ),
            "{backend}"
        );
        assert_eq!(
            offers::report(store.reader(), 0, 1000, 2)
                .await
                .unwrap()
                .len(),
            2,
            "{backend}: the limit"
        );
    }
}

#[tokio::test]
async fn an_offer_escalates_once_when_due_and_only_while_open() {
    for (backend, store, _dir) in stores().await {
        let agent = add_user(&store, "agent").await;
        let g = add_group(&store).await;
        let (due, later, none) = (
            add_session(&store, &agent).await,
            add_session(&store, &agent).await,
            add_session(&store, &agent).await,
        );
        tx!(store, [due, later, none, g], |conn| {
            offers::insert(conn, &due, &g, 100, Some(1_000)).await?;
            offers::insert(conn, &later, &g, 100, Some(5_000)).await?;
            offers::insert(conn, &none, &g, 100, None).await
        })
        .unwrap();
        assert_eq!(
            offers::escalation_due(store.reader(), 999, 10)
                .await
                .unwrap(),
            Vec::<backline_store::SessionId>::new(),
            "{backend}"
        );
        assert_eq!(
            offers::escalation_due(store.reader(), 1_000, 10)
                .await
                .unwrap(),
            vec![due.clone()],
            "{backend}"
        );
        let early = tx!(store, [later], |conn| offers::escalate(conn, &later, 1_000)
            .await)
        .unwrap();
        let once = tx!(store, [due], |conn| offers::escalate(conn, &due, 1_200)
            .await)
        .unwrap();
        let twice = tx!(store, [due], |conn| offers::escalate(conn, &due, 1_300)
            .await)
        .unwrap();
        let never = tx!(store, [none], |conn| offers::escalate(
            conn,
            &none,
            i64::MAX - 1
        )
        .await)
        .unwrap();
        assert_eq!(
            (early, once, twice, never),
            (false, true, false, false),
            "{backend}"
        );
        let offer = offers::get(store.reader(), &due).await.unwrap().unwrap();
        assert_eq!(offer.escalated_at, Some(1_200), "{backend}");
        assert!(offers::escalation_due(store.reader(), i64::MAX - 1, 10)
            .await
            .unwrap()
            .iter()
            .all(|s| s == &later));
        // A taken offer no longer escalates.
        let taken = tx!(store, [later, agent], |conn| offers::take(
            conn, &later, &agent, 2_000
        )
        .await)
        .unwrap();
        assert!(taken, "{backend}");
        let late = tx!(store, [later], |conn| offers::escalate(conn, &later, 6_000)
            .await)
        .unwrap();
        assert!(!late, "{backend}");
        assert!(offers::escalation_due(store.reader(), i64::MAX - 1, 10)
            .await
            .unwrap()
            .is_empty());
    }
}
