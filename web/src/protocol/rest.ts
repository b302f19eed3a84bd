// Typed REST client for /api/v1 (docs/protocol.md §4).
import type {
  CallView,
  IceConfig,
  PublicCallResponse,
  CreateSessionRequest,
  DirectoryFilter,
  DirectoryResponse,
  ErrorBody,
  ContactView,
  ErrorCode,
  EventPage,
  HistoryPage,
  InteractionView,
  MarkKind,
  Me,
  MessageAck,
  PresenceView,
  SessionView,
  SetStatusRequest,
  SignInMethods,
  SignInResponse,
  StatusReason,
  TranscriptPage,
  ConsultationOutcome,
  MissedView,
  OutcomeView,
  SupervisionBoard,
  WhisperRequest,
  AuditEntry,
  CreateIntegrationRequest,
  CreatedIntegration,
  CreateUserRequest,
  DeliveryState,
  GroupView,
  IntegrationView,
  RotatedIntegration,
  UpdateGroupRequest,
  UpdateUserRequest,
  UserView,
  WebhookDelivery,
  WebhookDeliveryPage,
  ContactErasure,
  ContactExport,
  HoldTarget,
  LegalHoldView,
  RetentionReport,
  TranscriptEntry,
} from './generated';

export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  constructor(status: number, code: ErrorCode, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface RestOptions {
  baseUrl?: string;
  fetch?: FetchLike;
  /** `Authorization: Bearer …` on every request (the click-to-call page's caller_token). */
  bearer?: string;
  /** Called when a request (other than sign-in / me) answers 401. */
  onUnauthorized?: (error: ApiError) => void;
}

function query(params: Record<string, string | number | undefined>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== '') parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

const seg = encodeURIComponent;

export class RestClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: FetchLike;
  onUnauthorized?: (error: ApiError) => void;
  bearer: string | undefined;

  constructor(options: RestOptions = {}) {
    this.bearer = options.bearer;
    this.baseUrl = options.baseUrl ?? '/api/v1';
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.onUnauthorized = options.onUnauthorized;
  }

  async request<T>(method: string, path: string, body?: unknown, opts: { quiet401?: boolean } = {}): Promise<T> {
    let response: Response;
    const headers: Record<string, string> = body === undefined ? { Accept: 'application/json' } : { 'Content-Type': 'application/json', Accept: 'application/json' };
    if (this.bearer) headers.Authorization = `Bearer ${this.bearer}`;
    try {
      response = await this.fetchImpl(this.baseUrl + path, {
        method,
        credentials: 'same-origin',
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, 'unavailable', e instanceof Error ? e.message : 'Network error');
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let data: unknown = undefined;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = undefined;
      }
    }
    if (!response.ok) {
      const err = data as Partial<ErrorBody> | undefined;
      const error = new ApiError(
        response.status,
        (err?.code ?? (response.status === 401 ? 'unauthenticated' : 'internal')) as ErrorCode,
        err?.message ?? `HTTP ${response.status}`,
      );
      if (response.status === 401 && !opts.quiet401) this.onUnauthorized?.(error);
      throw error;
    }
    return data as T;
  }

  signIn(username: string, password: string): Promise<SignInResponse> {
    return this.request('POST', '/auth/sign-in', { username, password }, { quiet401: true });
  }
  /** GET /auth/methods: the password form and the identity provider's button (public). */
  signInMethods(): Promise<SignInMethods> {
    return this.request('GET', '/auth/methods', undefined, { quiet401: true });
  }
  /** Trades the one-time code the identity provider's callback left in `#sso=…` for a session. */
  ssoFinish(code: string): Promise<SignInResponse> {
    return this.request('POST', '/auth/oidc/finish', { code }, { quiet401: true });
  }
  signOut(): Promise<void> {
    return this.request('POST', '/auth/sign-out', undefined, { quiet401: true });
  }
  /** GET /me; a 401 here is the normal "not signed in" answer and is not reported. */
  me(): Promise<Me> {
    return this.request('GET', '/me', undefined, { quiet401: true });
  }
  setStatus(req: SetStatusRequest): Promise<Me> {
    return this.request('PUT', '/me/status', req);
  }
  setZoom(zoom: number): Promise<Me> {
    return this.request('PUT', '/me/preferences', { zoom });
  }
  statusReasons(): Promise<StatusReason[]> {
    return this.request('GET', '/status-reasons');
  }
  /** With `interactionId`: the Team Communicator in that interaction's context (consultations). */
  directory(q: string, filter: DirectoryFilter, limit = 50, interactionId?: string): Promise<DirectoryResponse> {
    return this.request('GET', `/directory${query({ q, filter, limit, interaction_id: interactionId })}`);
  }
  addFavourite(targetId: string): Promise<void> {
    return this.request('PUT', `/favourites/${seg(targetId)}`);
  }
  removeFavourite(targetId: string): Promise<void> {
    return this.request('DELETE', `/favourites/${seg(targetId)}`);
  }
  presence(ids: string[]): Promise<PresenceView[]> {
    return this.request('GET', `/presence${query({ ids: ids.join(',') })}`);
  }
  sessions(): Promise<SessionView[]> {
    return this.request('GET', '/sessions');
  }
  createSession(req: CreateSessionRequest): Promise<SessionView> {
    return this.request('POST', '/sessions', req);
  }
  session(id: string): Promise<SessionView> {
    return this.request('GET', `/sessions/${seg(id)}`);
  }
  accept(id: string): Promise<SessionView> {
    return this.request('POST', `/sessions/${seg(id)}/accept`);
  }
  reject(id: string): Promise<SessionView> {
    return this.request('POST', `/sessions/${seg(id)}/reject`);
  }
  cancel(id: string): Promise<SessionView> {
    return this.request('POST', `/sessions/${seg(id)}/cancel`);
  }
  end(id: string): Promise<SessionView> {
    return this.request('POST', `/sessions/${seg(id)}/end`);
  }
  done(id: string): Promise<void> {
    return this.request('POST', `/sessions/${seg(id)}/done`);
  }
  sendMessage(id: string, client_msg_id: string, text: string): Promise<MessageAck> {
    return this.request('POST', `/sessions/${seg(id)}/messages`, { client_msg_id, text });
  }
  joinSession(id: string): Promise<SessionView> {
    return this.request('POST', `/sessions/${seg(id)}/join`);
  }
  whisper(id: string, req: WhisperRequest): Promise<MessageAck> {
    return this.request('POST', `/sessions/${seg(id)}/whisper`, req);
  }
  supervisionBoard(): Promise<SupervisionBoard> {
    return this.request('GET', '/supervision/board');
  }
  transcript(id: string, page: { after?: number; before?: number; limit?: number }): Promise<TranscriptPage> {
    return this.request('GET', `/sessions/${seg(id)}/transcript${query(page)}`);
  }
  mark(id: string, kind: MarkKind, seq: number): Promise<void> {
    return this.request('POST', `/sessions/${seg(id)}/marks`, { kind, seq });
  }
  setOutcome(id: string, outcome: ConsultationOutcome, note?: string): Promise<OutcomeView> {
    return this.request('PUT', `/sessions/${seg(id)}/outcome`, { outcome, note });
  }
  missed(): Promise<MissedView[]> {
    return this.request('GET', '/missed');
  }
  replyMissed(id: string): Promise<SessionView> {
    return this.request('POST', `/missed/${seg(id)}/reply`);
  }
  dismissMissed(id: string): Promise<void> {
    return this.request('POST', `/missed/${seg(id)}/dismiss`);
  }
  interactions(): Promise<InteractionView[]> {
    return this.request('GET', '/interactions');
  }
  interaction(id: string): Promise<InteractionView> {
    return this.request('GET', `/interactions/${seg(id)}`);
  }
  interactionDone(id: string): Promise<void> {
    return this.request('POST', `/interactions/${seg(id)}/done`);
  }
  contact(interactionId: string): Promise<ContactView> {
    return this.request('GET', `/interactions/${seg(interactionId)}/contact`);
  }
  /** Params: q, media, from, to (unix ms), agent, limit; empty ones are left out. */
  history(interactionId: string, params: Record<string, string | number | undefined> = {}): Promise<HistoryPage> {
    return this.request('GET', `/interactions/${seg(interactionId)}/history${query(params)}`);
  }
  // ---------- voice ----------
  iceServers(): Promise<IceConfig> {
    return this.request('GET', '/voice/ice-servers');
  }
  calls(): Promise<CallView[]> {
    return this.request('GET', '/calls');
  }
  acceptCall(id: string, device_id: string): Promise<CallView> {
    return this.request('POST', `/calls/${seg(id)}/accept`, { device_id });
  }
  /** `reject`, `hold`, `retrieve`, `hang-up`, `end-consultation`, `complete-transfer`, `complete-conference`. */
  callAction(id: string, action: CallAction): Promise<CallView> {
    return this.request('POST', `/calls/${seg(id)}/${action}`);
  }
  /** *Start Voice Consultation* from the IM consultation `sessionId`. */
  voiceConsultation(sessionId: string, device_id: string): Promise<CallView> {
    return this.request('POST', `/sessions/${seg(sessionId)}/voice-consultation`, { device_id });
  }
  /** The click-to-call page (no sign-in). */
  publicCall(name: string, device_id: string): Promise<PublicCallResponse> {
    return this.request('POST', '/public/calls', { name, device_id }, { quiet401: true });
  }
  /** With `bearer` set to the caller_token. */
  publicHangUp(id: string): Promise<CallView> {
    return this.request('POST', `/public/calls/${seg(id)}/hang-up`, undefined, { quiet401: true });
  }
  publicCallView(id: string): Promise<CallView> {
    return this.request('GET', `/public/calls/${seg(id)}`, undefined, { quiet401: true });
  }
  events(after: number, limit = 500): Promise<EventPage> {
    return this.request('GET', `/events${query({ after, limit })}`);
  }
  // ---------- administration (admin role) ----------
  adminUsers(): Promise<UserView[]> {
    return this.request('GET', '/admin/users');
  }
  createUser(req: CreateUserRequest): Promise<UserView> {
    return this.request('POST', '/admin/users', req);
  }
  updateUser(id: string, req: UpdateUserRequest): Promise<UserView> {
    return this.request('PATCH', `/admin/users/${seg(id)}`, req);
  }
  adminGroups(): Promise<GroupView[]> {
    return this.request('GET', '/admin/groups');
  }
  createGroup(name: string): Promise<GroupView> {
    return this.request('POST', '/admin/groups', { name });
  }
  updateGroup(id: string, req: UpdateGroupRequest): Promise<GroupView> {
    return this.request('PATCH', `/admin/groups/${seg(id)}`, req);
  }
  /** Adds (`on`) or removes a member or a supervisor of a group. */
  setGroupRole(groupId: string, role: 'members' | 'supervisors', userId: string, on: boolean): Promise<void> {
    return this.request(on ? 'PUT' : 'DELETE', `/admin/groups/${seg(groupId)}/${role}/${seg(userId)}`);
  }
  adminReasons(): Promise<StatusReason[]> {
    return this.request('GET', '/admin/status-reasons');
  }
  createReason(code: string, label: string): Promise<StatusReason> {
    return this.request('POST', '/admin/status-reasons', { code, label });
  }
  integrations(): Promise<IntegrationView[]> {
    return this.request('GET', '/admin/integrations');
  }
  createIntegration(req: CreateIntegrationRequest): Promise<CreatedIntegration> {
    return this.request('POST', '/admin/integrations', req);
  }
  /** A new token (`token`) or webhook secret (`webhook-secret`), shown once. */
  rotateIntegration(id: string, what: 'token' | 'webhook-secret'): Promise<RotatedIntegration> {
    return this.request('POST', `/admin/integrations/${seg(id)}/${what}`);
  }
  deliveries(id: string, params: { state?: DeliveryState | ''; before?: string; limit?: number } = {}): Promise<WebhookDeliveryPage> {
    return this.request('GET', `/admin/integrations/${seg(id)}/deliveries${query(params)}`);
  }
  redeliver(id: string, deliveryId: string): Promise<WebhookDelivery> {
    return this.request('POST', `/admin/integrations/${seg(id)}/deliveries/${seg(deliveryId)}/redeliver`);
  }
  /** Params: action (comma-separated), actor, resource, allowed, from, to (unix ms), before, limit. */
  audit(params: Record<string, string | number | undefined> = {}): Promise<AuditEntry[]> {
    return this.request('GET', `/admin/audit${query(params)}`);
  }
  runRetention(dry_run: boolean): Promise<RetentionReport> {
    return this.request('POST', '/admin/retention/run', { dry_run });
  }
  legalHolds(): Promise<LegalHoldView[]> {
    return this.request('GET', '/admin/legal-holds');
  }
  placeLegalHold(kind: HoldTarget, id: string, reason: string): Promise<LegalHoldView> {
    return this.request('PUT', `/admin/legal-holds/${seg(kind)}/${seg(id)}`, { reason });
  }
  liftLegalHold(kind: HoldTarget, id: string): Promise<void> {
    return this.request('DELETE', `/admin/legal-holds/${seg(kind)}/${seg(id)}`);
  }
  exportContact(id: string): Promise<ContactExport> {
    return this.request('GET', `/admin/contacts/${seg(id)}/export`);
  }
  eraseContact(id: string): Promise<ContactErasure> {
    return this.request('DELETE', `/admin/contacts/${seg(id)}`);
  }
  redactMessage(sessionId: string, seq: number, reason?: string): Promise<TranscriptEntry> {
    return this.request('POST', `/admin/sessions/${seg(sessionId)}/messages/${seq}/redact`, { reason });
  }
}

/** What the administration console calls. */
export type AdminApi = Pick<
  RestClient,
  | 'adminUsers'
  | 'createUser'
  | 'updateUser'
  | 'adminGroups'
  | 'createGroup'
  | 'updateGroup'
  | 'setGroupRole'
  | 'adminReasons'
  | 'createReason'
  | 'integrations'
  | 'createIntegration'
  | 'rotateIntegration'
  | 'deliveries'
  | 'redeliver'
  | 'audit'
  | 'runRetention'
  | 'legalHolds'
  | 'placeLegalHold'
  | 'liftLegalHold'
  | 'exportContact'
  | 'eraseContact'
  | 'redactMessage'
>;

export type CallAction = 'reject' | 'hold' | 'retrieve' | 'hang-up' | 'end-consultation' | 'complete-transfer' | 'complete-conference';

/** The voice part of the REST client (optional in `Api`: older test fakes leave it out). */
export type VoiceApi = Pick<RestClient, 'iceServers' | 'calls' | 'acceptCall' | 'callAction' | 'voiceConsultation'>;

/** After an invitation or a consultation: the Missed list and outcomes. */
export type FollowupApi = Pick<RestClient, 'setOutcome' | 'missed' | 'replyMissed' | 'dismissMissed'>;

/** Supervision: the board, joining a consultation, whispering. */
export type SupervisionApi = Pick<RestClient, 'supervisionBoard' | 'joinSession' | 'whisper'>;

/** Single sign-on (optional in `Api`: older test fakes leave it out). */
export type SsoApi = Pick<RestClient, 'signInMethods' | 'ssoFinish'>;

/** The subset of the REST client the models use; tests substitute a fake. */
export type Api = Pick<
  RestClient,
  | 'signIn'
  | 'signOut'
  | 'me'
  | 'setStatus'
  | 'setZoom'
  | 'statusReasons'
  | 'directory'
  | 'addFavourite'
  | 'removeFavourite'
  | 'sessions'
  | 'createSession'
  | 'session'
  | 'accept'
  | 'reject'
  | 'cancel'
  | 'end'
  | 'done'
  | 'transcript'
  | 'interactions'
  | 'interaction'
  | 'interactionDone'
  | 'contact'
  | 'history'
> &
  Partial<VoiceApi> &
  Partial<FollowupApi> &
  Partial<SupervisionApi> &
  Partial<SsoApi> & { onUnauthorized?: (error: ApiError) => void };
