// Client cold start (issue 6): first frame of the real web client in headless Chromium, served by
// the real closeloop-server over loopback, and the gzipped size of what the browser downloads.
//   node coldstart.mjs --server PATH/closeloop-server --www DIR [--runs 5] [--chromium /usr/bin/chromium]
//
// - Cold: every run launches Chromium on a new, empty profile directory (no HTTP cache, no service
//   worker, no IndexedDB, no compiled-code cache), waits until the just-launched browser has
//   finished its own start-up (settle() below), navigates to the server and reads
//   window.closeloopFirstFrame: performance.now() (ms since navigation start) recorded by the client
//   at the end of the frame that takes the loading screen down (client/main.cpp: the first frame
//   in which no window is hidden while ImGui sizes it). The frame is handed to the compositor when
//   that callback returns.
// - Warm: in the same profile, once the service worker controls the page (its install cached the
//   app shell), the page is reloaded and the same mark read: the shell comes from the service
//   worker's cache, the wasm from the cache (with whatever compiled code Chromium kept).
// - Sizes: closeloop.wasm and closeloop.js compressed with zlib gzip level 9 in node (the server
//   itself sends them uncompressed; a reverse proxy or CDN would gzip them). MB = 10^6 bytes.
// Chromium runs with the flags of tests/e2e/lib.mjs (SwiftShader: WebGL2 in software, on the CPU).
// Prints {"figures":[...],"skipped":[...]} like the other parts.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { arg, benchDir, median } from './common.mjs';

const root = path.resolve(benchDir, '..');
const serverBin = arg('server', '');
const www = path.resolve(arg('www', path.join(root, 'build/web/client/www')));
const runs = Math.max(1, Number(arg('runs', '5')));
const chromiumPath = arg('chromium', process.env.CHROMIUM || '/usr/bin/chromium');
// A device store with data (bench: query_10000.db of closeloop_bench_scenarios --only query) for the
// returning-user runs; none: those runs are skipped.
const storeFile = arg('store', '');
const timeoutMs = 60000;

const figures = [], skipped = [];
const done = () => { process.stdout.write(JSON.stringify({ figures, skipped }) + '\n'); };
const skip = (system, reason) => { skipped.push({ scenario: 'coldstart', system, reason }); process.stderr.write(`  coldstart skipped: ${reason}\n`); };

function fig(metric, unit, vals, note, { msWall = false } = {}) {
  const f = { scenario: 'coldstart', system: 'closeloop', metric, unit, value: median(vals), runs: vals,
    wall_s: msWall ? median(vals) / 1000 : null, cpu_s: null, n: 1, note };
  figures.push(f);
  process.stderr.write(`  ${'coldstart'.padEnd(12)} ${'closeloop'.padEnd(22)} ${metric.padEnd(48)} ${f.value.toFixed(1).padStart(10)} ${unit}` +
    ` (runs ${vals.map((v) => v.toFixed(unit === 'ms' ? 0 : 1)).join(' / ')})\n`);
  return f;
}

// ---- sizes ----
const wasmFile = path.join(www, 'closeloop.wasm'), jsFile = path.join(www, 'closeloop.js');
if (!fs.existsSync(wasmFile) || !fs.existsSync(jsFile)) {
  skip('closeloop', `no web client build in ${www} (closeloop.wasm / closeloop.js missing)`);
  done();
  process.exit(0);
}
const gz = (file) => zlib.gzipSync(fs.readFileSync(file), { level: 9 }).length;
const wasmGz = gz(wasmFile), jsGz = gz(jsFile);
const rawKb = (f) => (fs.statSync(f).size / 1000).toFixed(0);
fig('closeloop.wasm gzip -9', 'kB', [wasmGz / 1000], `${rawKb(wasmFile)} kB uncompressed`);
fig('closeloop.js gzip -9', 'kB', [jsGz / 1000], `${rawKb(jsFile)} kB uncompressed`);
fig('wasm + JS gzip -9', 'MB', [(wasmGz + jsGz) / 1e6], 'closeloop.wasm + closeloop.js, zlib level 9; MB = 10^6 bytes');
{
  // Everything a first visit downloads (the service worker caches the same list), for information.
  const all = [];
  const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); if (e.isDirectory()) walk(p); else if (e.name !== 'version.txt') all.push(p); } };
  walk(www);
  const total = all.reduce((s, f) => s + gz(f), 0), raw = all.reduce((s, f) => s + fs.statSync(f).size, 0);
  fig('all shell files gzip -9 (first visit)', 'MB', [total / 1e6],
    `${all.length} files (${all.map((f) => path.relative(www, f)).join(', ')}); ${(raw / 1e6).toFixed(2)} MB uncompressed`);
}

// ---- first frame ----
const js = fs.readFileSync(jsFile, 'utf8');
if (!js.includes('closeloopFirstFrame')) {
  skip('closeloop', `the web build in ${www} predates the first-frame mark (client/main.cpp): rebuild it`);
  done();
  process.exit(0);
}
if (!serverBin || !fs.existsSync(serverBin)) { skip('closeloop', `closeloop-server not found (${serverBin || 'no --server'})`); done(); process.exit(0); }
if (!fs.existsSync(chromiumPath)) { skip('closeloop', `no Chromium at ${chromiumPath}`); done(); process.exit(0); }
let chromium, chromiumArgs, startE2eServer;
try {
  ({ chromium } = createRequire(path.join(root, 'tests/e2e/package.json'))('playwright-core'));
  ({ chromiumArgs, startServer: startE2eServer } = await import(pathToFileURL(path.join(root, 'tests/e2e/lib.mjs')).href));
} catch (e) {
  skip('closeloop', `playwright-core not installed in tests/e2e (cd tests/e2e && npm install): ${String(e).split('\n')[0]}`);
  done();
  process.exit(0);
}

// The e2e helper's server start, with the real password hashing.
async function startServer() {
  const s = await startE2eServer({ bin: serverBin, static: www, adminPassword: 'coldstart-admin-pw', fastHash: false });
  const stop = async () => {
    await s.stop();
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  };
  return { url: s.url, stop };
}

// What the page saw: first frame, when closeloop.wasm arrived, whether it came from the network
// (transferSize > 0) or through the service worker (workerStart > 0), and whether the navigation
// itself was served by a service worker (the page controlled from the start).
async function readMarks(page) {
  await page.waitForFunction(() => window.closeloopFirstFrame > 0, null, { timeout: timeoutMs, polling: 50 });
  return page.evaluate(() => {
    const res = performance.getEntriesByType('resource');
    const w = res.find((e) => e.name.endsWith('/closeloop.wasm')), j = res.find((e) => e.name.endsWith('/closeloop.js'));
    const nav = performance.getEntriesByType('navigation')[0];
    const marks = {};
    for (const m of performance.getEntriesByType('mark')) if (m.name.startsWith('closeloop:')) marks[m.name.slice(10)] = m.startTime;
    return { first: window.closeloopFirstFrame, marks, jsStart: j ? j.startTime : null, wasmEnd: w ? w.responseEnd : null, wasmTransfer: w ? w.transferSize : null,
      wasmViaWorker: w ? w.workerStart > 0 : null, controlled: !!(nav && nav.workerStart > 0) };
  });
}

// Chromium on a new, empty profile directory; fn(page) runs in it, then both are removed.
async function withNewProfile(fn) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-coldstart-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath, headless: true, args: chromiumArgs, viewport: { width: 1366, height: 860 }, deviceScaleFactor: 1,
  });
  try {
    return await fn(context.pages()[0] || await context.newPage());
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

const cold = [], warm = [], wasmEnd = [], jsStart = [], settled = [], justLaunched = [];

// A freshly launched Chromium spends its first seconds on its own start-up (on this kind of
// machine ~1.5 s of CPU: it preloads its omnibox WebUI, starts its GPU process...). A user's
// browser is already running when they open the app, so each cold run waits until the machine is
// quiet again (two 200 ms samples of /proc/stat under 20 % busy, at most 15 s) before navigating.
// The runs that navigate right after the launch are reported separately, for information.
const cpuTimes = () => {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] || 0);
  return { idle, total: f.reduce((a, b) => a + b, 0) };
};
async function settle() {
  const t0 = Date.now();
  if (!fs.existsSync('/proc/stat')) { await new Promise((r) => setTimeout(r, 3000)); return Date.now() - t0; }
  let quiet = 0, prev = cpuTimes();
  while (quiet < 2 && Date.now() - t0 < 15000) {
    await new Promise((r) => setTimeout(r, 200));
    const cur = cpuTimes();
    const busy = 1 - (cur.idle - prev.idle) / Math.max(1, cur.total - prev.total);
    quiet = busy < 0.2 ? quiet + 1 : 0;
    prev = cur;
  }
  return Date.now() - t0;
}
// The client's start-up marks (pre.js, main.cpp), in the order they happen.
const kMarks = [
  ['wasm-ready', 'wasm compiled and instantiated (preRun)'],
  ['idbfs-loaded', 'local data ready: IndexedDB loaded into /data, or known empty (a first visit: boot.js created the database)'],
  ['main', 'main() entered (fonts in; pre.js created the WebGL2 context before)'],
  ['gl-imgui', 'GLFW window on that context, Dear ImGui, fonts and shaders set up'],
  ['app-init', 'App::init done in the first frame after the local data is ready (SQLite store opened)'],
];
const coldMarks = Object.fromEntries(kMarks.map(([k]) => [k, []]));
const returning = [], returningMarks = Object.fromEntries(kMarks.map(([k]) => [k, []]));
let server = null;
try {
  server = await startServer();
  process.stderr.write(`  closeloop-server ${server.url} serving ${www}; ${runs} runs, each on a new Chromium profile\n`);
  for (let r = 0; r < runs; r++) {
    await withNewProfile(async (page) => {
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      settled.push(await settle());
      await page.goto(server.url, { waitUntil: 'commit' });
      const c = await readMarks(page);
      if (c.controlled) throw new Error('a "cold" page load was controlled by a service worker: the profile was not fresh');
      cold.push(c.first);
      for (const [k] of kMarks) if (c.marks[k] != null) coldMarks[k].push(c.marks[k]);
      if (c.wasmEnd != null) wasmEnd.push(c.wasmEnd);
      if (c.jsStart != null) jsStart.push(c.jsStart);
      // warm: wait until the service worker (install: app shell cached) controls the page, then reload
      await page.waitForFunction(() => navigator.serviceWorker && navigator.serviceWorker.controller !== null, null, { timeout: timeoutMs });
      await page.reload({ waitUntil: 'commit' });
      const w = await readMarks(page);
      if (!w.controlled) throw new Error('the warm reload was not controlled by the service worker');
      warm.push(w.first);
      process.stderr.write(`  run ${r + 1}: browser quiet after ${settled[settled.length - 1]} ms; cold first frame ${c.first.toFixed(0)} ms (closeloop.js requested at ${c.jsStart?.toFixed(0)} ms, wasm in at ${c.wasmEnd?.toFixed(0)} ms, ` +
        `${c.wasmTransfer} B over the network); warm ${w.first.toFixed(0)} ms (wasm via service worker: ${w.wasmViaWorker})` +
        `${errors.length ? '; page errors: ' + errors.join(' | ') : ''}\n`);
    });
  }
  // For information: navigations right after the browser's launch, its own start-up still running.
  for (let r = 0; r < Math.min(3, runs); r++) {
    await withNewProfile(async (page) => {
      await page.goto(server.url, { waitUntil: 'commit' });
      justLaunched.push((await readMarks(page)).first);
      process.stderr.write(`  just-launched run ${r + 1}: cold first frame ${justLaunched[justLaunched.length - 1].toFixed(0)} ms\n`);
    });
  }
  // A returning user: the page was used before and its IndexedDB holds a store with data. One
  // profile: a first visit, the store file put in place of the app's (and stored), then reloads,
  // each once the previous start's last good copy (taken 2 s after a start) has been stored.
  if (storeFile && fs.existsSync(storeFile)) {
    const bytes = fs.readFileSync(storeFile);
    bytes[18] = 1; bytes[19] = 1;  // WAL -> rollback journal: the browser's SQLite has no WAL (bench/wasm_query.cpp)
    await withNewProfile(async (page) => {
      await page.goto(server.url, { waitUntil: 'commit' });
      await readMarks(page);
      await page.waitForFunction(() => navigator.serviceWorker && navigator.serviceWorker.controller !== null, null, { timeout: timeoutMs });
      await page.waitForFunction(() => Module.closeloopBackupStored === true, null, { timeout: timeoutMs });
      // Handed to the page in base64 pieces (a route would not see the service worker's fetches).
      await page.evaluate((n) => { window.closeloopBenchStore = new Uint8Array(n); }, bytes.length);
      const piece = 8 << 20;
      for (let at = 0; at < bytes.length; at += piece)
        await page.evaluate(([b64, off]) => { const bin = atob(b64); const dst = window.closeloopBenchStore; for (let i = 0; i < bin.length; i++) dst[off + i] = bin.charCodeAt(i); },
          [bytes.subarray(at, at + piece).toString('base64'), at]);
      await page.evaluate(async () => {
        Module.FS.writeFile('/data/closeloop.db', window.closeloopBenchStore);
        delete window.closeloopBenchStore;
        await new Promise((resolve, reject) => Module.FS.syncfs(false, (err) => (err ? reject(new Error(String(err))) : resolve())));
      });
      for (let r = 0; r < 4; r++) {
        await page.reload({ waitUntil: 'commit' });
        const m = await readMarks(page);
        const size = await page.evaluate(() => Module.FS.stat('/data/closeloop.db').size);
        if (size !== bytes.length) throw new Error(`the returning-user store is ${size} bytes, not the ${bytes.length} put in place`);
        if (r > 0) returning.push(m.first);  // the first reload also replaces the last good copy by the new store's
        for (const [k] of kMarks) if (r > 0 && m.marks[k] != null) returningMarks[k].push(m.marks[k]);
        process.stderr.write(`  returning-user reload ${r + 1}: first frame ${m.first.toFixed(0)} ms (local data loaded at ${m.marks['idbfs-loaded']?.toFixed(0)} ms)${r === 0 ? ' (not counted: its start still stores the new file\'s first copy)' : ''}\n`);
        await page.waitForFunction(() => Module.closeloopBackupStored === true, null, { timeout: timeoutMs });
      }
    });
  } else if (storeFile) {
    process.stderr.write(`  returning-user runs skipped: no store file ${storeFile}\n`);
  }
} catch (e) {
  skip('closeloop', `first-frame runs failed after ${cold.length} run(s): ${String(e).split('\n')[0]}`);
} finally {
  if (server) await server.stop();
}

const env = `headless Chromium (SwiftShader: software WebGL2), closeloop-server on loopback, ${os.cpus().length} cores`;
if (cold.length) {
  fig('first frame, cold (new profile)', 'ms', cold, `navigation start -> first frame drawn; empty profile each run, navigated once the launched browser was quiet (waited ${settled.join(' / ')} ms); ${env}`, { msWall: true });
  // where the cold start goes (resource timing)
  if (jsStart.length) fig('closeloop.js requested, cold', 'ms', jsStart, 'navigation start -> boot.js appends the loader script; part of the cold start', { msWall: true });
  for (const [k, what] of kMarks)
    if (coldMarks[k].length) fig(`start-up mark, cold: ${k}`, 'ms', coldMarks[k], `navigation start -> ${what}; performance.mark in the client`, { msWall: true });
  if (wasmEnd.length) fig('closeloop.wasm received, cold', 'ms', wasmEnd, 'navigation start -> closeloop.wasm responseEnd; the rest up to the first frame is compile, IDBFS, app and GL start', { msWall: true });
}
if (justLaunched.length) fig('first frame, cold, browser just launched (information)', 'ms', justLaunched, `as above, but navigated right after the launch: the browser's own start-up competes for the cores; ${env}`, { msWall: true });
if (warm.length) fig('first frame, warm (reload: service worker + cache)', 'ms', warm, `reload in the same profile; shell from the service worker cache; ${env}`, { msWall: true });
if (returning.length) {
  const mb = (fs.statSync(storeFile).size / 1e6).toFixed(1);
  fig(`first frame, returning user with a stored ${path.basename(storeFile, '.db').replace('query_', '')}-case store (information)`, 'ms', returning,
    `reload of a profile whose IndexedDB holds ${path.basename(storeFile)} (${mb} MB) as the app's store; shell from the service worker; ${env}`, { msWall: true });
  fig('start-up mark, returning user: idbfs-loaded', 'ms', returningMarks['idbfs-loaded'], `navigation start -> the store read from IndexedDB into /data (${mb} MB)`, { msWall: true });
  fig('start-up mark, returning user: app-init', 'ms', returningMarks['app-init'], 'navigation start -> the store opened and checked (Store::check_integrity)', { msWall: true });
}
done();
