// The agent desktop's state and commands. Transports (REST, WebSocket) and
// side effects (sound, browser notifications, timers) are injected so tests can swap them.
import type {
  CallView,
  ConsultationOutcome,
  DirectoryEntry,
  DirectoryFilter,
  InteractionView,
  Me,
  MissedView,
  PresenceView,
  SessionView,
  SignInMethods,
  Status,
  StatusReason,
  StreamEvent,
  SupervisionBoard,
  TranscriptEntry,
} from '../protocol/generated';
import { ApiError, type Api, type CallAction } from '../protocol/rest';
import type { CallMedia, MediaInfo } from './callMedia';
import { isIncoming, isMyCall, upsertCall } from './voice';
import { isRetryableSendError } from '../protocol/outbox';
import { SendError, type Socket, type SocketEvent, type SocketStatus } from '../protocol/socket';
import { Store, newId } from '../lib/store';
import type { SavedWorkspace, WorkspaceStorage } from '../lib/workspace';
import {
  emptyTranscript,
  isPendingInvitation,
  mergeEntries,
  missingAfter,
  otherPartyName,
  participant,
  systemEntryText,
  type TranscriptState,
} from './sessions';
import {
  contactDisplayName,
  emptyDetails,
  historyParams,
  interactionSummary,
  mediaLabel,
  openConsultation,
  upsertInteraction,
  type HistoryQuery,
  type InteractionDetails,
  type Loadable,
} from './interactions';
export type { CallAction } from '../protocol/rest';

export interface PendingMessage {
  client_msg_id: string;
  text: string;
  created: number;
  state: 'queued' | 'failed';
  error?: string;
}

export interface InviteNotice {
  session_id: string;
  shown_at: number;
}

export interface Announcement {
  id: number;
  text: string;
}

export interface DirectoryState {
  query: string;
  filter: DirectoryFilter;
  entries: DirectoryEntry[];
  loading: boolean;
  error: string | null;
  /** Set while the Team Communicator was opened by *Start Consultation* of this interaction. */
  interactionId: string | null;
  /** In that context: targets of the interaction's open consultations. */
  activeConsultations: DirectoryEntry[];
  /** In that context: the target the server pre-selects (see `effectivePreselection`). */
  preselected: string | null;
  /** Incremented when the Team Communicator should take focus (Start Consultation). */
  focusRequest: number;
}

export interface AppState {
  phase: 'loading' | 'signed_out' | 'signed_in';
  me: Me | null;
  /** Shown on the sign-in page (e.g. "Your session has expired"). */
  notice: string | null;
  signInError: string | null;
  signingIn: boolean;
  /** How this server lets accounts sign in (null until known: the password form shows). */
  signInMethods: SignInMethods | null;
  connection: SocketStatus;
  everConnected: boolean;
  statusReasons: StatusReason[];
  sessions: Record<string, SessionView>;
  transcripts: Record<string, TranscriptState>;
  pending: Record<string, PendingMessage[]>;
  /** session id → user id → expiry (ms). */
  typing: Record<string, Record<string, number>>;
  presence: Record<string, PresenceView>;
  /**
   * IM windows shown in the workspace. The workspace shows one group at a time (the user guide's
   * model): an interaction with its consultations beside or under it, or one IM window; the
   * others wait in the task bar.
   */
  openWindows: string[];
  /** The window (session or interaction id) the agent last brought forward, or null. */
  focus: string | null;
  /** Session id → text typed in its message box and not sent yet. */
  drafts: Record<string, string>;
  /** The caller's interactions (voice, chat, e-mail) not yet closed with *Done*. */
  interactions: Record<string, InteractionView>;
  /** Interaction windows open in the workspace. */
  openInteractions: string[];
  /** Contact, history (and, for a consultation target, the shared view) per interaction id. */
  details: Record<string, InteractionDetails>;
  notifications: InviteNotice[];
  /** Group invitations withdrawn from this user ("Taken by Dave Durand"), until dismissed. */
  withdrawn: WithdrawnNotice[];
  /** The group the agent is writing the first message of a group consultation to. */
  groupCompose: { id: string; name: string; interactionId: string | null } | null;
  /** Invitations that timed out unanswered, until replied to or dismissed. */
  missed: MissedView[];
  announcement: Announcement | null;
  directory: DirectoryState;
  /** Last error per session (shown in its window) or '' for global. */
  errors: Record<string, string>;
  /** Calls this desktop's user is a party of (ended ones stay a few seconds). */
  calls: Record<string, CallView>;
  voice: VoiceState;
  supervision: SupervisionState;
  /** IM session id → the participant the composer whispers to (a joined supervisor's choice). */
  whisperTo: Record<string, string>;
}

/** The supervision page: the board of the groups this user supervises. */
export interface SupervisionState {
  /** The last board read (null before the first); empty groups: not a supervisor. */
  board: SupervisionBoard | null;
  loading: boolean;
  error: string | null;
  /** The page is shown instead of the workspace. */
  open: boolean;
}

export function emptySupervision(): SupervisionState {
  return { board: null, loading: false, error: null, open: false };
}

export interface WithdrawnNotice {
  session_id: string;
  /** "Technical Support". */
  group: string;
  /** "Taken by Dave Durand", or why else it was withdrawn. */
  text: string;
}

export interface VoiceState extends MediaInfo {
  /** This tab's random id (`device_id` of accept and voice consultation). */
  tabDevice: string;
  /** Whether this desktop has a media manager at all (tests without one). */
  available: boolean;
  /** Calls with a command in flight (buttons disabled meanwhile). */
  busy: Record<string, boolean>;
  /** The agent opened the softphone (it shows by itself only while there is a call). */
  softphoneOpen: boolean;
}

export function emptyVoice(tabDevice = ''): VoiceState {
  return { tabDevice, available: false, busy: {}, softphoneOpen: false, mic: 'idle', muted: false, devices: [], deviceId: '', connections: [] };
}

export const MIC_DENIED_TEXT = 'Microphone access was denied: voice is unavailable, IM keeps working';
export const MIC_UNAVAILABLE_TEXT = 'No microphone could be opened: voice is unavailable, IM keeps working';
/** How long an ended call stays in the softphone. */
export const ENDED_CALL_MS = 5_000;

export interface Effects {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(h: unknown): void;
  /** Short alert sound. */
  beep(): void;
  /** Browser notification, used when the page is hidden. */
  notify(title: string, body: string, onClick: () => void): void;
  isHidden(): boolean;
  /** Starts (true) or stops (false) the ring of an incoming call. */
  ring?(on: boolean): void;
}

export const INVITE_NOTICE_MS = 30_000;
export const TYPING_SHOW_MS = 6_000;
export const TRANSCRIPT_PAGE = 50;

export const ZOOM_STEPS = [50, 67, 75, 90, 100, 110, 125, 150, 175, 200];

export function emptyDirectory(): DirectoryState {
  return {
    query: '',
    filter: 'all',
    entries: [],
    loading: false,
    error: null,
    interactionId: null,
    activeConsultations: [],
    preselected: null,
    focusRequest: 0,
  };
}

export const HISTORY_SEARCH_DELAY_MS = 300;

export function initialState(): AppState {
  return {
    phase: 'loading',
    me: null,
    notice: null,
    signInError: null,
    signingIn: false,
    signInMethods: null,
    connection: 'idle',
    everConnected: false,
    statusReasons: [],
    sessions: {},
    transcripts: {},
    pending: {},
    typing: {},
    presence: {},
    openWindows: [],
    focus: null,
    drafts: {},
    interactions: {},
    openInteractions: [],
    details: {},
    notifications: [],
    withdrawn: [],
    groupCompose: null,
    missed: [],
    announcement: null,
    directory: emptyDirectory(),
    errors: {},
    calls: {},
    voice: emptyVoice(),
    supervision: emptySupervision(),
    whisperTo: {},
  };
}

/** What the identity provider's callback left in the URL fragment (`#sso=…` or `#sso_error=…`). */
export interface SsoReturn {
  code?: string | null;
  error?: string | null;
  message?: string | null;
}

/** Why a sign-in with the identity provider did not sign in, for the sign-in page. */
export function ssoErrorText(code: string, message?: string | null): string {
  const why = message ? `: ${message}` : '';
  switch (code) {
    case 'sso_not_permitted':
      return `Your identity provider account may not use Backline${why}`;
    case 'account_disabled':
      return 'This account is disabled.';
    case 'sso_state_invalid':
      return `This sign-in has expired or was already used: sign in again${why ? ` (${message})` : ''}`;
    default:
      return `Single sign-on failed${why}`;
  }
}

export const EXPIRED_NOTICE = 'Your session has expired. Please sign in again.';

/** Why a message was not sent, for its row in the transcript: the server's reason. */
export function sendFailureText(e: unknown): string {
  if ((e instanceof SendError || e instanceof ApiError) && isRetryableSendError(e.code)) {
    return `the server did not take it after several tries (${e.message})`;
  }
  return errorText(e);
}

function errorText(e: unknown): string {
  if (e instanceof ApiError || e instanceof SendError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

export class AppModel {
  readonly store = new Store<AppState>(initialState());
  private readonly api: Api;
  private readonly socket: Socket;
  private readonly fx: Effects;
  private unsubscribeSocket: (() => void) | null = null;
  private announceId = 0;
  private noticeTimers = new Map<string, unknown>();
  private dirRequest = 0;
  private dirTimer: unknown = null;
  private lastMarked = new Map<string, { delivered: number; read: number }>();
  private historyTimers = new Map<string, unknown>();
  private historyRequest = new Map<string, number>();
  private readonly media: CallMedia | null;
  private readonly workspace: WorkspaceStorage | null;
  private stopWorkspace: (() => void) | null = null;
  private endedTimers = new Map<string, unknown>();
  private ringing = false;
  /** Sessions that left this user's workspace (Done, rejected, cancelled): a late view must not bring them back. */
  private removed = new Set<string>();
  /** A board read is in flight; `boardAgain`: a change came meanwhile, read once more after it. */
  private boardLoading = false;
  private boardAgain = false;
  /** The users the Team Communicator shows (watched with the board's members). */
  private directoryWatch: string[] = [];

  constructor(api: Api, socket: Socket, effects: Effects, media: CallMedia | null = null, workspace: WorkspaceStorage | null = null) {
    this.api = api;
    this.socket = socket;
    this.fx = effects;
    this.media = media;
    this.workspace = workspace;
    this.store.setState({ voice: this.freshVoice() });
    media?.onChange(() => this.set((s) => ({ voice: { ...s.voice, ...media.info } })));
    this.api.onUnauthorized = (e) => {
      if (this.state.phase === 'signed_in') this.expire(e.code === 'session_expired' ? EXPIRED_NOTICE : EXPIRED_NOTICE);
    };
  }

  get state(): AppState {
    return this.store.getState();
  }

  private set(patch: Partial<AppState> | ((s: AppState) => Partial<AppState>)): void {
    this.store.setState(patch);
  }

  announce(text: string): void {
    this.announceId += 1;
    this.set({ announcement: { id: this.announceId, text } });
  }

  // ---------- authentication ----------

  /**
   * Starts the desktop. `sso` is what the identity provider's callback left in
   * the URL fragment: a one-time code to trade for a session, or why it refused.
   */
  async init(sso: SsoReturn | null = null): Promise<void> {
    void this.loadSignInMethods();
    if (sso?.error) {
      this.set({ phase: 'signed_out', signInError: ssoErrorText(sso.error, sso.message) });
      return;
    }
    if (sso?.code && this.api.ssoFinish) {
      try {
        const res = await this.api.ssoFinish(sso.code);
        await this.bootstrap(res.me);
      } catch (e) {
        this.set({ phase: 'signed_out', signInError: e instanceof ApiError ? ssoErrorText(e.code, e.message) : `Single sign-on failed: ${errorText(e)}` });
      }
      return;
    }
    try {
      const me = await this.api.me();
      await this.bootstrap(me);
    } catch (e) {
      this.set({ phase: 'signed_out', notice: e instanceof ApiError && e.status === 401 ? null : e instanceof ApiError && e.status !== 0 ? errorText(e) : null });
    }
  }

  private async loadSignInMethods(): Promise<void> {
    if (!this.api.signInMethods) return;
    try {
      const signInMethods = await this.api.signInMethods();
      this.set({ signInMethods });
    } catch {
      /* the password form stays */
    }
  }

  async signIn(username: string, password: string): Promise<void> {
    this.set({ signingIn: true, signInError: null });
    try {
      const res = await this.api.signIn(username, password);
      this.set({ signingIn: false, notice: null });
      await this.bootstrap(res.me);
    } catch (e) {
      const msg =
        e instanceof ApiError && e.code === 'invalid_credentials'
          ? 'The username or password is wrong.'
          : e instanceof ApiError && e.code === 'account_disabled'
            ? 'This account is disabled.'
            : `Sign-in failed: ${errorText(e)}`;
      this.set({ signingIn: false, signInError: msg });
    }
  }

  async signOut(): Promise<void> {
    this.teardown();
    try {
      await this.api.signOut();
    } catch {
      /* already signed out */
    }
    this.store.setState({ ...initialState(), signInMethods: this.state.signInMethods, phase: 'signed_out', notice: 'You have signed out.', voice: this.freshVoice() });
  }

  private freshVoice(): VoiceState {
    const v = { ...emptyVoice(this.media?.device ?? ''), available: !!this.media };
    return this.media ? { ...v, ...this.media.info } : v;
  }

  /** The session expired (REST 401 or WS close 4001): back to sign-in with a message. */
  expire(notice = EXPIRED_NOTICE): void {
    this.teardown();
    this.store.setState({ ...initialState(), signInMethods: this.state.signInMethods, phase: 'signed_out', notice, voice: this.freshVoice() });
  }

  private teardown(): void {
    this.stopWorkspace?.();
    this.stopWorkspace = null;
    this.unsubscribeSocket?.();
    this.unsubscribeSocket = null;
    this.socket.stop();
    for (const t of this.noticeTimers.values()) this.fx.clearTimer(t);
    this.noticeTimers.clear();
    for (const t of this.historyTimers.values()) this.fx.clearTimer(t);
    this.historyTimers.clear();
    for (const t of this.endedTimers.values()) this.fx.clearTimer(t);
    this.endedTimers.clear();
    this.lastMarked.clear();
    this.removed.clear();
    this.media?.setParty(null);
    this.setRinging(false);
  }

  private async bootstrap(me: Me): Promise<void> {
    this.set({ phase: 'signed_in', me, signInError: null, connection: 'connecting' });
    this.unsubscribeSocket?.();
    this.unsubscribeSocket = this.socket.on((e) => this.onSocket(e));
    const sessionsP = this.api.sessions().catch(() => [] as SessionView[]);
    const interactionsP = this.api.interactions().catch(() => [] as InteractionView[]);
    const callsP = this.api.calls ? this.api.calls().catch(() => [] as CallView[]) : Promise.resolve([] as CallView[]);
    this.media?.setParty(me.id);
    this.api
      .statusReasons()
      .then((statusReasons) => this.set({ statusReasons }))
      .catch(() => undefined);
    const [sessions, interactions, calls] = await Promise.all([sessionsP, interactionsP, callsP]);
    if (this.state.phase !== 'signed_in') return;
    this.replaceSessions(sessions, false);
    this.replaceInteractions(interactions);
    this.replaceCalls(calls);
    this.keepWorkspace(me.id);
    this.socket.start(me.head);
    void this.searchNow();
    void this.loadMissed();
    void this.loadBoard();
  }

  private replaceSessions(all: SessionView[], announceInvites: boolean): void {
    const sessions: Record<string, SessionView> = {};
    const list = all.filter((s) => !this.removed.has(s.id));
    for (const s of list) sessions[s.id] = s;
    this.set((st) => ({
      sessions,
      openWindows: st.openWindows.filter((id) => sessions[id]),
    }));
    for (const s of list) this.checkInvitation(s, announceInvites);
    for (const id of this.state.openWindows) void this.loadTranscript(id);
  }

  // ---------- the workspace across reloads and tabs ----------

  /** Restores the saved workspace, then saves every change of it and follows the other tabs'. */
  private keepWorkspace(userId: string): void {
    const store = this.workspace;
    if (!store) return;
    this.stopWorkspace?.();
    const saved = store.load(userId);
    if (saved) this.applyWorkspace(saved);
    let last: AppState | null = null;
    const save = () => {
      const s = this.state;
      if (s.phase !== 'signed_in') return;
      if (
        last &&
        last.openWindows === s.openWindows &&
        last.openInteractions === s.openInteractions &&
        last.focus === s.focus &&
        last.drafts === s.drafts &&
        last.voice.softphoneOpen === s.voice.softphoneOpen
      ) {
        return;
      }
      last = s;
      store.save(userId, {
        openInteractions: s.openInteractions,
        openWindows: s.openWindows,
        focus: s.focus,
        drafts: Object.fromEntries(Object.entries(s.drafts).filter(([id, t]) => t && s.sessions[id])),
        softphoneOpen: s.voice.softphoneOpen,
      });
    };
    save();
    const unsubscribeStore = this.store.subscribe(save);
    const unsubscribeTabs = store.subscribe(userId, (ws) => this.applyWorkspace(ws));
    this.stopWorkspace = () => {
      unsubscribeStore();
      unsubscribeTabs();
    };
  }

  /** Shows a saved workspace: what of it still exists (a window closed meanwhile is dropped). */
  private applyWorkspace(ws: SavedWorkspace): void {
    const s = this.state;
    const openInteractions = ws.openInteractions.filter((id) => s.interactions[id]).slice(0, 1);
    const openWindows = ws.openWindows.filter((id) => s.sessions[id]);
    const focus = ws.focus && (openInteractions.includes(ws.focus) || openWindows.includes(ws.focus)) ? ws.focus : (openInteractions[0] ?? openWindows[0] ?? null);
    const drafts = Object.fromEntries(Object.entries(ws.drafts).filter(([id]) => s.sessions[id]));
    this.set((st) => ({ openInteractions, openWindows, focus, drafts, voice: { ...st.voice, softphoneOpen: ws.softphoneOpen } }));
    for (const id of openInteractions) void this.loadDetails(id);
    for (const id of openWindows) {
      this.clearNotice(id);
      void this.loadTranscript(id).then(() => this.markVisible(id));
    }
  }

  /** Keeps what the agent typed in a message box and has not sent. */
  setDraft(id: string, text: string): void {
    if ((this.state.drafts[id] ?? '') === text) return;
    this.set((s) => {
      const drafts = { ...s.drafts };
      if (text) drafts[id] = text;
      else delete drafts[id];
      return { drafts };
    });
  }

  // ---------- socket ----------

  private onSocket(e: SocketEvent): void {
    switch (e.type) {
      case 'status':
        this.set((s) => ({ connection: e.status, everConnected: s.everConnected || e.status === 'open' }));
        if (e.status === 'open') {
          // after a reconnect, refresh what a window may have missed and re-announce marks
          for (const id of this.state.openWindows) this.markVisible(id);
        }
        return;
      case 'welcome':
        this.set({ me: { ...e.me } });
        return;
      case 'event':
        this.applyEvent(e.event);
        return;
      case 'resume_gap':
        void this.api.sessions().then((list) => this.replaceSessions(list, true), () => undefined);
        void this.api.interactions().then((list) => this.replaceInteractions(list), () => undefined);
        if (this.api.calls) void this.api.calls().then((list) => this.replaceCalls(list), () => undefined);
        void this.loadBoard();
        return;
      case 'signal':
        this.media?.onSignal(e);
        return;
      case 'caller_welcome':
      case 'call':
        return;
      case 'presence':
        this.set((s) => ({ presence: { ...s.presence, [e.presence.user_id]: e.presence } }));
        return;
      case 'typing': {
        if (e.user_id === this.state.me?.id) return;
        const until = e.state === 'composing' ? this.fx.now() + TYPING_SHOW_MS : 0;
        this.set((s) => ({ typing: { ...s.typing, [e.session_id]: { ...s.typing[e.session_id], [e.user_id]: until } } }));
        if (until) this.fx.setTimer(() => this.set((s) => ({ typing: { ...s.typing } })), TYPING_SHOW_MS + 50);
        return;
      }
      case 'expired':
        this.expire(EXPIRED_NOTICE);
        return;
      case 'reconnect_failed':
        // the upgrade may be refused because the cookie expired: ask REST
        this.api.me().catch((err: unknown) => {
          if (err instanceof ApiError && err.status === 401 && this.state.phase === 'signed_in') this.expire(EXPIRED_NOTICE);
        });
        return;
      case 'error':
        return;
    }
  }

  /** Applies one stream event (already de-duplicated by seq by the socket). */
  applyEvent(ev: StreamEvent): void {
    const body = ev.event;
    switch (body.kind) {
      case 'session':
        this.upsertSession(body.session);
        return;
      case 'transcript':
        this.addEntries(body.session_id, [body.entry], true);
        return;
      case 'transcript_redacted':
        this.replaceEntry(body.session_id, body.entry);
        return;
      case 'mark':
        this.set((s) => {
          const sess = s.sessions[body.session_id];
          if (!sess) return {};
          const participants = sess.participants.map((p) =>
            p.user_id !== body.user_id
              ? p
              : body.mark === 'read'
                ? { ...p, read_seq: Math.max(p.read_seq, body.seq), delivered_seq: Math.max(p.delivered_seq, body.seq) }
                : { ...p, delivered_seq: Math.max(p.delivered_seq, body.seq) },
          );
          const unread = body.user_id === s.me?.id && body.mark === 'read' ? 0 : sess.unread;
          return { sessions: { ...s.sessions, [sess.id]: { ...sess, participants, unread } } };
        });
        return;
      case 'session_removed':
        this.removeSession(body.session_id);
        return;
      case 'missed_cleared':
        this.set((s) => ({ missed: s.missed.filter((m) => m.session.id !== body.session_id) }));
        return;
      case 'status':
        this.set((s) => (s.me ? { me: { ...s.me, status: body.status, reason: body.reason } } : {}));
        return;
      case 'preferences':
        this.set((s) => (s.me ? { me: { ...s.me, preferences: { ...s.me.preferences, zoom: body.zoom } } } : {}));
        return;
      case 'interaction':
        this.upsertInteraction(body.interaction);
        return;
      case 'call':
        this.upsertCall(body.call);
        return;
      case 'board_changed':
        void this.loadBoard();
        return;
    }
  }

  private upsertSession(session: SessionView): void {
    if (this.removed.has(session.id)) return;
    const meId0 = this.state.me?.id ?? '';
    const mine0 = participant(session, meId0);
    if (session.offer && mine0?.role === 'invitee' && mine0.state === 'cancelled') {
      this.offerWithdrawn(session.id, session.offer.group_name, session.offer.taken_by_name ? `Taken by ${session.offer.taken_by_name}` : 'Withdrawn');
      return;
    }
    if (mine0?.invite_timed_out && mine0.state === 'invited' && !this.state.missed.some((m) => m.session.id === session.id)) void this.loadMissed();
    const prev = this.state.sessions[session.id];
    // keep the newest view: a replayed older snapshot must not roll back
    if (prev && prev.last_seq > session.last_seq) return;
    this.set((s) => ({ sessions: { ...s.sessions, [session.id]: session } }));
    const meId = this.state.me?.id ?? '';
    if (prev) {
      if (prev.state !== session.state) {
        const name = otherPartyName(session, meId);
        if (session.state === 'connected') this.announce(`Instant message with ${name}: Connected`);
        if (session.state === 'ended') this.announce(`Instant message with ${name}: Ended`);
      }
    }
    const parent = session.parent_interaction_id;
    if (parent && (!prev || prev.state !== session.state)) this.consultationChanged(parent, session);
    this.checkInvitation(session, !prev);
    // fill transcript gaps for open windows
    const t = this.state.transcripts[session.id];
    if (t?.loaded && t.entries.length && session.last_seq > t.entries[t.entries.length - 1].seq) {
      void this.fetchAfter(session.id, t.entries[t.entries.length - 1].seq);
    }
  }

  private removeSession(id: string): void {
    this.removed.add(id);
    this.clearNotice(id);
    this.set((s) => {
      const sessions = { ...s.sessions };
      delete sessions[id];
      const transcripts = { ...s.transcripts };
      delete transcripts[id];
      const openWindows = s.openWindows.filter((w) => w !== id);
      return { sessions, transcripts, openWindows, focus: s.focus === id ? (s.openInteractions[0] ?? openWindows[0] ?? null) : s.focus };
    });
  }

  /** Shows, keeps or dismisses the interactive notification of an invitation. */
  private checkInvitation(session: SessionView, isNew: boolean): void {
    const meId = this.state.me?.id;
    if (!meId) return;
    const mine = participant(session, meId);
    const pending = isPendingInvitation(session, meId);
    const shown = this.state.notifications.some((n) => n.session_id === session.id);
    if (!pending || mine?.invite_timed_out) {
      if (shown) this.clearNotice(session.id);
      if (pending && mine?.invite_timed_out && shown) {
        this.announce(`Invitation from ${otherPartyName(session, meId)} timed out; it stays in the task bar.`);
      }
      return;
    }
    if (shown || !isNew) return;
    const name = otherPartyName(session, meId);
    this.set((s) => ({ notifications: [...s.notifications, { session_id: session.id, shown_at: this.fx.now() }] }));
    const text = session.last_message?.text;
    this.announce(`Instant message invitation from ${name}${text ? `: ${text}` : ''}`);
    try {
      this.fx.beep();
    } catch {
      /* no audio */
    }
    if (this.fx.isHidden()) {
      this.fx.notify(`Instant message from ${name}`, text ?? 'wants to start an instant message session', () => this.openWindow(session.id));
    }
    this.noticeTimers.set(
      session.id,
      this.fx.setTimer(() => this.clearNotice(session.id), INVITE_NOTICE_MS),
    );
  }

  dismissNotification(id: string): void {
    this.clearNotice(id);
  }

  /** A group invitation of mine was withdrawn (someone else took it, or I went Not Ready). */
  private offerWithdrawn(id: string, group: string, text: string): void {
    const had = !!this.state.sessions[id];
    this.removeSession(id);
    if (!had || this.state.withdrawn.some((w) => w.session_id === id)) return;
    this.set((s) => ({ withdrawn: [...s.withdrawn, { session_id: id, group, text }] }));
    this.announce(`Group consultation for ${group}: ${text}`);
  }

  dismissWithdrawn(id: string): void {
    this.set((s) => ({ withdrawn: s.withdrawn.filter((w) => w.session_id !== id) }));
  }

  private clearNotice(id: string): void {
    const t = this.noticeTimers.get(id);
    if (t !== undefined) this.fx.clearTimer(t);
    this.noticeTimers.delete(id);
    if (this.state.notifications.some((n) => n.session_id === id)) {
      this.set((s) => ({ notifications: s.notifications.filter((n) => n.session_id !== id) }));
    }
  }

  /** An entry changed in place (a redacted message): same seq, new content. */
  private replaceEntry(sessionId: string, entry: TranscriptEntry): void {
    this.set((s) => {
      const patch: Partial<AppState> = {};
      const cur = s.transcripts[sessionId];
      if (cur?.entries.some((e) => e.seq === entry.seq)) {
        const entries = cur.entries.map((e) => (e.seq === entry.seq ? entry : e));
        patch.transcripts = { ...s.transcripts, [sessionId]: { ...cur, entries } };
      }
      const sess = s.sessions[sessionId];
      if (sess?.last_message?.seq === entry.seq) {
        patch.sessions = { ...s.sessions, [sessionId]: { ...sess, last_message: entry } };
      }
      return patch;
    });
  }

  private addEntries(sessionId: string, entries: TranscriptEntry[], live: boolean): void {
    const meId = this.state.me?.id;
    const t = this.state.transcripts[sessionId];
    let gapFrom: number | null = null;
    if (t?.loaded && live) gapFrom = missingAfter(t.entries, entries[0].seq);
    const known = new Set((t?.entries ?? []).map((e) => e.seq));
    const fresh = entries.filter((e) => !known.has(e.seq));
    const ids = new Set(entries.map((e) => e.client_msg_id).filter(Boolean));
    this.set((s) => {
      const cur = s.transcripts[sessionId];
      const sess = s.sessions[sessionId];
      const patch: Partial<AppState> = {};
      if (cur?.loaded) patch.transcripts = { ...s.transcripts, [sessionId]: { ...cur, entries: mergeEntries(cur.entries, entries) } };
      const pend = s.pending[sessionId];
      if (pend?.some((p) => ids.has(p.client_msg_id))) {
        patch.pending = { ...s.pending, [sessionId]: pend.filter((p) => !ids.has(p.client_msg_id)) };
      }
      if (sess && live && fresh.length) {
        const lastMsg = [...fresh].reverse().find((e) => e.kind === 'message');
        const incoming = fresh.filter((e) => e.kind === 'message' && e.actor_id !== meId).length;
        const visible = s.openWindows.includes(sessionId) && !this.fx.isHidden();
        patch.sessions = {
          ...s.sessions,
          [sessionId]: {
            ...sess,
            last_seq: Math.max(sess.last_seq, ...fresh.map((e) => e.seq)),
            last_message: lastMsg ?? sess.last_message,
            unread: visible ? sess.unread : sess.unread + incoming,
          },
        };
      }
      return patch;
    });
    if (!live) return;
    if (gapFrom !== null) void this.fetchAfter(sessionId, gapFrom);
    const incomingMsgs = fresh.filter((e) => e.kind === 'message' && e.actor_id !== meId);
    if (incomingMsgs.length) {
      const last = incomingMsgs[incomingMsgs.length - 1];
      this.sendMark(sessionId, 'delivered', last.seq);
      for (const m of incomingMsgs) this.announce(`${m.actor_name}: ${m.text ?? ''}`);
      const typing = this.state.typing[sessionId];
      if (typing?.[last.actor_id]) this.set((s) => ({ typing: { ...s.typing, [sessionId]: { ...typing, [last.actor_id]: 0 } } }));
      this.markVisible(sessionId);
      const sess = this.state.sessions[sessionId];
      if (sess && this.fx.isHidden() && !isPendingInvitation(sess, meId ?? '')) {
        this.fx.notify(`Message from ${last.actor_name}`, last.text ?? '', () => this.openWindow(sessionId));
      }
    }
    for (const e of fresh) if (e.kind !== 'message' && e.kind !== 'invited') this.announce(systemEntryText(e));
  }

  private sendMark(sessionId: string, kind: 'delivered' | 'read', seq: number): void {
    const m = this.lastMarked.get(sessionId) ?? { delivered: 0, read: 0 };
    if (m[kind] >= seq) return;
    m[kind] = seq;
    if (kind === 'read') m.delivered = Math.max(m.delivered, seq);
    this.lastMarked.set(sessionId, m);
    this.socket.mark(sessionId, kind, seq);
  }

  /** Marks a session read when its window is open and the page visible. */
  markVisible(sessionId: string): void {
    const s = this.state;
    if (!s.openWindows.includes(sessionId) || this.fx.isHidden()) return;
    const sess = s.sessions[sessionId];
    if (!sess || !s.me) return;
    const t = s.transcripts[sessionId];
    const lastOther = t?.entries
      .filter((e) => e.kind === 'message' && e.actor_id !== s.me?.id)
      .reduce((m, e) => Math.max(m, e.seq), 0);
    const seq = Math.max(lastOther ?? 0, sess.unread > 0 ? sess.last_seq : 0);
    if (seq > 0 && this.socket.status === 'open') {
      this.sendMark(sessionId, 'read', seq);
    }
    if (sess.unread) this.set((st) => ({ sessions: { ...st.sessions, [sessionId]: { ...sess, unread: 0 } } }));
  }

  // ---------- transcripts ----------

  async loadTranscript(id: string): Promise<void> {
    const cur = this.state.transcripts[id];
    if (cur?.loaded) return;
    const sess = this.state.sessions[id];
    try {
      const page = await this.api.transcript(id, { before: (sess?.last_seq ?? 0) + 1, limit: TRANSCRIPT_PAGE });
      this.set((s) => {
        const prev = s.transcripts[id] ?? emptyTranscript;
        return {
          transcripts: {
            ...s.transcripts,
            [id]: { ...prev, loaded: true, hasMore: page.has_more, entries: mergeEntries(prev.entries, page.entries) },
          },
        };
      });
      const ids = new Set(page.entries.map((e) => e.client_msg_id).filter(Boolean));
      this.set((s) => ({ pending: { ...s.pending, [id]: (s.pending[id] ?? []).filter((p) => !ids.has(p.client_msg_id)) } }));
      // a message may have arrived between the request and the answer
      const after = this.state.sessions[id]?.last_seq ?? 0;
      const t = this.state.transcripts[id];
      const last = t?.entries.length ? t.entries[t.entries.length - 1].seq : 0;
      if (after > last) await this.fetchAfter(id, last);
      this.markVisible(id);
    } catch (e) {
      this.setError(id, `Could not load the transcript: ${errorText(e)}`);
    }
  }

  private async fetchAfter(id: string, after: number): Promise<void> {
    try {
      const page = await this.api.transcript(id, { after, limit: 500 });
      this.set((s) => {
        const cur = s.transcripts[id];
        if (!cur) return {};
        return { transcripts: { ...s.transcripts, [id]: { ...cur, entries: mergeEntries(cur.entries, page.entries) } } };
      });
    } catch {
      /* retried on the next event */
    }
  }

  async loadOlder(id: string): Promise<void> {
    const cur = this.state.transcripts[id];
    if (!cur?.loaded || !cur.hasMore || cur.loadingOlder || cur.entries.length === 0) return;
    this.set((s) => ({ transcripts: { ...s.transcripts, [id]: { ...cur, loadingOlder: true } } }));
    try {
      const page = await this.api.transcript(id, { before: cur.entries[0].seq, limit: TRANSCRIPT_PAGE });
      this.set((s) => {
        const t = s.transcripts[id] ?? cur;
        return {
          transcripts: {
            ...s.transcripts,
            [id]: { ...t, loadingOlder: false, hasMore: page.has_more, entries: mergeEntries(t.entries, page.entries) },
          },
        };
      });
    } catch (e) {
      this.set((s) => ({ transcripts: { ...s.transcripts, [id]: { ...(s.transcripts[id] ?? cur), loadingOlder: false } } }));
      this.setError(id, `Could not load earlier messages: ${errorText(e)}`);
    }
  }

  // ---------- windows ----------

  /** Brings an IM window forward: with its interaction and that interaction's consultations when it is one of mine. */
  openWindow(id: string): void {
    const sess = this.state.sessions[id];
    if (!sess) return;
    this.clearNotice(id);
    const parent = sess.parent_interaction_id;
    if (parent && this.state.interactions[parent]) {
      this.showGroup(parent, id);
      return;
    }
    this.set({ openInteractions: [], openWindows: [id], focus: id });
    void this.loadTranscript(id).then(() => this.markVisible(id));
    this.markVisible(id);
  }

  /** The IM sessions of my workspace that consult about this interaction, oldest first. */
  private consultationsOf(interactionId: string): string[] {
    const meId = this.state.me?.id ?? '';
    return Object.values(this.state.sessions)
      .filter((s) => s.parent_interaction_id === interactionId && !isPendingInvitation(s, meId))
      .sort((a, b) => a.created_at - b.created_at)
      .map((s) => s.id);
  }

  /** Shows one interaction with its consultations (the rest of the workspace goes to the task bar). */
  private showGroup(interactionId: string, focus: string = interactionId): void {
    const windows = this.consultationsOf(interactionId);
    if (focus !== interactionId && !windows.includes(focus)) windows.push(focus);
    this.set({ openInteractions: [interactionId], openWindows: windows, focus });
    void this.loadDetails(interactionId);
    for (const w of windows) {
      void this.loadTranscript(w).then(() => this.markVisible(w));
      this.markVisible(w);
    }
  }

  minimizeWindow(id: string): void {
    this.set((s) => {
      const openWindows = s.openWindows.filter((w) => w !== id);
      return { openWindows, focus: s.focus === id ? (s.openInteractions[0] ?? openWindows[0] ?? null) : s.focus };
    });
  }

  private setError(id: string, msg: string): void {
    this.set((s) => ({ errors: { ...s.errors, [id]: msg } }));
  }

  clearError(id: string): void {
    this.set((s) => {
      const errors = { ...s.errors };
      delete errors[id];
      return { errors };
    });
  }

  // ---------- commands ----------

  async startIm(targetId: string): Promise<string | null> {
    const existing = Object.values(this.state.sessions).find(
      (s) => s.state !== 'ended' && s.participants.some((p) => p.user_id === targetId) && s.participants.length === 2,
    );
    if (existing) {
      this.openWindow(existing.id);
      return existing.id;
    }
    try {
      const session = await this.api.createSession({ target_id: targetId, client_id: newId(), defer_invite: false });
      this.upsertSession(session);
      this.openWindow(session.id);
      return session.id;
    } catch (e) {
      this.setError('', `Could not start the instant message: ${errorText(e)}`);
      return null;
    }
  }

  private async command(id: string, what: string, fn: () => Promise<SessionView | void>): Promise<boolean> {
    this.clearError(id);
    try {
      const res = await fn();
      if (res) this.upsertSession(res);
      return true;
    } catch (e) {
      this.setError(id, `Could not ${what}: ${errorText(e)}`);
      return false;
    }
  }

  async accept(id: string): Promise<void> {
    this.clearNotice(id);
    const group = this.state.sessions[id]?.offer?.group_name;
    const ok = await this.command(id, 'accept the invitation', async () => {
      try {
        return await this.api.accept(id);
      } catch (e) {
        // another member was first: the invitation is gone, say who took it
        if (e instanceof ApiError && e.code === 'offer_taken' && group) {
          this.offerWithdrawn(id, group, e.message.replace(/ accepted this consultation first$/, '').replace(/^/, 'Taken by '));
          return;
        }
        throw e;
      }
    });
    if (!this.state.sessions[id]) return;
    if (ok) this.openWindow(id);
    const parent = this.state.sessions[id]?.parent_interaction_id;
    // a consultation: its interaction is shared with me from now on
    const view = parent ? this.state.details[parent]?.view.status : undefined;
    if (ok && parent && view !== 'loading' && view !== 'ready') void this.loadDetails(parent, { view: true, force: true });
  }

  async reject(id: string): Promise<void> {
    this.clearNotice(id);
    // the server ends my part and removes the session from my workspace (session_removed); its
    // answer, which may arrive after that event, must not bring it back
    const ok = await this.command(id, 'reject the invitation', async () => {
      await this.api.reject(id);
    });
    if (ok) this.removeSession(id);
  }

  async end(id: string): Promise<void> {
    await this.command(id, 'end the session', () => this.api.end(id));
  }

  async done(id: string): Promise<void> {
    // the server refuses a pending invitation, cancels an unanswered one or ends a connected session first
    this.clearNotice(id);
    const ok = await this.command(id, 'close the session', () => this.api.done(id));
    if (ok) this.removeSession(id);
  }

  /** Sends a message; shown as pending until acknowledged; queued while offline. */
  send(id: string, text: string): void {
    if (!text.trim()) return;
    if (!this.state.me) return;
    const p: PendingMessage = { client_msg_id: newId(), text, created: this.fx.now(), state: 'queued' };
    this.setDraft(id, '');
    this.set((s) => ({ pending: { ...s.pending, [id]: [...(s.pending[id] ?? []), p] } }));
    this.socket.typing(id, 'paused');
    this.deliver(id, p);
  }

  /** Sends a failed message again, with its own client_msg_id (the server never stores it twice). */
  retryPending(id: string, clientMsgId: string): void {
    const p = (this.state.pending[id] ?? []).find((x) => x.client_msg_id === clientMsgId);
    if (!p || p.state !== 'failed') return;
    this.patchPending(id, clientMsgId, () => ({ state: 'queued', error: undefined }));
    this.deliver(id, p);
  }

  private patchPending(id: string, clientMsgId: string, patch: (p: PendingMessage) => Partial<PendingMessage>): void {
    this.set((s) => ({
      pending: { ...s.pending, [id]: (s.pending[id] ?? []).map((x) => (x.client_msg_id === clientMsgId ? { ...x, ...patch(x) } : x)) },
    }));
  }

  /** Hands a pending message to the socket's outbox (which backs off on transient refusals). */
  private deliver(id: string, p: PendingMessage): void {
    const me = this.state.me;
    if (!me) return;
    const text = p.text;
    this.socket.sendMessage(id, p.client_msg_id, text).then(
      (ack) => {
        const entry: TranscriptEntry = {
          session_id: id,
          seq: ack.seq,
          ts: ack.ts,
          kind: 'message',
          actor_id: me.id,
          actor_name: me.display_name,
          subject_id: null,
          subject_name: null,
          text,
          client_msg_id: ack.client_msg_id,
        };
        this.addEntries(id, [entry], false);
        this.set((s) => {
          const sess = s.sessions[id];
          return {
            pending: { ...s.pending, [id]: (s.pending[id] ?? []).filter((x) => x.client_msg_id !== p.client_msg_id) },
            sessions: sess
              ? { ...s.sessions, [id]: { ...sess, last_seq: Math.max(sess.last_seq, ack.seq), last_message: entry } }
              : s.sessions,
          };
        });
      },
      (err: unknown) => {
        const error = sendFailureText(err);
        this.patchPending(id, p.client_msg_id, () => ({ state: 'failed', error }));
        this.announce(`Message not sent: ${error}`);
      },
    );
  }

  discardPending(id: string, clientMsgId: string): void {
    this.set((s) => ({ pending: { ...s.pending, [id]: (s.pending[id] ?? []).filter((x) => x.client_msg_id !== clientMsgId) } }));
  }

  typing(id: string, state: 'composing' | 'paused'): void {
    this.socket.typing(id, state);
  }

  async setStatus(status: Status, reason?: string): Promise<void> {
    try {
      const me = await this.api.setStatus(reason ? { status, reason } : { status });
      this.set({ me });
      this.announce(`Your status is now ${statusLabel(me.status, me.reason, this.state.statusReasons)}`);
    } catch (e) {
      this.setError('', `Could not change your status: ${errorText(e)}`);
    }
  }

  async setZoom(zoom: number): Promise<void> {
    const z = Math.max(50, Math.min(200, Math.round(zoom)));
    this.set((s) => (s.me ? { me: { ...s.me, preferences: { ...s.me.preferences, zoom: z } } } : {}));
    try {
      const me = await this.api.setZoom(z);
      this.set((s) => (s.me ? { me: { ...s.me, preferences: me.preferences } } : {}));
    } catch (e) {
      this.setError('', `Could not save the zoom: ${errorText(e)}`);
    }
  }

  zoomStep(direction: 1 | -1): void {
    const cur = this.state.me?.preferences.zoom ?? 100;
    const idx = direction > 0 ? ZOOM_STEPS.findIndex((z) => z > cur) : ZOOM_STEPS.map((z) => z < cur).lastIndexOf(true);
    if (idx < 0) return;
    void this.setZoom(ZOOM_STEPS[idx]);
  }

  // ---------- interactions ----------

  private replaceInteractions(list: InteractionView[]): void {
    const interactions: Record<string, InteractionView> = {};
    for (const i of list) interactions[i.id] = i;
    this.set((s) => ({ interactions, openInteractions: s.openInteractions.filter((id) => interactions[id]) }));
  }

  private upsertInteraction(i: InteractionView): void {
    const prev = this.state.interactions[i.id];
    this.set((s) => ({ interactions: upsertInteraction(s.interactions, i) }));
    if (!prev) {
      this.announce(`New ${mediaLabel(i.media).toLowerCase()} interaction: ${contactDisplayName(i)}${i.subject ? `, ${i.subject}` : ''}`);
    } else if (prev.state !== i.state && i.state === 'ended') {
      this.announce(`${mediaLabel(i.media)} interaction with ${contactDisplayName(i)}: Ended`);
    }
    if (i.state === 'ended' && this.state.directory.interactionId === i.id) this.leaveConsultationContext();
    // a consultation's transcript may just have been attached: refresh what is shown
    if (this.state.details[i.id]?.history.status === 'ready') void this.loadHistory(i.id);
  }

  /** A consultation about `interactionId` was created or changed state. */
  private consultationChanged(interactionId: string, session: SessionView): void {
    if (this.state.directory.interactionId === interactionId) void this.searchNow();
    if (session.state === 'ended' && this.state.details[interactionId]?.history.status === 'ready') {
      void this.loadHistory(interactionId);
    }
    if (session.state === 'connected' && this.state.me && session.created_by !== this.state.me.id) {
      // the target has just been given access: (re)load the shared data
      const d = this.state.details[interactionId];
      if (d && d.view.status !== 'loading') void this.loadDetails(interactionId, { view: true, force: true });
    }
  }

  /** Brings an interaction forward with its consultations. */
  openInteraction(id: string): void {
    if (!this.state.interactions[id]) return;
    this.showGroup(id);
  }

  /** Sends the interaction and its consultations to the task bar. */
  minimizeInteraction(id: string): void {
    this.set((s) => {
      if (!s.openInteractions.includes(id)) return {};
      return { openInteractions: s.openInteractions.filter((w) => w !== id), openWindows: [], focus: null };
    });
  }

  /** *Done*: removes an ended interaction from the workspace. */
  async interactionDone(id: string): Promise<void> {
    const key = `interaction:${id}`;
    this.clearError(key);
    try {
      await this.api.interactionDone(id);
      if (this.state.directory.interactionId === id) this.leaveConsultationContext();
      this.set((s) => {
        const interactions = { ...s.interactions };
        delete interactions[id];
        const details = { ...s.details };
        delete details[id];
        const open = s.openInteractions.includes(id);
        return {
          interactions,
          details,
          openInteractions: s.openInteractions.filter((w) => w !== id),
          ...(open ? { focus: s.openWindows[0] ?? null } : {}),
        };
      });
    } catch (e) {
      this.setError(key, `Could not close the interaction: ${errorText(e)}`);
    }
  }

  private patchDetails(id: string, fn: (d: InteractionDetails) => Partial<InteractionDetails>): void {
    this.set((s) => {
      const cur = s.details[id] ?? emptyDetails();
      return { details: { ...s.details, [id]: { ...cur, ...fn(cur) } } };
    });
  }

  /**
   * Loads the contact and history of an interaction (and with `view`, the interaction itself:
   * a consultation target has it only this way). Idempotent unless `force`.
   */
  async loadDetails(id: string, opts: { view?: boolean; force?: boolean } = {}): Promise<void> {
    const cur = this.state.details[id] ?? emptyDetails();
    const jobs: Promise<void>[] = [];
    if (opts.view && (opts.force || cur.view.status === 'idle' || cur.view.status === 'error')) {
      this.patchDetails(id, (d) => ({ view: { ...d.view, status: 'loading' } }));
      jobs.push(
        this.api.interaction(id).then(
          (view) => this.patchDetails(id, () => ({ view: loaded(view) })),
          (e: unknown) => this.patchDetails(id, () => ({ view: failed(e) })),
        ),
      );
    }
    if (opts.force || cur.contact.status === 'idle' || cur.contact.status === 'error') {
      this.patchDetails(id, (d) => ({ contact: { ...d.contact, status: 'loading' } }));
      jobs.push(
        this.api.contact(id).then(
          (contact) => this.patchDetails(id, () => ({ contact: loaded(contact) })),
          (e: unknown) => this.patchDetails(id, () => ({ contact: failed(e) })),
        ),
      );
    }
    if (opts.force || cur.history.status === 'idle' || cur.history.status === 'error') jobs.push(this.loadHistory(id));
    await Promise.all(jobs);
  }

  /** Runs the history search the form holds (the latest request wins). */
  async loadHistory(id: string): Promise<void> {
    const t = this.historyTimers.get(id);
    if (t !== undefined) this.fx.clearTimer(t);
    this.historyTimers.delete(id);
    const query = (this.state.details[id] ?? emptyDetails()).historyQuery;
    const req = (this.historyRequest.get(id) ?? 0) + 1;
    this.historyRequest.set(id, req);
    this.patchDetails(id, (d) => ({ history: { ...d.history, status: 'loading' } }));
    try {
      const page = await this.api.history(id, historyParams(query));
      if (this.historyRequest.get(id) !== req) return;
      this.patchDetails(id, () => ({ history: loaded(page.items), historyShown: query }));
    } catch (e) {
      if (this.historyRequest.get(id) !== req) return;
      this.patchDetails(id, () => ({ history: failed(e) }));
    }
  }

  /** Changes the history search form; quick-search text is applied after a short pause, other fields at once. */
  setHistoryQuery(id: string, patch: Partial<HistoryQuery>, opts: { immediate?: boolean } = {}): void {
    this.patchDetails(id, (d) => ({ historyQuery: { ...d.historyQuery, ...patch } }));
    const t = this.historyTimers.get(id);
    if (t !== undefined) this.fx.clearTimer(t);
    if (opts.immediate) {
      void this.loadHistory(id);
      return;
    }
    this.historyTimers.set(
      id,
      this.fx.setTimer(() => {
        this.historyTimers.delete(id);
        void this.loadHistory(id);
      }, HISTORY_SEARCH_DELAY_MS),
    );
  }

  /** *Start Consultation*: the Team Communicator in the context of this interaction. */
  startConsultation(interactionId: string): void {
    if (!this.state.interactions[interactionId]) return;
    this.set((s) => ({
      directory: {
        ...s.directory,
        interactionId,
        query: '',
        filter: 'all',
        activeConsultations: [],
        preselected: null,
        focusRequest: s.directory.focusRequest + 1,
      },
    }));
    const i = this.state.interactions[interactionId];
    this.announce(`Team Communicator: consultation about ${interactionSummary(i)}`);
    void this.searchNow();
  }

  leaveConsultationContext(): void {
    if (!this.state.directory.interactionId) return;
    this.set((s) => ({ directory: { ...s.directory, interactionId: null, activeConsultations: [], preselected: null } }));
    void this.searchNow();
  }

  /** *Start Instant Message Consultation* on a group: asks for the first message (the offer carries it). */
  composeGroupConsultation(groupId: string, name: string): void {
    this.set((s) => ({ groupCompose: { id: groupId, name, interactionId: s.directory.interactionId } }));
  }

  cancelGroupCompose(): void {
    this.set({ groupCompose: null });
  }

  /** Offers a consultation to the group being composed to, with its first message. */
  async startGroupConsultation(text: string): Promise<string | null> {
    const compose = this.state.groupCompose;
    if (!compose || !text.trim()) return null;
    try {
      const session = await this.api.createSession({
        target_id: compose.id,
        client_id: newId(),
        defer_invite: false,
        first_message: { client_msg_id: newId(), text },
        ...(compose.interactionId ? { parent_interaction_id: compose.interactionId } : {}),
      });
      this.set({ groupCompose: null });
      this.upsertSession(session);
      this.openWindow(session.id);
      this.announce(`Consultation offered to ${compose.name}`);
      return session.id;
    } catch (e) {
      this.setError('', `Could not start the consultation: ${errorText(e)}`);
      return null;
    }
  }

  /** Reloads the Missed list. */
  async loadMissed(): Promise<void> {
    if (!this.api.missed) return;
    try {
      const missed = await this.api.missed();
      this.set({ missed });
    } catch {
      /* kept as it was; the next change reloads it */
    }
  }

  /** *Reply* to a missed invitation: opens the session (the initiator is told). */
  async replyMissed(id: string): Promise<void> {
    if (!this.api.replyMissed) return;
    try {
      const session = await this.api.replyMissed(id);
      this.set((s) => ({ missed: s.missed.filter((m) => m.session.id !== id) }));
      this.upsertSession(session);
      this.openWindow(session.id);
    } catch (e) {
      this.setError('', `Could not reply: ${errorText(e)}`);
      void this.loadMissed();
    }
  }

  async dismissMissed(id: string): Promise<void> {
    if (!this.api.dismissMissed) return;
    this.set((s) => ({ missed: s.missed.filter((m) => m.session.id !== id) }));
    try {
      await this.api.dismissMissed(id);
    } catch {
      void this.loadMissed();
    }
  }

  /** Records what an ended consultation came to (its initiator). */
  async setOutcome(id: string, outcome: ConsultationOutcome, note: string): Promise<void> {
    if (!this.api.setOutcome) return;
    const ok = await this.command(id, 'record the outcome', async () => {
      await this.api.setOutcome!(id, outcome, note.trim() || undefined);
    });
    if (ok) {
      this.set((s) => {
        const sess = s.sessions[id];
        return sess ? { sessions: { ...s.sessions, [id]: { ...sess, outcome } } } : {};
      });
    }
  }

  /** *Start Instant Message Consultation*: a new IM session about the context's interaction, Not Connected. */
  async startImConsultation(targetId: string, interactionId = this.state.directory.interactionId): Promise<string | null> {
    if (!interactionId) return this.startIm(targetId);
    const existing = openConsultation(this.state.sessions, interactionId, targetId);
    if (existing) {
      this.openWindow(existing.id);
      return existing.id;
    }
    try {
      const session = await this.api.createSession({
        target_id: targetId,
        client_id: newId(),
        defer_invite: true,
        parent_interaction_id: interactionId,
      });
      this.upsertSession(session);
      this.openWindow(session.id);
      return session.id;
    } catch (e) {
      this.setError('', `Could not start the consultation: ${errorText(e)}`);
      return null;
    }
  }

  // ---------- voice ----------

  private replaceCalls(list: CallView[]): void {
    const meId = this.state.me?.id ?? '';
    const calls: Record<string, CallView> = {};
    for (const c of list) if (c.state !== 'ended' && isMyCall(c, meId)) calls[c.id] = c;
    this.set({ calls });
    this.callsChanged([]);
  }

  /** Applies a call view from the stream or from a REST answer. */
  upsertCall(call: CallView): void {
    const prev = this.state.calls[call.id];
    const meId = this.state.me?.id ?? '';
    if (!prev && (call.state === 'ended' || !isMyCall(call, meId))) return;
    const next = upsertCall(this.state.calls, call);
    if (next === this.state.calls) return;
    this.set({ calls: next });
    const fresh = next[call.id];
    const announced: string[] = [];
    if (!prev && isIncoming(fresh, meId)) announced.push(call.id);
    if (prev && prev.state !== 'ended' && (fresh.state === 'ended' || !isMyCall(fresh, meId))) {
      this.announce('Call ended');
      this.endedTimers.set(
        call.id,
        this.fx.setTimer(() => {
          this.endedTimers.delete(call.id);
          this.set((s) => {
            const calls = { ...s.calls };
            delete calls[call.id];
            return { calls };
          });
        }, ENDED_CALL_MS),
      );
    }
    this.callsChanged(announced);
  }

  /** After any change of calls: media rules, ring, microphone, announcements. */
  private callsChanged(newIncoming: string[]): void {
    const meId = this.state.me?.id ?? '';
    const live = Object.values(this.state.calls).filter((c) => c.state !== 'ended');
    this.media?.update(live);
    const incoming = live.filter((c) => isIncoming(c, meId));
    this.setRinging(incoming.length > 0);
    for (const id of newIncoming) {
      const c = this.state.calls[id];
      const from = c.kind === 'contact' ? (c.parties.find((p) => p.kind === 'contact')?.display_name ?? 'a caller') : (c.parties[0]?.display_name ?? 'a colleague');
      this.announce(`Incoming voice call from ${from}`);
      if (this.fx.isHidden()) this.fx.notify(`Incoming voice call from ${from}`, 'Accept or reject it in Backline', () => undefined);
    }
    // the permission prompt comes with the first call, not at sign-in
    if (live.length && this.media && this.state.voice.mic === 'idle') void this.media.acquire();
  }

  private setRinging(on: boolean): void {
    if (this.ringing === on) return;
    this.ringing = on;
    try {
      this.fx.ring?.(on);
    } catch {
      /* no audio */
    }
  }

  private async callCommand(id: string, what: string, fn: () => Promise<CallView>): Promise<CallView | null> {
    const api = this.api;
    if (!api.calls) return null;
    this.clearError(`call:${id}`);
    this.set((s) => ({ voice: { ...s.voice, busy: { ...s.voice.busy, [id]: true } } }));
    try {
      const view = await fn();
      this.upsertCall(view);
      return view;
    } catch (e) {
      this.setError(`call:${id}`, `Could not ${what}: ${errorText(e)}`);
      return null;
    } finally {
      this.set((s) => {
        const busy = { ...s.voice.busy };
        delete busy[id];
        return { voice: { ...s.voice, busy } };
      });
    }
  }

  /** *Accept* an incoming call on this tab. */
  async acceptCall(id: string): Promise<void> {
    await this.media?.acquire();
    const api = this.api;
    await this.callCommand(id, 'accept the call', () => api.acceptCall!(id, this.state.voice.tabDevice));
  }

  async callAction(id: string, action: CallAction): Promise<void> {
    const api = this.api;
    const what: Record<CallAction, string> = {
      reject: 'reject the call',
      hold: 'put the contact on hold',
      retrieve: 'retrieve the contact',
      'hang-up': 'hang up',
      'end-consultation': 'end the consultation',
      'complete-transfer': 'complete the transfer',
      'complete-conference': 'complete the conference',
    };
    await this.callCommand(id, what[action], () => api.callAction!(id, action));
  }

  /** *Start Voice Consultation* with the target of an IM consultation about the context's interaction. */
  async startVoiceConsultation(targetId: string, interactionId = this.state.directory.interactionId): Promise<void> {
    const api = this.api;
    if (!interactionId || !api.voiceConsultation) return;
    const session = openConsultation(this.state.sessions, interactionId, targetId);
    if (!session) {
      this.setError('', 'Start an instant message consultation with this colleague first, then Start Voice Consultation.');
      return;
    }
    await this.media?.acquire();
    this.clearError('');
    try {
      const call = await api.voiceConsultation(session.id, this.state.voice.tabDevice);
      this.upsertCall(call);
      this.announce(`Voice consultation with ${otherPartyName(session, this.state.me?.id ?? '')}: ringing; the contact is on hold`);
    } catch (e) {
      this.setError('', `Could not start the voice consultation: ${errorText(e)}`);
    }
  }

  setMuted(muted: boolean): void {
    this.media?.setMuted(muted);
    this.announce(muted ? 'Microphone muted' : 'Microphone on');
  }

  selectMicrophone(deviceId: string): void {
    void this.media?.selectDevice(deviceId);
  }

  /** Asks for the microphone now (the softphone's button). */
  enableMicrophone(): void {
    void this.media?.acquire();
  }

  /** Opens or closes the softphone (it shows by itself while there is a call). */
  showSoftphone(open: boolean): void {
    this.set((s) => ({ voice: { ...s.voice, softphoneOpen: open } }));
  }

  // ---------- Team Communicator ----------

  search(query: string): void {
    this.set((s) => ({ directory: { ...s.directory, query } }));
    if (this.dirTimer !== null) this.fx.clearTimer(this.dirTimer);
    this.dirTimer = this.fx.setTimer(() => {
      this.dirTimer = null;
      void this.searchNow();
    }, 200);
  }

  setFilter(filter: DirectoryFilter): void {
    this.set((s) => ({ directory: { ...s.directory, filter } }));
    void this.searchNow();
  }

  async searchNow(): Promise<void> {
    const { query, filter, interactionId } = this.state.directory;
    const req = ++this.dirRequest;
    this.set((s) => ({ directory: { ...s.directory, loading: true, error: null } }));
    try {
      const res = interactionId
        ? await this.api.directory(query.trim(), filter, 50, interactionId)
        : await this.api.directory(query.trim(), filter, 50);
      if (req !== this.dirRequest) return;
      const meId = this.state.me?.id;
      const entries = res.entries.filter((e) => e.id !== meId);
      const activeConsultations = interactionId ? (res.active_consultations ?? []).filter((e) => e.id !== meId) : [];
      const preselected = interactionId ? (res.preselected ?? null) : null;
      this.set((s) => ({ directory: { ...s.directory, entries, activeConsultations, preselected, loading: false } }));
      const ids = new Set([...activeConsultations, ...entries].filter((e) => e.kind === 'user').map((e) => e.id));
      this.directoryWatch = [...ids];
      this.watchAll();
    } catch (e) {
      if (req !== this.dirRequest) return;
      this.set((s) => ({ directory: { ...s.directory, loading: false, error: errorText(e) } }));
    }
  }

  async toggleFavourite(entry: DirectoryEntry): Promise<void> {
    const add = !entry.favourite;
    try {
      if (add) await this.api.addFavourite(entry.id);
      else await this.api.removeFavourite(entry.id);
      const actions = entry.actions.map((a) =>
        a === 'add_favourite' && add ? ('remove_favourite' as const) : a === 'remove_favourite' && !add ? ('add_favourite' as const) : a,
      );
      this.set((s) => ({
        directory: {
          ...s.directory,
          entries: s.directory.entries.map((e) => (e.id === entry.id ? { ...e, favourite: add, actions } : e)),
        },
      }));
      this.announce(add ? `${entry.display_name} added to favourites` : `${entry.display_name} removed from favourites`);
      if (this.state.directory.filter === 'favourites') void this.searchNow();
    } catch (e) {
      this.setError('', `Could not change favourites: ${errorText(e)}`);
    }
  }

  // ---------- supervision ----------

  /** Watches the presence of the Team Communicator's users and of the board's members. */
  private watchAll(): void {
    const ids = new Set(this.directoryWatch);
    for (const g of this.state.supervision.board?.groups ?? []) for (const m of g.members) ids.add(m.user_id);
    this.socket.watch([...ids]);
  }

  /**
   * Reads the supervision board. A `board_changed` event calls this: while a read is in flight,
   * further notices make one more read after it (a burst of changes costs two reads at most).
   */
  async loadBoard(): Promise<void> {
    if (!this.api.supervisionBoard || this.state.phase !== 'signed_in') return;
    if (this.boardLoading) {
      this.boardAgain = true;
      return;
    }
    this.boardLoading = true;
    this.set((s) => ({ supervision: { ...s.supervision, loading: true } }));
    try {
      do {
        this.boardAgain = false;
        const before = this.state.supervision.board;
        const board = await this.api.supervisionBoard();
        if (this.state.phase !== 'signed_in') return;
        this.set((s) => ({ supervision: { ...s.supervision, board, loading: false, error: null } }));
        const members = (b: SupervisionBoard | null) =>
          (b?.groups ?? []).flatMap((g) => g.members.map((m) => m.user_id)).sort().join(',');
        if (members(before) !== members(board)) this.watchAll();
      } while (this.boardAgain);
    } catch (e) {
      this.set((s) => ({ supervision: { ...s.supervision, loading: false, error: `Could not load the board: ${errorText(e)}` } }));
    } finally {
      this.boardLoading = false;
    }
  }

  /** Shows the supervision page (reading the board afresh) or goes back to the workspace. */
  showSupervision(open: boolean): void {
    this.set((s) => ({ supervision: { ...s.supervision, open } }));
    if (open) void this.loadBoard();
  }

  /** Joins a consultation from the board as its supervisor and opens its window. */
  async joinAsSupervisor(id: string): Promise<void> {
    if (!this.api.joinSession) return;
    try {
      const view = await this.api.joinSession(id);
      this.upsertSession(view);
      this.set((s) => ({ supervision: { ...s.supervision, open: false } }));
      this.openWindow(id);
      this.announce('Joined the consultation as supervisor');
    } catch (e) {
      this.set((s) => ({ supervision: { ...s.supervision, error: `Could not join: ${errorText(e)}` } }));
    }
  }

  /** Opens from the board a consultation this user already takes part in. */
  openFromBoard(id: string): void {
    if (!this.state.sessions[id]) return;
    this.set((s) => ({ supervision: { ...s.supervision, open: false } }));
    this.openWindow(id);
  }

  /** Chooses whom the composer of a session whispers to (null: a message to everyone). */
  setWhisperTo(id: string, to: string | null): void {
    this.set((s) => {
      const whisperTo = { ...s.whisperTo };
      if (to) whisperTo[id] = to;
      else delete whisperTo[id];
      return { whisperTo };
    });
  }

  /** A joined supervisor's whisper to one participant; it arrives in the transcript as a stream event. */
  async whisper(id: string, to: string, text: string): Promise<boolean> {
    if (!this.api.whisper || !text.trim()) return false;
    try {
      await this.api.whisper(id, { to, client_msg_id: newId(), text });
      return true;
    } catch (e) {
      this.setError(id, `Whisper not sent: ${errorText(e)}`);
      return false;
    }
  }

  /** Called by the page on `online` / `offline` and visibility changes. */
  browserOnline(online: boolean): void {
    if (this.state.phase !== 'signed_in') return;
    if (online) this.socket.reconnectNow();
    else this.socket.drop();
  }

  pageVisible(): void {
    for (const id of this.state.openWindows) this.markVisible(id);
  }
}

function loaded<T>(data: T): Loadable<T> {
  return { status: 'ready', data, error: null, code: null };
}

function failed<T>(e: unknown): Loadable<T> {
  return { status: 'error', data: null, error: errorText(e), code: e instanceof ApiError ? e.code : null };
}

export const STATUS_LABELS: Record<Status, string> = {
  ready: 'Ready',
  not_ready: 'Not Ready',
  away: 'Away',
  busy: 'Busy',
  offline: 'Offline',
};

export function statusLabel(status: Status, reason: string | null, reasons: StatusReason[]): string {
  if (status === 'not_ready' && reason) {
    const label = reasons.find((r) => r.code === reason)?.label ?? reason;
    return `Not Ready – ${label}`;
  }
  return STATUS_LABELS[status];
}
