import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { initialAdminState, type AdminState } from '../../../models/admin';
import type { AdminActions } from '../types';
import { AdminConsole } from './AdminConsole';

afterEach(cleanup);

function actions(): AdminActions {
  const fns = [
    'load', 'show', 'dismissMessages', 'selectUser', 'createUser', 'updateUser', 'resetPassword', 'setDisabled', 'selectGroup',
    'createGroup', 'updateGroup', 'setGroupRole', 'createReason', 'createIntegration', 'rotate', 'dismissSecret', 'showDeliveries',
    'closeDeliveries', 'loadDeliveries', 'redeliver', 'runRetention', 'placeHold', 'liftHold', 'exportContact', 'eraseContact',
    'redactMessage', 'setAuditFilters', 'searchAudit', 'resetAuditFilters',
  ];
  return Object.fromEntries(fns.map((f) => [f, vi.fn(async () => true)])) as unknown as AdminActions;
}

const loaded = (patch: Partial<AdminState>): AdminState => ({ ...initialAdminState(), loaded: true, ...patch });

describe('AdminConsole', () => {
  it('shows the failure of the last command as an alert, and the sections as a navigation', () => {
    const a = actions();
    render(<AdminConsole state={loaded({ error: 'No such account: no account "x" (user_not_found)' })} actions={a} />);
    expect(screen.getByRole('alert').textContent).toContain('(user_not_found)');
    fireEvent.click(screen.getByRole('button', { name: 'Audit log' }));
    expect(a.show).toHaveBeenCalledWith('audit');
    expect(screen.getByRole('button', { name: 'Accounts' }).getAttribute('aria-current')).toBe('page');
  });

  it('labels every field of a new account and refuses a short password before sending', () => {
    const a = actions();
    render(<AdminConsole state={loaded({})} actions={a} />);
    const form = screen.getByRole('form', { name: 'New account' });
    fireEvent.change(screen.getByLabelText('Username'), { target: { value: 'nina' } });
    fireEvent.change(screen.getByLabelText('Display name'), { target: { value: 'Nina' } });
    fireEvent.change(screen.getByLabelText('Initial password'), { target: { value: 'short' } });
    expect((screen.getByLabelText('Agent') as HTMLInputElement).checked).toBe(true);
    fireEvent.submit(form);
    expect(screen.getByRole('alert').textContent).toMatch(/^Password/);
    expect(a.createUser).not.toHaveBeenCalled();
  });

  it('shows a new token once, until dismissed', () => {
    const a = actions();
    render(<AdminConsole state={loaded({ section: 'integrations', secret: { integration: 'CRM', token: 'bli_x' } })} actions={a} />);
    expect(screen.getByLabelText('New token').textContent).toBe('bli_x');
    expect(screen.queryByLabelText('New webhook secret')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'I have copied them' }));
    expect(a.dismissSecret).toHaveBeenCalled();
  });
});
