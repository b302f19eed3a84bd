// End-to-end: the administration console. An administrator creates an account that signs in,
// disables it (its open desktop is signed out) and resets its password; makes an integration,
// rotates its token (the old one is refused), sees a failed webhook delivery and redelivers it
// to a receiver run by the test; and finds those changes in the audit log.
import { test, expect, type Page } from '@playwright/test';
import { createServer, type Server } from 'node:http';
import { signIn } from './agents';

/** A webhook receiver on a free local port: answers 500 while `failing`, records every body. */
async function receiver(): Promise<{ url: string; bodies: { id: string }[]; setFailing: (f: boolean) => void; close: () => Promise<void> }> {
  let failing = true;
  const bodies: { id: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (failing) {
        res.writeHead(500).end();
        return;
      }
      bodies.push(JSON.parse(body) as { id: string });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    bodies,
    setFailing: (f) => (failing = f),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function signInWith(page: Page, username: string, password: string): Promise<void> {
  await page.goto('/');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign In' }).click();
}

test('the administration console: accounts, an integration and its webhooks, the audit log', async ({ browser, playwright, baseURL }) => {
  const hook = await receiver();
  const admin = await signIn(browser, 'admin');
  const page = admin.page;
  const violations: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) violations.push(msg.text());
  });
  await page.getByRole('button', { name: 'Administration' }).click();
  await expect(page).toHaveURL(/\/admin$/);
  await expect(page.getByRole('heading', { name: 'Administration', level: 1 })).toBeVisible();
  const status = page.locator('.admin-message[role=status]');
  const section = (name: string) => page.getByRole('navigation', { name: 'Administration sections' }).getByRole('button', { name });

  // A new account signs in in another browser.
  const form = page.getByRole('form', { name: 'New account' });
  await form.getByLabel('Username').fill('nina');
  await form.getByLabel('Display name').fill('Nina Newcomer');
  await form.getByLabel('Initial password').fill('nina-first-password');
  await form.getByRole('button', { name: 'Create account' }).click();
  await expect(status).toHaveText('Account nina created.');
  await expect(page.getByRole('table', { name: 'Accounts' })).toContainText('Nina Newcomer');
  const ninaContext = await browser.newContext();
  const nina = await ninaContext.newPage();
  await signInWith(nina, 'nina', 'nina-first-password');
  await expect(nina.getByRole('searchbox', { name: 'Team Communicator' })).toBeVisible();

  // Disabled: her open desktop is signed out, and she cannot sign in again.
  await page.getByRole('heading', { name: /Nina Newcomer/ }).waitFor();
  await page.getByRole('button', { name: 'Disable account' }).click();
  await expect(status).toHaveText('nina is disabled and signed out everywhere.');
  await expect(nina.getByRole('button', { name: 'Sign In' })).toBeVisible();
  await signInWith(nina, 'nina', 'nina-first-password');
  await expect(nina.getByRole('alert')).toContainText('disabled');

  // Enabled again with a new password: the new one works.
  await page.getByRole('button', { name: 'Enable account' }).click();
  await expect(status).toHaveText('nina is enabled.');
  await page.getByLabel('New password').fill('nina-second-password');
  await page.getByRole('button', { name: 'Reset password' }).click();
  await expect(status).toContainText('New password set for nina');
  await signInWith(nina, 'nina', 'nina-second-password');
  await expect(nina.getByRole('searchbox', { name: 'Team Communicator' })).toBeVisible();
  await ninaContext.close();

  // A bad value is refused with the server's code and message.
  await form.getByLabel('Username').fill('nina');
  await form.getByLabel('Display name').fill('Another Nina');
  await form.getByLabel('Initial password').fill('long enough password');
  await form.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('alert')).toContainText('username "nina" is taken (already_exists)');

  // An integration: its token and webhook secret are shown once.
  await section('Integrations').click();
  await page.getByLabel('Integration name').fill('Acme CRM');
  await page.getByLabel('Webhook URL (optional)').fill(hook.url);
  await page.getByRole('button', { name: 'Create integration' }).click();
  const firstToken = (await page.getByLabel('New token', { exact: true }).textContent())!;
  await expect(page.getByLabel('New webhook secret', { exact: true })).not.toBeEmpty();
  expect(firstToken).toMatch(/^bli_/);
  await page.getByRole('button', { name: 'I have copied them' }).click();
  await expect(page.getByLabel('New token', { exact: true })).toHaveCount(0);

  const platform = await playwright.request.newContext({ baseURL });
  const create = (token: string, external: string) =>
    platform.post('/api/v1/platform/interactions', {
      headers: { Authorization: `Bearer ${token}` },
      data: { external_id: external, media: 'email', agent: 'alice', subject: 'Admin console' },
    });
  expect((await create(firstToken, 'admin-e2e-1')).status()).toBe(201);

  // The token rotated: the old one is refused, the new one works.
  await page.getByRole('button', { name: 'New token for Acme CRM' }).click();
  await expect(status).toHaveText('New token made; the old one no longer works.');
  const secondToken = (await page.getByLabel('New token', { exact: true }).textContent())!;
  expect(secondToken).not.toBe(firstToken);
  const refused = await create(firstToken, 'admin-e2e-2');
  expect(refused.status()).toBe(401);
  expect(((await refused.json()) as { code: string }).code).toBe('unauthenticated');
  expect((await create(secondToken, 'admin-e2e-2')).status()).toBe(201);
  await page.getByRole('button', { name: 'I have copied them' }).click();

  // The receiver answers 500: the deliveries show the failure; redelivered once it is back.
  await page.getByRole('button', { name: 'Webhook deliveries of Acme CRM' }).click();
  const deliveries = page.getByRole('table', { name: 'Webhook deliveries' });
  const firstEvent = deliveries.getByRole('row').filter({ hasText: 'interaction.created' }).last();
  await expect(async () => {
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect(firstEvent).toContainText('HTTP 500', { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  await expect(firstEvent).toContainText('Retrying');
  hook.setFailing(false);
  await firstEvent.getByRole('button', { name: /^Redeliver / }).click();
  await expect(status).toHaveText('Queued to be sent again now.');
  await expect(async () => {
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect(firstEvent).toContainText('Delivered', { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  const eventId = (await firstEvent.getAttribute('aria-label'))!.split(' ').pop()!;
  expect(hook.bodies.some((b) => b.id === eventId)).toBe(true);

  // Compliance: a retention run that only counts.
  await section('Compliance').click();
  await page.getByRole('button', { name: 'Count what would be deleted' }).click();
  await expect(status).toHaveText('Counted; nothing was deleted.');
  await expect(page.getByRole('status', { name: 'Retention report' })).toContainText('Would delete');

  // The audit log: the changes just made, each kind found by its filter.
  await section('Audit log').click();
  const log = page.getByRole('table', { name: 'Audit log' });
  await page.getByLabel('Kind').selectOption({ label: 'Integrations and webhooks' });
  await page.getByRole('button', { name: 'Search' }).click();
  const acme = log.getByRole('row').filter({ hasText: 'Integration Acme CRM' });
  for (const action of ['integration_created', 'integration_token_rotated', 'webhook_redelivered']) {
    await expect(acme.filter({ hasText: action })).toHaveCount(1);
  }
  await expect(acme.first()).toContainText('Ada Admin (admin)');
  await expect(log.getByRole('row').filter({ hasText: 'user_created' })).toHaveCount(0);
  await page.getByLabel('Kind').selectOption({ label: 'Sign-ins' });
  await page.getByLabel('Who').selectOption({ label: 'Nina Newcomer (nina)' });
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(log.getByRole('row').filter({ hasText: 'sign_in' })).toHaveCount(2);
  await page.getByLabel('Kind').selectOption({ label: 'Accounts, groups and reasons' });
  await page.getByLabel('Who').selectOption({ label: 'Ada Admin (admin)' });
  await page.getByRole('button', { name: 'Search' }).click();
  const changes = log.getByRole('row').filter({ hasText: 'Account nina' });
  await expect(changes.filter({ hasText: 'user_created' })).toHaveCount(1);
  await expect(changes.filter({ hasText: 'disabled true' })).toHaveCount(1);
  await expect(changes.filter({ hasText: 'password reset' })).toHaveCount(1);

  expect(violations, 'the console runs under the CSP').toEqual([]);

  // Back to the desk.
  await page.getByRole('button', { name: 'Back to the desk' }).click();
  await expect(page.getByRole('searchbox', { name: 'Team Communicator' })).toBeVisible();
  await platform.dispose();
  await admin.close();
  await hook.close();
});
