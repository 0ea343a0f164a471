// An admin sets the engagement policy in Settings → Engagement, then runs a dry run from the
// Engagement page with the keyboard and reads the summary: who would get what, who is skipped
// and why — and the dry run sent and stored nothing. Chromium against the real server binary.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, watch, signIn, apiClient } from './support.mjs';

const EMAIL = 'engage@example.com';
const PASSWORD = 'end-to-end password 3';

let server, base, browser, api;


before(async () => {
  server = await startServer({
    org: 'engage', email: EMAIL, password: PASSWORD, name: 'Engage Admin',
    env: { ENGAGEMENT_INTERVAL_MINUTES: '0' },
    setup: (run) => run(['api-key', 'create', '--org', 'engage', '--name', 'e2e']),
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

test('an admin sets the policy and reads a dry run', { timeout: 180000 }, async () => {
  // Two clients last seen 12 days ago: one who agreed to hear from us, one who did not.
  const tenDaysAgo = new Date(Date.now() - 12 * 86400000).toISOString();
  for (const [name, consent] of [['Grace Hopper', true], ['Alan Turing', false]]) {
    const p = await api('POST', '/persons', {
      full_name: name, email: `${name.split(' ')[0].toLowerCase()}@example.com`, timezone: 'UTC', marketing_consent: consent,
    });
    assert.equal(p.status, 201, JSON.stringify(p.body));
    const e = await api('POST', '/activity/event', { person_id: p.body.id, name: 'login', occurred_at: tenDaysAgo });
    assert.equal(e.status, 201, JSON.stringify(e.body));
  }

  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watch(page);
  await signIn(page, base, EMAIL, PASSWORD);

  // Settings → Engagement: a mistake is named beside its field; then the policy saves.
  await page.goto(`${base}/settings/engagement`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.fill('#f-dormant_days', '10');
  // The browser lets an ftp:// address through its own check; the server names the mistake.
  await page.fill('#f-booking_url', 'ftp://book.example.com');
  await page.click('text=Save the policy');
  await page.locator('#booking_url-error', { hasText: 'must start with https://' }).waitFor();
  await page.fill('#f-booking_url', 'https://book.example.com/new');
  // No quiet hours, so the result does not depend on the hour the test runs at.
  await page.fill('#f-quiet_start', '00:00');
  await page.fill('#f-quiet_end', '00:00');
  await page.fill('#f-dormant_body', 'Hello {{ preferred_name }}, {{ days_inactive }} days! {{ deep_link }}');
  await page.click('text=Save the policy');
  await page.locator('.notice', { hasText: 'Saved' }).waitFor();
  const policy = await api('GET', '/engagement/policy');
  assert.equal(policy.body.dormant_days, 10);
  assert.equal(policy.body.booking_url, 'https://book.example.com/new');

  // The Engagement page: the policy at a glance; a dry run from the keyboard.
  await page.goto(`${base}/engagement`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.locator('.glance', { hasText: 'Dormant after 10 days' }).waitFor();
  await page.locator('button', { hasText: 'Run now (dry run)' }).focus();
  await page.keyboard.press('Enter');
  const report = page.locator('.run-report');
  await report.locator('h3', { hasText: 'Dry run' }).waitFor();
  const text = await report.innerText();
  assert.match(text, /Evaluated\s*2/);
  assert.match(text, /Dormant\s*2/);
  assert.match(text, /Queued\s*1/);
  assert.match(text, /1 — no marketing consent/);
  const grace = report.locator('tr', { hasText: 'Grace Hopper' });
  assert.match(await grace.innerText(), /sent now/);
  assert.match(await grace.innerText(), /Hello Grace Hopper, 12 days!/);
  assert.match(await report.locator('tr', { hasText: 'Alan Turing' }).innerText(), /skipped — no marketing consent/);

  // Nothing was sent or stored.
  const sent = await api('GET', '/deliveries?kind=engagement');
  assert.equal(sent.body.items.length, 0);
  const runs = await api('GET', '/engagement/runs');
  assert.equal(runs.body.items.length, 0);

  assert.deepEqual(problems, [], 'no errors in the browser');
  await context.close();
});
