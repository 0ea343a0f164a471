// An admin sets the engagement policy in Settings → Engagement, then runs a dry run from the
// Engagement page with the keyboard and reads the summary: who would get what, who is skipped
// and why — and the dry run sent and stored nothing. Chromium against the real server binary.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'target', 'debug', 'concierge');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const EMAIL = 'engage@example.com';
const PASSWORD = 'end-to-end password 3';

let dir, server, base, browser, key;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

async function waitFor(check, ms, what) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function api(method, path, body) {
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

before(async () => {
  assert.ok(existsSync(bin), `build the site first (cargo leptos build): ${bin} is missing`);
  dir = mkdtempSync(join(tmpdir(), 'concierge-e2e-'));
  const env = {
    ...process.env, DATABASE_URL: `sqlite://${dir}/e2e.db`, LEPTOS_SITE_ROOT: join(root, 'target', 'site'),
    RUST_LOG: 'warn', ENGAGEMENT_INTERVAL_MINUTES: '0',
  };
  execFileSync(bin, ['create-admin', '--org', 'engage', '--email', EMAIL, '--password', PASSWORD, '--name', 'Engage Admin'], { env });
  const out = execFileSync(bin, ['api-key', 'create', '--org', 'engage', '--name', 'e2e'], { env }).toString().trim().split('\n');
  key = out[out.length - 1].trim();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(bin, ['serve', '--addr', `127.0.0.1:${port}`], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  await waitFor(async () => { try { return (await fetch(`${base}/health`)).ok; } catch { return false; } }, 30000, 'the server');
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
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
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });

  await page.goto(`${base}/login`);
  await page.fill('#email', EMAIL);
  await page.fill('#password', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/`);

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
