// End-to-end: a supervisor's board follows a group consultation live (offered, taken, ended);
// the supervisor joins it and whispers to the consulting agent, whom alone it reaches (see run.mjs).
import { test, expect, request as playwrightRequest, type APIRequestContext } from '@playwright/test';
import { join } from 'node:path';
import { PASSWORD, setMyStatus, shots, signIn } from './agents';

/** The administrator's API: a group of its own for this run, supervised by Ivan. */
async function admin(baseURL: string): Promise<APIRequestContext> {
  const api = await playwrightRequest.newContext({ baseURL });
  const signedIn = await api.post('/api/v1/auth/sign-in', { data: { username: 'admin', password: PASSWORD } });
  expect(signedIn.status(), await signedIn.text()).toBe(200);
  return api;
}

async function userId(api: APIRequestContext, username: string): Promise<string> {
  const users = (await (await api.get('/api/v1/admin/users')).json()) as { id: string; username: string }[];
  return users.find((u) => u.username === username)!.id;
}

test("the supervisor's board follows a group consultation live; a whisper reaches its addressee only", async ({ browser, baseURL }) => {
  const run = Date.now().toString(36);
  const groupName = `Escalation Desk ${run}`;
  const api = await admin(baseURL!);
  const created = await api.post('/api/v1/admin/groups', { data: { name: groupName } });
  expect(created.status(), await created.text()).toBeLessThan(300);
  const group = (await created.json()) as { id: string };
  for (const [role, username] of [
    ['members', 'heidi'],
    ['supervisors', 'ivan'],
  ]) {
    const put = await api.put(`/api/v1/admin/groups/${group.id}/${role}/${await userId(api, username)}`);
    expect(put.status(), await put.text()).toBe(204);
  }
  const integration = await api.post('/api/v1/admin/integrations', { data: { name: `e2e-supervision-${run}` } });
  expect(integration.status(), await integration.text()).toBeLessThan(300);
  const { token } = (await integration.json()) as { token: string };
  const platform = await playwrightRequest.newContext({ baseURL, extraHTTPHeaders: { Authorization: `Bearer ${token}` } });
  const subject = `Refund request ${run}`;
  const interaction = await platform.post('/api/v1/platform/interactions', {
    data: {
      external_id: `SUP-${run}`,
      media: 'chat',
      agent: 'grace',
      contact: { external_id: `C-SUP-${run}`, first_name: 'Sam', last_name: 'Lee', phones: [], emails: [], attributes: [] },
      subject,
      case_data: [{ key: 'Order', value: 'ORD-99' }],
    },
  });
  expect(interaction.status(), await interaction.text()).toBeLessThan(300);

  // Ivan opens his board: his group, Heidi offline, nothing about this chat yet (other specs may
  // have left consultations of Heidi's open: they are on his board too).
  const ivan = await signIn(browser, 'ivan');
  await ivan.page.getByRole('button', { name: 'Supervision' }).click();
  const board = ivan.page.getByRole('region', { name: 'Supervision' });
  const groupCard = board.getByRole('region', { name: `Group ${groupName}` });
  await expect(groupCard.getByRole('listitem', { name: 'Heidi Holm: Offline' })).toBeVisible();
  const row = board.getByRole('listitem', { name: `Consultation from Grace Guzmán about ${subject}` });
  await expect(row).toHaveCount(0);

  // Heidi comes in and becomes Ready: live on the board.
  const heidi = await signIn(browser, 'heidi');
  await setMyStatus(heidi, 'Ready');
  await expect(groupCard.getByRole('listitem', { name: 'Heidi Holm: Ready' })).toBeVisible();

  // Grace consults the group about her chat.
  const grace = await signIn(browser, 'grace');
  await grace.page
    .getByRole('navigation', { name: 'Task bar' })
    .getByRole('button', { name: `Chat: Sam Lee, ${subject}, Active` })
    .click();
  await grace.page.getByRole('region', { name: 'Chat interaction with Sam Lee' }).getByRole('button', { name: 'Start Consultation' }).click();
  await grace.page.getByRole('searchbox', { name: 'Team Communicator' }).fill(groupName);
  await grace.page.getByRole('list', { name: 'Results' }).getByRole('button', { name: `Actions for ${groupName}` }).click();
  await grace.page.getByRole('menuitem', { name: 'Start Instant Message Consultation', exact: true }).click();
  await grace.page.getByRole('textbox', { name: `First message to ${groupName}` }).fill('May I refund the delivery fee?');
  await grace.page.getByRole('button', { name: 'Offer to group' }).click();

  // Offered: on Ivan's board at once, waiting, the timer ticking.
  await expect(row).toContainText(`Offered to ${groupName}`);
  await expect(row).toContainText(/Waiting 0:0\d/);
  const first = await row.getByText(/^Waiting /).textContent();
  await expect(row.getByText(/^Waiting /)).not.toHaveText(first!, { timeout: 5_000 });
  await ivan.page.screenshot({ path: join(shots, 'supervision-waiting.png') });

  // Taken: Heidi accepts; the board shows with whom, connected.
  await heidi.page.getByRole('group', { name: `Instant message invitation from ${grace.name}` }).getByRole('button', { name: 'Accept' }).click();
  await expect(row).toContainText(`with ${heidi.name}`);
  await expect(row).toContainText(/Connected \d+:\d\d/);

  // Ivan joins from the board; everyone sees so.
  await row.getByRole('button', { name: `Join the consultation from ${grace.name}` }).click();
  const ivanWindow = ivan.page.locator('section.im-window');
  await expect(ivanWindow.getByRole('log')).toContainText(`${ivan.name} (supervisor) joined`);
  const heidiWindow = heidi.page.locator('section.im-window');
  const graceWindow = grace.page.locator('section.im-window');
  await expect(heidiWindow.getByRole('log')).toContainText(`${ivan.name} (supervisor) joined`);
  await expect(graceWindow.getByRole('log')).toContainText(`${ivan.name} (supervisor) joined`);

  // The whisper: to Heidi only, marked as one on her side.
  const whisper = `Yes, refund it ${run}`;
  await ivanWindow.getByRole('combobox', { name: 'Send to' }).selectOption({ label: `Whisper to ${heidi.name}` });
  await ivanWindow.getByRole('textbox', { name: `Whisper to ${heidi.name}` }).fill(whisper);
  await ivanWindow.getByRole('button', { name: 'Whisper', exact: true }).click();
  const received = heidiWindow.getByRole('listitem').filter({ hasText: whisper });
  await expect(received).toContainText('Whisper to you');
  await expect(ivanWindow.getByRole('listitem').filter({ hasText: whisper })).toContainText(`Whisper to ${heidi.name}`);
  await heidi.page.screenshot({ path: join(shots, 'supervision-whisper.png') });
  // Heidi answers the group; Grace gets that message, never the whisper: not live, not in her transcript.
  const answer = `Checking the policy ${run}`;
  await heidiWindow.getByRole('textbox', { name: /^Message to / }).fill(answer);
  await heidiWindow.getByRole('textbox', { name: /^Message to / }).press('Enter');
  await expect(graceWindow.getByRole('log')).toContainText(answer);
  await expect(grace.page.getByText(whisper)).toHaveCount(0);
  const boardNow = (await (await ivan.page.request.get('/api/v1/supervision/board')).json()) as {
    consultations: { session: { id: string }; interaction_subject: string }[];
  };
  const sessionId = boardNow.consultations.find((c) => c.interaction_subject === subject)!.session.id;
  const texts = async (page: typeof grace.page) =>
    ((await (await page.request.get(`/api/v1/sessions/${sessionId}/transcript`)).json()) as { entries: { text: string | null }[] }).entries.map(
      (e) => e.text,
    );
  expect(await texts(grace.page)).not.toContain(whisper);
  expect(await texts(heidi.page)).toContain(whisper);

  // Back on the board, Ivan sees it end live when Grace ends it.
  await ivan.page.getByRole('button', { name: 'Supervision' }).click();
  await expect(row).toContainText(`with ${heidi.name}`);
  await grace.page.locator('section.im-window').getByRole('button', { name: 'End Session' }).click();
  await expect(row).toHaveCount(0);
  await expect(grace.page.getByText(whisper)).toHaveCount(0);

  await setMyStatus(heidi, 'Away');
  await Promise.all([ivan.close(), heidi.close(), grace.close()]);
  await platform.dispose();
  await api.dispose();
});
