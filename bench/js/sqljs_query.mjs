// Inbox query peer: sql.js (SQLite compiled to wasm) on the same cases table closeloop queries.
// Opens the query_<cases>.db files closeloop_bench_scenarios wrote and runs, for each inbox query,
// the SQL a sql.js user would write for it (first page of 50), median of many runs. For the filters
// and sorts that is exactly the SQL Store::query_cases issues; for text search closeloop does more
// (a walk of the first rows in order, then a trigram index on devices: see docs/architecture.md),
// while the peer scans every row's search text with instr(), as closeloop did before.
//   node sqljs_query.mjs --work DIR --runs R
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { figure, timeOnce, peerRequire, arg } from './common.mjs';

const work = arg('work', 'results/work');
const runs = Math.max(21, Number(arg('runs', '5')) * 4);
const now = 1704067200000 + 400 * 24 * 3600 * 1000;
const cols = 'SELECT id, reference, kind, team, status, priority, category, assignee, client_name, title, description, created_at,' +
  ' updated_at, next_due, closed_at, overdue_steps, needs_escalation, escalated, legal_hold, conflicts FROM cases';
const due = 'CASE WHEN next_due = 0 THEN 1 ELSE 0 END, next_due';
const queries = [
  ['team open by due', `${cols} WHERE status NOT IN ('resolved','closed') AND team = ? ORDER BY ${due} ASC, id ASC LIMIT 50 OFFSET 0`, ['team-3']],
  ['all open by updated', `${cols} WHERE status NOT IN ('resolved','closed') ORDER BY updated_at DESC, id DESC LIMIT 50 OFFSET 0`, []],
  ['text search', `${cols} WHERE instr(search, ?) > 0 ORDER BY ${due} ASC, id ASC LIMIT 50 OFFSET 0`, ['refund']],
  // a rare term: the client name of the first case by id (as bench/scenarios.cpp rare_term())
  ['text search, one client', `${cols} WHERE instr(search, ?) > 0 ORDER BY ${due} ASC, id ASC LIMIT 50 OFFSET 0`, null],
];
const initSqlJs = peerRequire('sql.js');
const SQL = await initSqlJs();
const figures = [];
const files = readdirSync(work).filter((f) => /^query_\d+\.db$/.test(f)).sort((a, b) => Number(a.match(/\d+/)[0]) - Number(b.match(/\d+/)[0]));
for (const f of files) {
  const cases = Number(f.match(/\d+/)[0]);
  const db = new SQL.Database(readFileSync(path.join(work, f)));
  const rare = db.exec('SELECT lower(client_name) FROM cases ORDER BY id LIMIT 1')[0].values[0][0];
  for (const [name, sql, p] of queries) {
    const params = p || [rare];
    const st = db.prepare(sql);
    const once = () => { st.bind(params); let k = 0; while (st.step()) { st.get(); k++; } st.reset(); if (!k) throw new Error(`no rows: ${name}`); };
    once();
    const t = [];
    for (let r = 0; r < runs; r++) t.push(await timeOnce(once));
    st.free();
    figures.push(figure('query', 'sql.js', `inbox ${name} @${cases / 1000}k cases`, 'ms', t, 1, false, 'wasm, same table and SQL', 1000));
  }
  db.close();
}
process.stdout.write(JSON.stringify({ figures }) + '\n');
