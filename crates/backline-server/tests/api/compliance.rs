//! Compliance controls over real sockets: card-number masking.

use backline_protocol::model::Role;
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

#[tokio::test]
async fn an_administrator_redacts_a_message_and_every_desktop_sees_it_live() {
    let Consultation {
        app,
        alice,
        bob,
        interaction,
        session,
        ..
    } = consultation_setup().await;
    let admin = app
        .user_with("auditor", "Ada Admin", true, vec![Role::Admin])
        .await;
    let (status, ack) = app
        .send_message(&alice, &session, "m1", "Customer password is hunter2")
        .await;
    assert_eq!(status, 200, "{ack}");
    let seq = ack["seq"].as_u64().unwrap();
    app.post(
        &bob.token,
        &format!("/api/v1/sessions/{session}/accept"),
        json!({}),
    )
    .await;
    app.send_message(&bob, &session, "b1", "Noted, thanks")
        .await;
    let (status, _) = app
        .post(
            &bob.token,
            &format!("/api/v1/sessions/{session}/end"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let mut alice_desktop = app.desktop(&alice, None).await;
    let mut bob_desktop = app.desktop(&bob, None).await;

    // Only administrators; only messages; a bad seq is a clear error.
    let path = format!("/api/v1/admin/sessions/{session}/messages/{seq}/redact");
    let (status, refused) = app.post(&alice.token, &path, json!({})).await;
    assert_eq!((status, refused["code"].as_str()), (403, Some("forbidden")));
    let (status, missing) = app
        .post(
            &admin.token,
            &format!("/api/v1/admin/sessions/{session}/messages/999/redact"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, missing["code"].as_str()),
        (404, Some("message_not_found"))
    );
    let (status, bad) = app
        .post(
            &admin.token,
            &format!("/api/v1/admin/sessions/{session}/messages/x/redact"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (400, Some("invalid_request"))
    );

    let (status, redacted) = app
        .post(&admin.token, &path, json!({"reason": "credential shared"}))
        .await;
    assert_eq!(status, 200, "{redacted}");
    assert_eq!(redacted["seq"].as_u64(), Some(seq));
    assert_eq!(redacted["text"], "");
    assert_eq!(redacted["redacted_by"], admin.id.as_str());
    assert_eq!(redacted["redacted_by_name"], "Ada Admin");
    assert!(redacted["redacted_at"].as_i64().unwrap() > 0);

    // Live, on both participants' desktops.
    for desktop in [&mut alice_desktop, &mut bob_desktop] {
        let event = desktop
            .until("transcript_redacted", |f| {
                f["type"] == "event" && f["event"]["kind"] == "transcript_redacted"
            })
            .await;
        assert_eq!(event["event"]["entry"]["seq"].as_u64(), Some(seq));
        assert_eq!(event["event"]["entry"]["redacted_by_name"], "Ada Admin");
    }
    // The transcript keeps the seq, without the text.
    let entries = app.transcript(&alice, &session).await;
    let entry = entries
        .iter()
        .find(|e| e["seq"].as_u64() == Some(seq))
        .unwrap();
    assert_eq!(entry["text"], "");
    assert_eq!(entry["redacted_by"], admin.id.as_str());
    assert!(!serde_json::to_string(&entries).unwrap().contains("hunter2"));
    // The attached transcript is rendered again, and search no longer finds the text.
    let (_, found) = app
        .get(
            &alice.token,
            &format!("/api/v1/interactions/{interaction}/history?q=noted"),
        )
        .await;
    let text = found["items"][0]["transcripts"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{found}"))
        .to_owned();
    assert!(text.contains("(message redacted by Ada Admin)"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    let (_, none) = app
        .get(
            &alice.token,
            &format!("/api/v1/interactions/{interaction}/history?q=hunter2"),
        )
        .await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0, "{none}");
    // Audited once; redacting again answers the same entry.
    let (status, again) = app.post(&admin.token, &path, json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(again["redacted_at"], redacted["redacted_at"]);
    let (_, audit) = app.get(&admin.token, "/api/v1/admin/audit").await;
    let redactions: Vec<&serde_json::Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "redact_message")
        .collect();
    assert_eq!(redactions.len(), 1, "{audit}");
    assert_eq!(redactions[0]["actor_id"], admin.id.as_str());
    assert!(redactions[0]["detail"]
        .as_str()
        .unwrap()
        .contains("credential shared"));
}
