// View model of an IM interaction window.
import { useMemo } from 'react';
import type { ConsultationOutcome, SessionView, TranscriptEntry } from '../protocol/generated';
import type { AppState, PendingMessage } from '../models/app';
import { isPendingInvitation, otherPartyName, sessionStatusText, systemEntryText, type SessionStatusText } from '../models/sessions';
import { formatDateTime, formatTime } from './format';
import { useAppState, useModel } from './context';

export type Receipt = 'Sent' | 'Delivered' | 'Read';

export type TranscriptRow =
  | {
      kind: 'message';
      key: string;
      seq: number;
      /** Shown above the first message of a run by the same author. */
      showName: boolean;
      name: string;
      color: number;
      mine: boolean;
      time: string;
      dateTime: string;
      text: string;
      /** Redacted by an administrator: `text` says so and by whom. */
      redacted: boolean;
      receipt: Receipt | null;
      /** A supervisor's whisper, seen only by its sender and its addressee: "Whisper to Alice Agent". */
      whisper: string | null;
    }
  | { kind: 'system'; key: string; seq: number; text: string; time: string; dateTime: string }
  | {
      kind: 'pending';
      key: string;
      client_msg_id: string;
      showName: boolean;
      name: string;
      color: number;
      text: string;
      failed: boolean;
      error: string | null;
    };

export const PALETTE_SIZE = 6;

export function colorOf(session: SessionView | undefined, userId: string): number {
  const p = session?.participants.find((x) => x.user_id === userId);
  return (p?.color ?? 0) % PALETTE_SIZE;
}

function receiptOf(session: SessionView, meId: string, seq: number): Receipt {
  const others = session.participants.filter((p) => p.user_id !== meId && p.state === 'joined');
  if (others.length && others.every((p) => p.read_seq >= seq)) return 'Read';
  if (others.length && others.every((p) => p.delivered_seq >= seq)) return 'Delivered';
  return 'Sent';
}

/** "Message redacted by Ada Admin" for a redacted message, else null. */
export function redactedText(e: TranscriptEntry): string | null {
  if (e.redacted_at == null) return null;
  return `Message redacted by ${e.redacted_by_name ?? 'an administrator'}`;
}

export function buildTranscriptRows(
  entries: TranscriptEntry[],
  pending: PendingMessage[],
  session: SessionView | undefined,
  meId: string,
  meName: string,
): TranscriptRow[] {
  const rows: TranscriptRow[] = [];
  let prevAuthor: string | null = null;
  let lastMine = -1;
  for (const e of entries) {
    if (e.kind === 'message' || e.kind === 'whisper') {
      const mine = e.actor_id === meId;
      rows.push({
        kind: 'message',
        key: `e${e.seq}`,
        seq: e.seq,
        showName: prevAuthor !== e.actor_id,
        name: e.actor_name,
        color: colorOf(session, e.actor_id),
        mine,
        time: formatTime(e.ts),
        dateTime: formatDateTime(e.ts),
        text: redactedText(e) ?? e.text ?? '',
        redacted: redactedText(e) !== null,
        receipt: null,
        whisper: e.kind === 'whisper' ? `Whisper to ${e.subject_id === meId ? 'you' : (e.subject_name ?? 'a participant')}` : null,
      });
      if (mine && e.kind === 'message') lastMine = rows.length - 1;
      prevAuthor = e.actor_id;
    } else {
      rows.push({ kind: 'system', key: `e${e.seq}`, seq: e.seq, text: systemEntryText(e), time: formatTime(e.ts), dateTime: formatDateTime(e.ts) });
      prevAuthor = null;
    }
  }
  // the receipt is shown on the latest message of mine only, to keep the transcript quiet
  if (lastMine >= 0 && session) {
    const r = rows[lastMine];
    if (r.kind === 'message') rows[lastMine] = { ...r, receipt: receiptOf(session, meId, r.seq) };
  }
  for (const p of pending) {
    rows.push({
      kind: 'pending',
      key: `p${p.client_msg_id}`,
      client_msg_id: p.client_msg_id,
      showName: prevAuthor !== meId,
      name: meName,
      color: colorOf(session, meId),
      text: p.text,
      failed: p.state === 'failed',
      error: p.error ?? null,
    });
    prevAuthor = meId;
  }
  return rows;
}

export function typingText(state: AppState, sessionId: string, now: number): string | null {
  const t = state.typing[sessionId];
  const session = state.sessions[sessionId];
  if (!t || !session) return null;
  const names = Object.entries(t)
    .filter(([uid, until]) => until > now && uid !== state.me?.id)
    .map(([uid]) => session.participants.find((p) => p.user_id === uid)?.display_name ?? 'Someone');
  if (!names.length) return null;
  return `${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} typing…`;
}

export interface ImWindowVM {
  id: string;
  title: string;
  status: SessionStatusText;
  statusDetail: string | null;
  pendingInvitation: boolean;
  ended: boolean;
  canSend: boolean;
  rows: TranscriptRow[];
  loaded: boolean;
  hasMore: boolean;
  loadingOlder: boolean;
  typing: string | null;
  error: string | null;
  zoom: number;
  offline: boolean;
  /** Text typed and not sent. */
  draft: string;
  /** A consultation offered to a group, as its initiator follows it. */
  offer: OfferProgress | null;
  /** An ended consultation of mine about an interaction without an outcome yet: ask for it. */
  askOutcome: boolean;
  outcome: string | null;
  /** A joined supervisor may whisper to each other joined participant: whom. */
  whisperTargets: { id: string; name: string }[];
  /** Whom the composer whispers to now (one of `whisperTargets`), or null: a message to everyone. */
  whisperTo: string | null;
}

export interface OfferProgress {
  group: string;
  offered: number;
  declined: number;
  /** Unix ms: the progress line's timer counts from here. */
  startedAt: number;
  /** Who took it, once someone did. */
  takenBy: string | null;
  open: boolean;
}

export const OUTCOME_LABELS: Record<string, string> = {
  answered: 'Answered',
  needs_follow_up: 'Needs follow-up',
  transferred: 'Transferred',
  no_answer: 'No answer',
};

/** "offered to 4 · 1 declined · 0:12" (the timer in minutes and seconds). */
export function offerProgressText(p: OfferProgress, now: number): string {
  if (p.takenBy) return `Taken by ${p.takenBy}`;
  if (!p.open) return 'Offer closed';
  const secs = Math.max(0, Math.floor((now - p.startedAt) / 1000));
  const clock = `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')}`;
  return `offered to ${p.offered} · ${p.declined} declined · ${clock}`;
}

/** The participants a joined supervisor may whisper to: every other joined participant. */
export function whisperTargets(session: SessionView, meId: string): { id: string; name: string }[] {
  const mine = session.participants.find((p) => p.user_id === meId);
  if (!mine || mine.role !== 'supervisor' || mine.state !== 'joined' || session.state === 'ended') return [];
  return session.participants
    .filter((p) => p.user_id !== meId && p.state === 'joined')
    .map((p) => ({ id: p.user_id, name: p.display_name }));
}

export function imWindowVM(state: AppState, id: string, now: number): ImWindowVM | null {
  const session = state.sessions[id];
  const me = state.me;
  if (!session || !me) return null;
  const t = state.transcripts[id];
  const pendingInvitation = isPendingInvitation(session, me.id);
  const others = session.participants.filter((p) => p.user_id !== me.id);
  let statusDetail: string | null = null;
  if (session.state === 'inviting') {
    const o = others.find((p) => p.state === 'invited');
    statusDetail = pendingInvitation ? 'Invitation pending' : o?.invite_timed_out ? 'Invitation timed out' : 'Inviting…';
  } else if (session.state === 'ended' && others.some((p) => p.state === 'rejected')) {
    statusDetail = 'Invitation rejected';
  }
  const offer = session.offer ?? null;
  const initiator = session.participants.find((p) => p.role === 'initiator')?.user_id === me.id;
  const title = otherPartyName(session, me.id);
  if (offer && initiator && session.state === 'inviting') statusDetail = null;
  const targets = whisperTargets(session, me.id);
  const chosen = state.whisperTo[id];
  return {
    whisperTargets: targets,
    whisperTo: targets.some((t) => t.id === chosen) ? chosen : null,
    id,
    title,
    offer:
      offer && initiator
        ? {
            group: offer.group_name,
            offered: offer.offered,
            declined: offer.declined,
            startedAt: offer.started_at,
            takenBy: offer.taken_by_name ?? null,
            open: offer.state === 'open',
          }
        : null,
    askOutcome: initiator && !!session.parent_interaction_id && session.state === 'ended' && !session.outcome,
    outcome: session.outcome ? OUTCOME_LABELS[session.outcome] : null,
    status: sessionStatusText(session),
    statusDetail,
    pendingInvitation,
    ended: session.state === 'ended',
    canSend: session.state !== 'ended' && !pendingInvitation,
    rows: buildTranscriptRows(t?.entries ?? [], state.pending[id] ?? [], session, me.id, me.display_name),
    loaded: !!t?.loaded,
    hasMore: !!t?.hasMore,
    loadingOlder: !!t?.loadingOlder,
    typing: typingText(state, id, now),
    error: state.errors[id] ?? null,
    zoom: me.preferences.zoom,
    offline: state.connection !== 'open',
    draft: state.drafts[id] ?? '',
  };
}

export function useImWindow(id: string) {
  const state = useAppState();
  const model = useModel();
  // expired typing entries are purged by the app every second, so no clock is read here
  const vm = useMemo(() => imWindowVM(state, id, 0), [state, id]);
  const actions = useMemo(
    () => ({
      send: (text: string) => model.send(id, text),
      typing: (s: 'composing' | 'paused') => model.typing(id, s),
      end: () => void model.end(id),
      done: () => void model.done(id),
      accept: () => void model.accept(id),
      reject: () => void model.reject(id),
      minimize: () => model.minimizeWindow(id),
      loadOlder: () => void model.loadOlder(id),
      discard: (cid: string) => model.discardPending(id, cid),
      retry: (cid: string) => model.retryPending(id, cid),
      setDraft: (text: string) => model.setDraft(id, text),
      markVisible: () => model.markVisible(id),
      dismissError: () => model.clearError(id),
      setOutcome: (outcome: ConsultationOutcome, note: string) => void model.setOutcome(id, outcome, note),
      whisper: (to: string, text: string) => void model.whisper(id, to, text),
      setWhisperTo: (to: string | null) => model.setWhisperTo(id, to),
    }),
    [model, id],
  );
  return { vm, actions };
}
