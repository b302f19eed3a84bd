// The interactive API docs (Swagger UI, served by the binary) render the OpenAPI document under
// the server's Content-Security-Policy without a violation and without any outside request.
import { test, expect } from '@playwright/test';

test('the API docs render under the CSP from the binary alone', async ({ browser, baseURL }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const violations: string[] = [];
  const outside: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) violations.push(msg.text());
  });
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(baseURL ?? '') && !url.startsWith('data:')) outside.push(url);
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const response = await page.goto('/api/docs/');
  const csp = response?.headers()['content-security-policy'] ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toContain('unsafe-inline');
  await expect(page.getByRole('heading', { name: /Backline API/ })).toBeVisible();
  // The document rendered: a route and the webhooks section are listed.
  await expect(page.getByText('/sessions/{id}/messages').first()).toBeVisible();
  await expect(page.getByText('interaction.created').first()).toBeVisible();
  expect(violations).toEqual([]);
  expect(outside).toEqual([]);
  await context.close();
});
