import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { TeamCommunicator } from './TeamCommunicator';
import type { DirectoryRow } from '../../../viewmodels/main';

afterEach(cleanup);

const bob: DirectoryRow = {
  entry: { kind: 'user', id: 'u-bob', display_name: 'Bob Builder', username: 'bob', groups: [], status: 'ready', reason: null, member_count: null, favourite: false, unavailable: [], actions: ['start_im_consultation'] },
  id: 'u-bob',
  name: 'Bob Builder',
  detail: '',
  status: 'ready',
  statusText: 'Ready',
  actions: [{ action: 'start_im_consultation', label: 'Start Instant Message Consultation' }],
};

describe('TeamCommunicator in an interaction context', () => {
  it('lists Active Consultations, pre-selects and focuses the current target, and offers the consultation action', () => {
    const onAction = vi.fn();
    const onLeave = vi.fn();
    render(
      <TeamCommunicator
        query=""
        filter="all"
        rows={[bob]}
        loading={false}
        error={null}
        onQuery={vi.fn()}
        onFilter={vi.fn()}
        onAction={onAction}
        context={{ interactionId: 'i1', summary: 'Voice · Jane Doe · Billing', activeConsultations: [bob], preselected: 'u-bob', focusRequest: 1 }}
        onLeaveContext={onLeave}
      />,
    );
    const section = screen.getByRole('region', { name: 'Active Consultations' });
    expect(screen.getByRole('heading', { name: 'Active Consultations' })).toBeTruthy();
    const item = within(section).getByRole('listitem', { name: 'Bob Builder, Ready' });
    expect(item.getAttribute('aria-current')).toBe('true');
    const button = within(item).getByRole('button', { name: 'Actions for Bob Builder' });
    expect(document.activeElement).toBe(button);
    fireEvent.click(button);
    fireEvent.click(screen.getByRole('menuitem', { name: 'Start Instant Message Consultation' }));
    expect(onAction).toHaveBeenCalledWith(bob, 'start_im_consultation');
    fireEvent.click(screen.getByRole('button', { name: 'Close consultation' }));
    expect(onLeave).toHaveBeenCalled();
  });

  it('focuses the search box when nothing is pre-selected', () => {
    render(
      <TeamCommunicator
        query=""
        filter="all"
        rows={[bob]}
        loading={false}
        error={null}
        onQuery={vi.fn()}
        onFilter={vi.fn()}
        onAction={vi.fn()}
        context={{ interactionId: 'i1', summary: 'Voice', activeConsultations: [], preselected: null, focusRequest: 1 }}
      />,
    );
    expect(document.activeElement).toBe(screen.getByRole('searchbox', { name: 'Team Communicator' }));
    expect(screen.getByText('None yet.')).toBeTruthy();
  });
});
