import type { SoftphoneVM } from '../../../viewmodels/voice';

export interface SoftphoneActions {
  enableMicrophone: () => void;
  setMuted: (muted: boolean) => void;
  selectDevice: (deviceId: string) => void;
  hangUp: (callId: string) => void;
  /** Opens (true) or closes (false) the softphone. */
  show: (open: boolean) => void;
}

/** Microphone, device choice, mute, and each call of this desktop with its state and timer. */
export function Softphone({ vm, actions }: { vm: SoftphoneVM; actions: SoftphoneActions }) {
  if (!vm.available) return null;
  if (!vm.expanded) {
    // an agent who is only chatting keeps the sidebar for the Team Communicator
    return (
      <div className="softphone-closed">
        <button type="button" className="small" aria-expanded={false} aria-controls="softphone" onClick={() => actions.show(true)}>
          <span aria-hidden="true">☎ </span>Softphone
        </button>
      </div>
    );
  }
  return (
    <section className="softphone" id="softphone" aria-labelledby="softphone-title">
      <div className="softphone-head">
        <h2 id="softphone-title">Softphone</h2>
        {vm.canClose && (
          <button type="button" className="small" aria-expanded={true} aria-controls="softphone" onClick={() => actions.show(false)}>
            Hide
          </button>
        )}
      </div>
      {vm.micMessage ? (
        <p className="error" role="alert">
          {vm.micMessage}
        </p>
      ) : vm.micState === 'ready' ? (
        <div className="softphone-devices">
          <label>
            <span className="field-label">Microphone</span>{' '}
            <select value={vm.deviceId} onChange={(e) => actions.selectDevice(e.target.value)}>
              <option value="">Default</option>
              {vm.devices
                .filter((d) => d.id && d.id !== 'default')
                .map((d) => (
                  <option key={d.id} value={d.id}>
                    {d.label}
                  </option>
                ))}
            </select>
          </label>
          <button type="button" aria-pressed={vm.muted} onClick={() => actions.setMuted(!vm.muted)}>
            {vm.muted ? 'Unmute' : 'Mute'}
          </button>
        </div>
      ) : (
        <p className="muted softphone-mic">
          {vm.micState === 'requesting' ? 'Asking for the microphone…' : 'The microphone is asked for with the first call.'}{' '}
          {vm.micState === 'idle' && (
            <button type="button" className="link" onClick={actions.enableMicrophone}>
              Enable microphone
            </button>
          )}
        </p>
      )}
      {vm.calls.length === 0 ? (
        <p className="muted">No calls.</p>
      ) : (
        <ul className="softphone-calls" aria-label="Calls">
          {vm.calls.map((c) => (
            <li key={c.id} className={`softphone-call ${c.ended ? 'ended' : ''}`} aria-label={c.label}>
              <div className="softphone-call-head">
                <span className="call-title">{c.title}</span>
                <span className="call-state" aria-live="polite">
                  <span className={`status-pill ${c.ended ? 'ended' : c.state === 'On hold' ? 'held' : 'connected'}`}>{c.state}</span>{' '}
                  <span className="call-timer" role="timer" aria-label={`${c.title}: call time`}>
                    {c.timer}
                  </span>
                </span>
              </div>
              {c.hold && <p className="call-hold">{c.hold}</p>}
              {c.error && (
                <p className="error" role="alert">
                  {c.error}
                </p>
              )}
              {c.canHangUp && (
                <button type="button" className="danger small" disabled={c.busy} onClick={() => actions.hangUp(c.id)}>
                  Hang Up
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
