// Fake transports and effects for unit tests.
import type { ClientFrame, ContactView, HistoryItem, InteractionView, Me, ServerFrame, SessionView, TranscriptEntry } from '../protocol/generated';
import type { WsLike } from '../protocol/socket';
import type { Effects } from '../models/app';

export class FakeWs implements WsLike {
  readyState = 0;
  sent: ClientFrame[] = [];
  closed: { code?: number; reason?: string } | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  readonly url: string;
  constructor(url: string) {
    this.url = url;
  }
  send(data: string): void {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(JSON.parse(data) as ClientFrame);
  }
  close(code?: number, reason?: string): void {
    this.closed = { code, reason };
    this.readyState = 3;
  }
  // server side
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(frame: ServerFrame): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  serverClose(code = 1006, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  framesOfType<T extends ClientFrame['type']>(type: T): Extract<ClientFrame, { type: T }>[] {
    return this.sent.filter((f) => f.type === type) as Extract<ClientFrame, { type: T }>[];
  }
}

/** Manually driven timers. */
export class FakeClock {
  now = 1_000_000;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  setTimer = (fn: () => void, ms: number): unknown => {
    this.seq += 1;
    this.timers.set(this.seq, { at: this.now + ms, fn });
    return this.seq;
  };
  clearTimer = (h: unknown): void => {
    this.timers.delete(h as number);
  };
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | null = null;
      for (const t of this.timers) if (t[1].at <= target && (!next || t[1].at < next[1].at)) next = t;
      if (!next) break;
      this.timers.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = target;
  }
  get pending(): number {
    return this.timers.size;
  }
}

export function fakeEffects(clock: FakeClock, hidden = false) {
  const calls = { beeps: 0, notifications: [] as { title: string; body: string }[], ring: [] as boolean[] };
  const fx: Effects & { hidden: boolean } = {
    hidden,
    now: () => clock.now,
    setTimer: clock.setTimer,
    clearTimer: clock.clearTimer,
    beep: () => {
      calls.beeps += 1;
    },
    notify: (title, body) => {
      calls.notifications.push({ title, body });
    },
    isHidden: () => fx.hidden,
    ring: (on) => {
      calls.ring.push(on);
    },
  };
  return { fx, calls };
}

export function makeMe(over: Partial<Me> = {}): Me {
  return {
    id: 'u-bob',
    username: 'bob',
    display_name: 'Bob Builder',
    roles: ['agent'],
    groups: [],
    im_permitted: true,
    status: 'ready',
    reason: null,
    preferences: { zoom: 100 },
    head: 10,
    ...over,
  };
}

export function entry(session_id: string, seq: number, over: Partial<TranscriptEntry> = {}): TranscriptEntry {
  return {
    session_id,
    seq,
    ts: 1_700_000_000_000 + seq * 1000,
    kind: 'message',
    actor_id: 'u-alice',
    actor_name: 'Alice Agent',
    subject_id: null,
    subject_name: null,
    text: `message ${seq}`,
    client_msg_id: `c${seq}`,
    ...over,
  };
}

export function makeSession(over: Partial<SessionView> = {}, meState: 'invited' | 'joined' = 'invited'): SessionView {
  return {
    id: 's1',
    state: meState === 'invited' ? 'inviting' : 'connected',
    created_by: 'u-alice',
    created_at: 1_700_000_000_000,
    ended_at: null,
    ended_by: null,
    participants: [
      { user_id: 'u-alice', display_name: 'Alice Agent', role: 'initiator', state: 'joined', invite_timed_out: false, color: 0, delivered_seq: 0, read_seq: 0 },
      { user_id: 'u-bob', display_name: 'Bob Builder', role: 'invitee', state: meState, invite_timed_out: false, color: 1, delivered_seq: 0, read_seq: 0 },
    ],
    last_seq: 2,
    unread: 0,
    last_message: null,
    parent_interaction_id: null,
    ...over,
  };
}

export function makeInteraction(over: Partial<InteractionView> = {}): InteractionView {
  return {
    id: 'i1',
    external_id: 'CALL-1',
    media: 'voice',
    state: 'active',
    agent_id: 'u-bob',
    agent_name: 'Bob Builder',
    contact_id: 'c1',
    contact_name: 'Jane Doe',
    subject: 'Billing question',
    case_data: [
      { key: 'Account', value: 'ACC-42' },
      { key: 'Segment', value: 'Gold' },
    ],
    outcome: null,
    notes: null,
    created_at: 1_700_000_000_000,
    ended_at: null,
    consultations: [],
    read_only: false,
    ...over,
  };
}

export function makeContact(over: Partial<ContactView> = {}): ContactView {
  return {
    id: 'c1',
    external_id: 'C-9',
    first_name: 'Jane',
    last_name: 'Doe',
    phones: ['+1 555 0100'],
    emails: ['jane@example.com'],
    attributes: [{ key: 'Language', value: 'English' }],
    ...over,
  };
}

export function makeHistoryItem(over: Partial<HistoryItem> = {}): HistoryItem {
  return {
    interaction_id: 'i0',
    media: 'voice',
    state: 'ended',
    created_at: 1_690_000_000_000,
    ended_at: 1_690_000_600_000,
    agent_id: 'u-carol',
    agent_name: 'Carol Agent',
    subject: 'Earlier call',
    outcome: 'Resolved',
    notes: 'Refund issued',
    transcripts: [],
    snippet: null,
    ...over,
  };
}
