// Pure helpers over sessions and transcripts (no I/O): merged by the app model.
import type { ParticipantView, SessionView, TranscriptEntry } from '../protocol/generated';

export interface TranscriptState {
  /** Ascending by seq, no duplicates. */
  entries: TranscriptEntry[];
  /** Older entries exist on the server before entries[0]. */
  hasMore: boolean;
  loaded: boolean;
  loadingOlder: boolean;
}

export const emptyTranscript: TranscriptState = { entries: [], hasMore: false, loaded: false, loadingOlder: false };

/** Merges entries into a transcript, de-duplicating by seq and keeping seq order. */
export function mergeEntries(existing: TranscriptEntry[], incoming: TranscriptEntry[]): TranscriptEntry[] {
  if (incoming.length === 0) return existing;
  const last = existing.length ? existing[existing.length - 1].seq : 0;
  // fast path: strictly appending
  if (incoming.every((e, i) => e.seq > last && (i === 0 || e.seq > incoming[i - 1].seq))) {
    return existing.concat(incoming);
  }
  const bySeq = new Map<number, TranscriptEntry>();
  for (const e of existing) bySeq.set(e.seq, e);
  for (const e of incoming) if (!bySeq.has(e.seq)) bySeq.set(e.seq, e);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** True when entries (ascending) have a hole between first and last, or after `knownLast`. */
export function missingAfter(entries: TranscriptEntry[], incomingSeq: number): number | null {
  if (entries.length === 0) return null;
  const last = entries[entries.length - 1].seq;
  return incomingSeq > last + 1 ? last : null;
}

export function participant(session: SessionView, userId: string): ParticipantView | undefined {
  return session.participants.find((p) => p.user_id === userId);
}

/** The other participants, as seen by `meId`. */
export function others(session: SessionView, meId: string): ParticipantView[] {
  return session.participants.filter((p) => p.user_id !== meId);
}

export function otherPartyName(session: SessionView, meId: string): string {
  if (session.offer) {
    // a group consultation: the initiator and whoever took it; the group while nobody has
    const engaged = others(session, meId).filter((p) => p.role === 'initiator' || p.state === 'joined');
    return engaged.length ? engaged.map((p) => p.display_name).join(', ') : session.offer.group_name;
  }
  const names = others(session, meId).map((p) => p.display_name);
  return names.length ? names.join(', ') : 'Instant Message';
}

/** An invitation the user has not answered yet (whether or not it timed out). */
export function isPendingInvitation(session: SessionView, meId: string): boolean {
  const me = participant(session, meId);
  return !!me && me.state === 'invited' && me.role === 'invitee' && session.state !== 'ended';
}

export type SessionStatusText = 'Not Connected' | 'Connected' | 'Ended';

export function sessionStatusText(session: SessionView): SessionStatusText {
  switch (session.state) {
    case 'connected':
      return 'Connected';
    case 'ended':
      return 'Ended';
    default:
      return 'Not Connected';
  }
}

/** Human text of a system entry. */
export function systemEntryText(e: TranscriptEntry): string {
  const subject = e.subject_name ?? e.actor_name;
  switch (e.kind) {
    case 'invited':
      return `${e.actor_name} invited ${e.subject_name ?? 'a colleague'}`;
    case 'joined':
      // a supervisor's join names itself: "Judy Jensen (supervisor) joined"
      return e.text ?? `${subject} joined the session`;
    case 'rejected':
      return `${subject} rejected the invitation`;
    case 'cancelled':
      return `${e.actor_name} cancelled the invitation`;
    case 'timed_out':
      return `The invitation to ${subject} timed out`;
    case 'left':
      return `${subject} left the session`;
    case 'ended':
      return `Session ended by ${e.actor_name}`;
    case 'withdrawn':
      return e.actor_id === e.subject_id ? `The offer to ${subject} was withdrawn` : `The offer to ${subject} was withdrawn: taken by ${e.actor_name}`;
    default:
      return e.text ?? '';
  }
}

/** Sort key for the task bar: pending invitations first, then newest activity. */
export function workspaceOrder(sessions: SessionView[], meId: string): SessionView[] {
  const activity = (s: SessionView) => s.last_message?.ts ?? s.created_at;
  return [...sessions].sort((a, b) => {
    const pa = isPendingInvitation(a, meId) ? 0 : 1;
    const pb = isPendingInvitation(b, meId) ? 0 : 1;
    if (pa !== pb) return pa - pb;
    return activity(b) - activity(a);
  });
}
