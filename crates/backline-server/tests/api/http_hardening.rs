//! HTTP hardening: connection cap and time-outs (the real binary), the
//! per-request time budget, security headers, the origin rule for
//! cookie-authenticated changes, and access to `/metrics`.

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::binary;
use crate::helpers::{metric_value, spawn_app, spawn_app_with, TestApp, WAIT};

/// Reads what the server sends until it closes the connection (or `WAIT` passes).
async fn read_until_closed(stream: &mut TcpStream) -> Option<String> {
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(WAIT, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|_| String::from_utf8_lossy(&answer).into_owned())
}

fn host_port(url: &str) -> String {
    url.trim_start_matches("http://").to_owned()
}

/// Row: 1,050 silent connections exhausted the file descriptors and nothing
/// answered. Now: past `http.max_connections` connections are refused (one log
/// line, not one per connection), silent ones are closed after the
/// header-read time-out, and health checks answer throughout on the metrics
/// listener and, once the silent ones are gone, on the main one.
#[tokio::test]
async fn idle_connections_past_the_cap_are_refused_and_silent_ones_closed() {
    let dir = tempfile::tempdir().unwrap();
    let (server, private, lines) = binary::start_observed(
        dir.path(),
        &[
            ("BACKLINE_HTTP__MAX_CONNECTIONS", "50"),
            ("BACKLINE_HTTP__HEADER_READ_TIMEOUT_SECS", "2"),
            ("BACKLINE_TELEMETRY__FORMAT", "json"),
        ],
    );
    let main = host_port(&server.base);
    let mut idle = Vec::new();
    for _ in 0..60 {
        idle.push(TcpStream::connect(&main).await.expect("connect"));
    }
    // The health checks answer on the metrics listener while the main one is full.
    let http = reqwest::Client::new();
    let health = http.get(format!("{private}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = http.get(format!("{private}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    // Every silent connection is closed by the server: the ten past the cap at
    // once with a 503, the others after the header-read time-out.
    let mut refused = 0;
    for stream in &mut idle {
        let answer = read_until_closed(stream)
            .await
            .expect("the server closes a silent connection");
        if answer.starts_with("HTTP/1.1 503") {
            refused += 1;
        }
    }
    assert_eq!(refused, 10, "connections past the cap of 50 are refused");
    let health = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the main listener answers again");
    // One line says the listener is full; the other nine refusals are counted, not logged.
    let full: Vec<Value> = lines
        .try_iter()
        .filter_map(|line| serde_json::from_str::<Value>(&line).ok())
        .filter(|line| {
            line["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("connection limit reached"))
        })
        .collect();
    assert_eq!(full.len(), 1, "{full:?}");
    assert_eq!(full[0]["fields"]["max_connections"], 50, "{full:?}");
    drop(server);
}

/// A WebSocket is not an idle HTTP connection: it outlives the header-read
/// time-out and the request budget, while a silent connection does not.
#[tokio::test]
async fn an_idle_websocket_outlives_the_http_time_outs() {
    let app = spawn_app_with(|config| {
        config.http.header_read_timeout_secs = 1;
        config.http.request_timeout_secs = 1;
    })
    .await;
    let alice = app.user("alice", "Alice Agent").await;
    let mut desktop = app.desktop(&alice, None).await;
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    read_until_closed(&mut silent)
        .await
        .expect("a silent connection is closed after the header-read time-out");
    // The socket, idle for longer than both time-outs, still answers.
    desktop
        .send(json!({"type": "ping", "rid": "still-there"}))
        .await;
    let pong = desktop.until("pong", |f| f["type"] == "pong").await;
    assert_eq!(pong["rid"], "still-there");
}

/// Row: a REST request has a time budget (`http.request_timeout_secs`); a
/// request still unanswered past it, here one whose body never finishes
/// arriving, is answered `request_timeout`.
#[tokio::test]
async fn a_request_over_its_time_budget_is_answered_request_timeout() {
    let app = spawn_app_with(|config| {
        config.http.request_timeout_secs = 1;
        // Headers arrive at once; only the budget can end this request.
        config.http.header_read_timeout_secs = 60;
    })
    .await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/auth/sign-in HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
         content-length: 100\r\n\r\n{{\"username\":",
        app.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut stream)
        .await
        .expect("the server answers within its budget");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Row: the desktop could be framed and had no CSP. Every answer — the
/// desktop, the click-to-call page, the API — now forbids framing, sniffing
/// and referrers and carries a CSP without inline script.
#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in ["/", "/call", "/api/v1/me", "/api/v1/nowhere", "/healthz"] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        let csp = header(&response, "content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("connect-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(header(&response, "x-frame-options"), "DENY", "{path}");
        assert_eq!(
            header(&response, "x-content-type-options"),
            "nosniff",
            "{path}"
        );
        assert_eq!(
            header(&response, "referrer-policy"),
            "no-referrer",
            "{path}"
        );
        assert_eq!(header(&response, "strict-transport-security"), "", "{path}");
    }
    let app = spawn_app_with(|config| config.http.hsts = true).await;
    let response = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(
        header(&response, "strict-transport-security"),
        "max-age=31536000"
    );
}

/// A request as a browser sends it: the session cookie, and `Origin`.
async fn with_cookie(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    origin: Option<&str>,
) -> (u16, Value) {
    let mut request = app
        .http
        .request(method, app.url(path))
        .header("cookie", format!("backline_session={token}"));
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Row: body-less cookie-authenticated POSTs from a foreign origin were
/// obeyed. Every state-changing route now refuses them with
/// `origin_not_allowed` before acting; the same requests from the server's
/// own origin, or with a bearer token, go through.
#[tokio::test]
async fn cookie_authenticated_changes_from_another_origin_are_refused() {
    use reqwest::Method;
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Agent").await;
    let session = app.open_session(&alice, &bob, None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let own = format!("http://{}", app.addr);
    let foreign = "https://evil.example";
    let call = uuid::Uuid::now_v7();
    let table = [
        (
            Method::POST,
            format!("/api/v1/sessions/{session}/cancel"),
            &alice,
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{session}/accept"),
            &bob,
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{session}/reject"),
            &bob,
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{session}/end"),
            &alice,
        ),
        (Method::POST, format!("/api/v1/calls/{call}/hold"), &alice),
        (
            Method::POST,
            format!("/api/v1/calls/{call}/hang-up"),
            &alice,
        ),
        (
            Method::PUT,
            format!("/api/v1/favourites/{}", bob.id),
            &alice,
        ),
        (
            Method::DELETE,
            format!("/api/v1/favourites/{}", bob.id),
            &alice,
        ),
        (Method::PUT, "/api/v1/me/status".to_owned(), &alice),
        (Method::POST, "/api/v1/auth/sign-out".to_owned(), &alice),
    ];
    for (method, path, user) in &table {
        let (status, body) =
            with_cookie(&app, method.clone(), path, &user.token, Some(foreign)).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
        assert_eq!(body["code"], "origin_not_allowed", "{method} {path}");
    }
    // Without Origin, a browser's Sec-Fetch-Site tells a cross-site request.
    let response = app
        .http
        .post(app.url(&format!("/api/v1/sessions/{session}/cancel")))
        .header("cookie", format!("backline_session={}", alice.token))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    // Nothing happened: the invitation is still pending, Alice still signed in.
    let (status, view) = app
        .get(&alice.token, &format!("/api/v1/sessions/{session}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(view["state"], "inviting", "{view}");
    // From the server's own pages every route reaches its handler.
    for (method, path, user) in &table {
        let (status, body) = with_cookie(&app, method.clone(), path, &user.token, Some(&own)).await;
        assert_ne!(
            body["code"], "origin_not_allowed",
            "{method} {path}: {status} {body}"
        );
    }
    // Bearer requests (integrations, the load tool) are not browser requests.
    let carol = app.user("carol", "Carol Agent").await;
    let session = app.open_session(&carol, &bob, None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = app
        .http
        .post(app.url(&format!("/api/v1/sessions/{session}/cancel")))
        .bearer_auth(&carol.token)
        .header("origin", foreign)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// Row: `/metrics` was open to anyone. By default it is served only on the
/// metrics listener (`metrics.bind`, loopback); with `metrics.token` set it is
/// also served on the main listener, to a request bearing the token.
#[tokio::test]
async fn metrics_need_the_private_listener_or_the_token() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let private = app.private_addr.expect("a metrics listener by default");
    let response = app
        .http
        .get(format!("http://{private}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("backline_"));

    let app = spawn_app_with(|config| config.metrics.token = "s3cret-scrape".into()).await;
    let private = app.private_addr.unwrap();
    for base in [app.url(""), format!("http://{private}")] {
        let url = format!("{base}/metrics");
        let response = app.http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 401, "{url}");
        let response = app
            .http
            .get(&url)
            .bearer_auth("s3cret-scrapf")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{url}");
        let response = app
            .http
            .get(&url)
            .bearer_auth("s3cret-scrape")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{url}");
        assert!(
            response.text().await.unwrap().contains("backline_"),
            "{url}"
        );
    }
}

/// Row: a send's latency was a summary, whose quantiles cover a rolling window
/// of one process: no p99 over a chosen interval, none across nodes. The
/// latencies on a message's path are histograms: cumulative buckets that end
/// with `+Inf`, which equals the count.
#[tokio::test]
async fn a_sends_latency_is_a_histogram_with_buckets() {
    let app = spawn_app().await;
    let alice = app.user("alice", "Alice Agent").await;
    let bob = app.user("bob", "Bob Builder").await;
    let session = app.connected_session(&alice, &bob).await;
    let mut desktop = app.desktop(&alice, None).await;
    desktop
        .send(json!({"type": "send", "rid": "r1", "session_id": session,
                     "client_msg_id": "c1", "text": "timed"}))
        .await;
    let ack = desktop.until("ack", |f| f["type"] == "ack").await;
    assert_eq!(ack["rid"], "r1", "{ack}");

    let text = app.metrics_text().await;
    for name in [
        "backline_send_seconds",
        "backline_store_commit_seconds",
        "backline_store_commit_statement_seconds",
    ] {
        let value = |suffix: &str| metric_value(&text, &format!("{name}{suffix}"));
        let count = value("_count").unwrap_or_else(|| panic!("no {name}_count"));
        assert!(count >= 1.0, "{name}: {count}");
        let under_2ms =
            value("_bucket{le=\"0.002\"}").unwrap_or_else(|| panic!("no 2 ms bucket for {name}"));
        let all = value("_bucket{le=\"+Inf\"}").unwrap_or_else(|| panic!("no +Inf for {name}"));
        assert_eq!(all, count, "{name}");
        assert!(under_2ms <= all, "{name}");
        assert!(
            !text.contains(&format!("{name}{{quantile=")),
            "{name} is still a summary"
        );
    }
}
