// Fake WebRTC objects and call views for unit tests of the media rules.
import type { CallMediaDeps, IceCandidateLike, PeerLike, SenderLike, SessionDescriptionLike, StreamLike, TrackLike } from '../models/callMedia';
import type { CallParty, CallView, Signal } from '../protocol/generated';

export class FakeTrack implements TrackLike {
  readonly kind = 'audio';
  enabled = true;
  stopped = false;
  readonly id: string;
  constructor(id: string) {
    this.id = id;
  }
  stop(): void {
    this.stopped = true;
  }
}

export class FakeStream implements StreamLike {
  readonly tracks: FakeTrack[];
  constructor(tracks: FakeTrack[]) {
    this.tracks = tracks;
  }
  getTracks(): TrackLike[] {
    return this.tracks;
  }
  getAudioTracks(): TrackLike[] {
    return this.tracks;
  }
}

export class FakeSender implements SenderLike {
  track: TrackLike | null;
  readonly replaced: (TrackLike | null)[] = [];
  constructor(track: TrackLike | null) {
    this.track = track;
  }
  async replaceTrack(track: TrackLike | null): Promise<void> {
    this.track = track;
    this.replaced.push(track);
  }
}

let peerSeq = 0;

export class FakePeer implements PeerLike {
  readonly id = ++peerSeq;
  signalingState = 'stable';
  connectionState = 'new';
  remoteDescription: SessionDescriptionLike | null = null;
  localDescription: SessionDescriptionLike | null = null;
  closed = false;
  readonly senders: FakeSender[] = [];
  readonly transceivers: { direction: string }[] = [];
  readonly candidates: IceCandidateLike[] = [];
  readonly config: unknown;
  onicecandidate: ((ev: { candidate: IceCandidateLike | null }) => void) | null = null;
  ontrack: ((ev: { streams: readonly StreamLike[]; track: TrackLike }) => void) | null = null;
  onconnectionstatechange: ((ev: unknown) => void) | null = null;
  constructor(config: unknown) {
    this.config = config;
  }
  addTrack(track: TrackLike): SenderLike {
    const s = new FakeSender(track);
    this.senders.push(s);
    return s;
  }
  addTransceiver(_kind: 'audio', init: { direction: 'recvonly' | 'sendrecv' }): unknown {
    this.transceivers.push(init);
    this.senders.push(new FakeSender(null));
    return init;
  }
  getSenders(): SenderLike[] {
    return this.senders;
  }
  async createOffer(): Promise<SessionDescriptionLike> {
    return { type: 'offer', sdp: `offer-${this.id}` };
  }
  async createAnswer(): Promise<SessionDescriptionLike> {
    return { type: 'answer', sdp: `answer-${this.id}` };
  }
  async setLocalDescription(d: SessionDescriptionLike): Promise<void> {
    this.localDescription = d;
    this.signalingState = d.type === 'offer' ? 'have-local-offer' : 'stable';
  }
  async setRemoteDescription(d: SessionDescriptionLike): Promise<void> {
    this.remoteDescription = d;
    this.signalingState = d.type === 'offer' ? 'have-remote-offer' : 'stable';
  }
  async addIceCandidate(c: IceCandidateLike): Promise<void> {
    this.candidates.push(c);
  }
  close(): void {
    this.closed = true;
    this.signalingState = 'closed';
  }
  // test side
  emitCandidate(candidate: string): void {
    this.onicecandidate?.({ candidate: { candidate, sdpMid: '0', sdpMLineIndex: 0 } });
  }
  emitTrack(stream: StreamLike): void {
    this.ontrack?.({ streams: [stream], track: stream.getTracks()[0] });
  }
  fail(): void {
    this.connectionState = 'failed';
    this.onconnectionstatechange?.({});
  }
}

export interface FakeMediaHarness {
  deps: CallMediaDeps;
  peers: FakePeer[];
  signals: { callId: string; to: string; signal: Signal }[];
  played: Map<string, StreamLike | null>;
  registry: Map<string, PeerLike>;
  mic: FakeStream;
  gumCalls: unknown[];
}

export function fakeMediaDeps(opts: { deny?: boolean } = {}): FakeMediaHarness {
  const peers: FakePeer[] = [];
  const signals: FakeMediaHarness['signals'] = [];
  const played = new Map<string, StreamLike | null>();
  const registry = new Map<string, PeerLike>();
  const mic = new FakeStream([new FakeTrack('mic-1')]);
  const gumCalls: unknown[] = [];
  let n = 1;
  const deps: CallMediaDeps = {
    createPeer: (config) => {
      const p = new FakePeer(config);
      peers.push(p);
      return p;
    },
    getUserMedia: async (c) => {
      gumCalls.push(c);
      if (opts.deny) throw Object.assign(new Error('denied'), { name: 'NotAllowedError' });
      if (gumCalls.length === 1) return mic;
      n += 1;
      return new FakeStream([new FakeTrack(`mic-${n}`)]);
    },
    enumerateInputs: async () => [
      { deviceId: 'default', label: 'Default' },
      { deviceId: 'usb', label: 'USB headset' },
    ],
    iceServers: async () => [{ urls: ['stun:127.0.0.1:3478'], username: null, credential: null }],
    sendSignal: (callId, to, signal) => signals.push({ callId, to, signal }),
    playRemote: (key, stream) => played.set(key, stream),
    registry,
  };
  return { deps, peers, signals, played, registry, mic, gumCalls };
}

export function party(party_id: string, state: CallParty['state'], device_id: string | null, over: Partial<CallParty> = {}): CallParty {
  return { party_id, kind: 'agent', display_name: party_id, state, device_id, ...over };
}

export function makeCall(over: Partial<CallView> = {}): CallView {
  return {
    id: 'c1',
    kind: 'contact',
    state: 'active',
    interaction_id: 'i1',
    consultation_session_id: null,
    contact_call_id: null,
    parties: [],
    created_at: 1_000_000,
    answered_at: 1_001_000,
    ended_at: null,
    ended_reason: null,
    hold_started_at: null,
    ...over,
  };
}

/** Lets queued promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}
