// An admin creates a campaign with two variants and a 10 % holdout, sees its audience and a
// preview for one client, activates it, and after an engagement run reads the results page:
// every client assigned to an arm, the holdout among them. Chromium against the real server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, watch, signIn, apiClient } from './support.mjs';

const EMAIL = 'campaigns@example.com';
const PASSWORD = 'end-to-end password 5';

let server, base, browser, api;


/** A fixed-offset zone in which it is now about midday, so quiet hours never get in the way. */
function middayZone() {
  const offset = 12 - new Date().getUTCHours(); // hours ahead of UTC
  if (offset === 0) return 'UTC';
  // Etc/GMT signs are reversed: Etc/GMT-3 is three hours ahead.
  return offset > 0 ? `Etc/GMT-${offset}` : `Etc/GMT+${-offset}`;
}

before(async () => {
  server = await startServer({
    org: 'campaigns', email: EMAIL, password: PASSWORD, name: 'Campaign Admin',
    env: { ENGAGEMENT_INTERVAL_MINUTES: '0', CONCIERGE_WORKER: 'false' },
    setup: (run) => run(['api-key', 'create', '--org', 'campaigns', '--name', 'e2e']),
  });
  base = server.base;
  const out = server.setupResult.trim().split('\n');
  api = apiClient(base, out[out.length - 1].trim());
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

test('an admin creates, previews, activates and reads a campaign', { timeout: 180000 }, async () => {
  const zone = middayZone();
  for (let i = 0; i < 20; i++) {
    const name = i === 0 ? 'Grace Hopper' : `Client ${String(i).padStart(2, '0')}`;
    const p = await api('POST', '/persons', {
      full_name: name, preferred_name: i === 0 ? 'Grace' : undefined,
      email: `client${i}@example.com`, timezone: zone, marketing_consent: true,
    });
    assert.equal(p.status, 201, JSON.stringify(p.body));
  }

  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watch(page);
  await signIn(page, base, EMAIL, PASSWORD);

  // The form: a mistake is named beside its field, then the campaign saves as a draft.
  await page.goto(`${base}/campaigns`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.click('text=New campaign');
  await page.waitForURL(`${base}/campaigns/new`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.fill('#f-name', 'Spring welcome back');
  await page.selectOption('#f-channel', 'email');
  await page.fill('#f-v0-name', 'Warm');
  await page.fill('#f-v0-subject', 'We miss you, {{ preferred_name }}');
  await page.fill('#f-v0-body', 'Hi {{ nickname }}');
  await page.fill('#f-v1-name', 'Direct');
  await page.fill('#f-v1-subject', 'Book again');
  await page.fill('#f-v1-body', 'Book your next visit today, {{ preferred_name }}.');
  await page.fill('#f-holdout_percent', '10');
  await page.click('button:has-text("Save")');
  await page.locator('[id="variants[0].body-error"]', { hasText: "'nickname'" }).waitFor();
  await page.fill('#f-v0-body', 'Hi {{ preferred_name }}, we would love to see you again.');
  await page.click('button:has-text("Save")');
  await page.waitForURL(/\/campaigns\/[0-9a-f-]{36}$/);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.locator('h1', { hasText: 'Spring welcome back' }).waitFor();
  await page.locator('h1 .status', { hasText: 'Draft' }).waitFor();

  // Before activating: the audience size and a preview for one client.
  await page.locator('.audience-size', { hasText: '20 people in the audience' }).waitFor();
  await page.fill('#preview-client', 'Grace Hopper');
  await page.click('button:has-text("Preview")');
  const preview = page.locator('.message-preview', { hasText: 'Variant A' });
  await preview.waitFor();
  assert.match(await preview.innerText(), /Subject: We miss you, Grace/);
  assert.match(await preview.innerText(), /Hi Grace, we would love to see you again\./);
  assert.match(await page.locator('.message-preview', { hasText: 'Variant B' }).innerText(), /Book your next visit today, Grace\./);

  // Activate, then an engagement run sends it.
  await page.click('button:has-text("Activate")');
  await page.locator('h1 .status', { hasText: 'Active' }).waitFor();
  const run = await api('POST', '/cron/run-engagement', {});
  assert.equal(run.status, 200, JSON.stringify(run.body));
  const id = page.url().split('/').pop();
  const counts = run.body.campaigns[id];
  assert.equal(counts.reached, 20, JSON.stringify(counts));
  assert.equal(counts.queued + counts.holdout, 20, JSON.stringify(counts));

  // The results page: every client in an arm, the holdout sent nothing.
  await page.reload();
  await page.waitForSelector('body[data-hydrated="true"]');
  const results = page.locator('table.results');
  await results.waitFor();
  const rows = await results.locator('tbody tr').allInnerTexts();
  assert.equal(rows.length, 3, rows.join('\n'));
  const assigned = rows.map((r) => Number(r.split('\t')[1]));
  assert.equal(assigned.reduce((a, b) => a + b, 0), 20, rows.join('\n'));
  // (Row headers are set in capitals by the stylesheet.)
  assert.match(rows[2], /^holdout — holdout \(no message\)\t\d+\t0\t/i);
  assert.equal(Number(rows[2].split('\t')[1]), counts.holdout);
  await page.locator('figure.chart svg[role="img"]').waitFor();
  const csv = await page.locator('a', { hasText: 'Download the results (CSV)' }).getAttribute('href');
  assert.equal(csv, `/campaigns/${id}/results.csv`);

  assert.deepEqual(problems, [], 'no errors in the browser');
  await context.close();
});
