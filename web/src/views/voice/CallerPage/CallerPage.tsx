import { useState, useSyncExternalStore, type FormEvent } from 'react';
import { callerStatus, type CallerModel } from '../../../models/caller';
import { MIC_DENIED_TEXT } from '../../../models/app';

/** The click-to-call page at `/call`: a name, *Call*, the call's state, *Hang Up*. */
export function CallerPage({ model }: { model: CallerModel }) {
  const state = useSyncExternalStore(model.store.subscribe, model.store.getState, model.store.getState);
  const [name, setName] = useState('');
  const status = callerStatus(state);
  const inCall = state.phase === 'calling' || state.phase === 'in_call';
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (state.phase === 'ended') model.reset();
    void model.call(name);
  };
  return (
    <main className="caller-page">
      <section className="caller-card" aria-labelledby="caller-title">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            B
          </span>
          <h1 id="caller-title">Call us</h1>
        </div>
        <p className="muted">Talk to one of our agents from your browser.</p>
        <form onSubmit={onSubmit}>
          <label htmlFor="caller-name">Your name</label>
          <input id="caller-name" value={name} onChange={(e) => setName(e.target.value)} disabled={inCall} autoComplete="name" required maxLength={100} />
          <button type="submit" className="primary" disabled={inCall || !name.trim()}>
            Call
          </button>
        </form>
        {state.error && (
          <p className="error" role="alert">
            {state.error}
          </p>
        )}
        {state.mic === 'denied' && (
          <p className="error" role="alert">
            {MIC_DENIED_TEXT.replace(', IM keeps working', '')}
          </p>
        )}
        {status && (
          <p className={`caller-status ${status === 'Call ended' ? 'ended' : ''}`} role="status" aria-live="polite">
            {status}
          </p>
        )}
        {state.phase === 'in_call' && (
          <button type="button" className="danger" onClick={() => void model.hangUp()} disabled={state.busy}>
            Hang Up
          </button>
        )}
      </section>
    </main>
  );
}
