import { useState, type FormEvent } from 'react';
import type { SectionProps } from '../types';
import { HeaderRow } from '../HeaderRow';

/** Not Ready reasons: the list agents choose from, and a new one. */
export function ReasonsSection({ state, actions }: SectionProps) {
  const [code, setCode] = useState('');
  const [label, setLabel] = useState('');
  const create = async (e: FormEvent) => {
    e.preventDefault();
    if (await actions.createReason(code.trim(), label)) {
      setCode('');
      setLabel('');
    }
  };
  return (
    <div className="admin-columns">
      <table className="admin-table" aria-label="Not Ready reasons">
        <HeaderRow names={['Code', 'Label']} />
        <tbody>
          {state.reasons.map((r) => (
            <tr key={r.code}>
              <td>{r.code}</td>
              <td>{r.label}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="admin-form" aria-labelledby="new-reason-title" onSubmit={(e) => void create(e)}>
        <h2 id="new-reason-title">New Not Ready reason</h2>
        <label htmlFor="reason-code">Code</label>
        <input id="reason-code" value={code} onChange={(e) => setCode(e.target.value)} />
        <label htmlFor="reason-label">Label</label>
        <input id="reason-label" value={label} onChange={(e) => setLabel(e.target.value)} />
        <button type="submit" className="primary" disabled={state.busy || !code.trim() || !label.trim()}>
          Add reason
        </button>
      </form>
    </div>
  );
}
