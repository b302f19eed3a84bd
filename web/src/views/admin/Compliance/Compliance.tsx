import { useState, type FormEvent } from 'react';
import type { HoldTarget } from '../../../protocol/generated';
import type { SectionProps } from '../types';
import { HeaderRow } from '../HeaderRow';

/** Hands JSON text to the browser as a file download. */
function download(name: string, json: string): void {
  const url = URL.createObjectURL(new Blob([json], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function Retention({ state, actions }: SectionProps) {
  const r = state.retention;
  return (
    <section className="admin-form" aria-labelledby="retention-title">
      <h2 id="retention-title">Retention</h2>
      <p className="muted">Deletes what is older than the configured retention ages and not under a legal hold.</p>
      <div className="admin-actions">
        <button type="button" disabled={state.busy} onClick={() => void actions.runRetention(true)}>
          Count what would be deleted
        </button>
        <button type="button" className="danger" disabled={state.busy} onClick={() => void actions.runRetention(false)}>
          Delete now
        </button>
      </div>
      {r && (
        <p role="status" aria-label="Retention report">
          {r.dry_run ? 'Would delete' : 'Deleted'}: {r.transcripts} transcript(s), {r.interactions} interaction(s), {r.audit} audit entr{r.audit === 1 ? 'y' : 'ies'}.
        </p>
      )}
    </section>
  );
}

function LegalHolds({ state, actions }: SectionProps) {
  const [kind, setKind] = useState<HoldTarget>('contact');
  const [id, setId] = useState('');
  const [reason, setReason] = useState('');
  const place = async (e: FormEvent) => {
    e.preventDefault();
    if (await actions.placeHold(kind, id, reason)) {
      setId('');
      setReason('');
    }
  };
  return (
    <section className="admin-details" aria-labelledby="holds-title">
      <h2 id="holds-title">Legal holds</h2>
      {state.holds.length ? (
        <table className="admin-table" aria-label="Legal holds">
          <HeaderRow names={['On', 'Reason', 'Placed', '']} />
          <tbody>
            {state.holds.map((h) => (
              <tr key={`${h.target_kind}:${h.target_id}`}>
                <td className="admin-wrap">
                  {h.target_kind} {h.target_id}
                </td>
                <td>{h.reason}</td>
                <td>{new Date(h.placed_at).toLocaleString()}</td>
                <td>
                  <button type="button" className="small" disabled={state.busy} onClick={() => void actions.liftHold(h.target_kind, h.target_id)}>
                    Lift
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted">No legal holds.</p>
      )}
      <form className="admin-form" aria-label="Place a legal hold" onSubmit={(e) => void place(e)}>
        <label htmlFor="hold-kind">On a</label>
        <select id="hold-kind" value={kind} onChange={(e) => setKind(e.target.value as HoldTarget)}>
          <option value="contact">Contact</option>
          <option value="interaction">Interaction</option>
        </select>
        <label htmlFor="hold-id">Its id</label>
        <input id="hold-id" value={id} onChange={(e) => setId(e.target.value)} />
        <label htmlFor="hold-reason">Reason (case or matter reference)</label>
        <input id="hold-reason" value={reason} onChange={(e) => setReason(e.target.value)} />
        <button type="submit" className="primary" disabled={state.busy || !id.trim() || !reason.trim()}>
          Place legal hold
        </button>
      </form>
    </section>
  );
}

function Contact({ state, actions }: SectionProps) {
  const [id, setId] = useState('');
  const [sure, setSure] = useState(false);
  return (
    <form className="admin-form" aria-labelledby="contact-title" onSubmit={(e) => e.preventDefault()}>
      <h2 id="contact-title">A contact's data</h2>
      <label htmlFor="contact-id">Contact id</label>
      <input id="contact-id" value={id} onChange={(e) => setId(e.target.value)} />
      <div className="admin-actions">
        <button type="button" disabled={state.busy || !id.trim()} onClick={() => void actions.exportContact(id, (json) => download(`contact-${id.trim()}.json`, json))}>
          Export as JSON
        </button>
      </div>
      <label htmlFor="erase-sure">
        <input id="erase-sure" type="checkbox" checked={sure} onChange={(e) => setSure(e.target.checked)} /> I understand that erasing deletes the contact, its
        interactions and the consultations about them for good
      </label>
      <div className="admin-actions">
        <button
          type="button"
          className="danger"
          disabled={state.busy || !id.trim() || !sure}
          onClick={() =>
            void actions.eraseContact(id).then((ok) => {
              if (ok) {
                setId('');
                setSure(false);
              }
            })
          }
        >
          Erase contact
        </button>
      </div>
    </form>
  );
}

function Redaction({ state, actions }: SectionProps) {
  const [session, setSession] = useState('');
  const [seq, setSeq] = useState('');
  const [reason, setReason] = useState('');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (await actions.redactMessage(session, Number(seq), reason)) {
      setSeq('');
      setReason('');
    }
  };
  return (
    <form className="admin-form" aria-labelledby="redact-title" onSubmit={(e) => void submit(e)}>
      <h2 id="redact-title">Redact a message</h2>
      <label htmlFor="redact-session">Session id</label>
      <input id="redact-session" value={session} onChange={(e) => setSession(e.target.value)} />
      <label htmlFor="redact-seq">Message number (seq)</label>
      <input id="redact-seq" type="number" min={1} value={seq} onChange={(e) => setSeq(e.target.value)} />
      <label htmlFor="redact-reason">Reason (kept in the audit log)</label>
      <input id="redact-reason" value={reason} onChange={(e) => setReason(e.target.value)} />
      <button type="submit" className="danger" disabled={state.busy || !session.trim() || !(Number(seq) >= 1)}>
        Redact message
      </button>
    </form>
  );
}

/** Compliance: retention, legal holds, a contact's export and erasure, redaction. */
export function ComplianceSection(props: SectionProps) {
  return (
    <div className="admin-columns">
      <div>
        <Retention {...props} />
        <Contact {...props} />
        <Redaction {...props} />
      </div>
      <LegalHolds {...props} />
    </div>
  );
}
