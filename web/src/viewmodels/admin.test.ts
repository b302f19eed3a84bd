import { describe, expect, it } from 'vitest';
import type { GroupView, IntegrationView, UserView, WebhookDelivery } from '../protocol/generated';
import { actorLabel, addableUsers, auditRows, deliveryRows, newAccountProblem, resourceLabel } from './admin';

const user = (id: string, username: string, display_name: string, disabled = false): UserView => ({
  id,
  username,
  display_name,
  roles: ['agent'],
  groups: [],
  im_permitted: true,
  disabled,
});
const users = [user('u1', 'alice', 'Alice Agent'), user('u2', 'bob', 'Bob Builder'), user('u3', 'zed', 'Zed Gone', true)];
const groups: GroupView[] = [{ id: 'g1', name: 'Billing', members: ['u1'], supervisors: [], wave_size: 1, answer_secs: 30, overflow_group_id: null, escalate_secs: 0, escalate_to_supervisors: false }];
const integrations: IntegrationView[] = [{ id: 'i1', name: 'CRM', webhook_url: null, scopes: ['platform'], created_at: 1 }];

describe('admin view models', () => {
  it('names actors and resources readably, and leaves unknown ones as they are', () => {
    expect(actorLabel('u1', users, integrations)).toBe('Alice Agent (alice)');
    expect(actorLabel('integration:i1', users, integrations)).toBe('Integration CRM');
    expect(actorLabel('address:10.0.0.1', users, integrations)).toBe('Address 10.0.0.1');
    expect(actorLabel('system', users, integrations)).toBe('System (command line)');
    expect(actorLabel('u9', users, integrations)).toBe('u9');
    expect(resourceLabel('user:u2', users, groups, integrations)).toBe('Account bob');
    expect(resourceLabel('group:g1', users, groups, integrations)).toBe('Group Billing');
    expect(resourceLabel('interaction:x', users, groups, integrations)).toBe('Interaction x');
    expect(resourceLabel('retention', users, groups, integrations)).toBe('retention');
  });

  it('shows audit rows with their outcome', () => {
    const rows = auditRows(
      [{ id: 'a', ts: 5, actor_id: 'u2', action: 'read_case_data', resource: 'interaction:x', allowed: false, detail: 'no' }],
      users,
      groups,
      integrations,
      (ms) => `t${ms}`,
    );
    expect(rows).toEqual([{ id: 'a', when: 't5', who: 'Bob Builder (bob)', action: 'read_case_data', about: 'Interaction x', outcome: 'refused', detail: 'no' }]);
  });

  it('checks a new account before sending it', () => {
    expect(newAccountProblem('Bad Name', 'X', 'long enough', ['agent'])).toMatch(/^Username/);
    expect(newAccountProblem('dora', ' ', 'long enough', ['agent'])).toMatch(/^Display name/);
    expect(newAccountProblem('dora', 'Dora', 'short', ['agent'])).toMatch(/^Password/);
    expect(newAccountProblem('dora', 'Dora', 'long enough', [])).toMatch(/^Roles/);
    expect(newAccountProblem('dora', 'Dora', 'long enough', ['agent'])).toBeNull();
  });

  it('offers only active accounts not yet in the list, by name', () => {
    expect(addableUsers(users, ['u1']).map((u) => u.id)).toEqual(['u2']);
  });

  it('tells a retrying delivery from a pending one and hides the failure of a delivered one', () => {
    const base: WebhookDelivery = {
      id: 'e1',
      event_type: 'interaction.created',
      interaction_id: 'x',
      created_at: 1,
      state: 'pending',
      attempts: 0,
      next_attempt_at: 2,
      delivered_at: null,
      failed_at: null,
      last_error: null,
    };
    const rows = deliveryRows(
      [
        base,
        { ...base, id: 'e2', attempts: 3, last_error: 'HTTP 500', next_attempt_at: 9 },
        { ...base, id: 'e3', state: 'failed', attempts: 20, last_error: 'HTTP 502', next_attempt_at: null, failed_at: 8 },
        { ...base, id: 'e4', state: 'delivered', attempts: 2, last_error: 'HTTP 500', next_attempt_at: null, delivered_at: 7 },
      ],
      (ms) => `t${ms}`,
    );
    expect(rows.map((r) => [r.state, r.failure, r.next])).toEqual([
      ['Pending', null, 't2'],
      ['Retrying', 'HTTP 500', 't9'],
      ['Failed (given up)', 'HTTP 502', null],
      ['Delivered', null, null],
    ]);
  });
});
