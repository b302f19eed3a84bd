//! The writer's failure rules on a real PostgreSQL: a backend terminated in
//! the middle of a batch fails every write of that batch (none is
//! acknowledged, none is stored), and the next batch writes again.

use backline_store::UserId;
use backline_store::{users, Store, StoreError, StoreOptions};

fn new_user(id: &UserId) -> users::NewUser<'_> {
    users::NewUser {
        id,
        username: id.as_str(),
        display_name: "Fault Test",
        search_key: "fault test",
        password_hash: "x",
        roles: "agent",
        im_permitted: true,
        created_at: 1,
    }
}

#[tokio::test]
async fn a_backend_terminated_mid_batch_fails_the_whole_batch_and_the_writer_recovers() {
    let Some(admin) = backline_store::testing::postgres_url("store faults") else {
        return;
    };
    let url = backline_store::testing::fresh_postgres_database(&admin)
        .await
        .unwrap();
    let store = Store::open(&StoreOptions::new(url)).await.unwrap();
    let prefix = format!("fault-{}", std::process::id());

    // Ten writes queued together; the first one to run inserts its row,
    // then has its own backend terminated from another connection.
    let mut writes = Vec::new();
    for i in 0..10 {
        let (store, admin, id) = (
            store.clone(),
            admin.clone(),
            crate::uid(&format!("{prefix}-{i}")),
        );
        writes.push(tokio::spawn(async move {
            let result = store
                .write(Box::new(move |conn| {
                    Box::pin(async move {
                        users::insert(&mut *conn, new_user(&id)).await?;
                        if i == 0 {
                            crate::terminate_own_backend(conn, &admin).await?;
                        }
                        Ok(())
                    })
                }))
                .await;
            (i, result)
        }));
    }
    let mut outcomes = Vec::new();
    for write in writes {
        outcomes.push(write.await.unwrap());
    }
    let terminated = outcomes.iter().find(|(i, _)| *i == 0).unwrap();
    assert!(
        matches!(terminated.1, Err(StoreError::Unavailable(_))),
        "the write whose backend died is not acknowledged: {:?}",
        terminated.1
    );
    // Writes queued behind it may already have gone through on a new
    // connection: the failed batch shows in the writer's counters.
    assert!(
        store.writer_stats().failed_batches >= 1,
        "the batch with the terminated backend failed as a whole"
    );

    // The next write goes through on a new connection; a small write proves
    // little, so the store stays unhealthy until the readiness probe commits.
    let after = crate::uid(&format!("{prefix}-after"));
    let id = after.clone();
    store
        .write(Box::new(move |conn| {
            Box::pin(async move { users::insert(conn, new_user(&id)).await })
        }))
        .await
        .expect("the writer reconnects by itself");
    assert!(store.health().is_some(), "a small write cleared the fault");
    store.ping().await.unwrap();
    assert_eq!(store.health(), None, "the probe's commit clears the fault");

    // Acknowledged means stored; refused means not stored.
    for (i, result) in &outcomes {
        let stored = users::get(store.reader(), &crate::uid(&format!("{prefix}-{i}")))
            .await
            .unwrap()
            .is_some();
        assert_eq!(stored, result.is_ok(), "write {i}: {result:?}");
    }
    assert!(users::get(store.reader(), &after).await.unwrap().is_some());
    store.close().await;
}

#[tokio::test]
async fn a_second_store_on_the_same_sqlite_file_is_refused_until_the_first_closes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("locked.db").display()
    );
    let first = Store::open(&StoreOptions::new(url.clone())).await.unwrap();
    match Store::open(&StoreOptions::new(url.clone())).await {
        Err(StoreError::Locked(message)) => {
            assert!(
                message.contains(&dir.path().display().to_string()),
                "{message}"
            );
            assert!(
                message.contains(&format!("pid {}", std::process::id())),
                "{message}"
            );
        }
        Err(other) => panic!("expected Locked, got {other}"),
        Ok(_) => panic!("a second store opened the same file"),
    }
    first.close().await;
    let again = Store::open(&StoreOptions::new(url)).await.unwrap();
    again.close().await;
}

/// Appends one event to `user` in its own write; `fail` makes the write
/// refuse itself after appending (its savepoint is rolled back).
async fn append(store: &Store, user: &UserId, fail: bool) -> Result<i64, StoreError> {
    let user = user.to_owned();
    store
        .write(Box::new(move |conn| {
            Box::pin(async move {
                let seq = backline_store::events::append(conn, &user, 1, "{}").await?;
                if fail {
                    return Err(StoreError::Aborted("refused after appending".into()));
                }
                Ok(seq)
            })
        }))
        .await
}

#[tokio::test]
async fn stream_seqs_stay_gapless_across_rolled_back_writes_pruning_and_a_reopen() {
    for (backend, store, dir) in crate::stores().await {
        let user = crate::add_user(&store, "heads").await;
        assert_eq!(append(&store, &user, false).await.unwrap(), 1, "{backend}");
        // A write that refuses itself gives its seq back, alone…
        assert!(append(&store, &user, true).await.is_err());
        assert_eq!(append(&store, &user, false).await.unwrap(), 2, "{backend}");
        // …and inside a batch of others.
        let mut writes = Vec::new();
        for i in 0..20 {
            let (store, user) = (store.clone(), user.clone());
            writes.push(tokio::spawn(async move {
                append(&store, &user, i % 3 == 0).await
            }));
        }
        let mut seqs: Vec<i64> = Vec::new();
        for write in writes {
            if let Ok(seq) = write.await.unwrap() {
                seqs.push(seq);
            }
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (3..3 + 13).collect::<Vec<i64>>(), "{backend}");
        let head = backline_store::events::head(store.reader(), &user)
            .await
            .unwrap();
        assert_eq!(head, 15, "{backend}");

        // Pruning every event keeps the head.
        store
            .write(Box::new(|conn| {
                Box::pin(async move { backline_store::events::prune(conn, i64::MAX).await })
            }))
            .await
            .unwrap();
        assert_eq!(
            backline_store::events::head(store.reader(), &user)
                .await
                .unwrap(),
            15,
            "{backend}: the head outlives pruned events"
        );
        assert_eq!(append(&store, &user, false).await.unwrap(), 16, "{backend}");
        let account = backline_store::users::get(store.reader(), &user)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            account.stream_head, 16,
            "{backend}: the account reads its head"
        );

        // A reopened store goes on from what is stored.
        if let Some(dir) = dir {
            store.close().await;
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("conformance.db").display()
            );
            let reopened = Store::open(&StoreOptions::new(url)).await.unwrap();
            assert_eq!(
                append(&reopened, &user, false).await.unwrap(),
                17,
                "{backend}"
            );
            reopened.close().await;
        }
    }
}
