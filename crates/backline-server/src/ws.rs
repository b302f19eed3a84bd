//! The desktop WebSocket: authenticate, resume the event stream, then relay
//! live events and handle client frames.
//!
//! One task per socket. Order of a connection's life:
//! 1. the first frame must be `hello` (within 10 s); its token, or the cookie, authenticates;
//! 2. the connection registers in the hub *before* the stream head is read,
//!    so that no event committed meanwhile can fall between replay and live;
//! 3. stored events after `last_seq` are replayed (or `resume_gap` is sent);
//! 4. live events are sent in seq order: one already sent is skipped, and a
//!    gap (an event published out of order by another node) is filled from the store;
//! 5. the socket closes (4001) when its session token expires or is revoked:
//!    a timer at the token's expiry, and the hub's kill on revocation (on every
//!    node through the bus; with peers, the token is also checked at each ping).
//!
//! Frame limits: a frame up to `limits.max_frame_bytes` is read; a larger one,
//! up to the transport cap ([`transport_cap`]), is answered `payload_too_large`
//! and the socket stays open; above the cap the server stops reading and
//! closes with 1009. A text frame that is not UTF-8 closes with 1007.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use backline_protocol::frames::{ClientFrame, ServerFrame};
use backline_protocol::voice::CallState;
use backline_protocol::ErrorCode;
use backline_service::auth::Account;
use backline_service::hub::{kill_reason, Cut, Outbound, Registration};
use backline_service::stream::ResumeFrom;
use backline_service::{Backline, ServiceError};
use backline_store::UserId;
use futures::future::BoxFuture;
use futures::stream::FuturesOrdered;
use futures::{SinkExt, StreamExt};

use crate::error::ApiError;
use crate::http::origin::origin_allowed;
use crate::state::{AppState, SESSION_COOKIE};

const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
const REPLAY_PAGE: i64 = 500;
/// How long a socket closed for an oversized frame stays connected after its close frame.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// The largest frame the transport reads at all: four times
/// `limits.max_frame_bytes`, at least 1 MiB. Between the two a frame is
/// answered `payload_too_large`; above, the socket is closed with 1009.
pub fn transport_cap(max_frame_bytes: usize) -> usize {
    max_frame_bytes.saturating_mul(4).max(1 << 20)
}

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
    // by the loop; above the transport cap the frame is not read (its header
    // says its length) and the socket closes with 1009.
    let cap = transport_cap(state.config.limits.max_frame_bytes);
    ws.max_message_size(cap)
        .max_frame_size(cap)
        .read_buffer_size(1024)
        .write_buffer_size(WRITE_BUFFER)
        .on_upgrade(move |socket| async move {
            Connection::run(state, socket, cookie_token).await;
        })
}

struct Connection {
    state: AppState,
    socket: WebSocket,
    last_sent: u64,
    /// The hub's cut, once registered: it also interrupts a blocked write.
    cut: Cut,
    /// A write that takes longer means the desktop has stopped reading: it is
    /// cut off as a slow consumer and resumes later.
    write_timeout: Duration,
    /// Sends queued in the writer and not yet answered, oldest first: the
    /// socket goes on reading, delivering and pinging while they commit, and
    /// answers them in order. Made on the first send (idle sockets stay small).
    pending: Option<Box<FuturesOrdered<BoxFuture<'static, String>>>>,
    /// Frames were queued and not yet written ([`Connection::queue_text`]).
    unflushed: bool,
}

/// Most sends of one socket in flight at once; past that the socket stops
/// reading until the oldest is answered.
const MAX_PIPELINED_SENDS: usize = 64;

/// Queued frames past this many bytes are written at once; fewer wait until
/// the connection has nothing else ready. An idle socket keeps no buffer.
const WRITE_BUFFER: usize = 8 * 1024;

impl Connection {
    async fn run(state: AppState, socket: WebSocket, cookie_token: Option<String>) {
        let write_timeout = Duration::from_secs(state.config.ws.write_timeout_secs.max(1));
        let mut conn = Connection {
            state,
            socket,
            last_sent: 0,
            cut: Cut::default(),
            write_timeout,
            pending: None,
            unflushed: false,
        };
        // Boxed: a connection's future is as large as its largest await point,
        // and thousands of them sit idle; the rarely taken paths live on the heap.
        let agent = match Box::pin(conn.hello(cookie_token)).await {
            Some(Principal::Agent(agent)) => agent,
            Some(Principal::Caller { call_id, party_id }) => {
                Box::pin(conn.run_caller(&call_id, &party_id)).await;
                return;
            }
            None => return,
        };
        let backline = conn.state.backline.clone();
        let account = agent.account.clone();
        let (mut registration, edge) = backline
            .hub()
            .register(account.id.as_str(), Some(&agent.token_hash));
        conn.cut = registration.cut.clone();
        if edge == backline_service::hub::Edge::Up {
            Box::pin(backline.announce_presence(&account.id, true)).await;
        }
        let outcome = conn.serve(agent, &mut registration).await;
        if let Err(error) = outcome {
            tracing::debug!(error.message = %error, user = %account.username, "connection ended with an error");
        }
        // A node that drains says nothing: the others keep its users online
        // until it misses its heartbeats, a grace to reconnect elsewhere
        // without flickering offline for their watchers.
        if backline.hub().unregister(registration.id) == backline_service::hub::Edge::Down
            && !backline.shutdown_token().is_cancelled()
        {
            backline.announce_presence(&account.id, false).await;
        }
    }

    async fn send(&mut self, frame: &ServerFrame) -> Result<(), axum::Error> {
        let text = serde_json::to_string(frame).unwrap_or_default();
        self.send_text(&text).await
    }

    /// Writes one text frame, and any queued before it.
    async fn send_text(&mut self, text: &str) -> Result<(), axum::Error> {
        metrics::counter!("backline_ws_frames_out_total").increment(1);
        metrics::counter!("backline_ws_writes_total").increment(1);
        self.unflushed = false;
        let (cut, limit) = (self.cut.clone(), self.write_timeout);
        bounded(
            cut,
            limit,
            self.socket.send(Message::Text(Utf8Bytes::from(text))),
        )
        .await
    }

    /// Queues one text frame in the socket's write buffer, which goes out
    /// once it holds `WRITE_BUFFER` bytes or when the serve loop has nothing
    /// else ready ([`Self::flush`]): the acks and events one commit makes
    /// ready together leave in one write instead of one each.
    async fn queue_text(&mut self, text: &str) -> Result<(), axum::Error> {
        metrics::counter!("backline_ws_frames_out_total").increment(1);
        self.unflushed = true;
        let (cut, limit) = (self.cut.clone(), self.write_timeout);
        bounded(
            cut,
            limit,
            self.socket.feed(Message::Text(Utf8Bytes::from(text))),
        )
        .await
    }

    /// Writes what [`Self::queue_text`] queued.
    async fn flush(&mut self) -> Result<(), axum::Error> {
        metrics::counter!("backline_ws_writes_total").increment(1);
        self.unflushed = false;
        let (cut, limit) = (self.cut.clone(), self.write_timeout);
        bounded(cut, limit, self.socket.flush()).await
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
        self.refuse_with(4001, code, message).await;
    }

    /// Ends the connection: an `error` frame, then the close `close` with the code as reason.
    async fn refuse_with(&mut self, close: u16, code: ErrorCode, message: String) {
        let _ = self.error(None, code, message).await;
        self.close(close, code).await;
    }

    /// A frame could not be read: one over the transport cap is answered with
    /// 1009, a text frame that is not UTF-8 with 1007 (each after an `error`
    /// frame); any other failure is a broken connection, with nobody to tell.
    async fn read_failed(&mut self, error: axum::Error) {
        match read_failure(error) {
            Some((close, code, message)) => {
                self.refuse_with(close, code, message).await;
                if close == 1009 {
                    // The oversized frame is left unread (it is never
                    // buffered): closing the connection with it unread
                    // resets it, and the peer could lose the close frame.
                    // A moment lets the peer read the close first.
                    tokio::time::sleep(CLOSE_LINGER).await;
                }
            }
            None => tracing::debug!("socket read failed"),
        }
    }

    /// What both loops do with a read that is not a text frame: a binary
    /// frame is answered; false when the socket is done (closed or failed).
    async fn non_text(
        &mut self,
        incoming: Option<Result<Message, axum::Error>>,
    ) -> Result<bool, axum::Error> {
        match incoming {
            Some(Ok(Message::Binary(_))) => {
                self.error(
                    None,
                    ErrorCode::MalformedRequest,
                    "frames are JSON text, not binary".into(),
                )
                .await?;
                Ok(true)
            }
            Some(Ok(Message::Close(_))) | None => Ok(false),
            Some(Ok(_)) => Ok(true),
            Some(Err(error)) => {
                self.read_failed(error).await;
                Ok(false)
            }
        }
    }

    /// A ping tick: a socket silent for `idle_limit` is closed (false), else pinged.
    async fn keepalive(
        &mut self,
        last_heard: tokio::time::Instant,
        idle_limit: Duration,
    ) -> Result<bool, axum::Error> {
        if last_heard.elapsed() > idle_limit {
            self.close(1001, ErrorCode::Unavailable).await;
            return Ok(false);
        }
        self.socket.send(Message::Ping(Default::default())).await?;
        Ok(true)
    }

    /// Reads a text frame after `hello`: the size limit, then JSON, else the
    /// `error` code and message that answer it.
    fn parse_frame(&self, text: &str) -> Result<ClientFrame, (ErrorCode, String)> {
        parse_frame(text, self.state.config.limits.max_frame_bytes)
    }

    /// Waits for `hello` and authenticates it: an agent's session token, or
    /// the click-to-call page's caller token.
    async fn hello(&mut self, cookie_token: Option<String>) -> Option<Principal> {
        let first = tokio::time::timeout(HELLO_TIMEOUT, self.socket.next()).await;
        let hello = match first {
            Ok(Some(Ok(Message::Text(text)))) => self.parse_frame(&text).ok(),
            Ok(Some(Err(error))) => {
                self.read_failed(error).await;
                return None;
            }
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
        match self.state.backline.authenticate_session(&token).await {
            Ok((account, expires_at)) => Some(Principal::Agent(Agent {
                account,
                last_seq,
                token_hash: backline_service::auth::token_hash(&token),
                expires_at,
            })),
            Err(error) => {
                self.refuse(error.code(), error.public_message()).await;
                None
            }
        }
    }

    async fn serve(
        &mut self,
        agent: Agent,
        registration: &mut Registration,
    ) -> Result<(), axum::Error> {
        let Agent {
            account,
            last_seq,
            token_hash,
            mut expires_at,
        } = agent;
        let account = &account;
        let backline = self.state.backline.clone();
        // A revocation committed between `hello` and the registration found
        // no connection to kill: the token is checked once more, registered.
        match Box::pin(token_still_valid(&backline, &token_hash)).await {
            Ok(Some(expiry)) => expires_at = expiry,
            Ok(None) => {}
            Err(error) => {
                self.refuse(error.code(), error.public_message()).await;
                return Ok(());
            }
        }
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
        let expiry = tokio::time::sleep_until(instant_at(expires_at));
        tokio::pin!(expiry);
        loop {
            tokio::select! {
                biased;
                _ = registration.cut.cancelled() => {
                    let (code, reason) = cut_close(registration.cut.reason());
                    self.close(code, reason).await;
                    return Ok(());
                }
                // The token expired: nothing more is read from this socket.
                _ = &mut expiry => {
                    self.close(4001, ErrorCode::SessionExpired).await;
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
                        Some(Outbound::Frame(frame)) => self.queue_text(&frame).await?,
                        None => return Ok(()),
                    }
                }
                Some(answer) = next_answer(&mut self.pending) => {
                    self.queue_text(&answer).await?;
                }
                incoming = self.socket.next(), if pending_sends(&self.pending) < MAX_PIPELINED_SENDS => {
                    last_heard = tokio::time::Instant::now();
                    match incoming {
                        Some(Ok(Message::Text(text))) => {
                            Box::pin(self.handle_text(&backline, account, registration.id, &text)).await?;
                        }
                        other => if !self.non_text(other).await? {
                            return Ok(());
                        },
                    }
                }
                _ = ping.tick() => {
                    if !self.keepalive(last_heard, idle_limit).await? {
                        return Ok(());
                    }
                    // With peers, a revocation reaches this node over the
                    // bus, which may lose it: the store is asked at each ping.
                    if backline.bus().is_clustered() {
                        if let Err(error) = Box::pin(token_still_valid(&backline, &token_hash)).await {
                            self.close(4001, error.code()).await;
                            return Ok(());
                        }
                    }
                    // The bus is a notification, the store the truth: a bus
                    // message lost between nodes would otherwise wait for the
                    // user's next event. Once per ping, catch up with the head.
                    Box::pin(self.catch_up(&backline, &account.id)).await?;
                }
                // The bus was cut off or dropped messages: catch up now.
                Ok(()) = registration.catch_up.changed() => {
                    Box::pin(self.catch_up(&backline, &account.id)).await?;
                }
                // Last: nothing else is ready, so what was queued goes out.
                () = std::future::ready(()), if self.unflushed => self.flush().await?,
            }
        }
    }

    /// Sends what the store holds beyond `self.last_sent`, up to the stream head.
    async fn catch_up(&mut self, backline: &Backline, user_id: &UserId) -> Result<(), axum::Error> {
        if let Ok(head) = Box::pin(backline.stream_head(user_id)).await {
            if head > self.last_sent {
                Box::pin(self.replay(backline, user_id, head)).await?;
            }
        }
        Ok(())
    }

    /// Sends stored events after `self.last_sent` up to `head`, in pages.
    async fn replay(
        &mut self,
        backline: &Backline,
        user_id: &UserId,
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
                self.queue_text(&frame).await?;
                self.last_sent = seq;
            }
        }
        Ok(())
    }

    async fn live_event(
        &mut self,
        backline: &Backline,
        user_id: &UserId,
        seq: u64,
        frame: &str,
    ) -> Result<(), axum::Error> {
        if seq <= self.last_sent {
            return Ok(());
        }
        if seq > self.last_sent + 1 {
            self.replay(backline, user_id, seq - 1).await?;
        }
        self.queue_text(frame).await?;
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
        let frame = match self.parse_frame(text) {
            Ok(frame) => frame,
            Err((code, message)) => {
                // The refused frame's rid, when it has a usable one, tells
                // the client which of its requests failed.
                self.error(refused_rid(text, &self.state), code, message)
                    .await?;
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
                    .relay_signal(account.id.as_str(), &call_id, &to, signal)
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

/// A write that does not complete in time cuts the connection
/// (`write_timeout`); a cut (by the hub) interrupts the write.
async fn bounded(
    cut: Cut,
    limit: Duration,
    write: impl std::future::Future<Output = Result<(), axum::Error>>,
) -> Result<(), axum::Error> {
    let write = tokio::time::timeout(limit, write);
    tokio::select! {
        biased;
        _ = cut.cancelled() => Err(axum::Error::new(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "the connection was cut",
        ))),
        outcome = write => match outcome {
            Ok(result) => result,
            Err(_) => {
                cut.cut(kill_reason::WRITE_TIMEOUT);
                Err(axum::Error::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "slow consumer: a write did not complete in time",
                )))
            }
        },
    }
}

fn pending_sends(pending: &Option<Box<FuturesOrdered<BoxFuture<'static, String>>>>) -> usize {
    pending.as_ref().map_or(0, |queue| queue.len())
}

/// Who a socket belongs to.
enum Principal {
    Agent(Agent),
    /// The click-to-call page of one call.
    Caller {
        call_id: String,
        party_id: String,
    },
}

/// A desktop's socket, authenticated.
struct Agent {
    account: Account,
    /// The last stream seq the desktop processed.
    last_seq: Option<u64>,
    /// The hash of its session token (signing that token out closes the socket).
    token_hash: String,
    /// When the token expires (Unix ms): the socket closes then.
    expires_at: i64,
}

/// The close for a connection cut for `reason` (a [`kill_reason`]).
fn cut_close(reason: u8) -> (u16, ErrorCode) {
    match reason {
        kill_reason::SLOW_CONSUMER | kill_reason::WRITE_TIMEOUT => (4008, ErrorCode::SlowConsumer),
        kill_reason::SIGNED_OUT => (4001, ErrorCode::SessionExpired),
        _ => (1001, ErrorCode::ShuttingDown),
    }
}

/// Checks a socket's session token again: `Err` when it can no longer be used
/// (revoked, expired, account disabled), else its expiry when the store
/// could be read (`None` when it could not: the socket stays as it was).
async fn token_still_valid(
    backline: &Backline,
    token_hash: &str,
) -> Result<Option<i64>, ServiceError> {
    match backline.token_session(token_hash).await {
        Ok((_, expires_at)) => Ok(Some(expires_at)),
        Err(error)
            if matches!(
                error.code(),
                ErrorCode::Unauthenticated | ErrorCode::SessionExpired | ErrorCode::AccountDisabled
            ) =>
        {
            Err(error)
        }
        Err(_) => Ok(None),
    }
}

/// The instant at a Unix time in ms (now when it has passed).
fn instant_at(unix_ms: i64) -> tokio::time::Instant {
    let left = unix_ms.saturating_sub(backline_store::now_ms()).max(0);
    tokio::time::Instant::now() + Duration::from_millis(left as u64)
}

/// Why a frame could not be read, as the close that answers it: `None` for
/// a broken connection (nothing to tell).
fn read_failure(error: axum::Error) -> Option<(u16, ErrorCode, String)> {
    use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
    let inner = error.into_inner();
    match inner.downcast_ref::<WsError>()? {
        WsError::Capacity(CapacityError::MessageTooLong { size, max_size }) => Some((
            1009,
            ErrorCode::PayloadTooLarge,
            format!(
                "a frame of {size} bytes is over the limit of {max_size}: the socket is closed"
            ),
        )),
        WsError::Utf8(_) => Some((
            1007,
            ErrorCode::MalformedRequest,
            "a text frame is not valid UTF-8: the socket is closed".into(),
        )),
        _ => None,
    }
}

/// Reads a text frame after `hello`: at most `max_frame_bytes`, JSON of a
/// known frame type; else the `error` code and message that answer it.
pub fn parse_frame(text: &str, max_frame_bytes: usize) -> Result<ClientFrame, (ErrorCode, String)> {
    if text.len() > max_frame_bytes {
        return Err((
            ErrorCode::PayloadTooLarge,
            format!("a frame is at most {max_frame_bytes} bytes"),
        ));
    }
    // Text with a NUL is refused before it is parsed (the same rule as REST bodies).
    if let Err((_, error)) = backline_service::input::check_frame(text) {
        return Err((error.code(), error.to_string()));
    }
    serde_json::from_str::<ClientFrame>(text)
        .map_err(|parse_error| classify_bad_frame(text, &parse_error))
}

/// The `rid` of a refused frame within the size limit, if it has a usable one.
fn refused_rid(text: &str, state: &AppState) -> Option<String> {
    if text.len() > state.config.limits.max_frame_bytes {
        return None;
    }
    serde_json::from_str::<serde_json::Value>(text)
        .ok()?
        .get("rid")?
        .as_str()
        .filter(|rid| !rid.contains('\0') && rid.len() <= 128)
        .map(str::to_owned)
}

impl Connection {
    /// The click-to-call page's socket: its call's state, and signalling.
    /// It lives as long as its call: it closes (4001 `call_ended`) when the
    /// call ends, and a call that has ended refuses it.
    async fn run_caller(&mut self, call_id: &str, party_id: &str) {
        let backline = self.state.backline.clone();
        let (mut registration, _) = backline.hub().register(party_id, None);
        self.cut = registration.cut.clone();
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
        registration: &mut Registration,
    ) -> Result<(), axum::Error> {
        // Registered first, read second: a change committed meanwhile is queued.
        match backline.call_view(call_id).await {
            Ok(call) if call.state == CallState::Ended => {
                self.refuse(ErrorCode::CallEnded, "this call has ended".into())
                    .await;
                return Ok(());
            }
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
        let interval = Duration::from_secs(self.state.config.ws.ping_interval_secs.max(1));
        let mut ping = tokio::time::interval(interval);
        ping.tick().await;
        let mut last_heard = tokio::time::Instant::now();
        let shutdown = backline.shutdown_token().clone();
        loop {
            tokio::select! {
                biased;
                _ = registration.cut.cancelled() => {
                    let (code, reason) = cut_close(registration.cut.reason());
                    self.close(code, reason).await;
                    return Ok(());
                }
                _ = shutdown.cancelled() => {
                    self.close(1001, ErrorCode::ShuttingDown).await;
                    return Ok(());
                }
                outbound = registration.receiver.recv() => match outbound {
                    Some(Outbound::Frame(frame)) => {
                        self.send_text(&frame).await?;
                        if ends_call(&frame, call_id) {
                            self.close(4001, ErrorCode::CallEnded).await;
                            return Ok(());
                        }
                    }
                    Some(Outbound::Event { .. }) => {}
                    None => return Ok(()),
                },
                incoming = self.socket.next() => {
                    last_heard = tokio::time::Instant::now();
                    match incoming {
                        Some(Ok(Message::Text(text))) => match self.parse_frame(&text) {
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
                            Err((code, message)) => self.error(None, code, message).await?,
                        },
                        other => if !self.non_text(other).await? {
                            return Ok(());
                        },
                    }
                }
                _ = ping.tick() => {
                    if !self.keepalive(last_heard, interval * 3).await? {
                        return Ok(());
                    }
                    // The bus may lose the call's last change between nodes:
                    // the store says whether the call has ended.
                    if let Ok(call) = backline.call_view(call_id).await {
                        if call.state == CallState::Ended {
                            self.send(&ServerFrame::Call { call }).await?;
                            self.close(4001, ErrorCode::CallEnded).await;
                            return Ok(());
                        }
                    }
                }
            }
        }
    }
}

/// Whether a frame for a caller page is its call's view showing it ended.
fn ends_call(frame: &str, call_id: &str) -> bool {
    // Signals are most of these frames; only a `call` frame is parsed.
    if !frame.starts_with(r#"{"type":"call""#) {
        return false;
    }
    matches!(
        serde_json::from_str::<ServerFrame>(frame),
        Ok(ServerFrame::Call { call }) if call.id == call_id && call.state == CallState::Ended
    )
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
