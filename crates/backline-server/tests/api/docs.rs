//! The interactive API docs at `/api/docs/` and the OpenAPI `webhooks` object.

use backline_protocol::interactions::WEBHOOK_EVENTS;
use backline_server::http::headers::{API_DOCS_CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY};

use crate::helpers::spawn_app;

/// The `src`/`href` values of `attr` in an HTML page.
fn references(html: &str, attr: &str) -> Vec<String> {
    html.split(&format!("{attr}=\""))
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn docs_page_and_its_assets_load_from_the_binary_under_the_strict_policy() {
    let app = spawn_app().await;
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let bare = no_redirect.get(app.url("/api/docs")).send().await.unwrap();
    assert!(bare.status().is_redirection(), "{}", bare.status());
    assert_eq!(bare.headers()["location"], "/api/docs/");

    let page = app.http.get(app.url("/api/docs/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert_eq!(policy, API_DOCS_CONTENT_SECURITY_POLICY);
    // The desktop's policy, plus one inline style by its hash: nothing weaker.
    assert!(!policy.contains("unsafe"), "{policy}");
    assert_eq!(
        policy.replace(" 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='", ""),
        CONTENT_SECURITY_POLICY
    );
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"swagger-ui\""), "{html}");
    // No inline script: every <script> names its file.
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=").count(),
        "{html}"
    );

    let scripts = references(&html, "src");
    let styles: Vec<String> = references(&html, "href");
    assert!(scripts.len() >= 3, "{scripts:?}");
    for asset in scripts.iter().chain(&styles) {
        assert!(
            !asset.contains("://") && !asset.starts_with("//"),
            "{asset} is fetched from outside the binary"
        );
        let path = format!("/api/docs/{}", asset.trim_start_matches("./"));
        let answer = app.http.get(app.url(&path)).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{path}");
        let kind = answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let expected = if asset.ends_with(".js") {
            "javascript"
        } else if asset.ends_with(".css") {
            "text/css"
        } else {
            "image/png"
        };
        assert!(kind.contains(expected), "{path}: {kind}");
    }

    let init = app
        .http
        .get(app.url("/api/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(init.contains("/api/v1/openapi.json"), "{init}");
    assert!(!init.contains("petstore"), "{init}");
    assert!(
        init.contains("\"validatorUrl\": \"none\"") || init.contains("\"validatorUrl\":\"none\""),
        "the online validator is an outside fetch: {init}"
    );
    // The desktop keeps its own policy.
    let desktop = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(
        desktop.headers()["content-security-policy"],
        CONTENT_SECURITY_POLICY
    );
    // The document Swagger UI reads is there.
    let doc = app.openapi().await;
    assert_eq!(doc["openapi"], "3.1.0");
}

#[tokio::test]
async fn openapi_lists_every_webhook_event_with_its_payload_schema() {
    let app = spawn_app().await;
    let doc = app.openapi().await;
    let webhooks = doc["webhooks"].as_object().expect("a webhooks object");
    assert_eq!(webhooks.len(), WEBHOOK_EVENTS.len());
    assert!(
        doc["components"]["schemas"]["WebhookEvent"]["properties"]["interaction_id"].is_object(),
        "{}",
        doc["components"]["schemas"]["WebhookEvent"]
    );
    for event in WEBHOOK_EVENTS {
        let post = &webhooks[event.name]["post"];
        let schema = &post["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(
            schema["allOf"][0]["$ref"], "#/components/schemas/WebhookEvent",
            "{}",
            event.name
        );
        assert_eq!(
            schema["allOf"][1]["properties"]["type"]["const"],
            event.name
        );
        let required = schema["allOf"][1]["required"].as_array().unwrap();
        assert_eq!(
            required.iter().any(|r| r == "transcript"),
            event.transcript,
            "{}",
            event.name
        );
        let headers: Vec<&str> = post["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            headers,
            [
                "X-Backline-Event",
                "X-Backline-Delivery",
                "X-Backline-Timestamp",
                "X-Backline-Signature"
            ]
        );
    }
}

/// The Python receiver of docs/integration.md, run as printed there.
fn guide_receiver() -> String {
    let guide = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/integration.md"),
    )
    .unwrap();
    let start = guide.find("```python\n").expect("a Python block") + "```python\n".len();
    let end = start + guide[start..].find("```").unwrap();
    guide[start..end].to_owned()
}

#[tokio::test]
async fn integration_guide_receiver_verifies_a_real_delivery() {
    use tokio::io::AsyncBufReadExt;

    let python = match std::process::Command::new("python3")
        .arg("--version")
        .output()
    {
        Ok(out) if out.status.success() => "python3",
        _ => {
            eprintln!("python3 not found: the integration guide's receiver was not run");
            return;
        }
    };
    let app = spawn_app().await;
    let port = crate::webhooks::free_port();
    app.user("alice", "Alice").await;
    let (platform, secret) =
        crate::webhooks::integration_with_secret(&app, &format!("http://127.0.0.1:{port}/")).await;
    let script = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(script.path(), guide_receiver()).unwrap();
    let mut receiver = tokio::process::Command::new(python)
        .arg(script.path())
        .env("WEBHOOK_SECRET", &secret)
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(receiver.stdout.take().unwrap()).lines();
    // Wait until it listens, then a request with a wrong signature is refused.
    let forged = loop {
        let answer = app
            .http
            .post(format!("http://127.0.0.1:{port}/"))
            .header(
                "x-backline-timestamp",
                (backline_store::now_ms() / 1000).to_string(),
            )
            .header("x-backline-signature", format!("sha256={}", "0".repeat(64)))
            .body(r#"{"id":"x","type":"interaction.created"}"#)
            .send()
            .await;
        match answer {
            Ok(answer) => break answer.status(),
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    };
    assert_eq!(forged, 401);
    let (status, _) = app
        .post(
            &platform,
            "/api/v1/platform/interactions",
            crate::interactions::voice_call("call-1001", "alice"),
        )
        .await;
    assert_eq!(status, 201);
    let line = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
        .await
        .expect("the receiver verified a delivery")
        .unwrap()
        .unwrap();
    assert_eq!(line, "verified interaction.created call-1001");
}
