// End-to-end voice: the click-to-call page calls the only Ready agent (Alice), who turns an IM
// consultation with Bob into a voice consultation (user guide: "Transitioning an IM Consultation to a
// Voice Consultation"), then ends it, transfers or conferences. Audio is real WebRTC between the
// pages (Chromium's fake microphone), checked with getStats() on `window.__backlinePeers`.
// Runs only with `npm run e2e:voice` (a loopback-only network namespace; see playwright.config.ts).
import { test, expect, type Browser, type Page } from '@playwright/test';
import { join } from 'node:path';

const PASSWORD = 'backline';
const shots = join(import.meta.dirname, 'screenshots');

interface Agent {
  page: Page;
  name: string;
  id: string;
  close: () => Promise<void>;
}

interface CallJson {
  id: string;
  kind: 'contact' | 'consultation';
  state: string;
  parties: { party_id: string; state: string; device_id: string | null }[];
}

async function signIn(browser: Browser, username: string): Promise<Agent> {
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

async function setReady(agent: Agent): Promise<void> {
  const res = await agent.page.request.put('/api/v1/me/status', { data: { status: 'ready' } });
  expect(res.status(), `PUT /api/v1/me/status → ${res.status()} ${await res.text()}`).toBe(200);
}

async function calls(agent: Agent): Promise<CallJson[]> {
  const res = await agent.page.request.get('/api/v1/calls');
  expect(res.status(), `GET /api/v1/calls → ${res.status()} ${await res.text()}`).toBe(200);
  return (await res.json()) as CallJson[];
}

/** Sum of inbound-rtp audio packetsReceived on the connection `${call_id}:${party_id}` (-1 without one). */
async function received(page: Page, key: string): Promise<number> {
  return page.evaluate(async (k) => {
    const peers = (window as unknown as { __backlinePeers?: Map<string, RTCPeerConnection> }).__backlinePeers;
    const pc = peers?.get(k);
    if (!pc) return -1;
    let total = 0;
    const stats = await pc.getStats();
    stats.forEach((s: { type: string; kind?: string; packetsReceived?: number }) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') total += s.packetsReceived ?? 0;
    });
    return total;
  }, key);
}

/** Audio arrives on that connection: packetsReceived keeps increasing. */
async function expectFlowing(page: Page, key: string, what: string): Promise<void> {
  await expect.poll(() => received(page, key), { message: `${what}: a connection ${key}`, timeout: 20_000 }).toBeGreaterThanOrEqual(0);
  const start = await received(page, key);
  await expect
    .poll(() => received(page, key), { message: `${what}: inbound audio packets on ${key}`, timeout: 20_000 })
    .toBeGreaterThan(start + 10);
}

/** Nothing arrives on that connection for ~2 s. */
async function expectSilent(page: Page, key: string, what: string): Promise<void> {
  await page.waitForTimeout(700); // packets already in flight
  const before = await received(page, key);
  await page.waitForTimeout(2_000);
  const after = await received(page, key);
  expect(after - before, `${what}: inbound audio packets on ${key} (${before} → ${after})`).toBe(0);
}

interface Scene {
  alice: Agent;
  bob: Agent;
  caller: Page;
  callerName: string;
  contactCallId: string;
  consultationCallId: string;
  contactParty: string;
  /** Alice's interaction window. */
  win: ReturnType<Page['getByRole']>;
  close: () => Promise<void>;
}

/**
 * A caller calls Alice (the only Ready agent); Alice accepts, opens an IM consultation with Bob from
 * the voice interaction, Bob accepts it, Alice starts the voice consultation and Bob accepts the call.
 */
async function voiceConsultation(browser: Browser, callerName: string, screenshot?: string): Promise<Scene> {
  const alice = await signIn(browser, 'alice');
  const bob = await signIn(browser, 'bob');
  await setReady(alice);

  // the click-to-call page
  const callerContext = await browser.newContext();
  const caller = await callerContext.newPage();
  await caller.goto('/call');
  await caller.getByLabel('Your name').fill(callerName);
  await caller.getByRole('button', { name: 'Call', exact: true }).click();
  await expect(caller.getByRole('status')).toHaveText('Connecting…');

  // Alice's desktop rings
  const ring = alice.page.getByRole('region', { name: `Incoming voice call from ${callerName}` });
  await expect(ring).toBeVisible();
  await ring.getByRole('button', { name: 'Accept' }).click();
  await expect(ring).toHaveCount(0);
  await expect(caller.getByRole('status')).toHaveText('Connected');

  const contact = (await calls(alice)).find((c) => c.kind === 'contact' && c.state !== 'ended');
  expect(contact, 'Alice has the contact call').toBeTruthy();
  const contactCallId = contact!.id;
  const contactParty = `contact:${contactCallId}`;
  await expectFlowing(caller, `${contactCallId}:${alice.id}`, 'caller hears Alice');
  await expectFlowing(alice.page, `${contactCallId}:${contactParty}`, 'Alice hears the caller');

  // the voice interaction: call state, timer, Hold
  const task = alice.page.getByRole('navigation', { name: 'Task bar' }).getByRole('button', { name: new RegExp(`^Voice: ${callerName}`) });
  await expect(task).toBeVisible();
  await task.click();
  const win = alice.page.getByRole('region', { name: `Voice interaction with ${callerName}` });
  await expect(win).toBeVisible();
  const controls = win.getByRole('group', { name: 'Call controls' });
  await expect(controls.getByText('Connected', { exact: true })).toBeVisible();
  await expect(controls.getByRole('timer')).toHaveText(/^\d+:\d\d$/);
  await expect(controls.getByRole('button', { name: 'Hold' })).toBeVisible();

  // an IM consultation with Bob from this interaction (the existing flow)
  await win.getByRole('button', { name: 'Start Consultation' }).click();
  const tc = alice.page.getByRole('region', { name: 'Team Communicator' });
  await tc.getByRole('searchbox', { name: 'Team Communicator' }).fill('bob');
  await tc.getByRole('list', { name: 'Results' }).getByRole('button', { name: `Actions for ${bob.name}` }).click();
  await alice.page.getByRole('menuitem', { name: 'Start Instant Message Consultation', exact: true }).click();
  const aliceIm = alice.page.getByRole('region', { name: bob.name, exact: true });
  await aliceIm.getByRole('textbox', { name: `Message to ${bob.name}` }).fill(`Bob, can you talk to ${callerName} about billing?`);
  await aliceIm.getByRole('button', { name: 'Send' }).click();
  const note = bob.page.getByRole('group', { name: `Instant message invitation from ${alice.name}` });
  await expect(note).toBeVisible();
  await note.getByRole('button', { name: 'Accept' }).click();
  await expect(aliceIm.getByText('Connected', { exact: true })).toBeVisible();

  // Start Consultation → Active Consultations → Bob (pre-selected) → Start Voice Consultation
  await win.getByRole('button', { name: 'Start Consultation' }).click();
  const active = tc.getByRole('region', { name: 'Active Consultations' });
  const bobRow = active.getByRole('listitem', { name: new RegExp(`^${bob.name}, `) });
  await expect(bobRow).toHaveAttribute('aria-current', 'true');
  await bobRow.getByRole('button', { name: `Actions for ${bob.name}` }).click();
  await alice.page.getByRole('menuitem', { name: 'Start Voice Consultation', exact: true }).click();

  // the contact is put on hold; Bob's desktop rings; Bob accepts
  await expect(caller.getByRole('status')).toHaveText('On hold — please wait');
  await expect(controls.getByText('On hold', { exact: true })).toBeVisible();
  const bobRing = bob.page.getByRole('region', { name: `Incoming voice call from ${alice.name}` });
  await expect(bobRing).toBeVisible();
  await bobRing.getByRole('button', { name: 'Accept' }).click();
  await expect(bobRing).toHaveCount(0);

  const consultation = (await calls(alice)).find((c) => c.kind === 'consultation' && c.state !== 'ended');
  expect(consultation, 'Alice has the consultation call').toBeTruthy();
  const consultationCallId = consultation!.id;
  const consultControls = win.getByRole('group', { name: `Voice consultation with ${bob.name}` });
  await expect(consultControls.getByText('Connected', { exact: true })).toBeVisible();
  // both agents see how long the contact has been on hold
  await expect(win.getByText(/^Contact on hold \d+:\d\d$/).first()).toBeVisible();
  await expect(bob.page.getByRole('region', { name: 'Softphone' }).getByText(/^Contact on hold \d+:\d\d$/)).toBeVisible();

  // the agents hear each other; the caller hears nothing
  await expectFlowing(alice.page, `${consultationCallId}:${bob.id}`, 'Alice hears Bob');
  await expectFlowing(bob.page, `${consultationCallId}:${alice.id}`, 'Bob hears Alice');
  await expectSilent(caller, `${contactCallId}:${alice.id}`, 'the caller on hold hears nothing from Alice');
  // the IM consultation window stays open beside the call
  await expect(aliceIm).toBeVisible();
  if (screenshot) await alice.page.screenshot({ path: join(shots, screenshot) });

  return {
    alice,
    bob,
    caller,
    callerName,
    contactCallId,
    consultationCallId,
    contactParty,
    win,
    close: async () => {
      await callerContext.close();
      await alice.close();
      await bob.close();
    },
  };
}

async function hangUpCaller(s: Scene): Promise<void> {
  await s.caller.getByRole('button', { name: 'Hang Up' }).click();
  await expect(s.caller.getByRole('status')).toHaveText('Call ended');
}

test('the click-to-call page says so when no agent is Ready', async ({ browser }) => {
  const context = await browser.newContext();
  const caller = await context.newPage();
  await caller.goto('/call');
  await expect(caller.getByRole('heading', { name: 'Call us' })).toBeVisible();
  await caller.getByLabel('Your name').fill('Nobody Home');
  await caller.getByRole('button', { name: 'Call', exact: true }).click();
  await expect(caller.getByRole('alert')).toHaveText('No agent is available right now. Please try again in a few minutes.');
  await expect(caller.getByRole('button', { name: 'Call', exact: true })).toBeEnabled();
  await context.close();
});

test('IM consultation → voice consultation → End Consultation: the caller is retrieved', async ({ browser }) => {
  const s = await voiceConsultation(browser, 'Nora Quinn', 'voice-consultation.png');
  const consult = s.win.getByRole('group', { name: `Voice consultation with ${s.bob.name}` });
  await consult.getByRole('button', { name: 'End Consultation' }).click();
  await expect(s.caller.getByRole('status')).toHaveText('Connected');
  await expect(s.win.getByRole('group', { name: 'Call controls' }).getByText('Connected', { exact: true })).toBeVisible();
  await expectFlowing(s.caller, `${s.contactCallId}:${s.alice.id}`, 'the caller hears Alice again');
  await expectFlowing(s.alice.page, `${s.contactCallId}:${s.contactParty}`, 'Alice hears the caller again');
  // Bob's side of the consultation is closed
  await expect.poll(async () => (await calls(s.bob)).length).toBe(0);
  await hangUpCaller(s);
  await s.close();
});

test('voice consultation → Complete Transfer: the caller talks to Bob, Alice has no call', async ({ browser }) => {
  const s = await voiceConsultation(browser, 'Yusuf Transfer');
  const consult = s.win.getByRole('group', { name: `Voice consultation with ${s.bob.name}` });
  await consult.getByRole('button', { name: 'Complete Transfer' }).click();
  await expect(s.caller.getByRole('status')).toHaveText('Connected');
  await expectFlowing(s.caller, `${s.contactCallId}:${s.bob.id}`, 'the caller hears Bob');
  await expectFlowing(s.bob.page, `${s.contactCallId}:${s.contactParty}`, 'Bob hears the caller');
  await expect.poll(async () => (await calls(s.alice)).length, { message: 'Alice has no call' }).toBe(0);
  await expect
    .poll(() => s.alice.page.evaluate(() => (window as unknown as { __backlinePeers?: Map<string, unknown> }).__backlinePeers?.size ?? 0))
    .toBe(0);
  await hangUpCaller(s);
  await s.close();
});

test('voice consultation → Complete Conference: all three hear each other', async ({ browser }) => {
  const s = await voiceConsultation(browser, 'Xavier Conference');
  const consult = s.win.getByRole('group', { name: `Voice consultation with ${s.bob.name}` });
  await consult.getByRole('button', { name: 'Complete Conference' }).click();
  await expect(s.caller.getByRole('status')).toHaveText('Connected');
  const c = s.contactCallId;
  await expectFlowing(s.caller, `${c}:${s.alice.id}`, 'the caller hears Alice');
  await expectFlowing(s.caller, `${c}:${s.bob.id}`, 'the caller hears Bob');
  await expectFlowing(s.alice.page, `${c}:${s.contactParty}`, 'Alice hears the caller');
  await expectFlowing(s.bob.page, `${c}:${s.contactParty}`, 'Bob hears the caller');
  await expectFlowing(s.alice.page, `${c}:${s.bob.id}`, 'Alice hears Bob');
  await expectFlowing(s.bob.page, `${c}:${s.alice.id}`, 'Bob hears Alice');
  await hangUpCaller(s);
  await s.close();
});
