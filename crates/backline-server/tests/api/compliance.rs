//! Compliance controls over real sockets: card-number masking.

use serde_json::json;

use crate::helpers::spawn_app_with;
use crate::interactions::{consultation_setup, Consultation};

const CARD: &str = "4111 1111 1111 1111";
const MASKED: &str = "•••• •••• •••• 1111";

#[tokio::test]
async fn card_numbers_are_masked_before_anything_stores_or_sends_them() {
    let Consultation {
        app,
        alice,
        bob,
        interaction,
        session,
        ..
    } = consultation_setup().await;
    let mut bob_desktop = app.desktop(&bob, None).await;
    let typed = format!("The card is {CARD}, expiry 12/30");
    let (status, ack) = app.send_message(&alice, &session, "m1", &typed).await;
    assert_eq!(status, 200, "{ack}");
    // A retry of the same send is the same message, not a conflict.
    let (status, again) = app.send_message(&alice, &session, "m1", &typed).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["seq"], ack["seq"]);
    let (status, _) = app
        .post(
            &bob.token,
            &format!("/api/v1/sessions/{session}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    // Bob's desktop gets the masked text.
    let message = bob_desktop.entry("message").await;
    let shown = message.to_string();
    assert!(shown.contains(MASKED), "{shown}");
    assert!(!shown.contains(CARD), "{shown}");
    // The transcript keeps only the masked text.
    let entries = app.transcript(&alice, &session).await;
    let body = entries
        .iter()
        .find(|e| e["kind"] == "message")
        .and_then(|e| e["text"].as_str())
        .unwrap()
        .to_owned();
    assert_eq!(body, format!("The card is {MASKED}, expiry 12/30"));
    // The transcript attached to the contact's history, and its search index.
    let (status, _) = app
        .post(
            &bob.token,
            &format!("/api/v1/sessions/{session}/end"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, found) = app
        .get(
            &alice.token,
            &format!("/api/v1/interactions/{interaction}/history?q=expiry"),
        )
        .await;
    let text = found["items"][0]["transcripts"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{found}"))
        .to_owned();
    assert!(text.contains(MASKED) && !text.contains(CARD), "{text}");
    let (_, none) = app
        .get(
            &alice.token,
            &format!("/api/v1/interactions/{interaction}/history?q=4111"),
        )
        .await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0, "{none}");
}

#[tokio::test]
async fn an_invitations_first_message_is_masked_and_masking_can_be_switched_off() {
    let app = spawn_app_with(|_| {}).await;
    let (alice, bob) = (
        app.user("alice", "Alice").await,
        app.user("bob", "Bob").await,
    );
    let view = app
        .open_session(&alice, &bob, Some("pay with 5500-0000-0000-0004"))
        .await;
    let session = view["id"].as_str().unwrap();
    let entries = app.transcript(&alice, session).await;
    let first = entries.iter().find(|e| e["kind"] == "message").unwrap();
    assert_eq!(first["text"], "pay with ••••-••••-••••-0004");
    // Not a card (fails the Luhn check): left as typed.
    let (status, _) = app
        .send_message(&alice, session, "m2", "order 4111 1111 1111 1112")
        .await;
    assert_eq!(status, 200);
    let entries = app.transcript(&alice, session).await;
    assert!(entries
        .iter()
        .any(|e| e["text"] == "order 4111 1111 1111 1112"));

    let app = spawn_app_with(|config| config.compliance.mask_card_numbers = false).await;
    let (alice, bob) = (
        app.user("alice", "Alice").await,
        app.user("bob", "Bob").await,
    );
    let session = app.connected_session(&alice, &bob).await;
    let (status, _) = app.send_message(&alice, &session, "m1", CARD).await;
    assert_eq!(status, 200);
    let entries = app.transcript(&alice, &session).await;
    assert!(entries.iter().any(|e| e["text"] == CARD), "{entries:?}");
}
