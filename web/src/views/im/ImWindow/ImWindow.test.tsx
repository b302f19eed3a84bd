import { afterEach, describe, expect, it, vi } from 'vitest';
import { useState } from 'react';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { ImWindow, type ImWindowActions } from './ImWindow';
import type { ImWindowVM } from '../../../viewmodels/imWindow';

afterEach(cleanup);

function vm(over: Partial<ImWindowVM> = {}): ImWindowVM {
  return {
    id: 's1',
    title: 'Alice Agent',
    status: 'Connected',
    statusDetail: null,
    pendingInvitation: false,
    ended: false,
    canSend: true,
    rows: [
      { kind: 'system', key: 'e1', seq: 1, text: 'Bob Builder joined the session', time: '10:00:00', dateTime: '' },
      { kind: 'message', key: 'e2', seq: 2, showName: true, name: 'Alice Agent', color: 0, mine: false, time: '10:00:01', dateTime: '', text: 'Hi Bob', redacted: false, receipt: null, whisper: null },
    ],
    loaded: true,
    hasMore: false,
    loadingOlder: false,
    typing: null,
    error: null,
    zoom: 100,
    offline: false,
    draft: '',
    offer: null,
    askOutcome: false,
    outcome: null,
    whisperTargets: [],
    whisperTo: null,
    ...over,
  };
}

/** The text a screen reader reads for an element: its text without aria-hidden parts. */
function spokenText(el: Element): string {
  const walk = (e: Element): string =>
    Array.from(e.childNodes)
      .map((node) =>
        node.nodeType === Node.TEXT_NODE ? (node.textContent ?? '') : node instanceof Element && node.getAttribute('aria-hidden') !== 'true' ? walk(node) : '',
      )
      .join('');
  return walk(el).replace(/\s+/g, ' ').trim();
}

/** The window with its draft kept like the model keeps it. */
function WithDraft({ a }: { a: ImWindowActions }) {
  const [draft, setDraft] = useState('');
  const keep = (t: string) => {
    a.setDraft(t);
    setDraft(t);
  };
  return <ImWindow vm={vm({ draft })} actions={{ ...a, setDraft: keep, send: (t) => (a.send(t), keep('')) }} />;
}

function actions(): ImWindowActions {
  return {
    send: vi.fn(),
    typing: vi.fn(),
    end: vi.fn(),
    done: vi.fn(),
    accept: vi.fn(),
    reject: vi.fn(),
    minimize: vi.fn(),
    loadOlder: vi.fn(),
    discard: vi.fn(),
    retry: vi.fn(),
    setDraft: vi.fn(),
    markVisible: vi.fn(),
    dismissError: vi.fn(),
  };
}

describe('ImWindow', () => {
  it('shows the other party, the status, names and timestamps', () => {
    render(<ImWindow vm={vm()} actions={actions()} />);
    expect(screen.getByRole('heading', { name: 'Alice Agent' })).toBeTruthy();
    expect(screen.getByText('Connected')).toBeTruthy();
    expect(screen.getByText('Bob Builder joined the session')).toBeTruthy();
    expect(screen.getByText('10:00:01')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'End Session' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Done' })).toBeTruthy();
  });

  it('shows a redacted message as redacted, by whom', () => {
    const rows = vm().rows.map((r) => (r.kind === 'message' ? { ...r, text: 'Message redacted by Ada Admin', redacted: true } : r));
    render(<ImWindow vm={vm({ rows })} actions={actions()} />);
    const text = screen.getByText('Message redacted by Ada Admin');
    expect(text.className).toContain('redacted');
    expect(screen.queryByText('Hi Bob')).toBeNull();
  });

  it('sends on Enter, adds a line on Shift+Enter, and sends with the Send button', () => {
    const a = actions();
    render(<WithDraft a={a} />);
    const box = screen.getByRole('textbox', { name: 'Message to Alice Agent' }) as HTMLTextAreaElement;
    fireEvent.change(box, { target: { value: 'line one' } });
    expect(a.typing).toHaveBeenCalledWith('composing');
    const shift = fireEvent.keyDown(box, { key: 'Enter', shiftKey: true });
    expect(shift).toBe(true); // default not prevented: the textarea adds the line
    expect(a.send).not.toHaveBeenCalled();
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(a.send).toHaveBeenCalledWith('line one');
    expect(box.value).toBe('');
    fireEvent.change(box, { target: { value: 'by button' } });
    fireEvent.click(screen.getByRole('button', { name: 'Send' }));
    expect(a.send).toHaveBeenLastCalledWith('by button');
  });

  it('offers Accept and Reject for a pending invitation', () => {
    const a = actions();
    render(<ImWindow vm={vm({ pendingInvitation: true, canSend: false, status: 'Not Connected' })} actions={a} />);
    fireEvent.click(screen.getByRole('button', { name: 'Accept' }));
    expect(a.accept).toHaveBeenCalled();
    expect(screen.queryByRole('button', { name: 'End Session' })).toBeNull();
  });

  it('shows pending messages', () => {
    render(
      <ImWindow
        vm={vm({ rows: [{ kind: 'pending', key: 'p1', client_msg_id: 'p1', showName: true, name: 'Bob Builder', color: 1, text: 'offline msg', failed: false, error: null }] })}
        actions={actions()}
      />,
    );
    expect(screen.getByText('offline msg')).toBeTruthy();
    expect(screen.getByText('Pending…')).toBeTruthy();
  });

  it('shows why a message failed, with Retry and Discard', () => {
    const a = actions();
    render(
      <ImWindow
        vm={vm({ rows: [{ kind: 'pending', key: 'p1', client_msg_id: 'c1', showName: true, name: 'Bob Builder', color: 1, text: 'bad', failed: true, error: 'text must not contain NUL characters' }] })}
        actions={a}
      />,
    );
    expect(screen.getByText(/Not sent: text must not contain NUL characters/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
    expect(a.retry).toHaveBeenCalledWith('c1');
    fireEvent.click(screen.getByRole('button', { name: 'Discard' }));
    expect(a.discard).toHaveBeenCalledWith('c1');
  });

  it("marks a supervisor's whisper in the transcript", () => {
    const rows: ImWindowVM['rows'] = [
      { kind: 'message', key: 'e3', seq: 3, showName: true, name: 'Judy Jensen', color: 2, mine: false, time: '10:00:02', dateTime: '', text: 'Offer the voucher', redacted: false, receipt: null, whisper: 'Whisper to you' },
    ];
    render(<ImWindow vm={vm({ rows })} actions={actions()} />);
    const item = screen.getByText('Offer the voucher').closest('li');
    expect(item?.className).toContain('whisper');
    expect(item?.textContent).toContain('Whisper to you:');
  });

  it('gives screen readers each message as name, text, then time and state', () => {
    const rows: ImWindowVM['rows'] = [
      { kind: 'message', key: 'e2', seq: 2, showName: true, name: 'Alice Agent', color: 0, mine: true, time: '10:00:01', dateTime: '', text: 'Hi Bob', redacted: false, receipt: 'Read', whisper: null },
    ];
    render(<ImWindow vm={vm({ rows })} actions={actions()} />);
    const item = screen.getByRole('log').querySelector('li')!;
    expect(spokenText(item)).toBe('Alice Agent: Hi Bob, 10:00:01 · Read');
  });

  it('applies the zoom to the transcript text', () => {
    render(<ImWindow vm={vm({ zoom: 150 })} actions={actions()} />);
    const log = screen.getByRole('log');
    expect(log.style.fontSize).toBe('1.5rem');
  });
});

describe('ImWindow: a consultation of mine that ended', () => {
  it('asks for the outcome and saves it with the note', () => {
    const a = { ...actions(), setOutcome: vi.fn() };
    render(<ImWindow vm={vm({ status: 'Ended', ended: true, canSend: false, askOutcome: true })} actions={a} />);
    const form = screen.getByRole('form', { name: 'Consultation outcome' });
    fireEvent.change(screen.getByRole('combobox', { name: 'Outcome' }), { target: { value: 'needs_follow_up' } });
    fireEvent.change(screen.getByRole('textbox', { name: 'Note' }), { target: { value: 'call back Monday' } });
    fireEvent.submit(form);
    expect(a.setOutcome).toHaveBeenCalledWith('needs_follow_up', 'call back Monday');
  });

  it('shows a group offer as its initiator follows it', () => {
    render(
      <ImWindow
        vm={vm({ status: 'Not Connected', offer: { group: 'Technical Support', offered: 4, declined: 1, startedAt: Date.now(), takenBy: null, open: true } })}
        actions={actions()}
      />,
    );
    expect(screen.getByLabelText('Offer to Technical Support').textContent).toMatch(/^Technical Support: offered to 4 · 1 declined · 0:0\d$/);
  });

  it("lets a joined supervisor whisper to one participant and says so on the button", () => {
    const a = { ...actions(), whisper: vi.fn(), setWhisperTo: vi.fn() };
    const targets = [
      { id: 'u-alice', name: 'Alice Agent' },
      { id: 'u-bob', name: 'Bob Builder' },
    ];
    const { rerender } = render(<ImWindow vm={vm({ whisperTargets: targets })} actions={a} />);
    const to = screen.getByRole('combobox', { name: 'Send to' }) as HTMLSelectElement;
    expect(Array.from(to.options).map((o) => o.text)).toEqual(['Everyone', 'Whisper to Alice Agent', 'Whisper to Bob Builder']);
    fireEvent.change(to, { target: { value: 'u-bob' } });
    expect(a.setWhisperTo).toHaveBeenCalledWith('u-bob');
    rerender(<ImWindow vm={vm({ whisperTargets: targets, whisperTo: 'u-bob', draft: 'Offer the voucher' })} actions={a} />);
    expect(screen.getByRole('textbox', { name: 'Whisper to Bob Builder' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Whisper' }));
    expect(a.whisper).toHaveBeenCalledWith('u-bob', 'Offer the voucher');
    expect(a.send).not.toHaveBeenCalled();
    fireEvent.change(screen.getByRole('combobox', { name: 'Send to' }), { target: { value: '' } });
    expect(a.setWhisperTo).toHaveBeenLastCalledWith(null);
  });

  it('offers no whisper to someone who is not a joined supervisor', () => {
    render(<ImWindow vm={vm()} actions={{ ...actions(), whisper: vi.fn(), setWhisperTo: vi.fn() }} />);
    expect(screen.queryByRole('combobox', { name: 'Send to' })).toBeNull();
  });
});
