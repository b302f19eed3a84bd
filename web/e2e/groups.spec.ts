// End-to-end: a consultation offered to a group, taken by the second member offered (see run.mjs).
import { test, expect, request as playwrightRequest } from '@playwright/test';
import { join } from 'node:path';
import { PASSWORD, setMyStatus, shots, signIn, type Agent } from './agents';

/** The group's offers: one member per wave, each wave waiting `answerSecs`. */
async function groupSettings(baseURL: string, group: string, answerSecs: number): Promise<void> {
  const admin = await playwrightRequest.newContext({ baseURL });
  const signedIn = await admin.post('/api/v1/auth/sign-in', { data: { username: 'admin', password: PASSWORD } });
  expect(signedIn.status(), await signedIn.text()).toBe(200);
  const groups = (await (await admin.get('/api/v1/admin/groups')).json()) as { id: string; name: string }[];
  const id = groups.find((g) => g.name === group)!.id;
  const patched = await admin.patch(`/api/v1/admin/groups/${id}`, { data: { wave_size: 1, answer_secs: answerSecs } });
  expect(patched.status(), await patched.text()).toBe(200);
  await admin.dispose();
}

function invitation(agent: Agent, from: string) {
  return agent.page.getByRole('group', { name: `Instant message invitation from ${from}` });
}

test('a group consultation is accepted by the second member offered; the first sees who took it', async ({ browser, baseURL }) => {
  await groupSettings(baseURL!, 'Technical Support', 2);
  // Dave becomes Ready first (the longest idle: offered first), then Erin.
  const dave = await signIn(browser, 'dave');
  await setMyStatus(dave, 'Ready');
  const erin = await signIn(browser, 'erin');
  await setMyStatus(erin, 'Ready');
  const alice = await signIn(browser, 'alice');

  // Team Communicator → the group → Start Instant Message Consultation → the first message.
  await alice.page.getByRole('searchbox', { name: 'Team Communicator' }).fill('Technical');
  await alice.page.getByRole('list', { name: 'Results' }).getByRole('button', { name: 'Actions for Technical Support' }).click();
  await alice.page.getByRole('menuitem', { name: 'Start Instant Message Consultation', exact: true }).click();
  await alice.page.getByRole('textbox', { name: 'First message to Technical Support' }).fill('Who knows the XR-500 router?');
  await alice.page.getByRole('button', { name: 'Offer to group' }).click();

  const window = alice.page.locator('section.im-window');
  await expect(window.getByRole('heading', { name: 'Technical Support' })).toBeVisible();
  await expect(window.getByLabel('Offer to Technical Support')).toContainText('offered to 1 · 0 declined');

  // The first wave: Dave only.
  const daveCard = invitation(dave, alice.name);
  await expect(daveCard).toContainText('Group Consultation · Technical Support');
  await expect(daveCard).toContainText('Who knows the XR-500 router?');
  await expect(invitation(erin, alice.name)).toHaveCount(0);

  // Nobody answers within the answer time: the offer widens to Erin, the second member offered.
  const erinCard = invitation(erin, alice.name);
  await expect(erinCard).toContainText('Who knows the XR-500 router?', { timeout: 15_000 });
  await expect(window.getByLabel('Offer to Technical Support')).toContainText('offered to 2 · 0 declined');
  await erin.page.screenshot({ path: join(shots, 'group-offer.png') });
  await erinCard.getByRole('button', { name: 'Accept' }).click();

  // Erin has the consultation; Alice sees who took it; Dave's invitation is withdrawn, naming her.
  await expect(window.getByRole('heading', { name: erin.name })).toBeVisible();
  await expect(window.getByText('Connected', { exact: true })).toBeVisible();
  await expect(window.getByLabel('Offer to Technical Support')).toHaveText(`Technical Support: Taken by ${erin.name}`);
  const withdrawn = dave.page.getByRole('group', { name: 'Group consultation withdrawn: Technical Support' });
  await expect(withdrawn).toContainText(`Taken by ${erin.name}`);
  await dave.page.screenshot({ path: join(shots, 'group-offer-taken.png') });

  // And they talk.
  const erinWindow = erin.page.getByRole('region', { name: alice.name, exact: true });
  await erinWindow.getByRole('textbox', { name: `Message to ${alice.name}` }).fill('Yes, I do');
  await erinWindow.getByRole('textbox', { name: `Message to ${alice.name}` }).press('Enter');
  await expect(window.getByRole('log')).toContainText('Yes, I do');

  await setMyStatus(dave, 'Away');
  await setMyStatus(erin, 'Away');
  await Promise.all([alice.close(), dave.close(), erin.close()]);
});
