import { describe, expect, it, vi } from 'vitest';
import { ApiError, RestClient } from './rest';

function respond(status: number, body?: unknown) {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

describe('RestClient', () => {
  it('sends JSON to /api/v1 and parses the answer', async () => {
    const fetch = vi.fn(async () => respond(200, { token: 't', expires_at: 1, me: { id: 'u' } }));
    const api = new RestClient({ fetch });
    const res = await api.signIn('alice', 'backline');
    expect(res.token).toBe('t');
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/v1/auth/sign-in');
    expect(init.method).toBe('POST');
    expect(JSON.parse(init.body as string)).toEqual({ username: 'alice', password: 'backline' });
  });

  it('builds query strings and path segments', async () => {
    const fetch = vi.fn(async () => respond(200, { entries: [], has_more: false }));
    const api = new RestClient({ fetch });
    await api.directory('bo b', 'agents', 20);
    await api.transcript('s/1', { before: 10, limit: 50 });
    expect(fetch.mock.calls.map((c) => (c as unknown as [string])[0])).toEqual([
      '/api/v1/directory?q=bo%20b&filter=agents&limit=20',
      '/api/v1/sessions/s%2F1/transcript?before=10&limit=50',
    ]);
  });

  it('answers undefined for 204', async () => {
    const api = new RestClient({ fetch: async () => new Response(null, { status: 204 }) });
    await expect(api.done('s1')).resolves.toBeUndefined();
  });

  it('turns error bodies into ApiError and reports 401 session_expired', async () => {
    const onUnauthorized = vi.fn();
    const api = new RestClient({
      fetch: async () => respond(401, { code: 'session_expired', message: 'expired' }),
      onUnauthorized,
    });
    await expect(api.sessions()).rejects.toMatchObject({ status: 401, code: 'session_expired' });
    expect(onUnauthorized).toHaveBeenCalledOnce();
    // GET /me and sign-in answer 401 normally and are not reported
    await expect(api.me()).rejects.toBeInstanceOf(ApiError);
    expect(onUnauthorized).toHaveBeenCalledOnce();
  });

  it('maps network failures to unavailable', async () => {
    const api = new RestClient({
      fetch: async () => {
        throw new TypeError('Failed to fetch');
      },
    });
    await expect(api.sessions()).rejects.toMatchObject({ status: 0, code: 'unavailable' });
  });
});
