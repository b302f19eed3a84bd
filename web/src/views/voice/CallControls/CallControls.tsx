import type { CallAction } from '../../../protocol/rest';
import type { InteractionVoiceVM } from '../../../viewmodels/voice';

export interface CallControlsProps {
  vm: InteractionVoiceVM;
  onAction: (callId: string, action: CallAction) => void;
  onDismissError: () => void;
}

/** The voice part of an interaction window: the contact call and the voice consultations. */
export function CallControls({ vm, onAction, onDismissError }: CallControlsProps) {
  const c = vm.contactCall;
  return (
    <div className="call-controls">
      {c && (
        <div className="call-line" role="group" aria-label="Call controls">
          <span className="field-label">Call</span>
          <span className={`status-pill ${c.state === 'Call ended' ? 'ended' : c.state === 'On hold' ? 'held' : 'connected'}`}>{c.state}</span>
          <span className="call-timer" role="timer" aria-label="Call time">
            {c.timer}
          </span>
          {c.hold && <span className="call-hold">{c.hold}</span>}
          <span className="call-buttons">
            {c.canHold && (
              <button type="button" onClick={() => onAction(c.id, 'hold')} disabled={c.busy}>
                Hold
              </button>
            )}
            {c.canRetrieve && (
              <button type="button" onClick={() => onAction(c.id, 'retrieve')} disabled={c.busy}>
                Retrieve
              </button>
            )}
            {c.canHangUp && (
              <button type="button" className="danger" onClick={() => onAction(c.id, 'hang-up')} disabled={c.busy}>
                Hang Up
              </button>
            )}
          </span>
        </div>
      )}
      {vm.consultations.map((k) => (
        <div key={k.id} className="call-line consultation" role="group" aria-label={k.title}>
          <span className="field-label">{k.title}</span>
          <span className={`status-pill ${k.state === 'Call ended' ? 'ended' : 'connected'}`}>{k.state}</span>
          <span className="call-timer" role="timer" aria-label="Consultation time">
            {k.timer}
          </span>
          {!c && k.hold && <span className="call-hold">{k.hold}</span>}
          {k.initiator && k.state !== 'Call ended' && (
            <span className="call-buttons">
              <button type="button" onClick={() => onAction(k.id, 'end-consultation')} disabled={k.busy}>
                End Consultation
              </button>
              <button type="button" onClick={() => onAction(k.id, 'complete-transfer')} disabled={k.busy || !k.canComplete}>
                Complete Transfer
              </button>
              <button type="button" onClick={() => onAction(k.id, 'complete-conference')} disabled={k.busy || !k.canComplete}>
                Complete Conference
              </button>
            </span>
          )}
        </div>
      ))}
      {vm.error && (
        <p className="error" role="alert">
          {vm.error}{' '}
          <button type="button" className="link" onClick={onDismissError}>
            Dismiss
          </button>
        </p>
      )}
    </div>
  );
}
