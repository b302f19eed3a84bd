// Pure helpers over calls (docs/protocol.md §4c): my party, incoming calls, newest-view rule.
import type { CallParty, CallView } from '../protocol/generated';

/** My party in a call: an agent's account id (or the caller's party id). */
export function myParty(call: CallView, partyId: string): CallParty | undefined {
  return call.parties.find((p) => p.party_id === partyId);
}

/** The other parties that are still in the call. */
export function otherParties(call: CallView, partyId: string): CallParty[] {
  return call.parties.filter((p) => p.party_id !== partyId && p.state !== 'left');
}

export function contactParty(call: CallView): CallParty | undefined {
  return call.parties.find((p) => p.kind === 'contact');
}

/**
 * An incoming call for me: a consultation call where I am the ringing party, or a contact call
 * assigned to me (my party ringing).
 */
export function isIncoming(call: CallView, partyId: string): boolean {
  if (call.state === 'ended') return false;
  return myParty(call, partyId)?.state === 'ringing';
}

/** Who is calling: the contact of a contact call, else the agent who started the consultation. */
export function callerName(call: CallView, partyId: string): string {
  if (call.kind === 'contact') return contactParty(call)?.display_name ?? 'Unknown caller';
  const other = call.parties.find((p) => p.party_id !== partyId && p.state !== 'ringing') ?? call.parties.find((p) => p.party_id !== partyId);
  return other?.display_name ?? 'Unknown caller';
}

/** The names of the others, for titles: "Jane Doe", "Alice Agent and Bob Builder". */
export function peerNames(call: CallView, partyId: string): string {
  const names = otherParties(call, partyId).map((p) => p.display_name);
  if (names.length === 0) return call.parties.filter((p) => p.party_id !== partyId).map((p) => p.display_name)[0] ?? 'Call';
  if (names.length === 1) return names[0];
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** Whether I take part in the call (any state but left). */
export function isMyCall(call: CallView, partyId: string): boolean {
  const p = myParty(call, partyId);
  return !!p && p.state !== 'left';
}

/** The initiator of a consultation call (the party listed first). */
export function isConsultationInitiator(call: CallView, partyId: string): boolean {
  return call.kind === 'consultation' && call.parties[0]?.party_id === partyId;
}

/**
 * Applies a call view (event or REST answer) to the map. Views carry no version: a later one wins,
 * except that an ended call never comes back to life.
 */
export function upsertCall(map: Record<string, CallView>, call: CallView): Record<string, CallView> {
  const prev = map[call.id];
  if (prev && prev.state === 'ended' && call.state !== 'ended') return map;
  return { ...map, [call.id]: call };
}

/** "0:07", "12:34", "1:02:03". */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * Since when the contact waits on hold. The server puts the contact call's hold start on its open
 * consultation calls too, so the consultation target (no party of the contact call) sees it.
 */
export function holdStartedAt(call: CallView): number | null {
  return call.state === 'ended' ? null : call.hold_started_at;
}
