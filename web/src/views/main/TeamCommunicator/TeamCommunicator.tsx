import { useEffect, useRef, useState } from 'react';
import type { DirectoryFilter, TargetAction } from '../../../protocol/generated';
import type { ConsultationContextVM, DirectoryRow } from '../../../viewmodels/main';
import { MenuButton } from '../../common/MenuButton/MenuButton';

export interface TeamCommunicatorProps {
  query: string;
  filter: DirectoryFilter;
  rows: DirectoryRow[];
  loading: boolean;
  error: string | null;
  onQuery: (q: string) => void;
  onFilter: (f: DirectoryFilter) => void;
  onAction: (row: DirectoryRow, action: TargetAction) => void;
  /** Set when opened by *Start Consultation* of an interaction. */
  context?: ConsultationContextVM | null;
  onLeaveContext?: () => void;
  /** A group the agent writes a consultation's first message to (it is offered with it). */
  compose?: { name: string } | null;
  onComposeSend?: (text: string) => void;
  onComposeCancel?: () => void;
}

/** The first message of a group consultation: the members are offered it with this text. */
function GroupCompose({ name, onSend, onCancel }: { name: string; onSend: (text: string) => void; onCancel: () => void }) {
  const [text, setText] = useState('');
  const ref = useRef<HTMLTextAreaElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <form
      className="group-compose"
      aria-label={`Consultation with ${name}`}
      onSubmit={(e) => {
        e.preventDefault();
        if (text.trim()) onSend(text);
      }}
    >
      <p>
        <span className="field-label">Instant Message Consultation with</span> {name}: the first member to accept takes it.
      </p>
      <textarea ref={ref} aria-label={`First message to ${name}`} rows={2} value={text} onChange={(e) => setText(e.target.value)} />
      <div className="invite-actions">
        <button type="submit" className="primary small" disabled={!text.trim()}>
          Offer to group
        </button>
        <button type="button" className="small" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function TargetRow({ row, selected, onAction }: { row: DirectoryRow; selected?: boolean; onAction: (row: DirectoryRow, action: TargetAction) => void }) {
  return (
    <li
      className={`result ${selected ? 'selected' : ''}`}
      aria-label={`${row.name}, ${row.statusText}`}
      aria-current={selected ? 'true' : undefined}
      data-target-id={row.id}
    >
      <span className={`presence-dot s-${row.status ?? 'group'}`} aria-hidden="true" />
      <span className="result-text">
        <span className="result-name">
          {row.name}
          {row.entry.favourite && (
            <span className="fav" title="Favourite">
              <span aria-hidden="true">★</span>
              <span className="visually-hidden"> (favourite)</span>
            </span>
          )}
        </span>
        <span className="result-detail">
          <span className="result-status">{row.statusText}</span>
          {row.detail && <span> · {row.detail}</span>}
        </span>
      </span>
      {row.actions.length > 0 && (
        <MenuButton
          className="actions"
          label={`Actions for ${row.name}`}
          menuLabel={`Actions for ${row.name}`}
          items={row.actions.map((a) => ({
            key: a.action,
            label: a.label,
            disabled: a.disabled,
            reason: a.reason,
            onSelect: () => onAction(row, a.action),
          }))}
        >
          <span aria-hidden="true">⋯</span>
        </MenuButton>
      )}
    </li>
  );
}

const FILTERS: { value: DirectoryFilter; label: string }[] = [
  { value: 'all', label: 'All' },
  { value: 'agents', label: 'Agents' },
  { value: 'groups', label: 'Groups' },
  { value: 'favourites', label: 'Favourites' },
  { value: 'recent', label: 'Recent' },
];

export function TeamCommunicator({
  query,
  filter,
  rows,
  loading,
  error,
  onQuery,
  onFilter,
  onAction,
  context,
  onLeaveContext,
  compose,
  onComposeSend,
  onComposeCancel,
}: TeamCommunicatorProps) {
  const searchRef = useRef<HTMLInputElement>(null);
  const activeRef = useRef<HTMLUListElement>(null);
  const handledFocus = useRef(0);
  const focusRequest = context?.focusRequest ?? 0;
  const preselected = context?.preselected ?? null;
  // Start Consultation: focus the pre-selected consultation target once loaded, else the search box
  useEffect(() => {
    if (!context || focusRequest <= handledFocus.current || loading) return;
    handledFocus.current = focusRequest;
    const target = preselected
      ? activeRef.current?.querySelector<HTMLElement>(`li[data-target-id="${CSS.escape(preselected)}"] .actions > button`)
      : null;
    (target ?? searchRef.current)?.focus();
  }, [context, focusRequest, loading, preselected]);

  return (
    <section className={`team-communicator ${context ? 'in-context' : ''}`} aria-labelledby="tc-title">
      <h2 id="tc-title">Team Communicator</h2>
      {context && (
        <div className="tc-context" role="group" aria-label="Consultation context">
          <p>
            <span className="field-label">Consultation about</span> {context.summary}
          </p>
          <button type="button" className="small" onClick={onLeaveContext}>
            Close consultation
          </button>
        </div>
      )}
      {context && (
        <section className="active-consultations" aria-labelledby="tc-active-title">
          <h3 id="tc-active-title">Active Consultations</h3>
          {context.activeConsultations.length ? (
            <ul className="results" aria-labelledby="tc-active-title" ref={activeRef}>
              {context.activeConsultations.map((row) => (
                <TargetRow key={row.id} row={row} selected={row.id === context.preselected} onAction={onAction} />
              ))}
            </ul>
          ) : (
            <p className="muted">None yet.</p>
          )}
        </section>
      )}
      <div className="search">
        <span aria-hidden="true" className="search-icon">
          ⌕
        </span>
        <input
          ref={searchRef}
          type="search"
          aria-label="Team Communicator"
          placeholder="Search colleagues and groups"
          value={query}
          onChange={(e) => onQuery(e.target.value)}
        />
      </div>
      <div className="filters" role="group" aria-label="Filter">
        {FILTERS.map((f) => (
          <button key={f.value} type="button" aria-pressed={filter === f.value} onClick={() => onFilter(f.value)}>
            {f.label}
          </button>
        ))}
      </div>
      {compose && onComposeSend && onComposeCancel && (
        <GroupCompose key={compose.name} name={compose.name} onSend={onComposeSend} onCancel={onComposeCancel} />
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <ul className="results" aria-label="Results" aria-busy={loading}>
        {rows.map((row) => (
          <TargetRow key={row.id} row={row} onAction={onAction} />
        ))}
        {!loading && rows.length === 0 && <li className="empty">No matches.</li>}
      </ul>
    </section>
  );
}
