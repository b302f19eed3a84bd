//! What the administration console reads and changes: an integration's
//! credentials, its webhook deliveries (listed, paged, queued again), and the
//! audit log searched.

use backline_store::audit::{self, AuditFilter};
use backline_store::outbox::{self, DeliveryFilter};
use backline_store::{integrations, rows::AuditRow};

use crate::interactions::add_integration;
use crate::{stores, unique};

#[tokio::test]
async fn an_integrations_token_and_webhook_secret_are_replaced() {
    for (backend, store, _dir) in stores().await {
        let id = crate::intid(&unique("rotated"));
        add_integration(&store, &id).await;
        let changed = tx!(store, [id], |conn| {
            let token = integrations::set_token_hash(conn, &id, "new-hash").await?;
            let secret = integrations::set_webhook_secret(conn, &id, "new-secret").await?;
            let unknown =
                integrations::set_token_hash(conn, &crate::intid("nobody"), "other").await?;
            let unknown_secret =
                integrations::set_webhook_secret(conn, &crate::intid("nobody"), "x").await?;
            Ok((token, secret, unknown, unknown_secret))
        })
        .unwrap();
        assert_eq!(changed, (true, true, false, false), "{backend}");
        let old = format!("token-{id}");
        assert!(
            integrations::by_token_hash(store.reader(), &old)
                .await
                .unwrap()
                .is_none(),
            "{backend}: the old token is gone"
        );
        let row = integrations::by_token_hash(store.reader(), "new-hash")
            .await
            .unwrap()
            .expect("the new token");
        assert_eq!(
            (row.id.as_str(), row.webhook_secret.as_str()),
            (id.as_str(), "new-secret")
        );
    }
}

#[tokio::test]
async fn deliveries_are_listed_newest_first_by_state_and_page_and_queued_again() {
    for (backend, store, _dir) in stores().await {
        let (mine, other) = (
            crate::intid(&unique("hooks")),
            crate::intid(&unique("hooks")),
        );
        add_integration(&store, &mine).await;
        add_integration(&store, &other).await;
        let events: Vec<String> = (0..4).map(|n| format!("{mine}-e{n}")).collect();
        tx!(store, [mine, other, events], |conn| {
            for (n, id) in events.iter().enumerate() {
                let interaction = crate::iid(&format!("interaction-{n}"));
                outbox::enqueue(
                    conn,
                    id,
                    &mine,
                    &interaction,
                    "interaction.created",
                    "{}",
                    10 + n as i64,
                )
                .await?;
            }
            outbox::enqueue(
                conn,
                &format!("{other}-e"),
                &other,
                &crate::iid("i"),
                "t",
                "{}",
                50,
            )
            .await?;
            outbox::mark_delivered(conn, &events[0], 20).await?;
            outbox::mark_failed(conn, &events[1], 21, "HTTP 500").await?;
            outbox::mark_retry(conn, &events[2], 99, "connection refused").await
        })
        .unwrap();
        let ids = |rows: &[backline_store::rows::DeliveryRow]| {
            rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>()
        };
        let list = |filter, before: Option<String>, limit| {
            let (store, mine) = (&store, &mine);
            async move {
                outbox::deliveries(store.reader(), mine, filter, before.as_deref(), limit)
                    .await
                    .unwrap()
            }
        };
        let all = list(DeliveryFilter::All, None, 10).await;
        let newest_first: Vec<String> = events.iter().rev().cloned().collect();
        assert_eq!(
            ids(&all),
            newest_first,
            "{backend}: only this integration's, newest first"
        );
        let retrying = &all[1];
        assert_eq!(
            (
                retrying.attempts,
                retrying.next_attempt_at,
                retrying.last_error.as_deref()
            ),
            (1, 99, Some("connection refused")),
            "{backend}"
        );
        assert_eq!(
            ids(&list(DeliveryFilter::Pending, None, 10).await),
            [events[3].clone(), events[2].clone()]
        );
        assert_eq!(
            ids(&list(DeliveryFilter::Delivered, None, 10).await),
            [events[0].clone()]
        );
        let failed = list(DeliveryFilter::Failed, None, 10).await;
        assert_eq!(ids(&failed), [events[1].clone()], "{backend}");
        assert_eq!(
            (failed[0].failed_at, failed[0].delivered_at),
            (Some(21), None)
        );
        let page = list(DeliveryFilter::All, Some(events[2].clone()), 2).await;
        assert_eq!(
            ids(&page),
            [events[1].clone(), events[0].clone()],
            "{backend}: after the cursor"
        );

        let found = outbox::delivery(store.reader(), &mine, &events[1])
            .await
            .unwrap();
        assert_eq!(
            found.map(|r| r.event_type),
            Some("interaction.created".to_owned())
        );
        let elsewhere = outbox::delivery(store.reader(), &other, &events[1])
            .await
            .unwrap();
        assert!(
            elsewhere.is_none(),
            "{backend}: another integration's id is not found"
        );

        // A failed and a delivered event become due again; the lease of an attempt stays.
        let requeued = tx!(store, [events], |conn| {
            let a = outbox::requeue(conn, &events[1], 200).await?;
            let b = outbox::requeue(conn, &events[0], 200).await?;
            let c = outbox::requeue(conn, "nothing", 200).await?;
            Ok((a, b, c))
        })
        .unwrap();
        assert_eq!(requeued, (true, true, false), "{backend}");
        let pending = list(DeliveryFilter::Pending, None, 10).await;
        assert_eq!(pending.len(), 4, "{backend}");
        assert!(pending
            .iter()
            .filter(|r| r.id == events[0] || r.id == events[1])
            .all(|r| r.next_attempt_at == 200
                && r.failed_at.is_none()
                && r.delivered_at.is_none()));
        let claimant = unique("node");
        let claimed = tx!(store, [claimant], |conn| outbox::claim(
            conn, &claimant, 200, 1000, 50
        )
        .await)
        .unwrap();
        let claimed: Vec<&str> = claimed
            .iter()
            .filter(|r| r.integration_id == mine)
            .map(|r| r.id.as_str())
            .collect();
        assert!(
            claimed.contains(&events[0].as_str()) && claimed.contains(&events[1].as_str()),
            "{backend}: requeued events are sent again: {claimed:?}"
        );
    }
}

#[tokio::test]
async fn an_events_payload_is_read_by_interaction_and_type_and_replaced() {
    for (backend, store, _dir) in stores().await {
        let (mine, other) = (crate::intid(&unique("kept")), crate::intid(&unique("kept")));
        add_integration(&store, &mine).await;
        add_integration(&store, &other).await;
        let ids: Vec<String> = (0..4).map(|n| format!("{mine}-k{n}")).collect();
        let (i1, i2) = (crate::iid("i-1"), crate::iid("i-2"));
        tx!(store, [mine, other, ids, i1, i2], |conn| {
            let attached = "consultation.transcript_attached";
            outbox::enqueue(conn, &ids[0], &mine, &i1, attached, "first", 10).await?;
            outbox::enqueue(conn, &ids[1], &mine, &i1, "consultation.ended", "x", 11).await?;
            outbox::enqueue(conn, &ids[2], &mine, &i2, attached, "elsewhere", 12).await?;
            outbox::enqueue(conn, &ids[3], &mine, &i1, attached, "second", 13).await?;
            outbox::enqueue(conn, &format!("{other}-k"), &other, &i1, attached, "o", 9).await?;
            outbox::mark_delivered(conn, &ids[0], 20).await
        })
        .unwrap();
        let read = || {
            let (store, mine, i1) = (&store, &mine, &i1);
            async move {
                tx!(store, [mine, i1], |conn| outbox::payloads_of(
                    conn,
                    &mine,
                    &i1,
                    "consultation.transcript_attached"
                )
                .await)
                .unwrap()
            }
        };
        assert_eq!(
            read().await,
            [
                (ids[0].clone(), "first".to_owned()),
                (ids[3].clone(), "second".to_owned())
            ],
            "{backend}: this integration's, this interaction's, this type's, sent or not, oldest first"
        );
        let replaced = tx!(store, [ids], |conn| {
            let sent = outbox::replace_payload(conn, &ids[0], "first, redacted").await?;
            let unknown = outbox::replace_payload(conn, "nothing", "y").await?;
            Ok((sent, unknown))
        })
        .unwrap();
        assert_eq!(replaced, (true, false), "{backend}");
        assert_eq!(read().await[0].1, "first, redacted", "{backend}");
        let delivered = outbox::delivery(store.reader(), &mine, &ids[0])
            .await
            .unwrap()
            .expect("the event");
        assert_eq!(
            delivered.delivered_at,
            Some(20),
            "{backend}: only the payload changes"
        );
    }
}

#[tokio::test]
async fn the_audit_log_is_searched_by_action_actor_resource_outcome_and_time_and_paged() {
    for (backend, store, _dir) in stores().await {
        let entries = [
            ("a1", 100, "alice", "sign_in", "user:alice", true),
            ("a2", 200, "bob", "read_case_data", "interaction:i1", false),
            ("a3", 300, "root", "user_created", "user:dave", true),
            ("a4", 300, "root", "user_updated", "user:dave", true),
            ("a5", 400, "bob", "read_history", "interaction:i1", true),
        ];
        tx!(store, |conn| {
            for (id, ts, actor, action, resource, allowed) in entries {
                audit::insert(
                    conn,
                    audit::NewAudit {
                        id,
                        ts,
                        actor_id: actor,
                        action,
                        resource,
                        allowed,
                        detail: "d",
                    },
                )
                .await?;
            }
            Ok(())
        })
        .unwrap();
        let search = |filter: AuditFilter, limit: i64| {
            let store = &store;
            async move {
                let rows: Vec<AuditRow> =
                    audit::search(store.reader(), &filter, limit).await.unwrap();
                rows.into_iter().map(|r| r.id).collect::<Vec<_>>()
            }
        };
        assert_eq!(
            search(AuditFilter::default(), 10).await,
            ["a5", "a4", "a3", "a2", "a1"],
            "{backend}"
        );
        let actions = vec!["user_created".to_owned(), "sign_in".to_owned()];
        let by_action = AuditFilter {
            actions,
            ..AuditFilter::default()
        };
        assert_eq!(search(by_action, 10).await, ["a3", "a1"], "{backend}");
        let bob_on_i1 = AuditFilter {
            actor_id: Some("bob".into()),
            resource: Some("interaction:i1".into()),
            ..AuditFilter::default()
        };
        assert_eq!(search(bob_on_i1, 10).await, ["a5", "a2"], "{backend}");
        let refused = AuditFilter {
            allowed: Some(false),
            ..AuditFilter::default()
        };
        assert_eq!(search(refused, 10).await, ["a2"], "{backend}");
        let range = AuditFilter {
            from: Some(200),
            to: Some(400),
            ..AuditFilter::default()
        };
        assert_eq!(
            search(range, 10).await,
            ["a4", "a3", "a2"],
            "{backend}: [from, to)"
        );
        // Pages after an entry, ties on the time broken by the id.
        let after = |id: &str| AuditFilter {
            before: Some(id.into()),
            ..AuditFilter::default()
        };
        assert_eq!(search(AuditFilter::default(), 2).await, ["a5", "a4"]);
        assert_eq!(search(after("a4"), 2).await, ["a3", "a2"], "{backend}");
        assert_eq!(search(after("a2"), 2).await, ["a1"], "{backend}");
        assert!(audit::exists(store.reader(), "a3").await.unwrap());
        assert!(!audit::exists(store.reader(), "zz").await.unwrap());
    }
}
