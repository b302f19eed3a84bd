import { useId, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { Media } from '../../../protocol/generated';
import { MEDIA_LABELS, snippetParts } from '../../../models/interactions';
import type { ContactVM, HistoryVM, InteractionTabsActions, InteractionTabsVM } from '../../../viewmodels/interaction';

export type TabKey = 'case' | 'contact' | 'history';

const TABS: { key: TabKey; label: string }[] = [
  { key: 'case', label: 'Case Data' },
  { key: 'contact', label: 'Contact Information' },
  { key: 'history', label: 'Contact History' },
];

export interface InteractionTabsProps {
  vm: InteractionTabsVM;
  actions: InteractionTabsActions;
  /** Accessible name of the tab list. */
  label: string;
  initialTab?: TabKey;
}

/** Case Data (read-only), Contact Information and Contact History of an interaction (WAI-ARIA tabs). */
export function InteractionTabs({ vm, actions, label, initialTab = 'case' }: InteractionTabsProps) {
  const [tab, setTab] = useState<TabKey>(initialTab);
  const base = useId();
  const tabRefs = useRef<Record<TabKey, HTMLButtonElement | null>>({ case: null, contact: null, history: null });

  const select = (key: TabKey, focus: boolean) => {
    setTab(key);
    // the history may have grown (a consultation transcript was attached): refresh on every visit
    if (key === 'history' && tab !== 'history') actions.refreshHistory();
    if (focus) tabRefs.current[key]?.focus();
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const i = TABS.findIndex((t) => t.key === tab);
    let next = -1;
    if (e.key === 'ArrowRight') next = (i + 1) % TABS.length;
    else if (e.key === 'ArrowLeft') next = (i - 1 + TABS.length) % TABS.length;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = TABS.length - 1;
    if (next >= 0) {
      e.preventDefault();
      select(TABS[next].key, true);
    }
  };

  return (
    <div className="interaction-tabs">
      <div className="tablist" role="tablist" aria-label={label}>
        {TABS.map((t) => (
          <button
            key={t.key}
            ref={(el) => {
              tabRefs.current[t.key] = el;
            }}
            type="button"
            role="tab"
            id={`${base}-tab-${t.key}`}
            aria-selected={tab === t.key}
            aria-controls={`${base}-panel-${t.key}`}
            tabIndex={tab === t.key ? 0 : -1}
            onClick={() => select(t.key, false)}
            onKeyDown={onKeyDown}
          >
            {t.label}
          </button>
        ))}
      </div>
      {TABS.map((t) => (
        <div
          key={t.key}
          className="tabpanel"
          role="tabpanel"
          id={`${base}-panel-${t.key}`}
          aria-labelledby={`${base}-tab-${t.key}`}
          hidden={tab !== t.key}
        >
          {tab === t.key && t.key === 'case' && <CaseData items={vm.caseData} readOnly />}
          {tab === t.key && t.key === 'contact' && <ContactInfo vm={vm.contact} />}
          {tab === t.key && t.key === 'history' && <ContactHistory vm={vm.history} actions={actions} />}
        </div>
      ))}
    </div>
  );
}

export function CaseData({ items, readOnly }: { items: { key: string; value: string }[]; readOnly: boolean }) {
  if (!items.length) return <p className="muted">No case data.</p>;
  return (
    <>
      {readOnly && <p className="read-only-note">Read-only</p>}
      <table className="kv-table" aria-label="Case Data">
        <tbody>
          {items.map((it, i) => (
            <tr key={`${i}-${it.key}`}>
              <th scope="row">{it.key}</th>
              <td>{it.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function ContactInfo({ vm }: { vm: ContactVM }) {
  if (vm.status === 'loading') return <p className="muted">Loading contact…</p>;
  if (vm.status === 'none') return <p className="muted">{vm.message}</p>;
  if (vm.status !== 'ready')
    return (
      <p className="error" role="alert">
        {vm.message}
      </p>
    );
  return (
    <dl className="contact-info" aria-label="Contact Information">
      <dt>Name</dt>
      <dd>{vm.name}</dd>
      <dt>Phone numbers</dt>
      <dd>
        {vm.phones.length ? (
          <ul>
            {vm.phones.map((p) => (
              <li key={p}>
                <a href={`tel:${p.replace(/\s+/g, '')}`}>{p}</a>
              </li>
            ))}
          </ul>
        ) : (
          '—'
        )}
      </dd>
      <dt>E-mail addresses</dt>
      <dd>
        {vm.emails.length ? (
          <ul>
            {vm.emails.map((m) => (
              <li key={m}>
                <a href={`mailto:${m}`}>{m}</a>
              </li>
            ))}
          </ul>
        ) : (
          '—'
        )}
      </dd>
      {vm.attributes.map((a, i) => (
        <div key={`${i}-${a.key}`} className="contact-attr">
          <dt>{a.key}</dt>
          <dd>{a.value}</dd>
        </div>
      ))}
    </dl>
  );
}

const MEDIA_OPTIONS: { value: Media | ''; label: string }[] = [
  { value: '', label: 'Any media' },
  ...(Object.keys(MEDIA_LABELS) as Media[]).map((m) => ({ value: m, label: MEDIA_LABELS[m] })),
];

export function ContactHistory({ vm, actions }: { vm: HistoryVM; actions: InteractionTabsActions }) {
  const [advanced, setAdvanced] = useState(() => !!(vm.query.media || vm.query.from || vm.query.to || vm.query.agent));
  const base = useId();
  const q = vm.query;
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    actions.search();
  };
  return (
    <div className="contact-history">
      <form role="search" aria-label="Contact history search" className="history-search" onSubmit={onSubmit}>
        <div className="history-quick">
          <input
            type="search"
            aria-label="Search contact history"
            placeholder="Search subject, notes, transcripts"
            value={q.q}
            onChange={(e) => actions.setQuery({ q: e.target.value })}
          />
          <button type="submit">Search</button>
          <button type="button" aria-expanded={advanced} aria-controls={`${base}-adv`} onClick={() => setAdvanced((a) => !a)}>
            Advanced search
          </button>
        </div>
        <fieldset id={`${base}-adv`} className="history-advanced" hidden={!advanced}>
          <legend className="visually-hidden">Advanced search</legend>
          <label>
            Media
            <select value={q.media} onChange={(e) => actions.setQuery({ media: e.target.value as Media | '' }, true)}>
              {MEDIA_OPTIONS.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
          </label>
          <label>
            From
            <input type="date" value={q.from} max={q.to || undefined} onChange={(e) => actions.setQuery({ from: e.target.value }, true)} />
          </label>
          <label>
            To
            <input type="date" value={q.to} min={q.from || undefined} onChange={(e) => actions.setQuery({ to: e.target.value }, true)} />
          </label>
          <label>
            Agent
            <select value={q.agent} onChange={(e) => actions.setQuery({ agent: e.target.value }, true)}>
              <option value="">Any agent</option>
              {vm.agents.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.name}
                </option>
              ))}
            </select>
          </label>
          <button type="button" className="link" onClick={() => actions.setQuery({ q: '', media: '', from: '', to: '', agent: '' }, true)}>
            Clear search
          </button>
        </fieldset>
      </form>
      {vm.status === 'error' && (
        <p className="error" role="alert">
          {vm.message}
        </p>
      )}
      {vm.status === 'loading' && <p className="muted">Loading history…</p>}
      {vm.status === 'ready' && (
        <>
          <p className="history-count" role="status">
            {vm.refreshing ? 'Searching…' : `${vm.rows.length} ${vm.rows.length === 1 ? 'interaction' : 'interactions'}${vm.searching ? ' found' : ''}`}
          </p>
          <ol className="history-list" aria-label="Contact history" aria-busy={vm.refreshing}>
            {vm.rows.map((r) => (
              <li
                key={r.key}
                className={`history-item ${r.current ? 'current' : ''}`}
                aria-current={r.current ? 'true' : undefined}
                aria-label={`${r.mediaLabel}, ${r.time}, ${r.subject}${r.current ? ' (this interaction)' : ''}`}
              >
                <div className="history-head">
                  <span className="history-media">
                    <span aria-hidden="true">{r.icon}</span> {r.mediaLabel}
                  </span>
                  <time dateTime={new Date(r.ts).toISOString()}>{r.time}</time>
                  <span className="history-agent">
                    <span className="visually-hidden">Agent: </span>
                    {r.agent}
                  </span>
                  {r.current && <span className="current-badge">This interaction</span>}
                </div>
                <p className="history-subject">{r.subject || '(no subject)'}</p>
                {r.outcome && (
                  <p className="history-field">
                    <span className="field-label">Outcome:</span> {r.outcome}
                  </p>
                )}
                {r.notes && (
                  <p className="history-field">
                    <span className="field-label">Notes:</span> {r.notes}
                  </p>
                )}
                {r.snippet && (
                  <p className="history-snippet">
                    <span className="field-label">Match:</span>{' '}
                    {snippetParts(r.snippet).map((p, i) => (p.mark ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))}
                  </p>
                )}
                {r.transcripts.map((t) => (
                  <details key={t.key} className="history-transcript">
                    <summary>
                      Transcript: {t.title} <span className="muted">({t.attachedAt})</span>
                    </summary>
                    <pre>{t.text}</pre>
                  </details>
                ))}
              </li>
            ))}
            {vm.rows.length === 0 && <li className="empty">No interactions found.</li>}
          </ol>
        </>
      )}
    </div>
  );
}
