import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { InteractionTabs } from './InteractionTabs';
import { emptyHistoryQuery } from '../../../models/interactions';
import type { InteractionTabsVM } from '../../../viewmodels/interaction';

afterEach(cleanup);

const vm: InteractionTabsVM = {
  interactionId: 'i1',
  readOnly: true,
  caseData: [
    { key: 'Account', value: 'ACC-42' },
    { key: 'Segment', value: 'Gold' },
  ],
  contact: { status: 'ready', name: 'Jane Doe', phones: ['+1 555 0100'], emails: ['jane@example.com'], attributes: [{ key: 'Language', value: 'English' }] },
  history: {
    status: 'ready',
    refreshing: false,
    message: null,
    query: { ...emptyHistoryQuery, q: 'refund' },
    searching: true,
    agents: [{ id: 'u-carol', name: 'Carol Agent' }],
    rows: [
      {
        key: 'i1',
        interactionId: 'i1',
        media: 'voice',
        mediaLabel: 'Voice',
        icon: '☎',
        time: 'today',
        ts: 2,
        agent: 'Alice Agent',
        subject: 'Billing question',
        outcome: null,
        notes: null,
        state: 'Active',
        transcripts: [{ key: 't', title: 'Consultation with Bob', text: 'Alice: hello bob', attachedAt: 'now' }],
        current: true,
        snippet: null,
      },
      {
        key: 'i0',
        interactionId: 'i0',
        media: 'email',
        mediaLabel: 'E-mail',
        icon: '✉',
        time: 'last year',
        ts: 1,
        agent: 'Carol Agent',
        subject: 'Earlier',
        outcome: 'Resolved',
        notes: 'Refund issued',
        state: 'Ended',
        transcripts: [],
        current: false,
        snippet: { text: '…a refund was…', highlights: [{ start: 3, end: 9 }] },
      },
    ],
  },
};

describe('InteractionTabs', () => {
  it('switches tabs by keyboard and shows the read-only case data in order', () => {
    const actions = { setQuery: vi.fn(), search: vi.fn(), refreshHistory: vi.fn() };
    render(<InteractionTabs vm={vm} actions={actions} label="Details" />);
    const tabs = screen.getAllByRole('tab');
    expect(tabs.map((t) => t.textContent)).toEqual(['Case Data', 'Contact Information', 'Contact History']);
    expect(tabs[0].getAttribute('aria-selected')).toBe('true');
    const table = screen.getByRole('table', { name: 'Case Data' });
    expect(within(table).getAllByRole('rowheader').map((c) => c.textContent)).toEqual(['Account', 'Segment']);
    expect(screen.getByText('Read-only')).toBeTruthy();
    fireEvent.keyDown(tabs[0], { key: 'ArrowRight' });
    expect(document.activeElement).toBe(screen.getByRole('tab', { name: 'Contact Information' }));
    expect(screen.getByText('Jane Doe')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'jane@example.com' }).getAttribute('href')).toBe('mailto:jane@example.com');
    fireEvent.keyDown(document.activeElement!, { key: 'End' });
    expect(actions.refreshHistory).toHaveBeenCalledTimes(1);
    expect(screen.getByRole('tab', { name: 'Contact History' }).getAttribute('aria-selected')).toBe('true');
  });

  it('searches the history, highlights the current interaction, shows snippets and expandable transcripts', () => {
    const actions = { setQuery: vi.fn(), search: vi.fn(), refreshHistory: vi.fn() };
    render(<InteractionTabs vm={vm} actions={actions} label="Details" initialTab="history" />);
    const box = screen.getByRole('searchbox', { name: 'Search contact history' });
    fireEvent.change(box, { target: { value: 'refunds' } });
    expect(actions.setQuery).toHaveBeenCalledWith({ q: 'refunds' });
    fireEvent.submit(box.closest('form')!);
    expect(actions.search).toHaveBeenCalled();
    const adv = screen.getByRole('button', { name: 'Advanced search' });
    expect(adv.getAttribute('aria-expanded')).toBe('false');
    fireEvent.click(adv);
    fireEvent.change(screen.getByRole('combobox', { name: 'Media' }), { target: { value: 'email' } });
    expect(actions.setQuery).toHaveBeenLastCalledWith({ media: 'email' }, true);
    fireEvent.change(screen.getByRole('combobox', { name: 'Agent' }), { target: { value: 'u-carol' } });
    expect(actions.setQuery).toHaveBeenLastCalledWith({ agent: 'u-carol' }, true);
    const items = within(screen.getByRole('list', { name: 'Contact history' })).getAllByRole('listitem');
    expect(items[0].getAttribute('aria-current')).toBe('true');
    expect(items[0].textContent).toContain('This interaction');
    expect(items[1].querySelector('mark')?.textContent).toBe('refund');
    expect(within(items[0]).getByText(/Transcript: Consultation with Bob/)).toBeTruthy();
  });

  it('renders every highlight range of a snippet as a mark, and the text never as markup', () => {
    const text = '[10:00:00 UTC] Alice: <b>hi</b> can you check? [10:00:05 UTC] Bob: checking';
    const at = (word: string, from = 0) => ({ start: text.indexOf(word, from), end: text.indexOf(word, from) + word.length });
    const rows = vm.history.rows.map((r) =>
      r.key === 'i0' ? { ...r, snippet: { text, highlights: [at('can'), at('you'), at('check'), at('checking', text.indexOf('Bob'))] } } : r,
    );
    const actions = { setQuery: vi.fn(), search: vi.fn(), refreshHistory: vi.fn() };
    render(<InteractionTabs vm={{ ...vm, history: { ...vm.history, rows } }} actions={actions} label="Details" initialTab="history" />);
    const items = within(screen.getByRole('list', { name: 'Contact history' })).getAllByRole('listitem');
    const snippet = items[1].querySelector('.history-snippet')!;
    expect([...snippet.querySelectorAll('mark')].map((m) => m.textContent)).toEqual(['can', 'you', 'check', 'checking']);
    expect(snippet.querySelector('b')).toBeNull();
    expect(snippet.textContent).toBe(`Match: ${text}`);
  });
});
