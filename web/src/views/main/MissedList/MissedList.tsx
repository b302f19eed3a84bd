import type { MissedRow } from '../../../viewmodels/main';

export interface MissedListProps {
  rows: MissedRow[];
  onReply: (id: string) => void;
  onDismiss: (id: string) => void;
}

/** Invitations that timed out unanswered: each until the agent replies to it or dismisses it. */
export function MissedList({ rows, onReply, onDismiss }: MissedListProps) {
  if (!rows.length) return null;
  return (
    <section className="missed" aria-labelledby="missed-title">
      <h2 id="missed-title">Missed</h2>
      <ul>
        {rows.map((r) => (
          <li key={r.id} aria-label={`Missed invitation from ${r.from}`}>
            <p className="missed-from">
              {r.from}
              {r.context && <span className="muted"> · {r.context}</span>} <time className="muted">{r.time}</time>
            </p>
            {r.message && <p className="missed-message">{r.message}</p>}
            <div className="missed-actions">
              <button type="button" className="small primary" onClick={() => onReply(r.id)}>
                Reply
              </button>
              <button type="button" className="small" onClick={() => onDismiss(r.id)}>
                Dismiss
              </button>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
