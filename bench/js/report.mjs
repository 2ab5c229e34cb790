// Combines the figure files into bench/results/latest.json and latest.md.
//   node report.mjs --out DIR --meta '{"size":"default",...}' part1.json part2.json ...
// Ratio = closeloop speed / peer speed (>1: closeloop is faster): for rates closeloop/peer, for
// times peer/closeloop.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { arg } from './common.mjs';

const out = arg('out', 'results');
const meta = JSON.parse(arg('meta', '{}'));
const parts = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !(all[i - 1] ?? '').startsWith('--'));
const figures = [], skipped = [...(meta.skipped ?? [])];
for (const p of parts) {
  if (!existsSync(p)) continue;
  const text = readFileSync(p, 'utf8').trim();
  if (!text) continue;
  const j = JSON.parse(text.split('\n').at(-1));
  if (j.meta) Object.assign(meta, { data: j.meta });
  figures.push(...(j.figures ?? []));
  skipped.push(...(j.skipped ?? []));
}
const find = (scenario, system, metric) => figures.find((f) => f.scenario === scenario && f.system === system && f.metric.startsWith(metric));
const rate = (f) => f.unit.endsWith('/s');
const ratio = (cl, peer) => (rate(cl) ? cl.value / peer.value : peer.value / cl.value);

// {label, closeloop figure, peer figure (null: an absolute bound only), ratio, target ratio (or null: information), target text, absolute bound on closeloop's value (or null)}
const C = [];
const cmp = (label, cl, peer, target, text, max = null) => { if (cl && peer) C.push({ label, cl, peer, ratio: ratio(cl, peer), target, text, max }); };
cmp('ingest over HTTP vs pouchdb-server _bulk_docs', find('ingest', 'closeloop', 'HTTP push'), find('ingest', 'pouchdb-server', '_bulk_docs'), 5, '≥ 5×');
cmp('ingest + every case row written vs pouchdb-server _bulk_docs (information: pouchdb builds no views here)', find('ingest', 'closeloop', 'HTTP push + every case row'), find('ingest', 'pouchdb-server', '_bulk_docs'), null, 'information');
const atOnce = (system) => figures.find((f) => f.scenario === 'ingest' && f.system === system && f.metric.includes('devices at once'));
cmp('ingest, devices pushing at once, vs pouchdb-server the same way (information: the rows above send one push at a time)', atOnce('closeloop'), atOnce('pouchdb-server'), null, 'information');
cmp('ingest over HTTP vs raw SQLite inserts (limit)', find('ingest', 'closeloop', 'HTTP push'), find('insert', 'raw SQLite', 'INSERT same rows (limit)'), 0.5, '≥ 50 % of the limit');
cmp('the bench client\'s own ceiling, one push at a time (events per client CPU second), vs raw SQLite inserts (information: what the row above could reach with a server taking no time)', find('ingest', 'bench client', 'ceiling of one client'), find('insert', 'raw SQLite', 'INSERT same rows (limit)'), null, 'information');
cmp('Store insert (in process) vs raw SQLite inserts', find('insert', 'closeloop', 'Store::apply_events'), find('insert', 'raw SQLite', 'INSERT same rows (limit)'), 0.5, '≥ 50 % of the limit');
cmp('Store insert (in process) vs raw SQLite inserts into closeloop\'s events table and indexes (information: what the indexes cost)', find('insert', 'closeloop', 'Store::apply_events'), find('insert', 'raw SQLite', 'INSERT same rows, closeloop'), null, 'information');
cmp('Store insert (in process) vs raw SQLite writing everything closeloop stores: events, their indexes and the final case rows (information: closeloop\'s own cost over SQLite\'s)', find('insert', 'closeloop', 'Store::apply_events'), find('insert', 'raw SQLite', "INSERT same rows, closeloop's event indexes + its case rows"), null, 'information');
cmp('Store insert (in process) vs raw SQLite inserts on closeloop\'s gathering VFS (information: the limit runs on SQLite\'s own VFS; this is what closeloop\'s VFS alone does for it)', find('insert', 'closeloop', 'Store::apply_events'), find('insert', 'raw SQLite', "INSERT same rows on closeloop's gathering VFS"), null, 'information');
cmp('initial pull over HTTP vs pouchdb-server _changes', find('pull', 'closeloop', 'HTTP initial pull, pages'), find('pull', 'pouchdb-server', '_changes?include_docs'), 5, '≥ 5× (and < 2 s)');
for (const peer of ['automerge', 'yjs']) {
  cmp(`merge+fold in memory vs ${peer} merge+materialise`, find('merge', 'closeloop', 'merge+fold in memory'), find('merge', peer, 'merge+materialise all'), 10, '≥ 10×');
  // The peers merge in memory; the like-for-like figure is closeloop's in-memory merge above.
  // Merging into the durable store also writes every event and case row to SQLite with fsync.
  cmp(`merge into durable Store vs ${peer} merge+materialise (information: disk vs the peer's memory)`, find('merge', 'closeloop', 'merge into Store (SQLite'), find('merge', peer, 'merge+materialise all'), null, 'information');
}
cmp('retention sweep vs raw SQLite DELETE', find('retention', 'closeloop', 'SyncServer'), find('retention', 'raw SQLite', 'DELETE'), 0.5, '≥ 50 % of the limit');
// Inbox query: the issue's target is for closeloop's wasm build (bench/wasm_query.cpp) against the
// wasm peer; the native build's figures are listed for information (no target).
for (const f of figures.filter((x) => x.scenario === 'query' && x.system === 'closeloop (wasm)')) {
  cmp(`${f.metric}: closeloop (wasm) vs sql.js`, f, find('query', 'sql.js', f.metric), 0.95, '≤ 50 ms and not slower than sql.js (5 % noise band)', 50);
}
for (const f of figures.filter((x) => x.scenario === 'query' && x.system === 'closeloop')) {
  cmp(`${f.metric}: closeloop native vs sql.js (information)`, f, find('query', 'sql.js', f.metric), null, 'information (the target is for the wasm build)');
}
// Client cold start: absolute targets, no peer.
const bound = (label, cl, max, text) => { if (cl) C.push({ label, cl, peer: null, ratio: null, target: null, text, max }); };
bound('client cold start: first frame, new profile, loopback', find('coldstart', 'closeloop', 'first frame, cold'), 1500, 'first frame ≤ 1.5 s');
bound('client warm start: first frame after reload (service worker)', find('coldstart', 'closeloop', 'first frame, warm'), null, 'information');
bound('client download: wasm + JS gzipped', find('coldstart', 'closeloop', 'wasm + JS gzip'), 1.5, 'wasm + JS gz ≤ 1.5 MB');

const fmt = (v) => (v >= 1000 ? Math.round(v).toLocaleString('en-US') : v >= 10 ? v.toFixed(1) : v.toFixed(2));
let md = `# closeloop benchmarks — ${meta.size ?? ''} (${meta.data ? `${meta.data.cases} cases / ${meta.data.events} events, seed ${meta.data.seed}` : ''})\n\n`;
md += `Measured ${meta.date ?? ''} on ${meta.host ?? ''}; load average at start ${meta.loadavg ?? '?'}. Every figure is the median of the runs listed. `;
md += `Ratio = closeloop speed / peer speed (> 1 means closeloop is faster).\n\n`;
md += `## Ratios and targets (issue 6)\n\n| comparison | closeloop | peer | ratio | target | met |\n|---|---|---|---|---|---|\n`;
for (const c of C) {
  const checked = c.target != null || (c.peer == null && c.max != null);
  const met = !checked ? '' : (c.target == null || c.ratio >= c.target) && (c.max == null || c.cl.value <= c.max) ? 'yes' : '**no**';
  const peer = c.peer ? `${fmt(c.peer.value)} ${c.peer.unit}` : '—', ratio = c.ratio != null ? `${c.ratio.toFixed(2)}×` : '—';
  md += `| ${c.label} | ${fmt(c.cl.value)} ${c.cl.unit} | ${peer} | ${ratio} | ${c.text} | ${met} |\n`;
}
const pullT = find('pull', 'closeloop', 'HTTP initial pull (time)');
if (pullT) md += `\nInitial pull over HTTP: ${pullT.value.toFixed(2)} s (target < 2 s: ${pullT.value < 2 ? 'yes' : '**no**'}).\n`;
md += `\n## All figures\n\n| scenario | system | metric | median | unit | runs | wall s | cpu s | note |\n|---|---|---|---|---|---|---|---|---|\n`;
for (const f of figures) md += `| ${f.scenario} | ${f.system} | ${f.metric} | ${fmt(f.value)} | ${f.unit} | ${f.runs.map(fmt).join(' / ')} | ${f.wall_s != null ? f.wall_s.toFixed(3) : ''} | ${f.cpu_s != null ? f.cpu_s.toFixed(3) : ''} | ${f.note ?? ''} |\n`;
if (skipped.length) { md += `\n## Skipped\n\n`; for (const s of skipped) md += `- ${s.scenario} (${s.system}): ${s.reason}\n`; }
writeFileSync(path.join(out, 'latest.json'), JSON.stringify({ meta, figures, comparisons: C.map((c) => ({ label: c.label, closeloop: c.cl.value, peer: c.peer ? c.peer.value : null, unit: c.cl.unit, ratio: c.ratio, target: c.target, max: c.max })), skipped }, null, 2) + '\n');
writeFileSync(path.join(out, 'latest.md'), md);
process.stderr.write(md);
