// What every browser test shares: the server binary started on a fresh SQLite database with an
// admin, Chromium, and a watcher that collects every console error, page error and failed
// request of a page (each test asserts that list is empty: a clean console on every page).
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const bin = join(root, 'target', 'debug', 'concierge');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

/** Polls `check` every quarter second until it is true, for at most `ms`. */
export async function waitFor(check, ms, what) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Starts `concierge serve` on a fresh SQLite database with an admin of organisation `org`.
 * `setup(run)` runs before the server starts, with `run(args)` calling the binary's other
 * commands on the same database (an API key, demo data). Returns `{ base, dir, run, stop }`.
 */
export async function startServer({ org, email, password, name, env: extra = {}, setup }) {
  assert.ok(existsSync(bin), `build the site first (cargo leptos build): ${bin} is missing`);
  const dir = mkdtempSync(join(tmpdir(), 'concierge-e2e-'));
  const env = {
    ...process.env, DATABASE_URL: `sqlite://${dir}/e2e.db`, LEPTOS_SITE_ROOT: join(root, 'target', 'site'),
    RUST_LOG: 'warn', ...extra,
  };
  const run = (args) => execFileSync(bin, args, { env }).toString();
  run(['create-admin', '--org', org, '--email', email, '--password', password, '--name', name]);
  const setupResult = setup ? await setup(run) : undefined;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = spawn(bin, ['serve', '--addr', `127.0.0.1:${port}`], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  await waitFor(async () => { try { return (await fetch(`${base}/health`)).ok; } catch { return false; } }, 30000, 'the server');
  const stop = () => {
    server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  return { base, dir, run, stop, setupResult };
}

/** Calls the JSON API at `base` with the bearer `key`: `{ status, body }`. */
export function apiClient(base, key) {
  return async (method, path, body) => {
    const res = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
}

/** Debian's Chromium, headless, with nothing that reaches the internet. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Watches a page for console errors, page errors and failed requests. */
export function watch(page) {
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console on ${page.url()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error on ${page.url()}: ${e.message}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });
  return problems;
}

/** Signs in through the login form and waits for Home. */
export async function signIn(page, base, email, password) {
  await page.goto(`${base}/login`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/`);
}
