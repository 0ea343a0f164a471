// Signs in, adds a client (seeing a validation error beside its field first), finds the client
// by search, and gives a client a birthday with a reminder rule that then shows on the calendar
// and in their upcoming dates — in Chromium, against the real server binary on a fresh SQLite
// database — checking that every page hydrated without a single error in the browser console.
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
const EMAIL = 'e2e@example.com';
const PASSWORD = 'end-to-end password 1';

let dir, server, base, browser;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

async function waitForHealth(url, ms = 30000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try { if ((await fetch(url)).ok) return; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server did not become healthy at ${url}`);
}

before(async () => {
  assert.ok(existsSync(bin), `build the site first (cargo leptos build): ${bin} is missing`);
  dir = mkdtempSync(join(tmpdir(), 'concierge-e2e-'));
  const env = { ...process.env, DATABASE_URL: `sqlite://${dir}/e2e.db`, LEPTOS_SITE_ROOT: join(root, 'target', 'site'), RUST_LOG: 'warn' };
  execFileSync(bin, ['create-admin', '--org', 'e2e', '--email', EMAIL, '--password', PASSWORD, '--name', 'Edith Tester'], { env });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(bin, ['serve', '--addr', `127.0.0.1:${port}`], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  await waitForHealth(`${base}/health`);
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

test('sign in, add a client, find it by search — hydrated, with a clean console', async () => {
  const context = await browser.newContext({ userDataDir: undefined });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });

  // A signed-out visit lands on sign-in and returns afterwards.
  await page.goto(`${base}/clients`);
  assert.match(page.url(), /\/login\?next=%2Fclients$/);
  await page.fill('#email', EMAIL);
  await page.fill('#password', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/clients`);
  await page.waitForSelector('body[data-hydrated="true"]');

  // Add a client; the hydrated form shows a validation error beside its field first.
  await page.click('text=Add client');
  await page.waitForURL(`${base}/clients/new`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.fill('#f-full_name', 'Ada Lovelace');
  await page.fill('#f-email', 'ada@analytical');
  await page.fill('#f-tags', 'engines, VIP');
  await page.fill('#f-timezone', 'Europe/London');
  await page.click('text=Save client');
  const emailError = page.locator('#email-error');
  await emailError.filter({ hasText: 'e-mail' }).waitFor();
  assert.equal(page.url(), `${base}/clients/new`, 'nothing was saved');

  await page.fill('#f-email', 'ada@analytical.engine');
  await page.click('text=Save client');
  await page.waitForURL(/\/clients\/[0-9a-f-]{36}$/);
  await page.locator('h1', { hasText: 'Ada Lovelace' }).waitFor();

  // Find it by search from the directory (client-side navigation once hydrated).
  await page.click('nav >> text=Clients');
  await page.waitForURL(`${base}/clients`, { waitUntil: 'commit' });
  await page.fill('#q', 'lovelace');
  await page.click('form[role=search] button');
  await page.waitForURL(/\/clients\?q=lovelace&.*page=1$/, { waitUntil: 'commit' });
  const row = page.locator('table a', { hasText: 'Ada Lovelace' });
  await row.waitFor();
  assert.equal(await page.locator('table tbody tr').count(), 1);

  const hydrated = await page.getAttribute('body', 'data-hydrated');
  assert.equal(hydrated, 'true', 'the page hydrated');
  assert.deepEqual(problems, [], 'no errors in the browser');
  await context.close();
});

/** Watches a page for console errors, page errors and failed requests. */
function watch(page) {
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });
  return problems;
}

test('a birthday with a reminder rule shows on the calendar and in the upcoming dates', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watch(page);
  await page.goto(`${base}/login`);
  await page.fill('#email', EMAIL);
  await page.fill('#password', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/`);

  // A birthday five days from now (in UTC, the client's zone), born in 1990.
  const soon = new Date(Date.now() + 5 * 86400000);
  const mm = String(soon.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(soon.getUTCDate()).padStart(2, '0');
  const birthday = `1990-${mm}-${dd}`;

  await page.goto(`${base}/clients/new`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.fill('#f-full_name', 'Grace Hopper');
  await page.fill('#f-timezone', 'UTC');
  await page.fill('#f-birthday', birthday);
  await page.click('text=Save client');
  await page.waitForURL(/\/clients\/[0-9a-f-]{36}$/);
  const clientUrl = page.url();

  // The date and its reminder rule, in one form.
  await page.click('text=Add date');
  await page.waitForURL(/\/dates\/new$/);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.fill('#f-title', "Grace's birthday");
  await page.selectOption('#f-category_id', { label: '🎂 Birthday' });
  await page.fill('#f-date_value', birthday);
  await page.selectOption('#f-recurrence_rule', 'FREQ=YEARLY');
  await page.fill('#f-r0_days', '2');
  await page.fill('#f-r0_time', '09:00');
  await page.selectOption('#f-r0_audience', 'staff');
  await page.fill('#f-r0_message', 'Order flowers');
  await page.click('text=Save date');
  await page.waitForURL(clientUrl);

  // The client's upcoming dates: five days off, with its reminder.
  const line = page.locator('.date-list li', { hasText: "Grace's birthday" });
  await line.waitFor();
  const text = await line.innerText();
  assert.match(text, /in 5 days/);
  assert.match(text, /1 reminder/);

  // The calendar of that month shows it on its day.
  await page.goto(`${base}/calendar?month=${soon.getUTCFullYear()}-${mm}`);
  await page.waitForSelector('body[data-hydrated="true"]');
  const cell = page.locator('table.calendar td', { has: page.locator('.day-number', { hasText: new RegExp(`^${soon.getUTCDate()}$`) }) });
  await cell.locator('a', { hasText: "Grace's birthday" }).waitFor();
  assert.match(await cell.innerText(), /Grace Hopper/);

  assert.deepEqual(problems, [], 'no errors in the browser');
  await context.close();
});
