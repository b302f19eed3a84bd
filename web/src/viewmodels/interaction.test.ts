import { describe, expect, it } from 'vitest';
import { emptyDirectory, initialState, type AppState } from '../models/app';
import { emptyDetails, emptyHistoryQuery } from '../models/interactions';
import { makeContact, makeHistoryItem, makeInteraction, makeMe, makeSession } from '../testing/fakes';
import { consultationVM, contactVM, historyVM, interactionWindowVM } from './interaction';
import { consultationContext, taskbarItems } from './main';

function state(over: Partial<AppState> = {}): AppState {
  return { ...initialState(), phase: 'signed_in', me: makeMe(), connection: 'open', ...over };
}

const ready = <T,>(data: T) => ({ status: 'ready' as const, data, error: null, code: null });

describe('task bar with interactions', () => {
  it('lists interactions first with media, contact and subject; an ended one shows Ended', () => {
    const items = taskbarItems(
      state({
        interactions: {
          i1: makeInteraction(),
          i2: makeInteraction({ id: 'i2', media: 'email', contact_name: 'Sam Lee', subject: 'Invoice', state: 'ended', created_at: 2 }),
        },
        openInteractions: ['i1'],
        sessions: { s1: makeSession({}, 'joined') },
      }),
    );
    expect(items.map((i) => [i.kind, i.id])).toEqual([
      ['interaction', 'i1'],
      ['interaction', 'i2'],
      ['session', 's1'],
    ]);
    expect(items[0]).toMatchObject({ label: 'Voice: Jane Doe, Billing question, Active', icon: '☎', subject: 'Billing question', open: true });
    expect(items[1]).toMatchObject({ label: 'E-mail: Sam Lee, Invoice, Ended', state: 'Ended', open: false });
  });
});

describe('interaction window view model', () => {
  it('shows case data in order, the contact, and the history with the current interaction highlighted', () => {
    const details = {
      ...emptyDetails(),
      contact: ready(makeContact()),
      history: ready([makeHistoryItem({ interaction_id: 'i0', created_at: 1 }), makeHistoryItem({ interaction_id: 'i1', created_at: 5, subject: 'Billing question', state: 'active' })]),
    };
    const vm = interactionWindowVM(state({ interactions: { i1: makeInteraction() }, details: { i1: details } }), 'i1')!;
    expect(vm.label).toBe('Voice interaction with Jane Doe');
    expect(vm.tabs.caseData.map((c) => c.key)).toEqual(['Account', 'Segment']);
    expect(vm.tabs.contact).toMatchObject({ status: 'ready', name: 'Jane Doe', phones: ['+1 555 0100'] });
    expect(vm.tabs.history.rows.map((r) => [r.interactionId, r.current])).toEqual([
      ['i1', true],
      ['i0', false],
    ]);
    expect(vm.canConsult).toBe(true);
    expect(interactionWindowVM(state({ interactions: { i1: makeInteraction({ state: 'ended' }) } }), 'i1')!.canConsult).toBe(false);
  });

  it('shows the snippet only for a search, and explains errors', () => {
    const snippet = { text: 'a refund b', highlights: [{ start: 2, end: 8 }] };
    const d = { ...emptyDetails(), history: ready([makeHistoryItem({ snippet })]) };
    expect(historyVM(d, 'i1').rows[0].snippet).toBeNull();
    const searched = { ...d, historyShown: { ...emptyHistoryQuery, q: 'refund' } };
    expect(historyVM(searched, 'i1')).toMatchObject({ searching: true, rows: [{ snippet }] });
    expect(contactVM({ ...emptyDetails(), contact: { status: 'error', data: null, error: 'x', code: 'contact_not_found' } })).toEqual({
      status: 'none',
      message: 'No contact is attached to this interaction.',
    });
  });
});

describe('consultation window states', () => {
  const parent = 'i1';
  it('initiator: says which interaction it is about', () => {
    const s = makeSession({ created_by: 'u-bob', parent_interaction_id: parent, state: 'not_connected' });
    const vm = consultationVM(state({ interactions: { i1: makeInteraction() } }), s);
    expect(vm).toEqual({ role: 'initiator', interactionId: 'i1', about: 'Consultation about Voice · Jane Doe · Billing question' });
  });

  it('target: waiting before accepting, loading, shared (read-only tabs), or denied', () => {
    const invited = makeSession({ parent_interaction_id: parent });
    expect(consultationVM(state(), invited)).toMatchObject({ role: 'target', access: 'waiting', tabs: null });
    const joined = makeSession({ parent_interaction_id: parent }, 'joined');
    expect(consultationVM(state(), joined)).toMatchObject({ access: 'loading' });
    const shared = consultationVM(
      state({ details: { i1: { ...emptyDetails(), view: ready(makeInteraction({ read_only: true })), contact: ready(makeContact()) } } }),
      joined,
    );
    expect(shared).toMatchObject({ access: 'shared', about: 'Consultation about Voice · Jane Doe · Billing question' });
    expect(shared && shared.role === 'target' && shared.tabs?.readOnly).toBe(true);
    const denied = consultationVM(state({ details: { i1: { ...emptyDetails(), view: { status: 'error', data: null, error: 'no', code: 'not_shared' } } } }), joined);
    expect(denied).toMatchObject({ access: 'denied', message: 'This interaction is not shared with you.' });
    // a plain IM is no consultation
    expect(consultationVM(state(), makeSession({}, 'joined'))).toBeNull();
  });
});

describe('Team Communicator context', () => {
  it('pre-selects the server choice only without a search or filter', () => {
    const entry = { kind: 'user' as const, id: 'u-carol', display_name: 'Carol', username: 'carol', groups: [], status: 'ready' as const, reason: null, member_count: null, favourite: false, unavailable: [], actions: ['start_im_consultation' as const] };
    const base = state({ interactions: { i1: makeInteraction() }, directory: { ...emptyDirectory(), interactionId: 'i1', activeConsultations: [entry], preselected: 'u-carol' } });
    const ctx = consultationContext(base)!;
    expect(ctx.preselected).toBe('u-carol');
    expect(ctx.summary).toBe('Voice · Jane Doe · Billing question');
    // a voice interaction: its active consultations also offer Start Voice Consultation
    expect(ctx.activeConsultations[0].actions).toEqual([
      { action: 'start_im_consultation', label: 'Start Instant Message Consultation' },
      { action: 'start_voice_consultation', label: 'Start Voice Consultation' },
    ]);
    const chat = consultationContext({ ...base, interactions: { i1: makeInteraction({ media: 'chat' }) } })!;
    expect(chat.activeConsultations[0].actions).toEqual([{ action: 'start_im_consultation', label: 'Start Instant Message Consultation' }]);
    expect(consultationContext({ ...base, directory: { ...base.directory, query: 'x' } })!.preselected).toBeNull();
    expect(consultationContext({ ...base, directory: { ...base.directory, filter: 'recent' } })!.preselected).toBeNull();
    expect(consultationContext(state())).toBeNull();
  });
});
