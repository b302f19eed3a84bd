import { useState, type FormEvent } from 'react';
import type { DeliveryState, IntegrationScope } from '../../../protocol/generated';
import { deliveryRows } from '../../../viewmodels/admin';
import type { SectionProps } from '../types';
import { HeaderRow } from '../HeaderRow';

function CreateIntegration({ actions, busy }: { actions: SectionProps['actions']; busy: boolean }) {
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [scopes, setScopes] = useState<IntegrationScope[]>(['platform']);
  const toggle = (s: IntegrationScope, on: boolean) => setScopes(on ? [...scopes, s] : scopes.filter((x) => x !== s));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (await actions.createIntegration(name, url, scopes)) {
      setName('');
      setUrl('');
      setScopes(['platform']);
    }
  };
  return (
    <form className="admin-form" aria-labelledby="new-integration-title" onSubmit={(e) => void submit(e)}>
      <h2 id="new-integration-title">New integration</h2>
      <label htmlFor="integration-name">Integration name</label>
      <input id="integration-name" value={name} onChange={(e) => setName(e.target.value)} />
      <label htmlFor="integration-url">Webhook URL (optional)</label>
      <input id="integration-url" type="url" placeholder="https://…" value={url} onChange={(e) => setUrl(e.target.value)} />
      <fieldset className="admin-choices">
        <legend>The token may call</legend>
        <label htmlFor="scope-platform">
          <input id="scope-platform" type="checkbox" checked={scopes.includes('platform')} onChange={(e) => toggle('platform', e.target.checked)} /> The platform
          API
        </label>
        <label htmlFor="scope-scim">
          <input id="scope-scim" type="checkbox" checked={scopes.includes('scim')} onChange={(e) => toggle('scim', e.target.checked)} /> Provisioning (SCIM)
        </label>
      </fieldset>
      <button type="submit" className="primary" disabled={busy || !name.trim() || !scopes.length}>
        Create integration
      </button>
    </form>
  );
}

function Deliveries({ state, actions }: SectionProps) {
  const d = state.deliveries;
  if (!d) return null;
  const integration = state.integrations.find((i) => i.id === d.integrationId);
  const rows = deliveryRows(d.items);
  return (
    <section className="admin-details" aria-labelledby="deliveries-title">
      <h2 id="deliveries-title">Webhook deliveries of {integration?.name ?? d.integrationId}</h2>
      <div className="admin-inline">
        <label htmlFor="delivery-state">Show</label>
        <select id="delivery-state" value={d.state} onChange={(e) => void actions.showDeliveries(d.integrationId, e.target.value as DeliveryState | '')}>
          <option value="">All</option>
          <option value="pending">Pending and retrying</option>
          <option value="failed">Failed (given up)</option>
          <option value="delivered">Delivered</option>
        </select>
        <button type="button" disabled={d.loading} onClick={() => void actions.loadDeliveries(false)}>
          Refresh
        </button>
        <button type="button" onClick={() => actions.closeDeliveries()}>
          Close
        </button>
      </div>
      {rows.length ? (
        <table className="admin-table" aria-label="Webhook deliveries">
          <HeaderRow names={['Event', 'Created', 'State', 'Attempts', 'Last failure', 'Next attempt', '']} />
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} aria-label={`${r.event} ${r.id}`}>
                <td>
                  {r.event}
                  <div className="muted small-text">interaction {r.interaction}</div>
                </td>
                <td>{r.created}</td>
                <td>{r.state}</td>
                <td>{r.attempts}</td>
                <td className={r.failure ? 'failed' : undefined}>{r.failure ?? '—'}</td>
                <td>{r.next ?? '—'}</td>
                <td>
                  <button type="button" className="small" disabled={state.busy} aria-label={`Redeliver ${r.event} ${r.id}`} onClick={() => void actions.redeliver(r.id)}>
                    Redeliver
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted">{d.loading ? 'Loading…' : 'No deliveries.'}</p>
      )}
      {d.hasMore && (
        <button type="button" disabled={d.loading} onClick={() => void actions.loadDeliveries(true)}>
          Older deliveries
        </button>
      )}
    </section>
  );
}

/** Integrations: their credentials (shown once when made), rotation, webhook deliveries. */
export function IntegrationsSection({ state, actions }: SectionProps) {
  return (
    <div className="admin-stack">
      {state.secret && (
        <section className="notice admin-secret" aria-labelledby="secret-title">
          <h2 id="secret-title">Credentials of {state.secret.integration}: copy them now, they are not shown again</h2>
          <dl>
            {state.secret.token && (
              <>
                <dt>Token</dt>
                <dd>
                  <output aria-label="New token">{state.secret.token}</output>
                </dd>
              </>
            )}
            {state.secret.webhookSecret && (
              <>
                <dt>Webhook secret</dt>
                <dd>
                  <output aria-label="New webhook secret">{state.secret.webhookSecret}</output>
                </dd>
              </>
            )}
          </dl>
          <button type="button" onClick={() => actions.dismissSecret()}>
            I have copied them
          </button>
        </section>
      )}
      <table className="admin-table" aria-label="Integrations">
        <HeaderRow names={['Integration', 'Scopes', 'Webhook URL', '']} />
        <tbody>
          {state.integrations.map((i) => (
            <tr key={i.id}>
              <td>{i.name}</td>
              <td>{i.scopes.join(', ')}</td>
              <td className="admin-wrap">{i.webhook_url ?? '—'}</td>
              <td className="admin-row-actions">
                <button type="button" className="small" disabled={state.busy} aria-label={`New token for ${i.name}`} onClick={() => void actions.rotate(i.id, 'token')}>
                  New token
                </button>
                <button
                  type="button"
                  className="small"
                  disabled={state.busy}
                  aria-label={`New webhook secret for ${i.name}`}
                  onClick={() => void actions.rotate(i.id, 'webhook-secret')}
                >
                  New webhook secret
                </button>
                <button type="button" className="small" aria-label={`Webhook deliveries of ${i.name}`} onClick={() => void actions.showDeliveries(i.id)}>
                  Deliveries
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Deliveries state={state} actions={actions} />
      <CreateIntegration actions={actions} busy={state.busy} />
    </div>
  );
}
