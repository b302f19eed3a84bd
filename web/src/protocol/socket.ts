// WebSocket client (docs/protocol.md §5): hello/resume, reconnect with back-off,
// request ids, de-duplication, and an outbox of sends that survives disconnects.
import type {
  CallView,
  ClientFrame,
  Signal,
  ErrorCode,
  MarkKind,
  Me,
  MessageAck,
  PresenceView,
  ServerFrame,
  StreamEvent,
  TypingState,
} from './generated';
import { DEFAULT_RETRY_POLICY, decideRetry, type RetryPolicy } from './outbox';

/** The part of the browser WebSocket the client needs (tests pass a fake). */
export interface WsLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WsFactory = (url: string) => WsLike;

export type SocketStatus = 'idle' | 'connecting' | 'open' | 'offline' | 'expired' | 'stopped';

export type SocketEvent =
  | { type: 'status'; status: SocketStatus }
  | { type: 'welcome'; me: Me; head: number }
  | { type: 'event'; event: StreamEvent }
  | { type: 'resume_gap'; oldest: number; head: number }
  | { type: 'presence'; presence: PresenceView }
  | { type: 'typing'; session_id: string; user_id: string; state: TypingState }
  | { type: 'expired'; reason: string }
  | { type: 'error'; code: ErrorCode; message: string }
  | { type: 'reconnect_failed'; attempts: number }
  | { type: 'signal'; call_id: string; from: string; to_device: string | null; signal: Signal }
  | { type: 'caller_welcome'; call: CallView; party_id: string }
  | { type: 'call'; call: CallView };

export class SendError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'SendError';
    this.code = code;
  }
}

interface PendingSend {
  rid: string;
  session_id: string;
  client_msg_id: string;
  text: string;
  /** Id of the connection this send was last written to (never written twice on one connection). */
  sentOn: number | null;
  /** Refusals with a retryable code so far. */
  refusals: number;
  /** Set while waiting out a back-off after a refusal (not resent on welcome meanwhile). */
  retryTimer: unknown;
  resolve: (ack: MessageAck) => void;
  reject: (err: SendError) => void;
}

export interface SocketOptions {
  url: string;
  /** Sent in `hello` (the click-to-call page's caller_token); browsers of agents use their cookie. */
  token?: string;
  createSocket?: WsFactory;
  /** First reconnect delay; doubles up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Ping interval; a missing pong within pingTimeoutMs forces a reconnect. 0 disables. */
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  random?: () => number;
  /** Back-off of a send the server refused with a retryable code (see `outbox.ts`). */
  retry?: RetryPolicy;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

const OPEN = 1;

export class BacklineSocket {
  status: SocketStatus = 'idle';
  /** Seq of the last stream event processed (undefined: start at the head). */
  lastSeq: number | undefined;

  private readonly opts: Required<Omit<SocketOptions, 'createSocket' | 'token'>> & { createSocket: WsFactory; token?: string };
  /** Signals written while not connected: sent after the next welcome (a few seconds of ICE at most). */
  private signals: ClientFrame[] = [];
  private ws: WsLike | null = null;
  private connId = 0;
  private attempts = 0;
  private reconnectTimer: unknown = null;
  private pingTimer: unknown = null;
  private pongTimer: unknown = null;
  private ridCounter = 0;
  private readonly listeners = new Set<(e: SocketEvent) => void>();
  private readonly outbox = new Map<string, PendingSend>(); // by rid, insertion-ordered
  private readonly seenEntries = new Map<string, Set<number>>();
  private watched: string[] = [];

  constructor(options: SocketOptions) {
    this.opts = {
      url: options.url,
      token: options.token,
      createSocket: options.createSocket ?? ((url) => new WebSocket(url) as unknown as WsLike),
      initialDelayMs: options.initialDelayMs ?? 500,
      maxDelayMs: options.maxDelayMs ?? 10_000,
      pingIntervalMs: options.pingIntervalMs ?? 20_000,
      pingTimeoutMs: options.pingTimeoutMs ?? 10_000,
      random: options.random ?? Math.random,
      retry: options.retry ?? DEFAULT_RETRY_POLICY,
      setTimer: options.setTimer ?? ((fn, ms) => setTimeout(fn, ms)),
      clearTimer: options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>)),
    };
  }

  on(listener: (e: SocketEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Connects; `lastSeq` is the stream position the caller's REST state reflects. */
  start(lastSeq?: number): void {
    if (lastSeq !== undefined) this.lastSeq = lastSeq;
    if (this.status === 'connecting' || this.status === 'open') return;
    this.connect();
  }

  /** Closes for good (sign-out). Pending sends are rejected. */
  stop(): void {
    this.clearTimers();
    this.signals = [];
    this.setStatus('stopped');
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      this.detach(ws);
      ws.close(1000, 'bye');
    }
    for (const p of this.outbox.values()) {
      if (p.retryTimer !== null) this.opts.clearTimer(p.retryTimer);
      p.reject(new SendError('unavailable', 'Signed out'));
    }
    this.outbox.clear();
  }

  /** Drops the current connection (e.g. the browser went offline) and reconnects with back-off. */
  drop(): void {
    if (this.status === 'stopped' || this.status === 'expired') return;
    const ws = this.ws;
    if (ws) {
      this.detach(ws);
      this.ws = null;
      try {
        ws.close(4000, 'dropped');
      } catch {
        /* ignore */
      }
    }
    this.handleDisconnect();
  }

  /** Reconnects at once if waiting for a back-off timer (e.g. the browser came back online). */
  reconnectNow(): void {
    if (this.status !== 'offline') return;
    if (this.reconnectTimer !== null) this.opts.clearTimer(this.reconnectTimer);
    this.reconnectTimer = null;
    this.attempts = 0;
    this.connect();
  }

  get pendingCount(): number {
    return this.outbox.size;
  }

  /** Sends a message; resolves with the server's ack. Queued while offline; resent with the same client_msg_id after a reconnect. */
  sendMessage(session_id: string, client_msg_id: string, text: string): Promise<MessageAck> {
    for (const p of this.outbox.values()) {
      if (p.client_msg_id === client_msg_id && p.session_id === session_id) {
        return new Promise((resolve, reject) => {
          const prevResolve = p.resolve;
          const prevReject = p.reject;
          p.resolve = (a) => (prevResolve(a), resolve(a));
          p.reject = (e) => (prevReject(e), reject(e));
        });
      }
    }
    return new Promise((resolve, reject) => {
      const p: PendingSend = {
        rid: this.nextRid('s'),
        session_id,
        client_msg_id,
        text,
        sentOn: null,
        refusals: 0,
        retryTimer: null,
        resolve,
        reject,
      };
      this.outbox.set(p.rid, p);
      if (this.status === 'open') this.writeSend(p);
    });
  }

  typing(session_id: string, state: TypingState): void {
    if (this.status === 'open') this.write({ type: 'typing', session_id, state });
  }

  mark(session_id: string, kind: MarkKind, seq: number): void {
    if (this.status === 'open') this.write({ type: 'mark', session_id, kind, seq });
  }

  /** WebRTC signalling to a party of a call; held back (briefly) while disconnected. */
  sendSignal(call_id: string, to: string, signal: Signal): void {
    const frame: ClientFrame = { type: 'signal', call_id, to, signal };
    if (this.status === 'open' && this.write(frame)) return;
    this.signals.push(frame);
    if (this.signals.length > 200) this.signals.splice(0, this.signals.length - 200);
  }

  private flushSignals(): void {
    const list = this.signals.splice(0);
    for (const f of list) this.write(f);
  }

  /** Replaces the watched set; re-sent after every reconnect. */
  watch(user_ids: string[]): void {
    this.watched = user_ids.slice(0, 500);
    if (this.status === 'open') this.write({ type: 'watch', user_ids: this.watched });
  }

  // ---- internals ----

  private nextRid(prefix: string): string {
    this.ridCounter += 1;
    return `${prefix}${this.ridCounter}-${Math.floor(this.opts.random() * 1e9).toString(36)}`;
  }

  private emit(e: SocketEvent): void {
    for (const l of [...this.listeners]) l(e);
  }

  private setStatus(s: SocketStatus): void {
    if (this.status === s) return;
    this.status = s;
    this.emit({ type: 'status', status: s });
  }

  private connect(): void {
    this.reconnectTimer = null;
    this.connId += 1;
    const id = this.connId;
    this.setStatus('connecting');
    let ws: WsLike;
    try {
      ws = this.opts.createSocket(this.opts.url);
    } catch {
      this.handleDisconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.connId !== id) return;
      const hello: ClientFrame = this.lastSeq === undefined ? { type: 'hello' } : { type: 'hello', last_seq: this.lastSeq };
      if (this.opts.token) hello.token = this.opts.token;
      this.write(hello);
    };
    ws.onmessage = (ev) => {
      if (this.connId !== id) return;
      if (typeof ev.data !== 'string') return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(ev.data) as ServerFrame;
      } catch {
        return;
      }
      this.onFrame(frame);
    };
    ws.onerror = () => {
      /* a close follows */
    };
    ws.onclose = (ev) => {
      if (this.connId !== id || this.ws !== ws) return;
      this.ws = null;
      if (ev.code === 4001) {
        this.clearTimers();
        this.setStatus('expired');
        this.emit({ type: 'expired', reason: ev.reason || 'session_expired' });
        return;
      }
      this.handleDisconnect();
    };
  }

  private detach(ws: WsLike): void {
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    ws.onerror = null;
  }

  private handleDisconnect(): void {
    this.clearTimers();
    if (this.status === 'stopped' || this.status === 'expired') return;
    this.setStatus('offline');
    this.attempts += 1;
    if (this.attempts >= 3) this.emit({ type: 'reconnect_failed', attempts: this.attempts });
    if (this.status !== 'offline') return; // a listener may have stopped us
    const base = Math.min(this.opts.maxDelayMs, this.opts.initialDelayMs * 2 ** Math.min(this.attempts - 1, 16));
    const delay = Math.round(base / 2 + (base / 2) * this.opts.random());
    this.reconnectTimer = this.opts.setTimer(() => this.connect(), delay);
  }

  private clearTimers(): void {
    if (this.reconnectTimer !== null) this.opts.clearTimer(this.reconnectTimer);
    if (this.pingTimer !== null) this.opts.clearTimer(this.pingTimer);
    if (this.pongTimer !== null) this.opts.clearTimer(this.pongTimer);
    this.reconnectTimer = this.pingTimer = this.pongTimer = null;
  }

  private write(frame: ClientFrame): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return false;
    try {
      ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  private writeSend(p: PendingSend): void {
    if (p.sentOn === this.connId) return; // never twice on one connection
    if (p.retryTimer !== null) return; // waiting out a back-off
    if (this.write({ type: 'send', rid: p.rid, session_id: p.session_id, client_msg_id: p.client_msg_id, text: p.text })) {
      p.sentOn = this.connId;
    }
  }

  /** A send the server refused: retried later with the same client_msg_id, or rejected for good. */
  private refused(p: PendingSend, code: ErrorCode, message: string): void {
    p.refusals += 1;
    const next = decideRetry(code, message, p.refusals, this.opts.random, this.opts.retry);
    if (!next.retry) {
      this.outbox.delete(p.rid);
      p.reject(new SendError(code, message));
      return;
    }
    p.sentOn = null;
    p.retryTimer = this.opts.setTimer(() => {
      p.retryTimer = null;
      // not open: the next welcome writes it
      if (this.outbox.has(p.rid) && this.status === 'open') this.writeSend(p);
    }, next.delayMs);
  }

  private schedulePing(): void {
    if (!this.opts.pingIntervalMs) return;
    this.pingTimer = this.opts.setTimer(() => {
      this.pingTimer = null;
      const rid = this.nextRid('p');
      this.write({ type: 'ping', rid });
      this.pongTimer = this.opts.setTimer(() => {
        this.pongTimer = null;
        this.drop();
      }, this.opts.pingTimeoutMs);
    }, this.opts.pingIntervalMs);
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'welcome': {
        this.attempts = 0;
        if (this.lastSeq === undefined) this.lastSeq = frame.head;
        this.setStatus('open');
        this.emit({ type: 'welcome', me: frame.me, head: frame.head });
        if (this.watched.length) this.write({ type: 'watch', user_ids: this.watched });
        for (const p of this.outbox.values()) this.writeSend(p);
        this.flushSignals();
        this.schedulePing();
        return;
      }
      case 'caller_welcome': {
        this.attempts = 0;
        this.setStatus('open');
        this.emit({ type: 'caller_welcome', call: frame.call, party_id: frame.party_id });
        this.flushSignals();
        this.schedulePing();
        return;
      }
      case 'call':
        this.emit({ type: 'call', call: frame.call });
        return;
      case 'signal':
        this.emit({ type: 'signal', call_id: frame.call_id, from: frame.from, to_device: frame.to_device, signal: frame.signal });
        return;
      case 'event': {
        if (this.lastSeq !== undefined && frame.seq <= this.lastSeq) return; // duplicate
        this.lastSeq = frame.seq;
        const body = frame.event;
        if (body.kind === 'transcript') {
          let seen = this.seenEntries.get(body.session_id);
          if (!seen) this.seenEntries.set(body.session_id, (seen = new Set()));
          if (seen.has(body.entry.seq)) return;
          seen.add(body.entry.seq);
        }
        this.emit({ type: 'event', event: { seq: frame.seq, ts: frame.ts, event: body } });
        return;
      }
      case 'resume_gap':
        this.lastSeq = frame.head;
        this.emit({ type: 'resume_gap', oldest: frame.oldest, head: frame.head });
        return;
      case 'presence':
        this.emit({ type: 'presence', presence: { user_id: frame.user_id, status: frame.status, reason: frame.reason } });
        return;
      case 'typing':
        this.emit({ type: 'typing', session_id: frame.session_id, user_id: frame.user_id, state: frame.state });
        return;
      case 'ack': {
        const p = this.outbox.get(frame.rid);
        if (p) {
          this.outbox.delete(frame.rid);
          p.resolve(frame.ack);
        }
        return;
      }
      case 'ok':
        return;
      case 'pong':
        if (this.pongTimer !== null) this.opts.clearTimer(this.pongTimer);
        this.pongTimer = null;
        this.schedulePing();
        return;
      case 'error': {
        const p = frame.rid ? this.outbox.get(frame.rid) : undefined;
        if (p) {
          this.refused(p, frame.code, frame.message);
          return;
        }
        if (frame.code === 'unauthenticated' || frame.code === 'session_expired') {
          this.clearTimers();
          this.setStatus('expired');
          this.emit({ type: 'expired', reason: frame.code });
          return;
        }
        this.emit({ type: 'error', code: frame.code, message: frame.message });
        return;
      }
    }
  }
}

/** The WebSocket URL of this page's origin. */
export function defaultSocketUrl(loc: Location = window.location): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/api/v1/ws`;
}

/** The subset of the socket the models use; tests substitute a fake. */
export type Socket = Pick<
  BacklineSocket,
  'start' | 'stop' | 'drop' | 'reconnectNow' | 'on' | 'sendMessage' | 'typing' | 'mark' | 'watch' | 'status' | 'lastSeq'
>;

/** The socket of the voice parts (signalling). */
export type SignalSocket = Pick<BacklineSocket, 'sendSignal'>;
