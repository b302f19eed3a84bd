// The administration console's state and commands (admin role): accounts, groups, Not Ready
// reasons, integrations with their webhook deliveries, and the audit log.
import { Store } from '../lib/store';
import type {
  AuditEntry,
  CreateUserRequest,
  DeliveryState,
  GroupView,
  HoldTarget,
  IntegrationScope,
  LegalHoldView,
  RetentionReport,
  IntegrationView,
  StatusReason,
  UpdateGroupRequest,
  UpdateUserRequest,
  UserView,
  WebhookDelivery,
} from '../protocol/generated';
import { ApiError, type AdminApi } from '../protocol/rest';

/** What an administrator reads for each error code the admin routes answer. */
const ERROR_TITLES: Partial<Record<string, string>> = {
  invalid_request: 'Check the form',
  malformed_request: 'Check the form',
  already_exists: 'That name is already taken',
  user_not_found: 'No such account',
  group_not_found: 'No such group',
  integration_not_found: 'No such integration',
  delivery_not_found: 'No such webhook delivery',
  invalid_state: 'Not allowed',
  forbidden: 'Only administrators may do this',
  unauthenticated: 'Sign in again',
  session_expired: 'Sign in again',
  rate_limited: 'Too many requests, wait a moment',
  unavailable: 'The server cannot be reached',
  request_timeout: 'The server took too long; the change may have been applied',
  internal: 'The server failed',
};

/** "Title: the server's message", from an error code of the table. */
export function adminErrorText(error: unknown): string {
  if (error instanceof ApiError) {
    const title = ERROR_TITLES[error.code] ?? 'The request failed';
    return `${title}: ${error.message} (${error.code})`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The audit log's kinds of entry, each a list of actions (empty: every action). */
export const AUDIT_KINDS = [
  { id: 'all', label: 'Everything', actions: [] },
  { id: 'sign_in', label: 'Sign-ins', actions: ['sign_in'] },
  {
    id: 'shared_data',
    label: 'Reads of shared interaction data',
    actions: ['read_case_data', 'read_contact', 'read_history', 'consult', 'start_consultation', 'start_voice_consultation', 'done'],
  },
  {
    id: 'accounts',
    label: 'Accounts, groups and reasons',
    actions: [
      'user_created',
      'user_updated',
      'group_created',
      'group_updated',
      'group_member_added',
      'group_member_removed',
      'group_supervisor_added',
      'group_supervisor_removed',
      'status_reason_created',
    ],
  },
  {
    id: 'integrations',
    label: 'Integrations and webhooks',
    actions: ['integration_created', 'integration_token_rotated', 'integration_webhook_secret_rotated', 'webhook_redelivered'],
  },
  {
    id: 'provisioning',
    label: 'Provisioning (SCIM)',
    actions: ['scim.user.create', 'scim.user.update', 'scim.user.replace', 'scim.user.patch', 'scim.user.delete', 'scim.group.create', 'scim.group.patch', 'scim.group.delete'],
  },
  {
    id: 'compliance',
    label: 'Compliance',
    actions: ['redact_message', 'legal_hold_placed', 'legal_hold_lifted', 'contact_exported', 'contact_erased', 'retention_run', 'retention_dry_run'],
  },
] as const;

export type AuditKind = (typeof AUDIT_KINDS)[number]['id'];

/** The audit filters as the form holds them. */
export interface AuditFilters {
  kind: AuditKind;
  /** An account id, or '' for anyone. */
  actor: string;
  /** An interaction id, or `kind:id` (user:…, group:…, integration:…); '' for anything. */
  about: string;
  /** Refused attempts only. */
  refusedOnly: boolean;
  /** `datetime-local` values ('' for open). */
  from: string;
  to: string;
}

export const EMPTY_AUDIT_FILTERS: AuditFilters = { kind: 'all', actor: '', about: '', refusedOnly: false, from: '', to: '' };

/** Local date-time text (`2026-11-30T12:00`) as unix ms; undefined when empty or not a date. */
export function localTimeMs(text: string): number | undefined {
  if (!text.trim()) return undefined;
  const ms = new Date(text).getTime();
  return Number.isFinite(ms) ? ms : undefined;
}

/** `GET /admin/audit`'s query for the filters (and a page after `before`). */
export function auditQuery(f: AuditFilters, limit: number, before?: string): Record<string, string | number | undefined> {
  const kind = AUDIT_KINDS.find((k) => k.id === f.kind) ?? AUDIT_KINDS[0];
  const about = f.about.trim();
  return {
    action: kind.actions.length ? kind.actions.join(',') : undefined,
    actor: f.actor || undefined,
    resource: about ? (about.includes(':') ? about : `interaction:${about}`) : undefined,
    allowed: f.refusedOnly ? 'false' : undefined,
    from: localTimeMs(f.from),
    to: localTimeMs(f.to),
    before,
    limit,
  };
}

export type AdminSection = 'accounts' | 'groups' | 'reasons' | 'integrations' | 'compliance' | 'audit';

/** A credential shown once, right after it was made. */
export interface ShownSecret {
  integration: string;
  token?: string;
  webhookSecret?: string;
}

export interface DeliveriesState {
  integrationId: string;
  state: DeliveryState | '';
  items: WebhookDelivery[];
  hasMore: boolean;
  loading: boolean;
}

export interface AdminState {
  section: AdminSection;
  users: UserView[];
  groups: GroupView[];
  reasons: StatusReason[];
  integrations: IntegrationView[];
  loaded: boolean;
  /** The last command's failure, shown until the next command. */
  error: string | null;
  /** The last command's success. */
  notice: string | null;
  busy: boolean;
  selectedUser: string | null;
  selectedGroup: string | null;
  secret: ShownSecret | null;
  deliveries: DeliveriesState | null;
  audit: { filters: AuditFilters; entries: AuditEntry[]; hasMore: boolean; loading: boolean; searched: boolean };
  /** Compliance: the last retention report, the legal holds (loaded with the section). */
  retention: RetentionReport | null;
  holds: LegalHoldView[];
}

export const AUDIT_PAGE = 50;
export const DELIVERY_PAGE = 50;

export function initialAdminState(): AdminState {
  return {
    section: 'accounts',
    users: [],
    groups: [],
    reasons: [],
    integrations: [],
    loaded: false,
    error: null,
    notice: null,
    busy: false,
    selectedUser: null,
    selectedGroup: null,
    secret: null,
    deliveries: null,
    audit: { filters: EMPTY_AUDIT_FILTERS, entries: [], hasMore: false, loading: false, searched: false },
    retention: null,
    holds: [],
  };
}

/** `list` with `item` in place of the one with its id, or added in `order`. */
function upsert<T extends { id: string }>(list: T[], item: T, order: (a: T, b: T) => number): T[] {
  return list.some((x) => x.id === item.id) ? list.map((x) => (x.id === item.id ? item : x)) : [...list, item].sort(order);
}

export class AdminModel {
  readonly store = new Store<AdminState>(initialAdminState());

  constructor(private readonly api: AdminApi) {}

  get state(): AdminState {
    return this.store.getState();
  }

  /** Runs a command: `busy` meanwhile, its failure or `notice` (or the text it answers) after. True when it succeeded. */
  private async run(notice: string | null, command: () => Promise<void | string>): Promise<boolean> {
    this.store.setState({ busy: true, error: null, notice: null });
    try {
      const said = await command();
      this.store.setState({ busy: false, notice: typeof said === 'string' ? said : notice });
      return true;
    } catch (e) {
      this.store.setState({ busy: false, error: adminErrorText(e) });
      return false;
    }
  }

  async load(): Promise<boolean> {
    return this.run(null, async () => {
      const [users, groups, reasons, integrations] = await Promise.all([
        this.api.adminUsers(),
        this.api.adminGroups(),
        this.api.adminReasons(),
        this.api.integrations(),
      ]);
      this.store.setState({ users, groups, reasons, integrations, loaded: true });
    });
  }

  show(section: AdminSection): void {
    this.store.setState({ section, error: null, notice: null });
    if (section === 'audit' && !this.state.audit.searched) void this.searchAudit();
    if (section === 'compliance') void this.loadHolds();
  }

  dismissMessages(): void {
    this.store.setState({ error: null, notice: null });
  }

  // ---------- accounts ----------
  selectUser(id: string | null): void {
    this.store.setState({ selectedUser: id, error: null, notice: null });
  }

  private putUser(user: UserView): void {
    this.store.setState({ users: upsert(this.state.users, user, (a, b) => a.username.localeCompare(b.username)) });
  }

  createUser(req: CreateUserRequest): Promise<boolean> {
    return this.run(`Account ${req.username} created.`, async () => {
      const user = await this.api.createUser(req);
      this.putUser(user);
      this.store.setState({ selectedUser: user.id });
    });
  }

  updateUser(id: string, req: UpdateUserRequest, notice: string): Promise<boolean> {
    return this.run(notice, async () => {
      this.putUser(await this.api.updateUser(id, req));
    });
  }

  resetPassword(id: string, password: string): Promise<boolean> {
    const user = this.state.users.find((u) => u.id === id);
    return this.updateUser(id, { password }, `New password set for ${user?.username ?? id}; the account was signed out everywhere.`);
  }

  setDisabled(id: string, disabled: boolean): Promise<boolean> {
    const user = this.state.users.find((u) => u.id === id);
    const name = user?.username ?? id;
    return this.updateUser(id, { disabled }, disabled ? `${name} is disabled and signed out everywhere.` : `${name} is enabled.`);
  }

  // ---------- groups ----------
  selectGroup(id: string | null): void {
    this.store.setState({ selectedGroup: id, error: null, notice: null });
  }

  private putGroup(group: GroupView): void {
    this.store.setState({ groups: upsert(this.state.groups, group, (a, b) => a.name.localeCompare(b.name)) });
  }

  createGroup(name: string): Promise<boolean> {
    return this.run(`Group ${name.trim()} created.`, async () => {
      const group = await this.api.createGroup(name);
      this.putGroup(group);
      this.store.setState({ selectedGroup: group.id });
    });
  }

  updateGroup(id: string, req: UpdateGroupRequest): Promise<boolean> {
    return this.run('Offer settings saved.', async () => {
      this.putGroup(await this.api.updateGroup(id, req));
    });
  }

  /** Adds or removes a member or supervisor, then reloads groups and accounts (whose group lists change). */
  setGroupRole(groupId: string, role: 'members' | 'supervisors', userId: string, on: boolean): Promise<boolean> {
    const what = role === 'members' ? 'member' : 'supervisor';
    return this.run(on ? `${what[0].toUpperCase()}${what.slice(1)} added.` : `${what[0].toUpperCase()}${what.slice(1)} removed.`, async () => {
      await this.api.setGroupRole(groupId, role, userId, on);
      const [groups, users] = await Promise.all([this.api.adminGroups(), this.api.adminUsers()]);
      this.store.setState({ groups, users });
    });
  }

  // ---------- Not Ready reasons ----------
  createReason(code: string, label: string): Promise<boolean> {
    return this.run(`Reason ${label.trim()} added.`, async () => {
      const reason = await this.api.createReason(code, label);
      this.store.setState({ reasons: [...this.state.reasons, reason] });
    });
  }

  // ---------- integrations ----------
  createIntegration(name: string, webhookUrl: string, scopes: IntegrationScope[]): Promise<boolean> {
    return this.run(`Integration ${name.trim()} created.`, async () => {
      const created = await this.api.createIntegration({
        name,
        webhook_url: webhookUrl.trim() ? webhookUrl.trim() : undefined,
        scopes,
      });
      this.store.setState({
        integrations: [...this.state.integrations, created.integration].sort((a, b) => a.name.localeCompare(b.name)),
        secret: { integration: created.integration.name, token: created.token, webhookSecret: created.webhook_secret },
      });
    });
  }

  rotate(id: string, what: 'token' | 'webhook-secret'): Promise<boolean> {
    const label = what === 'token' ? 'token' : 'webhook secret';
    return this.run(`New ${label} made; the old one no longer works.`, async () => {
      const rotated = await this.api.rotateIntegration(id, what);
      this.store.setState({
        secret: { integration: rotated.integration.name, token: rotated.token, webhookSecret: rotated.webhook_secret },
      });
    });
  }

  dismissSecret(): void {
    this.store.setState({ secret: null });
  }

  /** Opens an integration's deliveries (the first page), optionally of one state. */
  async showDeliveries(integrationId: string, state: DeliveryState | '' = ''): Promise<boolean> {
    this.store.setState({ deliveries: { integrationId, state, items: [], hasMore: false, loading: true } });
    return this.loadDeliveries(false);
  }

  closeDeliveries(): void {
    this.store.setState({ deliveries: null });
  }

  /** Reloads the first page, or (`more`) appends the next one. */
  loadDeliveries(more: boolean): Promise<boolean> {
    const current = this.state.deliveries;
    if (!current) return Promise.resolve(false);
    const before = more ? current.items[current.items.length - 1]?.id : undefined;
    return this.run(null, async () => {
      try {
        const page = await this.api.deliveries(current.integrationId, { state: current.state, before, limit: DELIVERY_PAGE });
        const now = this.state.deliveries;
        if (!now || now.integrationId !== current.integrationId) return;
        this.store.setState({
          deliveries: { ...now, items: more ? [...now.items, ...page.deliveries] : page.deliveries, hasMore: page.has_more, loading: false },
        });
      } catch (e) {
        const now = this.state.deliveries;
        if (now) this.store.setState({ deliveries: { ...now, loading: false } });
        throw e;
      }
    });
  }

  redeliver(deliveryId: string): Promise<boolean> {
    const current = this.state.deliveries;
    if (!current) return Promise.resolve(false);
    return this.run('Queued to be sent again now.', async () => {
      const updated = await this.api.redeliver(current.integrationId, deliveryId);
      const now = this.state.deliveries;
      if (now) this.store.setState({ deliveries: { ...now, items: now.items.map((d) => (d.id === updated.id ? updated : d)) } });
    });
  }

  // ---------- compliance ----------
  loadHolds(): Promise<boolean> {
    return this.run(null, async () => {
      this.store.setState({ holds: await this.api.legalHolds() });
    });
  }

  /** Counts (`dryRun`) or deletes what is past its retention age. */
  runRetention(dryRun: boolean): Promise<boolean> {
    return this.run(dryRun ? 'Counted; nothing was deleted.' : 'Retention applied.', async () => {
      this.store.setState({ retention: await this.api.runRetention(dryRun) });
    });
  }

  placeHold(kind: HoldTarget, id: string, reason: string): Promise<boolean> {
    return this.run(`Legal hold placed on ${kind} ${id.trim()}.`, async () => {
      await this.api.placeLegalHold(kind, id.trim(), reason);
      this.store.setState({ holds: await this.api.legalHolds() });
    });
  }

  liftHold(kind: HoldTarget, id: string): Promise<boolean> {
    return this.run(`Legal hold lifted from ${kind} ${id}.`, async () => {
      await this.api.liftLegalHold(kind, id);
      this.store.setState({ holds: await this.api.legalHolds() });
    });
  }

  /** Everything about a contact as JSON text, handed to `save` (a download in the browser). */
  exportContact(id: string, save: (json: string) => void): Promise<boolean> {
    return this.run(`Contact ${id.trim()} exported.`, async () => save(JSON.stringify(await this.api.exportContact(id.trim()), null, 2)));
  }

  eraseContact(id: string): Promise<boolean> {
    return this.run(null, async () => {
      const erased = await this.api.eraseContact(id.trim());
      return `Contact ${erased.contact_id} erased with ${erased.interactions} interaction(s).`;
    });
  }

  redactMessage(sessionId: string, seq: number, reason: string): Promise<boolean> {
    return this.run(`Message ${seq} of session ${sessionId.trim()} redacted.`, async () => {
      await this.api.redactMessage(sessionId.trim(), seq, reason.trim() || undefined);
    });
  }

  // ---------- audit log ----------
  setAuditFilters(patch: Partial<AuditFilters>): void {
    const audit = this.state.audit;
    this.store.setState({ audit: { ...audit, filters: { ...audit.filters, ...patch } } });
  }

  /** The first page for the current filters, or (`more`) the next one. */
  searchAudit(more = false): Promise<boolean> {
    const audit = this.state.audit;
    const before = more ? audit.entries[audit.entries.length - 1]?.id : undefined;
    this.store.setState({ audit: { ...audit, loading: true } });
    return this.run(null, async () => {
      try {
        const entries = await this.api.audit(auditQuery(audit.filters, AUDIT_PAGE, before));
        const now = this.state.audit;
        this.store.setState({
          audit: { ...now, entries: more ? [...now.entries, ...entries] : entries, hasMore: entries.length === AUDIT_PAGE, loading: false, searched: true },
        });
      } catch (e) {
        this.store.setState({ audit: { ...this.state.audit, loading: false } });
        throw e;
      }
    });
  }

  resetAuditFilters(): Promise<boolean> {
    this.store.setState({ audit: { ...this.state.audit, filters: EMPTY_AUDIT_FILTERS } });
    return this.searchAudit();
  }
}
