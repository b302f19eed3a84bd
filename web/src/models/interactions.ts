// Pure helpers over interactions, contacts, contact history and consultations (no I/O).
import type {
  ContactView,
  DirectoryFilter,
  ErrorCode,
  HistoryItem,
  InteractionView,
  Media,
  SessionView,
  Snippet,
} from '../protocol/generated';

export const MEDIA_LABELS: Record<Media, string> = {
  voice: 'Voice',
  chat: 'Chat',
  email: 'E-mail',
  internal_im: 'Internal IM',
};

/** Text-like icons (the desktop ships no icon font); always paired with the label for screen readers. */
export const MEDIA_ICONS: Record<Media, string> = {
  voice: '☎',
  chat: '❝',
  email: '✉',
  internal_im: '⇄',
};

export function mediaLabel(m: Media): string {
  return MEDIA_LABELS[m] ?? m;
}

export function contactDisplayName(i: Pick<InteractionView, 'contact_name'>): string {
  return i.contact_name?.trim() || 'Unknown contact';
}

export function contactFullName(c: Pick<ContactView, 'first_name' | 'last_name'>): string {
  return `${c.first_name} ${c.last_name}`.trim() || 'Unknown contact';
}

/** Short description of an interaction: "Voice · Jane Doe · Billing question". */
export function interactionSummary(i: Pick<InteractionView, 'media' | 'contact_name' | 'subject'>): string {
  return [mediaLabel(i.media), contactDisplayName(i), i.subject].filter(Boolean).join(' · ');
}

/** Task bar order: active before ended, newest first. */
export function interactionOrder(list: InteractionView[]): InteractionView[] {
  return [...list].sort((a, b) => {
    const ea = a.state === 'ended' ? 1 : 0;
    const eb = b.state === 'ended' ? 1 : 0;
    if (ea !== eb) return ea - eb;
    return b.created_at - a.created_at;
  });
}

/** Applies a live `interaction` event (or a REST answer) to the map: add or replace. */
export function upsertInteraction(map: Record<string, InteractionView>, i: InteractionView): Record<string, InteractionView> {
  return { ...map, [i.id]: i };
}

// ---------- data loaded per interaction (contact, history, shared view) ----------

export interface Loadable<T> {
  status: 'idle' | 'loading' | 'ready' | 'error';
  data: T | null;
  error: string | null;
  code: ErrorCode | null;
}

export function idle<T>(): Loadable<T> {
  return { status: 'idle', data: null, error: null, code: null };
}

export interface HistoryQuery {
  /** Quick search: subject, outcome, notes and transcripts. */
  q: string;
  media: Media | '';
  /** yyyy-mm-dd (local date) or ''. */
  from: string;
  to: string;
  /** Account id or ''. */
  agent: string;
}

export const emptyHistoryQuery: HistoryQuery = { q: '', media: '', from: '', to: '', agent: '' };

export const HISTORY_LIMIT = 100;

function parseLocalDate(s: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * The query string parameters of `GET /interactions/{id}/history` for a search:
 * empty fields are left out; dates are local days, `from` at 00:00 and `to` through 23:59:59.999.
 */
export function historyParams(query: HistoryQuery, limit = HISTORY_LIMIT): Record<string, string | number> {
  const p: Record<string, string | number> = {};
  const q = query.q.trim();
  if (q) p.q = q;
  if (query.media) p.media = query.media;
  const from = parseLocalDate(query.from);
  if (from) p.from = from.getTime();
  const to = parseLocalDate(query.to);
  if (to) p.to = new Date(to.getFullYear(), to.getMonth(), to.getDate() + 1).getTime() - 1;
  if (query.agent) p.agent = query.agent;
  p.limit = limit;
  return p;
}

export function isSearching(query: HistoryQuery): boolean {
  return !!(query.q.trim() || query.media || query.from || query.to || query.agent);
}

/** Newest first (the server's order; re-applied so a merge never shuffles it). */
export function historyOrder(items: HistoryItem[]): HistoryItem[] {
  return [...items].sort((a, b) => b.created_at - a.created_at);
}

/** Agents seen in the history, for the advanced search's agent choice. */
export function historyAgents(items: HistoryItem[]): { id: string; name: string }[] {
  const seen = new Map<string, string>();
  for (const it of items) if (it.agent_id && !seen.has(it.agent_id)) seen.set(it.agent_id, it.agent_name ?? it.agent_id);
  return [...seen].map(([id, name]) => ({ id, name })).sort((a, b) => a.name.localeCompare(b.name));
}

export interface InteractionDetails {
  /** `GET /interactions/{id}`: needed by a consultation target (the owner has it from the task bar). */
  view: Loadable<InteractionView>;
  contact: Loadable<ContactView>;
  history: Loadable<HistoryItem[]>;
  /** What the search form holds. */
  historyQuery: HistoryQuery;
  /** The query the shown history answers. */
  historyShown: HistoryQuery;
}

export function emptyDetails(): InteractionDetails {
  return { view: idle(), contact: idle(), history: idle(), historyQuery: emptyHistoryQuery, historyShown: emptyHistoryQuery };
}

// ---------- consultations ----------

/**
 * Whether the target of a consultation may see its parent's data: it has accepted
 * (joined; or left / ended after joining).
 */
export function consultationShared(session: SessionView, meId: string): boolean {
  if (!session.parent_interaction_id) return false;
  if (session.created_by === meId) return false;
  const me = session.participants.find((p) => p.user_id === meId);
  if (!me) return false;
  if (me.state === 'joined') return true;
  // after the end, a target who had joined is marked left (or stays joined)
  return me.state === 'left' && session.state === 'ended';
}

/**
 * The pre-selection rule of the Team Communicator in an interaction's context: the
 * current consultation target, unless the agent typed a search or picked a filter other than All.
 */
export function effectivePreselection(dir: { query: string; filter: DirectoryFilter; preselected: string | null; interactionId: string | null }): string | null {
  if (!dir.interactionId) return null;
  if (dir.query.trim() !== '' || dir.filter !== 'all') return null;
  return dir.preselected;
}

/** An open (not ended) consultation with this target about this interaction. */
export function openConsultation(sessions: Record<string, SessionView>, interactionId: string, targetId: string): SessionView | undefined {
  return Object.values(sessions).find(
    (s) => s.parent_interaction_id === interactionId && s.state !== 'ended' && s.participants.some((p) => p.user_id === targetId),
  );
}

/**
 * Splits a history snippet into plain and marked parts by its highlight ranges
 * (UTF-16 offsets, as JavaScript indexes strings). The text is never parsed:
 * brackets or markup in it stay text. Ranges out of order, overlapping or out
 * of bounds are clipped or skipped.
 */
export function snippetParts(snippet: Snippet): { text: string; mark: boolean }[] {
  const { text } = snippet;
  const parts: { text: string; mark: boolean }[] = [];
  let last = 0;
  for (const h of snippet.highlights) {
    const start = Math.max(h.start, last);
    const end = Math.min(h.end, text.length);
    if (start >= end) continue;
    if (start > last) parts.push({ text: text.slice(last, start), mark: false });
    parts.push({ text: text.slice(start, end), mark: true });
    last = end;
  }
  if (last < text.length) parts.push({ text: text.slice(last), mark: false });
  return parts;
}
