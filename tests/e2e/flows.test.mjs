// User flows found by a review, against the real server: a session that ends on the server while
// the device holds unsynced work, the sign-out dialog's Cancel, characters above U+FFFF, the case
// editor's validation, the case screen at 1024 and 768 pixels wide, and the admin's retention editor.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launch, openApp, state, call, click, fill, shot, waitSaved, waitFor, tempProfile, frames,
  signIn, waitSynced, caseJson, widget, loaderGone, newCase } from './lib.mjs';

const PW = { carol: 'carol-password-1', dave: 'dave-password-2', erin: 'erin-password-3', fred: 'fred-password-4' };
let srv;

before(async () => {
  srv = await startServer({
    users: Object.entries(PW).map(([name, password]) => ({ name, role: 'agent', teams: ['north'], password })),
  });
});

after(async () => { if (srv) await srv.stop(); });

async function start(name, viewport = {}) {
  const side = await launch(tempProfile(name), viewport);
  await openApp(side.page, srv.url);
  await signIn(side.page, name, PW[name]);
  await waitSynced(side.page, 0);
  return side;
}

async function addNote(page, caseId, text) {
  await call(page, 'open', caseId);
  await frames(page, 3);
  await click(page, 'case.tab.note');
  await fill(page, 'case.note.text', text);
  await click(page, 'case.note.add');
  await waitFor(page, (s) => s.toasts.includes('Note added'), 'note added');
  await waitSaved(page);
}

async function offline(side, yes) {
  await side.context.setOffline(yes);
  await waitFor(side.page, (x) => x.browser_online === !yes, yes ? 'offline' : 'online');
}

// The notes on the server, as a user of the team pulls them.
async function serverNotes(user, password) {
  const r = await srv.api('GET', '/api/v1/sync/pull?after=0&limit=1000', undefined, await srv.login(user, password));
  assert.equal(r.status, 200, r.text);
  return r.json.events.map((x) => x.event).filter((e) => e.type === 'note.added').map((e) => e.body.text);
}

const gone = (page, id) => waitFor(page, (s) => !s.widgets[id], `${id} gone`, 5000);

// Before: the 401 left the user signed in without a token ("Sign in to sync"), with no way to sign
// in again; "Sign out" claimed the server could not be reached and "Sign out anyway" deleted the
// unsynced note.
test('a session ended on the server keeps the offline work; the same user signs in again and it syncs', async () => {
  const A = await start('carol');
  try {
    const id = await newCase(A.page, { client: 'Ada Lovelace', contact: 'ada@example.com', title: 'Engine service' });
    await waitSynced(A.page, 0);
    await offline(A, true);
    await addNote(A.page, id, 'Written offline before the reset');
    assert.equal((await state(A.page)).pending, 1);
    // An admin resets the password: the server revokes the device's token (as the 30-day expiry does).
    const reset = await srv.api('PUT', '/api/v1/admin/users/carol', { password: 'carol-new-password-9' }, srv.adminToken);
    assert.equal(reset.status, 200, reset.text);
    await offline(A, false);
    let s = await waitFor(A.page, (x) => !x.has_token && x.sync_phase === 'idle', 'the 401 noticed', 20000);
    assert.equal(s.signed_in, true, 'the user and the local data stay');
    assert.equal(s.pending, 1, 'the offline note is kept');
    // Asked to sign in again, as the same user, password only.
    assert.ok((await widget(A.page, 'reauth.password')).w > 0, 'sign-in-again dialog shown');
    s = await state(A.page);
    assert.equal(s.session_expired, true);
    assert.ok(s.widgets['reauth.user'], 'the user name is shown');
    await shot(A.page, 'flows-01-session-ended');
    // A reload keeps all of it (the ended session is stored with the data).
    await A.page.reload();
    await A.page.waitForFunction(() => window.closeloopReady === true && window.Module && Module.testState && Module.testState(),
      null, { timeout: 30000 });
    await loaderGone(A.page);
    await widget(A.page, 'reauth.password', 15000);
    s = await state(A.page);
    assert.equal(s.session_expired, true);
    assert.equal(s.pending, 1);
    await click(A.page, 'reauth.later');
    await gone(A.page, 'reauth.password');
    // Sign out now gives the real reason (not "the server cannot be reached").
    await click(A.page, 'nav.signout');
    s = await waitFor(A.page, (x) => x.logout_blocked, 'sign-out dialog');
    assert.equal(s.logout_reason, 'session_expired');
    await widget(A.page, 'signout.signin');
    await shot(A.page, 'flows-02-signout-session-ended');
    await click(A.page, 'signout.signin');  // "Sign in again" from the dialog
    await gone(A.page, 'signout.signin');
    await fill(A.page, 'reauth.password', PW.carol);  // the old password
    await click(A.page, 'reauth.submit');
    s = await waitFor(A.page, (x) => x.widgets['reauth.error'] && !x.login_in_flight, 'wrong password message');
    assert.match(s.login_error, /Wrong user name or password/);
    await fill(A.page, 'reauth.password', 'carol-new-password-9');
    await click(A.page, 'reauth.submit');
    s = await waitFor(A.page, (x) => x.has_token && !x.session_expired, 'signed in again');
    assert.equal(s.user, 'carol');
    s = await waitFor(A.page, (x) => x.sync_phase === 'idle' && x.pending === 0 && x.sync_error === '', 'the note uploaded', 20000);
    assert.equal((await caseJson(A.page, id)).notes[0].text, 'Written offline before the reset');
    assert.ok((await serverNotes('carol', 'carol-new-password-9')).includes('Written offline before the reset'), 'the server has the note');
    await gone(A.page, 'reauth.password');
    await shot(A.page, 'flows-03-signed-in-again');
  } finally {
    await A.context.close();
  }
});

// Before: Cancel called logout() again, which blocked again and reopened the dialog; with the
// server unreachable it started a sync that signed the user out once the server answered.
test('Cancel on the sign-out dialog cancels (offline, and server unreachable)', async () => {
  const A = await start('dave');
  try {
    await offline(A, true);
    const id = await newCase(A.page, { client: 'Grace Hopper', contact: 'grace@example.com', title: 'Compiler check' });
    assert.ok((await state(A.page)).pending >= 1);
    await click(A.page, 'nav.signout');
    let s = await waitFor(A.page, (x) => x.logout_blocked, 'sign-out dialog (offline)');
    const reason = s.logout_reason;
    await shot(A.page, 'flows-04-signout-offline');
    await click(A.page, 'signout.cancel');
    await frames(A.page, 5);
    s = await state(A.page);
    assert.equal(s.logout_blocked, false, 'the dialog is closed');
    assert.ok(!s.widgets['signout.cancel'], 'and does not come back');
    assert.equal(s.signed_in, true);
    assert.equal(reason, 'offline', 'the dialog said why');

    // Online, but the API does not answer.
    await A.context.route('**/api/v1/**', (r) => r.abort('connectionrefused'));
    await offline(A, false);
    await waitFor(A.page, (x) => x.sync_phase === 'idle' && !x.online, 'server unreachable', 20000);
    await click(A.page, 'nav.signout');
    s = await waitFor(A.page, (x) => x.logout_blocked, 'sign-out dialog (unreachable)', 20000);
    assert.equal(s.logout_reason, 'unreachable');
    await click(A.page, 'signout.cancel');
    await frames(A.page, 5);
    s = await state(A.page);
    assert.equal(s.logout_blocked, false);
    assert.equal(s.logout_in_progress, false);
    assert.ok(!s.widgets['signout.cancel'], 'the dialog is closed');
    // The server answers again: the next sync uploads, and the user is still signed in.
    await A.context.unroute('**/api/v1/**');
    const last = s.last_sync;
    await call(A.page, 'sync');
    s = await waitSynced(A.page, last);
    await frames(A.page, 5);
    s = await state(A.page);
    assert.equal(s.signed_in, true, 'Cancel did not sign out later');
    assert.ok(await caseJson(A.page, id));
  } finally {
    await A.context.close();
  }
});

// Before: ImGui was built with 16-bit ImWchar and turned every character above U+FFFF into U+FFFD.
test('a note with emoji is stored and synced unchanged', async () => {
  const A = await start('erin');
  try {
    const id = await newCase(A.page, { client: 'Zoë 😀 Brontë', contact: 'zoe@example.com', title: 'Smile 🙂' });
    const text = 'Thanks 😀👍🏽 for the visit 🎉 — 𝄞 日本語 ok';
    await addNote(A.page, id, text);
    const c = await caseJson(A.page, id);
    assert.equal(c.notes[0].text, text, 'the note round-trips');
    assert.equal(c.client.name, 'Zoë 😀 Brontë', 'the client name round-trips');
    assert.equal(c.title, 'Smile 🙂');
    await waitSynced(A.page, 0);
    await call(A.page, 'sync');
    await waitFor(A.page, (x) => x.pending === 0 && x.sync_phase === 'idle', 'synced', 20000);
    const notes = await serverNotes('erin', PW.erin);
    assert.ok(notes.includes(text), `the server has the same text: ${JSON.stringify(notes)}`);
    await shot(A.page, 'flows-05-emoji-note');
  } finally {
    await A.context.close();
  }
});

// Before: the editor saved an empty client name and a contact that is not an email address (the
// new-case form refuses both) and said "Changes saved".
test('the case editor applies the new-case rules with inline messages', async () => {
  const A = await start('fred');
  try {
    const id = await newCase(A.page, { client: 'Alan Turing', contact: 'alan@example.com', title: 'Bombe maintenance' });
    await click(A.page, 'case.edit');
    await fill(A.page, 'case.edit.client', '');
    await fill(A.page, 'case.edit.title', '');
    await fill(A.page, 'case.edit.contact', 'not an email');
    await click(A.page, 'case.edit.save');
    const s = await waitFor(A.page, (x) => x.widgets['error.client_name'] && x.widgets['error.client_contact'], 'inline messages');
    assert.ok(s.widgets['case.edit.save'], 'the editor stays open');
    assert.ok(!s.toasts.includes('Changes saved'));
    await shot(A.page, 'flows-06-edit-validation');
    let c = await caseJson(A.page, id);
    assert.equal(c.client.name, 'Alan Turing');
    assert.equal(c.client.contact, 'alan@example.com');
    assert.equal(c.title, 'Bombe maintenance');
    // Fixed values are saved.
    await fill(A.page, 'case.edit.client', 'Alan M. Turing');
    await fill(A.page, 'case.edit.contact', 'alan.turing@example.com');
    await click(A.page, 'case.edit.save');
    await waitFor(A.page, (x) => !x.widgets['case.edit.save'] && x.toasts.includes('Changes saved'), 'saved');
    c = await caseJson(A.page, id);
    assert.equal(c.client.name, 'Alan M. Turing');
    assert.equal(c.client.contact, 'alan.turing@example.com');
  } finally {
    await A.context.close();
  }
});

// Every NPS score and every status button can be reached at 1024 and 768 pixels wide (before, NPS
// 9 and 10 were cut off at 1024, and at 768 the status buttons ran off-screen).
test('the case screen fits at 1024, 768 and 390 wide: NPS 0..10, the status buttons, stacked columns on a phone', async () => {
  const A = await start('fred', { width: 1366, height: 700 });
  try {
    const id = await newCase(A.page, { client: 'Katherine Johnson', contact: 'kj@example.com', title: 'Trajectory review' });
    await frames(A.page, 3);
    const statusIds = Object.keys((await state(A.page)).widgets).filter((k) => k.startsWith('case.to.'));
    assert.ok(statusIds.length >= 2, `status buttons at 1366: ${statusIds}`);
    await click(A.page, 'case.tab.survey');
    for (const width of [1024, 768]) {
      await A.page.setViewportSize({ width, height: 700 });
      await frames(A.page, 4);
      const w = (await state(A.page)).widgets;
      const full = w['case.survey.nps.0'];
      assert.ok(full, `NPS buttons at ${width}`);
      for (let i = 0; i <= 10; ++i) {
        const r = w[`case.survey.nps.${i}`];
        assert.ok(r && Math.abs(r.w - full.w) < 0.5 && r.x + r.w <= width, `NPS ${i} wholly visible at ${width}: ${JSON.stringify(r)}`);
      }
      for (const k of statusIds) {
        const r = w[k];
        assert.ok(r && r.x + r.w <= width && r.w > 20, `${k} wholly visible at ${width}: ${JSON.stringify(r)}`);
      }
      await shot(A.page, `flows-07-case-${width}`);
    }
    await click(A.page, 'case.survey.nps.10');
    await click(A.page, 'case.survey.add');
    // The case itself, not the toast (a toast lasts 3.5 s: on a loaded machine it can come and go
    // between two looks).
    let surveys = [];
    for (let i = 0; i < 100 && surveys.length === 0; i++) {
      surveys = (await caseJson(A.page, id)).surveys;
      if (!surveys.length) await frames(A.page, 2);
    }
    assert.equal(surveys.length, 1, 'survey recorded at 768');
    assert.equal(surveys[0].nps, 10);
    await click(A.page, statusIds[statusIds.length - 1]);
    await waitFor(A.page, (x) => x.toasts.includes('Status changed'), 'status changed at 768');
    // A phone: the case's columns stack (each was a few letters wide) and the inbox keeps the
    // reference, client, status and due columns readable.
    await A.page.setViewportSize({ width: 390, height: 844 });
    await frames(A.page, 4);
    let w = (await state(A.page)).widgets;
    for (const k of ['case.edit', 'case.tab.note']) assert.ok(w[k] && w[k].x + w[k].w <= 390, `${k} visible at 390: ${JSON.stringify(w[k])}`);
    assert.ok(w['case.tab.note'].y > w['case.edit'].y, 'actions below the details at 390');
    await shot(A.page, 'flows-08-case-390');
    await click(A.page, 'nav.inbox');
    await frames(A.page, 4);
    w = (await state(A.page)).widgets;
    const row = w['inbox.row.0'];
    assert.ok(row && row.w > 50 && row.x + row.w <= 390, `inbox row at 390: ${JSON.stringify(row)}`);
    for (const k of ['inbox.tile.pending', 'inbox.escalation', 'inbox.category'])
      assert.ok(w[k] && w[k].x + w[k].w <= 390, `${k} visible at 390: ${JSON.stringify(w[k])}`);
    await shot(A.page, 'flows-09-inbox-390');
  } finally {
    await A.context.close();
  }
});

test('an admin sets the retention policy in the client, previews the sweep and runs it', async () => {
  const side = await launch(tempProfile('admin'));
  try {
    const { page } = side;
    await openApp(page, srv.url);
    await signIn(page, 'admin', srv.adminPassword);
    await waitSynced(page, 0);
    // Start from one period for every kind (a new server keeps each kind for 12 months).
    const reset = await srv.api('PUT', '/api/v1/admin/retention', { default_months: 12, months_after_closure: {}, action: 'purge' }, srv.adminToken);
    assert.equal(reset.status, 200, reset.text);
    await click(page, 'nav.admin');
    await click(page, 'admin.tab.retention');
    await click(page, 'admin.retention.edit');
    await frames(page, 3);
    await shot(page, 'flows-05-retention-edit');
    // Out of range: the server's message is shown and nothing changes.
    await fill(page, 'admin.retention.default', '5');
    await click(page, 'admin.retention.save');
    await widget(page, 'admin.retention.message');
    let policy = await srv.api('GET', '/api/v1/admin/retention', undefined, srv.adminToken);
    assert.equal(policy.json.default_months, 12, 'a refused value was stored');
    assert.ok(await widget(page, 'admin.retention.save'), 'still editing after a refusal');
    await shot(page, 'flows-06-retention-refused');
    // In range, with a period of its own for feedback.
    await fill(page, 'admin.retention.default', '24');
    await click(page, 'admin.retention.own.feedback');
    await fill(page, 'admin.retention.months.feedback', '36');
    await click(page, 'admin.retention.save');
    await waitFor(page, (s) => !s.widgets['admin.retention.save'] && s.widgets['admin.retention.edit'], 'saved and shown');
    policy = await srv.api('GET', '/api/v1/admin/retention', undefined, srv.adminToken);
    assert.equal(policy.json.default_months, 24);
    assert.deepEqual(policy.json.months_after_closure, { feedback: 36 });
    // Preview, then the sweep itself (after its confirmation); both are in the audit log.
    await click(page, 'admin.retention.preview');
    await waitFor(page, (s) => s.widgets['admin.retention.message'] && s.widgets['admin.retention.preview'], 'preview answered');
    await click(page, 'admin.retention.run');
    await click(page, 'admin.retention.run_confirm');
    let runs = [];
    for (let i = 0; i < 50 && runs.length < 2; i++) {
      const log = await srv.api('GET', '/api/v1/admin/audit?action=retention.run', undefined, srv.adminToken);
      runs = (log.json.entries || []).filter((x) => x.actor === 'admin');
      if (runs.length < 2) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(runs.map((x) => x.target).sort(), ['dry-run', 'run']);
    const changed = await srv.api('GET', '/api/v1/admin/audit?action=retention.policy', undefined, srv.adminToken);
    assert.equal(changed.json.entries.length, 2, 'the reset and the change audited, the refused value not');
    await frames(page, 3);
    await shot(page, 'flows-07-retention-swept');
  } finally {
    await side.context.close().catch(() => {});
  }
});
