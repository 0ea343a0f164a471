// A staff member's own account, in Chromium against the real server: the name at the top
// leads to it; a wrong current password is refused beside its field; the right one changes
// the password and keeps this browser signed in; "Sign out everywhere" ends the session and
// the new password signs in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, watch, signIn } from './support.mjs';

const EMAIL = 'account@example.com';
const PASSWORD = 'end-to-end password 7';
const NEW_PASSWORD = 'a fresh end-to-end password';

let server, base, browser;

before(async () => {
  server = await startServer({ org: 'account', email: EMAIL, password: PASSWORD, name: 'Account Holder' });
  base = server.base;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

test('staff change their password and sign out everywhere', { timeout: 120000 }, async () => {
  const page = await browser.newPage();
  const problems = watch(page);
  await signIn(page, base, EMAIL, PASSWORD);
  await page.waitForSelector('body[data-hydrated="true"]');

  await page.click('a.who-name');
  await page.waitForURL(`${base}/account`);
  await page.getByRole('heading', { name: 'Your account' }).waitFor();
  await page.waitForSelector('body[data-hydrated="true"]');

  await page.fill('#f-current_password', 'not my password at all');
  await page.fill('#f-new_password', NEW_PASSWORD);
  await page.click('button:has-text("Change password")');
  await page.getByText('is not your current password').waitFor();

  await page.fill('#f-current_password', PASSWORD);
  await page.fill('#f-new_password', NEW_PASSWORD);
  await page.click('button:has-text("Change password")');
  await page.getByText('Your password is changed.').waitFor();
  // Still signed in, on a new session.
  await page.goto(`${base}/clients`);
  await page.waitForURL(`${base}/clients`);
  assert.deepEqual(problems, [], 'no errors in the browser');

  await page.goto(`${base}/account`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.click('button:has-text("Sign out everywhere")');
  await page.waitForURL((url) => url.pathname === '/login');
  await page.goto(`${base}/clients`);
  await page.waitForURL((url) => url.pathname === '/login');

  await signIn(page, base, EMAIL, NEW_PASSWORD);
  await page.close();
});
