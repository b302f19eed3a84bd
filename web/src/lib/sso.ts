// The fragment the identity provider's callback sends the desktop to:
// `#sso=<one-time code>` on success, `#sso_error=<code>&message=<text>` on a refusal.
// A fragment never reaches a server log nor a Referer; it is removed from the address at once.
import type { SsoReturn } from '../models/app';

export function parseSsoFragment(hash: string): SsoReturn | null {
  const text = hash.startsWith('#') ? hash.slice(1) : hash;
  if (!text.startsWith('sso')) return null;
  const params = new URLSearchParams(text);
  const code = params.get('sso');
  const error = params.get('sso_error');
  if (!code && !error) return null;
  return { code, error, message: params.get('message') };
}

export function takeSsoReturn(location: Pick<Location, 'hash' | 'pathname' | 'search'>, history: Pick<History, 'replaceState'>): SsoReturn | null {
  const sso = parseSsoFragment(location.hash);
  if (sso) history.replaceState(null, '', location.pathname + location.search);
  return sso;
}
