import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { InviteNotification } from './InviteNotification';

afterEach(cleanup);

describe('InviteNotification', () => {
  it('shows the inviter and first message with Accept and Reject, without taking focus', () => {
    const input = document.createElement('input');
    document.body.appendChild(input);
    input.focus();
    const onAccept = vi.fn();
    const onReject = vi.fn();
    render(<InviteNotification card={{ id: 's1', from: 'Alice Agent', message: 'Got a minute?' }} onAccept={onAccept} onReject={onReject} onDismiss={vi.fn()} />);
    expect(screen.getByRole('group', { name: 'Instant message invitation from Alice Agent' })).toBeTruthy();
    expect(screen.getByText('Got a minute?')).toBeTruthy();
    expect(document.activeElement).toBe(input);
    fireEvent.click(screen.getByRole('button', { name: 'Accept' }));
    fireEvent.click(screen.getByRole('button', { name: 'Reject' }));
    expect(onAccept).toHaveBeenCalled();
    expect(onReject).toHaveBeenCalled();
    input.remove();
  });
});
