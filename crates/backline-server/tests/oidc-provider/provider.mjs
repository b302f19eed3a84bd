// A real OpenID provider for Backline's tests: `oidc-provider` (a certified
// implementation) on 127.0.0.1, with the development login page (any
// password), accounts the test sets, and switches that make the provider
// misbehave the ways the tests refuse:
//
//   POST /__test/accounts  {"<login>": {claims…}}   the accounts and their claims
//   POST /__test/clock     {"offset_secs": -7200}    the provider's clock is off by that much
//   POST /__test/tamper    {"mode": "audience" | "signature" | "none"}
//        the ID token of the next token response is, before it leaves:
//        audience  — re-signed with the provider's own key for another client;
//        signature — re-signed with a key that is not in the provider's JWKS.
//
// Environment: PORT (0: any free port), CLIENTS (JSON: [{client_id,
// client_secret?, redirect_uris}]). It prints `listening <issuer>` once ready.
import http from 'node:http';
import * as jose from 'jose';
import Provider from 'oidc-provider';

const realNow = Date.now.bind(Date);
let clockOffsetMs = 0;
Date.now = () => realNow() + clockOffsetMs;

let accounts = {};
let tamper = 'none';

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await jose.exportJWK(privateKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
const { privateKey: strangerKey } = await jose.generateKeyPair('RS256', { extractable: true });

const clients = JSON.parse(process.env.CLIENTS || '[]').map((c) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: c.client_secret ? 'client_secret_basic' : 'none',
  ...c,
}));

const server = http.createServer();
await new Promise((resolve) => server.listen(Number(process.env.PORT || 0), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingJwk] },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email'],
    groups: ['groups'],
  },
  scopes: ['openid', 'profile', 'email', 'groups'],
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  cookies: { keys: ['backline-test-cookie-key'] },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...accounts[id] }; } };
  },
  // Every client of this test provider is first-party: no consent page.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile email groups');
    await grant.save();
    return grant;
  },
});

async function resign(idToken, changes, key) {
  const claims = { ...jose.decodeJwt(idToken), ...changes };
  return new jose.SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: signingJwk.kid, typ: 'JWT' })
    .sign(key);
}

provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/token' && ctx.method === 'POST' && ctx.body?.id_token && tamper !== 'none') {
    const mode = tamper;
    tamper = 'none';
    if (mode === 'audience') {
      ctx.body.id_token = await resign(ctx.body.id_token, { aud: 'another-client' }, privateKey);
    } else if (mode === 'signature') {
      ctx.body.id_token = await resign(ctx.body.id_token, {}, strangerKey);
    }
  }
});

const callback = provider.callback();

function readJson(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => { try { resolve(JSON.parse(data || '{}')); } catch (e) { reject(e); } });
  });
}

server.on('request', async (req, res) => {
  if (req.url.startsWith('/__test/')) {
    try {
      const body = await readJson(req);
      if (req.url === '/__test/accounts') accounts = body;
      else if (req.url === '/__test/clock') clockOffsetMs = Number(body.offset_secs || 0) * 1000;
      else if (req.url === '/__test/tamper') tamper = body.mode;
      else { res.writeHead(404).end(); return; }
      res.writeHead(204).end();
    } catch (error) {
      res.writeHead(400).end(String(error));
    }
    return;
  }
  callback(req, res);
});

process.stdout.write(`listening ${issuer}\n`);
process.on('SIGTERM', () => process.exit(0));
