// Helpers for the browser tests: the real sync server (startServer) or a static file server,
// Chromium launch with the flags that give headless WebGL2, and the client's test bridge.
import http from 'node:http';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../..');
export const www = process.env.CLOSELOOP_WWW || path.join(root, 'build/web/client/www');
export const serverBin = process.env.CLOSELOOP_SERVER || path.join(root, 'build/native/server/closeloop-server');
export const artifacts = path.join(here, 'artifacts');
fs.mkdirSync(artifacts, { recursive: true });

const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json',
  '.webmanifest': 'application/manifest+json', '.svg': 'image/svg+xml', '.ttf': 'font/ttf', '.txt': 'text/plain' };

// Serves `dir`; /api/* answers 503 (no server) unless an `api` handler is given.
export function startStatic(dir = www, api = null) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname.startsWith('/api/')) {
      if (api) return api(req, res, url);
      res.writeHead(503, { 'content-type': 'application/json' });
      return res.end('{"error":"no server"}');
    }
    let p = path.normalize(path.join(dir, decodeURIComponent(url.pathname)));
    if (!p.startsWith(dir)) { res.writeHead(403); return res.end(); }
    if (fs.existsSync(p) && fs.statSync(p).isDirectory()) p = path.join(p, 'index.html');
    fs.readFile(p, (err, data) => {
      if (err) { res.writeHead(404); return res.end('not found'); }
      res.writeHead(200, { 'content-type': types[path.extname(p)] || 'application/octet-stream', 'cache-control': 'no-cache' });
      res.end(data);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({ server, url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) });
  }));
}

export const chromiumArgs = ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
  '--ignore-gpu-blocklist', '--enable-webgl'];

export function tempProfile(name) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `closeloop-${name}-`));
}

export async function launch(profileDir, { width = 1366, height = 860, dpr = 1, offline = false } = {}) {
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: chromiumArgs,
    viewport: { width, height }, deviceScaleFactor: dpr, offline,
  });
  const page = context.pages()[0] || await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => { page.errors.push(String(e)); if (process.env.CL_DEBUG) console.log(e.stack); });
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text()); });
  return { context, page };
}

export async function openApp(page, url) {
  await page.goto(url);
  await page.waitForFunction(() => window.closeloopReady === true && window.Module && Module.testState && Module.testState(),
    null, { timeout: 30000 });
  await loaderGone(page);
  await frames(page, 3);
}

// The loading screen fades out after the first frame (boot.js); until it is gone it takes the
// pointer events meant for the canvas.
export async function loaderGone(page) {
  await page.waitForFunction(() => document.getElementById('loader').style.display === 'none', null, { timeout: 10000 });
}

export async function state(page) { return page.evaluate(() => Module.testState()); }
export async function call(page, name, arg = '') { return page.evaluate(([n, a]) => Module.testCall(n, a), [name, arg]); }

export async function frames(page, n = 2) {
  const start = (await state(page)).frame;
  await page.waitForFunction((s) => Module.testState().frame >= s, start + n, { timeout: 10000 });
}

export async function waitFor(page, pred, desc = 'condition', timeout = 15000) {
  const t0 = Date.now();
  let s;
  while (Date.now() - t0 < timeout) {
    s = await state(page);
    if (pred(s)) return s;
    await page.waitForTimeout(50);
  }
  throw new Error(`timed out waiting for ${desc}; state: ${JSON.stringify({ ...s, widgets: Object.keys(s?.widgets || {}).length })}`);
}

export async function widget(page, id, timeout = 8000) {
  const s = await waitFor(page, (st) => st.widgets && st.widgets[id], `widget ${id}`, timeout);
  return s.widgets[id];
}

export async function click(page, id) {
  let r = await widget(page, id);
  // Hover first (as a person does): ImGui decides what is under the mouse from the previous frame.
  // One frame after each input event is enough: the frame that follows an event processes it.
  // The widget must still be where it was: right after a resize a layout can take a few frames to
  // settle (a scrollbar appears and rows wrap again), and a click there landed on another button.
  for (let tries = 0; tries < 10; tries++) {
    await page.mouse.move(r.x + r.w / 2, r.y + r.h / 2);
    await frames(page, 1);
    const now = await widget(page, id);
    if (now.x === r.x && now.y === r.y && now.w === r.w && now.h === r.h) break;
    r = now;
  }
  await page.mouse.down();
  await frames(page, 1);
  await page.mouse.up();
  await frames(page, 1);
}

// Clicks a text field, clears it and enters text. By default the text arrives as one input event on
// the hidden text element (the on-screen keyboard path: fast, one event); { keys: true } types it key
// by key on the physical-keyboard path (one round trip per character: slow on a loaded machine).
export async function fill(page, id, text, { keys = false } = {}) {
  await click(page, id);
  await waitFor(page, (s) => s.want_text_input, `text input active for ${id}`);
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Backspace');
  if (text) {
    if (keys) await page.keyboard.type(text);
    else await page.keyboard.insertText(text);
  }
  await frames(page, 1);
}

export async function shot(page, name) {
  const file = path.join(artifacts, name + '.png');
  await page.screenshot({ path: file });
  return file;
}

export async function waitSaved(page) {
  return waitFor(page, (s) => s.save_state === 'saved' || s.save_state === 'clean', 'saved to IndexedDB');
}

// ---- the real server ---------------------------------------------------------------------------

// Starts closeloop-server on a free loopback port with a temporary data dir, serving the web client
// from `www`. users: [{name, role, teams:[..], password}] are created through the admin API after
// the start. Returns {url, dataDir, adminPassword, api(method, path, body, token), login, stop}.
// bin/static: another server build or client build (the benchmarks); fastHash: false keeps the
// real Argon2id cost (a benchmark must not measure a test-only setting).
export async function startServer({ users = [], adminPassword = 'admin-secret-pw', bin = serverBin, static: staticDir = www,
  fastHash = true } = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-e2e-data-'));
  const env = { ...process.env, CLOSELOOP_ADMIN_PASSWORD: adminPassword };
  if (fastHash) env.CLOSELOOP_TEST_FAST_HASH = '1';
  else delete env.CLOSELOOP_TEST_FAST_HASH;
  const proc = spawn(bin, ['--host', '127.0.0.1', '--port', '0', '--data', dataDir, '--static', staticDir,
    '--sweep-interval', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stderr.on('data', (d) => { out += d; if (process.env.CL_DEBUG) process.stderr.write(d); });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start: ' + out)), 15000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[^/\s]+\/)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}): ${out}`)); });
  });
  async function api(method, p, body, token) {
    const headers = { accept: 'application/json' };
    if (token) headers.authorization = 'Bearer ' + token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(new URL(p.replace(/^\//, ''), url), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, json, text, headers: r.headers };
  }
  async function login(username, password) {
    const r = await api('POST', '/api/v1/auth/login', { username, password });
    if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${r.text}`);
    return r.json.token;
  }
  const adminToken = await login('admin', adminPassword);
  for (const u of users) {
    for (const t of u.teams || []) await api('POST', '/api/v1/admin/teams', { name: t }, adminToken);  // 409 when it exists
    const r = await api('POST', '/api/v1/admin/users', { name: u.name, role: u.role || 'agent', teams: u.teams || [], password: u.password }, adminToken);
    if (r.status !== 201) throw new Error(`creating user ${u.name}: ${r.status} ${r.text}`);
  }
  const running = () => proc.exitCode === null && proc.signalCode === null;
  async function stop() {
    if (!running()) return;
    const done = new Promise((r) => proc.on('exit', r));
    proc.kill('SIGTERM');
    await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
    if (running()) proc.kill('SIGKILL');
  }
  return { url, dataDir, adminPassword, adminToken, api, login, stop, proc };
}

// Signs in through the login screen.
export async function signIn(page, username, password) {
  await widget(page, 'login.username', 15000);
  await fill(page, 'login.username', username);
  await fill(page, 'login.password', password);
  await click(page, 'login.submit');
  return waitFor(page, (s) => s.signed_in && s.has_token, `signed in as ${username}`, 15000);
}

// Waits for a completed sync that started after now (last_sync moves) with nothing left to upload.
export async function waitSynced(page, since = 0, timeout = 20000) {
  return waitFor(page, (s) => s.sync_phase === 'idle' && s.last_sync > since && s.pending === 0 && s.uploads === 0,
    'sync finished', timeout);
}

export async function cases(page) { return JSON.parse(await call(page, 'cases')); }
export async function caseJson(page, id) { return JSON.parse(await call(page, 'case', id)); }

// Creates a case through the New case form; returns its id once the case view shows it and it is saved.
export async function newCase(page, { client, contact, title, description }) {
  await click(page, 'nav.new_case');
  await fill(page, 'new.client_name', client);
  await fill(page, 'new.client_contact', contact);
  await fill(page, 'new.title', title);
  if (description) await fill(page, 'new.description', description);
  await click(page, 'new.save');
  const s = await waitFor(page, (x) => x.view === 'case', 'case view after create');
  await waitSaved(page);
  return s.case_id;
}
