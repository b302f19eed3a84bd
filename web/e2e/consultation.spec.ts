// End-to-end: an IM consultation from an active voice interaction (user guide: "Starting an IM
// Consultation from an Active Interaction"), against a real server (see run.mjs).
import { test, expect, request as playwrightRequest, type APIRequestContext, type Page } from '@playwright/test';
import { join } from 'node:path';
import { PASSWORD, shots, signIn, type Agent } from './agents';

/** The platform side: an integration token from the admin API, then `/api/v1/platform/…` calls with it. */
async function platform(baseURL: string): Promise<{ api: APIRequestContext; dispose: () => Promise<void> }> {
  const admin = await playwrightRequest.newContext({ baseURL });
  const signIn = await admin.post('/api/v1/auth/sign-in', { data: { username: 'admin', password: PASSWORD } });
  expect(signIn.status(), await signIn.text()).toBe(200);
  const created = await admin.post('/api/v1/admin/integrations', { data: { name: `e2e-${Date.now()}` } });
  expect(created.status(), `POST /api/v1/admin/integrations → ${created.status()} ${await created.text()}`).toBeLessThan(300);
  const { token } = (await created.json()) as { token: string };
  await admin.dispose();
  const api = await playwrightRequest.newContext({ baseURL, extraHTTPHeaders: { Authorization: `Bearer ${token}` } });
  return { api, dispose: () => api.dispose() };
}

// a fresh contact per run (`run` suffix), so the spec also passes against a server it already ran on
const CONTACT = {
  external_id: 'C-9',
  first_name: 'Jane',
  last_name: 'Doe',
  phones: ['+1 555 0100', '+1 555 0199'],
  emails: ['jane.doe@example.com'],
  attributes: [
    { key: 'Customer segment', value: 'Gold' },
    { key: 'Language', value: 'English' },
  ],
};

const CASE_DATA = [
  { key: 'Account number', value: 'ACC-1042' },
  { key: 'Plan', value: 'Fibre 1000' },
  { key: 'Reason for call', value: 'Intermittent outage' },
];

async function createInteraction(api: APIRequestContext, body: Record<string, unknown>): Promise<{ id: string }> {
  const res = await api.post('/api/v1/platform/interactions', { data: body });
  expect(res.status(), `POST /api/v1/platform/interactions ${JSON.stringify(body)} → ${res.status()} ${await res.text()}`).toBeLessThan(300);
  return (await res.json()) as { id: string };
}

async function endInteraction(api: APIRequestContext, id: string, outcome: string, notes: string): Promise<void> {
  const res = await api.post(`/api/v1/platform/interactions/${id}/end`, { data: { outcome, notes } });
  expect(res.status(), `POST /api/v1/platform/interactions/${id}/end → ${res.status()} ${await res.text()}`).toBe(200);
}

function imWindow(agent: Agent, other: string) {
  return agent.page.getByRole('region', { name: other, exact: true });
}

function taskbar(agent: Agent) {
  return agent.page.getByRole('navigation', { name: 'Task bar' });
}

test('IM consultation from an active voice interaction: case data, contact and history shared with the target only', async ({ browser, baseURL }) => {
  const { api, dispose } = await platform(baseURL!);
  const run = Date.now().toString(36);
  const contact = { ...CONTACT, external_id: `C-9-${run}` };

  // the contact's past: two ended interactions handled by other agents
  const past1 = await createInteraction(api, {
    external_id: `PAST-1-${run}`,
    media: 'voice',
    agent: 'dave',
    contact,
    subject: 'Router replacement',
    case_data: [{ key: 'Account number', value: 'ACC-1042' }],
  });
  await endInteraction(api, past1.id, 'Resolved', 'Shipped a replacement router; customer satisfied');
  const past2 = await createInteraction(api, {
    external_id: `PAST-2-${run}`,
    media: 'email',
    agent: 'erin',
    contact,
    subject: 'Invoice question',
    case_data: [],
  });
  await endInteraction(api, past2.id, 'Answered', 'Explained the pro-rata charge');

  const alice = await signIn(browser, 'alice');
  const bob = await signIn(browser, 'bob');

  // the platform pushes a live voice call to Alice: it appears in her task bar (stream event)
  const live = await createInteraction(api, {
    external_id: `LIVE-${run}`,
    media: 'voice',
    agent: 'alice',
    contact,
    subject: 'Internet keeps dropping',
    case_data: CASE_DATA,
  });
  const task = taskbar(alice).getByRole('button', { name: 'Voice: Jane Doe, Internet keeps dropping, Active' });
  await expect(task).toBeVisible();
  await task.click();

  const win = alice.page.getByRole('region', { name: 'Voice interaction with Jane Doe' });
  await expect(win).toBeVisible();
  await expect(win.getByRole('tablist')).toBeVisible();
  // Case Data: ordered key/value table, read-only
  await expect(win.getByRole('tab', { name: 'Case Data' })).toHaveAttribute('aria-selected', 'true');
  const caseTable = win.getByRole('table', { name: 'Case Data' });
  await expect(caseTable.getByRole('rowheader')).toHaveText(CASE_DATA.map((c) => c.key));
  await expect(caseTable.getByRole('cell')).toHaveText(CASE_DATA.map((c) => c.value));
  await expect(win.getByRole('textbox')).toHaveCount(0);
  // Contact Information
  await win.getByRole('tab', { name: 'Contact Information' }).click();
  await expect(win.getByRole('tabpanel')).toContainText('Jane Doe');
  await expect(win.getByRole('link', { name: '+1 555 0100' })).toBeVisible();
  await expect(win.getByRole('link', { name: 'jane.doe@example.com' })).toBeVisible();
  await expect(win.getByRole('tabpanel')).toContainText('Customer segment');
  // Contact History: newest first, the current interaction highlighted
  await win.getByRole('tab', { name: 'Contact History' }).focus();
  await alice.page.keyboard.press('End');
  await expect(win.getByRole('tab', { name: 'Contact History' })).toHaveAttribute('aria-selected', 'true');
  const history = win.getByRole('list', { name: 'Contact history' });
  await expect(history.getByRole('listitem')).toHaveCount(3);
  await expect(history.getByRole('listitem').nth(0)).toHaveAttribute('aria-current', 'true');
  await expect(history.getByRole('listitem').nth(0)).toContainText('Internet keeps dropping');
  await expect(history.getByRole('listitem').nth(1)).toContainText('Invoice question');
  await expect(history.getByRole('listitem').nth(2)).toContainText('Router replacement');
  await expect(history.getByRole('listitem').nth(2)).toContainText('Shipped a replacement router');
  await alice.page.screenshot({ path: join(shots, 'interaction-window.png') });

  // Start Consultation → Team Communicator in the interaction's context
  await win.getByRole('button', { name: 'Start Consultation' }).click();
  const tc = alice.page.getByRole('region', { name: 'Team Communicator' });
  await expect(tc.getByRole('heading', { name: 'Active Consultations' })).toBeVisible();
  await tc.getByRole('searchbox', { name: 'Team Communicator' }).fill('bob');
  await tc.getByRole('list', { name: 'Results' }).getByRole('button', { name: `Actions for ${bob.name}` }).click();
  await expect(alice.page.getByRole('menuitem', { name: 'Send an Instant Message' })).toHaveCount(0);
  await alice.page.getByRole('menuitem', { name: 'Start Instant Message Consultation', exact: true }).click();

  // a new IM window, Not Connected, saying what it is about
  const aliceIm = imWindow(alice, bob.name);
  await expect(aliceIm).toBeVisible();
  await expect(aliceIm.getByText('Not Connected', { exact: true })).toBeVisible();
  await expect(aliceIm).toContainText('Consultation about Voice · Jane Doe · Internet keeps dropping');
  // nothing reached Bob yet
  await expect(bob.page.getByRole('group', { name: `Instant message invitation from ${alice.name}` })).toHaveCount(0);

  // the first message invites Bob and travels in his notification
  const first = 'Hi Bob, customer Jane Doe has an intermittent outage: can you check the line?';
  await aliceIm.getByRole('textbox', { name: `Message to ${bob.name}` }).fill(first);
  await aliceIm.getByRole('button', { name: 'Send' }).click();
  const note = bob.page.getByRole('group', { name: `Instant message invitation from ${alice.name}` });
  await expect(note).toBeVisible();
  await expect(note).toContainText(first);
  // before accepting, Bob's server answer is not_shared
  const early = await bob.page.request.get(`/api/v1/interactions/${live.id}`);
  expect(early.status()).toBe(403);
  await note.getByRole('button', { name: 'Accept' }).click();

  // Bob sees the case data (read-only), the contact information and the history beside the transcript
  const bobIm = imWindow(bob, alice.name);
  await expect(bobIm.getByText('Connected', { exact: true })).toBeVisible();
  await expect(aliceIm.getByText('Connected', { exact: true })).toBeVisible();
  await expect(bobIm.getByRole('log')).toContainText(first);
  await expect(bobIm.getByRole('tablist')).toBeVisible();
  const bobCase = bobIm.getByRole('table', { name: 'Case Data' });
  await expect(bobCase.getByRole('cell')).toHaveText(CASE_DATA.map((c) => c.value));
  await expect(bobIm.getByText('Read-only')).toBeVisible();
  await expect(bobIm).toContainText('Consultation about Voice · Jane Doe · Internet keeps dropping');
  await bobIm.getByRole('tab', { name: 'Contact Information' }).click();
  await expect(bobIm.getByRole('link', { name: '+1 555 0199' })).toBeVisible();
  await expect(bobIm.getByRole('link', { name: 'jane.doe@example.com' })).toBeVisible();
  await bobIm.getByRole('tab', { name: 'Contact History' }).click();
  const bobHistory = bobIm.getByRole('list', { name: 'Contact history' });
  await expect(bobHistory.getByRole('listitem')).toHaveCount(3);
  // Bob finds the past interaction by searching (prefix, case-insensitive)
  await bobIm.getByRole('searchbox', { name: 'Search contact history' }).fill('REPLACEM');
  await expect(bobHistory.getByRole('listitem')).toHaveCount(1);
  await expect(bobHistory.getByRole('listitem').first()).toContainText('Router replacement');
  await expect(bobHistory.getByRole('listitem').first().locator('mark').first()).toBeVisible();
  // the advanced search narrows by media
  await bobIm.getByRole('searchbox', { name: 'Search contact history' }).fill('');
  await bobIm.getByRole('button', { name: 'Advanced search' }).click();
  await bobIm.getByRole('combobox', { name: 'Media' }).selectOption({ label: 'E-mail' });
  await expect(bobHistory.getByRole('listitem')).toHaveCount(1);
  await expect(bobHistory.getByRole('listitem').first()).toContainText('Invoice question');
  await bobIm.getByRole('button', { name: 'Clear search' }).click();
  await expect(bobHistory.getByRole('listitem')).toHaveCount(3);
  await bobIm.getByRole('button', { name: 'Advanced search' }).click();
  await bob.page.screenshot({ path: join(shots, 'consultation-target.png') });

  // Start Consultation again: Bob is listed under Active Consultations and pre-selected
  await win.getByRole('button', { name: 'Start Consultation' }).click();
  const active = tc.getByRole('region', { name: 'Active Consultations' });
  const bobRow = active.getByRole('listitem', { name: new RegExp(`^${bob.name}, `) });
  await expect(bobRow).toHaveAttribute('aria-current', 'true');
  await expect(bobRow.getByRole('button', { name: `Actions for ${bob.name}` })).toBeFocused();
  // typing a search drops the pre-selection
  await tc.getByRole('searchbox', { name: 'Team Communicator' }).fill('car');
  await expect(active.locator('[aria-current="true"]')).toHaveCount(0);
  await tc.getByRole('button', { name: 'Close consultation' }).click();
  await expect(tc.getByRole('heading', { name: 'Active Consultations' })).toHaveCount(0);

  // they talk, then Bob ends the session
  await bobIm.getByRole('textbox', { name: `Message to ${alice.name}` }).fill('Line tests fine; it is her router firmware.');
  await bobIm.getByRole('textbox', { name: `Message to ${alice.name}` }).press('Enter');
  await expect(aliceIm.getByRole('log')).toContainText('it is her router firmware');
  await aliceIm.getByRole('textbox', { name: `Message to ${bob.name}` }).fill('Thanks, I will walk her through the update.');
  await aliceIm.getByRole('textbox', { name: `Message to ${bob.name}` }).press('Enter');
  await expect(bobIm.getByRole('log')).toContainText('walk her through the update');
  await bobIm.getByRole('button', { name: 'End Session' }).click();
  await expect(aliceIm.getByText('Ended', { exact: true })).toBeVisible();
  await expect(bobIm.getByText('Ended', { exact: true })).toBeVisible();

  // the consultation transcript is attached to the interaction, so to the contact's history
  const current = history.locator('li[aria-current="true"]');
  await expect(async () => {
    await win.getByRole('tab', { name: 'Case Data' }).click();
    await win.getByRole('tab', { name: 'Contact History' }).click();
    await expect(current.locator('summary').first()).toContainText('Transcript', { timeout: 2_000 });
  }).toPass({ timeout: 20_000 });
  await current.locator('summary').first().click();
  await expect(current).toContainText(first);
  await expect(current).toContainText('it is her router firmware');

  // a third agent: the server refuses the case data, and nothing of it shows in her desktop
  const carol = await signIn(browser, 'carol');
  for (const path of [`/api/v1/interactions/${live.id}`, `/api/v1/interactions/${live.id}/contact`, `/api/v1/interactions/${live.id}/history`]) {
    const res = await carol.page.request.get(path);
    expect(res.status(), `${path} → ${res.status()} ${await res.text()}`).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe('not_shared');
  }
  await expect(taskbar(carol).getByRole('button', { name: /Jane Doe/ })).toHaveCount(0);
  await expect(carol.page.getByText('ACC-1042')).toHaveCount(0);
  await expect(carol.page.getByText('Internet keeps dropping')).toHaveCount(0);

  // Alice closes the consultation window
  await aliceIm.getByRole('button', { name: 'Done' }).click();
  await expect(aliceIm).toHaveCount(0);

  // the platform ends the call: the task bar and the window show Ended, and Done removes it
  await expect(win.getByRole('button', { name: 'Done' })).toBeDisabled();
  await endInteraction(api, live.id, 'Resolved', 'Router firmware updated with the customer');
  await expect(taskbar(alice).getByRole('button', { name: 'Voice: Jane Doe, Internet keeps dropping, Ended' })).toBeVisible();
  await expect(win.getByText('Ended', { exact: true })).toBeVisible();
  await expect(win.getByRole('button', { name: 'Start Consultation' })).toBeDisabled();
  const done = alice.page.waitForResponse((r) => r.url().endsWith(`/api/v1/interactions/${live.id}/done`));
  await win.getByRole('button', { name: 'Done' }).click();
  expect((await done).status()).toBe(204);
  await expect(win).toHaveCount(0);
  await expect(taskbar(alice).getByRole('button', { name: /Internet keeps dropping/ })).toHaveCount(0);
  // and stays gone after a reload
  await alice.page.reload();
  await expect(alice.page.getByRole('searchbox', { name: 'Team Communicator' })).toBeVisible();
  await expect(taskbar(alice).getByRole('button', { name: /Internet keeps dropping/ })).toHaveCount(0);

  await carol.close();
  await alice.close();
  await bob.close();
  await dispose();
});

test('Done before the first message cancels the consultation without inviting anyone', async ({ browser, baseURL }) => {
  const { api, dispose } = await platform(baseURL!);
  const run = Date.now().toString(36);
  const frank = await signIn(browser, 'frank');
  const grace = await signIn(browser, 'grace');
  await createInteraction(api, {
    external_id: `CHAT-${run}`,
    media: 'chat',
    agent: 'frank',
    contact: { ...CONTACT, external_id: `C-${run}`, first_name: 'Sam', last_name: 'Lee' },
    subject: `Delivery date ${run}`,
    case_data: [{ key: 'Order', value: 'ORD-77' }],
  });
  await taskbar(frank).getByRole('button', { name: `Chat: Sam Lee, Delivery date ${run}, Active` }).click();
  await frank.page.getByRole('region', { name: 'Chat interaction with Sam Lee' }).getByRole('button', { name: 'Start Consultation' }).click();
  await frank.page.getByRole('searchbox', { name: 'Team Communicator' }).fill('grace');
  await frank.page.getByRole('list', { name: 'Results' }).getByRole('button', { name: `Actions for ${grace.name}` }).click();
  await frank.page.getByRole('menuitem', { name: 'Start Instant Message Consultation', exact: true }).click();
  const im = imWindow(frank, grace.name);
  await expect(im.getByText('Not Connected', { exact: true })).toBeVisible();
  await im.getByRole('button', { name: 'Done' }).click();
  await expect(im).toHaveCount(0);
  // Grace was never invited
  await grace.page.waitForTimeout(1000);
  await expect(grace.page.getByRole('group', { name: `Instant message invitation from ${frank.name}` })).toHaveCount(0);
  await expect(taskbar(grace).getByRole('button', { name: new RegExp(frank.name) })).toHaveCount(0);
  await frank.close();
  await grace.close();
  await dispose();
});

/** Every item of an open menu lies inside the window and is what the pointer would hit at its centre. */
async function expectMenuUnclipped(page: Page, menuName: string) {
  const menu = page.getByRole('menu', { name: menuName });
  await expect(menu).toBeVisible();
  const items = await menu.getByRole('menuitem').all();
  expect(items.length).toBeGreaterThan(0);
  const viewport = page.viewportSize()!;
  for (const item of items) {
    const box = (await item.boundingBox())!;
    const label = await item.innerText();
    expect(box.x, label).toBeGreaterThanOrEqual(0);
    expect(box.y, label).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width, label).toBeLessThanOrEqual(viewport.width);
    expect(box.y + box.height, label).toBeLessThanOrEqual(viewport.height);
    const hit = await item.evaluate((el) => {
      const r = el.getBoundingClientRect();
      const at = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return !!at && (at === el || el.contains(at));
    });
    expect(hit, `${label} is covered or clipped at its centre`).toBe(true);
  }
}

/**
 * Nothing scrolls sideways and nothing is cut: the page is no wider than the window, no box from the
 * workspace up scrolls horizontally, and no element of the workspace or the sidebar hides part of its
 * content (clipped text, a button too narrow for its label) or sticks out of the window.
 */
async function expectNothingCut(page: Page, what: string) {
  const report = await page.evaluate(() => {
    const name = (el: Element) => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} "${(el.textContent ?? '').trim().slice(0, 40)}"`;
    const se = document.scrollingElement!;
    const problems: string[] = [];
    if (se.scrollWidth > se.clientWidth) problems.push(`page scrollWidth ${se.scrollWidth} > ${se.clientWidth}`);
    for (let el: Element | null = document.querySelector('main.workspace'); el; el = el.parentElement) {
      if (el.scrollWidth > el.clientWidth + 1) problems.push(`scrolls sideways: ${name(el)} ${el.scrollWidth} > ${el.clientWidth}`);
    }
    const width = window.innerWidth;
    for (const el of document.querySelectorAll('.app *')) {
      if (el.closest('.visually-hidden, [aria-hidden="true"], .notifications') || !(el instanceof HTMLElement)) continue;
      if (el.offsetParent === null || el.clientWidth === 0) continue;
      if (el.matches('input, textarea, select, option')) continue;
      const cs = getComputedStyle(el);
      const clips = cs.overflowX !== 'visible' || el.tagName === 'BUTTON';
      if (clips && el.scrollWidth > el.clientWidth + 1) problems.push(`cut: ${name(el)} ${el.scrollWidth} > ${el.clientWidth}`);
      const r = el.getBoundingClientRect();
      if (r.width > 0 && (r.right > width + 1 || r.left < -1)) problems.push(`outside the window: ${name(el)} ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
    return problems.slice(0, 15);
  });
  expect(report, what).toEqual([]);
}

test('workspace: one interaction in focus with its consultation, menus above the layout, nothing cut, kept across reload and tabs', async ({ browser, baseURL }) => {
  const { api, dispose } = await platform(baseURL!);
  const run = Date.now().toString(36);
  const heidi = await signIn(browser, 'heidi');
  const page = heidi.page;
  await page.setViewportSize({ width: 1280, height: 800 });
  await createInteraction(api, {
    external_id: `LAYOUT-V-${run}`,
    media: 'voice',
    agent: 'heidi',
    contact: { ...CONTACT, external_id: `C-L1-${run}`, first_name: 'Robert', last_name: 'Bobbington-Smythe' },
    subject: 'Delivery of the replacement router to the wrong address',
    case_data: CASE_DATA,
  });
  await createInteraction(api, {
    external_id: `LAYOUT-C-${run}`,
    media: 'chat',
    agent: 'heidi',
    contact: { ...CONTACT, external_id: `C-L2-${run}`, first_name: 'Sam', last_name: 'Lee' },
    subject: 'Delivery date of order ORD-77',
    case_data: [{ key: 'Order', value: 'ORD-77' }],
  });
  const tasks = taskbar(heidi);
  const voiceTask = tasks.getByRole('button', { name: /^Voice: Robert Bobbington-Smythe/ });
  const chatTask = tasks.getByRole('button', { name: /^Chat: Sam Lee/ });
  const voiceWin = page.getByRole('region', { name: 'Voice interaction with Robert Bobbington-Smythe' });
  const chatWin = page.getByRole('region', { name: 'Chat interaction with Sam Lee' });
  await voiceTask.click();
  await chatTask.click();
  await voiceTask.click();
  await expect(voiceWin).toBeVisible();

  // IM with a colleague without the Internal IM permission: shown disabled, with the server's reason
  await page.getByRole('searchbox', { name: 'Team Communicator' }).fill('mallory');
  await page.getByRole('list', { name: 'Results' }).getByRole('button', { name: 'Actions for Mallory Moreau' }).click();
  const refused = page.getByRole('menuitem', { name: /Send an Instant Message/ });
  await expect(refused).toHaveAttribute('aria-disabled', 'true');
  await expect(refused).toHaveAccessibleDescription('Mallory Moreau does not have the Internal IM permission.');
  await page.keyboard.press('Escape');
  // and Mallory is told on her own desktop, not invited to send one
  const mallory = await signIn(browser, 'mallory');
  await expect(mallory.page.getByRole('status').filter({ hasText: 'Your account does not have the Internal IM permission' })).toBeVisible();
  await expect(mallory.page.getByText('choose “Send an Instant Message”')).toHaveCount(0);
  await mallory.close();

  // an IM consultation from the voice interaction; the first message invites Ivan
  await voiceWin.getByRole('button', { name: 'Start Consultation' }).click();
  const tc = page.getByRole('region', { name: 'Team Communicator' });
  await tc.getByRole('searchbox', { name: 'Team Communicator' }).fill('ivan');
  await tc.getByRole('list', { name: 'Results' }).getByRole('button', { name: 'Actions for Ivan Ivanov' }).click();
  await expectMenuUnclipped(page, 'Actions for Ivan Ivanov');
  await page.getByRole('menuitem', { name: 'Start Instant Message Consultation', exact: true }).click();
  const consult = imWindow(heidi, 'Ivan Ivanov');
  await consult.getByRole('textbox', { name: 'Message to Ivan Ivanov' }).fill('Can you check the delivery address?');
  await consult.getByRole('button', { name: 'Send' }).click();
  await expect(consult.getByRole('log')).toContainText('Can you check the delivery address?');
  await expect(consult.getByText('Pending…')).toHaveCount(0);

  // row 1: the Active Consultations menu is not clipped by its little list
  await voiceWin.getByRole('button', { name: 'Start Consultation' }).click();
  const active = tc.getByRole('region', { name: 'Active Consultations' });
  await active.getByRole('button', { name: 'Actions for Ivan Ivanov' }).click();
  await expect(page.getByRole('menu', { name: 'Actions for Ivan Ivanov' }).getByRole('menuitem')).not.toHaveCount(0);
  await expectMenuUnclipped(page, 'Actions for Ivan Ivanov');
  await page.keyboard.press('Escape');
  await tc.getByRole('button', { name: 'Close consultation' }).click();

  // row 2: the voice interaction in focus with its consultation, the chat in the task bar
  await expect(voiceWin).toBeVisible();
  await expect(consult).toBeVisible();
  await expect(chatWin).toHaveCount(0);
  await expect(chatTask).toHaveAttribute('aria-pressed', 'false');
  await page.screenshot({ path: join(shots, 'workspace.png') });
  await expectNothingCut(page, 'at 1280×800');
  await page.setViewportSize({ width: 640, height: 400 }); // what 200 % zoom leaves of 1280×800
  await expectNothingCut(page, 'at 200 % zoom');
  await page.setViewportSize({ width: 1280, height: 800 });

  // row 3: a reload keeps which windows are open, which has focus, and the draft not sent
  const draft = 'Draft: the customer moved last week';
  await consult.getByRole('textbox', { name: 'Message to Ivan Ivanov' }).fill(draft);
  await page.reload();
  await expect(voiceWin).toBeVisible();
  await expect(consult).toBeVisible();
  await expect(chatWin).toHaveCount(0);
  await expect(consult.getByRole('textbox', { name: 'Message to Ivan Ivanov' })).toHaveValue(draft);
  await expect(consult.getByRole('textbox', { name: 'Message to Ivan Ivanov' })).toBeFocused();
  // a second tab opens on the same workspace and follows the first
  const tab2 = await page.context().newPage();
  await tab2.setViewportSize({ width: 1280, height: 800 });
  await tab2.goto('/');
  await expect(tab2.getByRole('region', { name: 'Voice interaction with Robert Bobbington-Smythe' })).toBeVisible();
  await expect(tab2.getByRole('region', { name: 'Ivan Ivanov', exact: true }).getByRole('textbox')).toHaveValue(draft);
  await chatTask.click();
  await expect(tab2.getByRole('region', { name: 'Chat interaction with Sam Lee' })).toBeVisible();
  await expect(tab2.getByRole('region', { name: 'Ivan Ivanov', exact: true })).toHaveCount(0);
  await tab2.close();

  await heidi.close();
  await dispose();
});
