// What the desktop specs share: signing an agent in (a browser context of its own) and My Status.
import { expect, type Browser, type Page } from '@playwright/test';
import { join } from 'node:path';

/** The demo organisation's password. */
export const PASSWORD = 'backline';
export const shots = join(import.meta.dirname, 'screenshots');

export interface Agent {
  page: Page;
  name: string;
  id: string;
  close: () => Promise<void>;
}

export async function signIn(browser: Browser, username: string): Promise<Agent> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto('/');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign In' }).click();
  await expect(page.getByRole('searchbox', { name: 'Team Communicator' })).toBeVisible();
  const me = (await (await page.request.get('/api/v1/me')).json()) as { id: string; display_name: string };
  await expect(page.getByRole('alert').filter({ hasText: 'Offline' })).toHaveCount(0);
  return { page, name: me.display_name, id: me.id, close: () => context.close() };
}

export async function setMyStatus(agent: Agent, label: string): Promise<void> {
  const button = agent.page.getByRole('button', { name: /^My Status: / });
  await button.click();
  await agent.page.getByRole('menuitemradio', { name: label, exact: true }).click();
  await expect(button).toHaveAccessibleName(`My Status: ${label}`);
}
