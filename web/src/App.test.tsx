import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { App } from './App';
import { AppModel } from './models/app';
import { ApiError, type Api } from './protocol/rest';
import { BacklineSocket } from './protocol/socket';
import { FakeClock, FakeWs, entry, fakeEffects, makeContact, makeHistoryItem, makeInteraction, makeMe, makeSession } from './testing/fakes';

afterEach(cleanup);

function setup() {
  let signedIn = false;
  const api = {
    me: vi.fn(async () => {
      if (!signedIn) throw new ApiError(401, 'unauthenticated', 'no');
      return makeMe();
    }),
    signIn: vi.fn(async (u: string, p: string) => {
      if (p !== 'backline') throw new ApiError(401, 'invalid_credentials', 'bad');
      signedIn = true;
      return { token: 't', expires_at: 0, me: makeMe({ username: u }) };
    }),
    signOut: vi.fn(async () => undefined),
    statusReasons: vi.fn(async () => [{ code: 'lunch', label: 'Lunch' }]),
    directory: vi.fn(async () => ({
      entries: [
        { kind: 'user' as const, id: 'u-alice', display_name: 'Alice Agent', username: 'alice', groups: [], status: 'ready' as const, reason: null, member_count: null, favourite: false, unavailable: [], actions: ['send_im' as const, 'add_favourite' as const] },
      ],
    })),
    sessions: vi.fn(async () => []),
    interactions: vi.fn(async () => []),
    transcript: vi.fn(async () => ({ entries: [entry('s1', 1, { kind: 'invited', text: null, subject_name: 'Bob Builder' }), entry('s1', 2, { text: 'Got a minute?' })], has_more: false })),
    accept: vi.fn(async () => makeSession({ last_seq: 3 }, 'joined')),
    reject: vi.fn(),
    setStatus: vi.fn(),
    setZoom: vi.fn(),
    addFavourite: vi.fn(),
    removeFavourite: vi.fn(),
    createSession: vi.fn(),
    session: vi.fn(),
    cancel: vi.fn(),
    end: vi.fn(),
    done: vi.fn(),
    interaction: vi.fn(async () => makeInteraction({ read_only: true })),
    interactionDone: vi.fn(async () => undefined),
    contact: vi.fn(async () => makeContact()),
    history: vi.fn(async () => ({ items: [makeHistoryItem(), makeHistoryItem({ interaction_id: 'i1', created_at: 1_700_000_000_000, subject: 'Billing question', state: 'active' })] })),
  } as unknown as Api;
  const sockets: FakeWs[] = [];
  const socket = new BacklineSocket({
    url: 'ws://test',
    createSocket: (u) => {
      const w = new FakeWs(u);
      sockets.push(w);
      return w;
    },
    pingIntervalMs: 0,
  });
  const clock = new FakeClock();
  const { fx, calls } = fakeEffects(clock);
  const model = new AppModel(api, socket, fx);
  return { api, model, sockets, calls, clock };
}

describe('App', () => {
  it('signs in, receives an invitation over the socket, accepts it and shows the transcript', async () => {
    const { model, sockets, calls, api } = setup();
    render(<App model={model} />);
    fireEvent.change(await screen.findByLabelText('Username'), { target: { value: 'bob' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'wrong' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign In' }));
    expect(await screen.findByText('The username or password is wrong.')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'backline' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign In' }));
    expect(await screen.findByRole('searchbox', { name: 'Team Communicator' })).toBeTruthy();
    expect(await screen.findByText('Alice Agent')).toBeTruthy();

    await waitFor(() => expect(sockets.length).toBe(1));
    const ws = sockets[0];
    act(() => {
      ws.open();
      ws.receive({ type: 'welcome', me: makeMe(), head: 10, node: 'n' });
    });
    expect(ws.sent[0]).toEqual({ type: 'hello', last_seq: 10 });
    expect(ws.framesOfType('watch').at(-1)).toEqual({ type: 'watch', user_ids: ['u-alice'] });

    act(() => {
      ws.receive({ type: 'event', seq: 11, ts: 0, event: { kind: 'session', session: makeSession({ last_message: entry('s1', 2, { text: 'Got a minute?' }) }) } });
    });
    const note = screen.getByRole('group', { name: 'Instant message invitation from Alice Agent' });
    expect(note.textContent).toContain('Got a minute?');
    expect(calls.beeps).toBe(1);
    expect(screen.getByTestId('live-region').textContent).toContain('Instant message invitation from Alice Agent');

    fireEvent.click(screen.getAllByRole('button', { name: 'Accept' })[0]);
    await waitFor(() => expect(api.accept).toHaveBeenCalledWith('s1'));
    const win = await screen.findByRole('region', { name: 'Alice Agent' });
    expect(win.textContent).toContain('Connected');
    await waitFor(() => expect(win.textContent).toContain('Got a minute?'));
    expect(screen.queryByRole('group', { name: 'Instant message invitation from Alice Agent' })).toBeNull();
  });

  it('shows the offline banner when the socket drops after connecting', async () => {
    const { model, sockets, api } = setup();
    await api.signIn('bob', 'backline');
    render(<App model={model} />);
    await waitFor(() => expect(sockets.length).toBe(1));
    act(() => {
      sockets[0].open();
      sockets[0].receive({ type: 'welcome', me: makeMe(), head: 10, node: 'n' });
    });
    expect(screen.queryByRole('alert')).toBeNull();
    act(() => sockets[0].serverClose(1006));
    expect(screen.getByRole('alert').textContent).toContain('Offline');
  });

  it('returns to sign-in with a message when the socket closes with 4001', async () => {
    const { model, sockets, api } = setup();
    await api.signIn('bob', 'backline');
    render(<App model={model} />);
    await waitFor(() => expect(sockets.length).toBe(1));
    act(() => {
      sockets[0].open();
      sockets[0].receive({ type: 'welcome', me: makeMe(), head: 10, node: 'n' });
      sockets[0].serverClose(4001, 'session_expired');
    });
    expect(await screen.findByText('Your session has expired. Please sign in again.')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Sign In' })).toBeTruthy();
  });

  it('shows a live interaction in the task bar, opens its window with tabs, and starts a consultation from it', async () => {
    const { model, sockets, api } = setup();
    await api.signIn('bob', 'backline');
    render(<App model={model} />);
    await waitFor(() => expect(sockets.length).toBe(1));
    act(() => {
      sockets[0].open();
      sockets[0].receive({ type: 'welcome', me: makeMe(), head: 10, node: 'n' });
      sockets[0].receive({ type: 'event', seq: 11, ts: 0, event: { kind: 'interaction', interaction: makeInteraction() } });
    });
    const taskbar = screen.getByRole('navigation', { name: 'Task bar' });
    fireEvent.click(within(taskbar).getByRole('button', { name: 'Voice: Jane Doe, Billing question, Active' }));
    const win = await screen.findByRole('region', { name: 'Voice interaction with Jane Doe' });
    expect(within(win).getByRole('tablist')).toBeTruthy();
    expect(within(win).getByRole('table', { name: 'Case Data' }).textContent).toContain('ACC-42');
    fireEvent.click(within(win).getByRole('tab', { name: 'Contact History' }));
    const list = await within(win).findByRole('list', { name: 'Contact history' });
    await waitFor(() => expect(within(list).getAllByRole('listitem')[0].getAttribute('aria-current')).toBe('true'));
    fireEvent.click(within(win).getByRole('button', { name: 'Start Consultation' }));
    expect(await screen.findByRole('heading', { name: 'Active Consultations' })).toBeTruthy();
    await waitFor(() => expect(api.directory).toHaveBeenLastCalledWith('', 'all', 50, 'i1'));
    // the interaction ends: the task bar says so
    act(() => {
      sockets[0].receive({ type: 'event', seq: 12, ts: 0, event: { kind: 'interaction', interaction: makeInteraction({ state: 'ended' }) } });
    });
    expect(within(taskbar).getByRole('button', { name: 'Voice: Jane Doe, Billing question, Ended' })).toBeTruthy();
    expect(screen.queryByRole('heading', { name: 'Active Consultations' })).toBeNull();
    fireEvent.click(within(win).getByRole('button', { name: 'Done' }));
    await waitFor(() => expect(screen.queryByRole('region', { name: 'Voice interaction with Jane Doe' })).toBeNull());
    expect(api.interactionDone).toHaveBeenCalledWith('i1');
  });
});
