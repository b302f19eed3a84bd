// Browser side of voice: RTCPeerConnection, the microphone, remote audio elements, the ring sound,
// and the per-tab device id.
import type { CallMediaDeps, InputDevice, PeerLike, StreamLike, TrackLike } from '../models/callMedia';
import type { IceServer, Signal } from '../protocol/generated';
import { newId } from './store';

/** A random id of this tab, kept across reloads of the same tab (sessionStorage), new in a new tab. */
export function tabDeviceId(): string {
  const key = 'backline.device_id';
  try {
    const known = window.sessionStorage.getItem(key);
    if (known) return known;
    const id = newId();
    window.sessionStorage.setItem(key, id);
    return id;
  } catch {
    return newId();
  }
}

/** `window.__backlinePeers`: every open RTCPeerConnection by `${call_id}:${party_id}` (e2e tests read getStats()). */
export function peerRegistry(): Map<string, PeerLike> {
  const w = window as unknown as { __backlinePeers?: Map<string, PeerLike> };
  w.__backlinePeers ??= new Map();
  return w.__backlinePeers;
}

const audioEls = new Map<string, HTMLAudioElement>();

function audioHost(): HTMLElement {
  let host = document.getElementById('backline-remote-audio');
  if (!host) {
    host = document.createElement('div');
    host.id = 'backline-remote-audio';
    host.hidden = true;
    document.body.appendChild(host);
  }
  return host;
}

/** One `<audio autoplay>` per connection. */
export function playRemote(key: string, stream: StreamLike | null): void {
  let el = audioEls.get(key);
  if (!stream) {
    if (el) {
      el.srcObject = null;
      el.remove();
      audioEls.delete(key);
    }
    return;
  }
  if (!el) {
    el = document.createElement('audio');
    el.autoplay = true;
    el.dataset.peer = key;
    audioHost().appendChild(el);
    audioEls.set(key, el);
  }
  if (el.srcObject !== stream) el.srcObject = stream as unknown as MediaStream;
  void el.play().catch(() => undefined);
}

export function browserMediaDeps(opts: {
  iceServers: () => Promise<IceServer[]>;
  sendSignal: (callId: string, to: string, signal: Signal) => void;
}): CallMediaDeps {
  return {
    createPeer: (config) =>
      new RTCPeerConnection({
        iceServers: config.iceServers.map((s) => ({
          urls: s.urls,
          ...(s.username ? { username: s.username } : {}),
          ...(s.credential ? { credential: s.credential } : {}),
        })),
      }) as unknown as PeerLike,
    getUserMedia: async (constraints) => {
      if (!navigator.mediaDevices?.getUserMedia) throw Object.assign(new Error('no media devices'), { name: 'NotFoundError' });
      return (await navigator.mediaDevices.getUserMedia(constraints as MediaStreamConstraints)) as unknown as StreamLike;
    },
    enumerateInputs: async (): Promise<InputDevice[]> => {
      const all = await navigator.mediaDevices.enumerateDevices();
      return all.filter((d) => d.kind === 'audioinput').map((d) => ({ deviceId: d.deviceId, label: d.label }));
    },
    iceServers: opts.iceServers,
    sendSignal: opts.sendSignal,
    playRemote,
    registry: peerRegistry(),
    log: (msg, err) => console.warn(`voice: ${msg}`, err ?? ''),
  };
}

export type { TrackLike };

// ---------- ring ----------

let ringCtx: AudioContext | null = null;
let ringTimer: number | null = null;

function ringOnce(): void {
  const Ctx = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
  if (!Ctx) return;
  ringCtx ??= new Ctx();
  const ctx = ringCtx;
  if (ctx.state === 'suspended') void ctx.resume().catch(() => undefined);
  const t0 = ctx.currentTime;
  // a classic double ring: two 0.4 s bursts of 440 + 480 Hz
  for (const offset of [0, 0.6]) {
    const gain = ctx.createGain();
    gain.gain.setValueAtTime(0.0001, t0 + offset);
    gain.gain.exponentialRampToValueAtTime(0.08, t0 + offset + 0.03);
    gain.gain.setValueAtTime(0.08, t0 + offset + 0.37);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + offset + 0.4);
    gain.connect(ctx.destination);
    for (const f of [440, 480]) {
      const osc = ctx.createOscillator();
      osc.frequency.value = f;
      osc.connect(gain);
      osc.start(t0 + offset);
      osc.stop(t0 + offset + 0.41);
    }
  }
}

/** Rings every 3 s while on. */
export function ring(on: boolean): void {
  if (ringTimer !== null) {
    window.clearInterval(ringTimer);
    ringTimer = null;
  }
  if (!on) return;
  try {
    ringOnce();
  } catch {
    return;
  }
  ringTimer = window.setInterval(() => {
    try {
      ringOnce();
    } catch {
      /* audio unavailable */
    }
  }, 3000);
}
