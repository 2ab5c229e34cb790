// End to end against the real server (issue 5, "Tests (real browser)"): sign in, work offline,
// survive reload and browser restart, sync to canonical FF references, a colleague on a second
// profile sees the cases, concurrent offline edits merge with a visible conflict, and a case purged
// by an admin disappears from the devices after sync.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launch, openApp, state, call, click, fill, shot, waitSaved, waitFor, tempProfile, frames,
  signIn, waitSynced, cases, caseJson, loaderGone, widget, newCase } from './lib.mjs';

const FF = /^FF-\d{4}-\d{4}$/;
const PW = { alice: 'alice-password-1', bob: 'bob-password-2' };
let srv;
let adminToken;

before(async () => {
  srv = await startServer({
    users: [
      { name: 'alice', role: 'agent', teams: ['north'], password: PW.alice },
      { name: 'bob', role: 'agent', teams: ['north'], password: PW.bob },
    ],
  });
  adminToken = srv.adminToken;
});

after(async () => { if (srv) await srv.stop(); });

async function reopen(page) {
  await page.waitForFunction(() => window.closeloopReady === true && window.Module && Module.testState && Module.testState(),
    null, { timeout: 30000 });
  await loaderGone(page);
  await frames(page, 3);
}

async function editDescription(page, caseId, text) {
  await call(page, 'open', caseId);
  await frames(page, 3);
  await click(page, 'case.edit');
  await fill(page, 'case.edit.description', text);
  await click(page, 'case.edit.save');
  await waitFor(page, (s) => !s.widgets['case.edit.save'], 'edit form closed');
  await waitSaved(page);
}

async function syncNow(page) {
  const before = (await state(page)).last_sync;
  await call(page, 'sync');
  return waitSynced(page, before);
}

test('sync with the real server: offline work, FF references, colleague, conflict, purge', async () => {
  const t0 = Date.now();
  const lap = (what) => console.log(`  ${((Date.now() - t0) / 1000).toFixed(1)}s  ${what}`);

  // The admin sets a holiday in the business calendar: the device must pick it up via /settings.
  const sla = await srv.api('GET', '/api/v1/admin/sla', undefined, adminToken);
  assert.equal(sla.status, 200, sla.text);
  const calendar = { ...sla.json.calendar, holidays: ['2031-12-24'] };
  const put = await srv.api('PUT', '/api/v1/admin/sla', { calendar }, adminToken);
  assert.equal(put.status, 200, put.text);

  // Static files come from the server: wasm type and no-cache service worker.
  const wasm = await fetch(new URL('closeloop.wasm', srv.url));
  assert.equal(wasm.headers.get('content-type'), 'application/wasm');
  const sw = await fetch(new URL('sw.js', srv.url));
  assert.equal(sw.headers.get('cache-control'), 'no-cache');

  const profileA = tempProfile('alice');
  const profileB = tempProfile('bob');
  let A = await launch(profileA);
  let B;
  try {
    // ---- sign in (wrong password first: the server's error shape reaches the user) ----
    await openApp(A.page, srv.url);
    await shot(A.page, 'sync-01-login');
    await fill(A.page, 'login.username', 'alice', { keys: true });  // physical keyboard path
    await fill(A.page, 'login.password', 'wrong-password', { keys: true });
    await click(A.page, 'login.submit');
    let s = await waitFor(A.page, (x) => x.login_error !== '', 'login error');
    assert.match(s.login_error, /Wrong user name or password/);
    s = await signIn(A.page, 'alice', PW.alice);
    assert.equal(s.user, 'alice');
    s = await waitSynced(A.page, 0);
    s = await waitFor(A.page, (x) => x.settings_at > 0 && x.holidays.includes('2031-12-24'), 'server SLA settings applied');
    lap('signed in, first sync, settings applied');

    // ---- offline: three cases, a survey, a note, an attachment ----
    await A.context.setOffline(true);
    await waitFor(A.page, (x) => !x.browser_online, 'offline detected');
    const people = [
      { client: 'Jane Smith', contact: 'jane@example.com', title: 'Boiler service follow-up', description: 'Annual boiler service done.' },
      { client: 'Omar Haddad', contact: 'omar@example.com', title: 'Window fitting aftercare', description: 'Three windows replaced.' },
      { client: 'Li Wei', contact: 'li.wei@example.com', title: 'Heat pump check', description: 'Heat pump commissioned.' },
    ];
    const ids = {};
    for (const p of people) ids[p.client] = await newCase(A.page, p);
    s = await state(A.page);
    assert.equal(s.cases, 3);
    assert.ok(Object.values(ids).every((id) => id && !FF.test(id)), 'provisional ids while offline');
    // Validation: an empty client name shows an inline message and creates nothing.
    await click(A.page, 'nav.new_case');
    await fill(A.page, 'new.client_name', '');
    await click(A.page, 'new.save');
    await waitFor(A.page, (x) => x.widgets['error.client_name'], 'inline validation message');
    await shot(A.page, 'sync-02-new-case-validation');
    assert.equal((await state(A.page)).cases, 3);

    const jane = ids['Jane Smith'];
    await call(A.page, 'open', jane);
    await frames(A.page, 3);
    await click(A.page, 'case.tab.survey');
    await click(A.page, 'case.survey.csat.4');
    await click(A.page, 'case.survey.nps.9');
    await fill(A.page, 'case.survey.comment', 'Friendly and quick');
    await click(A.page, 'case.survey.add');
    await click(A.page, 'case.tab.note');
    await fill(A.page, 'case.note.text', 'Client asked for a call next week');
    await click(A.page, 'case.note.add');
    await click(A.page, 'case.tab.attach');
    const chooser = A.page.waitForEvent('filechooser');
    await click(A.page, 'case.attach.pick');
    const attachment = Buffer.from('Service report for Jane Smith\n');
    await (await chooser).setFiles({ name: 'report.txt', mimeType: 'text/plain', buffer: attachment });
    await waitFor(A.page, (x) => x.uploads === 1, 'attachment queued for upload');
    await waitSaved(A.page);
    let c = await caseJson(A.page, jane);
    assert.equal(c.surveys.length, 1);
    assert.equal(c.notes.length, 1);
    assert.equal(c.attachments.length, 1);
    await shot(A.page, 'sync-03-case-offline');
    await click(A.page, 'nav.inbox');
    await frames(A.page, 3);
    await shot(A.page, 'sync-04-inbox-offline');
    const pending = (await state(A.page)).pending;
    assert.ok(pending >= 6, `events waiting to upload (${pending})`);
    lap('offline work done');

    // ---- reload while offline ----
    await A.page.reload();
    await reopen(A.page);
    s = await state(A.page);
    assert.equal(s.signed_in, true);
    assert.equal(s.cases, 3);
    assert.equal(s.pending, pending);
    c = await caseJson(A.page, jane);
    assert.equal(c.surveys[0].csat, 4);
    assert.equal(c.notes[0].text, 'Client asked for a call next week');
    lap('offline reload');

    // ---- close the browser, reopen the same profile (still offline) ----
    await A.context.close();
    A = await launch(profileA, { offline: true });
    await openApp(A.page, srv.url);
    s = await state(A.page);
    assert.equal(s.cases, 3);
    assert.equal(s.pending, pending);
    assert.equal(s.uploads, 1);
    assert.deepEqual((await cases(A.page)).map((x) => x.client).sort(), people.map((p) => p.client).sort());
    lap('browser restart offline');

    // ---- online: sync, canonical references ----
    const lastBefore = s.last_sync;
    await A.context.setOffline(false);
    s = await waitSynced(A.page, lastBefore);
    let rowsA = await cases(A.page);
    assert.equal(rowsA.length, 3);
    for (const r of rowsA) assert.match(r.reference, FF, `canonical reference for ${r.client}`);
    const refOf = Object.fromEntries(rowsA.map((r) => [r.client, r.reference]));
    // The attachment's bytes reached the server before its event.
    c = await caseJson(A.page, jane);
    const got = await fetch(new URL(`api/v1/attachments/${c.attachments[0].sha256}`, srv.url), { headers: { authorization: 'Bearer ' + adminToken } });
    assert.equal(got.status, 200);
    assert.equal(Buffer.from(await got.arrayBuffer()).toString(), attachment.toString());
    await click(A.page, 'nav.inbox');
    await frames(A.page, 3);
    await shot(A.page, 'sync-05-inbox-synced');
    lap('online sync: FF references, attachment uploaded');

    // ---- a colleague on another profile sees them ----
    B = await launch(profileB);
    await openApp(B.page, srv.url);
    await signIn(B.page, 'bob', PW.bob);
    await waitSynced(B.page, 0);
    const rowsB = await cases(B.page);
    assert.deepEqual(Object.fromEntries(rowsB.map((r) => [r.client, r.reference])), refOf);
    const janeB = await caseJson(B.page, refOf['Jane Smith']);
    assert.equal(janeB.surveys[0].nps, 9);
    assert.equal(janeB.notes[0].author, 'alice');
    lap('colleague sees the cases');

    // ---- both edit the same case offline ----
    const omar = ids['Omar Haddad'];
    await A.context.setOffline(true);
    await B.context.setOffline(true);
    await waitFor(A.page, (x) => !x.browser_online, 'A offline');
    await waitFor(B.page, (x) => !x.browser_online, 'B offline');
    await editDescription(A.page, omar, 'Alice: two windows need resealing.');
    await editDescription(B.page, refOf['Omar Haddad'], 'Bob: client happy, no further work.');
    let last = (await state(A.page)).last_sync;
    await A.context.setOffline(false);
    await waitSynced(A.page, last);
    last = (await state(B.page)).last_sync;
    await B.context.setOffline(false);
    await waitSynced(B.page, last);
    await syncNow(A.page);  // pulls Bob's edit
    const omarA = await caseJson(A.page, omar);
    const omarB = await caseJson(B.page, refOf['Omar Haddad']);
    assert.equal(omarA.description, omarB.description);
    assert.ok(['Alice: two windows need resealing.', 'Bob: client happy, no further work.'].includes(omarA.description));
    assert.ok(omarA.conflicts.length >= 1, 'conflict recorded');
    assert.deepEqual(omarA.conflicts, omarB.conflicts);
    const k = omarA.conflicts.find((x) => x.field === 'description');
    assert.ok(k, 'description conflict');
    assert.deepEqual([k.kept_author, k.other_author].sort(), ['alice', 'bob']);
    for (const side of [A, B]) {
      await call(side.page, 'open', omar);
      await frames(side.page, 3);
      const st = await state(side.page);
      assert.ok(st.widgets['case.conflict_badge'] && st.widgets['case.conflict.0'], 'conflict shown on the case');
    }
    await shot(A.page, 'sync-06-conflict-alice');
    await shot(B.page, 'sync-07-conflict-bob');
    lap('concurrent edit merged with conflict');

    // ---- purge: Li Wei's case is closed, then erased by an admin (GDPR Art. 17) ----
    const li = ids['Li Wei'];
    await call(A.page, 'open', li);
    await frames(A.page, 3);
    await click(A.page, 'case.to.closed');
    await waitSaved(A.page);
    assert.equal((await caseJson(A.page, li)).status, 'closed');
    await syncNow(A.page);
    const erase = await srv.api('POST', '/api/v1/admin/subjects/erase', { client: 'Li Wei' }, adminToken);
    assert.equal(erase.status, 200, erase.text);
    assert.equal(erase.json.erased.length, 1);
    await syncNow(A.page);
    await syncNow(B.page);
    for (const side of [A, B]) {
      const rows = await cases(side.page);
      assert.deepEqual(rows.map((r) => r.client).sort(), ['Jane Smith', 'Omar Haddad']);
      assert.equal(await call(side.page, 'case', li), 'null');
      assert.equal(await call(side.page, 'case', refOf['Li Wei']), 'null');
    }
    await frames(A.page, 3);
    await shot(A.page, 'sync-08-purged-case-view');
    await click(A.page, 'nav.inbox');
    await frames(A.page, 3);
    await shot(A.page, 'sync-09-inbox-after-purge');
    await click(A.page, 'nav.due');
    await frames(A.page, 3);
    await shot(A.page, 'sync-10-due');
    await click(A.page, 'nav.reports');
    await frames(A.page, 3);
    await shot(A.page, 'sync-11-reports');
    // Survives a reload too (the tombstone was applied to the stored data).
    await A.page.reload();
    await reopen(A.page);
    assert.equal((await state(A.page)).cases, 2);
    lap('purged case gone from both devices');

    // ---- refused by the server: Bob works offline, and meanwhile an admin moves him to another
    // team. His note on a north case is refused at the next sync: it stays on his device, and
    // the status bar says so and why (before, it only read "1 change waiting to upload").
    await B.context.setOffline(true);
    await waitFor(B.page, (x) => !x.browser_online, 'B offline');
    await call(B.page, 'open', refOf['Jane Smith']);
    await frames(B.page, 3);
    await click(B.page, 'case.tab.note');
    await fill(B.page, 'case.note.text', 'Written after the move');
    await click(B.page, 'case.note.add');
    await waitSaved(B.page);
    const move = await srv.api('PUT', '/api/v1/admin/users/bob', { teams: ['south'] }, adminToken);
    assert.equal(move.status, 200, move.text);
    last = (await state(B.page)).last_sync;
    await B.context.setOffline(false);
    s = await waitFor(B.page, (x) => x.sync_phase === 'idle' && x.last_sync > last, 'sync finished');
    assert.equal(s.pending, 1, 'the refused note stays on the device');
    assert.equal(s.refused.length, 1);
    assert.match(s.refused[0], /no write access to team 'north'/);
    const r = await widget(B.page, 'status.refused');
    await B.page.mouse.move(r.x + r.w / 2, r.y + r.h / 2);
    await frames(B.page, 3);
    await shot(B.page, 'sync-12-refused-change');
    lap('refused change reported');

    assert.deepEqual(A.page.errors.filter((e) => !/Failed to load resource|net::ERR_INTERNET_DISCONNECTED/.test(e)), []);
  } finally {
    await A.context.close().catch(() => {});
    if (B) await B.context.close().catch(() => {});
  }
});
