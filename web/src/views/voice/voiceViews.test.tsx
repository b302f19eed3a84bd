import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { IncomingCall } from './IncomingCall/IncomingCall';
import { CallControls } from './CallControls/CallControls';
import { Softphone } from './Softphone/Softphone';
import { MIC_DENIED_TEXT } from '../../models/app';

afterEach(cleanup);

describe('voice views', () => {
  it('an incoming call is a region named for the call with Accept and Reject', () => {
    const onAccept = vi.fn();
    const onReject = vi.fn();
    render(
      <IncomingCall
        call={{ id: 'k1', from: 'Alice Agent', label: 'Incoming voice call from Alice Agent', kindText: 'Voice consultation', busy: false }}
        onAccept={onAccept}
        onReject={onReject}
      />,
    );
    const region = screen.getByRole('region', { name: 'Incoming voice call from Alice Agent' });
    fireEvent.click(within(region).getByRole('button', { name: 'Accept' }));
    fireEvent.click(within(region).getByRole('button', { name: 'Reject' }));
    expect(onAccept).toHaveBeenCalledTimes(1);
    expect(onReject).toHaveBeenCalledTimes(1);
  });

  it('call controls: Retrieve while held, the initiator’s consultation buttons', () => {
    const onAction = vi.fn();
    render(
      <CallControls
        vm={{
          contactCall: { id: 'c1', state: 'On hold', timer: '1:02', hold: 'Contact on hold 0:12', canHold: false, canRetrieve: true, canHangUp: true, busy: false },
          consultations: [{ id: 'k1', title: 'Voice consultation with Bob Builder', state: 'Connected', timer: '0:05', hold: null, initiator: true, canComplete: true, busy: false }],
          error: null,
        }}
        onAction={onAction}
        onDismissError={() => undefined}
      />,
    );
    const call = screen.getByRole('group', { name: 'Call controls' });
    expect(within(call).getByRole('timer').textContent).toBe('1:02');
    expect(within(call).getByText('Contact on hold 0:12')).toBeTruthy();
    expect(within(call).queryByRole('button', { name: 'Hold' })).toBeNull();
    fireEvent.click(within(call).getByRole('button', { name: 'Retrieve' }));
    const consult = screen.getByRole('group', { name: 'Voice consultation with Bob Builder' });
    for (const name of ['End Consultation', 'Complete Transfer', 'Complete Conference']) fireEvent.click(within(consult).getByRole('button', { name }));
    expect(onAction.mock.calls).toEqual([
      ['c1', 'retrieve'],
      ['k1', 'end-consultation'],
      ['k1', 'complete-transfer'],
      ['k1', 'complete-conference'],
    ]);
  });

  it('the softphone says when the microphone was denied', () => {
    render(
      <Softphone
        vm={{ available: true, micState: 'denied', micMessage: MIC_DENIED_TEXT, muted: false, devices: [], deviceId: '', calls: [], inCall: false, expanded: true, canClose: true }}
        actions={{ enableMicrophone: vi.fn(), setMuted: vi.fn(), selectDevice: vi.fn(), hangUp: vi.fn(), show: vi.fn() }}
      />,
    );
    expect(screen.getByRole('alert').textContent).toBe('Microphone access was denied: voice is unavailable, IM keeps working');
  });

  it('the softphone stays a button until the agent opens it', () => {
    const show = vi.fn();
    const vm = { available: true, micState: 'idle' as const, micMessage: null, muted: false, devices: [], deviceId: '', calls: [], inCall: false, expanded: false, canClose: true };
    const actions = { enableMicrophone: vi.fn(), setMuted: vi.fn(), selectDevice: vi.fn(), hangUp: vi.fn(), show };
    const { rerender } = render(<Softphone vm={vm} actions={actions} />);
    expect(screen.queryByRole('region', { name: 'Softphone' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Softphone' }));
    expect(show).toHaveBeenCalledWith(true);
    rerender(<Softphone vm={{ ...vm, expanded: true }} actions={actions} />);
    expect(screen.getByRole('region', { name: 'Softphone' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Hide' }));
    expect(show).toHaveBeenLastCalledWith(false);
  });
});
