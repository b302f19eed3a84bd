//! The writer's failure rules on a real PostgreSQL: a backend terminated in
//! the middle of a batch fails every write of that batch (none is
//! acknowledged, none is stored), and the next batch writes again.

use backline_store::{users, Store, StoreError, StoreOptions};

fn new_user<'a>(id: &'a str) -> users::NewUser<'a> {
    users::NewUser {
        id,
        username: id,
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
        let (store, admin, id) = (store.clone(), admin.clone(), format!("{prefix}-{i}"));
        writes.push(tokio::spawn(async move {
            let result = store
                .write(Box::new(move |conn| {
                    Box::pin(async move {
                        users::insert(&mut *conn, new_user(&id)).await?;
                        if i == 0 {
                            let pid: i64 = backline_store::db::query_scalar(
                                "SELECT CAST(pg_backend_pid() AS BIGINT)",
                            )
                            .fetch_one(&mut *conn)
                            .await?;
                            backline_store::testing::postgres_execute(
                                &admin,
                                &format!("SELECT pg_terminate_backend({pid})"),
                            )
                            .await?;
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
    assert!(store.health().is_some(), "the store says it cannot write");

    // The next write goes through on a new connection, and health clears.
    let after = format!("{prefix}-after");
    let id = after.clone();
    store
        .write(Box::new(move |conn| {
            Box::pin(async move { users::insert(conn, new_user(&id)).await })
        }))
        .await
        .expect("the writer reconnects by itself");
    assert_eq!(store.health(), None);
    store.ping().await.unwrap();

    // Acknowledged means stored; refused means not stored.
    for (i, result) in &outcomes {
        let stored = users::get(store.reader(), &format!("{prefix}-{i}"))
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
