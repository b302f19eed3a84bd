import { useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import type { ConsultationOutcome } from '../../../protocol/generated';
import { OUTCOME_LABELS, offerProgressText, type ImWindowVM, type OfferProgress, type TranscriptRow } from '../../../viewmodels/imWindow';

export interface ImWindowActions {
  send: (text: string) => void;
  typing: (state: 'composing' | 'paused') => void;
  end: () => void;
  done: () => void;
  accept: () => void;
  reject: () => void;
  minimize: () => void;
  loadOlder: () => void;
  discard: (clientMsgId: string) => void;
  /** Sends a failed message again. */
  retry: (clientMsgId: string) => void;
  /** Keeps the text typed and not sent (it survives a reload). */
  setDraft: (text: string) => void;
  markVisible: () => void;
  dismissError: () => void;
  /** Records an ended consultation's outcome (its initiator). */
  setOutcome?: (outcome: ConsultationOutcome, note: string) => void;
  /** A joined supervisor's whisper to one participant. */
  whisper?: (to: string, text: string) => void;
  /** Chooses whom the composer whispers to (null: everyone). */
  setWhisperTo?: (to: string | null) => void;
}

/** The initiator's progress line of a group offer: "offered to 4 · 1 declined · 0:12", ticking. */
function OfferLine({ offer }: { offer: OfferProgress }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!offer.open) return;
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, [offer.open]);
  return (
    <span className="status-detail offer-progress" aria-label={`Offer to ${offer.group}`}>
      {offer.group}: {offerProgressText(offer, now)}
    </span>
  );
}

/** Asks the initiator of an ended consultation what it came to. */
function OutcomePrompt({ onSave }: { onSave: (outcome: ConsultationOutcome, note: string) => void }) {
  const [outcome, setOutcome] = useState<ConsultationOutcome>('answered');
  const [note, setNote] = useState('');
  return (
    <form
      className="outcome-prompt"
      aria-label="Consultation outcome"
      onSubmit={(e) => {
        e.preventDefault();
        onSave(outcome, note);
      }}
    >
      <label>
        Outcome{' '}
        <select value={outcome} onChange={(e) => setOutcome(e.target.value as ConsultationOutcome)}>
          {Object.entries(OUTCOME_LABELS).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Note <input type="text" value={note} maxLength={2000} onChange={(e) => setNote(e.target.value)} />
      </label>
      <button type="submit" className="primary small">
        Save outcome
      </button>
    </form>
  );
}

export interface ImWindowProps {
  vm: ImWindowVM;
  actions: ImWindowActions;
  focusOnMount?: boolean;
  /** A consultation: what it is about ("Consultation about Voice · Jane Doe · …"). */
  about?: string | null;
  /** Shown beside the transcript (a consultation target's Case Data, Contact Information, Contact History). */
  side?: ReactNode;
}

const MARKERS = ['●', '■', '▲', '◆', '★', '✚'];

function Row({ row, onDiscard, onRetry }: { row: TranscriptRow; onDiscard: (id: string) => void; onRetry: (id: string) => void }) {
  if (row.kind === 'system') {
    return (
      <li className="entry system">
        <span className="system-text">{row.text}</span>
        <time className="ts" title={row.dateTime}>
          {row.time}
        </time>
      </li>
    );
  }
  const pending = row.kind === 'pending';
  // screen readers hear "name: text, time · state" once per message: the visible author line is
  // for the eye only, and the text comes before its time and delivery state
  return (
    <li className={`entry message p${row.color} ${row.showName ? 'first' : ''} ${pending ? 'is-pending' : ''} ${row.kind === 'message' && row.whisper ? 'whisper' : ''}`}>
      {row.showName && (
        <div className="author" aria-hidden="true">
          <span className="marker">{MARKERS[row.color % MARKERS.length]}</span>
          <span className="author-name">{row.name}</span>
        </div>
      )}
      <div className="bubble">
        {row.kind === 'message' && row.whisper && <span className="whisper-label">{row.whisper}: </span>}
        <span className="visually-hidden">{row.name}: </span>
        <span className={row.kind === 'message' && row.redacted ? 'text redacted' : 'text'}>{row.text}</span>
        <span className="visually-hidden">, </span>
        <span className="meta">
          {row.kind === 'message' ? (
            <>
              <time className="ts" title={row.dateTime}>
                {row.time}
              </time>
              {row.receipt && <span className="receipt"> · {row.receipt}</span>}
            </>
          ) : row.failed ? (
            <span className="failed">
              Not sent: {row.error}{' '}
              <button type="button" className="link" onClick={() => onRetry(row.client_msg_id)}>
                Retry
              </button>{' '}
              <button type="button" className="link" onClick={() => onDiscard(row.client_msg_id)}>
                Discard
              </button>
            </span>
          ) : (
            <span className="pending-mark">Pending…</span>
          )}
        </span>
      </div>
    </li>
  );
}

export function ImWindow({ vm, actions, focusOnMount, about, side }: ImWindowProps) {
  const text = vm.draft;
  const setText = actions.setDraft;
  const logRef = useRef<HTMLDivElement>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const atBottom = useRef(true);
  const prevHeight = useRef<{ height: number; first: string | undefined } | null>(null);
  const typingState = useRef<{ last: number; timer: number | null }>({ last: 0, timer: null });

  useEffect(() => {
    const box = inputRef.current;
    if (!focusOnMount || !box) return;
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  }, [focusOnMount]);

  useEffect(() => {
    const t = typingState.current;
    return () => {
      if (t.timer !== null) window.clearTimeout(t.timer);
    };
  }, []);

  // keep the view pinned to the newest entry, and stable when older entries are prepended
  const firstKey = vm.rows[0]?.key;
  useLayoutEffect(() => {
    const el = logRef.current;
    if (!el) return;
    const prev = prevHeight.current;
    if (prev && prev.first !== firstKey && !atBottom.current) {
      el.scrollTop += el.scrollHeight - prev.height;
    } else if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
    prevHeight.current = { height: el.scrollHeight, first: firstKey };
  }, [vm.rows, firstKey, vm.typing]);

  const onScroll = () => {
    const el = logRef.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (el.scrollTop < 40 && vm.hasMore && !vm.loadingOlder) actions.loadOlder();
    if (atBottom.current) actions.markVisible();
  };

  const stopTyping = () => {
    const t = typingState.current;
    if (t.timer !== null) window.clearTimeout(t.timer);
    t.timer = null;
    if (t.last) actions.typing('paused');
    t.last = 0;
  };

  const onChange = (value: string) => {
    setText(value);
    if (!vm.canSend) return;
    const t = typingState.current;
    const now = Date.now();
    if (value.trim() === '') {
      stopTyping();
      return;
    }
    if (now - t.last > 3000) {
      actions.typing('composing');
      t.last = now;
    }
    if (t.timer !== null) window.clearTimeout(t.timer);
    t.timer = window.setTimeout(stopTyping, 4000);
  };

  const send = () => {
    if (!vm.canSend || !text.trim()) return;
    if (vm.whisperTo && actions.whisper) actions.whisper(vm.whisperTo, text);
    else actions.send(text);
    stopTyping();
    setText('');
    atBottom.current = true;
    inputRef.current?.focus();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    }
  };

  const titleId = `im-title-${vm.id}`;
  return (
    <section className={`im-window state-${vm.status.replace(' ', '-').toLowerCase()} ${side ? 'with-side' : ''}`} aria-labelledby={titleId}>
      <header className="im-toolbar" role="toolbar" aria-label={`Interaction toolbar: ${vm.title}`}>
        <div className="im-title">
          <span className="im-avatar" aria-hidden="true">
            {vm.title.slice(0, 1)}
          </span>
          <div>
            <h2 id={titleId}>{vm.title}</h2>
            <p className="im-status">
              <span className="visually-hidden">Status: </span>
              <span className={`status-pill ${vm.status.replace(' ', '-').toLowerCase()}`}>{vm.status}</span>
              {vm.statusDetail && <span className="status-detail">{vm.statusDetail}</span>}
              {vm.offer && <OfferLine offer={vm.offer} />}
              {vm.outcome && <span className="status-detail">Outcome: {vm.outcome}</span>}
            </p>
          </div>
        </div>
        <div className="im-actions">
          {vm.pendingInvitation ? (
            <>
              <button type="button" className="primary" onClick={actions.accept}>
                Accept
              </button>
              <button type="button" onClick={actions.reject}>
                Reject
              </button>
            </>
          ) : (
            <button type="button" className="danger" onClick={actions.end} disabled={vm.ended}>
              End Session
            </button>
          )}
          <button type="button" onClick={actions.done}>
            Done
          </button>
          <button type="button" className="icon-button" aria-label={`Minimize ${vm.title}`} onClick={actions.minimize}>
            –
          </button>
        </div>
      </header>
      {about && (
        <p className="consultation-about">
          <span aria-hidden="true">⇄ </span>
          {about}
        </p>
      )}
      {vm.error && (
        <p className="error im-error" role="alert">
          {vm.error}{' '}
          <button type="button" className="link" onClick={actions.dismissError}>
            Dismiss
          </button>
        </p>
      )}
      <div className="im-body">
      <div className="im-main">
      <div
        className="transcript"
        role="log"
        aria-live="off"
        aria-label={`Transcript with ${vm.title}`}
        tabIndex={0}
        ref={logRef}
        onScroll={onScroll}
        style={{ fontSize: `${vm.zoom / 100}rem` }}
      >
        {vm.hasMore && (
          <div className="older">
            <button type="button" className="link" onClick={actions.loadOlder} disabled={vm.loadingOlder}>
              {vm.loadingOlder ? 'Loading…' : 'Load earlier messages'}
            </button>
          </div>
        )}
        {!vm.loaded && <p className="loading">Loading transcript…</p>}
        <ol className="entries">
          {vm.rows.map((row) => (
            <Row key={row.key} row={row} onDiscard={actions.discard} onRetry={actions.retry} />
          ))}
        </ol>
      </div>
      {vm.askOutcome && actions.setOutcome && <OutcomePrompt onSave={actions.setOutcome} />}
      <p className="typing" aria-live="polite">
        {vm.typing ?? '\u00a0'}
      </p>
      {vm.whisperTargets.length > 0 && actions.setWhisperTo && (
        <label className="whisper-to">
          Send to{' '}
          <select value={vm.whisperTo ?? ''} onChange={(e) => actions.setWhisperTo?.(e.target.value || null)}>
            <option value="">Everyone</option>
            {vm.whisperTargets.map((t) => (
              <option key={t.id} value={t.id}>
                Whisper to {t.name}
              </option>
            ))}
          </select>
        </label>
      )}
      <div className="composer">
        <textarea
          ref={inputRef}
          aria-label={vm.whisperTo ? `Whisper to ${vm.whisperTargets.find((t) => t.id === vm.whisperTo)?.name ?? ''}` : `Message to ${vm.title}`}
          placeholder={
            vm.ended ? 'The session has ended' : vm.pendingInvitation ? 'Accept the invitation to reply' : 'Type a message'
          }
          value={text}
          onChange={(e) => onChange(e.target.value)}
          onKeyDown={onKeyDown}
          disabled={!vm.canSend}
          rows={2}
          style={{ fontSize: `${vm.zoom / 100}rem` }}
        />
        <button type="button" className="primary" onClick={send} disabled={!vm.canSend || !text.trim()}>
          {vm.whisperTo ? 'Whisper' : 'Send'}
        </button>
      </div>
      </div>
      {side && <aside className="consult-side" aria-label="Consultation details">{side}</aside>}
      </div>
    </section>
  );
}
