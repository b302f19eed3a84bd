import type { DirectoryFilter, TargetAction } from '../../../protocol/generated';
import type { DirectoryRow } from '../../../viewmodels/main';
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
}

const FILTERS: { value: DirectoryFilter; label: string }[] = [
  { value: 'all', label: 'All' },
  { value: 'agents', label: 'Agents' },
  { value: 'groups', label: 'Groups' },
  { value: 'favourites', label: 'Favourites' },
  { value: 'recent', label: 'Recent' },
];

export function TeamCommunicator({ query, filter, rows, loading, error, onQuery, onFilter, onAction }: TeamCommunicatorProps) {
  return (
    <section className="team-communicator" aria-labelledby="tc-title">
      <h2 id="tc-title">Team Communicator</h2>
      <div className="search">
        <span aria-hidden="true" className="search-icon">
          ⌕
        </span>
        <input
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
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <ul className="results" aria-label="Results" aria-busy={loading}>
        {rows.map((row) => (
          <li key={row.id} className="result" aria-label={`${row.name}, ${row.statusText}`}>
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
                items={row.actions.map((a) => ({ key: a.action, label: a.label, onSelect: () => onAction(row, a.action) }))}
              >
                <span aria-hidden="true">⋯</span>
              </MenuButton>
            )}
          </li>
        ))}
        {!loading && rows.length === 0 && <li className="empty">No matches.</li>}
      </ul>
    </section>
  );
}
