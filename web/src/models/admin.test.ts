import { describe, expect, it, vi } from 'vitest';
import type { AuditEntry, UserView, WebhookDelivery } from '../protocol/generated';
import { ApiError, type AdminApi } from '../protocol/rest';
import { AdminModel, AUDIT_PAGE, adminErrorText, auditQuery, EMPTY_AUDIT_FILTERS } from './admin';

const alice: UserView = { id: 'u1', username: 'alice', display_name: 'Alice', roles: ['agent'], groups: [], im_permitted: true, disabled: false };

function fakeApi(overrides: Partial<AdminApi> = {}): AdminApi {
  return {
    adminUsers: vi.fn(async () => [alice]),
    createUser: vi.fn(),
    updateUser: vi.fn(async (id, req) => ({ ...alice, id, disabled: req.disabled ?? false })),
    adminGroups: vi.fn(async () => []),
    createGroup: vi.fn(),
    updateGroup: vi.fn(),
    setGroupRole: vi.fn(async () => undefined),
    adminReasons: vi.fn(async () => []),
    createReason: vi.fn(),
    integrations: vi.fn(async () => []),
    createIntegration: vi.fn(),
    rotateIntegration: vi.fn(),
    deliveries: vi.fn(),
    redeliver: vi.fn(),
    audit: vi.fn(async () => []),
    runRetention: vi.fn(),
    legalHolds: vi.fn(async () => []),
    placeLegalHold: vi.fn(),
    liftLegalHold: vi.fn(),
    exportContact: vi.fn(),
    eraseContact: vi.fn(),
    redactMessage: vi.fn(),
    ...overrides,
  } as AdminApi;
}

const entry = (n: number): AuditEntry => ({ id: `a${n}`, ts: n, actor_id: 'u1', action: 'sign_in', resource: 'user:u1', allowed: true, detail: '' });

describe('AdminModel', () => {
  it('turns audit filters into query parameters', () => {
    expect(auditQuery(EMPTY_AUDIT_FILTERS, 50)).toEqual({
      action: undefined,
      actor: undefined,
      resource: undefined,
      allowed: undefined,
      from: undefined,
      to: undefined,
      before: undefined,
      limit: 50,
    });
    const q = auditQuery({ kind: 'sign_in', actor: 'u1', about: ' i-42 ', refusedOnly: true, from: '2026-11-30T12:00', to: '', }, 10, 'a9');
    expect(q).toMatchObject({ action: 'sign_in', actor: 'u1', resource: 'interaction:i-42', allowed: 'false', before: 'a9', limit: 10 });
    expect(q.from).toBe(new Date('2026-11-30T12:00').getTime());
    expect(auditQuery({ ...EMPTY_AUDIT_FILTERS, about: 'user:u1' }, 5).resource).toBe('user:u1');
    expect(auditQuery({ ...EMPTY_AUDIT_FILTERS, kind: 'integrations' }, 5).action).toContain('integration_token_rotated');
  });

  it('shows the server error code and message of a refused change', async () => {
    const api = fakeApi({
      createUser: vi.fn(async () => {
        throw new ApiError(409, 'already_exists', 'username "alice" is taken');
      }),
    });
    const model = new AdminModel(api);
    const ok = await model.createUser({ username: 'alice', display_name: 'A', password: 'long enough', roles: ['agent'], im_permitted: true });
    expect(ok).toBe(false);
    expect(model.state.error).toBe('That name is already taken: username "alice" is taken (already_exists)');
    expect(model.state.busy).toBe(false);
    expect(adminErrorText(new ApiError(0, 'unavailable', 'offline'))).toBe('The server cannot be reached: offline (unavailable)');
  });

  it('disables an account and keeps the answer in the list', async () => {
    const api = fakeApi();
    const model = new AdminModel(api);
    await model.load();
    expect(await model.setDisabled('u1', true)).toBe(true);
    expect(api.updateUser).toHaveBeenCalledWith('u1', { disabled: true });
    expect(model.state.users[0].disabled).toBe(true);
    expect(model.state.notice).toMatch(/alice is disabled/);
  });

  it('pages the audit log after the last entry while pages are full', async () => {
    const first = Array.from({ length: AUDIT_PAGE }, (_, n) => entry(100 - n));
    const audit = vi.fn(async (params: Record<string, string | number | undefined>) => (params.before ? [entry(1)] : first));
    const model = new AdminModel(fakeApi({ audit }));
    await model.searchAudit();
    expect(model.state.audit.hasMore).toBe(true);
    await model.searchAudit(true);
    expect(audit).toHaveBeenLastCalledWith(expect.objectContaining({ before: first[first.length - 1].id }));
    expect(model.state.audit.entries).toHaveLength(AUDIT_PAGE + 1);
    expect(model.state.audit.hasMore).toBe(false);
  });

  it('shows a rotated credential once and replaces a redelivered delivery in place', async () => {
    const pending: WebhookDelivery = {
      id: 'e1',
      event_type: 'interaction.created',
      interaction_id: 'x',
      created_at: 1,
      state: 'failed',
      attempts: 5,
      next_attempt_at: null,
      delivered_at: null,
      failed_at: 3,
      last_error: 'HTTP 500',
    };
    const api = fakeApi({
      rotateIntegration: vi.fn(async () => ({ integration: { id: 'i1', name: 'CRM', webhook_url: null, scopes: ['platform' as const], created_at: 1 }, token: 'bli_new' })),
      deliveries: vi.fn(async () => ({ deliveries: [pending], has_more: false })),
      redeliver: vi.fn(async () => ({ ...pending, state: 'pending' as const, failed_at: null, next_attempt_at: 9 })),
    });
    const model = new AdminModel(api);
    await model.rotate('i1', 'token');
    expect(model.state.secret).toEqual({ integration: 'CRM', token: 'bli_new', webhookSecret: undefined });
    model.dismissSecret();
    expect(model.state.secret).toBeNull();
    await model.showDeliveries('i1', 'failed');
    expect(api.deliveries).toHaveBeenCalledWith('i1', { state: 'failed', before: undefined, limit: 50 });
    await model.redeliver('e1');
    expect(api.redeliver).toHaveBeenCalledWith('i1', 'e1');
    expect(model.state.deliveries?.items[0].state).toBe('pending');
  });

  it('erases a contact and says what went, and reports a dry retention run', async () => {
    const api = fakeApi({
      eraseContact: vi.fn(async (id: string) => ({ contact_id: id, interactions: 3 })),
      runRetention: vi.fn(async (dry_run: boolean) => ({ dry_run, transcripts: 1, interactions: 2, audit: 0 })),
    });
    const model = new AdminModel(api);
    expect(await model.eraseContact(' c-1 ')).toBe(true);
    expect(api.eraseContact).toHaveBeenCalledWith('c-1');
    expect(model.state.notice).toBe('Contact c-1 erased with 3 interaction(s).');
    await model.runRetention(true);
    expect(model.state.retention).toEqual({ dry_run: true, transcripts: 1, interactions: 2, audit: 0 });
    expect(model.state.notice).toBe('Counted; nothing was deleted.');
  });
});
