import { describe, expect, it } from 'vitest';
import { BacklineSocket, type SocketEvent } from './socket';
import { FakeClock, FakeWs, makeMe, entry } from '../testing/fakes';

function setup() {
  const clock = new FakeClock();
  const sockets: FakeWs[] = [];
  const s = new BacklineSocket({
    url: 'ws://test/api/v1/ws',
    createSocket: (url) => {
      const ws = new FakeWs(url);
      sockets.push(ws);
      return ws;
    },
    initialDelayMs: 100,
    maxDelayMs: 1000,
    pingIntervalMs: 0,
    random: () => 1,
    setTimer: clock.setTimer,
    clearTimer: clock.clearTimer,
  });
  const events: SocketEvent[] = [];
  s.on((e) => events.push(e));
  const current = () => sockets[sockets.length - 1];
  const welcome = (head = 10) => current().receive({ type: 'welcome', me: makeMe({ head }), head, node: 'n1' });
  const connect = (head = 10) => {
    current().open();
    welcome(head);
  };
  const streamEvents = () => events.filter((e) => e.type === 'event').map((e) => (e.type === 'event' ? e.event.seq : -1));
  return { s, clock, sockets, events, current, welcome, connect, streamEvents };
}

const ev = (seq: number, eseq = seq) =>
  ({ type: 'event', seq, ts: 1, event: { kind: 'transcript', session_id: 's1', entry: entry('s1', eseq) } }) as const;

describe('BacklineSocket', () => {
  it('says hello with the last seq and becomes open on welcome', () => {
    const t = setup();
    t.s.start(7);
    expect(t.s.status).toBe('connecting');
    t.current().open();
    expect(t.current().sent[0]).toEqual({ type: 'hello', last_seq: 7 });
    t.welcome(7);
    expect(t.s.status).toBe('open');
  });

  it('omits last_seq for a fresh desktop and adopts the head', () => {
    const t = setup();
    t.s.start();
    t.current().open();
    expect(t.current().sent[0]).toEqual({ type: 'hello' });
    t.welcome(42);
    expect(t.s.lastSeq).toBe(42);
  });

  it('de-duplicates events by seq and transcript entries by session and entry seq', () => {
    const t = setup();
    t.s.start(10);
    t.connect();
    t.current().receive(ev(11, 1));
    t.current().receive(ev(11, 1)); // same stream seq again
    t.current().receive(ev(9, 9)); // older than processed
    t.current().receive(ev(12, 2));
    t.current().receive(ev(13, 2)); // same entry under another stream seq
    expect(t.streamEvents()).toEqual([11, 12]);
    expect(t.s.lastSeq).toBe(13);
  });

  it('reconnects with back-off and resumes from the last processed seq', () => {
    const t = setup();
    t.s.start(10);
    t.connect();
    t.current().receive(ev(11, 1));
    t.current().serverClose(1006);
    expect(t.s.status).toBe('offline');
    expect(t.sockets.length).toBe(1);
    t.clock.advance(99);
    expect(t.sockets.length).toBe(1);
    t.clock.advance(1);
    expect(t.sockets.length).toBe(2);
    // second failure doubles the delay
    t.current().serverClose(1006);
    t.clock.advance(150);
    expect(t.sockets.length).toBe(2);
    t.clock.advance(50);
    expect(t.sockets.length).toBe(3);
    t.current().open();
    expect(t.current().sent[0]).toEqual({ type: 'hello', last_seq: 11 });
    t.welcome(12);
    // replay then live; the replayed 11 is ignored
    t.current().receive(ev(11, 1));
    t.current().receive(ev(12, 2));
    expect(t.streamEvents()).toEqual([11, 12]);
  });

  it('caps the back-off delay', () => {
    const t = setup();
    t.s.start(1);
    for (let i = 0; i < 8; i++) {
      t.current().serverClose(1006);
      t.clock.advance(1000);
    }
    expect(t.sockets.length).toBe(9);
  });

  it('queues sends while offline and sends each once when the connection is back', async () => {
    const t = setup();
    t.s.start(10);
    const p1 = t.s.sendMessage('s1', 'm1', 'hello');
    const p2 = t.s.sendMessage('s1', 'm2', 'again');
    t.current().open();
    expect(t.current().framesOfType('send')).toHaveLength(0); // not before welcome
    t.welcome();
    const sends = t.current().framesOfType('send');
    expect(sends.map((f) => f.client_msg_id)).toEqual(['m1', 'm2']);
    // a second welcome on the same connection does not send again
    t.welcome();
    expect(t.current().framesOfType('send')).toHaveLength(2);
    t.current().receive({ type: 'ack', rid: sends[0].rid, ack: { session_id: 's1', client_msg_id: 'm1', seq: 3, ts: 5, duplicate: false } });
    t.current().receive({ type: 'ack', rid: sends[1].rid, ack: { session_id: 's1', client_msg_id: 'm2', seq: 4, ts: 6, duplicate: false } });
    await expect(p1).resolves.toMatchObject({ seq: 3 });
    await expect(p2).resolves.toMatchObject({ seq: 4 });
    expect(t.s.pendingCount).toBe(0);
  });

  it('resends an unacknowledged send after a reconnect with the same client_msg_id', async () => {
    const t = setup();
    t.s.start(10);
    t.connect();
    const p = t.s.sendMessage('s1', 'm1', 'hello');
    expect(t.current().framesOfType('send')).toHaveLength(1);
    t.current().serverClose(1006);
    t.clock.advance(100);
    t.connect();
    const resent = t.current().framesOfType('send');
    expect(resent).toHaveLength(1);
    expect(resent[0].client_msg_id).toBe('m1');
    t.current().receive({ type: 'ack', rid: resent[0].rid, ack: { session_id: 's1', client_msg_id: 'm1', seq: 3, ts: 5, duplicate: true } });
    await expect(p).resolves.toMatchObject({ seq: 3, duplicate: true });
    // acknowledged: not sent again after another reconnect
    t.current().serverClose(1006);
    t.clock.advance(100);
    t.connect();
    expect(t.current().framesOfType('send')).toHaveLength(0);
  });

  it('does not queue the same client_msg_id twice', () => {
    const t = setup();
    t.s.start(10);
    void t.s.sendMessage('s1', 'm1', 'hello');
    void t.s.sendMessage('s1', 'm1', 'hello');
    t.connect();
    expect(t.current().framesOfType('send')).toHaveLength(1);
  });

  it('rejects a send the server refuses, by request id', async () => {
    const t = setup();
    t.s.start(10);
    t.connect();
    const p = t.s.sendMessage('s1', 'm1', 'hello');
    const [f] = t.current().framesOfType('send');
    t.current().receive({ type: 'error', rid: f.rid, code: 'session_ended', message: 'The session has ended' });
    await expect(p).rejects.toMatchObject({ code: 'session_ended' });
    expect(t.s.pendingCount).toBe(0);
  });

  it('backs off a send refused as unavailable and marks it failed after the last attempt', async () => {
    const t = setup();
    t.s.start(10);
    t.connect();
    const p = t.s.sendMessage('s1', 'm1', 'hello\u0000');
    const sendsAt: number[] = [];
    const refuseLast = () => {
      const frames = t.current().framesOfType('send');
      const f = frames[frames.length - 1];
      sendsAt.push(t.clock.now);
      t.current().receive({ type: 'error', rid: f.rid, code: 'unavailable', message: 'the store is unavailable' });
    };
    refuseLast();
    // not resent every second: 1 s, then 2 s, 4 s, 8 s, 16 s (random() = 1 in this setup)
    for (let i = 0; i < 5; i++) {
      const before = t.current().framesOfType('send').length;
      t.clock.advance(999 * 2 ** i);
      expect(t.current().framesOfType('send')).toHaveLength(before);
      t.clock.advance(2 ** i);
      expect(t.current().framesOfType('send')).toHaveLength(before + 1);
      expect(t.current().framesOfType('send')[before].client_msg_id).toBe('m1');
      refuseLast();
    }
    await expect(p).rejects.toMatchObject({ code: 'unavailable', message: 'the store is unavailable' });
    expect(t.s.pendingCount).toBe(0);
    t.clock.advance(120_000);
    expect(t.current().framesOfType('send')).toHaveLength(6);
    expect(sendsAt.map((x) => x - sendsAt[0])).toEqual([0, 1000, 3000, 7000, 15000, 31000]);
  });

  it('never resends a send refused as invalid_request', async () => {
    const t = setup();
    t.s.start(10);
    t.connect();
    const p = t.s.sendMessage('s1', 'm1', 'hello\u0000');
    const [f] = t.current().framesOfType('send');
    t.current().receive({ type: 'error', rid: f.rid, code: 'invalid_request', message: 'text must not contain NUL' });
    await expect(p).rejects.toMatchObject({ code: 'invalid_request' });
    t.clock.advance(60_000);
    t.current().serverClose(1006);
    t.clock.advance(1000);
    t.connect();
    expect(t.sockets.flatMap((ws) => ws.framesOfType('send'))).toHaveLength(1);
  });

  it('waits out a rate_limited refusal, also across a reconnect', async () => {
    const t = setup();
    t.s.start(10);
    t.connect();
    const p = t.s.sendMessage('s1', 'm1', 'hello');
    const [f] = t.current().framesOfType('send');
    t.current().receive({ type: 'error', rid: f.rid, code: 'rate_limited', message: 'too many requests: retry in 5000 ms' });
    // a reconnect meanwhile does not cut the wait short
    t.current().serverClose(1006);
    t.clock.advance(100);
    t.connect();
    expect(t.current().framesOfType('send')).toHaveLength(0);
    t.clock.advance(4_800);
    expect(t.current().framesOfType('send')).toHaveLength(0);
    t.clock.advance(100);
    const [again] = t.current().framesOfType('send');
    expect(again.client_msg_id).toBe('m1');
    t.current().receive({ type: 'ack', rid: again.rid, ack: { session_id: 's1', client_msg_id: 'm1', seq: 3, ts: 5, duplicate: false } });
    await expect(p).resolves.toMatchObject({ seq: 3 });
  });

  it('re-sends watch after a reconnect', () => {
    const t = setup();
    t.s.start(10);
    t.s.watch(['a', 'b']);
    t.connect();
    expect(t.current().framesOfType('watch')).toEqual([{ type: 'watch', user_ids: ['a', 'b'] }]);
    t.current().serverClose(1001);
    t.clock.advance(100);
    t.connect();
    expect(t.current().framesOfType('watch')).toEqual([{ type: 'watch', user_ids: ['a', 'b'] }]);
  });

  it('stops on close 4001 and reports the expired session', () => {
    const t = setup();
    t.s.start(10);
    t.connect();
    t.current().serverClose(4001, 'session_expired');
    expect(t.s.status).toBe('expired');
    expect(t.events.some((e) => e.type === 'expired')).toBe(true);
    t.clock.advance(60_000);
    expect(t.sockets.length).toBe(1);
  });

  it('reports resume_gap and continues after the head', () => {
    const t = setup();
    t.s.start(3);
    t.current().open();
    t.welcome(500);
    t.current().receive({ type: 'resume_gap', oldest: 100, head: 500 });
    expect(t.events.some((e) => e.type === 'resume_gap')).toBe(true);
    t.current().receive(ev(500, 1));
    t.current().receive(ev(501, 2));
    expect(t.streamEvents()).toEqual([501]);
  });

  it('forwards presence and typing frames', () => {
    const t = setup();
    t.s.start(10);
    t.connect();
    t.current().receive({ type: 'presence', user_id: 'a', status: 'away', reason: null });
    t.current().receive({ type: 'typing', session_id: 's1', user_id: 'a', state: 'composing' });
    expect(t.events.filter((e) => e.type === 'presence' || e.type === 'typing')).toHaveLength(2);
  });

  it('drops a silent connection when a ping is not answered', () => {
    const clock = new FakeClock();
    const sockets: FakeWs[] = [];
    const s = new BacklineSocket({
      url: 'ws://x',
      createSocket: (u) => {
        const w = new FakeWs(u);
        sockets.push(w);
        return w;
      },
      pingIntervalMs: 1000,
      pingTimeoutMs: 500,
      initialDelayMs: 100,
      random: () => 1,
      setTimer: clock.setTimer,
      clearTimer: clock.clearTimer,
    });
    s.start(1);
    sockets[0].open();
    sockets[0].receive({ type: 'welcome', me: makeMe(), head: 1, node: 'n' });
    clock.advance(1000);
    const ping = sockets[0].framesOfType('ping')[0];
    expect(ping).toBeDefined();
    sockets[0].receive({ type: 'pong', rid: ping.rid ?? null });
    clock.advance(1000);
    expect(sockets[0].framesOfType('ping')).toHaveLength(2);
    clock.advance(500); // no pong
    expect(s.status).not.toBe('open');
    clock.advance(100);
    expect(sockets.length).toBe(2);
  });

  it('stop() closes for good and rejects pending sends', async () => {
    const t = setup();
    t.s.start(10);
    const p = t.s.sendMessage('s1', 'm1', 'x');
    t.s.stop();
    await expect(p).rejects.toBeDefined();
    t.clock.advance(10_000);
    expect(t.sockets.length).toBe(1);
  });
});
