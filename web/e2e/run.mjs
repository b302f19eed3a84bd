#!/usr/bin/env node
// `npm run e2e`: builds the web app, starts a fresh Backline server on a free port
// (temporary data dir, 3 s invitation time-out) with single sign-on through a real
// OpenID provider (`oidc-provider`, from crates/backline-server/tests/oidc-provider),
// runs the Playwright specs, stops both.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const webDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoDir = resolve(webDir, '..');
const targetDir = process.env.CARGO_TARGET_DIR || join(repoDir, 'target');
const binary = process.env.BACKLINE_BIN || join(targetDir, 'debug', 'backline');

if (!existsSync(binary)) {
  console.error(
    `e2e: the server binary ${binary} is missing.\n` +
      `Build it first, from ${repoDir}:\n  export CARGO_TARGET_DIR=${targetDir}\n  cargo build -p backline-server`,
  );
  process.exit(2);
}
if (!existsSync(process.env.CHROMIUM_PATH || '/usr/bin/chromium')) {
  console.error('e2e: /usr/bin/chromium is missing (apt-get install -y chromium).');
  process.exit(2);
}

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: webDir, ...opts });
  return r.status ?? 1;
}

if (!process.env.E2E_SKIP_BUILD) {
  if (run('npx', ['vite', 'build', '--logLevel', 'warn']) !== 0) {
    console.error('e2e: vite build failed');
    process.exit(1);
  }
}

const port = await freePort();
const dataDir = mkdtempSync(join(tmpdir(), 'backline-e2e-'));
const url = `http://127.0.0.1:${port}`;
mkdirSync(join(webDir, 'e2e', 'screenshots'), { recursive: true });

// The OpenID provider: its client is this server (its callback on `port`).
const providerDir = join(repoDir, 'crates', 'backline-server', 'tests', 'oidc-provider');
if (!existsSync(join(providerDir, 'node_modules', 'oidc-provider'))) {
  console.error(`e2e: the test OpenID provider is not installed: run \`npm ci\` in ${providerDir} (scripts/test does).`);
  process.exit(2);
}
const clientSecret = 'e2e-client-secret';
const provider = spawn(process.execPath, ['provider.mjs'], {
  cwd: providerDir,
  env: {
    ...process.env,
    PORT: '0',
    CLIENTS: JSON.stringify([{ client_id: 'backline', client_secret: clientSecret, redirect_uris: [`${url}/api/v1/auth/oidc/callback`] }]),
  },
  stdio: ['ignore', 'pipe', 'ignore'],
});
const issuer = await new Promise((res, rej) => {
  let out = '';
  const timer = setTimeout(() => rej(new Error('the OpenID provider did not start within 20 s')), 20_000);
  provider.stdout.on('data', (chunk) => {
    out += chunk;
    const m = /listening (\S+)/.exec(out);
    if (m) {
      clearTimeout(timer);
      res(m[1]);
    }
  });
  provider.on('exit', (code) => rej(new Error(`the OpenID provider exited (${code})`)));
});
console.log(`e2e: OpenID provider at ${issuer}`);
const configFile = join(dataDir, 'e2e.toml');
writeFileSync(
  configFile,
  `[oidc]
issuer = "${issuer}"
client_id = "backline"
client_secret = "${clientSecret}"
public_url = "${url}"
display_name = "Test IdP"
scopes = ["openid", "profile", "groups"]

[[oidc.rules]]
claim = "groups"
value = "cc-agents"
groups = ["Billing"]
im = true
`,
);
const serverArgs = ['serve', '--demo', '--config', configFile, '--bind', `127.0.0.1:${port}`, '--data-dir', dataDir, '--web-dir', join(webDir, 'dist')];
const [cmd, cmdArgs] = [binary, serverArgs];
console.log(`e2e: starting ${cmd} ${cmdArgs.join(' ')}`);
const server = spawn(cmd, cmdArgs, {
  cwd: repoDir,
  env: {
    ...process.env,
    BACKLINE_IM__INVITE_TIMEOUT_SECS: '3',
    BACKLINE_METRICS__BIND: '127.0.0.1:0',
    RUST_LOG: process.env.RUST_LOG || 'warn',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
let serverExit = null;
server.on('exit', (code, signal) => {
  serverExit = { code, signal };
});

function stopServer() {
  if (serverExit) return Promise.resolve();
  return new Promise((res) => {
    const t = setTimeout(() => {
      server.kill('SIGKILL');
    }, 5000);
    server.once('exit', () => {
      clearTimeout(t);
      res();
    });
    server.kill('SIGTERM');
  });
}

async function waitReady() {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (serverExit) throw new Error(`the server exited early (${JSON.stringify(serverExit)})`);
    try {
      const r = await fetch(`${url}/api/v1/me`);
      if (r.status === 401 || r.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the server did not answer GET /api/v1/me within 30 s');
}

let status = 1;
try {
  await waitReady();
  console.log(`e2e: server ready at ${url}`);
  const extra = process.argv.slice(2);
  const child = spawn('npx', ['playwright', 'test', ...extra], {
    cwd: webDir,
    stdio: 'inherit',
    env: { ...process.env, BACKLINE_URL: url, BACKLINE_OIDC_ISSUER: issuer },
  });
  status = await new Promise((res) => child.on('exit', (code) => res(code ?? 1)));
} catch (e) {
  console.error(`e2e: ${e.message}`);
  status = 1;
} finally {
  await stopServer();
  provider.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(status);
