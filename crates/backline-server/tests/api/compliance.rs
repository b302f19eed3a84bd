//! Compliance controls over real sockets: card-number masking.

use backline_protocol::model::Role;
use serde_json::json;

use crate::admin_console::{deliveries, integration, wait_delivery};
use crate::helpers::{spawn_app, spawn_app_with, TestApp, User};
use crate::interactions::{consultation_setup, open_consultation, Consultation};
use crate::webhooks::{free_port, Receiver};

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

/// Alice tells Bob a secret (her message's seq is answered), Bob accepts,
/// answers and ends the consultation.
async fn share_a_secret_and_end(app: &TestApp, alice: &User, bob: &User, session: &str) -> u64 {
    let (status, ack) = app
        .send_message(alice, session, "m1", "Customer password is hunter2")
        .await;
    assert_eq!(status, 200, "{ack}");
    let path = |action: &str| format!("/api/v1/sessions/{session}/{action}");
    app.post(&bob.token, &path("accept"), json!({})).await;
    app.send_message(bob, session, "b1", "Noted, thanks").await;
    let (status, _) = app.post(&bob.token, &path("end"), json!({})).await;
    assert_eq!(status, 200);
    ack["seq"].as_u64().unwrap()
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
    let seq = share_a_secret_and_end(&app, &alice, &bob, &session).await;
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
    // Nor does any replay: the stored events that carried the text (the
    // message's own, the sessions' latest message) carry the redacted entry.
    for user in [&alice, &bob] {
        let (status, page) = app.get(&user.token, "/api/v1/events?after=0").await;
        assert_eq!(status, 200, "{page}");
        let replay = page["events"].as_array().unwrap();
        assert!(
            replay.iter().any(|e| e["event"]["kind"] == "transcript"
                && e["event"]["entry"]["seq"].as_u64() == Some(seq)
                && e["event"]["entry"]["redacted_by_name"] == "Ada Admin"),
            "{page}"
        );
        assert!(!page.to_string().contains("hunter2"), "{page}");
    }
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

#[tokio::test]
async fn a_redacted_message_is_not_sent_in_a_webhook_still_waiting_to_go() {
    // The receiver refuses everything until told otherwise: the
    // interaction's first event keeps failing, and the consultation's
    // events wait behind it in the outbox.
    let port = free_port();
    let (receiver, _task) = Receiver::start(usize::MAX, port).await;
    let app = spawn_app().await;
    let root = app
        .user_with("root", "Ada Admin", true, vec![Role::Admin])
        .await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let url = format!("http://127.0.0.1:{port}/hook");
    let (id, platform, _) = integration(&app, &root, &url).await;
    let (_, session) = open_consultation(&app, &platform, &alice, &bob, "redact-hook").await;
    let seq = share_a_secret_and_end(&app, &alice, &bob, &session).await;
    wait_delivery(&app, &root, &id, "transcript_attached queued", |d| {
        d["event_type"] == "consultation.transcript_attached"
    })
    .await;

    let path = format!("/api/v1/admin/sessions/{session}/messages/{seq}/redact");
    let (status, redacted) = app
        .post(&root.token, &path, json!({"reason": "credential shared"}))
        .await;
    assert_eq!(status, 200, "{redacted}");

    // The receiver accepts again; everything still waiting is sent now.
    receiver.succeed_from_now();
    let (status, page) = deliveries(&app, &root, &id, "").await;
    assert_eq!(status, 200, "{page}");
    for delivery in page["deliveries"].as_array().unwrap() {
        if delivery["state"] == "pending" {
            let event = delivery["id"].as_str().unwrap();
            let redeliver = format!("/api/v1/admin/integrations/{id}/deliveries/{event}/redeliver");
            let (status, queued) = app.post(&root.token, &redeliver, json!({})).await;
            assert_eq!(status, 200, "{queued}");
        }
    }
    let mut attached = None;
    for _ in 0..200 {
        attached = receiver
            .bodies()
            .into_iter()
            .find(|b| b["type"] == "consultation.transcript_attached");
        if attached.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let attached = attached.expect("the transcript_attached event is delivered");
    let transcript = attached["transcript"].as_str().unwrap();
    assert!(
        transcript.contains("(message redacted by Ada Admin)"),
        "{transcript}"
    );
    assert!(transcript.contains("Noted, thanks"), "{transcript}");
    for (_, body) in receiver.requests() {
        assert!(!body.contains("hunter2"), "{body}");
    }
}

#[tokio::test]
async fn retention_spares_a_held_contact_and_every_change_is_audited() {
    let app = spawn_app_with(|config| {
        config.compliance.history_retention_days = 30;
        config.compliance.transcript_retention_days = 30;
        config.compliance.audit_retention_days = 30;
    })
    .await;
    app.user("alice", "Alice Agent").await;
    let admin = app
        .user_with("auditor", "Ada Admin", true, vec![Role::Admin])
        .await;
    let agent = app.user("bob", "Bob").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    std::fs::write(&path, "{\"external_id\":\"C-1\",\"first_name\":\"Held\"}\n{\"external_id\":\"C-2\",\"first_name\":\"Free\"}\n").unwrap();
    backline_server::import::import_file(&app.backline, &path)
        .await
        .unwrap();
    std::fs::write(
        dir.path().join("history.csv"),
        "contact_external_id,media,started_at,agent,subject,outcome,notes,transcript\n\
         C-1,voice,2025-03-01T10:00:00Z,alice,Held call,Done,,\n\
         C-2,voice,2025-03-01T11:00:00Z,alice,Free call,Done,,\n",
    )
    .unwrap();
    let report =
        backline_server::import::import_file(&app.backline, &dir.path().join("history.csv"))
            .await
            .unwrap();
    assert_eq!(report.interactions, 2, "{:?}", report.refused);
    let held = backline_store::contacts::by_external_id(app.backline.store().reader(), "C-1")
        .await
        .unwrap()
        .unwrap()
        .id;

    // Refusals: not an admin, a bad kind, an unknown target, no hold to lift.
    let hold_path = format!("/api/v1/admin/legal-holds/contact/{held}");
    let body = json!({"reason": "Matter 2026-17"});
    let (status, refused) = app.put(&agent.token, &hold_path, body.clone()).await;
    assert_eq!((status, refused["code"].as_str()), (403, Some("forbidden")));
    let (status, bad) = app
        .put(
            &admin.token,
            "/api/v1/admin/legal-holds/planet/x",
            body.clone(),
        )
        .await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, missing) = app
        .put(
            &admin.token,
            "/api/v1/admin/legal-holds/contact/nobody",
            body.clone(),
        )
        .await;
    assert_eq!(
        (status, missing["code"].as_str()),
        (404, Some("contact_not_found"))
    );

    let (status, hold) = app.put(&admin.token, &hold_path, body.clone()).await;
    assert_eq!(status, 200, "{hold}");
    assert_eq!(hold["target_kind"], "contact");
    assert_eq!(hold["placed_by"], admin.id.as_str());
    let (_, holds) = app.get(&admin.token, "/api/v1/admin/legal-holds").await;
    assert_eq!(holds.as_array().unwrap().len(), 1, "{holds}");

    // The dry run says what would go and deletes nothing; the run deletes it.
    let run = "/api/v1/admin/retention/run";
    let (status, dry) = app.post(&admin.token, run, json!({"dry_run": true})).await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(
        dry,
        json!({"dry_run": true, "transcripts": 0, "interactions": 1, "audit": 0})
    );
    let (_, dry_again) = app.post(&admin.token, run, json!({"dry_run": true})).await;
    assert_eq!(dry_again, dry);
    let (status, done) = app.post(&admin.token, run, json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(done["interactions"], 1, "{done}");
    let (_, after) = app.post(&admin.token, run, json!({"dry_run": true})).await;
    assert_eq!(
        after["interactions"], 0,
        "the held contact's history stays: {after}"
    );

    // Lifted, the hold keeps nothing: its history goes at the next run.
    let (status, _) = app
        .send_json(
            reqwest::Method::DELETE,
            &admin.token,
            &hold_path,
            json!(null),
        )
        .await;
    assert_eq!(status, 204);
    let (status, gone) = app
        .send_json(
            reqwest::Method::DELETE,
            &admin.token,
            &hold_path,
            json!(null),
        )
        .await;
    assert_eq!(
        (status, gone["code"].as_str()),
        (404, Some("legal_hold_not_found"))
    );
    let (_, unheld) = app.post(&admin.token, run, json!({"dry_run": true})).await;
    assert_eq!(unheld["interactions"], 1, "{unheld}");

    assert_eq!(
        actions_of(&app, &admin).await,
        [
            "legal_hold_placed",
            "retention_dry_run",
            "retention_dry_run",
            "retention_run",
            "retention_dry_run",
            "legal_hold_lifted",
            "retention_dry_run"
        ]
    );
}

#[tokio::test]
async fn a_contact_is_exported_whole_and_erased_unless_held() {
    let Consultation {
        app,
        alice,
        bob,
        carol,
        interaction,
        session,
    } = consultation_setup().await;
    let admin = app
        .user_with("auditor", "Ada Admin", true, vec![Role::Admin])
        .await;
    app.send_message(&alice, &session, "m1", "Refund approved?")
        .await;
    app.post(
        &bob.token,
        &format!("/api/v1/sessions/{session}/accept"),
        json!({}),
    )
    .await;
    app.send_message(&bob, &session, "b1", "Yes, goodwill")
        .await;
    app.post(
        &bob.token,
        &format!("/api/v1/sessions/{session}/end"),
        json!({}),
    )
    .await;
    let (_, contact) = app
        .get(
            &alice.token,
            &format!("/api/v1/interactions/{interaction}/contact"),
        )
        .await;
    let contact_id = contact["id"].as_str().unwrap().to_owned();
    // A bystander's refused read is audited about the interaction.
    let (status, _) = app
        .get(&carol.token, &format!("/api/v1/interactions/{interaction}"))
        .await;
    assert_eq!(status, 403);

    let export_path = format!("/api/v1/admin/contacts/{contact_id}/export");
    let (status, refused) = app.get(&alice.token, &export_path).await;
    assert_eq!((status, refused["code"].as_str()), (403, Some("forbidden")));
    let (status, export) = app.get(&admin.token, &export_path).await;
    assert_eq!(status, 200, "{export}");
    assert_eq!(export["contact"]["external_id"], "C-42");
    let interactions = export["interactions"].as_array().unwrap();
    assert_eq!(interactions.len(), 3, "two past calls and the live one");
    assert!(interactions
        .iter()
        .any(|i| i["id"] == interaction.as_str() && i["case_data"][0]["value"] == "ACC-4711"));
    let consultation = &export["consultations"][0];
    assert_eq!(consultation["session_id"], session.as_str());
    let texts: Vec<&str> = consultation["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert_eq!(texts, ["Refund approved?", "Yes, goodwill"]);
    assert!(export["attached_transcripts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["text"].as_str().unwrap().contains("Yes, goodwill")));
    // Audit entries about it are exported.
    let resource = format!("interaction:{interaction}");
    assert!(
        export["audit"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["resource"] == resource.as_str() && e["actor_id"] == carol.id.as_str()),
        "{}",
        export["audit"]
    );

    // Erasure waits for the hold on one of its interactions to be lifted.
    let erase_path = format!("/api/v1/admin/contacts/{contact_id}");
    let hold_path = format!("/api/v1/admin/legal-holds/interaction/{interaction}");
    let (status, _) = app
        .put(&admin.token, &hold_path, json!({"reason": "Matter 9"}))
        .await;
    assert_eq!(status, 200);
    let (status, held) = app
        .send_json(
            reqwest::Method::DELETE,
            &admin.token,
            &erase_path,
            json!(null),
        )
        .await;
    assert_eq!(
        (status, held["code"].as_str()),
        (409, Some("under_legal_hold"))
    );
    let (status, _) = app.get(&admin.token, &export_path).await;
    assert_eq!(status, 200, "nothing was erased");
    app.send_json(
        reqwest::Method::DELETE,
        &admin.token,
        &hold_path,
        json!(null),
    )
    .await;
    let (status, erased) = app
        .send_json(
            reqwest::Method::DELETE,
            &admin.token,
            &erase_path,
            json!(null),
        )
        .await;
    assert_eq!(status, 200, "{erased}");
    assert_eq!(erased["interactions"], 3);
    let (status, gone) = app.get(&admin.token, &export_path).await;
    assert_eq!(
        (status, gone["code"].as_str()),
        (404, Some("contact_not_found"))
    );
    let (status, _) = app
        .get(&alice.token, &format!("/api/v1/interactions/{interaction}"))
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .get(
            &alice.token,
            &format!("/api/v1/sessions/{session}/transcript"),
        )
        .await;
    assert_eq!(status, 404, "the consultation went with it");
    let actions = actions_of(&app, &admin).await;
    for action in [
        "contact_exported",
        "legal_hold_placed",
        "legal_hold_lifted",
        "contact_erased",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

/// The audit actions of `admin`, oldest first.
async fn actions_of(app: &TestApp, admin: &User) -> Vec<String> {
    let (_, audit) = app.get(&admin.token, "/api/v1/admin/audit").await;
    let mut actions: Vec<String> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor_id"] == admin.id.as_str() && e["action"] != "sign_in")
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    actions.reverse();
    actions
}

#[test]
fn the_cli_dry_run_counts_and_the_run_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let backline = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_backline"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .env("BACKLINE_COMPLIANCE__HISTORY_RETENTION_DAYS", "30")
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let file = dir.path().join("history.csv");
    std::fs::write(
        dir.path().join("contacts.csv"),
        "external_id,first_name\nC-1,Old\n",
    )
    .unwrap();
    backline(&[
        "contacts",
        "import",
        dir.path().join("contacts.csv").to_str().unwrap(),
    ]);
    std::fs::write(
        &file,
        "contact_external_id,media,started_at,agent,subject,outcome,notes,transcript\n\
         C-1,chat,2025-03-01T10:00:00Z,,Old chat,Done,,\n",
    )
    .unwrap();
    backline(&["contacts", "import", file.to_str().unwrap()]);
    let dry = backline(&["retention", "run", "--dry-run"]);
    assert!(
        dry.contains("interactions (contact history): 1 would be deleted"),
        "{dry}"
    );
    assert!(backline(&["retention", "run", "--dry-run"]).contains("1 would be deleted"));
    let run = backline(&["retention", "run"]);
    assert!(
        run.contains("interactions (contact history): 1 deleted"),
        "{run}"
    );
    let after = backline(&["retention", "run", "--dry-run"]);
    assert!(
        after.contains("interactions (contact history): 0 would be deleted"),
        "{after}"
    );
}
