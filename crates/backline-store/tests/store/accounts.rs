//! Accounts and what hangs off them: users, groups, tokens, favourites,
//! Not Ready reasons and the audit log.

use backline_store::{audit, favourites, groups, tokens, users, StoreError};
use backline_store::{GroupId, UserId};

use crate::{add_user, stores, unique};

#[tokio::test]
async fn accounts_are_found_by_username_and_listed_in_username_order() {
    for (backend, store, _dir) in stores().await {
        let zed = add_user(&store, "zed").await;
        let amy = add_user(&store, "amy").await;
        let found = users::get_by_username(store.reader(), amy.as_str())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (found.id.as_str(), found.display_name.as_str()),
            (amy.as_str(), "Test Person"),
            "{backend}"
        );
        assert_eq!(
            (
                found.status.as_str(),
                found.status_reason.as_deref(),
                found.zoom,
                found.disabled,
                found.im_permitted,
                found.stream_head,
            ),
            ("not_ready", None, 100, 0, 1, 0),
            "{backend}: a new account's defaults"
        );
        assert!(
            users::get_by_username(store.reader(), "no-such-username")
                .await
                .unwrap()
                .is_none(),
            "{backend}"
        );
        let listed: Vec<String> = users::list(store.reader())
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.username)
            .filter(|name| name == zed.as_str() || name == amy.as_str())
            .collect();
        assert_eq!(
            listed,
            [amy.as_str(), zed.as_str()],
            "{backend}: by username"
        );
    }
}

#[tokio::test]
async fn account_settings_are_written_and_a_missing_account_is_not_found() {
    for (backend, store, _dir) in stores().await {
        let id = add_user(&store, "settings").await;
        tx!(store, [id], |conn| {
            users::set_password(conn, &id, "new-hash").await?;
            users::set_roles(conn, &id, "agent,supervisor").await?;
            users::set_im_permitted(conn, &id, false).await?;
            users::set_disabled(conn, &id, true).await?;
            users::set_zoom(conn, &id, 150).await?;
            // The same value again still finds the account.
            users::set_zoom(conn, &id, 150).await
        })
        .unwrap();
        let user = users::get(store.reader(), &id).await.unwrap().unwrap();
        assert_eq!(
            (
                user.password_hash.as_str(),
                user.roles.as_str(),
                user.im_permitted,
                user.disabled,
                user.zoom,
            ),
            ("new-hash", "agent,supervisor", 0, 1, 150),
            "{backend}"
        );
        tx!(store, [id], |conn| {
            users::set_im_permitted(conn, &id, true).await?;
            users::set_disabled(conn, &id, false).await
        })
        .unwrap();
        let user = users::get(store.reader(), &id).await.unwrap().unwrap();
        assert_eq!((user.im_permitted, user.disabled), (1, 0), "{backend}");

        for setter in 0..7 {
            let result = tx!(store, |conn| {
                let missing = &crate::uid("no-such-user");
                match setter {
                    0 => users::set_password(conn, missing, "h").await,
                    1 => users::set_roles(conn, missing, "agent").await,
                    2 => users::set_im_permitted(conn, missing, true).await,
                    3 => users::set_disabled(conn, missing, true).await,
                    4 => users::set_zoom(conn, missing, 90).await,
                    5 => users::set_status(conn, missing, "ready", None).await,
                    _ => users::set_profile(conn, missing, "N", "n").await,
                }
            });
            assert!(
                matches!(result, Err(StoreError::NotFound("user"))),
                "{backend}: setter {setter}: {result:?}"
            );
        }
    }
}

#[tokio::test]
async fn accounts_with_a_status_are_the_enabled_ones_that_chose_it() {
    for (backend, store, _dir) in stores().await {
        let ready = add_user(&store, "ready").await;
        let disabled = add_user(&store, "ready-disabled").await;
        let away = add_user(&store, "away").await;
        tx!(store, [ready, disabled, away], |conn| {
            users::set_status(conn, &ready, "ready", None).await?;
            users::set_status(conn, &disabled, "ready", None).await?;
            users::set_disabled(conn, &disabled, true).await?;
            users::set_status(conn, &away, "not_ready", Some("lunch")).await
        })
        .unwrap();
        let mine = |rows: Vec<backline_store::rows::UserRow>| {
            let mut ids: Vec<UserId> = rows
                .into_iter()
                .map(|u| u.id)
                .filter(|id| [&ready, &disabled, &away].contains(&id))
                .collect();
            ids.sort();
            ids
        };
        assert_eq!(
            mine(users::with_status(store.reader(), "ready").await.unwrap()),
            std::slice::from_ref(&ready),
            "{backend}: disabled accounts are left out"
        );
        assert_eq!(
            mine(
                users::with_status(store.reader(), "not_ready")
                    .await
                    .unwrap()
            ),
            std::slice::from_ref(&away),
            "{backend}"
        );
        let user = users::get(store.reader(), &away).await.unwrap().unwrap();
        assert_eq!(
            (user.status.as_str(), user.status_reason.as_deref()),
            ("not_ready", Some("lunch")),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn a_call_makes_an_agent_busy_once_and_restores_the_status_chosen_before() {
    for (backend, store, _dir) in stores().await {
        let id = add_user(&store, "caller").await;
        let status = |store: backline_store::Store, id: UserId| async move {
            let user = users::get(store.reader(), &id).await.unwrap().unwrap();
            (user.status, user.status_reason)
        };
        tx!(store, [id], |conn| {
            users::set_status(conn, &id, "not_ready", Some("lunch")).await
        })
        .unwrap();
        for expected in [true, false] {
            let entered = tx!(store, [id], |conn| users::enter_call_busy(conn, &id).await).unwrap();
            assert_eq!(entered, expected, "{backend}: busy is entered once");
            assert_eq!(
                status(store.clone(), id.clone()).await,
                ("busy".to_owned(), None),
                "{backend}"
            );
        }
        for expected in [true, false] {
            let left = tx!(store, [id], |conn| users::leave_call_busy(conn, &id).await).unwrap();
            assert_eq!(left, expected, "{backend}: busy is left once");
            assert_eq!(
                status(store.clone(), id.clone()).await,
                ("not_ready".to_owned(), Some("lunch".to_owned())),
                "{backend}: the status before the call is back"
            );
        }

        // A status without a reason comes back without one.
        let (entered, left) = tx!(store, [id], |conn| {
            users::set_status(conn, &id, "ready", None).await?;
            let entered = users::enter_call_busy(conn, &id).await?;
            let left = users::leave_call_busy(conn, &id).await?;
            Ok((entered, left))
        })
        .unwrap();
        assert_eq!((entered, left), (true, true), "{backend}");
        assert_eq!(
            status(store.clone(), id.clone()).await,
            ("ready".to_owned(), None),
            "{backend}"
        );

        // A status chosen during the call is the one that stays after it.
        let left = tx!(store, [id], |conn| {
            users::enter_call_busy(conn, &id).await?;
            users::set_status(conn, &id, "not_ready", Some("training")).await?;
            users::leave_call_busy(conn, &id).await
        })
        .unwrap();
        assert!(!left, "{backend}: nothing to restore");
        assert_eq!(
            status(store.clone(), id.clone()).await,
            ("not_ready".to_owned(), Some("training".to_owned())),
            "{backend}"
        );

        let missing = tx!(store, |conn| {
            Ok((
                users::enter_call_busy(conn, &crate::uid("no-such-user")).await?,
                users::leave_call_busy(conn, &crate::uid("no-such-user")).await?,
            ))
        })
        .unwrap();
        assert_eq!(missing, (false, false), "{backend}");
    }
}

#[tokio::test]
async fn not_ready_reasons_keep_their_insertion_order_and_codes_are_unique() {
    for (backend, store, _dir) in stores().await {
        let (late, early) = (unique("z-lunch"), unique("a-break"));
        tx!(store, [late, early], |conn| {
            users::insert_reason(conn, &late, "Lunch").await?;
            users::insert_reason(conn, &early, "Break").await
        })
        .unwrap();
        let reasons: Vec<(String, String)> = users::reasons(store.reader())
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.code == late || r.code == early)
            .map(|r| (r.code, r.label))
            .collect();
        assert_eq!(
            reasons,
            [
                (late.clone(), "Lunch".to_owned()),
                (early.clone(), "Break".to_owned())
            ],
            "{backend}: display order is insertion order, not code order"
        );
        let dup = tx!(store, [late], |conn| users::insert_reason(
            conn, &late, "Again"
        )
        .await);
        assert!(
            matches!(dup, Err(StoreError::Conflict(_))),
            "{backend}: {dup:?}"
        );
    }
}

#[tokio::test]
async fn groups_are_listed_and_searched_in_name_order() {
    for (backend, store, _dir) in stores().await {
        let tag = unique("tag");
        let (beta, alpha, other) = (
            crate::gid(&unique("g")),
            crate::gid(&unique("g")),
            crate::gid(&unique("g")),
        );
        let (beta_name, alpha_name, other_name) = (
            format!("Beta {tag}"),
            format!("Alpha {tag}"),
            format!("Gamma {tag}"),
        );
        tx!(
            store,
            [tag, beta, alpha, other, beta_name, alpha_name, other_name],
            |conn| {
                groups::insert(conn, &beta, &beta_name, &format!("beta team {tag}"), 1).await?;
                groups::insert(conn, &alpha, &alpha_name, &format!("alpha team {tag}"), 2).await?;
                groups::insert(conn, &other, &other_name, &format!("gamma crew {tag}"), 3).await
            }
        )
        .unwrap();
        let found = groups::get(store.reader(), &alpha).await.unwrap().unwrap();
        assert_eq!(
            (found.id.as_str(), found.name.as_str()),
            (alpha.as_str(), alpha_name.as_str()),
            "{backend}"
        );
        assert!(
            groups::get(store.reader(), &crate::gid("no-such-group"))
                .await
                .unwrap()
                .is_none(),
            "{backend}"
        );
        let mine: Vec<GroupId> = groups::list(store.reader())
            .await
            .unwrap()
            .into_iter()
            .map(|g| g.id)
            .filter(|id| [&alpha, &beta, &other].contains(&id))
            .collect();
        assert_eq!(
            mine,
            [alpha.clone(), beta.clone(), other.clone()],
            "{backend}: by name"
        );
        let ids = |rows: Vec<backline_store::rows::GroupRow>| {
            rows.into_iter().map(|g| g.id).collect::<Vec<_>>()
        };
        let pattern = format!("%team {tag}%");
        assert_eq!(
            ids(groups::search(store.reader(), &pattern, 10).await.unwrap()),
            [alpha.clone(), beta.clone()],
            "{backend}: matching groups by name"
        );
        assert_eq!(
            ids(groups::search(store.reader(), &pattern, 1).await.unwrap()),
            std::slice::from_ref(&alpha),
            "{backend}: limited"
        );
        let dup = tx!(store, [alpha_name], |conn| {
            groups::insert(conn, &crate::gid("another-id"), &alpha_name, "x", 4).await
        });
        assert!(
            matches!(dup, Err(StoreError::Conflict(_))),
            "{backend}: group names are unique: {dup:?}"
        );
    }
}

#[tokio::test]
async fn groups_list_their_members_and_adding_a_member_twice_is_harmless() {
    for (backend, store, _dir) in stores().await {
        let tag = unique("crew");
        let (first, second) = (crate::gid(&unique("g")), crate::gid(&unique("g")));
        let (first_name, second_name) = (format!("A {tag}"), format!("B {tag}"));
        let bob = add_user(&store, "bob").await;
        let ann = add_user(&store, "ann").await;
        tx!(
            store,
            [tag, first, second, first_name, second_name, bob, ann],
            |conn| {
                groups::insert(conn, &second, &second_name, &format!("b {tag}"), 1).await?;
                groups::insert(conn, &first, &first_name, &format!("a {tag}"), 1).await?;
                groups::add_member(conn, &first, &bob).await?;
                groups::add_member(conn, &first, &ann).await?;
                groups::add_member(conn, &first, &bob).await?;
                groups::add_member(conn, &second, &bob).await
            }
        )
        .unwrap();
        assert_eq!(
            groups::members(store.reader(), &first).await.unwrap(),
            [ann.clone(), bob.clone()],
            "{backend}: once each, by id"
        );
        let of_bob: Vec<(GroupId, String)> = groups::of_user(store.reader(), &bob)
            .await
            .unwrap()
            .into_iter()
            .map(|g| (g.id, g.name))
            .collect();
        assert_eq!(
            of_bob,
            [
                (first.clone(), first_name.clone()),
                (second.clone(), second_name.clone())
            ],
            "{backend}: by group name"
        );
        let memberships: Vec<(UserId, GroupId, String)> = groups::memberships(store.reader())
            .await
            .unwrap()
            .into_iter()
            .filter(|(user, _, _)| *user == bob)
            .collect();
        assert_eq!(
            memberships,
            [
                (bob.clone(), first.clone(), first_name.clone()),
                (bob.clone(), second.clone(), second_name.clone())
            ],
            "{backend}"
        );
        // Search finds accounts through the groups they belong to.
        let hits = users::search(store.reader(), &format!("%b {tag}%"), "x", "x", 10)
            .await
            .unwrap();
        assert_eq!(
            hits.into_iter().map(|u| u.id).collect::<Vec<_>>(),
            std::slice::from_ref(&bob),
            "{backend}"
        );
        for expected in [true, false] {
            let removed = tx!(store, [first, bob], |conn| {
                groups::remove_member(conn, &first, &bob).await
            })
            .unwrap();
            assert_eq!(removed, expected, "{backend}: removed once");
        }
        assert_eq!(
            groups::members(store.reader(), &first).await.unwrap(),
            std::slice::from_ref(&ann),
            "{backend}"
        );
        assert_eq!(
            groups::of_user(store.reader(), &bob)
                .await
                .unwrap()
                .into_iter()
                .map(|g| g.id)
                .collect::<Vec<_>>(),
            std::slice::from_ref(&second),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn tokens_resolve_to_their_account_and_hashes_are_unique() {
    for (backend, store, _dir) in stores().await {
        let user = add_user(&store, "token").await;
        let hash = unique("hash");
        tx!(store, [user, hash], |conn| {
            tokens::insert(conn, &hash, &user, 10, 1_000).await
        })
        .unwrap();
        let token = tokens::get(store.reader(), &hash).await.unwrap().unwrap();
        assert_eq!(
            (token.user_id.as_str(), token.expires_at, token.revoked_at),
            (user.as_str(), 1_000, None),
            "{backend}"
        );
        let account = tokens::with_account(store.reader(), &hash)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                account.expires_at,
                account.revoked_at,
                account.user.id.as_str(),
                account.user.username.as_str(),
                account.user.roles.as_str(),
            ),
            (1_000, None, user.as_str(), user.as_str(), "agent"),
            "{backend}"
        );
        assert!(
            tokens::get(store.reader(), "no-such-hash")
                .await
                .unwrap()
                .is_none(),
            "{backend}"
        );
        assert!(
            tokens::with_account(store.reader(), "no-such-hash")
                .await
                .unwrap()
                .is_none(),
            "{backend}"
        );
        let dup = tx!(store, [user, hash], |conn| {
            tokens::insert(conn, &hash, &user, 11, 2_000).await
        });
        assert!(
            matches!(dup, Err(StoreError::Conflict(_))),
            "{backend}: {dup:?}"
        );
    }
}

#[tokio::test]
async fn revoking_keeps_the_first_revocation_time_and_revoke_all_spares_other_accounts() {
    for (backend, store, _dir) in stores().await {
        let user = add_user(&store, "revoked").await;
        let other = add_user(&store, "spared").await;
        let (first, second, others) = (unique("hash"), unique("hash"), unique("hash"));
        tx!(store, [user, other, first, second, others], |conn| {
            tokens::insert(conn, &first, &user, 1, 1_000).await?;
            tokens::insert(conn, &second, &user, 1, 1_000).await?;
            tokens::insert(conn, &others, &other, 1, 1_000).await?;
            tokens::revoke(conn, &first, 10).await?;
            tokens::revoke(conn, &first, 20).await
        })
        .unwrap();
        let revoked_at = |hash: String| {
            let store = store.clone();
            async move {
                tokens::with_account(store.reader(), &hash)
                    .await
                    .unwrap()
                    .unwrap()
                    .revoked_at
            }
        };
        assert_eq!(
            revoked_at(first.clone()).await,
            Some(10),
            "{backend}: revoked once"
        );
        assert_eq!(revoked_at(second.clone()).await, None, "{backend}");
        tx!(store, [user], |conn| tokens::revoke_all(conn, &user, 30)
            .await)
        .unwrap();
        assert_eq!(
            (
                revoked_at(first.clone()).await,
                revoked_at(second.clone()).await,
                revoked_at(others.clone()).await,
            ),
            (Some(10), Some(30), None),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn pruning_tokens_deletes_those_expired_before_the_cutoff() {
    for (backend, store, _dir) in stores().await {
        let user = add_user(&store, "pruned").await;
        let (old, edge, fresh) = (unique("hash"), unique("hash"), unique("hash"));
        tx!(store, [user, old, edge, fresh], |conn| {
            tokens::insert(conn, &old, &user, 1, 100).await?;
            tokens::insert(conn, &edge, &user, 1, 150).await?;
            tokens::insert(conn, &fresh, &user, 1, 200).await
        })
        .unwrap();
        let pruned = tx!(store, |conn| tokens::prune(conn, 150).await).unwrap();
        assert_eq!(pruned, 1, "{backend}");
        let mut left = Vec::new();
        for hash in [&old, &edge, &fresh] {
            left.push(tokens::get(store.reader(), hash).await.unwrap().is_some());
        }
        assert_eq!(
            left,
            [false, true, true],
            "{backend}: expired strictly before the cutoff"
        );
    }
}

#[tokio::test]
async fn favourites_are_listed_oldest_first_and_adding_one_twice_keeps_the_first() {
    for (backend, store, _dir) in stores().await {
        let user = add_user(&store, "fan").await;
        let other = add_user(&store, "other-fan").await;
        tx!(store, [user, other], |conn| {
            favourites::add(conn, &user, "target-b", 20).await?;
            favourites::add(conn, &user, "target-a", 10).await?;
            favourites::add(conn, &user, "target-c", 30).await?;
            // Again, earlier: ignored, so it keeps its place.
            favourites::add(conn, &user, "target-c", 5).await?;
            favourites::add(conn, &other, "target-z", 1).await
        })
        .unwrap();
        assert_eq!(
            favourites::list(store.reader(), &user).await.unwrap(),
            ["target-a", "target-b", "target-c"],
            "{backend}"
        );
        tx!(store, [user], |conn| {
            favourites::remove(conn, &user, "target-b").await?;
            favourites::remove(conn, &user, "target-z").await?;
            favourites::remove(conn, &user, "never-added").await
        })
        .unwrap();
        assert_eq!(
            favourites::list(store.reader(), &user).await.unwrap(),
            ["target-a", "target-c"],
            "{backend}"
        );
        assert_eq!(
            favourites::list(store.reader(), &other).await.unwrap(),
            ["target-z"],
            "{backend}: another user's favourites are their own"
        );
    }
}

#[tokio::test]
async fn the_audit_log_reads_back_newest_first() {
    for (backend, store, _dir) in stores().await {
        let prefix = unique("audit");
        let ids: Vec<String> = ["a", "b", "c"]
            .iter()
            .map(|s| format!("{prefix}-{s}"))
            .collect();
        tx!(store, [ids], |conn| {
            for (id, ts, allowed) in [
                (&ids[0], 10, true),
                (&ids[1], 20, false),
                (&ids[2], 20, true),
            ] {
                audit::insert(
                    conn,
                    audit::NewAudit {
                        id,
                        ts,
                        actor_id: "auditor",
                        action: "read",
                        resource: &format!("transcript/{id}"),
                        allowed,
                        detail: "{}",
                    },
                )
                .await?;
            }
            Ok(())
        })
        .unwrap();
        let recent = audit::recent(store.reader(), 10).await.unwrap();
        let mine: Vec<(String, i64, i64)> = recent
            .iter()
            .filter(|r| r.id.starts_with(&prefix))
            .map(|r| (r.id.clone(), r.ts, r.allowed))
            .collect();
        assert_eq!(
            mine,
            [
                (ids[2].clone(), 20, 1),
                (ids[1].clone(), 20, 0),
                (ids[0].clone(), 10, 1)
            ],
            "{backend}: newest first, then by id"
        );
        let entry = recent.iter().find(|r| r.id == ids[1]).unwrap();
        assert_eq!(
            (
                entry.actor_id.as_str(),
                entry.action.as_str(),
                entry.resource.as_str(),
                entry.detail.as_str()
            ),
            (
                "auditor",
                "read",
                format!("transcript/{}", ids[1]).as_str(),
                "{}"
            ),
            "{backend}"
        );
        assert_eq!(
            audit::recent(store.reader(), 1)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect::<Vec<_>>(),
            [ids[2].as_str()],
            "{backend}: limited"
        );
        let dup = tx!(store, [ids], |conn| {
            audit::insert(
                conn,
                audit::NewAudit {
                    id: &ids[0],
                    ts: 30,
                    actor_id: "auditor",
                    action: "read",
                    resource: "x",
                    allowed: true,
                    detail: "{}",
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
