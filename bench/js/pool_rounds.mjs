// Pools the figures of several rounds of one benchmark into one figure each (issue 6).
//   node pool_rounds.mjs round1.json round2.json ... > pooled.json
// scripts/bench.sh runs the sql.js inbox query and closeloop's wasm query in alternating rounds,
// so a quiet or a busy minute of the machine falls on both rather than on one of them (their
// timings are a fraction of a millisecond). Figures are matched by scenario, system and metric;
// the pooled figure's runs are every round's runs, its value their median.
import { readFileSync } from 'node:fs';
import { median } from './common.mjs';

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: node pool_rounds.mjs ROUND.json...\n');
  process.exit(2);
}
const pooled = new Map();
for (const f of files) {
  let doc;
  try {
    doc = JSON.parse(readFileSync(f, 'utf8'));
  } catch (e) {
    process.stderr.write(`pool_rounds: ${f}: ${e.message}\n`);
    process.exit(1);
  }
  for (const fig of doc.figures || []) {
    const key = `${fig.scenario}\u0000${fig.system}\u0000${fig.metric}`;
    const p = pooled.get(key);
    if (!p) {
      pooled.set(key, { ...fig, runs: [...fig.runs], walls: [fig.wall_s], cpus: [fig.cpu_s], rounds: 1 });
    } else {
      p.runs.push(...fig.runs);
      p.walls.push(fig.wall_s);
      p.cpus.push(fig.cpu_s);
      p.rounds++;
    }
  }
}
const figures = [];
for (const p of pooled.values()) {
  const { walls, cpus, rounds, ...fig } = p;
  fig.value = median(fig.runs);
  fig.wall_s = median(walls);
  fig.cpu_s = median(cpus);
  if (rounds > 1) fig.note = `${fig.note}; ${rounds} alternating rounds pooled`;
  figures.push(fig);
}
process.stdout.write(JSON.stringify({ figures }) + '\n');
