import type { FormEvent } from 'react';
import { AUDIT_KINDS, type AuditKind } from '../../../models/admin';
import { auditRows } from '../../../viewmodels/admin';
import type { SectionProps } from '../types';
import { HeaderRow } from '../HeaderRow';

/** The audit log: filters (kind, who, about what, refused only, time range), newest first, page by page. */
export function AuditLogSection({ state, actions }: SectionProps) {
  const { filters, entries, hasMore, loading, searched } = state.audit;
  const rows = auditRows(entries, state.users, state.groups, state.integrations);
  const search = (e: FormEvent) => {
    e.preventDefault();
    void actions.searchAudit();
  };
  const people = [...state.users].sort((a, b) => a.display_name.localeCompare(b.display_name));
  return (
    <div className="admin-stack">
      <form className="admin-filters" aria-label="Audit log filters" onSubmit={search}>
        <div>
          <label htmlFor="audit-kind">Kind</label>
          <select id="audit-kind" value={filters.kind} onChange={(e) => actions.setAuditFilters({ kind: e.target.value as AuditKind })}>
            {AUDIT_KINDS.map((k) => (
              <option key={k.id} value={k.id}>
                {k.label}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="audit-actor">Who</label>
          <select id="audit-actor" value={filters.actor} onChange={(e) => actions.setAuditFilters({ actor: e.target.value })}>
            <option value="">Anyone</option>
            {people.map((u) => (
              <option key={u.id} value={u.id}>
                {u.display_name} ({u.username})
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="audit-about">About (interaction id, or user:…, group:…, integration:…)</label>
          <input id="audit-about" value={filters.about} onChange={(e) => actions.setAuditFilters({ about: e.target.value })} />
        </div>
        <div>
          <label htmlFor="audit-from">From</label>
          <input id="audit-from" type="datetime-local" value={filters.from} onChange={(e) => actions.setAuditFilters({ from: e.target.value })} />
        </div>
        <div>
          <label htmlFor="audit-to">Until</label>
          <input id="audit-to" type="datetime-local" value={filters.to} onChange={(e) => actions.setAuditFilters({ to: e.target.value })} />
        </div>
        <div>
          <label htmlFor="audit-refused">
            <input id="audit-refused" type="checkbox" checked={filters.refusedOnly} onChange={(e) => actions.setAuditFilters({ refusedOnly: e.target.checked })} /> Refused
            attempts only
          </label>
        </div>
        <div className="admin-actions">
          <button type="submit" className="primary" disabled={loading}>
            Search
          </button>
          <button type="button" disabled={loading} onClick={() => void actions.resetAuditFilters()}>
            Clear filters
          </button>
        </div>
      </form>
      {rows.length ? (
        <table className="admin-table" aria-label="Audit log">
          <HeaderRow names={['When', 'Who', 'Action', 'About', 'Outcome', 'Detail']} />
          <tbody>
            {rows.map((r) => (
              <tr key={r.id}>
                <td>{r.when}</td>
                <td>{r.who}</td>
                <td>{r.action}</td>
                <td className="admin-wrap">{r.about}</td>
                <td className={r.outcome === 'refused' ? 'failed' : undefined}>{r.outcome === 'refused' ? 'Refused' : 'Allowed'}</td>
                <td className="admin-wrap">{r.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted">{loading || !searched ? 'Loading…' : 'No entries match.'}</p>
      )}
      {hasMore && (
        <button type="button" disabled={loading} onClick={() => void actions.searchAudit(true)}>
          Older entries
        </button>
      )}
    </div>
  );
}
