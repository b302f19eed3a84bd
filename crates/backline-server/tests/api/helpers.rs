//! The test harness: `spawn_app`, a REST helper per endpoint, and a WebSocket desktop client.

use std::time::Duration;

use backline_server::config::Config;
use backline_server::startup::{open_backline, Application};
use backline_service::Backline;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const PASSWORD: &str = "correct horse";

pub struct TestApp {
    pub addr: std::net::SocketAddr,
    /// The metrics and health-check listener (`metrics.bind`).
    pub private_addr: Option<std::net::SocketAddr>,
    pub http: reqwest::Client,
    pub backline: Backline,
    pub config: Config,
    _dir: Option<tempfile::TempDir>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// A server on a fresh SQLite file with default settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server on a fresh database; `tweak` adjusts the configuration.
///
/// The database is a SQLite file, or, when `BACKLINE_TEST_API_ON_POSTGRES`
/// is set, a fresh database on the server of `BACKLINE_TEST_POSTGRES_URL`
/// (`scripts/test` runs the suite both ways).
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.server.bind = "127.0.0.1:0".into();
    config.server.data_dir = dir.path().to_path_buf();
    config.server.shutdown_grace_secs = 2;
    if std::env::var_os("BACKLINE_TEST_API_ON_POSTGRES").is_some() {
        let admin = std::env::var("BACKLINE_TEST_POSTGRES_URL")
            .expect("BACKLINE_TEST_API_ON_POSTGRES needs BACKLINE_TEST_POSTGRES_URL");
        config.database.url = backline_store::testing::fresh_postgres_database(&admin)
            .await
            .expect("fresh PostgreSQL database");
    }
    tweak(&mut config);
    spawn_with_config(config, Some(dir)).await
}

pub async fn spawn_with_config(mut config: Config, dir: Option<tempfile::TempDir>) -> TestApp {
    // Many servers run at once: the metrics listener takes a free port too.
    if config.metrics.bind == Config::default().metrics.bind {
        config.metrics.bind = "127.0.0.1:0".into();
    }
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt().with_env_filter("info").try_init();
    }
    let backline = open_backline(&config).await.expect("open");
    let app = Application::with_backline(config.clone(), backline.clone())
        .await
        .expect("build");
    let addr = app.local_addr();
    let private_addr = app.private_addr();
    let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        app.run_until_stopped(async {
            let _ = stop.await;
        })
        .await
        .expect("server ran");
    });
    TestApp {
        addr,
        private_addr,
        http: reqwest::Client::new(),
        backline,
        config,
        _dir: dir,
        shutdown: Some(shutdown),
        task: Some(task),
    }
}

/// A signed-in test account.
#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub token: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Creates an account (through the service, as the CLI does) and signs it in over REST.
    pub async fn user(&self, username: &str, display_name: &str) -> User {
        self.user_with(username, display_name, true, vec![]).await
    }

    pub async fn user_with(
        &self,
        username: &str,
        display_name: &str,
        im: bool,
        roles: Vec<backline_protocol::model::Role>,
    ) -> User {
        let created = self
            .backline
            .create_user(
                None,
                backline_protocol::admin::CreateUserRequest {
                    username: username.into(),
                    display_name: display_name.into(),
                    password: PASSWORD.into(),
                    roles,
                    im_permitted: im,
                },
            )
            .await
            .expect("create user");
        let token = self.sign_in(username, PASSWORD).await.1["token"]
            .as_str()
            .expect("token")
            .to_owned();
        User {
            id: created.id,
            token,
        }
    }

    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let response = self
            .http
            .post(self.url("/api/v1/auth/sign-in"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (
            status,
            response.json().await.unwrap_or(Value::Null),
            headers,
        )
    }

    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Value,
    ) -> (u16, Value) {
        let response = self
            .http
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        self.send_json(reqwest::Method::POST, token, path, body)
            .await
    }

    pub async fn put(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        self.send_json(reqwest::Method::PUT, token, path, body)
            .await
    }

    /// `POST /sessions` from `from` to `to`; returns the session view.
    pub async fn open_session(&self, from: &User, to: &User, first: Option<&str>) -> Value {
        let mut body = json!({"target_id": to.id});
        if let Some(text) = first {
            body["first_message"] =
                json!({"client_msg_id": uuid::Uuid::now_v7().to_string(), "text": text});
        }
        let (status, view) = self.post(&from.token, "/api/v1/sessions", body).await;
        assert_eq!(status, 201, "create session: {view}");
        view
    }

    /// A connected session between `a` and `b` (b accepted); returns its id.
    pub async fn connected_session(&self, a: &User, b: &User) -> String {
        let view = self.open_session(a, b, None).await;
        let id = view["id"].as_str().unwrap().to_owned();
        let (status, accepted) = self
            .post(
                &b.token,
                &format!("/api/v1/sessions/{id}/accept"),
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "accept: {accepted}");
        id
    }

    pub async fn send_message(
        &self,
        user: &User,
        session: &str,
        client_msg_id: &str,
        text: &str,
    ) -> (u16, Value) {
        self.post(
            &user.token,
            &format!("/api/v1/sessions/{session}/messages"),
            json!({"client_msg_id": client_msg_id, "text": text}),
        )
        .await
    }

    pub async fn transcript(&self, user: &User, session: &str) -> Vec<Value> {
        let (status, page) = self
            .get(
                &user.token,
                &format!("/api/v1/sessions/{session}/transcript?limit=500"),
            )
            .await;
        assert_eq!(status, 200, "transcript: {page}");
        page["entries"].as_array().cloned().unwrap_or_default()
    }

    /// Opens a desktop socket and authenticates with `hello`.
    pub async fn desktop(&self, user: &User, last_seq: Option<u64>) -> Desktop {
        desktop_at(self.addr, &user.token, last_seq).await
    }
}

/// A desktop signed in with `token` on the server (or load balancer) at
/// `addr`, resuming after `last_seq` when given.
pub async fn desktop_at(addr: std::net::SocketAddr, token: &str, last_seq: Option<u64>) -> Desktop {
    try_desktop_at(addr, token, last_seq)
        .await
        .unwrap_or_else(|error| panic!("{error}"))
}

/// Like `desktop_at`; what went wrong instead of a panic.
pub async fn try_desktop_at(
    addr: std::net::SocketAddr,
    token: &str,
    last_seq: Option<u64>,
) -> Result<Desktop, String> {
    let mut desktop = Desktop::connect_with(addr, None)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut hello = json!({"type": "hello", "token": token});
    if let Some(seq) = last_seq {
        hello["last_seq"] = json!(seq);
    }
    desktop
        .ws
        .send(Message::Text(hello.to_string().into()))
        .await
        .map_err(|e| format!("send hello: {e}"))?;
    let welcome = desktop.try_next(WAIT).await.unwrap_or(Value::Null);
    if welcome["type"] != "welcome" {
        return Err(format!("expected welcome, got {welcome}"));
    }
    desktop.head = welcome["head"].as_u64().unwrap();
    desktop.last_seq = last_seq.unwrap_or(desktop.head);
    Ok(desktop)
}

/// The value of the line `series value` in Prometheus text, if it is there.
pub fn metric_value(text: &str, series: &str) -> Option<f64> {
    let value = text
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))?;
    Some(value.trim().parse().expect("a metric's value is a number"))
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A desktop's WebSocket, as a browser would hold it.
pub struct Desktop {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub head: u64,
    /// Highest stream seq seen.
    pub last_seq: u64,
    /// The node a load balancer in front chose, when it names it in an
    /// `x-backline-server` header of the upgrade response.
    pub served_by: Option<String>,
}

pub const WAIT: Duration = Duration::from_secs(10);

impl Desktop {
    pub async fn connect(addr: std::net::SocketAddr) -> Desktop {
        Self::connect_with(addr, None).await.expect("connect")
    }

    pub async fn connect_with(
        addr: std::net::SocketAddr,
        origin: Option<&str>,
    ) -> Result<Desktop, tokio_tungstenite::tungstenite::Error> {
        let mut request = format!("ws://{addr}/api/v1/ws")
            .into_client_request()
            .unwrap();
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", origin.parse().unwrap());
        }
        let (ws, response) = tokio_tungstenite::connect_async(request).await?;
        let served_by = response
            .headers()
            .get("x-backline-server")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Ok(Desktop {
            ws,
            head: 0,
            last_seq: 0,
            served_by,
        })
    }

    pub async fn send(&mut self, frame: Value) {
        self.ws
            .send(Message::Text(frame.to_string().into()))
            .await
            .expect("send frame");
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.to_owned().into()))
            .await
            .expect("send frame");
    }

    /// The next text frame (ignoring pings); panics after `WAIT`.
    pub async fn next(&mut self) -> Value {
        self.try_next(WAIT).await.expect("a frame in time")
    }

    /// The next text frame within `wait`, or None on time-out or close.
    pub async fn try_next(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()??;
            match message {
                Ok(Message::Text(text)) => {
                    let value: Value = serde_json::from_str(&text).expect("json frame");
                    if value["type"] == "event" {
                        self.last_seq = self.last_seq.max(value["seq"].as_u64().unwrap());
                    }
                    return Some(value);
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Waits for the close frame; returns its code.
    pub async fn closed_with(&mut self) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(_))) | Ok(None) => return None,
                Err(_) => panic!("no close in time"),
            }
        }
    }

    /// Skips frames until one satisfies `pred`; returns it.
    pub async fn until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.try_next(remaining).await {
                Some(frame) if pred(&frame) => return frame,
                Some(_) => continue,
                None => panic!("no frame matching {what} in time"),
            }
        }
    }

    /// Waits for a stream event of `kind` (and, for transcript events, entry kind `entry`).
    pub async fn event(&mut self, kind: &str) -> Value {
        self.until(kind, |f| f["type"] == "event" && f["event"]["kind"] == kind)
            .await
    }

    pub async fn entry(&mut self, entry_kind: &str) -> Value {
        self.until(entry_kind, |f| {
            f["type"] == "event"
                && f["event"]["kind"] == "transcript"
                && f["event"]["entry"]["kind"] == entry_kind
        })
        .await
    }

    /// Collects every frame that arrives until `quiet` passes without one.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<Value> {
        let mut frames = Vec::new();
        while let Some(frame) = self.try_next(quiet).await {
            frames.push(frame);
        }
        frames
    }
}

impl TestApp {
    /// One request with any method, an optional bearer token and an optional
    /// JSON body; returns the status and the body (`Null` when not JSON).
    pub async fn request(
        &self,
        method: reqwest::Method,
        token: Option<&str>,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `/metrics` as Prometheus text, from the metrics listener.
    pub async fn metrics_text(&self) -> String {
        let private = self.private_addr.expect("the metrics listener");
        self.http
            .get(format!("http://{private}/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// The live OpenAPI document the server publishes.
    pub async fn openapi(&self) -> Value {
        let (status, doc) = self
            .request(reqwest::Method::GET, None, "/api/v1/openapi.json", None)
            .await;
        assert_eq!(status, 200, "openapi.json: {doc}");
        doc
    }
}

/// Every `(METHOD, path template)` of an OpenAPI document, e.g. `("POST", "/sessions/{id}/end")`.
pub fn openapi_operations(doc: &Value) -> std::collections::BTreeSet<(String, String)> {
    const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options"];
    let mut out = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("openapi paths") {
        for method in METHODS {
            if item.get(*method).is_some() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}
