// The desktop and the click-to-call page run under the server's Content-Security-Policy
// without a single violation (no inline script or style, the socket on the same origin).
import { test, expect, type Page } from '@playwright/test';

/** Records CSP violations the page reports, from its first script on. */
async function watchViolations(page: Page): Promise<string[]> {
  const violations: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) violations.push(msg.text());
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return violations;
}

test('the desktop signs in and connects its socket under the CSP', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const violations = await watchViolations(page);
  const response = await page.goto('/');
  const csp = response?.headers()['content-security-policy'] ?? '';
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain('unsafe-inline');
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill('backline');
  await page.getByRole('button', { name: 'Sign In' }).click();
  await expect(page.getByRole('searchbox', { name: 'Team Communicator' })).toBeVisible();
  // Connected: the socket (connect-src 'self') is up.
  await expect(page.getByRole('alert').filter({ hasText: 'Offline' })).toHaveCount(0);
  await page.getByRole('searchbox', { name: 'Team Communicator' }).fill('bob');
  await expect(page.getByRole('button', { name: /^Actions for / }).first()).toBeVisible();
  expect(violations).toEqual([]);
  await context.close();
});

test('the click-to-call page renders under the CSP', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const violations = await watchViolations(page);
  const response = await page.goto('/call');
  expect(response?.headers()['x-frame-options']).toBe('DENY');
  await expect(page.getByRole('heading', { name: 'Call us' })).toBeVisible();
  expect(violations).toEqual([]);
  await context.close();
});
