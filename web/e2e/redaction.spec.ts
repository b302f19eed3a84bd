// End-to-end: an administrator redacts a message; both agents' open IM windows show it live.
import { test, expect, type Browser, type Page } from '@playwright/test';

const PASSWORD = 'backline';

async function signIn(browser: Browser, username: string): Promise<{ page: Page; name: string }> {
  const page = await (await browser.newContext()).newPage();
  await page.goto('/');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign In' }).click();
  await expect(page.getByRole('searchbox', { name: 'Team Communicator' })).toBeVisible();
  await expect(page.getByRole('alert').filter({ hasText: 'Offline' })).toHaveCount(0);
  const me = (await (await page.request.get('/api/v1/me')).json()) as { display_name: string };
  return { page, name: me.display_name };
}

test('a redacted message is replaced live in both IM windows', async ({ browser }) => {
  const carol = await signIn(browser, 'carol');
  const dave = await signIn(browser, 'dave');
  await carol.page.getByRole('searchbox', { name: 'Team Communicator' }).fill('dave');
  await carol.page.getByRole('button', { name: `Actions for ${dave.name}` }).click();
  await carol.page.getByRole('menuitem', { name: 'Send an Instant Message' }).click();
  const carolWindow = carol.page.getByRole('region', { name: dave.name, exact: true });
  const box = carolWindow.getByRole('textbox', { name: `Message to ${dave.name}` });
  await box.fill('The door code is 4711');
  await box.press('Enter');
  const note = dave.page.getByRole('group', { name: `Instant message invitation from ${carol.name}` });
  await note.getByRole('button', { name: 'Accept' }).click();
  const daveLog = dave.page.getByRole('region', { name: carol.name, exact: true }).getByRole('log');
  const carolLog = carolWindow.getByRole('log');
  await expect(daveLog).toContainText('The door code is 4711');

  // The administrator redacts it over REST (a context of its own, so Carol keeps her cookie).
  const admin = (await browser.newContext()).request;
  const signedIn = await admin.post('/api/v1/auth/sign-in', { data: { username: 'admin', password: PASSWORD } });
  const { token } = (await signedIn.json()) as { token: string };
  const sessions = (await (await carol.page.request.get('/api/v1/sessions')).json()) as { id: string; participants: { display_name: string }[] }[];
  const session = sessions.find((s) => s.participants.some((p) => p.display_name === dave.name))!;
  const page = (await (await carol.page.request.get(`/api/v1/sessions/${session.id}/transcript`)).json()) as {
    entries: { seq: number; kind: string; text: string | null }[];
  };
  const message = page.entries.find((e) => e.kind === 'message' && e.text === 'The door code is 4711')!;
  const redacted = await admin.post(`/api/v1/admin/sessions/${session.id}/messages/${message.seq}/redact`, {
    headers: { authorization: `Bearer ${token}` },
    data: { reason: 'secret shared' },
  });
  expect(redacted.status()).toBe(200);

  for (const log of [carolLog, daveLog]) {
    await expect(log).toContainText('Message redacted by Ada Admin');
    await expect(log).not.toContainText('The door code is 4711');
  }
});
