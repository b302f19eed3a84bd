//! Contact-history search over long transcripts, its structured highlights,
//! and how long a consultation target keeps reading the interaction.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, TestApp, User};
use crate::interactions::{integration, voice_call};

/// Alice's live voice call and a consultation with Bob, who accepted after
/// Alice's first message `first`; returns the interaction and the session.
pub(crate) async fn accepted_consultation(
    app: &TestApp,
    alice: &User,
    bob: &User,
    first: &str,
) -> (String, String) {
    let platform = integration(app, None).await;
    let (status, view) = app
        .post(
            &platform,
            "/api/v1/platform/interactions",
            voice_call("live", "alice"),
        )
        .await;
    assert_eq!(status, 201, "{view}");
    let interaction = view["id"].as_str().unwrap().to_owned();
    let (status, session) = app
        .post(
            &alice.token,
            "/api/v1/sessions",
            json!({"target_id": bob.id, "parent_interaction_id": interaction, "defer_invite": true}),
        )
        .await;
    assert_eq!(status, 201, "{session}");
    let session = session["id"].as_str().unwrap().to_owned();
    let (status, sent) = app.send_message(alice, &session, "first", first).await;
    assert_eq!(status, 200, "{sent}");
    let (status, accepted) = app
        .post(
            &bob.token,
            &format!("/api/v1/sessions/{session}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{accepted}");
    (interaction, session)
}

async fn end_session(app: &TestApp, user: &User, session: &str) {
    let (status, ended) = app
        .post(
            &user.token,
            &format!("/api/v1/sessions/{session}/end"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{ended}");
}

/// The contact history of `interaction` searched for `q` by `user`: its items.
async fn search(app: &TestApp, user: &User, interaction: &str, q: &str) -> Vec<Value> {
    let (status, found) = app
        .get(
            &user.token,
            &format!("/api/v1/interactions/{interaction}/history?q={q}"),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    found["items"].as_array().unwrap().clone()
}

/// The highlighted parts of a snippet, sliced by UTF-16 offsets as the desktop does.
pub fn marked(snippet: &Value) -> Vec<String> {
    let text = snippet["text"]
        .as_str()
        .unwrap_or_else(|| panic!("a structured snippet: {snippet}"));
    let units: Vec<u16> = text.encode_utf16().collect();
    snippet["highlights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let (start, end) = (
                h["start"].as_u64().unwrap() as usize,
                h["end"].as_u64().unwrap() as usize,
            );
            String::from_utf16(&units[start..end]).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn a_search_over_twenty_long_messages_answers_with_a_bounded_snippet() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let long = "aq".repeat(8 * 1024);
    assert_eq!(long.len(), 16 * 1024);
    let (interaction, session) = accepted_consultation(&app, &alice, &bob, &long).await;
    for i in 1..19 {
        let (status, sent) = app
            .send_message(&alice, &session, &format!("m{i}"), &long)
            .await;
        assert_eq!(status, 200, "{sent}");
    }
    // The one word that starts with the searched letter comes after 320 KB of text.
    let last = format!("{} quick", "aq".repeat(8 * 1024 - 3));
    assert!(last.len() <= 16 * 1024);
    let (status, sent) = app.send_message(&alice, &session, "m19", &last).await;
    assert_eq!(status, 200, "{sent}");
    end_session(&app, &alice, &session).await;

    let items = search(&app, &alice, &interaction, "q").await;
    assert_eq!(
        items.len(),
        1,
        "only the interaction with a word starting with q"
    );
    assert_eq!(items[0]["interaction_id"], interaction.as_str());
    let snippet = &items[0]["snippet"];
    assert_eq!(marked(snippet), ["quick"], "{snippet}");
    let text = snippet["text"].as_str().unwrap();
    assert!(text.chars().count() <= 3 * 203 + 1, "bounded: {text}");
    assert!(text.starts_with('…') && text.contains("aqaq"), "{text}");
    // The transcript itself is still there, whole.
    let transcript = items[0]["transcripts"][0]["text"].as_str().unwrap();
    assert_eq!(transcript.matches(long.as_str()).count(), 19);
    // The server still answers its health check.
    let health = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn every_word_of_a_history_search_is_highlighted_as_a_range_not_as_brackets() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let (interaction, session) = accepted_consultation(
        &app,
        &alice,
        &bob,
        "Hi Bob, can you check the refund on ACC-4711 for Élodie 😀?",
    )
    .await;
    let (status, _) = app
        .send_message(&bob, &session, "b1", "Sure, checking it now")
        .await;
    assert_eq!(status, 200);
    end_session(&app, &bob, &session).await;

    let items = search(&app, &alice, &interaction, "can+you+check").await;
    assert_eq!(items.len(), 1, "{items:?}");
    let snippet = &items[0]["snippet"];
    assert_eq!(
        marked(snippet),
        ["can", "you", "check", "checking"],
        "{snippet}"
    );
    let text = snippet["text"].as_str().unwrap();
    assert!(
        text.contains(" UTC] Alice Agent: Hi Bob, can you check"),
        "{text}"
    );

    // Offsets point into the original text, folded matching (case, accents)
    // and characters outside the BMP (two UTF-16 units) included.
    let items = search(&app, &alice, &interaction, "ELODIE+refund+sure").await;
    let snippet = &items[0]["snippet"];
    assert_eq!(marked(snippet), ["refund", "Élodie", "Sure"], "{snippet}");
}

#[tokio::test]
async fn a_consultation_target_reads_the_interaction_until_the_grace_period_after_it_ended() {
    const GRACE_SECS: u64 = 3;
    let app = spawn_app_with(|config| {
        config.interactions.consultation_access_grace_secs = GRACE_SECS;
    })
    .await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let (interaction, session) =
        accepted_consultation(&app, &alice, &bob, "Can you approve a refund?").await;
    let paths = [
        format!("/api/v1/interactions/{interaction}"),
        format!("/api/v1/interactions/{interaction}/contact"),
        format!("/api/v1/interactions/{interaction}/history"),
    ];
    for path in &paths {
        let (status, body) = app.get(&bob.token, path).await;
        assert_eq!(status, 200, "open consultation, {path}: {body}");
    }
    let audit = app.backline.audit_log(100).await.unwrap();
    assert!(
        !audit
            .iter()
            .any(|e| e.actor_id == bob.id && e.action != "sign_in"),
        "reads during an open consultation are not audited: {audit:?}"
    );

    end_session(&app, &alice, &session).await;
    let ended_by = backline_store::now_ms();
    for path in &paths {
        let (status, body) = app.get(&bob.token, path).await;
        assert_eq!(status, 200, "within the grace period, {path}: {body}");
    }
    let audit = app.backline.audit_log(100).await.unwrap();
    let granted: Vec<_> = audit
        .iter()
        .filter(|e| e.actor_id == bob.id && e.allowed && e.action != "sign_in")
        .collect();
    assert_eq!(granted.len(), paths.len(), "{audit:?}");
    assert!(granted
        .iter()
        .all(|e| e.resource == format!("interaction:{interaction}")
            && e.detail.contains("grace period")));

    // The grace period is measured from the end, which happened before `ended_by`.
    let past_grace = ended_by + GRACE_SECS as i64 * 1000 + 1;
    let wait = past_grace - backline_store::now_ms();
    if wait > 0 {
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
    }
    for path in &paths {
        let (status, body) = app.get(&bob.token, path).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("not_shared")),
            "after the grace period, {path}: {body}"
        );
    }
    let audit = app.backline.audit_log(100).await.unwrap();
    let refused: Vec<_> = audit
        .iter()
        .filter(|e| e.actor_id == bob.id && !e.allowed)
        .collect();
    assert_eq!(refused.len(), paths.len(), "{audit:?}");
    assert!(refused
        .iter()
        .all(|e| e.resource == format!("interaction:{interaction}")));
    // The interaction's own agent keeps access.
    for path in &paths {
        let (status, body) = app.get(&alice.token, path).await;
        assert_eq!(status, 200, "the agent, {path}: {body}");
    }
}
