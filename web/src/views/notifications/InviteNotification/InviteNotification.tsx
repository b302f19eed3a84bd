import type { InvitationCard } from '../../../viewmodels/main';

export interface InviteNotificationProps {
  card: InvitationCard;
  onAccept: () => void;
  onReject: () => void;
  onDismiss: () => void;
}

/** Interactive notification of an incoming invitation. It never takes keyboard focus by itself. */
export function InviteNotification({ card, onAccept, onReject, onDismiss }: InviteNotificationProps) {
  return (
    <section className="invite-notification" role="group" aria-label={`Instant message invitation from ${card.from}`}>
      <div className="invite-head">
        <span className="invite-icon" aria-hidden="true">
          ✉
        </span>
        <div>
          <p className="invite-title">
            {card.group ? `Group Consultation · ${card.group}` : card.consultation ? 'Instant Message Consultation' : 'Instant Message'}
          </p>
          <p className="invite-from">{card.from}</p>
        </div>
        <button type="button" className="icon-button" aria-label="Dismiss" onClick={onDismiss}>
          ×
        </button>
      </div>
      <p className="invite-message">{card.message ?? `${card.from} wants to start an instant message session.`}</p>
      <div className="invite-actions">
        <button type="button" className="primary" onClick={onAccept}>
          Accept
        </button>
        <button type="button" onClick={onReject}>
          Reject
        </button>
      </div>
    </section>
  );
}

export interface WithdrawnNotificationProps {
  group: string;
  text: string;
  onDismiss: () => void;
}

/** A group invitation taken by someone else (or otherwise withdrawn): "Taken by Dave Durand". */
export function WithdrawnNotification({ group, text, onDismiss }: WithdrawnNotificationProps) {
  return (
    <section className="invite-notification withdrawn" role="group" aria-label={`Group consultation withdrawn: ${group}`}>
      <div className="invite-head">
        <span className="invite-icon" aria-hidden="true">
          ✉
        </span>
        <div>
          <p className="invite-title">Group Consultation · {group}</p>
          <p className="invite-from">{text}</p>
        </div>
        <button type="button" className="icon-button" aria-label="Dismiss" onClick={onDismiss}>
          ×
        </button>
      </div>
    </section>
  );
}
