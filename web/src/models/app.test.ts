import { describe, expect, it, vi } from 'vitest';
import { AppModel, EXPIRED_NOTICE, INVITE_NOTICE_MS } from './app';
import { invitationCards, taskbarItems } from '../viewmodels/main';
import { buildTranscriptRows } from '../viewmodels/imWindow';
import type { WorkspaceStorage } from '../lib/workspace';
import { parseWorkspace } from '../lib/workspace';
import { memoryWorkspaceBackend } from '../testing/workspace';
import type { Api } from '../protocol/rest';
import { ApiError } from '../protocol/rest';
import { SendError, type Socket, type SocketEvent } from '../protocol/socket';
import type { InteractionView, MessageAck, SessionView, StreamEvent } from '../protocol/generated';
import { FakeClock, entry, fakeEffects, makeContact, makeHistoryItem, makeInteraction, makeMe, makeSession } from '../testing/fakes';

function fakeApi(over: Partial<Api> = {}): Api {
  return {
    signIn: vi.fn(async () => ({ token: 't', expires_at: 0, me: makeMe() })),
    signOut: vi.fn(async () => undefined),
    me: vi.fn(async () => makeMe()),
    setStatus: vi.fn(async (r) => makeMe({ status: r.status, reason: r.reason ?? null })),
    setZoom: vi.fn(async (z: number) => makeMe({ preferences: { zoom: z } })),
    statusReasons: vi.fn(async () => [{ code: 'lunch', label: 'Lunch' }]),
    directory: vi.fn(async () => ({ entries: [], active_consultations: [], preselected: null })),
    addFavourite: vi.fn(async () => undefined),
    removeFavourite: vi.fn(async () => undefined),
    sessions: vi.fn(async () => [] as SessionView[]),
    createSession: vi.fn(async () => makeSession({ id: 'new', created_by: 'u-bob' })),
    session: vi.fn(async () => makeSession()),
    accept: vi.fn(async () => makeSession({}, 'joined')),
    reject: vi.fn(async () => makeSession({ state: 'ended' })),
    cancel: vi.fn(async () => makeSession()),
    end: vi.fn(async () => makeSession({ state: 'ended' }, 'joined')),
    done: vi.fn(async () => undefined),
    transcript: vi.fn(async () => ({ entries: [], has_more: false })),
    interactions: vi.fn(async () => [] as InteractionView[]),
    interaction: vi.fn(async () => makeInteraction({ read_only: true })),
    interactionDone: vi.fn(async () => undefined),
    contact: vi.fn(async () => makeContact()),
    history: vi.fn(async () => ({ items: [makeHistoryItem()] })),
    ...over,
  } as Api;
}

class FakeSocket implements Socket {
  status: Socket['status'] = 'idle';
  lastSeq: number | undefined;
  listeners = new Set<(e: SocketEvent) => void>();
  sends: { session_id: string; client_msg_id: string; text: string; resolve: (a: MessageAck) => void; reject: (e: unknown) => void }[] = [];
  marks: [string, string, number][] = [];
  typings: [string, string][] = [];
  watched: string[][] = [];
  start = vi.fn((seq?: number) => {
    this.lastSeq = seq;
    this.status = 'connecting';
  });
  stop = vi.fn(() => {
    this.status = 'stopped';
  });
  drop = vi.fn();
  reconnectNow = vi.fn();
  on(l: (e: SocketEvent) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  sendMessage(session_id: string, client_msg_id: string, text: string) {
    return new Promise<MessageAck>((resolve, reject) => this.sends.push({ session_id, client_msg_id, text, resolve, reject }));
  }
  typing(s: string, st: string) {
    this.typings.push([s, st]);
  }
  mark(s: string, k: string, seq: number) {
    this.marks.push([s, k, seq]);
  }
  watch(ids: string[]) {
    this.watched.push(ids);
  }
  emit(e: SocketEvent) {
    if (e.type === 'status') this.status = e.status;
    for (const l of [...this.listeners]) l(e);
  }
  event(seq: number, body: StreamEvent['event']) {
    this.emit({ type: 'event', event: { seq, ts: 0, event: body } });
  }
}

async function signedIn(apiOver: Partial<Api> = {}, hidden = false, workspace: WorkspaceStorage | null = null) {
  const clock = new FakeClock();
  const { fx, calls } = fakeEffects(clock, hidden);
  const api = fakeApi(apiOver);
  const socket = new FakeSocket();
  const model = new AppModel(api, socket, fx, null, workspace);
  await model.init();
  socket.emit({ type: 'status', status: 'open' });
  return { model, api, socket, clock, fx, calls };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('AppModel: authentication', () => {
  it('shows sign-in when GET /me answers 401', async () => {
    const clock = new FakeClock();
    const model = new AppModel(
      fakeApi({ me: vi.fn(async () => Promise.reject(new ApiError(401, 'unauthenticated', 'no'))) }),
      new FakeSocket(),
      fakeEffects(clock).fx,
    );
    await model.init();
    expect(model.state.phase).toBe('signed_out');
    expect(model.state.notice).toBeNull();
  });

  it('loads the workspace and connects from the head of /me', async () => {
    const { model, socket, api } = await signedIn({ sessions: vi.fn(async () => [makeSession()]) });
    expect(model.state.phase).toBe('signed_in');
    expect(socket.start).toHaveBeenCalledWith(10);
    expect(Object.keys(model.state.sessions)).toEqual(['s1']);
    expect(api.directory).toHaveBeenCalled();
  });

  it('signs in and reports wrong credentials clearly', async () => {
    const clock = new FakeClock();
    const api = fakeApi({
      me: vi.fn(async () => Promise.reject(new ApiError(401, 'unauthenticated', 'no'))),
      signIn: vi.fn(async () => Promise.reject(new ApiError(401, 'invalid_credentials', 'bad'))),
    });
    const model = new AppModel(api, new FakeSocket(), fakeEffects(clock).fx);
    await model.init();
    await model.signIn('bob', 'wrong');
    expect(model.state.signInError).toMatch(/wrong/);
    expect(model.state.phase).toBe('signed_out');
  });

  it('trades the identity provider\'s one-time code for a session and keeps the sign-in methods', async () => {
    const clock = new FakeClock();
    const methods = { passwords: false, sso: { display_name: 'Corp IdP', start_url: '/api/v1/auth/oidc/start' } };
    const api = fakeApi({
      me: vi.fn(async () => Promise.reject(new ApiError(401, 'unauthenticated', 'no'))),
      signInMethods: vi.fn(async () => methods),
      ssoFinish: vi.fn(async () => ({ token: 't', expires_at: 0, me: makeMe({ username: 'ines' }) })),
    });
    const socket = new FakeSocket();
    const model = new AppModel(api, socket, fakeEffects(clock).fx);
    await model.init({ code: 'one-time' });
    expect(api.ssoFinish).toHaveBeenCalledWith('one-time');
    expect(api.me).not.toHaveBeenCalled();
    expect(model.state.phase).toBe('signed_in');
    expect(model.state.me?.username).toBe('ines');
    expect(socket.start).toHaveBeenCalled();
    await flush();
    await model.signOut();
    expect(model.state.signInMethods).toEqual(methods);
  });

  it('shows why the identity provider\'s sign-in was refused', async () => {
    const clock = new FakeClock();
    const api = fakeApi({
      ssoFinish: vi.fn(async () => Promise.reject(new ApiError(400, 'sso_state_invalid', 'this sign-in code was already used'))),
    });
    const refused = new AppModel(api, new FakeSocket(), fakeEffects(clock).fx);
    await refused.init({ error: 'sso_not_permitted', message: 'ines may not sign in' });
    expect(refused.state.phase).toBe('signed_out');
    expect(refused.state.signInError).toBe('Your identity provider account may not use Backline: ines may not sign in');
    const replayed = new AppModel(api, new FakeSocket(), fakeEffects(clock).fx);
    await replayed.init({ code: 'used' });
    expect(replayed.state.phase).toBe('signed_out');
    expect(replayed.state.signInError).toMatch(/already used: sign in again/);
  });

  it('returns to sign-in with a message when the socket closes with 4001', async () => {
    const { model, socket } = await signedIn();
    socket.emit({ type: 'expired', reason: 'session_expired' });
    expect(model.state.phase).toBe('signed_out');
    expect(model.state.notice).toBe(EXPIRED_NOTICE);
    expect(socket.stop).toHaveBeenCalled();
  });

  it('returns to sign-in when REST answers 401 session_expired', async () => {
    const { model, api } = await signedIn();
    api.onUnauthorized?.(new ApiError(401, 'session_expired', 'expired'));
    expect(model.state.phase).toBe('signed_out');
    expect(model.state.notice).toBe(EXPIRED_NOTICE);
  });

  it('signs out', async () => {
    const { model, api, socket } = await signedIn();
    await model.signOut();
    expect(api.signOut).toHaveBeenCalled();
    expect(socket.stop).toHaveBeenCalled();
    expect(model.state.phase).toBe('signed_out');
  });
});

describe('AppModel: invitations', () => {
  it('shows an interactive notification with sound for a new invitation, then dismisses it after 30 s', async () => {
    const { model, socket, clock, calls } = await signedIn();
    socket.event(11, { kind: 'session', session: makeSession({ last_message: entry('s1', 2, { text: 'Can you help?' }) }) });
    expect(model.state.notifications.map((n) => n.session_id)).toEqual(['s1']);
    expect(calls.beeps).toBe(1);
    expect(calls.notifications).toHaveLength(0); // page visible
    expect(model.state.announcement?.text).toMatch(/invitation from Alice Agent: Can you help\?/);
    clock.advance(INVITE_NOTICE_MS);
    expect(model.state.notifications).toHaveLength(0);
    // still pending in the workspace (task bar)
    expect(model.state.sessions.s1).toBeDefined();
  });

  it('uses a browser notification when the page is hidden', async () => {
    const { socket, calls } = await signedIn({}, true);
    socket.event(11, { kind: 'session', session: makeSession() });
    expect(calls.notifications).toHaveLength(1);
    expect(calls.notifications[0].title).toMatch(/Alice Agent/);
  });

  it('dismisses the notification when the server times the invitation out, keeping it pending', async () => {
    const { model, socket } = await signedIn();
    const s = makeSession();
    socket.event(11, { kind: 'session', session: s });
    const timedOut = makeSession({
      last_seq: 3,
      participants: s.participants.map((p) => (p.user_id === 'u-bob' ? { ...p, invite_timed_out: true } : p)),
    });
    socket.event(12, { kind: 'session', session: timedOut });
    expect(model.state.notifications).toHaveLength(0);
    expect(model.state.sessions.s1.participants[1].state).toBe('invited');
  });

  it('accepts later from the task bar and opens the window', async () => {
    const { model, socket, api } = await signedIn();
    socket.event(11, { kind: 'session', session: makeSession() });
    await model.accept('s1');
    expect(api.accept).toHaveBeenCalledWith('s1');
    expect(model.state.openWindows).toEqual(['s1']);
    expect(model.state.sessions.s1.state).toBe('connected');
  });

  it('rejects', async () => {
    const { model, socket, api } = await signedIn();
    socket.event(11, { kind: 'session', session: makeSession() });
    await model.reject('s1');
    expect(api.reject).toHaveBeenCalledWith('s1');
    expect(model.state.notifications).toHaveLength(0);
  });

  it('a rejected invitation leaves the workspace, even when the answer comes after the stream events', async () => {
    let answer: (s: SessionView) => void = () => undefined;
    const { model, socket } = await signedIn({ reject: vi.fn(() => new Promise<SessionView>((r) => (answer = r))) });
    socket.event(11, { kind: 'session', session: makeSession({ unread: 1 }) });
    const rejecting = model.reject('s1');
    const ended = makeSession({ state: 'ended', unread: 1 });
    ended.participants[1] = { ...ended.participants[1], state: 'rejected' };
    socket.event(12, { kind: 'session', session: ended });
    socket.event(13, { kind: 'session_removed', session_id: 's1' });
    answer(ended);
    await rejecting;
    expect(model.state.sessions.s1).toBeUndefined();
    expect(taskbarItems(model.state)).toEqual([]);
    // nor does a late replay of the session bring it back
    socket.event(14, { kind: 'session', session: { ...ended, last_seq: 9 } });
    expect(taskbarItems(model.state)).toEqual([]);
  });

  it('an invitation the initiator cancelled leaves the workspace by itself', async () => {
    const { model, socket } = await signedIn();
    socket.event(11, { kind: 'session', session: makeSession({ unread: 1 }) });
    expect(taskbarItems(model.state)).toHaveLength(1);
    const cancelled = makeSession({ state: 'ended', unread: 1, last_seq: 4 });
    cancelled.participants[1] = { ...cancelled.participants[1], state: 'cancelled' };
    socket.event(12, { kind: 'session', session: cancelled });
    socket.event(13, { kind: 'transcript', session_id: 's1', entry: entry('s1', 3, { kind: 'cancelled', text: null }) });
    socket.event(14, { kind: 'session_removed', session_id: 's1' });
    expect(taskbarItems(model.state)).toEqual([]);
    expect(model.state.notifications).toEqual([]);
  });

  it('does not notify again for an invitation already known (replay after reconnect)', async () => {
    const { model, socket, calls, clock } = await signedIn();
    socket.event(11, { kind: 'session', session: makeSession() });
    clock.advance(INVITE_NOTICE_MS);
    socket.event(12, { kind: 'session', session: makeSession() });
    expect(calls.beeps).toBe(1);
    expect(model.state.notifications).toHaveLength(0);
  });
});

describe('AppModel: messages', () => {
  async function connected() {
    const t = await signedIn({
      sessions: vi.fn(async () => [makeSession({ last_seq: 3 }, 'joined')]),
      transcript: vi.fn(async () => ({ entries: [entry('s1', 1, { kind: 'invited', text: null }), entry('s1', 2), entry('s1', 3)], has_more: true })),
    });
    t.model.openWindow('s1');
    await flush();
    return t;
  }

  it('loads the latest transcript page when a window opens and marks it read', async () => {
    const { model, api, socket } = await connected();
    expect(api.transcript).toHaveBeenCalledWith('s1', { before: 4, limit: 50 });
    expect(model.state.transcripts.s1.entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(socket.marks).toContainEqual(['s1', 'read', 3]);
  });

  it('shows a redacted message in place, live, with who redacted it', async () => {
    const { model, socket } = await connected();
    const redacted = entry('s1', 2, { text: '', redacted_by: 'u-ada', redacted_by_name: 'Ada Admin', redacted_at: 1_700_000_100_000 });
    socket.event(11, { kind: 'transcript_redacted', session_id: 's1', entry: redacted });
    const entries = model.state.transcripts.s1.entries;
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(entries[1]).toMatchObject({ text: '', redacted_by_name: 'Ada Admin' });
    const rows = buildTranscriptRows(entries, [], model.state.sessions.s1, 'u-bob', 'Bob Builder');
    const row = rows.find((r) => r.kind === 'message' && r.seq === 2);
    expect(row).toMatchObject({ text: 'Message redacted by Ada Admin', redacted: true });
    expect(rows.find((r) => r.kind === 'message' && r.seq === 3)).toMatchObject({ text: 'message 3', redacted: false });
  });

  it('de-duplicates transcript entries by seq', async () => {
    const { model, socket } = await connected();
    socket.event(11, { kind: 'transcript', session_id: 's1', entry: entry('s1', 3) });
    socket.event(12, { kind: 'transcript', session_id: 's1', entry: entry('s1', 4) });
    socket.event(13, { kind: 'transcript', session_id: 's1', entry: entry('s1', 4) });
    expect(model.state.transcripts.s1.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it('marks incoming messages delivered and read when visible', async () => {
    const { socket } = await connected();
    socket.event(11, { kind: 'transcript', session_id: 's1', entry: entry('s1', 4) });
    expect(socket.marks).toContainEqual(['s1', 'delivered', 4]);
    expect(socket.marks).toContainEqual(['s1', 'read', 4]);
  });

  it('counts unread for sessions whose window is not open', async () => {
    const { model, socket } = await connected();
    model.minimizeWindow('s1');
    socket.event(11, { kind: 'transcript', session_id: 's1', entry: entry('s1', 4) });
    socket.event(12, { kind: 'transcript', session_id: 's1', entry: entry('s1', 5) });
    expect(model.state.sessions.s1.unread).toBe(2);
    model.openWindow('s1');
    expect(model.state.sessions.s1.unread).toBe(0);
  });

  it('shows a sent message as pending until acknowledged, then as a transcript entry', async () => {
    const { model, socket } = await connected();
    model.send('s1', 'hello there');
    expect(model.state.pending.s1).toHaveLength(1);
    const send = socket.sends[0];
    send.resolve({ session_id: 's1', client_msg_id: send.client_msg_id, seq: 4, ts: 9, duplicate: false });
    await flush();
    expect(model.state.pending.s1).toHaveLength(0);
    const last = model.state.transcripts.s1.entries.at(-1)!;
    expect(last).toMatchObject({ seq: 4, text: 'hello there', actor_id: 'u-bob' });
    // the same entry from the stream is not added twice
    socket.event(11, { kind: 'transcript', session_id: 's1', entry: { ...last, ts: 9 } });
    expect(model.state.transcripts.s1.entries.filter((e) => e.seq === 4)).toHaveLength(1);
  });

  it('removes a pending message when its entry arrives before the ack', async () => {
    const { model, socket } = await connected();
    model.send('s1', 'quick');
    const cid = socket.sends[0].client_msg_id;
    socket.event(11, { kind: 'transcript', session_id: 's1', entry: entry('s1', 4, { actor_id: 'u-bob', actor_name: 'Bob Builder', text: 'quick', client_msg_id: cid }) });
    expect(model.state.pending.s1).toHaveLength(0);
  });

  it('marks a refused message as failed', async () => {
    const { model, socket } = await connected();
    model.send('s1', 'late');
    socket.sends[0].reject(new ApiError(409, 'session_ended', 'The session has ended'));
    await flush();
    expect(model.state.pending.s1[0]).toMatchObject({ state: 'failed', error: 'The session has ended' });
  });

  it('offers a failed message again with the same client_msg_id, or discards it', async () => {
    const { model, socket } = await connected();
    model.send('s1', 'bad\u0000text');
    const cid = socket.sends[0].client_msg_id;
    socket.sends[0].reject(new SendError('invalid_request', 'text must not contain NUL characters'));
    await flush();
    expect(model.state.pending.s1[0]).toMatchObject({ state: 'failed', error: 'text must not contain NUL characters' });
    expect(model.state.announcement?.text).toBe('Message not sent: text must not contain NUL characters');
    // nothing is resent by itself
    expect(socket.sends).toHaveLength(1);
    model.retryPending('s1', cid);
    expect(model.state.pending.s1[0]).toMatchObject({ state: 'queued' });
    expect(socket.sends).toHaveLength(2);
    expect(socket.sends[1]).toMatchObject({ client_msg_id: cid, text: 'bad\u0000text' });
    socket.sends[1].reject(new SendError('unavailable', 'the store is unavailable'));
    await flush();
    expect(model.state.pending.s1[0].error).toContain('the store is unavailable');
    model.discardPending('s1', cid);
    expect(model.state.pending.s1).toHaveLength(0);
  });

  it('fills a transcript gap over REST', async () => {
    const { api, socket } = await connected();
    socket.event(11, { kind: 'transcript', session_id: 's1', entry: entry('s1', 6) });
    expect(api.transcript).toHaveBeenLastCalledWith('s1', { after: 3, limit: 500 });
  });

  it('loads older entries on demand', async () => {
    const { model, api } = await connected();
    (api.transcript as ReturnType<typeof vi.fn>).mockResolvedValueOnce({ entries: [], has_more: false });
    await model.loadOlder('s1');
    expect(api.transcript).toHaveBeenLastCalledWith('s1', { before: 1, limit: 50 });
    expect(model.state.transcripts.s1.hasMore).toBe(false);
  });

  it('shows typing from others and hides it when their message arrives', async () => {
    const { model, socket } = await connected();
    socket.emit({ type: 'typing', session_id: 's1', user_id: 'u-alice', state: 'composing' });
    expect(model.state.typing.s1['u-alice']).toBeGreaterThan(0);
    socket.event(11, { kind: 'transcript', session_id: 's1', entry: entry('s1', 4) });
    expect(model.state.typing.s1['u-alice']).toBe(0);
  });

  it('Done removes the session from the workspace', async () => {
    const { model, api } = await connected();
    await model.done('s1');
    expect(api.done).toHaveBeenCalledWith('s1');
    expect(model.state.sessions.s1).toBeUndefined();
    expect(model.state.openWindows).toEqual([]);
  });

  it('session_removed from another tab closes the window', async () => {
    const { model, socket } = await connected();
    socket.event(11, { kind: 'session_removed', session_id: 's1' });
    expect(model.state.openWindows).toEqual([]);
  });

  it('does not roll a session back to an older replayed snapshot', async () => {
    const { model, socket } = await connected();
    socket.event(11, { kind: 'session', session: makeSession({ state: 'ended', last_seq: 5 }, 'joined') });
    socket.event(12, { kind: 'session', session: makeSession({ state: 'connected', last_seq: 4 }, 'joined') });
    expect(model.state.sessions.s1.state).toBe('ended');
  });
});

describe('AppModel: main window', () => {
  it('starts an IM and opens its window', async () => {
    const { model, api } = await signedIn();
    const id = await model.startIm('u-carol');
    expect(api.createSession).toHaveBeenCalledWith(expect.objectContaining({ target_id: 'u-carol', defer_invite: false }));
    expect(id).toBe('new');
    expect(model.state.openWindows).toEqual(['new']);
  });

  it('watches the user ids displayed in the Team Communicator and applies presence', async () => {
    const dirEntry = {
      kind: 'user' as const,
      id: 'u-carol',
      display_name: 'Carol',
      username: 'carol',
      groups: [],
      status: 'ready' as const,
      reason: null,
      member_count: null,
      favourite: false,
      unavailable: [],
      actions: ['send_im' as const, 'add_favourite' as const],
    };
    const { model, socket } = await signedIn({ directory: vi.fn(async () => ({ entries: [dirEntry], active_consultations: [], preselected: null })) });
    await flush();
    expect(socket.watched.at(-1)).toEqual(['u-carol']);
    socket.emit({ type: 'presence', presence: { user_id: 'u-carol', status: 'away', reason: null } });
    expect(model.state.presence['u-carol'].status).toBe('away');
    await model.toggleFavourite(model.state.directory.entries[0]);
    expect(model.state.directory.entries[0]).toMatchObject({ favourite: true, actions: ['send_im', 'remove_favourite'] });
  });

  it('sets status and zoom, and applies changes made in another tab', async () => {
    const { model, socket, api } = await signedIn();
    await model.setStatus('not_ready', 'lunch');
    expect(api.setStatus).toHaveBeenCalledWith({ status: 'not_ready', reason: 'lunch' });
    expect(model.state.me?.status).toBe('not_ready');
    model.zoomStep(1);
    await flush();
    expect(api.setZoom).toHaveBeenCalledWith(110);
    socket.event(11, { kind: 'preferences', zoom: 150 });
    expect(model.state.me?.preferences.zoom).toBe(150);
    socket.event(12, { kind: 'status', status: 'away', reason: null });
    expect(model.state.me?.status).toBe('away');
  });

  it('reloads sessions over REST after a resume gap', async () => {
    const { api, socket } = await signedIn();
    socket.emit({ type: 'resume_gap', oldest: 5, head: 50 });
    expect(api.sessions).toHaveBeenCalledTimes(2);
  });

  it('drops and reconnects the socket with the browser offline/online events', async () => {
    const { model, socket } = await signedIn();
    model.browserOnline(false);
    expect(socket.drop).toHaveBeenCalled();
    model.browserOnline(true);
    expect(socket.reconnectNow).toHaveBeenCalled();
  });
});

describe('AppModel: interactions', () => {
  it('loads interactions on sign-in and applies live interaction events (add, update, end)', async () => {
    const { model, socket, api } = await signedIn({ interactions: vi.fn(async () => [makeInteraction()]) });
    expect(api.interactions).toHaveBeenCalled();
    expect(Object.keys(model.state.interactions)).toEqual(['i1']);
    socket.event(11, { kind: 'interaction', interaction: makeInteraction({ id: 'i2', media: 'chat', contact_name: 'Sam Lee', subject: 'Order' }) });
    expect(Object.keys(model.state.interactions).sort()).toEqual(['i1', 'i2']);
    expect(model.state.announcement?.text).toBe('New chat interaction: Sam Lee, Order');
    socket.event(12, { kind: 'interaction', interaction: makeInteraction({ subject: 'Billing question (updated)' }) });
    expect(model.state.interactions.i1.subject).toBe('Billing question (updated)');
    socket.event(13, { kind: 'interaction', interaction: makeInteraction({ state: 'ended', outcome: 'Resolved', ended_at: 5 }) });
    expect(model.state.interactions.i1.state).toBe('ended');
    expect(model.state.announcement?.text).toBe('Voice interaction with Jane Doe: Ended');
  });

  it('shows one interaction at a time with its consultations; the rest waits in the task bar', async () => {
    const consult = makeSession({ id: 'k1', parent_interaction_id: 'i1', created_by: 'u-bob', state: 'not_connected' }, 'joined');
    const im = makeSession({ id: 's1' }, 'joined');
    const { model } = await signedIn({
      interactions: vi.fn(async () => [makeInteraction(), makeInteraction({ id: 'i2', media: 'chat', contact_name: 'Sam Lee', subject: 'Order' })]),
      sessions: vi.fn(async () => [consult, im]),
    });
    model.openInteraction('i1');
    expect(model.state).toMatchObject({ openInteractions: ['i1'], openWindows: ['k1'], focus: 'i1' });
    model.openInteraction('i2');
    expect(model.state).toMatchObject({ openInteractions: ['i2'], openWindows: [], focus: 'i2' });
    // a consultation brings its interaction with it
    model.openWindow('k1');
    expect(model.state).toMatchObject({ openInteractions: ['i1'], openWindows: ['k1'], focus: 'k1' });
    model.openWindow('s1');
    expect(model.state).toMatchObject({ openInteractions: [], openWindows: ['s1'], focus: 's1' });
    expect(taskbarItems(model.state).filter((t) => t.open).map((t) => t.id)).toEqual(['s1']);
    model.openInteraction('i1');
    model.minimizeInteraction('i1');
    expect(model.state).toMatchObject({ openInteractions: [], openWindows: [], focus: null });
  });

  it('keeps the workspace (open windows, focus, drafts) across a reload and shares it with a second tab', async () => {
    const backend = memoryWorkspaceBackend();
    const consult = makeSession({ id: 'k1', parent_interaction_id: 'i1', created_by: 'u-bob', state: 'not_connected' }, 'joined');
    const over = {
      interactions: vi.fn(async () => [makeInteraction(), makeInteraction({ id: 'i2', media: 'chat', contact_name: 'Sam Lee', subject: 'Order' })]),
      sessions: vi.fn(async () => [consult, makeSession({ id: 's1' }, 'joined')]),
    };
    const first = await signedIn(over, false, backend.tab());
    first.model.openWindow('k1');
    first.model.setDraft('k1', 'typed, not sent');
    first.model.showSoftphone(true);
    // the reload: a new model on the same storage
    const reloaded = await signedIn(over, false, backend.tab());
    expect(reloaded.model.state).toMatchObject({ openInteractions: ['i1'], openWindows: ['k1'], focus: 'k1', drafts: { k1: 'typed, not sent' } });
    expect(reloaded.model.state.voice.softphoneOpen).toBe(true);
    // the first tab follows the second
    reloaded.model.openInteraction('i2');
    expect(first.model.state).toMatchObject({ openInteractions: ['i2'], openWindows: [], focus: 'i2' });
    // sending clears the draft
    reloaded.model.send('k1', 'typed, not sent');
    expect(first.model.state.drafts).toEqual({});
    // no secrets: ids, texts and flags only
    const stored = [...backend.raw.values()][0];
    expect(Object.keys(JSON.parse(stored) as object).sort()).toEqual(['drafts', 'focus', 'openInteractions', 'openWindows', 'softphoneOpen', 'v']);
    expect(stored).not.toContain('token');
  });

  it('ignores a stored workspace of another schema or malformed', () => {
    expect(parseWorkspace('{"v":2,"openWindows":["s1"]}')).toBeNull();
    expect(parseWorkspace('not json')).toBeNull();
    expect(parseWorkspace('{"v":1,"openWindows":[1,"s1"],"drafts":{"s1":5,"s2":"hi"},"focus":3}')).toEqual({
      openInteractions: [],
      openWindows: ['s1'],
      focus: null,
      drafts: { s2: 'hi' },
      softphoneOpen: false,
    });
  });

  it('opens an interaction window with its contact and history, and Done removes it', async () => {
    const { model, api } = await signedIn({ interactions: vi.fn(async () => [makeInteraction({ state: 'ended' })]) });
    model.openInteraction('i1');
    await flush();
    expect(model.state.openInteractions).toEqual(['i1']);
    expect(api.contact).toHaveBeenCalledWith('i1');
    expect(api.history).toHaveBeenCalledWith('i1', { limit: 100 });
    expect(model.state.details.i1.contact.data?.first_name).toBe('Jane');
    expect(model.state.details.i1.history.data).toHaveLength(1);
    // opening again does not reload
    model.openInteraction('i1');
    await flush();
    expect(api.contact).toHaveBeenCalledTimes(1);
    await model.interactionDone('i1');
    expect(api.interactionDone).toHaveBeenCalledWith('i1');
    expect(model.state.interactions.i1).toBeUndefined();
    expect(model.state.openInteractions).toEqual([]);
  });

  it('keeps the interaction when Done fails, and says why', async () => {
    const { model } = await signedIn({
      interactions: vi.fn(async () => [makeInteraction()]),
      interactionDone: vi.fn(async () => Promise.reject(new ApiError(409, 'invalid_state', 'still active'))),
    });
    await model.interactionDone('i1');
    expect(model.state.interactions.i1).toBeDefined();
    expect(model.state.errors['interaction:i1']).toMatch(/still active/);
  });

  it('searches the history after a pause, with the advanced fields at once, the latest answer winning', async () => {
    const { model, api, clock } = await signedIn({ interactions: vi.fn(async () => [makeInteraction()]) });
    model.openInteraction('i1');
    await flush();
    model.setHistoryQuery('i1', { q: 'ref' });
    model.setHistoryQuery('i1', { q: 'refund' });
    expect(api.history).toHaveBeenCalledTimes(1);
    clock.advance(300);
    await flush();
    expect(api.history).toHaveBeenLastCalledWith('i1', { q: 'refund', limit: 100 });
    expect(api.history).toHaveBeenCalledTimes(2);
    expect(model.state.details.i1.historyShown.q).toBe('refund');
    model.setHistoryQuery('i1', { media: 'email', agent: 'u-carol' }, { immediate: true });
    await flush();
    expect(api.history).toHaveBeenLastCalledWith('i1', { q: 'refund', media: 'email', agent: 'u-carol', limit: 100 });
  });

  it('reports a contact-less interaction and a history error per tab', async () => {
    const { model } = await signedIn({
      interactions: vi.fn(async () => [makeInteraction({ contact_id: null, contact_name: null })]),
      contact: vi.fn(async () => Promise.reject(new ApiError(404, 'contact_not_found', 'none'))),
      history: vi.fn(async () => Promise.reject(new ApiError(503, 'unavailable', 'down'))),
    });
    model.openInteraction('i1');
    await flush();
    expect(model.state.details.i1.contact).toMatchObject({ status: 'error', code: 'contact_not_found' });
    expect(model.state.details.i1.history).toMatchObject({ status: 'error', code: 'unavailable' });
  });
});

describe('AppModel: consultations', () => {
  const bobEntry = {
    kind: 'user' as const,
    id: 'u-carol',
    display_name: 'Carol Agent',
    username: 'carol',
    groups: [],
    status: 'ready' as const,
    reason: null,
    member_count: null,
    favourite: false,
    unavailable: [],
    actions: ['start_im_consultation' as const, 'add_favourite' as const],
  };

  it('Start Consultation opens the Team Communicator in the interaction context with Active Consultations and the pre-selection', async () => {
    const directory = vi.fn(async (_q: string, _f: string, _l?: number, iid?: string) =>
      iid
        ? { entries: [bobEntry], active_consultations: [bobEntry], preselected: 'u-carol' }
        : { entries: [], active_consultations: [], preselected: null },
    );
    const { model, socket, clock } = await signedIn({ interactions: vi.fn(async () => [makeInteraction()]), directory });
    model.startConsultation('i1');
    expect(model.state.directory.interactionId).toBe('i1');
    expect(model.state.directory.focusRequest).toBe(1);
    await flush();
    expect(directory).toHaveBeenLastCalledWith('', 'all', 50, 'i1');
    expect(model.state.directory.activeConsultations.map((e) => e.id)).toEqual(['u-carol']);
    expect(model.state.directory.preselected).toBe('u-carol');
    expect(socket.watched.at(-1)).toEqual(['u-carol']);
    // typing a search keeps the context but asks the server again
    model.search('ca');
    clock.advance(200);
    await flush();
    expect(directory).toHaveBeenLastCalledWith('ca', 'all', 50, 'i1');
    // leaving the context: plain directory again
    model.leaveConsultationContext();
    await flush();
    expect(model.state.directory.interactionId).toBeNull();
    expect(directory).toHaveBeenLastCalledWith('ca', 'all', 50);
    expect(model.state.directory.activeConsultations).toEqual([]);
  });

  it('Start Instant Message Consultation creates a deferred session about the interaction, Not Connected', async () => {
    const created = makeSession({ id: 'c1', created_by: 'u-bob', state: 'not_connected', parent_interaction_id: 'i1', last_seq: 0 });
    created.participants = [
      { ...created.participants[1], role: 'initiator', state: 'joined' },
      { ...created.participants[0], user_id: 'u-carol', display_name: 'Carol Agent', role: 'invitee', state: 'not_invited' },
    ];
    const createSession = vi.fn(async () => created);
    const { model, api } = await signedIn({ interactions: vi.fn(async () => [makeInteraction()]), createSession });
    model.startConsultation('i1');
    const id = await model.startImConsultation('u-carol');
    expect(id).toBe('c1');
    const req = (createSession.mock.calls[0] as unknown as [Record<string, unknown>])[0];
    expect(req).toMatchObject({ target_id: 'u-carol', parent_interaction_id: 'i1', defer_invite: true });
    expect(typeof req.client_id).toBe('string');
    expect(model.state.openWindows).toEqual(['c1']);
    expect(model.state.sessions.c1.state).toBe('not_connected');
    // the same target again opens the same window
    expect(await model.startImConsultation('u-carol')).toBe('c1');
    expect(createSession).toHaveBeenCalledTimes(1);
    // Done before sending cancels without inviting
    await model.done('c1');
    expect(api.done).toHaveBeenCalledWith('c1');
    expect(model.state.sessions.c1).toBeUndefined();
  });

  it('the target loads the shared interaction after accepting; not_shared is kept as a state, not a crash', async () => {
    const invite = makeSession({ id: 'c1', parent_interaction_id: 'i9' });
    const interaction = vi
      .fn<Api['interaction']>()
      .mockRejectedValueOnce(new ApiError(403, 'not_shared', 'not shared'))
      .mockResolvedValue(makeInteraction({ id: 'i9', read_only: true, agent_id: 'u-alice' }));
    const { model, socket, api } = await signedIn({
      interaction,
      accept: vi.fn(async () => makeSession({ id: 'c1', parent_interaction_id: 'i9' }, 'joined')),
    });
    socket.event(11, { kind: 'session', session: invite });
    // an early attempt (e.g. another tab) is refused
    await model.loadDetails('i9', { view: true });
    expect(model.state.details.i9.view).toMatchObject({ status: 'error', code: 'not_shared' });
    await model.accept('c1');
    await flush();
    expect(api.interaction).toHaveBeenCalledTimes(2);
    expect(model.state.details.i9.view.status).toBe('ready');
    expect(model.state.details.i9.view.data?.read_only).toBe(true);
    expect(api.contact).toHaveBeenCalledWith('i9');
    expect(api.history).toHaveBeenCalledWith('i9', { limit: 100 });
  });

  it('refreshes the shown history when a consultation about the interaction ends', async () => {
    const { model, socket, api } = await signedIn({ interactions: vi.fn(async () => [makeInteraction()]) });
    model.openInteraction('i1');
    await flush();
    const s = makeSession({ id: 'c1', created_by: 'u-bob', parent_interaction_id: 'i1' }, 'joined');
    socket.event(11, { kind: 'session', session: s });
    await flush();
    const before = (api.history as ReturnType<typeof vi.fn>).mock.calls.length;
    socket.event(12, { kind: 'session', session: { ...s, state: 'ended', last_seq: 5 } });
    await flush();
    expect((api.history as ReturnType<typeof vi.fn>).mock.calls.length).toBe(before + 1);
  });
});

describe('AppModel: group consultations', () => {
  const offer = (over: Partial<NonNullable<SessionView['offer']>> = {}): NonNullable<SessionView['offer']> => ({
    group_id: 'g1',
    group_name: 'Technical Support',
    state: 'open',
    stage: 'members',
    wave: 1,
    offered: 1,
    declined: 0,
    started_at: 1_700_000_000_000,
    wave_expires_at: 1_700_000_030_000,
    taken_by: null,
    taken_by_name: null,
    taken_at: null,
    escalated_at: null,
    ...over,
  });

  it('shows a group invitation, then withdraws it with who took it', async () => {
    const { model, socket } = await signedIn();
    socket.event(11, { kind: 'session', session: makeSession({ offer: offer(), last_message: entry('s1', 1, { text: 'who knows routers?' }) }) });
    expect(invitationCardsOf(model)).toEqual([expect.objectContaining({ group: 'Technical Support', message: 'who knows routers?' })]);
    const withdrawn = makeSession({ offer: offer({ state: 'taken', taken_by: 'u-dave', taken_by_name: 'Dave Durand' }), last_seq: 3 });
    withdrawn.participants[1] = { ...withdrawn.participants[1], state: 'cancelled' };
    socket.event(12, { kind: 'session', session: withdrawn });
    expect(model.state.sessions.s1).toBeUndefined();
    expect(model.state.notifications).toEqual([]);
    expect(model.state.withdrawn).toEqual([{ session_id: 's1', group: 'Technical Support', text: 'Taken by Dave Durand' }]);
    // a replayed older view does not bring it back
    socket.event(11, { kind: 'session', session: makeSession({ offer: offer() }) });
    expect(model.state.sessions.s1).toBeUndefined();
    model.dismissWithdrawn('s1');
    expect(model.state.withdrawn).toEqual([]);
  });

  it('an accept that came second says who took it', async () => {
    const accept = vi.fn(async () => Promise.reject(new ApiError(409, 'offer_taken', 'Erin Éclair accepted this consultation first')));
    const { model, socket } = await signedIn({ accept });
    socket.event(11, { kind: 'session', session: makeSession({ offer: offer() }) });
    await model.accept('s1');
    expect(model.state.sessions.s1).toBeUndefined();
    expect(model.state.withdrawn[0].text).toBe('Taken by Erin Éclair');
    expect(model.state.errors.s1).toBeUndefined();
  });

  it('offers a group consultation with its first message', async () => {
    const createSession = vi.fn(async () => makeSession({ id: 'g-s', created_by: 'u-bob', offer: offer() }, 'joined'));
    const { model, api } = await signedIn({ createSession });
    model.composeGroupConsultation('g1', 'Technical Support');
    expect(model.state.groupCompose).toEqual({ id: 'g1', name: 'Technical Support', interactionId: null });
    await model.startGroupConsultation('anyone free?');
    expect(api.createSession).toHaveBeenCalledWith(
      expect.objectContaining({ target_id: 'g1', defer_invite: false, first_message: expect.objectContaining({ text: 'anyone free?' }) }),
    );
    expect(model.state.groupCompose).toBeNull();
    expect(model.state.openWindows).toContain('g-s');
  });
});

function invitationCardsOf(model: AppModel) {
  return invitationCards(model.state);
}

describe('AppModel: supervision', () => {
  const boardOf = (consultations: number) => ({
    groups: [{ id: 'g1', name: 'Technical Support', members: [{ user_id: 'u-dave', display_name: 'Dave Durand', status: 'ready' as const, reason: null }] }],
    consultations: Array.from({ length: consultations }, (_, i) => ({
      session: makeSession({ id: `c${i}`, parent_interaction_id: 'i1' }),
      interaction_subject: 'Damaged kettle',
      waiting_since: 1,
      connected_since: null,
      on_hold_since: null,
    })),
  });

  it('reads the board at sign-in and watches its members', async () => {
    const supervisionBoard = vi.fn(async () => boardOf(0));
    const { model, socket } = await signedIn({ supervisionBoard });
    await flush();
    expect(supervisionBoard).toHaveBeenCalledTimes(1);
    expect(model.state.supervision.board?.groups[0].name).toBe('Technical Support');
    expect(socket.watched.at(-1)).toContain('u-dave');
  });

  it('reads the board again on board_changed, once more for a burst that came during a read', async () => {
    let release: (() => void) | null = null;
    let reads = 0;
    const supervisionBoard = vi.fn(async () => {
      reads += 1;
      if (reads === 2) await new Promise<void>((r) => (release = r));
      return boardOf(reads);
    });
    const { model, socket } = await signedIn({ supervisionBoard });
    await flush();
    socket.event(11, { kind: 'board_changed', group_ids: ['g1'] });
    await flush();
    socket.event(12, { kind: 'board_changed', group_ids: ['g1'] });
    socket.event(13, { kind: 'board_changed', group_ids: ['g1'] });
    socket.event(14, { kind: 'board_changed', group_ids: ['g1'] });
    expect(supervisionBoard).toHaveBeenCalledTimes(2);
    release!();
    await flush();
    await flush();
    expect(supervisionBoard).toHaveBeenCalledTimes(3);
    expect(model.state.supervision.board?.consultations).toHaveLength(3);
  });

  it('joins from the board: the window opens and the page gives way to the workspace', async () => {
    const joined = makeSession({ id: 'c1', parent_interaction_id: 'i9' }, 'joined');
    const joinSession = vi.fn(async () => joined);
    const { model } = await signedIn({ supervisionBoard: vi.fn(async () => boardOf(1)), joinSession });
    await flush();
    model.showSupervision(true);
    expect(model.state.supervision.open).toBe(true);
    await model.joinAsSupervisor('c1');
    expect(joinSession).toHaveBeenCalledWith('c1');
    expect(model.state.supervision.open).toBe(false);
    expect(model.state.openWindows).toContain('c1');
  });

  it('says why a join was refused', async () => {
    const joinSession = vi.fn(async () => Promise.reject(new ApiError(403, 'forbidden', 'only a supervisor of its groups')));
    const { model } = await signedIn({ supervisionBoard: vi.fn(async () => boardOf(1)), joinSession });
    await model.joinAsSupervisor('c1');
    expect(model.state.supervision.error).toBe('Could not join: only a supervisor of its groups');
  });

  it('whispers to the chosen participant and shows a refusal in the window', async () => {
    const whisper = vi.fn(async () => ({ session_id: 's1', client_msg_id: 'x', seq: 3, ts: 0, duplicate: false }));
    const { model } = await signedIn({ whisper });
    model.setWhisperTo('s1', 'u-alice');
    expect(model.state.whisperTo).toEqual({ s1: 'u-alice' });
    expect(await model.whisper('s1', 'u-alice', 'Offer the voucher')).toBe(true);
    expect(whisper).toHaveBeenCalledWith('s1', expect.objectContaining({ to: 'u-alice', text: 'Offer the voucher' }));
    whisper.mockRejectedValueOnce(new ApiError(409, 'session_ended', 'the session has ended'));
    expect(await model.whisper('s1', 'u-alice', 'late')).toBe(false);
    expect(model.state.errors.s1).toBe('Whisper not sent: the session has ended');
    model.setWhisperTo('s1', null);
    expect(model.state.whisperTo).toEqual({});
  });
});
