import type { AdminSection } from '../../../models/admin';
import { AccountsSection } from '../Accounts/Accounts';
import { AuditLogSection } from '../AuditLog/AuditLog';
import { ComplianceSection } from '../Compliance/Compliance';
import { GroupsSection } from '../Groups/Groups';
import { IntegrationsSection } from '../Integrations/Integrations';
import { ReasonsSection } from '../Reasons/Reasons';
import type { SectionProps } from '../types';

const SECTIONS: { id: AdminSection; label: string }[] = [
  { id: 'accounts', label: 'Accounts' },
  { id: 'groups', label: 'Groups' },
  { id: 'reasons', label: 'Not Ready reasons' },
  { id: 'integrations', label: 'Integrations' },
  { id: 'compliance', label: 'Compliance' },
  { id: 'audit', label: 'Audit log' },
];

/** The administration area: one section at a time, the last command's outcome above it. */
export function AdminConsole({ state, actions }: SectionProps) {
  return (
    <main className="admin" aria-labelledby="admin-title">
      <div className="admin-head">
        <h1 id="admin-title">Administration</h1>
        <nav aria-label="Administration sections">
          <ul className="admin-tabs">
            {SECTIONS.map((s) => (
              <li key={s.id}>
                <button type="button" aria-current={state.section === s.id ? 'page' : undefined} onClick={() => actions.show(s.id)}>
                  {s.label}
                </button>
              </li>
            ))}
          </ul>
        </nav>
      </div>
      {state.error && (
        <p className="error admin-message" role="alert">
          {state.error}{' '}
          <button type="button" className="link" onClick={() => actions.dismissMessages()}>
            Dismiss
          </button>
        </p>
      )}
      {state.notice && (
        <p className="notice admin-message" role="status">
          {state.notice}
        </p>
      )}
      {!state.loaded ? (
        <p className="muted" aria-busy={state.busy}>
          {state.busy ? 'Loading…' : ''}
        </p>
      ) : (
        <div className="admin-section">
          {state.section === 'accounts' && <AccountsSection state={state} actions={actions} />}
          {state.section === 'groups' && <GroupsSection state={state} actions={actions} />}
          {state.section === 'reasons' && <ReasonsSection state={state} actions={actions} />}
          {state.section === 'integrations' && <IntegrationsSection state={state} actions={actions} />}
          {state.section === 'compliance' && <ComplianceSection state={state} actions={actions} />}
          {state.section === 'audit' && <AuditLogSection state={state} actions={actions} />}
        </div>
      )}
    </main>
  );
}
