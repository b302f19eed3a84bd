// Browser side effects for the app model: timers, a WebAudio beep, desktop notifications.
import type { Effects } from '../models/app';
import { ring } from './voice';

let audio: AudioContext | null = null;

/** A short two-tone beep synthesised with WebAudio (no asset download). */
export function beep(): void {
  const Ctx = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
  if (!Ctx) return;
  audio ??= new Ctx();
  const ctx = audio;
  if (ctx.state === 'suspended') void ctx.resume().catch(() => undefined);
  const t0 = ctx.currentTime;
  for (const [i, freq] of [880, 1175].entries()) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'sine';
    osc.frequency.value = freq;
    const start = t0 + i * 0.16;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.15, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.14);
    osc.connect(gain).connect(ctx.destination);
    osc.start(start);
    osc.stop(start + 0.15);
  }
}

export function requestNotificationPermission(): void {
  if (typeof Notification !== 'undefined' && Notification.permission === 'default') {
    void Notification.requestPermission().catch(() => undefined);
  }
}

export const browserEffects: Effects = {
  now: () => Date.now(),
  setTimer: (fn, ms) => window.setTimeout(fn, ms),
  clearTimer: (h) => window.clearTimeout(h as number),
  beep: () => {
    try {
      beep();
    } catch {
      /* audio unavailable */
    }
  },
  notify: (title, body, onClick) => {
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
    try {
      const n = new Notification(title, { body, tag: title });
      n.onclick = () => {
        window.focus();
        onClick();
        n.close();
      };
    } catch {
      /* not allowed */
    }
  },
  isHidden: () => document.hidden,
  ring: (on) => {
    try {
      ring(on);
    } catch {
      /* audio unavailable */
    }
  },
};
