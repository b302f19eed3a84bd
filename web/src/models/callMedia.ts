// The media rules of docs/protocol.md §4c, for the agent desktop and the click-to-call page:
// for each call in which this tab is a party (its user id / party id AND its device_id) in state
// `connected` or `held`, one RTCPeerConnection per other party that is `connected` or `held` and has
// a device_id; the party listed first in `parties` offers; trickle ICE over `signal` frames; an offer
// for a pair that already has a connection replaces it; while the contact party is `held`, no audio
// is sent either way (replaceTrack(null) on every sender of a connection with it); a party that left
// or a call that ended closes its connections.
// Browser objects are reached through small interfaces so tests can pass fakes.
import type { CallParty, CallView, IceServer, Signal } from '../protocol/generated';

export interface TrackLike {
  readonly kind: string;
  enabled: boolean;
  stop(): void;
}

export interface StreamLike {
  getTracks(): TrackLike[];
  getAudioTracks(): TrackLike[];
}

export interface SenderLike {
  readonly track: TrackLike | null;
  replaceTrack(track: TrackLike | null): Promise<void>;
}

export interface SessionDescriptionLike {
  type: 'offer' | 'answer' | 'pranswer' | 'rollback';
  sdp?: string;
}

export interface IceCandidateLike {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
}

export interface PeerLike {
  readonly signalingState: string;
  readonly connectionState?: string;
  readonly remoteDescription: SessionDescriptionLike | null;
  readonly localDescription: SessionDescriptionLike | null;
  onicecandidate: ((ev: { candidate: IceCandidateLike | null }) => void) | null;
  ontrack: ((ev: { streams: readonly StreamLike[]; track: TrackLike }) => void) | null;
  onconnectionstatechange?: ((ev: unknown) => void) | null;
  addTrack(track: TrackLike, ...streams: StreamLike[]): SenderLike;
  addTransceiver(kind: 'audio', init: { direction: 'recvonly' | 'sendrecv' }): unknown;
  getSenders(): SenderLike[];
  createOffer(): Promise<SessionDescriptionLike>;
  createAnswer(): Promise<SessionDescriptionLike>;
  setLocalDescription(d: SessionDescriptionLike): Promise<void>;
  setRemoteDescription(d: SessionDescriptionLike): Promise<void>;
  addIceCandidate(c: { candidate: string; sdpMid: string | null; sdpMLineIndex: number | null }): Promise<void>;
  close(): void;
}

export interface InputDevice {
  deviceId: string;
  label: string;
}

export type MicState = 'idle' | 'requesting' | 'ready' | 'denied' | 'unavailable';

export interface MediaInfo {
  mic: MicState;
  muted: boolean;
  devices: InputDevice[];
  /** The chosen input ('' = the browser's default). */
  deviceId: string;
  /** Keys (`${call_id}:${party_id}`) of the open connections. */
  connections: string[];
}

export interface CallMediaDeps {
  /** Creates a peer connection (the browser's RTCPeerConnection). */
  createPeer(config: { iceServers: IceServer[] }): PeerLike;
  /** `navigator.mediaDevices.getUserMedia({audio})`. */
  getUserMedia(constraints: { audio: boolean | { deviceId: { exact: string } } }): Promise<StreamLike>;
  /** Audio inputs (`enumerateDevices`, kind `audioinput`). */
  enumerateInputs(): Promise<InputDevice[]>;
  /** `GET /voice/ice-servers` (errors mean: no ICE servers, host candidates only). */
  iceServers(): Promise<IceServer[]>;
  /** Sends a `signal` frame. */
  sendSignal(callId: string, to: string, signal: Signal): void;
  /** Plays (stream) or stops (null) the remote audio of a connection. */
  playRemote(key: string, stream: StreamLike | null): void;
  /** Where connections are exposed for tests (`window.__backlinePeers`). */
  registry?: Map<string, PeerLike>;
  log?: (msg: string, err?: unknown) => void;
}

/** The wire form of an incoming `signal` frame. */
export interface IncomingSignal {
  call_id: string;
  from: string;
  to_device: string | null;
  signal: Signal;
}

interface Desired {
  key: string;
  callId: string;
  partyId: string;
  remoteDevice: string;
  offerer: boolean;
  /** The contact party of this connection (me or the other) is on hold. */
  held: boolean;
}

interface Pair extends Desired {
  pc: PeerLike | null;
  /** Candidates received before the remote description was set. */
  candidates: IceCandidateLike[];
  closed: boolean;
}

const LIVE = new Set(['connected', 'held']);

export function pairKey(callId: string, partyId: string): string {
  return `${callId}:${partyId}`;
}

/** Whether the party is in a state that carries audio. */
export function isLive(p: CallParty): boolean {
  return LIVE.has(p.state);
}

/**
 * The connections this tab must keep for these calls (pure: the rule of docs/protocol.md §4c).
 */
export function desiredPairs(calls: CallView[], myPartyId: string, myDeviceId: string): Desired[] {
  const out: Desired[] = [];
  for (const call of calls) {
    if (call.state === 'ended') continue;
    const myIndex = call.parties.findIndex((p) => p.party_id === myPartyId && p.device_id === myDeviceId);
    if (myIndex < 0) continue;
    const me = call.parties[myIndex];
    if (!isLive(me)) continue;
    call.parties.forEach((other, i) => {
      if (i === myIndex || !isLive(other) || !other.device_id) return;
      if (other.party_id === myPartyId && other.device_id === myDeviceId) return;
      const contactHeld = (me.kind === 'contact' && me.state === 'held') || (other.kind === 'contact' && other.state === 'held');
      out.push({
        key: pairKey(call.id, other.party_id),
        callId: call.id,
        partyId: other.party_id,
        remoteDevice: other.device_id,
        offerer: myIndex < i,
        held: contactHeld,
      });
    });
  }
  return out;
}

export class CallMedia {
  private readonly deps: CallMediaDeps;
  private partyId: string | null = null;
  private readonly deviceId: string;
  private pairs = new Map<string, Pair>();
  private desired = new Map<string, Desired>();
  /** Offers (and the candidates after them) that arrived before the call said the pair exists. */
  private early = new Map<string, { offer: string; candidates: IceCandidateLike[] }>();
  private stream: StreamLike | null = null;
  private acquiring: Promise<MicState> | null = null;
  private ice: Promise<IceServer[]> | null = null;
  private readonly listeners = new Set<() => void>();
  info: MediaInfo = { mic: 'idle', muted: false, devices: [], deviceId: '', connections: [] };

  constructor(deps: CallMediaDeps, deviceId: string) {
    this.deps = deps;
    this.deviceId = deviceId;
  }

  get device(): string {
    return this.deviceId;
  }

  /** Who this tab is: the account id (agent) or the caller's party id. */
  setParty(partyId: string | null): void {
    if (this.partyId === partyId) return;
    this.partyId = partyId;
    if (!partyId) this.closeAll();
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(patch: Partial<MediaInfo> = {}): void {
    this.info = { ...this.info, ...patch, connections: [...this.pairs.values()].filter((p) => p.pc).map((p) => p.key) };
    for (const l of [...this.listeners]) l();
  }

  private log(msg: string, err?: unknown): void {
    this.deps.log?.(msg, err);
  }

  // ---------- microphone ----------

  /** Asks for the microphone once per tab; later calls return the same answer. */
  acquire(): Promise<MicState> {
    if (this.info.mic === 'ready' || this.info.mic === 'denied' || this.info.mic === 'unavailable') return Promise.resolve(this.info.mic);
    if (this.acquiring) return this.acquiring;
    this.changed({ mic: 'requesting' });
    this.acquiring = this.deps
      .getUserMedia({ audio: true })
      .then(
        (stream) => {
          this.stream = stream;
          this.applyMute();
          this.changed({ mic: 'ready' });
          void this.refreshDevices();
          this.attachLocalTrack();
          return 'ready' as MicState;
        },
        (err: unknown) => {
          const name = (err as { name?: string } | null)?.name;
          const mic: MicState = name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError' ? 'denied' : 'unavailable';
          this.log('getUserMedia failed', err);
          this.changed({ mic });
          return mic;
        },
      )
      .finally(() => {
        this.acquiring = null;
      });
    return this.acquiring;
  }

  async refreshDevices(): Promise<void> {
    try {
      const devices = await this.deps.enumerateInputs();
      this.changed({ devices });
    } catch {
      /* keep the list */
    }
  }

  /** Switches the microphone: a new track replaces the old one on every sender (not on held ones). */
  async selectDevice(deviceId: string): Promise<void> {
    if (deviceId === this.info.deviceId) return;
    let next: StreamLike;
    try {
      next = await this.deps.getUserMedia({ audio: deviceId ? { deviceId: { exact: deviceId } } : true });
    } catch (e) {
      this.log('could not open the chosen microphone', e);
      return;
    }
    const old = this.stream;
    this.stream = next;
    this.applyMute();
    this.changed({ deviceId, mic: 'ready' });
    for (const p of this.pairs.values()) this.applyHold(p);
    old?.getTracks().forEach((t) => t.stop());
  }

  setMuted(muted: boolean): void {
    this.changed({ muted });
    this.applyMute();
  }

  private applyMute(): void {
    for (const t of this.stream?.getAudioTracks() ?? []) t.enabled = !this.info.muted;
  }

  private get track(): TrackLike | null {
    return this.stream?.getAudioTracks()[0] ?? null;
  }

  /** After the microphone arrived: connections made without it get the track (unless held). */
  private attachLocalTrack(): void {
    for (const p of this.pairs.values()) this.applyHold(p);
  }

  private iceServers(): Promise<IceServer[]> {
    this.ice ??= this.deps.iceServers().catch((e: unknown) => {
      this.log('ICE servers unavailable', e);
      this.ice = null;
      return [];
    });
    return this.ice;
  }

  // ---------- calls ----------

  /** Applies the media rules to the current calls of this tab. */
  update(calls: CallView[]): void {
    if (!this.partyId) {
      this.closeAll();
      return;
    }
    const wanted = desiredPairs(calls, this.partyId, this.deviceId);
    this.desired = new Map(wanted.map((d) => [d.key, d]));
    for (const [key, pair] of [...this.pairs]) {
      const d = this.desired.get(key);
      if (!d) this.close(key);
      else if (d.remoteDevice !== pair.remoteDevice || d.offerer !== pair.offerer) {
        // the other party answered on another tab (or the order changed): start over
        this.close(key);
      }
    }
    for (const d of wanted) {
      const pair = this.pairs.get(d.key);
      if (pair) {
        if (pair.held !== d.held) {
          pair.held = d.held;
          this.applyHold(pair);
        }
        continue;
      }
      if (d.offerer) void this.startOffer(d);
      else {
        const early = this.early.get(d.key);
        if (early) {
          this.early.delete(d.key);
          void this.answer(d, early.offer, early.candidates);
        }
      }
    }
    // forget early offers for calls that are gone
    for (const key of [...this.early.keys()]) {
      const callId = key.slice(0, key.indexOf(':'));
      if (!calls.some((c) => c.id === callId && c.state !== 'ended')) this.early.delete(key);
    }
    this.changed();
  }

  /** An incoming `signal` frame. */
  onSignal(frame: IncomingSignal): void {
    if (frame.to_device !== null && frame.to_device !== this.deviceId) return;
    const key = pairKey(frame.call_id, frame.from);
    const s = frame.signal;
    const pair = this.pairs.get(key);
    switch (s.kind) {
      case 'offer': {
        const d = this.desired.get(key);
        if (!d) {
          // the call event that makes this pair may still be on its way
          this.early.set(key, { offer: s.sdp, candidates: [] });
          return;
        }
        if (pair) this.close(key);
        void this.answer({ ...d, offerer: false }, s.sdp, []);
        return;
      }
      case 'answer': {
        if (!pair?.pc || pair.pc.signalingState !== 'have-local-offer') return;
        const pc = pair.pc;
        pc.setRemoteDescription({ type: 'answer', sdp: s.sdp }).then(
          () => this.flushCandidates(pair),
          (e: unknown) => this.log('could not apply the answer', e),
        );
        return;
      }
      case 'candidate': {
        const c: IceCandidateLike = { candidate: s.candidate, sdpMid: s.sdp_mid, sdpMLineIndex: s.sdp_mline_index };
        if (pair?.pc && pair.pc.remoteDescription) {
          pair.pc.addIceCandidate(c).catch((e: unknown) => this.log('addIceCandidate failed', e));
        } else if (pair) {
          pair.candidates.push(c);
        } else {
          this.early.get(key)?.candidates.push(c);
        }
        return;
      }
    }
  }

  private newPair(d: Desired): Pair {
    const pair: Pair = { ...d, pc: null, candidates: [], closed: false };
    this.pairs.set(d.key, pair);
    return pair;
  }

  private makePeer(pair: Pair, iceServers: IceServer[]): PeerLike {
    const pc = this.deps.createPeer({ iceServers });
    pair.pc = pc;
    this.deps.registry?.set(pair.key, pc);
    pc.onicecandidate = (ev) => {
      if (pair.closed || !ev.candidate) return;
      this.deps.sendSignal(pair.callId, pair.partyId, {
        kind: 'candidate',
        candidate: ev.candidate.candidate,
        sdp_mid: ev.candidate.sdpMid ?? null,
        sdp_mline_index: ev.candidate.sdpMLineIndex ?? null,
      });
    };
    pc.ontrack = (ev) => {
      if (pair.closed) return;
      const stream = ev.streams[0] ?? { getTracks: () => [ev.track], getAudioTracks: () => [ev.track] };
      this.deps.playRemote(pair.key, stream);
    };
    pc.onconnectionstatechange = () => {
      // the other end went away without a call change (e.g. it reloaded): the offerer starts over
      if (pc.connectionState !== 'failed' || !pair.offerer || !this.current(pair)) return;
      const d = this.desired.get(pair.key);
      this.close(pair.key);
      if (d) void this.startOffer(d);
    };
    return pc;
  }

  /** The offerer adds its audio (or an empty audio line); the answerer reuses the offered one. */
  private addLocal(pc: PeerLike, pair: Pair): void {
    const track = this.track;
    if (track && this.stream) {
      const sender = pc.addTrack(track, this.stream);
      if (pair.held) void sender.replaceTrack(null).catch(() => undefined);
    } else if (pair.offerer) {
      pc.addTransceiver('audio', { direction: 'sendrecv' });
    }
  }

  private async startOffer(d: Desired): Promise<void> {
    const pair = this.newPair(d);
    try {
      const iceServers = await this.iceServers();
      if (!this.current(pair)) return;
      const pc = this.makePeer(pair, iceServers);
      this.addLocal(pc, pair);
      const offer = await pc.createOffer();
      if (!this.current(pair)) return;
      await pc.setLocalDescription(offer);
      if (!this.current(pair)) return;
      this.deps.sendSignal(pair.callId, pair.partyId, { kind: 'offer', sdp: offer.sdp ?? '' });
      this.changed();
    } catch (e) {
      this.log('could not start the connection', e);
    }
  }

  private async answer(d: Desired, sdp: string, early: IceCandidateLike[]): Promise<void> {
    const pair = this.newPair(d);
    pair.candidates.push(...early);
    try {
      const iceServers = await this.iceServers();
      if (!this.current(pair)) return;
      const pc = this.makePeer(pair, iceServers);
      await pc.setRemoteDescription({ type: 'offer', sdp });
      if (!this.current(pair)) return;
      this.addLocal(pc, pair);
      const answer = await pc.createAnswer();
      if (!this.current(pair)) return;
      await pc.setLocalDescription(answer);
      if (!this.current(pair)) return;
      this.deps.sendSignal(pair.callId, pair.partyId, { kind: 'answer', sdp: answer.sdp ?? '' });
      this.flushCandidates(pair);
      this.changed();
    } catch (e) {
      this.log('could not answer the connection', e);
    }
  }

  private current(pair: Pair): boolean {
    return !pair.closed && this.pairs.get(pair.key) === pair;
  }

  private flushCandidates(pair: Pair): void {
    const pc = pair.pc;
    if (!pc || !pc.remoteDescription || !this.current(pair)) return;
    const list = pair.candidates.splice(0);
    for (const c of list) pc.addIceCandidate(c).catch((e: unknown) => this.log('addIceCandidate failed', e));
  }

  /** Sends nothing while the contact of this connection is held; the microphone again after. */
  private applyHold(pair: Pair): void {
    const pc = pair.pc;
    if (!pc) return;
    const track = pair.held ? null : this.track;
    for (const s of pc.getSenders()) {
      if (s.track === track) continue;
      if (!pair.held && s.track && s.track.kind !== 'audio') continue;
      s.replaceTrack(track).catch((e: unknown) => this.log('replaceTrack failed', e));
    }
  }

  private close(key: string): void {
    const pair = this.pairs.get(key);
    if (!pair) return;
    pair.closed = true;
    this.pairs.delete(key);
    if (pair.pc) {
      pair.pc.onicecandidate = null;
      pair.pc.ontrack = null;
      pair.pc.onconnectionstatechange = null;
      try {
        pair.pc.close();
      } catch {
        /* already closed */
      }
      if (this.deps.registry?.get(key) === pair.pc) this.deps.registry.delete(key);
      this.deps.playRemote(key, null);
    }
  }

  /** Closes every connection (sign-out, call page left). The microphone stays granted. */
  closeAll(): void {
    for (const key of [...this.pairs.keys()]) this.close(key);
    this.desired.clear();
    this.early.clear();
    this.changed();
  }

  /** Stops the microphone too. */
  dispose(): void {
    this.closeAll();
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = null;
    // asked again (silently, once granted) by the next call
    if (this.info.mic === 'ready') this.changed({ mic: 'idle' });
  }
}
