import { describe, expect, it } from 'vitest';
import { emptyDirectory, initialState, type AppState } from '../models/app';
import { entry, makeMe, makeSession } from '../testing/fakes';
import { buildTranscriptRows, imWindowVM, offerProgressText } from './imWindow';
import { directoryRows, imNotPermittedNotice, invitationCards, statusOptions, taskbarItems } from './main';
import { sessionStatusText } from '../models/sessions';

function state(over: Partial<AppState> = {}): AppState {
  return { ...initialState(), phase: 'signed_in', me: makeMe(), connection: 'open', ...over };
}

describe('IM window view model', () => {
  it("marks a supervisor's whisper and announces the supervisor's join", () => {
    const session = makeSession({}, 'joined');
    const rows = buildTranscriptRows(
      [
        entry('s1', 1, { kind: 'joined', actor_id: 'u-judy', actor_name: 'Judy Jensen', text: 'Judy Jensen (supervisor) joined' }),
        entry('s1', 2, { kind: 'whisper', actor_id: 'u-judy', actor_name: 'Judy Jensen', subject_id: 'u-bob', subject_name: 'Bob Builder', text: 'Offer the voucher' }),
        entry('s1', 3, { actor_id: 'u-bob', actor_name: 'Bob Builder' }),
      ],
      [],
      session,
      'u-bob',
      'Bob Builder',
    );
    expect(rows[0]).toMatchObject({ kind: 'system', text: 'Judy Jensen (supervisor) joined' });
    expect(rows[1]).toMatchObject({ kind: 'message', text: 'Offer the voucher', name: 'Judy Jensen', whisper: 'Whisper to you' });
    expect(rows[2]).toMatchObject({ kind: 'message', whisper: null });
  });

  it('maps session states to the status indicator text', () => {
    expect(sessionStatusText(makeSession({ state: 'not_connected' }))).toBe('Not Connected');
    expect(sessionStatusText(makeSession({ state: 'inviting' }))).toBe('Not Connected');
    expect(sessionStatusText(makeSession({ state: 'connected' }))).toBe('Connected');
    expect(sessionStatusText(makeSession({ state: 'ended' }))).toBe('Ended');
  });

  it('shows each name above its run of messages, system entries in between, and a receipt on my last message', () => {
    const session = makeSession({}, 'joined');
    session.participants[0] = { ...session.participants[0], delivered_seq: 5, read_seq: 4 };
    const rows = buildTranscriptRows(
      [
        entry('s1', 1, { kind: 'joined', actor_id: 'u-bob', actor_name: 'Bob Builder', subject_name: 'Bob Builder', text: null }),
        entry('s1', 2),
        entry('s1', 3),
        entry('s1', 4, { actor_id: 'u-bob', actor_name: 'Bob Builder' }),
        entry('s1', 5, { actor_id: 'u-bob', actor_name: 'Bob Builder' }),
        entry('s1', 6, { kind: 'ended', actor_id: 'u-alice', actor_name: 'Alice Agent', text: null }),
      ],
      [{ client_msg_id: 'p', text: 'queued', created: 0, state: 'queued' }],
      session,
      'u-bob',
      'Bob Builder',
    );
    expect(rows.map((r) => r.kind)).toEqual(['system', 'message', 'message', 'message', 'message', 'system', 'pending']);
    expect(rows[0]).toMatchObject({ text: 'Bob Builder joined the session' });
    expect(rows[5]).toMatchObject({ text: 'Session ended by Alice Agent' });
    const msgs = rows.filter((r) => r.kind === 'message');
    expect(msgs.map((r) => r.kind === 'message' && r.showName)).toEqual([true, false, true, false]);
    expect(msgs.map((r) => r.kind === 'message' && r.color)).toEqual([0, 0, 1, 1]);
    expect(msgs.map((r) => r.kind === 'message' && r.receipt)).toEqual([null, null, null, 'Delivered']);
    expect(rows[6]).toMatchObject({ kind: 'pending', showName: true, name: 'Bob Builder' });
    expect(msgs[0].kind === 'message' && msgs[0].time).toBeTruthy();
  });

  it('offers Accept/Reject for a pending invitation and disables sending', () => {
    const vm = imWindowVM(state({ sessions: { s1: makeSession() } }), 's1', 0)!;
    expect(vm.title).toBe('Alice Agent');
    expect(vm.pendingInvitation).toBe(true);
    expect(vm.canSend).toBe(false);
    expect(vm.status).toBe('Not Connected');
  });

  it('tells the initiator that the invitation timed out', () => {
    const s = makeSession({ created_by: 'u-bob' });
    s.participants = [
      { ...s.participants[1], role: 'initiator', state: 'joined', color: 0 },
      { ...s.participants[0], role: 'invitee', state: 'invited', invite_timed_out: true, color: 1 },
    ];
    const vm = imWindowVM(state({ sessions: { s1: s } }), 's1', 0)!;
    expect(vm.statusDetail).toBe('Invitation timed out');
    expect(vm.canSend).toBe(true);
  });

  it('shows who is typing', () => {
    const vm = imWindowVM(state({ sessions: { s1: makeSession({}, 'joined') }, typing: { s1: { 'u-alice': 5 } } }), 's1', 0)!;
    expect(vm.typing).toBe('Alice Agent is typing…');
  });
});

describe('main window view models', () => {
  it('lists Not Ready once per reason', () => {
    const opts = statusOptions(state({ statusReasons: [{ code: 'lunch', label: 'Lunch' }, { code: 'training', label: 'Training' }] }));
    expect(opts.map((o) => o.label)).toEqual(['Ready', 'Not Ready – Lunch', 'Not Ready – Training', 'Away', 'Busy']);
    expect(opts[0].checked).toBe(true);
  });

  it('offers only the actions the server lists, with live presence', () => {
    const rows = directoryRows(
      state({
        directory: {
          ...emptyDirectory(),
          entries: [
            { kind: 'user', id: 'a', display_name: 'Alice', username: 'alice', groups: ['Sales'], status: 'ready', reason: null, member_count: null, favourite: false, unavailable: [], actions: ['send_im', 'add_favourite'] },
            { kind: 'user', id: 'm', display_name: 'Mallory', username: 'mallory', groups: [], status: 'offline', reason: null, member_count: null, favourite: true, unavailable: [], actions: ['remove_favourite'] },
          ],
        },
        presence: { a: { user_id: 'a', status: 'away', reason: null } },
      }),
    );
    expect(rows[0].actions.map((a) => a.label)).toEqual(['Send an Instant Message', 'Add to Favourites']);
    expect(rows[0].statusText).toBe('Away');
    expect(rows[1].actions.map((a) => a.label)).toEqual(['Remove from Favourites']);
  });

  it('shows an IM action the server refuses as disabled, with its reason; an agent without the permission is told', () => {
    const refused = { action: 'send_im' as const, code: 'im_not_permitted' as const, reason: 'Mallory Moreau does not have the Internal IM permission' };
    const s = state({
      directory: {
        ...emptyDirectory(),
        entries: [
          { kind: 'user', id: 'm', display_name: 'Mallory Moreau', username: 'mallory', groups: [], status: 'ready', reason: null, member_count: null, favourite: false, unavailable: [refused], actions: ['add_favourite'] },
        ],
      },
    });
    expect(directoryRows(s)[0].actions).toEqual([
      { action: 'add_favourite', label: 'Add to Favourites' },
      { action: 'send_im', label: 'Send an Instant Message', disabled: true, reason: 'Mallory Moreau does not have the Internal IM permission.' },
    ]);
    expect(imNotPermittedNotice(s)).toBeNull();
    expect(imNotPermittedNotice({ ...s, me: { ...s.me!, im_permitted: false } })).toMatch(/^Your account does not have the Internal IM permission/);
  });

  it('puts pending invitations first in the task bar with unread counts', () => {
    const items = taskbarItems(
      state({
        sessions: {
          s2: makeSession({ id: 's2', unread: 3, created_at: 5 }, 'joined'),
          s1: makeSession({ id: 's1', created_at: 1 }),
        },
      }),
    );
    expect(items.map((i) => i.id)).toEqual(['s1', 's2']);
    expect(items[0]).toMatchObject({ pending: true, state: 'Invitation' });
    expect(items[1]).toMatchObject({ unread: 3, label: 'Alice Agent, Connected, 3 unread' });
  });

  it('builds invitation cards with the first message', () => {
    const cards = invitationCards(
      state({
        sessions: { s1: makeSession({ last_message: entry('s1', 2, { text: 'Got a minute?' }) }) },
        notifications: [{ session_id: 's1', shown_at: 0 }],
      }),
    );
    expect(cards).toEqual([{ id: 's1', from: 'Alice Agent', message: 'Got a minute?' }]);
  });
});

describe('group offer progress', () => {
  it('reads "offered to 4 · 1 declined · 0:12", then who took it', () => {
    const p = { group: 'Technical Support', offered: 4, declined: 1, startedAt: 1_000, takenBy: null, open: true };
    expect(offerProgressText(p, 13_500)).toBe('offered to 4 · 1 declined · 0:12');
    expect(offerProgressText(p, 61_000 + 1_000)).toBe('offered to 4 · 1 declined · 1:01');
    expect(offerProgressText({ ...p, takenBy: 'Dave Durand', open: false }, 99_000)).toBe('Taken by Dave Durand');
  });
});
