// View models of the softphone, incoming-call notifications and the voice controls of an interaction.
import { useEffect, useState } from 'react';
import type { CallView } from '../protocol/generated';
import { MIC_DENIED_TEXT, MIC_UNAVAILABLE_TEXT, type AppState } from '../models/app';
import {
  callerName,
  contactParty,
  formatDuration,
  holdStartedAt,
  isConsultationInitiator,
  isIncoming,
  myParty,
  peerNames,
} from '../models/voice';

export type CallStateText = 'Ringing' | 'Calling' | 'Connected' | 'On hold' | 'Call ended' | 'On another tab';

/** The state of a call as this agent sees it. */
export function callStateText(call: CallView, meId: string, tabDevice: string): CallStateText {
  const mine = myParty(call, meId);
  if (call.state === 'ended' || !mine || mine.state === 'left') return 'Call ended';
  if (mine.state === 'ringing') return 'Ringing';
  if (mine.device_id && tabDevice && mine.device_id !== tabDevice) return 'On another tab';
  if (call.state === 'ringing') return 'Calling';
  if (contactParty(call)?.state === 'held' || mine.state === 'held') return 'On hold';
  return 'Connected';
}

/** Talk time since the answer (or ring time before it), up to the end. */
export function callTimer(call: CallView, now: number): string {
  const start = call.answered_at ?? call.created_at;
  const end = call.ended_at ?? now;
  return formatDuration(end - start);
}

export interface CallRowVM {
  id: string;
  /** "Jane Doe" or "Voice consultation with Bob Builder". */
  title: string;
  /** Region name: "Call with Jane Doe". */
  label: string;
  kindText: string;
  state: CallStateText;
  timer: string;
  /** "Contact on hold 0:12" while the contact waits. */
  hold: string | null;
  incoming: boolean;
  ended: boolean;
  canHangUp: boolean;
  busy: boolean;
  error: string | null;
}

function holdText(call: CallView, now: number): string | null {
  if (call.state === 'ended') return null;
  const since = holdStartedAt(call);
  return since === null ? null : `Contact on hold ${formatDuration(now - since)}`;
}

export function callRowVM(state: AppState, call: CallView, now: number): CallRowVM {
  const meId = state.me?.id ?? '';
  const st = callStateText(call, meId, state.voice.tabDevice);
  const names = peerNames(call, meId);
  const title = call.kind === 'consultation' ? `Voice consultation with ${names}` : names;
  return {
    id: call.id,
    title,
    label: `Call with ${names}`,
    kindText: call.kind === 'consultation' ? 'Voice consultation' : 'Voice call',
    state: st,
    timer: callTimer(call, now),
    hold: holdText(call, now),
    incoming: isIncoming(call, meId),
    ended: st === 'Call ended',
    canHangUp: st === 'Connected' || st === 'On hold' || st === 'Calling',
    busy: !!state.voice.busy[call.id],
    error: state.errors[`call:${call.id}`] ?? null,
  };
}

export interface DeviceOption {
  id: string;
  label: string;
}

export interface SoftphoneVM {
  /** Shown at all (a desktop with voice). */
  available: boolean;
  micState: AppState['voice']['mic'];
  /** The denied / unavailable message, or null. */
  micMessage: string | null;
  muted: boolean;
  devices: DeviceOption[];
  deviceId: string;
  calls: CallRowVM[];
  /** Some call carries audio on this tab: the mute and device controls apply. */
  inCall: boolean;
  /** Shown in full: while there is a call, or when the agent opened it. */
  expanded: boolean;
  /** The agent may close it (no call to show). */
  canClose: boolean;
}

export function softphoneVM(state: AppState, now: number): SoftphoneVM {
  const v = state.voice;
  const calls = Object.values(state.calls)
    .sort((a, b) => a.created_at - b.created_at)
    .map((c) => callRowVM(state, c, now));
  const micMessage = v.mic === 'denied' ? MIC_DENIED_TEXT : v.mic === 'unavailable' ? MIC_UNAVAILABLE_TEXT : null;
  const needed = calls.length > 0;
  return {
    available: v.available,
    micState: v.mic,
    micMessage,
    muted: v.muted,
    devices: v.devices.map((d, i) => ({ id: d.deviceId, label: d.label || `Microphone ${i + 1}` })),
    deviceId: v.deviceId,
    calls,
    inCall: calls.some((c) => c.state === 'Connected' || c.state === 'On hold'),
    expanded: needed || v.softphoneOpen,
    canClose: !needed,
  };
}

export interface IncomingCallVM {
  id: string;
  from: string;
  /** Region name: "Incoming voice call from Alice Agent". */
  label: string;
  kindText: string;
  busy: boolean;
}

export function incomingCalls(state: AppState): IncomingCallVM[] {
  const meId = state.me?.id ?? '';
  return Object.values(state.calls)
    .filter((c) => isIncoming(c, meId))
    .sort((a, b) => a.created_at - b.created_at)
    .map((c) => {
      const from = callerName(c, meId);
      return {
        id: c.id,
        from,
        label: `Incoming voice call from ${from}`,
        kindText: c.kind === 'consultation' ? 'Voice consultation' : 'Voice call',
        busy: !!state.voice.busy[c.id],
      };
    });
}

export interface ContactCallControlsVM {
  id: string;
  state: CallStateText;
  timer: string;
  hold: string | null;
  canHold: boolean;
  canRetrieve: boolean;
  canHangUp: boolean;
  busy: boolean;
}

export interface ConsultationCallControlsVM {
  id: string;
  /** "Voice consultation with Bob Builder". */
  title: string;
  state: CallStateText;
  timer: string;
  hold: string | null;
  /** The agent who started it: End Consultation, Complete Transfer, Complete Conference. */
  initiator: boolean;
  canComplete: boolean;
  busy: boolean;
}

export interface InteractionVoiceVM {
  contactCall: ContactCallControlsVM | null;
  consultations: ConsultationCallControlsVM[];
  error: string | null;
}

/** The call controls of a voice interaction window (null when it has no call of mine). */
export function interactionVoiceVM(state: AppState, interactionId: string, now: number): InteractionVoiceVM | null {
  const meId = state.me?.id ?? '';
  const tab = state.voice.tabDevice;
  const calls = Object.values(state.calls).filter((c) => c.interaction_id === interactionId);
  const contact = calls.filter((c) => c.kind === 'contact').sort((a, b) => b.created_at - a.created_at)[0];
  const contactIds = new Set(calls.filter((c) => c.kind === 'contact').map((c) => c.id));
  const consultations = Object.values(state.calls).filter(
    (c) => c.kind === 'consultation' && (c.interaction_id === interactionId || (c.contact_call_id !== null && contactIds.has(c.contact_call_id))),
  );
  if (!contact && consultations.length === 0) return null;
  let contactVM: ContactCallControlsVM | null = null;
  if (contact) {
    const st = callStateText(contact, meId, tab);
    const held = contactParty(contact)?.state === 'held';
    const mine = myParty(contact, meId);
    const connected = mine?.state === 'connected' || mine?.state === 'held';
    const live = contact.state !== 'ended' && st !== 'Call ended';
    contactVM = {
      id: contact.id,
      state: st,
      timer: callTimer(contact, now),
      hold: holdText(contact, now),
      canHold: live && connected && !held,
      canRetrieve: live && connected && held,
      canHangUp: live && connected,
      busy: !!state.voice.busy[contact.id],
    };
  }
  const errorKey = [contact, ...consultations].find((c) => c && state.errors[`call:${c.id}`]);
  return {
    contactCall: contactVM,
    consultations: consultations
      .sort((a, b) => a.created_at - b.created_at)
      .map((c) => {
        const st = callStateText(c, meId, tab);
        return {
          id: c.id,
          title: `Voice consultation with ${peerNames(c, meId)}`,
          state: st,
          timer: callTimer(c, now),
          hold: holdText(c, now),
          initiator: isConsultationInitiator(c, meId),
          canComplete: c.state === 'active' && st !== 'Call ended',
          busy: !!state.voice.busy[c.id],
        };
      }),
    error: errorKey ? state.errors[`call:${errorKey.id}`] : null,
  };
}

/** The current time, refreshed every second while `active` (call timers). */
export function useNow(active: boolean, intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const t = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(t);
  }, [active, intervalMs]);
  return now;
}
