import { describe, expect, it } from 'vitest';
import { initialState, emptySupervision, type AppState } from '../models/app';
import type { BoardConsultation, SupervisionBoard } from '../protocol/generated';
import { makeMe, makeSession } from '../testing/fakes';
import { whisperTargets } from './imWindow';
import { supervisionVM } from './supervision';

const T0 = 1_700_000_000_000;

function state(over: Partial<AppState> = {}): AppState {
  return { ...initialState(), phase: 'signed_in', me: makeMe({ id: 'u-judy', display_name: 'Judy Jensen' }), connection: 'open', ...over };
}

function consultation(over: Partial<BoardConsultation> = {}): BoardConsultation {
  return {
    session: makeSession({ id: 'c1', parent_interaction_id: 'i1', created_at: T0 }),
    interaction_subject: 'Damaged kettle',
    waiting_since: T0,
    connected_since: null,
    on_hold_since: null,
    ...over,
  };
}

function board(over: Partial<SupervisionBoard> = {}): SupervisionBoard {
  return {
    groups: [
      {
        id: 'g1',
        name: 'Technical Support',
        members: [
          { user_id: 'u-bob', display_name: 'Bob Builder', status: 'ready', reason: null },
          { user_id: 'u-dave', display_name: 'Dave Durand', status: 'not_ready', reason: 'lunch' },
        ],
      },
    ],
    consultations: [consultation()],
    ...over,
  };
}

function withBoard(b: SupervisionBoard | null, over: Partial<AppState> = {}): AppState {
  return state({ supervision: { ...emptySupervision(), board: b, open: true }, ...over });
}

const offer = {
  group_id: 'g1',
  group_name: 'Technical Support',
  state: 'open' as const,
  stage: 'members' as const,
  wave: 1,
  offered: 2,
  declined: 0,
  started_at: T0,
  wave_expires_at: T0 + 30_000,
  taken_by: null,
  taken_by_name: null,
  taken_at: null,
  escalated_at: null,
};

describe('the supervision board', () => {
  it('is offered only to someone who supervises a group', () => {
    expect(supervisionVM(withBoard(null), T0)).toMatchObject({ available: false, open: false });
    expect(supervisionVM(withBoard(board({ groups: [], consultations: [] })), T0)).toMatchObject({ available: false, open: false });
    expect(supervisionVM(withBoard(board()), T0)).toMatchObject({ available: true, open: true });
  });

  it('shows who asks, about what, and how long it has waited, ticking with the clock', () => {
    const waiting = consultation({ session: makeSession({ id: 'c1', parent_interaction_id: 'i1', offer }) });
    const s = withBoard(board({ consultations: [waiting] }));
    const at = (now: number) => supervisionVM(s, now).consultations[0];
    expect(at(T0 + 42_000)).toMatchObject({
      from: 'Alice Agent',
      about: 'Damaged kettle',
      target: 'Offered to Technical Support',
      state: 'waiting',
      timer: 'Waiting 0:42',
      escalated: null,
      onHold: null,
      action: 'join',
    });
    expect(at(T0 + 61_000).timer).toBe('Waiting 1:01');
  });

  it('marks an escalated consultation since when, and a contact on hold for how long', () => {
    const escalated = consultation({
      session: makeSession({ id: 'c1', parent_interaction_id: 'i1', offer: { ...offer, escalated_at: T0 + 60_000 } }),
      on_hold_since: T0 + 5_000,
    });
    const vm = supervisionVM(withBoard(board({ consultations: [escalated] })), T0 + 72_000).consultations[0];
    expect(vm.escalated).toBe('Escalated 0:12 ago');
    expect(vm.onHold).toBe('Contact on hold 1:07');
  });

  it('counts a connected consultation from when it was answered, with whom', () => {
    const connected = consultation({ session: makeSession({ id: 'c1', parent_interaction_id: 'i1' }, 'joined'), connected_since: T0 + 10_000 });
    const vm = supervisionVM(withBoard(board({ consultations: [connected] })), T0 + 3 * 60_000 + 15_000).consultations[0];
    expect(vm).toMatchObject({ state: 'connected', target: 'with Bob Builder', timer: 'Connected 3:05' });
  });

  it('offers Join until the supervisor is in it, then Open', () => {
    const joinedSession = makeSession({
      id: 'c1',
      parent_interaction_id: 'i1',
      participants: [
        ...makeSession().participants,
        { user_id: 'u-judy', display_name: 'Judy Jensen', role: 'supervisor', state: 'joined', invite_timed_out: false, color: 2, delivered_seq: 0, read_seq: 0 },
      ],
    });
    const s = withBoard(board({ consultations: [consultation({ session: joinedSession })] }), { sessions: { c1: joinedSession } });
    expect(supervisionVM(s, T0).consultations[0].action).toBe('open');
    const ended = consultation({ session: makeSession({ id: 'c1', state: 'ended' }) });
    expect(supervisionVM(withBoard(board({ consultations: [ended] })), T0).consultations[0].action).toBeNull();
  });

  it("shows each member's status, live from presence once it comes", () => {
    const s = withBoard(board(), { statusReasons: [{ code: 'lunch', label: 'Lunch' }] });
    expect(supervisionVM(s, T0).groups[0].members.map((m) => [m.name, m.statusText])).toEqual([
      ['Bob Builder', 'Ready'],
      ['Dave Durand', 'Not Ready – Lunch'],
    ]);
    const live = { ...s, presence: { 'u-bob': { user_id: 'u-bob', status: 'offline' as const, reason: null } } };
    expect(supervisionVM(live, T0).groups[0].members[0]).toMatchObject({ status: 'offline', statusText: 'Offline' });
  });
});

describe('whisper targets', () => {
  it('are the other joined participants of a joined supervisor, and nobody for anyone else', () => {
    const session = makeSession(
      {
        participants: [
          ...makeSession({}, 'joined').participants,
          { user_id: 'u-judy', display_name: 'Judy Jensen', role: 'supervisor', state: 'joined', invite_timed_out: false, color: 2, delivered_seq: 0, read_seq: 0 },
        ],
      },
      'joined',
    );
    expect(whisperTargets(session, 'u-judy')).toEqual([
      { id: 'u-alice', name: 'Alice Agent' },
      { id: 'u-bob', name: 'Bob Builder' },
    ]);
    expect(whisperTargets(session, 'u-bob')).toEqual([]);
    expect(whisperTargets({ ...session, state: 'ended' }, 'u-judy')).toEqual([]);
  });
});
