// View models of the main window: My Status, Team Communicator, task bar, notifications.
import type { DirectoryEntry, Status, TargetAction } from '../protocol/generated';
import { STATUS_LABELS, statusLabel, type AppState } from '../models/app';
import { isPendingInvitation, otherPartyName, workspaceOrder } from '../models/sessions';

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
}

const ACTION_LABELS: Record<TargetAction, string> = {
  send_im: 'Send an Instant Message',
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

export function directoryRows(state: AppState): DirectoryRow[] {
  return state.directory.entries.map((entry) => {
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
      // only what the server lists, in the server's order
      actions: entry.actions.map((a) => ({ action: a, label: ACTION_LABELS[a] })).filter((a) => a.label),
    };
  });
}

export interface TaskbarItem {
  id: string;
  name: string;
  label: string;
  pending: boolean;
  timedOut: boolean;
  unread: number;
  open: boolean;
  state: string;
}

export function taskbarItems(state: AppState): TaskbarItem[] {
  const me = state.me;
  if (!me) return [];
  return workspaceOrder(Object.values(state.sessions), me.id).map((s) => {
    const pending = isPendingInvitation(s, me.id);
    const mine = s.participants.find((p) => p.user_id === me.id);
    const name = otherPartyName(s, me.id);
    const stateText = pending ? 'Invitation' : s.state === 'connected' ? 'Connected' : s.state === 'ended' ? 'Ended' : 'Not Connected';
    const unread = s.unread;
    return {
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
      return { id: s.id, from: initiator?.display_name ?? otherPartyName(s, me.id), message: msg };
    });
}

export { STATUS_LABELS };
