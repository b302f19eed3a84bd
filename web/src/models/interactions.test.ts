import { describe, expect, it } from 'vitest';
import {
  consultationShared,
  effectivePreselection,
  emptyHistoryQuery,
  historyAgents,
  historyParams,
  interactionOrder,
  interactionSummary,
  isSearching,
  openConsultation,
  snippetParts,
} from './interactions';
import { makeHistoryItem, makeInteraction, makeSession } from '../testing/fakes';

describe('history search parameters', () => {
  it('leaves empty fields out and always sends a limit', () => {
    expect(historyParams(emptyHistoryQuery)).toEqual({ limit: 100 });
    expect(historyParams({ ...emptyHistoryQuery, q: '  refund  ' }, 20)).toEqual({ q: 'refund', limit: 20 });
  });

  it('maps media, agent and local days to from/to in unix ms (to is inclusive of the whole day)', () => {
    const p = historyParams({ q: 'x', media: 'chat', from: '2026-03-01', to: '2026-03-02', agent: 'u-carol' });
    expect(p.media).toBe('chat');
    expect(p.agent).toBe('u-carol');
    expect(p.from).toBe(new Date(2026, 2, 1).getTime());
    expect(p.to).toBe(new Date(2026, 2, 3).getTime() - 1);
  });

  it('ignores malformed dates', () => {
    expect(historyParams({ ...emptyHistoryQuery, from: '03/01/2026', to: 'soon' })).toEqual({ limit: 100 });
  });

  it('knows when a search is active', () => {
    expect(isSearching(emptyHistoryQuery)).toBe(false);
    expect(isSearching({ ...emptyHistoryQuery, q: ' ' })).toBe(false);
    expect(isSearching({ ...emptyHistoryQuery, media: 'voice' })).toBe(true);
  });
});

describe('Team Communicator pre-selection in an interaction context', () => {
  const dir = { query: '', filter: 'all' as const, preselected: 'u-bob', interactionId: 'i1' };
  it('pre-selects the current consultation target', () => {
    expect(effectivePreselection(dir)).toBe('u-bob');
  });
  it('drops it when the agent types a search or picks a filter', () => {
    expect(effectivePreselection({ ...dir, query: 'ca' })).toBeNull();
    expect(effectivePreselection({ ...dir, filter: 'agents' })).toBeNull();
    expect(effectivePreselection({ ...dir, filter: 'favourites' })).toBeNull();
  });
  it('keeps it for white space only, and never outside an interaction', () => {
    expect(effectivePreselection({ ...dir, query: '   ' })).toBe('u-bob');
    expect(effectivePreselection({ ...dir, interactionId: null })).toBeNull();
  });
});

describe('consultations', () => {
  it('shares the parent data with the target only after accepting', () => {
    const invited = makeSession({ parent_interaction_id: 'i1' }, 'invited');
    expect(consultationShared(invited, 'u-bob')).toBe(false);
    const joined = makeSession({ parent_interaction_id: 'i1' }, 'joined');
    expect(consultationShared(joined, 'u-bob')).toBe(true);
    // the initiator owns the interaction; a plain IM shares nothing
    expect(consultationShared(joined, 'u-alice')).toBe(false);
    expect(consultationShared(makeSession({}, 'joined'), 'u-bob')).toBe(false);
    // after the end a target who had joined keeps seeing it
    const ended = makeSession({ parent_interaction_id: 'i1', state: 'ended' }, 'joined');
    ended.participants[1] = { ...ended.participants[1], state: 'left' };
    expect(consultationShared(ended, 'u-bob')).toBe(true);
    const rejected = makeSession({ parent_interaction_id: 'i1', state: 'ended' });
    rejected.participants[1] = { ...rejected.participants[1], state: 'rejected' };
    expect(consultationShared(rejected, 'u-bob')).toBe(false);
  });

  it('finds an open consultation with a target about an interaction', () => {
    const s = makeSession({ id: 'c1', parent_interaction_id: 'i1', state: 'not_connected' });
    const sessions = { c1: s, s2: makeSession({ id: 's2' }) };
    expect(openConsultation(sessions, 'i1', 'u-bob')?.id).toBe('c1');
    expect(openConsultation(sessions, 'i2', 'u-bob')).toBeUndefined();
    expect(openConsultation({ c1: { ...s, state: 'ended' } }, 'i1', 'u-bob')).toBeUndefined();
  });
});

describe('interaction helpers', () => {
  it('orders active before ended, newest first, and summarises', () => {
    const a = makeInteraction({ id: 'a', created_at: 1 });
    const b = makeInteraction({ id: 'b', created_at: 2 });
    const c = makeInteraction({ id: 'c', created_at: 3, state: 'ended' });
    expect(interactionOrder([a, c, b]).map((i) => i.id)).toEqual(['b', 'a', 'c']);
    expect(interactionSummary(a)).toBe('Voice · Jane Doe · Billing question');
    expect(interactionSummary(makeInteraction({ contact_name: null, media: 'email' }))).toBe('E-mail · Unknown contact · Billing question');
  });

  it('lists the agents of the history once, by name', () => {
    const items = [
      makeHistoryItem({ agent_id: 'u2', agent_name: 'Zed' }),
      makeHistoryItem({ agent_id: 'u1', agent_name: 'Amy' }),
      makeHistoryItem({ agent_id: 'u2', agent_name: 'Zed' }),
      makeHistoryItem({ agent_id: null, agent_name: null }),
    ];
    expect(historyAgents(items)).toEqual([
      { id: 'u1', name: 'Amy' },
      { id: 'u2', name: 'Zed' },
    ]);
  });

  it('splits a snippet into plain and matched parts by its ranges, brackets staying text', () => {
    const text = '[10:00:00 UTC] Alice: can you check?';
    expect(snippetParts({ text, highlights: [{ start: 22, end: 25 }, { start: 26, end: 29 }, { start: 30, end: 35 }] })).toEqual([
      { text: '[10:00:00 UTC] Alice: ', mark: false },
      { text: 'can', mark: true },
      { text: ' ', mark: false },
      { text: 'you', mark: true },
      { text: ' ', mark: false },
      { text: 'check', mark: true },
      { text: '?', mark: false },
    ]);
    expect(snippetParts({ text: 'no [match]', highlights: [] })).toEqual([{ text: 'no [match]', mark: false }]);
  });

  it('reads highlight offsets as UTF-16 units and clips bad ranges', () => {
    expect(snippetParts({ text: '😀 Élodie', highlights: [{ start: 3, end: 9 }] })).toEqual([
      { text: '😀 ', mark: false },
      { text: 'Élodie', mark: true },
    ]);
    expect(snippetParts({ text: 'abcdef', highlights: [{ start: 2, end: 4 }, { start: 3, end: 5 }, { start: 5, end: 99 }, { start: 1, end: 1 }] })).toEqual([
      { text: 'ab', mark: false },
      { text: 'cd', mark: true },
      { text: 'e', mark: true },
      { text: 'f', mark: true },
    ]);
  });
});
