//! Single sign-on: a sign-in's state and hand-off code are each used once
//! and expire; identities link a provider's subject to one account.

use backline_store::{oidc, StoreError};

use crate::{add_user, stores, unique};

#[tokio::test]
async fn a_sign_in_state_and_its_hand_off_code_are_used_once() {
    for (backend, store, _dir) in stores().await {
        let user = add_user(&store, "sso").await;
        let state = unique("state");
        tx!(store, [state], |conn| {
            oidc::begin(
                conn,
                oidc::NewLogin {
                    state_hash: &state,
                    nonce: "n-1",
                    pkce_verifier: "v-1",
                    created_at: 100,
                    expires_at: 1_000,
                },
            )
            .await
        })
        .unwrap();
        // Expired at 1 000: refused after, taken before, and only once.
        let late = tx!(store, [state], |conn| {
            oidc::consume_state(conn, &state, 1_000).await
        })
        .unwrap();
        assert!(late.is_none(), "{backend}: an expired state is refused");
        let first = tx!(store, [state], |conn| {
            oidc::consume_state(conn, &state, 500).await
        })
        .unwrap()
        .expect("the state is consumed");
        assert_eq!(
            (first.nonce.as_str(), first.pkce_verifier.as_str()),
            ("n-1", "v-1"),
            "{backend}"
        );
        let replay = tx!(store, [state], |conn| {
            oidc::consume_state(conn, &state, 501).await
        })
        .unwrap();
        assert!(replay.is_none(), "{backend}: a replayed state is refused");

        let code = unique("code");
        tx!(store, [state, code, user], |conn| {
            oidc::set_handoff(conn, &state, &code, &user, 2_000).await
        })
        .unwrap();
        let taken = tx!(store, [code], |conn| {
            oidc::take_handoff(conn, &code, 600).await
        })
        .unwrap();
        assert_eq!(taken.as_ref(), Some(&user), "{backend}");
        let again = tx!(store, [code], |conn| {
            oidc::take_handoff(conn, &code, 601).await
        })
        .unwrap();
        assert!(again.is_none(), "{backend}: a hand-off code works once");

        // Pruning keeps a row until both its state and its code expired.
        let pruned = tx!(store, |conn| oidc::prune(conn, 1_500).await).unwrap();
        assert_eq!(pruned, 0, "{backend}");
        let pruned = tx!(store, |conn| oidc::prune(conn, 2_001).await).unwrap();
        assert!(pruned >= 1, "{backend}");
        let gone = tx!(store, [code], |conn| {
            oidc::take_handoff(conn, &code, 10).await
        })
        .unwrap();
        assert!(gone.is_none(), "{backend}");
    }
}

#[tokio::test]
async fn an_identity_links_a_subject_to_one_account() {
    for (backend, store, _dir) in stores().await {
        let user = add_user(&store, "linked").await;
        let subject = unique("sub");
        let issuer = "https://idp.example.com";
        assert!(oidc::identity(store.reader(), issuer, &subject)
            .await
            .unwrap()
            .is_none());
        assert!(!oidc::is_linked(store.reader(), issuer, &user)
            .await
            .unwrap());
        for now in [10, 20] {
            tx!(store, [subject, user], |conn| {
                oidc::link(conn, issuer, &subject, &user, now).await?;
                Ok::<_, StoreError>(())
            })
            .unwrap();
        }
        assert_eq!(
            oidc::identity(store.reader(), issuer, &subject)
                .await
                .unwrap()
                .as_ref(),
            Some(&user),
            "{backend}"
        );
        assert!(oidc::is_linked(store.reader(), issuer, &user)
            .await
            .unwrap());
        assert!(
            !oidc::is_linked(store.reader(), "https://other.example.com", &user)
                .await
                .unwrap(),
            "{backend}"
        );
    }
}
