import { describe, expect, it } from 'vitest';
import { BacklineSocket, type SocketEvent } from './socket';
import { FakeClock, FakeWs, makeMe } from '../testing/fakes';
import { makeCall } from '../testing/fakeRtc';

function setup(token?: string) {
  const clock = new FakeClock();
  const sockets: FakeWs[] = [];
  const s = new BacklineSocket({
    url: 'ws://test/api/v1/ws',
    token,
    createSocket: (url) => {
      const ws = new FakeWs(url);
      sockets.push(ws);
      return ws;
    },
    pingIntervalMs: 0,
    random: () => 1,
    setTimer: clock.setTimer,
    clearTimer: clock.clearTimer,
  });
  const events: SocketEvent[] = [];
  s.on((e) => events.push(e));
  return { s, sockets, events, current: () => sockets[sockets.length - 1] };
}

describe('BacklineSocket: voice frames', () => {
  it('the caller page: hello with the caller_token, caller_welcome opens, call and signal frames are passed on', () => {
    const t = setup('blc_token');
    t.s.start();
    t.current().open();
    expect(t.current().sent[0]).toEqual({ type: 'hello', token: 'blc_token' });
    const call = makeCall();
    t.current().receive({ type: 'caller_welcome', call, party_id: 'contact:c1' });
    expect(t.s.status).toBe('open');
    t.current().receive({ type: 'call', call: { ...call, state: 'ended' } });
    t.current().receive({ type: 'signal', call_id: 'c1', from: 'u-alice', to_device: 'tab', signal: { kind: 'answer', sdp: 'a' } });
    expect(t.events.filter((e) => e.type !== 'status')).toEqual([
      { type: 'caller_welcome', call, party_id: 'contact:c1' },
      { type: 'call', call: { ...call, state: 'ended' } },
      { type: 'signal', call_id: 'c1', from: 'u-alice', to_device: 'tab', signal: { kind: 'answer', sdp: 'a' } },
    ]);
  });

  it('sends signal frames; while disconnected they wait for the next welcome', () => {
    const t = setup();
    t.s.start(3);
    t.s.sendSignal('c1', 'u-bob', { kind: 'candidate', candidate: 'x', sdp_mid: '0', sdp_mline_index: 0 });
    t.current().open();
    expect(t.current().framesOfType('signal')).toEqual([]);
    t.current().receive({ type: 'welcome', me: makeMe(), head: 3, node: 'n1' });
    t.s.sendSignal('c1', 'u-bob', { kind: 'offer', sdp: 'o' });
    expect(t.current().framesOfType('signal')).toEqual([
      { type: 'signal', call_id: 'c1', to: 'u-bob', signal: { kind: 'candidate', candidate: 'x', sdp_mid: '0', sdp_mline_index: 0 } },
      { type: 'signal', call_id: 'c1', to: 'u-bob', signal: { kind: 'offer', sdp: 'o' } },
    ]);
    // an agent's hello carries no token (the cookie authenticates)
    expect(t.current().sent[0]).toEqual({ type: 'hello', last_seq: 3 });
  });
});
