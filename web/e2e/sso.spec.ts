// Single sign-on in Chromium against a real OpenID provider (`oidc-provider`, started by
// e2e/run.mjs): "Sign in with Test IdP", the provider's own login page, back to the desktop
// signed in as the account provisioned from the provider's claims; and a refusal shown on the
// sign-in page. The one-time code never stays in the address bar.
import { test, expect, type Browser } from '@playwright/test';

const issuer = process.env.BACKLINE_OIDC_ISSUER;

async function setProviderAccounts(accounts: Record<string, Record<string, unknown>>): Promise<void> {
  if (!issuer) throw new Error('BACKLINE_OIDC_ISSUER is not set: run the specs with `npm run e2e`');
  const response = await fetch(`${issuer}/__test/accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(accounts),
  });
  expect(response.status).toBe(204);
}

async function signInAtProvider(browser: Browser, login: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto('/');
  await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
  // The provider's page, on the provider's origin.
  await expect(page).toHaveURL(new RegExp(`^${issuer}/interaction/`));
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  return { context, page };
}

test('an agent signs in with the identity provider and lands in the desktop', async ({ browser, baseURL }) => {
  await setProviderAccounts({
    'ines@idp': { preferred_username: 'ines', name: 'Ines Identity', groups: ['cc-agents'] },
  });
  const { context, page } = await signInAtProvider(browser, 'ines@idp');
  await expect(page.getByRole('searchbox', { name: 'Team Communicator' })).toBeVisible();
  // Back on the desktop, without the one-time code in the address.
  expect(page.url()).toBe(`${baseURL}/`);
  const me = (await (await page.request.get('/api/v1/me')).json()) as {
    username: string;
    display_name: string;
    im_permitted: boolean;
    groups: { name: string }[];
  };
  expect(me.username).toBe('ines');
  expect(me.display_name).toBe('Ines Identity');
  expect(me.im_permitted).toBe(true);
  expect(me.groups.map((g) => g.name)).toEqual(['Billing']);
  // Signed in as her, and connected.
  await expect(page.locator('.user-name')).toHaveText('Ines Identity');
  await expect(page.getByRole('alert').filter({ hasText: 'Offline' })).toHaveCount(0);
  await context.close();
  // A colleague finds her in the Team Communicator.
  const colleague = await browser.newContext();
  const alice = await colleague.newPage();
  await alice.goto('/');
  await alice.getByLabel('Username').fill('alice');
  await alice.getByLabel('Password').fill('backline');
  await alice.getByRole('button', { name: 'Sign In' }).click();
  await alice.getByRole('searchbox', { name: 'Team Communicator' }).fill('Ines');
  await expect(alice.getByText('Ines Identity').first()).toBeVisible();
  await colleague.close();
});

test('an account the rules do not let in is told so on the sign-in page', async ({ browser, baseURL }) => {
  await setProviderAccounts({ 'outsider@idp': { preferred_username: 'outsider', groups: ['contractors'] } });
  const { context, page } = await signInAtProvider(browser, 'outsider@idp');
  await expect(page.getByRole('alert')).toContainText('may not use Backline');
  expect(page.url()).toBe(`${baseURL}/`);
  // The password form is still offered (passwords are on in this server).
  await expect(page.getByLabel('Username')).toBeVisible();
  await context.close();
});
