// Shared helpers for the node peer scripts. Peers are installed by scripts/bench.sh into
// bench/peers/node_modules (git-ignored); they are loaded from there.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const peerRequire = createRequire(path.join(benchDir, 'peers', 'package.json'));

export function readNdjson(file) {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
}

export function median(v) {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? 0 : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

export async function timeOnce(fn) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6 };
}

// Same shape as closeloop_bench_scenarios' figures. rate: value = n / wall; else wall * scale.
export function figure(scenario, system, metric, unit, runs, n, rate, note = '', scale = 1) {
  const vals = runs.map((t) => (rate ? n / t.wall : t.wall * scale));
  const f = {
    scenario, system, metric, unit, value: median(vals), runs: vals,
    wall_s: median(runs.map((t) => t.wall)), cpu_s: median(runs.map((t) => t.cpu)), n, note,
  };
  process.stderr.write(`  ${scenario.padEnd(12)} ${system.padEnd(22)} ${metric.padEnd(40)} ${f.value.toFixed(1).padStart(12)} ${unit} (wall ${f.wall_s.toFixed(3)}s, cpu ${f.cpu_s.toFixed(3)}s)\n`);
  return f;
}

export function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
