// Merge scenario for the CRDT peers (@automerge/automerge, yjs) on the same split closeloop uses:
// replica A = base + merge_a, replica B = base + merge_b (files from closeloop_bench_scenarios).
// Every closeloop event becomes one change/transaction on a document holding all cases:
//   cases: map caseId -> { scalar fields (LWW registers), notes/surveys/contacts/escalations/
//   follow_ups: lists (append) }  — the same state closeloop's fold produces.
// Timed: merging B into A (the CRDT's own merge), and merge + materialising every case as plain
// JSON (the equivalent of closeloop's fold of all cases). Building the replicas is not timed.
//   node crdt_merge.mjs --work DIR --runs R [--only automerge,yjs]  -> JSON figures on stdout
import { readNdjson, figure, timeOnce, peerRequire, arg } from './common.mjs';
import path from 'node:path';

const work = arg('work', 'results/work');
const runs = Number(arg('runs', '5'));
const only = (arg('only', 'automerge,yjs')).split(',');
const base = readNdjson(path.join(work, 'merge_base.ndjson'));
const onlyA = readNdjson(path.join(work, 'merge_a.ndjson'));
const onlyB = readNdjson(path.join(work, 'merge_b.ndjson'));
const n = 2 * base.length + onlyA.length + onlyB.length;
const note = `|A|=${base.length + onlyA.length} |B|=${base.length + onlyB.length} shared=${base.length}`;
const figures = [];
const LISTS = { 'note.added': 'notes', 'contact.logged': 'contacts', 'survey.recorded': 'surveys', 'escalated': 'escalations', 'follow_up.done': 'follow_ups', 'attachment.added': 'attachments' };

// Plain description of what one event does to its case: [scalars to set, list to append to].
function effect(e) {
  const b = e.body;
  const set = { updated_at: e.hlc };
  let list = null;
  switch (e.type) {
    case 'case.created':
      Object.assign(set, { kind: b.kind, team: e.team, title: b.title ?? '', description: b.description ?? '', category: b.category ?? '',
        priority: b.priority ?? 'normal', client_name: b.client?.name ?? '', client_contact: b.client?.contact ?? '',
        channel: b.client?.channel ?? '', status: 'new', created_at: e.hlc, created_by: e.author, service_completed_at: b.service_completed_at ?? 0 });
      break;
    case 'field.set': set[b.field] = b.value; break;
    case 'status.changed': set.status = b.to; break;
    case 'assigned': set.assignee = b.assignee; break;
    case 'resolved': set.status = 'resolved'; set.resolution = b.resolution; set.resolved_at = e.hlc; break;
    default: break;
  }
  if (LISTS[e.type]) list = [LISTS[e.type], { event: e.id, author: e.author, at: e.hlc, ...b }];
  if (e.type === 'escalated') set.escalated = true;
  return { set, list };
}

if (only.includes('yjs')) {
  const Y = peerRequire('yjs');
  const apply = (doc, events) => {
    const cases = doc.getMap('cases');
    for (const e of events) {
      doc.transact(() => {
        let m = cases.get(e.case);
        if (!m) {
          m = new Y.Map();
          for (const l of Object.values(LISTS)) m.set(l, new Y.Array());
          cases.set(e.case, m);
        }
        const { set, list } = effect(e);
        for (const [k, v] of Object.entries(set)) m.set(k, v);
        if (list) m.get(list[0]).push([list[1]]);
      });
    }
  };
  const baseDoc = new Y.Doc({ gc: true });
  baseDoc.clientID = 1;
  apply(baseDoc, base);
  const baseUpd = Y.encodeStateAsUpdate(baseDoc);
  const mk = (id, evs) => { const d = new Y.Doc(); d.clientID = id; Y.applyUpdate(d, baseUpd); apply(d, evs); return Y.encodeStateAsUpdate(d); };
  const updA = mk(2, onlyA), updB = mk(3, onlyB);
  const merge = [], mergeMat = [];
  let cases = 0;
  for (let r = 0; r < runs; r++) {
    const a = new Y.Doc();
    Y.applyUpdate(a, updA);
    merge.push(await timeOnce(() => Y.applyUpdate(a, updB)));
    const a2 = new Y.Doc();
    Y.applyUpdate(a2, updA);
    mergeMat.push(await timeOnce(() => { Y.applyUpdate(a2, updB); cases = Object.keys(a2.getMap('cases').toJSON()).length; }));
  }
  figures.push(figure('merge', 'yjs', 'merge (applyUpdate of B into A)', 'events/s', merge, n, true, note + `, update B ${updB.length} bytes`));
  figures.push(figure('merge', 'yjs', 'merge+materialise all cases', 'events/s', mergeMat, n, true, note + `, ${cases} cases`));
  figures.push(figure('merge', 'yjs', 'merge+materialise (time)', 'ms', mergeMat, n, false, note, 1000));
}

if (only.includes('automerge')) {
  const A = peerRequire('@automerge/automerge');
  // Building one change per event is very slow in Automerge (minutes at 100k events), so the
  // replicas are built with `amBatch` events per change. Fewer, larger changes make the timed
  // merge cheaper for Automerge, so this favours the peer.
  const amBatch = Number(arg('automerge-batch', '100'));
  const apply = (doc, events) => {
    for (let i = 0; i < events.length; i += amBatch) {
      doc = A.change(doc, (d) => {
        for (const e of events.slice(i, i + amBatch)) {
          if (!d.cases[e.case]) { const c = {}; for (const l of Object.values(LISTS)) c[l] = []; d.cases[e.case] = c; }
          const c = d.cases[e.case];
          const { set, list } = effect(e);
          for (const [k, v] of Object.entries(set)) c[k] = v;
          if (list) c[list[0]].push(list[1]);
        }
      });
    }
    return doc;
  };
  let baseDoc = A.init({ actor: '0001' });
  baseDoc = A.change(baseDoc, (d) => { d.cases = {}; });  // one root map, created once in the shared base
  const t0 = Date.now();
  baseDoc = apply(baseDoc, base);
  const docA = apply(A.clone(baseDoc, { actor: '000a' }), onlyA);
  const docB = apply(A.clone(baseDoc, { actor: '000b' }), onlyB);
  process.stderr.write(`  (automerge: built replicas in ${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  const savedA = A.save(docA), savedB = A.save(docB);
  const merge = [], mergeInc = [], mergeMat = [];
  let cases = 0;
  const amRuns = Math.min(runs, Number(arg('automerge-runs', '3')));
  for (let r = 0; r < amRuns; r++) {
    let a = A.load(savedA); const b = A.load(savedB);
    merge.push(await timeOnce(() => { a = A.merge(a, b); }));
    let a1 = A.load(savedA);
    mergeInc.push(await timeOnce(() => { a1 = A.loadIncremental(a1, savedB); }));
    let a2 = A.load(savedA);
    mergeMat.push(await timeOnce(() => { a2 = A.loadIncremental(a2, savedB); cases = Object.keys(A.toJS(a2).cases).length; }));
  }
  const amNote = note + `, ${amBatch} events per change, save(B) ${savedB.length} bytes`;
  figures.push(figure('merge', 'automerge', 'merge (loadIncremental(A, save(B)))', 'events/s', mergeInc, n, true, amNote));
  figures.push(figure('merge', 'automerge', 'merge (A.merge(A, B))', 'events/s', merge, n, true, amNote));
  figures.push(figure('merge', 'automerge', 'merge+materialise all cases', 'events/s', mergeMat, n, true, amNote + `, ${cases} cases`));
  figures.push(figure('merge', 'automerge', 'merge+materialise (time)', 'ms', mergeMat, n, false, amNote, 1000));
}
process.stdout.write(JSON.stringify({ figures }) + '\n');
