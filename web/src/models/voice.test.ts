import { describe, expect, it, vi } from 'vitest';
import { AppModel, MIC_DENIED_TEXT, emptyVoice, initialState, type AppState } from './app';
import { CallMedia } from './callMedia';
import { CallerModel, NO_AGENT_TEXT, callerStatus, type CallerSocket } from './caller';
import { formatDuration, holdStartedAt, upsertCall } from './voice';
import type { Api } from '../protocol/rest';
import { ApiError } from '../protocol/rest';
import type { Socket, SocketEvent } from '../protocol/socket';
import type { CallView, InteractionView, SessionView } from '../protocol/generated';
import { FakeClock, fakeEffects, makeInteraction, makeMe, makeSession } from '../testing/fakes';
import { fakeMediaDeps, flush, makeCall, party } from '../testing/fakeRtc';
import { callStateText, incomingCalls, interactionVoiceVM, softphoneVM } from '../viewmodels/voice';
import { consultationContext } from '../viewmodels/main';

const BOB = 'u-bob'; // makeMe()'s id
const DEV = 'tab-bob';

class FakeSocket implements Socket {
  status: Socket['status'] = 'idle';
  lastSeq: number | undefined;
  listeners = new Set<(e: SocketEvent) => void>();
  start = vi.fn();
  stop = vi.fn();
  drop = vi.fn();
  reconnectNow = vi.fn();
  on(l: (e: SocketEvent) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  sendMessage = vi.fn(() => new Promise<never>(() => undefined));
  typing = vi.fn();
  mark = vi.fn();
  watch = vi.fn();
  emit(e: SocketEvent) {
    for (const l of [...this.listeners]) l(e);
  }
  call(seq: number, call: CallView) {
    this.emit({ type: 'event', event: { seq, ts: 0, event: { kind: 'call', call } } });
  }
}

function fakeApi(over: Partial<Api> = {}): Api {
  return {
    me: vi.fn(async () => makeMe()),
    statusReasons: vi.fn(async () => []),
    directory: vi.fn(async () => ({ entries: [], active_consultations: [], preselected: null })),
    sessions: vi.fn(async () => [] as SessionView[]),
    interactions: vi.fn(async () => [] as InteractionView[]),
    calls: vi.fn(async () => [] as CallView[]),
    acceptCall: vi.fn(async (id: string, device: string) => ringingConsultation({ id, parties: [party('u-alice', 'connected', 'tab-a'), party(BOB, 'connected', device)], state: 'active' })),
    callAction: vi.fn(async (id: string) => makeCall({ id })),
    voiceConsultation: vi.fn(async () => makeCall({ id: 'k1', kind: 'consultation', state: 'ringing', contact_call_id: 'c1', parties: [party(BOB, 'connected', DEV), party('u-carol', 'ringing', null)] })),
    iceServers: vi.fn(async () => ({ ice_servers: [] })),
    ...over,
  } as unknown as Api;
}

function ringingConsultation(over: Partial<CallView> = {}): CallView {
  return makeCall({
    id: 'k1',
    kind: 'consultation',
    state: 'ringing',
    contact_call_id: 'c1',
    answered_at: null,
    parties: [party('u-alice', 'connected', 'tab-a', { display_name: 'Alice Agent' }), party(BOB, 'ringing', null, { display_name: 'Bob Builder' })],
    ...over,
  });
}

async function signedIn(apiOver: Partial<Api> = {}, opts: { deny?: boolean; hidden?: boolean } = {}) {
  const clock = new FakeClock();
  const { fx, calls } = fakeEffects(clock, opts.hidden);
  const api = fakeApi(apiOver);
  const socket = new FakeSocket();
  const h = fakeMediaDeps({ deny: opts.deny });
  const media = new CallMedia(h.deps, DEV);
  const model = new AppModel(api, socket, fx, media);
  await model.init();
  socket.emit({ type: 'status', status: 'open' });
  return { model, api, socket, clock, calls, h, media };
}

function vmState(over: Partial<AppState> = {}): AppState {
  return { ...initialState(), phase: 'signed_in', me: makeMe(), voice: { ...emptyVoice(DEV), available: true }, ...over };
}

describe('AppModel: voice', () => {
  it('loads the calls of GET /calls, rings and shows an incoming consultation call with Accept / Reject', async () => {
    const { model, socket, calls } = await signedIn();
    socket.call(11, ringingConsultation());
    expect(Object.keys(model.state.calls)).toEqual(['k1']);
    expect(calls.ring).toEqual([true]);
    expect(model.state.announcement?.text).toBe('Incoming voice call from Alice Agent');
    expect(incomingCalls(model.state)).toEqual([
      { id: 'k1', from: 'Alice Agent', label: 'Incoming voice call from Alice Agent', kindText: 'Voice consultation', busy: false },
    ]);
    // the microphone is asked for with the first call
    await flush();
    expect(model.state.voice.mic).toBe('ready');
  });

  it('Accept posts this tab’s device_id; the ring stops; the media rules get the call', async () => {
    const { model, socket, api, calls, h } = await signedIn();
    socket.call(11, ringingConsultation());
    await model.acceptCall('k1');
    expect(api.acceptCall).toHaveBeenCalledWith('k1', DEV);
    expect(calls.ring).toEqual([true, false]);
    expect(incomingCalls(model.state)).toEqual([]);
    // Alice is listed first: she offers; Bob answers her offer on this tab
    socket.emit({ type: 'signal', call_id: 'k1', from: 'u-alice', to_device: DEV, signal: { kind: 'offer', sdp: 'o' } });
    await flush();
    expect(h.registry.has('k1:u-alice')).toBe(true);
    expect(h.signals.map((s) => s.signal.kind)).toEqual(['answer']);
    // the call ends: connections closed, the call shown ended a few seconds, then gone
    socket.call(12, { ...ringingConsultation(), state: 'ended', ended_at: 1_010_000 });
    expect(h.registry.size).toBe(0);
    expect(softphoneVM(model.state, 0).calls[0].state).toBe('Call ended');
    await flush();
  });

  it('Start Voice Consultation uses the IM consultation session with that target', async () => {
    const session = makeSession({ id: 's9', created_by: BOB, parent_interaction_id: 'i1', state: 'connected' }, 'joined');
    session.participants = [
      { ...session.participants[1], user_id: BOB, role: 'initiator' },
      { ...session.participants[0], user_id: 'u-carol', display_name: 'Carol', role: 'invitee' },
    ];
    const { model, api } = await signedIn({
      sessions: vi.fn(async () => [session]),
      interactions: vi.fn(async () => [makeInteraction({ id: 'i1' })]),
    });
    model.startConsultation('i1');
    await model.startVoiceConsultation('u-carol');
    expect(api.voiceConsultation).toHaveBeenCalledWith('s9', DEV);
    expect(model.state.calls.k1.kind).toBe('consultation');
    // without an IM consultation with that target: a clear message, nothing posted
    await model.startVoiceConsultation('u-dave');
    expect(api.voiceConsultation).toHaveBeenCalledTimes(1);
    expect(model.state.errors['']).toMatch(/instant message consultation/);
  });

  it('call commands: Hold posts /hold; a failure shows on the call', async () => {
    const { model, api, socket } = await signedIn({
      callAction: vi.fn(async (_id: string, action: string) => {
        if (action === 'retrieve') throw new ApiError(409, 'invalid_state', 'not on hold');
        return makeCall({ parties: [party('contact:c1', 'held', 'dev-c', { kind: 'contact' }), party(BOB, 'connected', DEV)], hold_started_at: 5 });
      }),
    });
    socket.call(11, makeCall({ parties: [party('contact:c1', 'connected', 'dev-c', { kind: 'contact' }), party(BOB, 'connected', DEV)] }));
    await model.callAction('c1', 'hold');
    expect(api.callAction).toHaveBeenCalledWith('c1', 'hold');
    expect(model.state.calls.c1.hold_started_at).toBe(5);
    await model.callAction('c1', 'retrieve');
    expect(model.state.errors['call:c1']).toBe('Could not retrieve the contact: not on hold');
  });

  it('microphone denied: a clear message, IM keeps working', async () => {
    const { model, socket } = await signedIn({}, { deny: true });
    socket.call(11, ringingConsultation());
    await flush();
    expect(model.state.voice.mic).toBe('denied');
    expect(softphoneVM(model.state, 0).micMessage).toBe(MIC_DENIED_TEXT);
    expect(model.state.phase).toBe('signed_in');
  });

  it('ignores calls of which I am no party, and never revives an ended call', async () => {
    const { model, socket } = await signedIn();
    socket.call(11, makeCall({ id: 'x', parties: [party('u-zed', 'connected', 'd')] }));
    expect(model.state.calls.x).toBeUndefined();
    const ended = { ...ringingConsultation(), state: 'ended' as const };
    expect(upsertCall({ k1: ended }, ringingConsultation())).toEqual({ k1: ended });
  });
});

describe('voice view models', () => {
  it('call state as I see it', () => {
    const call = makeCall({ parties: [party('contact:c1', 'connected', 'd', { kind: 'contact' }), party(BOB, 'connected', DEV)] });
    expect(callStateText(call, BOB, DEV)).toBe('Connected');
    expect(callStateText({ ...call, parties: [party('contact:c1', 'held', 'd', { kind: 'contact' }), party(BOB, 'connected', DEV)] }, BOB, DEV)).toBe('On hold');
    expect(callStateText({ ...call, parties: [call.parties[0], party(BOB, 'ringing', null)] }, BOB, DEV)).toBe('Ringing');
    expect(callStateText(call, BOB, 'other-tab')).toBe('On another tab');
    expect(callStateText({ ...call, state: 'ended' }, BOB, DEV)).toBe('Call ended');
    expect(callStateText({ ...call, parties: [call.parties[0], party(BOB, 'left', DEV)] }, BOB, DEV)).toBe('Call ended');
  });

  it('the interaction window: contact call with Hold/Retrieve and hold time; the initiator’s consultation controls', () => {
    const contact = makeCall({
      id: 'c1',
      interaction_id: 'i1',
      answered_at: 1_000_000,
      hold_started_at: 1_050_000,
      parties: [party('contact:c1', 'held', 'd', { kind: 'contact', display_name: 'Jane Doe' }), party(BOB, 'connected', DEV)],
    });
    const consult = makeCall({
      id: 'k1',
      kind: 'consultation',
      interaction_id: 'i1',
      contact_call_id: 'c1',
      state: 'active',
      hold_started_at: 1_050_000,
      parties: [party(BOB, 'connected', DEV), party('u-carol', 'connected', 'tab-c', { display_name: 'Carol' })],
    });
    const vm = interactionVoiceVM(vmState({ calls: { c1: contact, k1: consult } }), 'i1', 1_062_000)!;
    expect(vm.contactCall).toMatchObject({ state: 'On hold', timer: '1:02', hold: 'Contact on hold 0:12', canHold: false, canRetrieve: true, canHangUp: true });
    expect(vm.consultations).toEqual([
      expect.objectContaining({ title: 'Voice consultation with Carol', state: 'Connected', initiator: true, canComplete: true }),
    ]);
    // the target sees the consultation without the controls of the initiator, and the hold time
    const target = { ...consult, parties: [party('u-alice', 'connected', 'tab-a', { display_name: 'Alice Agent' }), party(BOB, 'connected', DEV)] };
    const row = softphoneVM(vmState({ calls: { k1: target } }), 1_050_000 + 7_000).calls[0];
    expect(row).toMatchObject({ title: 'Voice consultation with Alice Agent', state: 'Connected', hold: 'Contact on hold 0:07', canHangUp: true });
    expect(interactionVoiceVM(vmState({ calls: { k1: target } }), 'i1', 0)!.consultations[0].initiator).toBe(false);
    expect(interactionVoiceVM(vmState(), 'i1', 0)).toBeNull();
  });

  it('the softphone shows by itself only while there is a call, else when the agent opens it', async () => {
    const { model, socket } = await signedIn();
    expect(softphoneVM(model.state, 0)).toMatchObject({ expanded: false, canClose: true });
    socket.call(11, ringingConsultation());
    expect(softphoneVM(model.state, 0)).toMatchObject({ expanded: true, canClose: false });
    const idle = vmState();
    expect(softphoneVM(idle, 0).expanded).toBe(false);
    model.showSoftphone(true);
    expect(model.state.voice.softphoneOpen).toBe(true);
    expect(softphoneVM({ ...idle, voice: { ...idle.voice, softphoneOpen: true } }, 0)).toMatchObject({ expanded: true, canClose: true });
  });

  it('hold time is the call’s own (the server copies it onto consultation calls)', () => {
    const consult = makeCall({ id: 'k1', kind: 'consultation', contact_call_id: 'c1', hold_started_at: 10, created_at: 5 });
    expect(holdStartedAt(consult)).toBe(10);
    expect(holdStartedAt({ ...consult, state: 'ended' })).toBeNull();
    expect(holdStartedAt(makeCall({ hold_started_at: null }))).toBeNull();
    expect(formatDuration(3_723_000)).toBe('1:02:03');
  });

  it('Active Consultations of a voice interaction offer Start Voice Consultation', () => {
    const entry = { kind: 'user' as const, id: 'u-carol', display_name: 'Carol', username: 'carol', groups: [], status: 'ready' as const, reason: null, member_count: null, favourite: false, unavailable: [], actions: ['start_voice_consultation' as const, 'start_im_consultation' as const] };
    const st = vmState({ interactions: { i1: makeInteraction() }, directory: { ...initialState().directory, interactionId: 'i1', activeConsultations: [entry] } });
    // listed by the server: kept once, in the server's order
    expect(consultationContext(st)!.activeConsultations[0].actions.map((a) => a.label)).toEqual(['Start Voice Consultation', 'Start Instant Message Consultation']);
  });
});

describe('the click-to-call page', () => {
  function caller(over: { publicCall?: () => Promise<never> } = {}) {
    const h = fakeMediaDeps();
    const media = new CallMedia(h.deps, 'tab-caller');
    const listeners = new Set<(e: SocketEvent) => void>();
    const socket: CallerSocket & { emit: (e: SocketEvent) => void } = {
      start: vi.fn(),
      stop: vi.fn(),
      on: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
      sendSignal: vi.fn(),
      emit: (e) => listeners.forEach((l) => l(e)),
    };
    const call = makeCall({ id: 'c1', state: 'ringing', answered_at: null, parties: [party('contact:c1', 'connected', 'tab-caller', { kind: 'contact' }), party('u-alice', 'ringing', null)] });
    const api = {
      bearer: undefined as string | undefined,
      publicCall: vi.fn(over.publicCall ?? (async () => ({ call, caller_token: 'blc_x', party_id: 'contact:c1' }))),
      publicHangUp: vi.fn(async () => ({ ...call, state: 'ended' as const })),
    };
    const tokens: string[] = [];
    const model = new CallerModel(api, (t) => (tokens.push(t), socket), media);
    return { model, api, socket, tokens, h, call };
  }

  it('calls, shows Connecting…, Connected, On hold — please wait, Call ended; follows the media rules as the contact', async () => {
    const { model, api, socket, tokens, h, call } = caller();
    await model.call('  Zoë ');
    expect(api.publicCall).toHaveBeenCalledWith('Zoë', 'tab-caller');
    expect(tokens).toEqual(['blc_x']);
    expect(api.bearer).toBe('blc_x');
    expect(callerStatus(model.state)).toBe('Connecting…');
    const answered = { ...call, state: 'active' as const, parties: [call.parties[0], party('u-alice', 'connected', 'tab-a')] };
    socket.emit({ type: 'caller_welcome', call, party_id: 'contact:c1' });
    socket.emit({ type: 'call', call: answered });
    await flush();
    expect(callerStatus(model.state)).toBe('Connected');
    // the contact is listed first: it offers to Alice's tab
    expect(h.signals[0]).toMatchObject({ callId: 'c1', to: 'u-alice', signal: { kind: 'offer' } });
    socket.emit({ type: 'call', call: { ...answered, parties: [party('contact:c1', 'held', 'tab-caller', { kind: 'contact' }), answered.parties[1]] } });
    await flush();
    expect(callerStatus(model.state)).toBe('On hold — please wait');
    expect(h.peers[0].senders.map((s) => s.track)).toEqual([null]);
    await model.hangUp();
    expect(api.publicHangUp).toHaveBeenCalledWith('c1');
    expect(callerStatus(model.state)).toBe('Call ended');
    expect(h.peers[0].closed).toBe(true);
    expect(socket.stop).toHaveBeenCalled();
  });

  it('no agent available: a clear message', async () => {
    const { model } = caller({ publicCall: async () => Promise.reject(new ApiError(503, 'no_agent_available', 'none')) });
    await model.call('Zoë');
    expect(model.state.error).toBe(NO_AGENT_TEXT);
    expect(model.state.phase).toBe('idle');
  });
});
