// AI-written messages through the approval queue, in Chromium against the real server and a
// local fake OpenAI-compatible model: an admin sets the model up in Settings (approval
// required), a campaign's run leaves its messages awaiting approval, the navigation counts
// them, staff approve two ticked together, change the third's words on its page and reject it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startServer, launchBrowser, watch, signIn, apiClient } from './support.mjs';

const EMAIL = 'approvals@example.com';
const PASSWORD = 'end-to-end password 6';

let server, base, browser, api, model, modelUrl;
const asked = [];

/** A fixed-offset zone in which it is now about midday, so quiet hours never get in the way. */
function middayZone() {
  const offset = 12 - new Date().getUTCHours();
  if (offset === 0) return 'UTC';
  return offset > 0 ? `Etc/GMT-${offset}` : `Etc/GMT+${-offset}`;
}

before(async () => {
  // The fake model: every chat completion answers the same short message.
  model = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      asked.push({ path: req.url, body: JSON.parse(body || '{}') });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        id: 'chatcmpl-e2e', object: 'chat.completion', model: 'e2e-model',
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant',
          content: '{"subject": "A table for you", "body": "Your favourite table is free on Friday."}' } }],
      }));
    });
  });
  await new Promise((resolve) => model.listen(0, '127.0.0.1', resolve));
  modelUrl = `http://127.0.0.1:${model.address().port}/v1`;
  server = await startServer({
    org: 'approvals', email: EMAIL, password: PASSWORD, name: 'Approving Admin',
    env: { ENGAGEMENT_INTERVAL_MINUTES: '0', CONCIERGE_WORKER: 'false', CONCIERGE_ALLOW_LOOPBACK: '1' },
    setup: (run) => run(['api-key', 'create', '--org', 'approvals', '--name', 'e2e']),
  });
  base = server.base;
  const out = server.setupResult.trim().split('\n');
  api = apiClient(base, out[out.length - 1].trim());
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
  model?.close();
});

test('staff approve, edit and reject AI-written messages', { timeout: 180000 }, async () => {
  const zone = middayZone();
  for (let i = 0; i < 3; i++) {
    const p = await api('POST', '/persons', {
      full_name: `Guest ${i}`, email: `guest${i}@example.com`, timezone: zone, marketing_consent: true,
    });
    assert.equal(p.status, 201, JSON.stringify(p.body));
  }
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watch(page);
  await signIn(page, base, EMAIL, PASSWORD);

  // Settings → Engagement → AI writing: the model, with approval required.
  await page.goto(`${base}/settings/engagement`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.fill('#f-base_url', modelUrl);
  await page.fill('#f-model', 'e2e-model');
  await page.check('input[name="require_approval"]');
  await page.fill('#f-approval_hours', '12');
  await page.click('button:has-text("Save the model")');
  await page.locator('.model-form').waitFor();
  await page.locator('p[role="status"]', { hasText: 'Saved.' }).last().waitFor();

  // A campaign whose variant is written from a prompt; a run leaves its messages waiting.
  const created = await api('POST', '/campaigns', {
    name: 'Friday tables', channel: 'email', holdout_percent: 0,
    variants: [{ subject: 'Hello', body: 'Hello {{ preferred_name }}.', prompt: 'Invite {{ preferred_name }} to dinner.' }],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const activated = await api('PUT', `/campaigns/${created.body.id}`, { status: 'active' });
  assert.equal(activated.status, 200, JSON.stringify(activated.body));
  const run = await api('POST', '/cron/run-engagement', {});
  assert.equal(run.status, 200, JSON.stringify(run.body));
  assert.equal(run.body.campaigns[created.body.id].awaiting_approval, 3, JSON.stringify(run.body));
  assert.equal(asked.length, 3);
  assert.equal(asked[0].path, '/v1/chat/completions');

  // The navigation counts them; two are approved together.
  await page.goto(`${base}/approvals`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.locator('nav.nav a[href="/approvals"] .count', { hasText: '3' }).waitFor();
  await page.locator('.approval').first().waitFor();
  assert.equal(await page.locator('.approval').count(), 3);
  await page.check('#approve-0');
  await page.check('#approve-1');
  await page.click('button:has-text("Approve ticked")');
  await page.locator('p[role="status"]', { hasText: '2 message(s) decided.' }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('.approval').length === 1);

  // The third: new words on its page (a banned link is refused), then rejected.
  await page.click('text=Open it to change its words');
  await page.waitForURL(/\/messages\/[0-9a-f-]{36}$/);
  await page.waitForSelector('body[data-hydrated="true"]');
  const id = page.url().split('/').pop();
  await page.fill('#edit-body', 'Book at https://elsewhere.example.net now.');
  await page.click('button:has-text("Save the new words")');
  await page.locator('[id="body-error"]', { hasText: 'elsewhere.example.net' }).waitFor();
  await page.fill('#edit-body', 'We saved you a table on Friday.');
  await page.click('button:has-text("Save the new words")');
  await page.locator('pre.message-body', { hasText: 'We saved you a table on Friday.' }).first().waitFor();
  await page.fill('#review-reason', 'not this week');
  await page.click('.review button:has-text("Reject")');
  await page.locator('.lead', { hasText: 'cancelled — rejected in the approval queue' }).waitFor();

  const approved = await api('GET', '/deliveries?status=pending&kind=engagement');
  assert.equal(approved.body.items.length, 2, JSON.stringify(approved.body));
  const rejected = await api('GET', `/deliveries/${id}`);
  assert.equal(rejected.body.status, 'cancelled');
  assert.match(rejected.body.last_error, /not this week/);
  assert.match(rejected.body.body, /We saved you a table on Friday\./);

  assert.deepEqual(problems.filter((p) => !p.startsWith('HTTP 422')), [], 'no errors in the browser');
  await context.close();
});
