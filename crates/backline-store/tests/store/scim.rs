//! Provisioning: the SCIM attributes of accounts and groups, group renames
//! and deletions, and an integration's scopes.

use backline_store::{groups, integrations, scim, StoreError};

use crate::{add_user, stores, unique};

#[tokio::test]
async fn scim_accounts_keep_their_external_id_times_and_deletion() {
    for (backend, store, _dir) in stores().await {
        let id = add_user(&store, "scim").await;
        let external = unique("ext");
        assert!(scim::user(store.reader(), &id).await.unwrap().is_none());
        tx!(store, [id, external], |conn| {
            scim::put_user(conn, &id, Some(&external), 10).await?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
        let row = scim::user(store.reader(), &id).await.unwrap().unwrap();
        assert_eq!(
            (
                row.external_id.as_deref(),
                row.created_at,
                row.updated_at,
                row.deleted_at
            ),
            (Some(external.as_str()), 10, 10, None),
            "{backend}"
        );
        let by_external = scim::users_by_external_id(store.reader(), &external)
            .await
            .unwrap();
        assert_eq!(by_external.len(), 1, "{backend}");
        assert_eq!(by_external[0].user_id, id, "{backend}");

        let deleted = tx!(store, [id], |conn| {
            scim::delete_user(conn, &id, 20).await
        })
        .unwrap();
        assert!(deleted, "{backend}");
        let row = scim::user(store.reader(), &id).await.unwrap().unwrap();
        assert_eq!(
            (row.updated_at, row.deleted_at),
            (20, Some(20)),
            "{backend}"
        );
        assert!(
            scim::users(store.reader())
                .await
                .unwrap()
                .iter()
                .any(|r| r.user_id == id),
            "{backend}"
        );

        // Provisioned again: created stays, the deletion is cleared, the external id replaced.
        tx!(store, [id], |conn| {
            scim::put_user(conn, &id, None, 30).await?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
        let row = scim::user(store.reader(), &id).await.unwrap().unwrap();
        assert_eq!(
            (
                row.external_id,
                row.created_at,
                row.updated_at,
                row.deleted_at
            ),
            (None, 10, 30, None),
            "{backend}"
        );
        let missing = tx!(store, |conn| {
            scim::delete_user(conn, &crate::uid("no-such-user"), 1).await
        })
        .unwrap();
        assert!(!missing, "{backend}");
    }
}

#[tokio::test]
async fn scim_groups_are_renamed_and_deleted_with_their_members() {
    for (backend, store, _dir) in stores().await {
        let user = add_user(&store, "member").await;
        let (group, name, taken) = (crate::gid(&unique("g")), unique("Team"), unique("Taken"));
        tx!(store, [user, group, name, taken], |conn| {
            groups::insert(conn, &group, &name, "team", 1).await?;
            groups::insert(conn, &crate::gid(&unique("other")), &taken, "taken", 1).await?;
            groups::add_member(conn, &group, &user).await?;
            scim::put_group(conn, &group, Some("okta-1"), 5).await?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
        let row = scim::group(store.reader(), &group).await.unwrap().unwrap();
        assert_eq!(
            (row.external_id.as_deref(), row.created_at, row.updated_at),
            (Some("okta-1"), 5, 5),
            "{backend}"
        );
        assert!(scim::groups(store.reader())
            .await
            .unwrap()
            .iter()
            .any(|g| g.group_id == group));

        let renamed = unique("Renamed");
        let done = tx!(store, [group, renamed], |conn| {
            groups::rename(conn, &group, &renamed, "renamed").await
        })
        .unwrap();
        assert!(done, "{backend}");
        assert_eq!(
            groups::get(store.reader(), &group)
                .await
                .unwrap()
                .unwrap()
                .name,
            renamed,
            "{backend}"
        );
        let clash = tx!(store, [group, taken], |conn| {
            groups::rename(conn, &group, &taken, "taken").await
        });
        assert!(
            matches!(clash, Err(StoreError::Conflict(_))),
            "{backend}: {clash:?}"
        );

        let deleted = tx!(store, [group], |conn| {
            groups::delete(conn, &group).await
        })
        .unwrap();
        assert!(deleted, "{backend}");
        assert!(groups::get(store.reader(), &group).await.unwrap().is_none());
        assert!(groups::of_user(store.reader(), &user)
            .await
            .unwrap()
            .is_empty());
        assert!(
            scim::group(store.reader(), &group).await.unwrap().is_none(),
            "{backend}: the SCIM row goes with the group"
        );
        let again = tx!(store, [group], |conn| {
            groups::delete(conn, &group).await
        })
        .unwrap();
        assert!(!again, "{backend}");
    }
}

#[tokio::test]
async fn integrations_keep_their_scopes() {
    for (backend, store, _dir) in stores().await {
        let (id, name) = (crate::intid(&unique("int")), unique("idp"));
        tx!(store, [id, name], |conn| {
            integrations::insert(
                conn,
                integrations::NewIntegration {
                    id: &id,
                    name: &name,
                    token_hash: &format!("hash-{id}"),
                    webhook_url: None,
                    webhook_secret: "s",
                    scopes: "scim",
                    created_at: 1,
                },
            )
            .await?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
        let row = integrations::get(store.reader(), &id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.scopes, "scim", "{backend}");
    }
}
