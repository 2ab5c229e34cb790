// HTTP scenarios on loopback: closeloop-server vs pouchdb-server (disk-backed leveldb), same
// client (node http for pushes, fetch for pulls, keep-alive), same events (data.ndjson), same batch and page sizes.
//   ingest: devices push all events in batches (round-robin over devices) -> events/s
//   pull:   a new device pulls everything in pages -> events/s, total seconds
//   rss:    server RSS after ingest, after the first pull and after N repeated full pulls
//   node http_bench.mjs --work DIR --runs R [--server BIN] [--only closeloop,pouchdb]
//                       [--batch 1000] [--page 5000] [--repeat-pulls 5] [--at-once 4]
//   at once: the same batches, with --at-once devices pushing at the same time (each connection
//            sends its own devices' batches in order, as devices do) -> events/s (information)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import http from 'node:http';
import { readNdjson, figure, timeOnce, peerRequire, arg, benchDir } from './common.mjs';

const work = arg('work', 'results/work');
const runs = Number(arg('runs', '3'));
const serverBin = arg('server', '');
const only = arg('only', 'closeloop,pouchdb').split(',');
const batch = Number(arg('batch', '1000'));
const page = Number(arg('page', '5000'));
const repeatPulls = Number(arg('repeat-pulls', '5'));
const atOnce = Number(arg('at-once', '4'));  // devices pushing at the same time (0: not measured)
const events = readNdjson(path.join(work, 'data.ndjson'));
const n = events.length;
const figures = [];
const skipped = [];

// Round-robin batches per device: each device sends its own events in order, like real devices.
function deviceBatches(evs) {
  const byDev = new Map();
  for (const e of evs) { if (!byDev.has(e.device)) byDev.set(e.device, []); byDev.get(e.device).push(e); }
  const queues = [...byDev.entries()].map(([device, list]) => ({ device, list, i: 0 }));
  const out = [];
  for (let left = true; left;) {
    left = false;
    for (const q of queues) {
      if (q.i >= q.list.length) continue;
      out.push({ device: q.device, events: q.list.slice(q.i, q.i + batch) });
      q.i += batch;
      left = left || q.i < q.list.length;
    }
  }
  return out;
}
const batches = deviceBatches(events);

// The bodies of `atOnce` devices' connections: each device's batches on one connection, in order.
function lanesOf(bodies) {
  const devices = [...new Set(batches.map((b) => b.device))];
  const lanes = Array.from({ length: Math.max(1, atOnce) }, () => []);
  bodies.forEach((body, i) => lanes[devices.indexOf(batches[i].device) % lanes.length].push(body));
  return lanes;
}
// Sends every body, the lanes at the same time and each lane in order.
async function sendLanes(lanes, send) {
  await Promise.all(lanes.map(async (lane) => { for (const body of lane) await send(body); }));
}
// The ingest again with `atOnce` devices pushing at the same time, on a new server from start():
// the timing, the server's CPU seconds, and the events it accepted (send returns them per push;
// added after the await: `accepted += await ...` would read `accepted` before the lanes interleave).
async function ingestAtOnce(start, send, bodies) {
  const server = await start();
  try {
    let accepted = 0;
    const cpu0 = cpuSeconds(server.proc.pid);
    const t = await timeOnce(() => sendLanes(lanesOf(bodies), async (body) => { const a = await send(server, body); accepted += a; }));
    return { t, cpu: cpuSeconds(server.proc.pid) - cpu0, accepted };
  } finally {
    await stopServer(server);
  }
}

function freePort() {
  return new Promise((res) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Pushes go through node's http module on keep-alive connections, with bodies encoded once before
// the timing: the client's own work is part of every ingest's wall time (one push at a time, it
// waits while the server works): with fetch (undici) and string bodies this client used 0.73 s
// of CPU per 100k pushed events, this way 0.21-0.29 s.
const agent = new http.Agent({ keepAlive: true });
function post(base, pathname, headers, body) {
  const url = new URL(pathname, base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method: 'POST', agent,
      headers: { ...headers, 'content-length': body.length } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ ok: res.statusCode >= 200 && res.statusCode < 300, status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
// CPU seconds a process has used (user + system), from /proc: the server's share of a scenario.
function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;  // utime, stime in clock ticks (USER_HZ = 100)
  } catch { return NaN; }
}
function rssKb(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number((new RegExp(`${k}:\\s+(\\d+)`).exec(s) || [0, 0])[1]);
    // RssAnon: the process's own memory; RssFile: pages of mapped files (SQLite's mmap of the
    // database), which the kernel can drop under pressure.
    return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') };
  } catch { return { rss: 0, hwm: 0, anon: 0, file: 0 }; }
}
async function waitUp(url, proc, ms = 30000) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}`);
    try { const r = await fetch(url); await r.arrayBuffer(); return; } catch { await sleep(100); }
  }
  throw new Error(`server at ${url} did not come up`);
}
async function stop(proc) {
  if (proc.exitCode !== null) return;
  proc.kill('SIGTERM');
  for (let i = 0; i < 50 && proc.exitCode === null; i++) await sleep(100);
  if (proc.exitCode === null) proc.kill('SIGKILL');
}
function summarizeRss(system, samples) {
  const last = samples.after_repeats;
  figures.push({ scenario: 'rss', system, metric: 'server RSS after ingest', unit: 'MB', value: samples.after_ingest / 1024, runs: [samples.after_ingest / 1024], n, note: '' });
  const split = samples.after_pull_anon !== undefined
    ? `heap and caches (RssAnon) ${(samples.after_pull_anon / 1024).toFixed(1)} MB + mapped files (RssFile) ${(samples.after_pull_file / 1024).toFixed(1)} MB` : '';
  figures.push({ scenario: 'rss', system, metric: 'server RSS after first full pull', unit: 'MB', value: samples.after_pull / 1024, runs: [samples.after_pull / 1024], n, note: split });
  figures.push({ scenario: 'rss', system, metric: `server RSS after ${repeatPulls} more full pulls`, unit: 'MB', value: last / 1024, runs: samples.series.map((x) => x / 1024), n, note: `growth ${((last - samples.after_pull) / 1024).toFixed(1)} MB; peak (VmHWM) ${(samples.hwm / 1024).toFixed(1)} MB` });
  process.stderr.write(`  rss          ${system.padEnd(22)} ingest ${(samples.after_ingest / 1024).toFixed(1)} MB, pull ${(samples.after_pull / 1024).toFixed(1)} MB, after repeats ${samples.series.map((x) => (x / 1024).toFixed(1)).join('/')} MB, peak ${(samples.hwm / 1024).toFixed(1)} MB${split ? `; after pull: ${split}` : ''}\n`);
}

// ---- closeloop ------------------------------------------------------------------------------
// A closeloop-server on a new data folder, signed in as the bootstrap admin.
async function startCloseloop(password) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'closeloop-bench-'));
  const port = await freePort();
  const proc = spawn(serverBin, ['--host', '127.0.0.1', '--port', String(port), '--data', dir, '--sweep-interval', '0'],
    { env: { ...process.env, CLOSELOOP_ADMIN_PASSWORD: password }, stdio: ['ignore', 'ignore', 'pipe'] });
  const server = { proc, dir, base: `http://127.0.0.1:${port}`, headers: null, errText: '' };
  proc.stderr.on('data', (d) => { server.errText += d; });
  try {
    await waitUp(`${server.base}/api/v1/auth/me`, proc);
    const login = await fetch(`${server.base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
    if (!login.ok) throw new Error(`login failed: ${login.status} ${await login.text()}`);
    const { token } = await login.json();
    server.headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  } catch (e) {
    await stopServer(server);
    throw new Error(`${e.message}\n${server.errText.slice(-2000)}`);
  }
  return server;
}
async function stopServer(server) {
  if (!server) return;
  await stop(server.proc);
  rmSync(server.dir, { recursive: true, force: true });
}
// One push; returns the number of events the server accepted.
async function pushTo(server, body) {
  const res = await post(server.base, '/api/v1/sync/push', server.headers, body);
  if (!res.ok) throw new Error(`push failed: ${res.status} ${res.text}`);
  const j = JSON.parse(res.text);
  if (j.rejected.length) throw new Error(`push rejected ${j.rejected.length}: ${JSON.stringify(j.rejected[0])}`);
  return j.accepted;
}

async function closeloop() {
  if (!serverBin || !existsSync(serverBin)) { skipped.push({ scenario: 'ingest/pull/rss', system: 'closeloop', reason: 'skipped: server not built' }); return; }
  const password = 'bench-admin-password-1';
  const ingest = [], ingestRows = [], pull = [], serverCpu = [], together = [], togetherCpu = [];
  let rssSamples = null, pulled = 0;
  // Pushed events must be authored by the signed-in user: the same events, author = admin.
  const bodies = batches.map((b) => Buffer.from(JSON.stringify({ protocol: 1, device: b.device, events: b.events.map((e) => ({ ...e, author: 'admin' })) })));
  for (let r = 0; r < runs; r++) {
    let server = null;
    try {
      server = await startCloseloop(password);
      const { proc, base, headers } = server;
      let accepted = 0;
      const cpu0 = cpuSeconds(proc.pid);
      ingest.push(await timeOnce(async () => {
        for (const body of bodies) accepted += await pushTo(server, body);
      }));
      serverCpu.push(cpuSeconds(proc.pid) - cpu0);
      if (accepted !== n) throw new Error(`accepted ${accepted} of ${n}`);
      // The server writes case rows behind the events (docs/architecture.md): the first case list
      // after the ingest waits for the rest of them. Ingest + that wait = every row written.
      const catchup = await timeOnce(async () => {
        const res = await fetch(`${base}/api/v1/cases?limit=1`, { headers });
        if (!res.ok) throw new Error(`case list failed: ${res.status} ${await res.text()}`);
        await res.json();
      });
      ingestRows.push({ wall: ingest.at(-1).wall + catchup.wall, cpu: ingest.at(-1).cpu + catchup.cpu });
      const afterIngest = rssKb(proc.pid).rss;
      const pullAll = async () => {
        let after = 0, count = 0;
        for (;;) {
          const res = await fetch(`${base}/api/v1/sync/pull?after=${after}&limit=${page}`, { headers });
          if (!res.ok) throw new Error(`pull failed: ${res.status} ${await res.text()}`);
          const j = await res.json();
          count += j.events.length;
          after = j.cursor;
          if (!j.more) break;
        }
        return count;
      };
      pull.push(await timeOnce(async () => { pulled = await pullAll(); }));
      if (r === 0) {
        const atPull = rssKb(proc.pid);
        const s = { after_ingest: afterIngest, after_pull: atPull.rss, after_pull_anon: atPull.anon, after_pull_file: atPull.file, series: [] };
        for (let k = 0; k < repeatPulls; k++) { await pullAll(); s.series.push(rssKb(proc.pid).rss); }
        s.after_repeats = s.series.at(-1) ?? s.after_pull;
        s.hwm = rssKb(proc.pid).hwm;
        rssSamples = s;
      }
      await stopServer(server);
      server = null;
      if (atOnce > 0) {
        const once = await ingestAtOnce(() => startCloseloop(password), pushTo, bodies);
        if (once.accepted !== n) throw new Error(`accepted ${once.accepted} of ${n} (devices at once)`);
        together.push(once.t);
        togetherCpu.push(once.cpu);
      }
    } catch (e) {
      process.stderr.write(`closeloop HTTP run failed: ${e.message}\n${(server?.errText ?? '').slice(-2000)}\n`);
      skipped.push({ scenario: 'ingest/pull/rss', system: 'closeloop', reason: `failed: ${e.message}` });
      await stopServer(server);
      return;
    }
  }
  figures.push(figure('ingest', 'closeloop', `HTTP push, batches of ${batch}`, 'events/s', ingest, n, true, `${batches.length} pushes, keep-alive, one client; server CPU ${serverCpu.map((x) => x.toFixed(2)).join('/')} s`));
  figures.push(figure('ingest', 'closeloop', 'HTTP push + every case row written', 'events/s', ingestRows, n, true, 'until the first case list after the ingest answers'));
  // One push at a time, the client waits while the server works: the ingest's wall time is at
  // least the client's own CPU time (encoding the requests on the socket, reading the answers).
  figures.push(figure('ingest', 'bench client', 'ceiling of one client pushing in turn: events per client CPU second', 'events/s',
    ingest.map((t) => ({ wall: t.cpu, cpu: t.cpu })), n, true,
    'the same closeloop pushes; node http, keep-alive; no server could make this client faster, one push at a time'));
  if (together.length) {
    figures.push(figure('ingest', 'closeloop', `${atOnce} devices at once: HTTP push, batches of ${batch}`, 'events/s', together, n, true,
      `${atOnce} connections, each sending its devices' batches in order; server CPU ${togetherCpu.map((x) => x.toFixed(2)).join('/')} s`));
  }
  figures.push(figure('pull', 'closeloop', `HTTP initial pull, pages of ${page}`, 'events/s', pull, pulled, true, `${pulled} events incl. ${pulled - n} server ref.assigned events`));
  figures.push(figure('pull', 'closeloop', 'HTTP initial pull (time)', 's', pull, pulled, false, ''));
  summarizeRss('closeloop', rssSamples);
}

// ---- pouchdb-server -------------------------------------------------------------------------
// A pouchdb-server on a new folder with an empty database `bench`.
async function startPouch(bin) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pouch-bench-'));
  writeFileSync(path.join(dir, 'config.json'), '{}');
  const port = await freePort();
  const proc = spawn(process.execPath, [bin, '--port', String(port), '--dir', dir, '--config', path.join(dir, 'config.json'), '--no-stdout-logs'],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const server = { proc, dir, base: `http://127.0.0.1:${port}`, headers: { 'content-type': 'application/json' }, errText: '' };
  proc.stderr.on('data', (d) => { server.errText += d; });
  try {
    await waitUp(`${server.base}/`, proc);
    const mk = await fetch(`${server.base}/bench`, { method: 'PUT' });
    if (!mk.ok) throw new Error(`PUT /bench: ${mk.status}`);
  } catch (e) {
    await stopServer(server);
    throw new Error(`${e.message}\n${server.errText.slice(-2000)}`);
  }
  return server;
}
// One _bulk_docs; returns the number of documents written (any error throws).
async function bulkDocs(server, body) {
  const res = await post(server.base, '/bench/_bulk_docs', server.headers, body);
  if (!res.ok) throw new Error(`_bulk_docs: ${res.status} ${res.text}`);
  const j = JSON.parse(res.text);
  if (j.some((x) => x.error)) throw new Error(`_bulk_docs error ${JSON.stringify(j.find((x) => x.error))}`);
  return j.length;
}

async function pouchdb() {
  const bin = path.join(benchDir, 'peers', 'node_modules', 'pouchdb-server', 'bin', 'pouchdb-server');
  if (!existsSync(bin)) { skipped.push({ scenario: 'ingest/pull/rss', system: 'pouchdb-server', reason: 'skipped: not installed' }); return; }
  const ingest = [], pull = [], together = [];
  let rssSamples = null, pulled = 0;
  // CouchDB documents: the same event fields, _id = event id (new_edits default: the server assigns revs).
  const bodies = batches.map((b) => Buffer.from(JSON.stringify({ docs: b.events.map((e) => ({ _id: e.id, ...e })) })));
  for (let r = 0; r < runs; r++) {
    let server = null;
    try {
      server = await startPouch(bin);
      const { proc, base } = server;
      ingest.push(await timeOnce(async () => { for (const body of bodies) await bulkDocs(server, body); }));
      const afterIngest = rssKb(proc.pid).rss;
      const pullAll = async () => {
        let since = 0, count = 0;
        for (;;) {
          const res = await fetch(`${base}/bench/_changes?include_docs=true&limit=${page}&since=${encodeURIComponent(since)}`);
          if (!res.ok) throw new Error(`_changes: ${res.status}`);
          const j = await res.json();
          count += j.results.length;
          since = j.last_seq;
          if (j.results.length < page) break;
        }
        return count;
      };
      pull.push(await timeOnce(async () => { pulled = await pullAll(); }));
      if (pulled !== n) throw new Error(`pulled ${pulled} of ${n}`);
      if (r === 0) {
        const atPull = rssKb(proc.pid);
        const s = { after_ingest: afterIngest, after_pull: atPull.rss, after_pull_anon: atPull.anon, after_pull_file: atPull.file, series: [] };
        for (let k = 0; k < repeatPulls; k++) { await pullAll(); s.series.push(rssKb(proc.pid).rss); }
        s.after_repeats = s.series.at(-1) ?? s.after_pull;
        s.hwm = rssKb(proc.pid).hwm;
        rssSamples = s;
      }
      await stopServer(server);
      server = null;
      if (atOnce > 0) {
        const once = await ingestAtOnce(() => startPouch(bin), bulkDocs, bodies);
        if (once.accepted !== n) throw new Error(`accepted ${once.accepted} of ${n} (devices at once)`);
        together.push(once.t);
      }
    } catch (e) {
      process.stderr.write(`pouchdb-server run failed: ${e.message}\n${(server?.errText ?? '').slice(-2000)}\n`);
      skipped.push({ scenario: 'ingest/pull/rss', system: 'pouchdb-server', reason: `failed: ${e.message}` });
      await stopServer(server);
      return;
    }
  }
  figures.push(figure('ingest', 'pouchdb-server', `_bulk_docs, batches of ${batch}`, 'events/s', ingest, n, true, 'leveldb on disk, same batches'));
  if (together.length) {
    figures.push(figure('ingest', 'pouchdb-server', `${atOnce} devices at once: _bulk_docs, batches of ${batch}`, 'events/s', together, n, true,
      `${atOnce} connections, each sending its devices' batches in order`));
  }
  figures.push(figure('pull', 'pouchdb-server', `_changes?include_docs=true, pages of ${page}`, 'events/s', pull, pulled, true, ''));
  figures.push(figure('pull', 'pouchdb-server', '_changes initial pull (time)', 's', pull, pulled, false, ''));
  summarizeRss('pouchdb-server', rssSamples);
}

if (only.includes('closeloop')) await closeloop();
if (only.includes('pouchdb')) await pouchdb();
process.stdout.write(JSON.stringify({ figures, skipped }) + '\n');
