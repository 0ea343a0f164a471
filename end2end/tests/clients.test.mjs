// Signs in, adds a client (seeing a validation error beside its field first), finds the client
// by search, and gives a client a birthday with a reminder rule that then shows on the calendar
// and in their upcoming dates — in Chromium, against the real server binary on a fresh SQLite
// database — checking that every page hydrated without a single error in the browser console.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, watch, signIn } from './support.mjs';

const EMAIL = 'e2e@example.com';
const PASSWORD = 'end-to-end password 1';

let server, base, browser;

before(async () => {
  server = await startServer({ org: 'e2e', email: EMAIL, password: PASSWORD, name: 'Edith Tester' });
  base = server.base;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

test('sign in, add a client, find it by search — hydrated, with a clean console', async () => {
  const context = await browser.newContext({ userDataDir: undefined });
  const page = await context.newPage();
  const problems = watch(page);

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

test('a birthday with a reminder rule shows on the calendar and in the upcoming dates', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watch(page);
  await signIn(page, base, EMAIL, PASSWORD);

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
