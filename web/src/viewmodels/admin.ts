// The administration console's derivations: labels, audit filters as query parameters, error texts.
import { useSyncExternalStore } from 'react';
import type { AdminModel, AdminState } from '../models/admin';
import type { AuditEntry, GroupView, IntegrationView, Role, UserView, WebhookDelivery } from '../protocol/generated';

/** Who an audit entry names, readably. */
export function actorLabel(actor: string, users: UserView[], integrations: IntegrationView[]): string {
  if (actor === 'system') return 'System (command line)';
  const [kind, rest] = splitRef(actor);
  if (kind === 'integration') return `Integration ${integrations.find((i) => i.id === rest)?.name ?? rest}`;
  if (kind === 'address') return `Address ${rest}`;
  const user = users.find((u) => u.id === actor);
  return user ? `${user.display_name} (${user.username})` : actor;
}

/** What an audit entry is about, readably. */
export function resourceLabel(resource: string, users: UserView[], groups: GroupView[], integrations: IntegrationView[]): string {
  const [kind, id] = splitRef(resource);
  if (kind === 'user') {
    const user = users.find((u) => u.id === id);
    return user ? `Account ${user.username}` : resource;
  }
  if (kind === 'group') return `Group ${groups.find((g) => g.id === id)?.name ?? id}`;
  if (kind === 'integration') return `Integration ${integrations.find((i) => i.id === id)?.name ?? id}`;
  if (kind === 'interaction') return `Interaction ${id}`;
  return resource;
}

function splitRef(text: string): [string, string] {
  const at = text.indexOf(':');
  return at < 0 ? ['', text] : [text.slice(0, at), text.slice(at + 1)];
}

export interface AuditRow {
  id: string;
  when: string;
  who: string;
  action: string;
  about: string;
  outcome: 'allowed' | 'refused';
  detail: string;
}

export function auditRows(
  entries: AuditEntry[],
  users: UserView[],
  groups: GroupView[],
  integrations: IntegrationView[],
  time: (ms: number) => string = (ms) => new Date(ms).toLocaleString(),
): AuditRow[] {
  return entries.map((e) => ({
    id: e.id,
    when: time(e.ts),
    who: actorLabel(e.actor_id, users, integrations),
    action: e.action,
    about: resourceLabel(e.resource, users, groups, integrations),
    outcome: e.allowed ? 'allowed' : 'refused',
    detail: e.detail,
  }));
}

export const ROLES: readonly Role[] = ['agent', 'supervisor', 'admin'];

export const ROLE_LABELS: Record<Role, string> = { agent: 'Agent', supervisor: 'Supervisor', admin: 'Administrator' };

export function rolesText(roles: Role[]): string {
  return roles.map((r) => ROLE_LABELS[r]).join(', ');
}

/** An account form's problems before it is sent (the server checks them again). */
export function newAccountProblem(username: string, displayName: string, password: string, roles: Role[]): string | null {
  if (!/^[a-z0-9._@+-]{1,64}$/.test(username.trim())) return 'Username: 1 to 64 characters among a-z, 0-9, ".", "_", "-", "@" and "+".';
  if (!displayName.trim()) return 'Display name: required.';
  if ([...password].length < 8) return 'Password: at least 8 characters.';
  if (!roles.length) return 'Roles: choose at least one.';
  return null;
}

/** The accounts a group's member or supervisor list offers to add. */
export function addableUsers(users: UserView[], current: string[]): UserView[] {
  return users.filter((u) => !current.includes(u.id) && !u.disabled).sort((a, b) => a.display_name.localeCompare(b.display_name));
}

export function userName(users: UserView[], id: string): string {
  const user = users.find((u) => u.id === id);
  return user ? user.display_name : id;
}

export interface DeliveryRow {
  id: string;
  event: string;
  interaction: string;
  created: string;
  state: string;
  attempts: number;
  failure: string | null;
  next: string | null;
}

const STATE_LABELS: Record<WebhookDelivery['state'], string> = { pending: 'Pending', delivered: 'Delivered', failed: 'Failed (given up)' };

export function deliveryRows(items: WebhookDelivery[], time: (ms: number) => string = (ms) => new Date(ms).toLocaleString()): DeliveryRow[] {
  return items.map((d) => ({
    id: d.id,
    event: d.event_type,
    interaction: d.interaction_id,
    created: time(d.created_at),
    state: d.state === 'pending' && d.attempts > 0 ? 'Retrying' : STATE_LABELS[d.state],
    attempts: d.attempts,
    failure: d.last_error && d.state !== 'delivered' ? d.last_error : null,
    next: d.state === 'pending' && d.next_attempt_at !== null ? time(d.next_attempt_at) : null,
  }));
}

/** Subscribes to the administration console's state. */
export function useAdminState(model: AdminModel): AdminState {
  return useSyncExternalStore(model.store.subscribe, model.store.getState, model.store.getState);
}
