import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { TeamCommunicator } from './TeamCommunicator';
import type { DirectoryRow } from '../../../viewmodels/main';

afterEach(cleanup);

const row: DirectoryRow = {
  entry: { kind: 'user', id: 'b', display_name: 'Bob Builder', username: 'bob', groups: [], status: 'ready', reason: null, member_count: null, favourite: false, unavailable: [], actions: ['send_im', 'add_favourite'] },
  id: 'b',
  name: 'Bob Builder',
  detail: '',
  status: 'ready',
  statusText: 'Ready',
  actions: [
    { action: 'send_im', label: 'Send an Instant Message' },
    { action: 'add_favourite', label: 'Add to Favourites' },
  ],
};

describe('TeamCommunicator', () => {
  it('searches, filters, and opens an action menu by keyboard', () => {
    const onQuery = vi.fn();
    const onFilter = vi.fn();
    const onAction = vi.fn();
    render(<TeamCommunicator query="" filter="all" rows={[row]} loading={false} error={null} onQuery={onQuery} onFilter={onFilter} onAction={onAction} />);
    fireEvent.change(screen.getByRole('searchbox', { name: 'Team Communicator' }), { target: { value: 'bob' } });
    expect(onQuery).toHaveBeenCalledWith('bob');
    fireEvent.click(screen.getByRole('button', { name: 'Favourites' }));
    expect(onFilter).toHaveBeenCalledWith('favourites');
    expect(screen.getByText('Ready')).toBeTruthy();
    const menuButton = screen.getByRole('button', { name: 'Actions for Bob Builder' });
    fireEvent.keyDown(menuButton, { key: 'ArrowDown' });
    const item = screen.getByRole('menuitem', { name: 'Send an Instant Message' });
    expect(document.activeElement).toBe(item);
    fireEvent.keyDown(item, { key: 'ArrowDown' });
    expect(document.activeElement).toBe(screen.getByRole('menuitem', { name: 'Add to Favourites' }));
    fireEvent.click(item);
    expect(onAction).toHaveBeenCalledWith(row, 'send_im');
    expect(screen.queryByRole('menu')).toBeNull();
  });

  it('shows a refused action disabled with its reason, and does nothing when chosen', () => {
    const onAction = vi.fn();
    const refused: DirectoryRow = {
      ...row,
      actions: [
        { action: 'add_favourite', label: 'Add to Favourites' },
        { action: 'send_im', label: 'Send an Instant Message', disabled: true, reason: 'Bob Builder does not have the Internal IM permission.' },
      ],
    };
    render(<TeamCommunicator query="" filter="all" rows={[refused]} loading={false} error={null} onQuery={vi.fn()} onFilter={vi.fn()} onAction={onAction} />);
    fireEvent.click(screen.getByRole('button', { name: 'Actions for Bob Builder' }));
    const item = screen.getByRole('menuitem', { name: /Send an Instant Message/ });
    expect(item.getAttribute('aria-disabled')).toBe('true');
    expect(screen.getByText('Bob Builder does not have the Internal IM permission.').id).toBe(item.getAttribute('aria-describedby'));
    fireEvent.click(item);
    expect(onAction).not.toHaveBeenCalled();
  });
});
