import type { TaskbarItem } from '../../../viewmodels/main';

export interface TaskBarProps {
  items: TaskbarItem[];
  onOpen: (id: string) => void;
  onOpenInteraction?: (id: string) => void;
  onAccept: (id: string) => void;
  onReject: (id: string) => void;
}

export function TaskBar({ items, onOpen, onOpenInteraction, onAccept, onReject }: TaskBarProps) {
  return (
    <nav className="taskbar" aria-label="Task bar">
      {items.length === 0 && <span className="taskbar-empty">No open interactions</span>}
      <ul>
        {items.map((it) => (
          <li key={`${it.kind}:${it.id}`} className={`task task-${it.kind} ${it.pending ? 'pending' : ''} ${it.open ? 'open' : ''} ${it.state === 'Ended' ? 'ended' : ''}`}>
            <button
              type="button"
              className="task-open"
              aria-label={it.label}
              aria-pressed={it.open}
              onClick={() => (it.kind === 'interaction' ? onOpenInteraction?.(it.id) : onOpen(it.id))}
            >
              <span className="task-icon" aria-hidden="true">
                {it.icon ?? (it.pending ? '✉' : '▤')}
              </span>
              <span className="task-name">{it.name}</span>
              {it.subject && <span className="task-subject">{it.subject}</span>}
              <span className="task-state">{it.state}</span>
              {it.unread > 0 && (
                <span className="badge" aria-hidden="true">
                  {it.unread}
                </span>
              )}
            </button>
            {it.pending && (
              <span className="task-actions" role="group" aria-label={`Invitation from ${it.name}`}>
                <button type="button" className="small accept" onClick={() => onAccept(it.id)}>
                  Accept
                </button>
                <button type="button" className="small reject" onClick={() => onReject(it.id)}>
                  Reject
                </button>
              </span>
            )}
          </li>
        ))}
      </ul>
    </nav>
  );
}
