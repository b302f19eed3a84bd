import { describe, expect, it } from 'vitest';
import { CallMedia, desiredPairs } from './callMedia';
import { FakeStream, FakeTrack, fakeMediaDeps, flush, makeCall, party } from '../testing/fakeRtc';

const ME = 'u-alice';
const DEV = 'dev-a';

function contactCall(contactState: 'connected' | 'held' = 'connected', over = {}) {
  return makeCall({
    parties: [party('contact:c1', contactState, 'dev-caller', { kind: 'contact', display_name: 'Jane Doe' }), party(ME, 'connected', DEV)],
    hold_started_at: contactState === 'held' ? 1_002_000 : null,
    ...over,
  });
}

async function setup(opts: { deny?: boolean; acquire?: boolean } = {}) {
  const h = fakeMediaDeps(opts);
  const media = new CallMedia(h.deps, DEV);
  media.setParty(ME);
  if (opts.acquire !== false) await media.acquire();
  return { h, media };
}

describe('desiredPairs (the media rules)', () => {
  it('pairs my connected/held party with every other connected/held party that has a device; the first listed offers', () => {
    const call = makeCall({
      parties: [
        party('contact:c1', 'held', 'dev-caller', { kind: 'contact' }),
        party(ME, 'connected', DEV),
        party('u-bob', 'connected', 'dev-b'),
        party('u-carol', 'ringing', 'dev-c'),
        party('u-dave', 'left', 'dev-d'),
        party('u-erin', 'connected', null),
      ],
    });
    const pairs = desiredPairs([call], ME, DEV);
    expect(pairs.map((p) => [p.partyId, p.offerer, p.held])).toEqual([
      ['contact:c1', false, true],
      ['u-bob', true, false],
    ]);
    expect(pairs[0].key).toBe('c1:contact:c1');
  });

  it('needs my user id AND this tab: another tab of mine keeps no connection', () => {
    const call = makeCall({ parties: [party(ME, 'connected', 'other-tab'), party('u-bob', 'connected', 'dev-b')] });
    expect(desiredPairs([call], ME, DEV)).toEqual([]);
    expect(desiredPairs([{ ...call, parties: [party(ME, 'ringing', DEV), party('u-bob', 'connected', 'dev-b')] }], ME, DEV)).toEqual([]);
    expect(desiredPairs([{ ...call, state: 'ended', parties: [party(ME, 'connected', DEV), party('u-bob', 'connected', 'dev-b')] }], ME, DEV)).toEqual([]);
  });

  it('the caller page, held: its connection with each agent sends nothing', () => {
    const call = contactCall('held');
    const pairs = desiredPairs([call], 'contact:c1', 'dev-caller');
    expect(pairs).toMatchObject([{ partyId: ME, offerer: true, held: true }]);
  });
});

describe('CallMedia', () => {
  it('offers when listed first: one connection, offer and trickle candidates to that party, exposed in the registry', async () => {
    const { h, media } = await setup();
    media.update([makeCall({ kind: 'consultation', parties: [party(ME, 'connected', DEV), party('u-bob', 'connected', 'dev-b')] })]);
    await flush();
    expect(h.peers).toHaveLength(1);
    const pc = h.peers[0];
    expect(pc.config).toEqual({ iceServers: [{ urls: ['stun:127.0.0.1:3478'], username: null, credential: null }] });
    expect(pc.senders.map((s) => s.track)).toEqual([h.mic.tracks[0]]);
    expect(h.signals).toEqual([{ callId: 'c1', to: 'u-bob', signal: { kind: 'offer', sdp: `offer-${pc.id}` } }]);
    expect(h.registry.get('c1:u-bob')).toBe(pc);
    pc.emitCandidate('candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host');
    expect(h.signals[1]).toEqual({
      callId: 'c1',
      to: 'u-bob',
      signal: { kind: 'candidate', candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host', sdp_mid: '0', sdp_mline_index: 0 },
    });
    // candidates before the answer wait for it
    media.onSignal({ call_id: 'c1', from: 'u-bob', to_device: DEV, signal: { kind: 'candidate', candidate: 'cand-b', sdp_mid: '0', sdp_mline_index: 0 } });
    await flush();
    expect(pc.candidates).toEqual([]);
    media.onSignal({ call_id: 'c1', from: 'u-bob', to_device: DEV, signal: { kind: 'answer', sdp: 'answer-b' } });
    await flush();
    expect(pc.remoteDescription).toEqual({ type: 'answer', sdp: 'answer-b' });
    expect(pc.candidates.map((c) => c.candidate)).toEqual(['cand-b']);
    // the remote audio is played
    const remote = new FakeStream([new FakeTrack('remote')]);
    pc.emitTrack(remote);
    expect(h.played.get('c1:u-bob')).toBe(remote);
    // a second update with the same call changes nothing
    media.update([makeCall({ kind: 'consultation', parties: [party(ME, 'connected', DEV), party('u-bob', 'connected', 'dev-b')] })]);
    await flush();
    expect(h.peers).toHaveLength(1);
    expect(media.info.connections).toEqual(['c1:u-bob']);
  });

  it('answers when listed second: no offer of its own; the offer creates the connection and the answer goes back', async () => {
    const { h, media } = await setup();
    media.update([contactCall()]);
    await flush();
    expect(h.peers).toHaveLength(0);
    expect(h.signals).toEqual([]);
    media.onSignal({ call_id: 'c1', from: 'contact:c1', to_device: DEV, signal: { kind: 'offer', sdp: 'offer-caller' } });
    media.onSignal({ call_id: 'c1', from: 'contact:c1', to_device: DEV, signal: { kind: 'candidate', candidate: 'cand-1', sdp_mid: '0', sdp_mline_index: 0 } });
    await flush();
    expect(h.peers).toHaveLength(1);
    const pc = h.peers[0];
    expect(pc.remoteDescription).toEqual({ type: 'offer', sdp: 'offer-caller' });
    expect(pc.senders.map((s) => s.track)).toEqual([h.mic.tracks[0]]);
    expect(h.signals).toEqual([{ callId: 'c1', to: 'contact:c1', signal: { kind: 'answer', sdp: `answer-${pc.id}` } }]);
    expect(pc.candidates.map((c) => c.candidate)).toEqual(['cand-1']);
    expect(h.registry.get('c1:contact:c1')).toBe(pc);
  });

  it('ignores signals for another tab; to_device null is for every tab', async () => {
    const { h, media } = await setup();
    media.update([contactCall()]);
    media.onSignal({ call_id: 'c1', from: 'contact:c1', to_device: 'another-tab', signal: { kind: 'offer', sdp: 'x' } });
    await flush();
    expect(h.peers).toHaveLength(0);
    media.onSignal({ call_id: 'c1', from: 'contact:c1', to_device: null, signal: { kind: 'offer', sdp: 'y' } });
    await flush();
    expect(h.peers).toHaveLength(1);
  });

  it('keeps an offer that arrives before the call event, and answers it once the pair exists', async () => {
    const { h, media } = await setup();
    media.onSignal({ call_id: 'c1', from: 'contact:c1', to_device: DEV, signal: { kind: 'offer', sdp: 'early' } });
    media.onSignal({ call_id: 'c1', from: 'contact:c1', to_device: DEV, signal: { kind: 'candidate', candidate: 'c-early', sdp_mid: null, sdp_mline_index: 0 } });
    await flush();
    expect(h.peers).toHaveLength(0);
    media.update([contactCall()]);
    await flush();
    expect(h.peers).toHaveLength(1);
    expect(h.peers[0].remoteDescription?.sdp).toBe('early');
    expect(h.peers[0].candidates.map((c) => c.candidate)).toEqual(['c-early']);
  });

  it('a new offer for an existing pair replaces its connection', async () => {
    const { h, media } = await setup();
    media.update([contactCall()]);
    media.onSignal({ call_id: 'c1', from: 'contact:c1', to_device: DEV, signal: { kind: 'offer', sdp: 'first' } });
    await flush();
    const first = h.peers[0];
    media.onSignal({ call_id: 'c1', from: 'contact:c1', to_device: DEV, signal: { kind: 'offer', sdp: 'second' } });
    await flush();
    expect(first.closed).toBe(true);
    expect(h.peers).toHaveLength(2);
    const second = h.peers[1];
    expect(second.remoteDescription?.sdp).toBe('second');
    expect(h.registry.get('c1:contact:c1')).toBe(second);
    expect(h.signals.filter((s) => s.signal.kind === 'answer')).toHaveLength(2);
  });

  it('while the contact is held: replaceTrack(null) on every sender to it; the microphone again on retrieve; agents keep talking', async () => {
    const { h, media } = await setup();
    const consult = makeCall({ id: 'c2', kind: 'consultation', contact_call_id: 'c1', parties: [party(ME, 'connected', DEV), party('u-bob', 'connected', 'dev-b')] });
    media.update([contactCall(), consult]);
    media.onSignal({ call_id: 'c1', from: 'contact:c1', to_device: DEV, signal: { kind: 'offer', sdp: 'o' } });
    await flush();
    const toContact = h.registry.get('c1:contact:c1');
    const toBob = h.registry.get('c2:u-bob');
    expect(toContact && toBob).toBeTruthy();
    media.update([contactCall('held'), consult]);
    await flush();
    expect(toContact!.getSenders().map((s) => s.track)).toEqual([null]);
    expect(toBob!.getSenders().map((s) => s.track)).toEqual([h.mic.tracks[0]]);
    media.update([contactCall('connected'), consult]);
    await flush();
    expect(toContact!.getSenders().map((s) => s.track)).toEqual([h.mic.tracks[0]]);
  });

  it('a connection made while the contact is already held starts silent', async () => {
    const { h, media } = await setup();
    const media2 = new CallMedia(h.deps, 'dev-caller');
    media2.setParty('contact:c1');
    await media2.acquire();
    media2.update([contactCall('held')]);
    await flush();
    expect(h.peers).toHaveLength(1);
    expect(h.peers[0].senders.map((s) => s.track)).toEqual([null]);
    void media;
  });

  it('closes the connection of a party that left, and all of a call that ended', async () => {
    const { h, media } = await setup();
    const three = makeCall({ parties: [party(ME, 'connected', DEV), party('u-bob', 'connected', 'dev-b'), party('u-carol', 'connected', 'dev-c')] });
    media.update([three]);
    await flush();
    expect([...h.registry.keys()].sort()).toEqual(['c1:u-bob', 'c1:u-carol']);
    const [bob, carol] = h.peers;
    media.update([{ ...three, parties: [party(ME, 'connected', DEV), party('u-bob', 'left', 'dev-b'), party('u-carol', 'connected', 'dev-c')] }]);
    await flush();
    expect(bob.closed).toBe(true);
    expect(carol.closed).toBe(false);
    expect(h.registry.has('c1:u-bob')).toBe(false);
    expect(h.played.get('c1:u-bob')).toBeNull();
    media.update([{ ...three, state: 'ended' }]);
    await flush();
    expect(carol.closed).toBe(true);
    expect(h.registry.size).toBe(0);
    expect(media.info.connections).toEqual([]);
  });

  it('the offerer starts over when the other party answers on another tab, or the connection fails', async () => {
    const { h, media } = await setup();
    const call = (dev: string) => makeCall({ parties: [party(ME, 'connected', DEV), party('u-bob', 'connected', dev)] });
    media.update([call('dev-b')]);
    await flush();
    media.update([call('dev-b2')]);
    await flush();
    expect(h.peers[0].closed).toBe(true);
    expect(h.peers).toHaveLength(2);
    h.peers[1].fail();
    await flush();
    expect(h.peers[1].closed).toBe(true);
    expect(h.peers).toHaveLength(3);
    expect(h.signals.filter((s) => s.signal.kind === 'offer')).toHaveLength(3);
  });

  it('microphone denied: the state says so, and calls still connect (receive only)', async () => {
    const { h, media } = await setup({ deny: true });
    expect(media.info.mic).toBe('denied');
    expect(await media.acquire()).toBe('denied');
    expect(h.gumCalls).toHaveLength(1);
    media.update([makeCall({ parties: [party(ME, 'connected', DEV), party('u-bob', 'connected', 'dev-b')] })]);
    await flush();
    expect(h.peers[0].transceivers).toEqual([{ direction: 'sendrecv' }]);
  });

  it('asks for the microphone once; mute disables the track; a new device replaces it on live senders', async () => {
    const { h, media } = await setup();
    await media.acquire();
    expect(h.gumCalls).toEqual([{ audio: true }]);
    expect(media.info.devices.map((d) => d.label)).toEqual(['Default', 'USB headset']);
    media.update([makeCall({ parties: [party(ME, 'connected', DEV), party('u-bob', 'connected', 'dev-b')] })]);
    await flush();
    media.setMuted(true);
    expect(h.mic.tracks[0].enabled).toBe(false);
    await media.selectDevice('usb');
    await flush();
    expect(h.gumCalls[1]).toEqual({ audio: { deviceId: { exact: 'usb' } } });
    const track = h.peers[0].senders[0].track as FakeTrack;
    expect(track.id).toBe('mic-2');
    expect(track.enabled).toBe(false);
    expect(h.mic.tracks[0].stopped).toBe(true);
  });

  it('signing out closes everything', async () => {
    const { h, media } = await setup();
    media.update([makeCall({ parties: [party(ME, 'connected', DEV), party('u-bob', 'connected', 'dev-b')] })]);
    await flush();
    media.setParty(null);
    expect(h.peers[0].closed).toBe(true);
    expect(h.registry.size).toBe(0);
  });
});
