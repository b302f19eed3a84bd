import { useEffect, useRef, type ReactNode } from 'react';
import type { InteractionTabsActions, InteractionWindowVM } from '../../../viewmodels/interaction';
import { InteractionTabs } from '../InteractionTabs/InteractionTabs';

export interface InteractionWindowActions {
  startConsultation: () => void;
  done: () => void;
  minimize: () => void;
  dismissError: () => void;
}

export interface InteractionWindowProps {
  vm: InteractionWindowVM;
  actions: InteractionWindowActions;
  tabActions: InteractionTabsActions;
  focusOnMount?: boolean;
  /** Call controls of a voice interaction with a call. */
  voice?: ReactNode;
}

/** A voice, chat or e-mail interaction: toolbar, status, consultations, and the Case Data / Contact tabs. */
export function InteractionWindow({ vm, actions, tabActions, focusOnMount, voice }: InteractionWindowProps) {
  const titleId = `interaction-title-${vm.id}`;
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (focusOnMount) headingRef.current?.focus();
  }, [focusOnMount]);
  const statusClass = vm.ended ? 'ended' : 'connected';
  return (
    <section className={`im-window interaction-window media-${vm.media}`} aria-label={vm.label}>
      <header className="im-toolbar" role="toolbar" aria-label={`Interaction toolbar: ${vm.contactName}`}>
        <div className="im-title">
          <span className="im-avatar media-avatar" aria-hidden="true">
            {vm.icon}
          </span>
          <div>
            <h2 id={titleId} ref={headingRef} tabIndex={-1}>
              {vm.contactName}
            </h2>
            <p className="im-status">
              <span className="media-label">{vm.mediaLabel}</span>
              <span className="visually-hidden">Status: </span>
              <span className={`status-pill ${statusClass}`}>{vm.status}</span>
              <span className="status-detail" title={vm.startedAt}>
                {vm.subject}
              </span>
            </p>
          </div>
        </div>
        <div className="im-actions">
          <button type="button" className="primary" onClick={actions.startConsultation} disabled={!vm.canConsult}>
            <span aria-hidden="true">⇄ </span>Start Consultation
          </button>
          <button
            type="button"
            onClick={actions.done}
            disabled={!vm.ended}
            title={vm.ended ? 'Close this interaction' : 'Available once the interaction has ended'}
          >
            Done
          </button>
          <button type="button" className="icon-button" aria-label={`Minimize ${vm.contactName}`} onClick={actions.minimize}>
            –
          </button>
        </div>
      </header>
      {voice}
      {vm.error && (
        <p className="error im-error" role="alert">
          {vm.error}{' '}
          <button type="button" className="link" onClick={actions.dismissError}>
            Dismiss
          </button>
        </p>
      )}
      {(vm.consultations.length > 0 || vm.outcome) && (
        <div className="interaction-meta">
          {vm.outcome && (
            <p>
              <span className="field-label">Outcome:</span> {vm.outcome}
            </p>
          )}
          {vm.consultations.length > 0 && (
            <p>
              <span className="field-label">Consultations:</span>{' '}
              {vm.consultations.map((c, i) => (
                <span key={c.sessionId}>
                  {i > 0 && ', '}
                  {c.target} ({c.state})
                </span>
              ))}
            </p>
          )}
        </div>
      )}
      <InteractionTabs vm={vm.tabs} actions={tabActions} label={`${vm.contactName}: interaction details`} />
    </section>
  );
}
