// The click-to-call page (`/call`): no sign-in. POST /public/calls, then a socket authenticated with
// the caller_token (`caller_welcome`, `call` and `signal` frames), and the same media rules as an agent.
import type { CallView, PublicCallResponse, Signal } from '../protocol/generated';
import { ApiError } from '../protocol/rest';
import type { SocketEvent } from '../protocol/socket';
import { Store } from '../lib/store';
import type { CallMedia, MicState } from './callMedia';
import { myParty } from './voice';

export interface CallerApi {
  publicCall(name: string, device_id: string): Promise<PublicCallResponse>;
  publicHangUp(id: string): Promise<CallView>;
  /** Sets the bearer (caller_token) of later requests. */
  bearer: string | undefined;
}

export interface CallerSocket {
  start(): void;
  stop(): void;
  on(listener: (e: SocketEvent) => void): () => void;
  sendSignal(call_id: string, to: string, signal: Signal): void;
}

export interface CallerState {
  phase: 'idle' | 'calling' | 'in_call' | 'ended';
  call: CallView | null;
  partyId: string | null;
  error: string | null;
  mic: MicState;
  busy: boolean;
}

export type CallerStatusText = 'Connecting…' | 'Connected' | 'On hold — please wait' | 'Call ended' | null;

export const NO_AGENT_TEXT = 'No agent is available right now. Please try again in a few minutes.';

/** What the caller page shows about its call. */
export function callerStatus(s: CallerState): CallerStatusText {
  if (s.phase === 'idle') return null;
  if (s.phase === 'ended') return 'Call ended';
  if (s.phase === 'calling' || !s.call || !s.partyId) return 'Connecting…';
  const mine = myParty(s.call, s.partyId);
  if (s.call.state === 'ended' || !mine || mine.state === 'left') return 'Call ended';
  if (mine.state === 'held') return 'On hold — please wait';
  const agent = s.call.parties.some((p) => p.party_id !== s.partyId && p.state === 'connected');
  if (s.call.state === 'active' && mine.state === 'connected' && agent) return 'Connected';
  return 'Connecting…';
}

export class CallerModel {
  readonly store = new Store<CallerState>({ phase: 'idle', call: null, partyId: null, error: null, mic: 'idle', busy: false });
  private readonly api: CallerApi;
  private readonly makeSocket: (token: string) => CallerSocket;
  private readonly media: CallMedia;
  private socket: CallerSocket | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(api: CallerApi, makeSocket: (token: string) => CallerSocket, media: CallMedia) {
    this.api = api;
    this.makeSocket = makeSocket;
    this.media = media;
    media.onChange(() => this.store.setState({ mic: media.info.mic }));
  }

  get state(): CallerState {
    return this.store.getState();
  }

  /** For the media manager: signals go out on the caller's socket. */
  sendSignal(callId: string, to: string, signal: Signal): void {
    this.socket?.sendSignal(callId, to, signal);
  }

  async call(name: string): Promise<void> {
    const clean = name.trim();
    if (!clean || this.state.phase === 'calling' || this.state.phase === 'in_call') return;
    this.store.setState({ phase: 'calling', error: null, call: null, partyId: null });
    await this.media.acquire();
    let res: PublicCallResponse;
    try {
      res = await this.api.publicCall(clean, this.media.device);
    } catch (e) {
      const msg =
        e instanceof ApiError && e.code === 'no_agent_available'
          ? NO_AGENT_TEXT
          : `The call could not be placed: ${e instanceof Error ? e.message : String(e)}`;
      this.store.setState({ phase: 'idle', error: msg });
      return;
    }
    this.api.bearer = res.caller_token;
    this.store.setState({ phase: 'in_call', call: res.call, partyId: res.party_id });
    this.media.setParty(res.party_id);
    this.media.update([res.call]);
    const socket = this.makeSocket(res.caller_token);
    this.socket = socket;
    this.unsubscribe = socket.on((e) => this.onSocket(e));
    socket.start();
  }

  private onSocket(e: SocketEvent): void {
    switch (e.type) {
      case 'caller_welcome':
        this.store.setState({ partyId: e.party_id });
        this.media.setParty(e.party_id);
        this.apply(e.call);
        return;
      case 'call':
        this.apply(e.call);
        return;
      case 'signal':
        this.media.onSignal(e);
        return;
      case 'expired':
        // the caller_token is no longer valid: the call is over
        this.finish();
        return;
      default:
        return;
    }
  }

  /** A newer view of the call. */
  apply(call: CallView): void {
    const cur = this.state.call;
    if (cur && cur.id !== call.id) return;
    if (cur?.state === 'ended' && call.state !== 'ended') return;
    this.store.setState({ call });
    const mine = this.state.partyId ? myParty(call, this.state.partyId) : undefined;
    if (call.state === 'ended' || mine?.state === 'left') {
      this.finish();
      return;
    }
    this.media.update([call]);
  }

  private finish(): void {
    this.media.closeAll();
    this.media.dispose();
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.socket?.stop();
    this.socket = null;
    this.store.setState({ phase: 'ended' });
  }

  async hangUp(): Promise<void> {
    const call = this.state.call;
    if (!call || this.state.phase !== 'in_call') return;
    this.store.setState({ busy: true });
    try {
      const view = await this.api.publicHangUp(call.id);
      this.apply(view);
      if (this.store.getState().phase !== 'ended') this.finish();
    } catch (e) {
      this.store.setState({ error: `Could not hang up: ${e instanceof Error ? e.message : String(e)}` });
    } finally {
      this.store.setState({ busy: false });
    }
  }

  setMuted(muted: boolean): void {
    this.media.setMuted(muted);
  }

  /** Back to the form after a call (a new call gets a new token). */
  reset(): void {
    if (this.state.phase !== 'ended') return;
    this.store.setState({ phase: 'idle', call: null, partyId: null, error: null });
  }
}
