// View model of the supervision page: the board of the groups this user supervises, with
// ticking timers, escalation and hold marks, and the members' live status.
import { useMemo } from 'react';
import type { BoardConsultation, SessionView, Status } from '../protocol/generated';
import { statusLabel, type AppState } from '../models/app';
import { formatDuration } from '../models/voice';
import { useAppState, useModel } from './context';
import { useNow } from './voice';

export interface BoardMemberVM {
  id: string;
  name: string;
  status: Status;
  /** "Ready", "Not Ready – Lunch", "Offline". */
  statusText: string;
}

export interface BoardGroupVM {
  id: string;
  name: string;
  members: BoardMemberVM[];
}

export interface BoardConsultationVM {
  id: string;
  /** Who asked: the initiator's name. */
  from: string;
  /** The interaction it is about. */
  about: string;
  /** "Offered to Technical Support" while it waits; "with Dave Durand" once connected. */
  target: string;
  state: 'waiting' | 'connected';
  /** "Waiting 0:42" / "Connected 3:05", ticking. */
  timer: string;
  /** "Escalated 0:12 ago" once past its group's answer-time target, else null. */
  escalated: string | null;
  /** "Contact on hold 1:20" while the contact waits on hold, else null. */
  onHold: string | null;
  /** Join (an IM consultation this user is not in yet), Open (already in it), or nothing. */
  action: 'join' | 'open' | null;
}

export interface SupervisionVM {
  /** The user supervises at least one group: the page is offered. */
  available: boolean;
  open: boolean;
  loading: boolean;
  error: string | null;
  groups: BoardGroupVM[];
  consultations: BoardConsultationVM[];
  /** Something on the board counts time: the page ticks every second. */
  ticking: boolean;
}

function names(session: SessionView, pred: (p: SessionView['participants'][number]) => boolean): string {
  return session.participants
    .filter(pred)
    .map((p) => p.display_name)
    .join(', ');
}

export function boardConsultationVM(c: BoardConsultation, meId: string, sessions: AppState['sessions'], now: number): BoardConsultationVM {
  const s = c.session;
  const connected = c.connected_since !== null;
  const from = names(s, (p) => p.role === 'initiator') || 'Someone';
  const withWhom = names(s, (p) => p.role === 'invitee' && p.state === 'joined');
  const invited = names(s, (p) => p.role === 'invitee' && p.state === 'invited');
  const target = connected
    ? `with ${withWhom || 'a colleague'}`
    : s.offer
      ? `Offered to ${s.offer.group_name}`
      : `Inviting ${invited || 'a colleague'}`;
  const mine = s.participants.find((p) => p.user_id === meId);
  const inIt = !!mine && (mine.state === 'joined' || mine.state === 'invited');
  const escalatedAt = s.offer?.escalated_at ?? null;
  return {
    id: s.id,
    from,
    about: c.interaction_subject ?? 'an interaction',
    target,
    state: connected ? 'connected' : 'waiting',
    timer: connected ? `Connected ${formatDuration(now - (c.connected_since ?? now))}` : `Waiting ${formatDuration(now - c.waiting_since)}`,
    escalated: escalatedAt !== null ? `Escalated ${formatDuration(now - escalatedAt)} ago` : null,
    onHold: c.on_hold_since !== null ? `Contact on hold ${formatDuration(now - c.on_hold_since)}` : null,
    action: s.state === 'ended' ? null : inIt ? (sessions[s.id] ? 'open' : null) : 'join',
  };
}

export function supervisionVM(state: AppState, now: number): SupervisionVM {
  const sup = state.supervision;
  const board = sup.board;
  const meId = state.me?.id ?? '';
  const groups = (board?.groups ?? []).map((g) => ({
    id: g.id,
    name: g.name,
    members: g.members.map((m) => {
      // presence frames are live; the board is as of its last read
      const live = state.presence[m.user_id];
      const status = live ? live.status : m.status;
      const reason = live ? live.reason : m.reason;
      return { id: m.user_id, name: m.display_name, status, statusText: statusLabel(status, reason, state.statusReasons) };
    }),
  }));
  const consultations = (board?.consultations ?? []).map((c) => boardConsultationVM(c, meId, state.sessions, now));
  return {
    available: groups.length > 0,
    open: sup.open && groups.length > 0,
    loading: sup.loading && !board,
    error: sup.error,
    groups,
    consultations,
    ticking: consultations.length > 0,
  };
}

export function useSupervision() {
  const state = useAppState();
  const model = useModel();
  const ticking = state.supervision.open && (state.supervision.board?.consultations.length ?? 0) > 0;
  const now = useNow(ticking);
  const vm = useMemo(() => supervisionVM(state, now), [state, now]);
  const actions = useMemo(
    () => ({
      show: (open: boolean) => model.showSupervision(open),
      join: (id: string) => void model.joinAsSupervisor(id),
      open: (id: string) => model.openFromBoard(id),
      reload: () => void model.loadBoard(),
    }),
    [model],
  );
  return { vm, actions };
}
