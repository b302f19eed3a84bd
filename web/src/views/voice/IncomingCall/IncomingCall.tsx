import type { IncomingCallVM } from '../../../viewmodels/voice';

export interface IncomingCallProps {
  call: IncomingCallVM;
  onAccept: () => void;
  onReject: () => void;
}

/** Interactive notification of a ringing call (the ring itself is played by the model's effects). */
export function IncomingCall({ call, onAccept, onReject }: IncomingCallProps) {
  return (
    <section className="invite-notification incoming-call" aria-label={call.label}>
      <div className="invite-head">
        <span className="invite-icon ringing" aria-hidden="true">
          ☎
        </span>
        <div>
          <p className="invite-title">{call.kindText}</p>
          <p className="invite-from">{call.from}</p>
        </div>
      </div>
      <p className="invite-message">{call.from} is calling you.</p>
      <div className="invite-actions">
        <button type="button" className="primary" onClick={onAccept} disabled={call.busy}>
          Accept
        </button>
        <button type="button" onClick={onReject} disabled={call.busy}>
          Reject
        </button>
      </div>
    </section>
  );
}
