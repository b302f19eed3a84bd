// View models of the main window: My Status, Team Communicator, task bar, notifications.
import type { DirectoryEntry, Status, TargetAction } from '../protocol/generated';
import { STATUS_LABELS, statusLabel, type AppState } from '../models/app';
import { isPendingInvitation, otherPartyName, workspaceOrder } from '../models/sessions';
import { formatTime } from './format';
import { MEDIA_ICONS, contactDisplayName, effectivePreselection, interactionOrder, interactionSummary, mediaLabel } from '../models/interactions';

export interface StatusOption {
  key: string;
  label: string;
  status: Status;
  reason?: string;
  checked: boolean;
}

export function statusOptions(state: AppState): StatusOption[] {
  const me = state.me;
  const opts: StatusOption[] = [{ key: 'ready', label: 'Ready', status: 'ready', checked: me?.status === 'ready' }];
  const reasons = state.statusReasons.length ? state.statusReasons : [];
  if (reasons.length) {
    for (const r of reasons) {
      opts.push({
        key: `not_ready:${r.code}`,
        label: `Not Ready – ${r.label}`,
        status: 'not_ready',
        reason: r.code,
        checked: me?.status === 'not_ready' && me.reason === r.code,
      });
    }
  } else {
    opts.push({ key: 'not_ready', label: 'Not Ready', status: 'not_ready', checked: me?.status === 'not_ready' });
  }
  opts.push({ key: 'away', label: 'Away', status: 'away', checked: me?.status === 'away' });
  opts.push({ key: 'busy', label: 'Busy', status: 'busy', checked: me?.status === 'busy' });
  return opts;
}

export function myStatusText(state: AppState): string {
  const me = state.me;
  if (!me) return '';
  return statusLabel(me.status, me.reason, state.statusReasons);
}

export interface ActionItem {
  action: TargetAction;
  label: string;
  /** Shown but not selectable (the server said why: `reason`). */
  disabled?: boolean;
  reason?: string;
}

const ACTION_LABELS: Record<TargetAction, string> = {
  send_im: 'Send an Instant Message',
  start_im_consultation: 'Start Instant Message Consultation',
  start_voice_consultation: 'Start Voice Consultation',
  add_favourite: 'Add to Favourites',
  remove_favourite: 'Remove from Favourites',
};

export interface DirectoryRow {
  entry: DirectoryEntry;
  id: string;
  name: string;
  detail: string;
  status: Status | null;
  statusText: string;
  actions: ActionItem[];
}

function directoryRow(state: AppState, entry: DirectoryEntry): DirectoryRow {
  {
    const live = state.presence[entry.id];
    const status = entry.kind === 'user' ? (live?.status ?? entry.status ?? 'offline') : null;
    const reason = live ? live.reason : entry.reason;
    const statusText = status ? statusLabel(status, reason, state.statusReasons) : `${entry.member_count ?? 0} members`;
    const detail = entry.kind === 'group' ? 'Group' : entry.groups.join(', ');
    return {
      entry,
      id: entry.id,
      name: entry.display_name,
      detail,
      status,
      statusText,
      // only what the server lists, in the server's order; then what applies but is not allowed, with why
      actions: [
        ...entry.actions.map((a): ActionItem => ({ action: a, label: ACTION_LABELS[a] })),
        ...(entry.unavailable ?? []).map((u): ActionItem => ({ action: u.action, label: ACTION_LABELS[u.action], disabled: true, reason: sentence(u.reason) })),
      ].filter((a) => a.label),
    };
  }
}

/** "your account does not …" → "Your account does not …." */
function sentence(text: string): string {
  const t = text.trim();
  if (!t) return t;
  return `${t[0].toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? '' : '.'}`;
}

/** Said on the desktop of an agent whose account may not use Internal IM, or null. */
export function imNotPermittedNotice(state: AppState): string | null {
  if (!state.me || state.me.im_permitted) return null;
  return 'Your account does not have the Internal IM permission: you cannot send or receive instant messages. Ask your administrator if you need it.';
}

export function directoryRows(state: AppState): DirectoryRow[] {
  return state.directory.entries.map((entry) => directoryRow(state, entry));
}

export interface ConsultationContextVM {
  interactionId: string;
  /** "Voice · Jane Doe · Billing question". */
  summary: string;
  activeConsultations: DirectoryRow[];
  /** Id of the pre-selected target (Active Consultations), or null. */
  preselected: string | null;
  focusRequest: number;
}

/**
 * A target under *Active Consultations* of a voice interaction: *Start Voice Consultation* turns the
 * IM consultation into a call (offered even when the server's entry does not list it).
 */
export function withVoiceConsultation(row: DirectoryRow, voice: boolean): DirectoryRow {
  if (!voice || row.entry.kind !== 'user' || row.actions.some((a) => a.action === 'start_voice_consultation' || a.disabled)) return row;
  return { ...row, actions: [...row.actions, { action: 'start_voice_consultation', label: ACTION_LABELS.start_voice_consultation }] };
}

/** The Team Communicator opened by *Start Consultation*, or null outside an interaction's context. */
export function consultationContext(state: AppState): ConsultationContextVM | null {
  const d = state.directory;
  if (!d.interactionId) return null;
  const i = state.interactions[d.interactionId];
  return {
    interactionId: d.interactionId,
    summary: i ? interactionSummary(i) : 'Interaction',
    activeConsultations: d.activeConsultations.map((e) => withVoiceConsultation(directoryRow(state, e), i?.media === 'voice')),
    preselected: effectivePreselection(d),
    focusRequest: d.focusRequest,
  };
}

export interface TaskbarItem {
  kind: 'session' | 'interaction';
  /** Media icon (interactions). */
  icon?: string;
  /** Subject (interactions). */
  subject?: string;
  id: string;
  name: string;
  label: string;
  pending: boolean;
  timedOut: boolean;
  unread: number;
  open: boolean;
  state: string;
}

function interactionItems(state: AppState): TaskbarItem[] {
  return interactionOrder(Object.values(state.interactions)).map((i) => {
    const name = contactDisplayName(i);
    const stateText = i.state === 'ended' ? 'Ended' : 'Active';
    return {
      kind: 'interaction' as const,
      icon: MEDIA_ICONS[i.media],
      subject: i.subject,
      id: i.id,
      name,
      state: stateText,
      label: `${mediaLabel(i.media)}: ${name}${i.subject ? `, ${i.subject}` : ''}, ${stateText}`,
      pending: false,
      timedOut: false,
      unread: 0,
      open: state.openInteractions.includes(i.id),
    };
  });
}

export function taskbarItems(state: AppState): TaskbarItem[] {
  const me = state.me;
  if (!me) return [];
  return [...interactionItems(state), ...sessionItems(state, me.id)];
}

function sessionItems(state: AppState, meId: string): TaskbarItem[] {
  const me = { id: meId };
  return workspaceOrder(Object.values(state.sessions), me.id).map((s) => {
    const pending = isPendingInvitation(s, me.id);
    const mine = s.participants.find((p) => p.user_id === me.id);
    const name = otherPartyName(s, me.id);
    const stateText = pending ? 'Invitation' : s.state === 'connected' ? 'Connected' : s.state === 'ended' ? 'Ended' : 'Not Connected';
    const unread = s.unread;
    return {
      kind: 'session' as const,
      id: s.id,
      name,
      state: stateText,
      label: `${name}, ${stateText}${unread ? `, ${unread} unread` : ''}`,
      pending,
      timedOut: !!mine?.invite_timed_out,
      unread,
      open: state.openWindows.includes(s.id),
    };
  });
}

export interface InvitationCard {
  id: string;
  from: string;
  message: string | null;
  /** An IM consultation about an interaction. */
  consultation?: boolean;
  /** A consultation offered to a group: its name. */
  group?: string;
}

export function invitationCards(state: AppState): InvitationCard[] {
  const me = state.me;
  if (!me) return [];
  return state.notifications
    .map((n) => state.sessions[n.session_id])
    .filter((s) => s && isPendingInvitation(s, me.id))
    .map((s) => {
      const initiator = s.participants.find((p) => p.role === 'initiator' && p.user_id !== me.id);
      const msg = s.last_message?.kind === 'message' ? s.last_message.text : null;
      return {
        id: s.id,
        from: initiator?.display_name ?? otherPartyName(s, me.id),
        message: msg,
        ...(s.parent_interaction_id ? { consultation: true } : {}),
        ...(s.offer ? { group: s.offer.group_name } : {}),
      };
    });
}

export { STATUS_LABELS };

export interface MissedRow {
  id: string;
  from: string;
  message: string | null;
  /** "Consultation" when it was about an interaction, "Technical Support" for a group offer. */
  context: string | null;
  time: string;
}

/** The Missed list: invitations that timed out unanswered, newest first. */
export function missedRows(state: AppState): MissedRow[] {
  const me = state.me;
  if (!me) return [];
  return state.missed.map((m) => {
    const initiator = m.session.participants.find((p) => p.role === 'initiator');
    const context = m.session.offer ? m.session.offer.group_name : m.session.parent_interaction_id ? 'Consultation' : null;
    return {
      id: m.session.id,
      from: initiator?.display_name ?? otherPartyName(m.session, me.id),
      message: m.first_message?.text ?? null,
      context,
      time: formatTime(m.session.created_at),
    };
  });
}
