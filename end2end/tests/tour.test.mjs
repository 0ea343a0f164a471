// Every page of the portal, loaded and hydrated in Chromium over the demo organisation's data
// (clients, dates, projects with progress, conversations, vendors, categories with colours):
// not one console error, page error or failed request on any of them — the page's own
// Content-Security-Policy included, which refuses inline styles.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, watch, signIn } from './support.mjs';

const EMAIL = 'tour@example.com';
const PASSWORD = 'end-to-end password 4';
let server, browser;

before(async () => {
  server = await startServer({
    org: 'tour', email: EMAIL, password: PASSWORD, name: 'Tour Admin',
    setup: (run) => run(['seed-demo', '--org', 'tour']),
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

/** The first link on the page whose path is `prefix` and an id, if any. */
async function firstDetail(page, prefix) {
  const hrefs = await page.$$eval('a[href]', (as) => as.map((a) => a.getAttribute('href')));
  const re = new RegExp(`^${prefix}/[0-9a-f-]{36}$`);
  return hrefs.find((h) => re.test(h));
}

test('every page hydrates with a clean console', { timeout: 240000 }, async () => {
  const { base } = server;
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watch(page);
  await signIn(page, base, EMAIL, PASSWORD);

  const visit = async (path) => {
    await page.goto(`${base}${path}`);
    await page.waitForSelector('body[data-hydrated="true"]');
    // Whatever the page loads after hydrating has its turn to fail.
    await page.waitForLoadState('networkidle');
  };
  const pages = [
    '/', '/clients', '/clients/new', '/clients/import', '/calendar', '/reminders', '/reminders?status=sent',
    '/projects', '/projects/new', '/conversations', '/messages', '/notifications', '/engagement',
    '/vendors', '/vendors/new', '/settings', '/settings/staff', '/settings/audit', '/settings/channels',
    '/settings/engagement',
  ];
  const seen = [];
  for (const path of pages) {
    await visit(path);
    seen.push(path);
    // A list's first item, and for a client their edit page and a new date.
    for (const prefix of ['/clients', '/projects', '/conversations', '/vendors', '/messages']) {
      if (path !== prefix) continue;
      const detail = await firstDetail(page, prefix);
      assert.ok(detail || prefix === '/messages', `the demo data has something on ${prefix}`);
      if (!detail) continue;
      await visit(detail);
      seen.push(detail);
      if (prefix !== '/messages' && prefix !== '/conversations') {
        await visit(`${detail}/edit`);
        seen.push(`${detail}/edit`);
      }
      if (prefix === '/clients') {
        await visit(`${detail}/dates/new`);
        seen.push(`${detail}/dates/new`);
      }
    }
  }
  // Projects show their progress, Settings its categories' colours: the two that once broke the CSP.
  await visit('/projects');
  assert.ok(await page.locator('progress.progress').count() > 0, 'projects show a progress bar');
  await visit('/settings');
  assert.ok(await page.locator('svg.swatch').count() > 0, 'categories show their colour');

  assert.ok(seen.length >= 26, `visited ${seen.join(', ')}`);
  assert.deepEqual(problems, [], 'no errors in the browser');
  await context.close();
});
