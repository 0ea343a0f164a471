// An admin sets up the webhook channel in Settings, sends a test message, then gives a client a
// date with a reminder a minute or so from now — all in Chromium, against the real server binary
// (web and worker in one process) — and the reminder reaches a local webhook receiver once,
// on time, with a Standard Webhooks signature the receiver checks; the Messages page says so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import { startServer, launchBrowser, watch, signIn, waitFor } from './support.mjs';

const EMAIL = 'hooks@example.com';
const PASSWORD = 'end-to-end password 2';
const SECRET = 'whsec_ZTJlLXdlYmhvb2stc2VjcmV0';

let server, base, browser, receiver, receiverUrl;
const received = [];

/** Checks a request as a Standard Webhooks receiver does. */
function verified(req) {
  const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
  const expected = 'v1,' + createHmac('sha256', key)
    .update(`${req.headers['webhook-id']}.${req.headers['webhook-timestamp']}.${req.body}`)
    .digest('base64');
  const fresh = Math.abs(Date.now() / 1000 - Number(req.headers['webhook-timestamp'])) < 300;
  return fresh && req.headers['webhook-signature'].split(' ').includes(expected);
}

before(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      received.push({ headers: req.headers, body, at: Date.now() });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${receiver.address().port}/concierge`;

  server = await startServer({
    org: 'hooks', email: EMAIL, password: PASSWORD, name: 'Hook Admin',
    env: { CONCIERGE_ALLOW_LOOPBACK: '1', WORKER_POLL_MILLISECONDS: '250' },
  });
  base = server.base;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
  receiver?.close();
});

test('a reminder made in the portal reaches the webhook once, on time, signed', { timeout: 240000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watch(page);
  await signIn(page, base, EMAIL, PASSWORD);

  // Settings → Channels: the webhook, saved; the secret is not shown back.
  await page.goto(`${base}/settings/channels`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.fill('#c-webhook-url', receiverUrl);
  await page.fill('#c-webhook-secret', SECRET);
  await page.click('text=Save Webhook');
  await page.locator('section.channel h2', { hasText: 'Webhook (on)' }).waitFor();
  assert.ok(!(await page.content()).includes(SECRET.slice(6)), 'the secret is never shown back');
  assert.equal(await page.inputValue('#c-webhook-url'), receiverUrl);

  // The test button.
  await page.locator('section.channel', { hasText: 'Webhook' }).locator('text=Send a test message').click();
  await page.locator('.notice', { hasText: 'Test message sent' }).waitFor();
  assert.equal(received.length, 1);
  assert.ok(verified(received[0]), 'the test message is signed');

  // A client in UTC, and a date today with a reminder at the next whole minute at least 20 s away.
  const due = new Date(Math.ceil((Date.now() + 20000) / 60000) * 60000);
  const day = due.toISOString().slice(0, 10);
  const hhmm = due.toISOString().slice(11, 16);
  await page.goto(`${base}/clients/new`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.fill('#f-full_name', 'Webhook Walter');
  await page.fill('#f-timezone', 'UTC');
  await page.click('text=Save client');
  await page.waitForURL(/\/clients\/[0-9a-f-]{36}$/);
  await page.click('text=Add date');
  await page.waitForURL(/\/dates\/new$/);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.fill('#f-title', 'Dinner at eight');
  await page.fill('#f-date_value', day);
  await page.fill('#f-r0_days', '0');
  await page.fill('#f-r0_time', hhmm);
  await page.selectOption('#f-r0_audience', 'client');
  await page.selectOption('#f-r0_channel', 'webhook');
  await page.fill('#f-r0_message', 'Your table is ready at eight.');
  await page.click('text=Save date');
  await page.waitForURL(/\/clients\/[0-9a-f-]{36}$/);
  assert.equal(received.length, 1, 'nothing before its time');

  await waitFor(() => received.length >= 2, 200000, 'the reminder at the webhook');
  const hook = received[1];
  assert.ok(verified(hook), 'the reminder is signed');
  const payload = JSON.parse(hook.body);
  assert.equal(payload.body, 'Your table is ready at eight.');
  assert.equal(payload.person.name, 'Webhook Walter');
  const late = (hook.at - due.getTime()) / 1000;
  assert.ok(late >= 0 && late < 5, `on time (${late} s after it was due)`);

  // Once: a few more polls bring nothing new.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(received.length, 2, 'sent once');

  // The Messages page lists it as sent; its page shows the history.
  await page.goto(`${base}/messages?status=sent`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.locator('table a', { hasText: 'Reminder: Dinner at eight' }).click();
  await page.waitForURL(/\/messages\/[0-9a-f-]{36}$/);
  await page.locator('.lead', { hasText: 'sent' }).waitFor();
  assert.match(await page.locator('.timeline').innerText(), /queued[\s\S]*sent/);

  assert.deepEqual(problems, [], 'no errors in the browser');
  await context.close();
});
