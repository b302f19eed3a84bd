//! The desktop WebSocket: authenticate, resume the event stream, then relay
//! live events and handle client frames.
//!
//! One task per socket. Order of a connection's life:
//! 1. the first frame must be `hello` (within 10 s); its token, or the cookie, authenticates;
//! 2. the connection registers in the hub *before* the stream head is read,
//!    so that no event committed meanwhile can fall between replay and live;
//! 3. stored events after `last_seq` are replayed (or `resume_gap` is sent);
//! 4. live events are sent in seq order: one already sent is skipped, and a
//!    gap (an event published out of order by another node) is filled from the store.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use backline_protocol::frames::{ClientFrame, ServerFrame};
use backline_protocol::ErrorCode;
use backline_service::auth::Account;
use backline_service::hub::{kill_reason, Outbound};
use backline_service::stream::ResumeFrom;
use backline_service::{Backline, ServiceError};
use futures::future::BoxFuture;
use futures::stream::FuturesOrdered;
use futures::StreamExt;

use crate::error::ApiError;
use crate::http::origin::origin_allowed;
use crate::state::{AppState, SESSION_COOKIE};

const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// A socket write that cannot complete in this time means the desktop has
/// stopped reading: it is cut off as a slow consumer and resumes later.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
const REPLAY_PAGE: i64 = 500;

/// # `GET /api/v1/ws`
pub async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&headers, &state.config.server.allowed_origins) {
        return ApiError::new(
            ErrorCode::OriginNotAllowed,
            "this page's origin may not open the Backline socket",
        )
        .into_response();
    }
    let cookie_token = CookieJar::from_headers(&headers)
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_owned());
    // Frames above the configured limit are answered with `payload_too_large`
    // by the loop; the transport's own cap is only a backstop.
    let max_frame = state.config.limits.max_frame_bytes;
    ws.max_message_size(max_frame.saturating_mul(4).max(1 << 20))
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            Connection::run(state, socket, cookie_token).await;
        })
}

struct Connection {
    state: AppState,
    socket: WebSocket,
    last_sent: u64,
    /// The hub's kill token, once registered: it also interrupts a blocked write.
    kill: tokio_util::sync::CancellationToken,
    /// Sends queued in the writer and not yet answered, oldest first: the
    /// socket goes on reading, delivering and pinging while they commit, and
    /// answers them in order. Made on the first send (idle sockets stay small).
    pending: Option<Box<FuturesOrdered<BoxFuture<'static, String>>>>,
}

/// Most sends of one socket in flight at once; past that the socket stops
/// reading until the oldest is answered.
const MAX_PIPELINED_SENDS: usize = 64;

impl Connection {
    async fn run(state: AppState, socket: WebSocket, cookie_token: Option<String>) {
        let mut conn = Connection {
            state,
            socket,
            last_sent: 0,
            kill: Default::default(),
            pending: None,
        };
        // Boxed: a connection's future is as large as its largest await point,
        // and thousands of them sit idle; the rarely taken paths live on the heap.
        let (account, last_seq, token_hash) = match Box::pin(conn.hello(cookie_token)).await {
            Some(Principal::Agent(account, last_seq, token_hash)) => {
                (account, last_seq, token_hash)
            }
            Some(Principal::Caller { call_id, party_id }) => {
                Box::pin(conn.run_caller(&call_id, &party_id)).await;
                return;
            }
            None => return,
        };
        let backline = conn.state.backline.clone();
        let (mut registration, edge) = backline.hub().register(&account.id, Some(&token_hash));
        conn.kill = registration.kill.clone();
        if edge == backline_service::hub::Edge::Up {
            Box::pin(backline.announce_presence(&account.id, true)).await;
        }
        let outcome = conn.serve(&account, last_seq, &mut registration).await;
        if let Err(error) = outcome {
            tracing::debug!(error.message = %error, user = %account.username, "connection ended with an error");
        }
        if backline.hub().unregister(registration.id) == backline_service::hub::Edge::Down {
            backline.announce_presence(&account.id, false).await;
        }
    }

    async fn send(&mut self, frame: &ServerFrame) -> Result<(), axum::Error> {
        let text = serde_json::to_string(frame).unwrap_or_default();
        self.send_text(&text).await
    }

    async fn send_text(&mut self, text: &str) -> Result<(), axum::Error> {
        let kill = self.kill.clone();
        let write = tokio::time::timeout(
            WRITE_TIMEOUT,
            self.socket.send(Message::Text(Utf8Bytes::from(text))),
        );
        let outcome = tokio::select! {
            outcome = write => outcome.ok(),
            _ = kill.cancelled() => None,
        };
        match outcome {
            Some(result) => result,
            None => {
                metrics::counter!("backline_slow_consumer_disconnects_total").increment(1);
                Err(axum::Error::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "slow consumer: a write did not complete in time",
                )))
            }
        }
    }

    async fn close(&mut self, code: u16, reason: ErrorCode) {
        let close = Message::Close(Some(CloseFrame {
            code,
            reason: reason.as_str().into(),
        }));
        let _ = tokio::time::timeout(Duration::from_secs(2), self.socket.send(close)).await;
    }

    async fn error(
        &mut self,
        rid: Option<String>,
        code: ErrorCode,
        message: String,
    ) -> Result<(), axum::Error> {
        self.send_text(&error_frame(rid, code, message)).await
    }

    /// Refuses the connection: an `error` frame, then close 4001.
    async fn refuse(&mut self, code: ErrorCode, message: String) {
        let _ = self.error(None, code, message).await;
        self.close(4001, code).await;
    }

    /// Waits for `hello` and authenticates it: an agent's session token, or
    /// the click-to-call page's caller token.
    async fn hello(&mut self, cookie_token: Option<String>) -> Option<Principal> {
        let first = tokio::time::timeout(HELLO_TIMEOUT, self.socket.next()).await;
        let hello = match first {
            Ok(Some(Ok(Message::Text(text)))) => serde_json::from_str::<ClientFrame>(&text).ok(),
            _ => None,
        };
        let Some(ClientFrame::Hello { token, last_seq }) = hello else {
            self.refuse(
                ErrorCode::Unauthenticated,
                "the first frame must be hello".into(),
            )
            .await;
            return None;
        };
        let Some(token) = token.or(cookie_token) else {
            self.refuse(
                ErrorCode::Unauthenticated,
                "no session token: sign in".into(),
            )
            .await;
            return None;
        };
        if token.starts_with("blc_") {
            return match self.state.backline.authenticate_caller(&token).await {
                Ok((call_id, party_id)) => Some(Principal::Caller { call_id, party_id }),
                Err(error) => {
                    self.refuse(error.code(), error.public_message()).await;
                    None
                }
            };
        }
        match self.state.backline.authenticate(&token).await {
            Ok(account) => Some(Principal::Agent(
                account,
                last_seq,
                backline_service::auth::token_hash(&token),
            )),
            Err(error) => {
                self.refuse(error.code(), error.public_message()).await;
                None
            }
        }
    }

    async fn serve(
        &mut self,
        account: &Account,
        last_seq: Option<u64>,
        registration: &mut backline_service::hub::Registration,
    ) -> Result<(), axum::Error> {
        let backline = self.state.backline.clone();
        let me = match Box::pin(backline.me(&account.id)).await {
            Ok(me) => me,
            Err(error) => {
                self.error(None, error.code(), error.public_message())
                    .await?;
                self.close(1011, error.code()).await;
                return Ok(());
            }
        };
        let head = me.head;
        self.send(&ServerFrame::Welcome {
            me,
            head,
            node: backline.bus().node().to_owned(),
        })
        .await?;
        self.last_sent = head;
        if let Some(last_seq) = last_seq {
            match Box::pin(backline.resume_point(&account.id, last_seq, head)).await {
                Ok(ResumeFrom::After(after)) => {
                    self.last_sent = after;
                    Box::pin(self.replay(&backline, &account.id, head)).await?;
                }
                Ok(ResumeFrom::Gap { oldest, head }) => {
                    self.send(&ServerFrame::ResumeGap { oldest, head }).await?;
                }
                Err(error) => {
                    self.error(None, error.code(), error.public_message())
                        .await?;
                }
            }
        }

        let mut ping = tokio::time::interval(Duration::from_secs(
            self.state.config.ws.ping_interval_secs.max(1),
        ));
        ping.tick().await;
        let mut last_heard = tokio::time::Instant::now();
        let idle_limit = Duration::from_secs(self.state.config.ws.ping_interval_secs.max(1) * 3);
        let shutdown = backline.shutdown_token().clone();
        loop {
            tokio::select! {
                biased;
                _ = registration.kill.cancelled() => {
                    let (code, reason) = match registration.reason.load(Ordering::Relaxed) {
                        kill_reason::SLOW_CONSUMER => (4008, ErrorCode::SlowConsumer),
                        kill_reason::SIGNED_OUT => (4001, ErrorCode::SessionExpired),
                        _ => (1001, ErrorCode::ShuttingDown),
                    };
                    self.close(code, reason).await;
                    return Ok(());
                }
                _ = shutdown.cancelled() => {
                    self.close(1001, ErrorCode::ShuttingDown).await;
                    return Ok(());
                }
                outbound = registration.receiver.recv() => {
                    match outbound {
                        Some(Outbound::Event { seq, frame }) => {
                            Box::pin(self.live_event(&backline, &account.id, seq, &frame)).await?
                        }
                        Some(Outbound::Frame(frame)) => self.send_text(&frame).await?,
                        None => return Ok(()),
                    }
                }
                Some(answer) = next_answer(&mut self.pending) => {
                    self.send_text(&answer).await?;
                }
                incoming = self.socket.next(), if pending_sends(&self.pending) < MAX_PIPELINED_SENDS => {
                    last_heard = tokio::time::Instant::now();
                    match incoming {
                        Some(Ok(Message::Text(text))) => {
                            Box::pin(self.handle_text(&backline, account, registration.id, &text)).await?;
                        }
                        Some(Ok(Message::Binary(_))) => {
                            self.error(None, ErrorCode::MalformedRequest, "frames are JSON text, not binary".into()).await?;
                        }
                        Some(Ok(Message::Close(_))) | None => return Ok(()),
                        Some(Ok(_)) => {}
                        Some(Err(error)) => return Err(error),
                    }
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() > idle_limit {
                        self.close(1001, ErrorCode::Unavailable).await;
                        return Ok(());
                    }
                    self.socket.send(Message::Ping(Default::default())).await?;
                    // The bus is a notification, the store the truth: a bus
                    // message lost between nodes would otherwise wait for the
                    // user's next event. Once per ping, catch up with the head.
                    if let Ok(head) = Box::pin(backline.stream_head(&account.id)).await {
                        if head > self.last_sent {
                            Box::pin(self.replay(&backline, &account.id, head)).await?;
                        }
                    }
                }
            }
        }
    }

    /// Sends stored events after `self.last_sent` up to `head`, in pages.
    async fn replay(
        &mut self,
        backline: &Backline,
        user_id: &str,
        head: u64,
    ) -> Result<(), axum::Error> {
        while self.last_sent < head {
            let frames = match backline
                .event_frames(user_id, self.last_sent, head, REPLAY_PAGE)
                .await
            {
                Ok(frames) => frames,
                Err(error) => {
                    self.error(None, error.code(), error.public_message())
                        .await?;
                    return Ok(());
                }
            };
            if frames.is_empty() {
                break;
            }
            for (seq, frame) in frames {
                self.send_text(&frame).await?;
                self.last_sent = seq;
            }
        }
        Ok(())
    }

    async fn live_event(
        &mut self,
        backline: &Backline,
        user_id: &str,
        seq: u64,
        frame: &str,
    ) -> Result<(), axum::Error> {
        if seq <= self.last_sent {
            return Ok(());
        }
        if seq > self.last_sent + 1 {
            self.replay(backline, user_id, seq - 1).await?;
        }
        self.send_text(frame).await?;
        self.last_sent = seq;
        metrics::counter!("backline_events_delivered_total").increment(1);
        Ok(())
    }

    async fn handle_text(
        &mut self,
        backline: &Backline,
        account: &Account,
        conn_id: u64,
        text: &str,
    ) -> Result<(), axum::Error> {
        metrics::counter!("backline_ws_frames_in_total").increment(1);
        if text.len() > self.state.config.limits.max_frame_bytes {
            self.error(
                None,
                ErrorCode::PayloadTooLarge,
                format!(
                    "a frame is at most {} bytes",
                    self.state.config.limits.max_frame_bytes
                ),
            )
            .await?;
            return Ok(());
        }
        if let Err((rid, error)) = backline_service::input::check_frame(text) {
            self.service_error(rid, error).await?;
            return Ok(());
        }
        let frame = match serde_json::from_str::<ClientFrame>(text) {
            Ok(frame) => frame,
            Err(parse_error) => {
                let (code, message) = classify_bad_frame(text, &parse_error);
                self.error(None, code, message).await?;
                return Ok(());
            }
        };
        match frame {
            ClientFrame::Hello { .. } => {
                self.error(
                    None,
                    ErrorCode::InvalidRequest,
                    "hello is only valid as the first frame".into(),
                )
                .await?;
            }
            ClientFrame::Send {
                rid,
                session_id,
                client_msg_id,
                text,
            } => {
                let started = std::time::Instant::now();
                match backline
                    .start_send_message(account, &session_id, &client_msg_id, &text)
                    .await
                {
                    Ok(ack) => {
                        let answer = async move {
                            match ack.await {
                                Ok(ack) => {
                                    metrics::counter!("backline_messages_total").increment(1);
                                    metrics::histogram!("backline_send_seconds")
                                        .record(started.elapsed().as_secs_f64());
                                    serde_json::to_string(&ServerFrame::Ack { rid, ack })
                                        .unwrap_or_default()
                                }
                                Err(error) => service_error_frame(Some(rid), error),
                            }
                        };
                        self.pending
                            .get_or_insert_with(Default::default)
                            .push_back(Box::pin(answer));
                    }
                    // Behind sends still in flight, a refusal waits its turn:
                    // a socket's sends are answered in the order they came.
                    Err(error) if pending_sends(&self.pending) > 0 => {
                        let frame = service_error_frame(Some(rid), error);
                        self.pending
                            .get_or_insert_with(Default::default)
                            .push_back(Box::pin(std::future::ready(frame)));
                    }
                    Err(error) => self.service_error(Some(rid), error).await?,
                }
            }
            ClientFrame::Typing { session_id, state } => {
                if let Err(error) = backline.typing(account, &session_id, state).await {
                    self.service_error(None, error).await?;
                }
            }
            ClientFrame::Mark {
                rid,
                session_id,
                kind,
                seq,
            } => match backline.mark(account, &session_id, kind, seq).await {
                Ok(()) => {
                    if let Some(rid) = rid {
                        self.send(&ServerFrame::Ok { rid }).await?;
                    }
                }
                Err(error) => self.service_error(rid, error).await?,
            },
            ClientFrame::Watch { user_ids } => {
                if user_ids.len() > 500 {
                    self.error(
                        None,
                        ErrorCode::InvalidRequest,
                        "watch: at most 500 user ids".into(),
                    )
                    .await?;
                    return Ok(());
                }
                backline.hub().watch(conn_id, &user_ids);
                match backline.presence(&user_ids).await {
                    Ok(list) => {
                        for p in list {
                            self.send(&ServerFrame::Presence {
                                user_id: p.user_id,
                                status: p.status,
                                reason: p.reason,
                            })
                            .await?;
                        }
                    }
                    Err(error) => self.service_error(None, error).await?,
                }
            }
            ClientFrame::Ping { rid } => self.send(&ServerFrame::Pong { rid }).await?,
            ClientFrame::Signal {
                call_id,
                to,
                signal,
            } => {
                if let Err(error) = backline
                    .relay_signal(&account.id, &call_id, &to, signal)
                    .await
                {
                    self.service_error(None, error).await?;
                }
            }
        }
        Ok(())
    }

    async fn service_error(
        &mut self,
        rid: Option<String>,
        error: ServiceError,
    ) -> Result<(), axum::Error> {
        self.send_text(&service_error_frame(rid, error)).await
    }
}

/// An `error` frame, counted in the socket error metric.
fn error_frame(rid: Option<String>, code: ErrorCode, message: String) -> String {
    metrics::counter!("backline_ws_errors_total", "code" => code.as_str()).increment(1);
    serde_json::to_string(&ServerFrame::Error { rid, code, message }).unwrap_or_default()
}

/// The `error` frame for a request the service refused.
fn service_error_frame(rid: Option<String>, error: ServiceError) -> String {
    let api: ApiError = error.into();
    error_frame(rid, api.code, api.message)
}

/// The next answered send, in the order the sends were read; never
/// completes while none is pending.
async fn next_answer(
    pending: &mut Option<Box<FuturesOrdered<BoxFuture<'static, String>>>>,
) -> Option<String> {
    match pending {
        Some(queue) if !queue.is_empty() => queue.next().await,
        _ => std::future::pending().await,
    }
}

fn pending_sends(pending: &Option<Box<FuturesOrdered<BoxFuture<'static, String>>>>) -> usize {
    pending.as_ref().map_or(0, |queue| queue.len())
}

/// Who a socket belongs to.
enum Principal {
    /// A desktop: the account, the last stream seq it processed, and the
    /// hash of its session token (signing that token out closes the socket).
    Agent(Account, Option<u64>, String),
    /// The click-to-call page of one call.
    Caller { call_id: String, party_id: String },
}

impl Connection {
    /// The click-to-call page's socket: its call's state, and signalling.
    async fn run_caller(&mut self, call_id: &str, party_id: &str) {
        let backline = self.state.backline.clone();
        let (mut registration, _) = backline.hub().register(party_id, None);
        self.kill = registration.kill.clone();
        let outcome = self
            .serve_caller(&backline, call_id, party_id, &mut registration)
            .await;
        if let Err(error) = outcome {
            tracing::debug!(error.message = %error, call = call_id, "caller connection ended with an error");
        }
        backline.hub().unregister(registration.id);
    }

    async fn serve_caller(
        &mut self,
        backline: &Backline,
        call_id: &str,
        party_id: &str,
        registration: &mut backline_service::hub::Registration,
    ) -> Result<(), axum::Error> {
        match backline.call_view(call_id).await {
            Ok(call) => {
                self.send(&ServerFrame::CallerWelcome {
                    call,
                    party_id: party_id.to_owned(),
                })
                .await?;
            }
            Err(error) => {
                self.refuse(error.code(), error.public_message()).await;
                return Ok(());
            }
        }
        let shutdown = backline.shutdown_token().clone();
        loop {
            tokio::select! {
                biased;
                _ = registration.kill.cancelled() => {
                    self.close(1001, ErrorCode::ShuttingDown).await;
                    return Ok(());
                }
                _ = shutdown.cancelled() => {
                    self.close(1001, ErrorCode::ShuttingDown).await;
                    return Ok(());
                }
                outbound = registration.receiver.recv() => match outbound {
                    Some(Outbound::Frame(frame)) => self.send_text(&frame).await?,
                    Some(Outbound::Event { .. }) => {}
                    None => return Ok(()),
                },
                incoming = self.socket.next() => match incoming {
                    Some(Ok(Message::Text(text))) => match serde_json::from_str::<ClientFrame>(&text) {
                        Ok(ClientFrame::Signal { call_id: signal_call, to, signal }) => {
                            let outcome = if signal_call == call_id {
                                backline.relay_signal(party_id, &signal_call, &to, signal).await
                            } else {
                                Err(ServiceError::new(ErrorCode::NotCallParty, "this connection belongs to another call"))
                            };
                            if let Err(error) = outcome {
                                self.service_error(None, error).await?;
                            }
                        }
                        Ok(ClientFrame::Ping { rid }) => self.send(&ServerFrame::Pong { rid }).await?,
                        Ok(_) => self.error(None, ErrorCode::Forbidden, "a caller connection only signals".into()).await?,
                        Err(parse_error) => {
                            let (code, message) = classify_bad_frame(&text, &parse_error);
                            self.error(None, code, message).await?;
                        }
                    },
                    Some(Ok(Message::Close(_))) | None => return Ok(()),
                    Some(Ok(_)) => {}
                    Some(Err(error)) => return Err(error),
                },
            }
        }
    }
}

/// Tells an unknown frame type from a malformed frame.
fn classify_bad_frame(text: &str, parse_error: &serde_json::Error) -> (ErrorCode, String) {
    const KNOWN: &[&str] = &["hello", "send", "typing", "mark", "watch", "ping", "signal"];
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) => match value.get("type").and_then(|t| t.as_str()) {
            Some(kind) if !KNOWN.contains(&kind) => (
                ErrorCode::UnknownFrameType,
                format!("unknown frame type {kind:?}"),
            ),
            Some(_) => (
                ErrorCode::MalformedRequest,
                format!("malformed frame: {parse_error}"),
            ),
            None => (
                ErrorCode::MalformedRequest,
                "a frame needs a string field \"type\"".into(),
            ),
        },
        Err(_) => (
            ErrorCode::MalformedRequest,
            format!("not JSON: {parse_error}"),
        ),
    }
}
