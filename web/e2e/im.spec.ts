// End-to-end: two agents in two browser contexts, against a real server (see run.mjs).
import { test, expect } from '@playwright/test';
import { setMyStatus, shots, signIn, type Agent } from './agents';
import { join } from 'node:path';

/** Team Communicator → target → action menu → Send an Instant Message. */
async function sendImTo(from: Agent, to: Agent, username: string): Promise<void> {
  const { page } = from;
  await page.getByRole('searchbox', { name: 'Team Communicator' }).fill(username);
  const menuButton = page.getByRole('button', { name: `Actions for ${to.name}` });
  await menuButton.click();
  await page.getByRole('menuitem', { name: 'Send an Instant Message' }).click();
  await expect(imWindow(from, to.name)).toBeVisible();
}


function imWindow(agent: Agent, other: string) {
  return agent.page.getByRole('region', { name: other, exact: true });
}

function notification(agent: Agent, from: string) {
  return agent.page.getByRole('group', { name: `Instant message invitation from ${from}` });
}

function messageBox(agent: Agent, other: string) {
  return imWindow(agent, other).getByRole('textbox', { name: `Message to ${other}` });
}

function transcript(agent: Agent, other: string) {
  return imWindow(agent, other).getByRole('log');
}

async function sendWithEnter(agent: Agent, other: string, text: string) {
  await messageBox(agent, other).fill(text);
  await messageBox(agent, other).press('Enter');
}

async function expectStatus(agent: Agent, other: string, status: 'Connected' | 'Ended' | 'Not Connected') {
  await expect(imWindow(agent, other).getByText(status, { exact: true })).toBeVisible();
}

test('sign in, send an IM, accept, talk both ways, end, Done', async ({ browser }) => {
  const ctx = await browser.newContext();
  const signInPage = await ctx.newPage();
  await signInPage.goto('/');
  await expect(signInPage.getByRole('button', { name: 'Sign In' })).toBeVisible();
  await signInPage.screenshot({ path: join(shots, 'sign-in.png') });
  await ctx.close();

  const alice = await signIn(browser, 'alice');
  const bob = await signIn(browser, 'bob');
  await alice.page.getByRole('searchbox', { name: 'Team Communicator' }).fill('b');
  await expect(alice.page.getByRole('button', { name: `Actions for ${bob.name}` })).toBeVisible();
  // live presence: Bob is connected (not Offline); he makes himself Ready and Alice sees it
  await expect(alice.page.getByRole('listitem', { name: new RegExp(`^${bob.name}, `) })).not.toHaveAccessibleName(`${bob.name}, Offline`);
  await setMyStatus(bob, 'Ready');
  await expect(alice.page.getByRole('listitem', { name: `${bob.name}, Ready` })).toBeVisible();
  await alice.page.screenshot({ path: join(shots, 'main-window.png') });

  // Bob is typing a search when the invitation arrives
  await bob.page.getByRole('searchbox', { name: 'Team Communicator' }).focus();
  await sendImTo(alice, bob, 'bob');
  await expectStatus(alice, bob.name, 'Not Connected');
  await sendWithEnter(alice, bob.name, 'Hi Bob, do you have a minute?');

  const note = notification(bob, alice.name);
  await expect(note).toBeVisible();
  await expect(note).toContainText('Hi Bob, do you have a minute?');
  // the notification does not steal focus
  await expect(bob.page.getByRole('searchbox', { name: 'Team Communicator' })).toBeFocused();
  await bob.page.screenshot({ path: join(shots, 'notification.png') });
  await note.getByRole('button', { name: 'Accept' }).click();
  await expect(note).toHaveCount(0);

  await expectStatus(bob, alice.name, 'Connected');
  await expectStatus(alice, bob.name, 'Connected');
  await expect(transcript(bob, alice.name)).toContainText('Hi Bob, do you have a minute?');

  // Bob replies with the Send button
  await messageBox(bob, alice.name).fill('Sure, what is up?');
  await imWindow(bob, alice.name).getByRole('button', { name: 'Send' }).click();
  await expect(transcript(alice, bob.name)).toContainText('Sure, what is up?');

  // Alice: Shift+Enter adds a line, Enter sends
  const box = messageBox(alice, bob.name);
  await box.fill('Line one');
  await box.press('Shift+Enter');
  await box.pressSequentially('Line two');
  await expect(box).toHaveValue('Line one\nLine two');
  await box.press('Enter');
  await expect(box).toHaveValue('');
  await expect(transcript(bob, alice.name)).toContainText('Line one\nLine two');

  // names above messages and timestamps
  for (const [agent, other] of [
    [alice, bob.name],
    [bob, alice.name],
  ] as const) {
    const log = transcript(agent, other);
    await expect(log.getByText(alice.name, { exact: true }).first()).toBeVisible();
    await expect(log.getByText(bob.name, { exact: true }).first()).toBeVisible();
    await expect(log.locator('time').first()).toHaveText(/\d{1,2}:\d{2}:\d{2}/);
    await expect(log).toContainText(`${bob.name} joined the session`);
  }
  await alice.page.screenshot({ path: join(shots, 'im-window.png') });

  // Bob ends the session: both sides see Ended, nothing more can be sent
  await imWindow(bob, alice.name).getByRole('button', { name: 'End Session' }).click();
  await expectStatus(bob, alice.name, 'Ended');
  await expectStatus(alice, bob.name, 'Ended');
  await expect(transcript(alice, bob.name)).toContainText(`Session ended by ${bob.name}`);
  await expect(messageBox(alice, bob.name)).toBeDisabled();
  await alice.page.screenshot({ path: join(shots, 'im-window-ended.png') });

  // Done closes the window and removes the interaction from the task bar
  await imWindow(alice, bob.name).getByRole('button', { name: 'Done' }).click();
  await expect(imWindow(alice, bob.name)).toHaveCount(0);
  await expect(alice.page.getByRole('navigation', { name: 'Task bar' }).getByRole('button', { name: new RegExp(bob.name) })).toHaveCount(0);
  await imWindow(bob, alice.name).getByRole('button', { name: 'Done' }).click();
  await expect(imWindow(bob, alice.name)).toHaveCount(0);

  await alice.close();
  await bob.close();
});

test('reject an invitation; the initiator is told', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  const carol = await signIn(browser, 'carol');
  await sendImTo(alice, carol, 'carol');
  await sendWithEnter(alice, carol.name, 'Quick question');
  const note = notification(carol, alice.name);
  await expect(note).toBeVisible();
  await note.getByRole('button', { name: 'Reject' }).click();
  await expect(note).toHaveCount(0);
  await expect(transcript(alice, carol.name)).toContainText(`${carol.name} rejected the invitation`);
  await expectStatus(alice, carol.name, 'Ended');
  // the rejected invitation leaves Carol's workspace by itself (no task, no unread badge)
  const carolTasks = carol.page.getByRole('navigation', { name: 'Task bar' });
  await expect(carolTasks.getByRole('button', { name: new RegExp(alice.name) })).toHaveCount(0);
  // an invitation Alice withdraws (Done before an answer) leaves it too
  await imWindow(alice, carol.name).getByRole('button', { name: 'Done' }).click();
  await sendImTo(alice, carol, 'carol');
  await sendWithEnter(alice, carol.name, 'Another question');
  await expect(carolTasks.getByRole('button', { name: new RegExp(alice.name) })).toHaveCount(1);
  await imWindow(alice, carol.name).getByRole('button', { name: 'Done' }).click();
  await expect(imWindow(alice, carol.name)).toHaveCount(0);
  await expect(carolTasks.getByRole('button', { name: new RegExp(alice.name) })).toHaveCount(0);
  await expect(notification(carol, alice.name)).toHaveCount(0);
  await carol.page.reload();
  await expect(carol.page.getByRole('searchbox', { name: 'Team Communicator' })).toBeVisible();
  await expect(carolTasks.getByRole('button', { name: new RegExp(alice.name) })).toHaveCount(0);
  await alice.close();
  await carol.close();
});

test('an invitation times out, stays in the task bar, and is accepted later', async ({ browser }) => {
  const dave = await signIn(browser, 'dave');
  const erin = await signIn(browser, 'erin');
  await sendImTo(dave, erin, 'erin');
  await sendWithEnter(dave, erin.name, 'Are you there?');
  const note = notification(erin, dave.name);
  await expect(note).toBeVisible();
  // server time-out is 3 s in tests
  await expect(note).toHaveCount(0, { timeout: 15_000 });
  await expect(transcript(dave, erin.name)).toContainText(`The invitation to ${erin.name} timed out`);

  const taskbar = erin.page.getByRole('navigation', { name: 'Task bar' });
  const item = taskbar.getByRole('button', { name: new RegExp(`^${dave.name}, Invitation`) });
  await expect(item).toBeVisible();
  await item.click();
  await expect(imWindow(erin, dave.name)).toContainText('Are you there?');
  await imWindow(erin, dave.name).getByRole('button', { name: 'Accept' }).click();
  await expectStatus(erin, dave.name, 'Connected');
  await expectStatus(dave, erin.name, 'Connected');
  await sendWithEnter(erin, dave.name, 'Sorry, here now');
  await expect(transcript(dave, erin.name)).toContainText('Sorry, here now');

  // the initiator may also end the session
  await imWindow(dave, erin.name).getByRole('button', { name: 'End Session' }).click();
  await expectStatus(erin, dave.name, 'Ended');
  await expect(transcript(erin, dave.name)).toContainText(`Session ended by ${dave.name}`);
  await dave.close();
  await erin.close();
});

test('zoom is remembered after reload', async ({ browser }) => {
  const frank = await signIn(browser, 'frank');
  const zoom = frank.page.getByRole('group', { name: 'Zoom' });
  await expect(zoom).toContainText('100%');
  await zoom.getByRole('button', { name: 'Zoom in' }).click();
  await zoom.getByRole('button', { name: 'Zoom in' }).click();
  await expect(zoom).toContainText('125%');
  await expect.poll(async () => ((await (await frank.page.request.get('/api/v1/me')).json()) as { preferences: { zoom: number } }).preferences.zoom).toBe(125);
  await frank.page.reload();
  await expect(frank.page.getByRole('group', { name: 'Zoom' })).toContainText('125%');
  await frank.page.getByRole('group', { name: 'Zoom' }).getByRole('button', { name: /reset to 100%/ }).click();
  await expect(frank.page.getByRole('group', { name: 'Zoom' })).toContainText('100%');
  await frank.close();
});

test('a dropped socket loses nothing and doubles nothing', async ({ browser }) => {
  const grace = await signIn(browser, 'grace');
  const heidi = await signIn(browser, 'heidi');
  await sendImTo(grace, heidi, 'heidi');
  await sendWithEnter(grace, heidi.name, 'before the drop');
  await notification(heidi, grace.name).getByRole('button', { name: 'Accept' }).click();
  await expectStatus(grace, heidi.name, 'Connected');

  // Grace goes offline; she keeps typing; Heidi keeps talking
  await grace.page.context().setOffline(true);
  await expect(grace.page.getByRole('alert').filter({ hasText: 'Offline' })).toBeVisible();
  await sendWithEnter(grace, heidi.name, 'typed while offline 1');
  await sendWithEnter(grace, heidi.name, 'typed while offline 2');
  await expect(transcript(grace, heidi.name).getByText('Pending…')).toHaveCount(2);
  await sendWithEnter(heidi, grace.name, 'heidi while grace is away');
  await expect(transcript(heidi, grace.name)).toContainText('heidi while grace is away');

  await grace.page.context().setOffline(false);
  await expect(grace.page.getByRole('alert').filter({ hasText: 'Offline' })).toHaveCount(0, { timeout: 20_000 });
  await expect(transcript(heidi, grace.name)).toContainText('typed while offline 2');
  await expect(transcript(grace, heidi.name)).toContainText('heidi while grace is away');
  await expect(transcript(grace, heidi.name).getByText('Pending…')).toHaveCount(0);

  // drop the socket from the page mid-conversation (no browser offline event)
  await sendWithEnter(heidi, grace.name, 'just before the second drop');
  await grace.page.evaluate(() => (window as unknown as { __backline: { dropSocket: () => void } }).__backline.dropSocket());
  await sendWithEnter(grace, heidi.name, 'right after the second drop');
  await sendWithEnter(heidi, grace.name, 'heidi after the second drop');
  await expect(transcript(grace, heidi.name)).toContainText('heidi after the second drop');
  await expect(transcript(heidi, grace.name)).toContainText('right after the second drop');

  const texts = [
    'before the drop',
    'typed while offline 1',
    'typed while offline 2',
    'heidi while grace is away',
    'just before the second drop',
    'right after the second drop',
    'heidi after the second drop',
  ];
  /** Each text exactly once; returns them in transcript order. */
  const expectEachOnce = async (agent: Agent, other: string) => {
    const log = transcript(agent, other);
    for (const text of texts) await expect(log.getByText(text, { exact: true })).toHaveCount(1);
    const placed: { t: string; y: number }[] = [];
    for (const t of texts) {
      await log.getByText(t, { exact: true }).scrollIntoViewIfNeeded();
      const y = await log.getByText(t, { exact: true }).evaluate((el) => el.getBoundingClientRect().top + (el.closest('[role=log]')?.scrollTop ?? 0));
      placed.push({ t, y });
    }
    return placed.sort((a, b) => a.y - b.y).map((x) => x.t);
  };
  const graceOrder = await expectEachOnce(grace, heidi.name);
  const heidiOrder = await expectEachOnce(heidi, grace.name);
  // both see the server's one order; Grace's offline messages keep the order she typed them in
  expect(heidiOrder).toEqual(graceOrder);
  expect(graceOrder.slice(0, 2)).toEqual(['before the drop', 'heidi while grace is away']);
  expect(graceOrder.indexOf('typed while offline 1')).toBeLessThan(graceOrder.indexOf('typed while offline 2'));
  // and the same after a reload (what the server stored)
  await grace.page.reload();
  await grace.page.getByRole('navigation', { name: 'Task bar' }).getByRole('button', { name: new RegExp(`^${heidi.name}`) }).click();
  expect(await expectEachOnce(grace, heidi.name)).toEqual(graceOrder);
  await grace.close();
  await heidi.close();
});

test('My Status is seen live by colleagues; sign out; an expired session returns to sign-in', async ({ browser }) => {
  const ivan = await signIn(browser, 'ivan');
  const judy = await signIn(browser, 'judy');
  await ivan.page.getByRole('searchbox', { name: 'Team Communicator' }).fill('judy');
  await setMyStatus(judy, 'Away');
  await expect(ivan.page.getByRole('listitem', { name: `${judy.name}, Away` })).toBeVisible();

  // keyboard only: open My Status, move to the first Not Ready reason, choose it
  const myStatus = judy.page.getByRole('button', { name: /^My Status: / });
  await myStatus.focus();
  await myStatus.press('Enter');
  const notReady = judy.page.getByRole('menuitemradio', { name: /^Not Ready/ }).first();
  const label = (await notReady.textContent())!.trim();
  await notReady.focus();
  await notReady.press('Enter');
  await expect(myStatus).toHaveAccessibleName(`My Status: ${label}`);
  await expect(ivan.page.getByRole('listitem', { name: `${judy.name}, ${label}` })).toBeVisible();

  // Judy leaves: Ivan sees her offline
  await judy.page.getByRole('button', { name: 'Sign Out' }).click();
  await expect(judy.page.getByRole('button', { name: 'Sign In' })).toBeVisible();
  await expect(judy.page.getByText('You have signed out.')).toBeVisible();
  await expect(ivan.page.getByRole('listitem', { name: `${judy.name}, Offline` })).toBeVisible();
  await judy.close();

  // a second tab of Ivan signs out: the server closes the first tab's socket at once,
  // and that tab returns to sign-in saying why
  const other = await ivan.page.context().newPage();
  await other.goto('/');
  await other.getByRole('button', { name: 'Sign Out' }).click();
  await expect(other.getByRole('button', { name: 'Sign In' })).toBeVisible();
  await expect(ivan.page.getByRole('button', { name: 'Sign In' })).toBeVisible();
  await expect(ivan.page.getByText('Your session has expired. Please sign in again.')).toBeVisible();
  await ivan.close();
});
