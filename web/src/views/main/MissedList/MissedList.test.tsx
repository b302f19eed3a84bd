import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { MissedList } from './MissedList';

afterEach(cleanup);

describe('MissedList', () => {
  it('lists missed invitations with their message; Reply and Dismiss name the session', () => {
    const onReply = vi.fn();
    const onDismiss = vi.fn();
    render(
      <MissedList
        rows={[{ id: 's9', from: 'Alice Agent', message: 'are you there?', context: 'Technical Support', time: '10:00:00' }]}
        onReply={onReply}
        onDismiss={onDismiss}
      />,
    );
    const item = screen.getByRole('listitem', { name: 'Missed invitation from Alice Agent' });
    expect(item.textContent).toContain('are you there?');
    expect(item.textContent).toContain('Technical Support');
    fireEvent.click(screen.getByRole('button', { name: 'Reply' }));
    fireEvent.click(screen.getByRole('button', { name: 'Dismiss' }));
    expect(onReply).toHaveBeenCalledWith('s9');
    expect(onDismiss).toHaveBeenCalledWith('s9');
  });

  it('shows nothing when nothing was missed', () => {
    const { container } = render(<MissedList rows={[]} onReply={vi.fn()} onDismiss={vi.fn()} />);
    expect(container.textContent).toBe('');
  });
});
