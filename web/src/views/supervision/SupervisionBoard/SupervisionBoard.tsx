import type { BoardConsultationVM, SupervisionVM } from '../../../viewmodels/supervision';

export interface SupervisionBoardActions {
  join: (id: string) => void;
  open: (id: string) => void;
  reload: () => void;
}

function ConsultationRow({ c, actions }: { c: BoardConsultationVM; actions: SupervisionBoardActions }) {
  return (
    <li className={`board-consultation ${c.state} ${c.escalated ? 'escalated' : ''}`} aria-label={`Consultation from ${c.from} about ${c.about}`}>
      <div className="board-line">
        <strong className="board-from">{c.from}</strong>
        <span className="muted"> about </span>
        <span className="board-about">{c.about}</span>
      </div>
      <div className="board-line">
        <span className="board-target">{c.target}</span>
        <span className={`status-pill ${c.state}`}>{c.timer}</span>
        {c.escalated && (
          <span className="board-mark escalated-mark" role="status">
            <span aria-hidden="true">▲ </span>
            {c.escalated}
          </span>
        )}
        {c.onHold && (
          <span className="board-mark hold-mark">
            <span aria-hidden="true">⏸ </span>
            {c.onHold}
          </span>
        )}
      </div>
      {c.action && (
        <div className="board-actions">
          {c.action === 'join' ? (
            <button type="button" className="small primary" onClick={() => actions.join(c.id)} aria-label={`Join the consultation from ${c.from}`}>
              Join
            </button>
          ) : (
            <button type="button" className="small" onClick={() => actions.open(c.id)} aria-label={`Open the consultation from ${c.from}`}>
              Open
            </button>
          )}
        </div>
      )}
    </li>
  );
}

/** The supervision page: the supervised groups' open and waiting consultations, and their members' status. */
export function SupervisionBoard({ vm, actions }: { vm: SupervisionVM; actions: SupervisionBoardActions }) {
  return (
    <section className="supervision" aria-labelledby="supervision-title">
      <header className="supervision-header">
        <h2 id="supervision-title">Supervision</h2>
        <button type="button" className="small" onClick={actions.reload}>
          Refresh
        </button>
      </header>
      {vm.error && (
        <p className="error" role="alert">
          {vm.error}
        </p>
      )}
      {vm.loading && <p className="muted">Loading the board…</p>}
      <div className="supervision-body">
        <section className="board-consultations" aria-labelledby="board-consultations-title">
          <h3 id="board-consultations-title">Consultations</h3>
          {vm.consultations.length ? (
            <ul>
              {vm.consultations.map((c) => (
                <ConsultationRow key={c.id} c={c} actions={actions} />
              ))}
            </ul>
          ) : (
            <p className="muted">No open or waiting consultations.</p>
          )}
        </section>
        <section className="board-groups" aria-labelledby="board-groups-title">
          <h3 id="board-groups-title">Groups</h3>
          {vm.groups.map((g) => (
            <section key={g.id} className="board-group" aria-label={`Group ${g.name}`}>
              <h4>{g.name}</h4>
              {g.members.length ? (
                <ul>
                  {g.members.map((m) => (
                    <li key={m.id} className="board-member" aria-label={`${m.name}: ${m.statusText}`}>
                      <span className={`presence-dot s-${m.status}`} aria-hidden="true" />
                      <span className="board-member-name">{m.name}</span>
                      <span className="muted board-member-status">{m.statusText}</span>
                    </li>
                  ))}
                </ul>
              ) : (
                <p className="muted">No members.</p>
              )}
            </section>
          ))}
        </section>
      </div>
    </section>
  );
}
