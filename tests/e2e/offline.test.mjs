// Boots the client from a static server (no sync server needed), works offline against the local
// store and checks that everything survives a reload and a browser restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStatic, launch, openApp, state, call, click, fill, shot, waitSaved, waitFor, tempProfile, frames } from './lib.mjs';

test('boots with WebGL2 and shows the sign-in screen', async () => {
  const srv = await startStatic();
  const { context, page } = await launch(tempProfile('boot'));
  try {
    await openApp(page, srv.url);
    const s = await state(page);
    assert.equal(s.ready, true);
    assert.equal(s.signed_in, false);
    assert.ok(s.widgets['login.username'], 'login field drawn');
    await shot(page, '01-login');
    // Offline sign-in attempt gives a clear message (server answers 503 here).
    await fill(page, 'login.username', 'agent');
    await fill(page, 'login.password', 'secret');
    await click(page, 'login.submit');
    const after = await waitFor(page, (x) => x.login_error !== '', 'login error');
    assert.match(after.login_error, /HTTP 503|reach/);
    assert.deepEqual(page.errors.filter((e) => !/503|Failed to load resource/.test(e)), []);
  } finally {
    await context.close();
    await srv.close();
  }
});

test('offline: create cases, survey, note; all there after reload and browser restart', async () => {
  const srv = await startStatic();
  const profile = tempProfile('offline');
  let { context, page } = await launch(profile);
  try {
    await openApp(page, srv.url);
    await call(page, 'session', JSON.stringify({ id: 'agent1', name: 'Alex Agent', role: 'agent', teams: ['north'], token: '' }));
    await waitFor(page, (s) => s.signed_in, 'session');
    await context.setOffline(true);
    await waitFor(page, (s) => !s.browser_online, 'offline detected');

    const clients = ['Jane Smith', 'Omar Haddad', 'Li Wei'];
    for (const name of clients) {
      await click(page, 'nav.new_case');
      await fill(page, 'new.client_name', name);
      await fill(page, 'new.client_contact', name.split(' ')[0].toLowerCase() + '@example.com');
      await fill(page, 'new.title', 'Boiler service follow-up for ' + name);
      await click(page, 'new.save');
      await waitFor(page, (s) => s.view === 'case', 'case view after create');
      await waitSaved(page);
    }
    let s = await state(page);
    assert.equal(s.cases, 3);
    await shot(page, '03-case-view');

    // Validation: an empty client name shows an inline error and creates nothing.
    await click(page, 'nav.new_case');
    await fill(page, 'new.client_name', '');
    await click(page, 'new.save');
    await waitFor(page, (x) => x.widgets['error.client_name'], 'inline validation message');
    await shot(page, '04-new-case-validation');
    assert.equal((await state(page)).cases, 3);

    // Survey and note on the first case.
    const cases = JSON.parse(await call(page, 'cases'));
    const first = cases.find((c) => c.client === 'Jane Smith');
    await call(page, 'open', first.id);
    await frames(page, 3);
    await click(page, 'case.tab.survey');
    await click(page, 'case.survey.csat.4');
    await click(page, 'case.survey.nps.9');
    await fill(page, 'case.survey.comment', 'Friendly and quick');
    await click(page, 'case.survey.add');
    await click(page, 'case.tab.note');
    await fill(page, 'case.note.text', 'Client asked for a call next week');
    await click(page, 'case.note.add');
    await waitSaved(page);
    let c = JSON.parse(await call(page, 'case', first.id));
    assert.equal(c.surveys.length, 1);
    assert.equal(c.notes.length, 1);
    await shot(page, '05-case-with-survey');

    await click(page, 'nav.inbox');
    await frames(page, 3);
    await shot(page, '02-inbox');
    s = await state(page);
    const pendingBefore = s.pending;
    assert.ok(pendingBefore >= 5, 'events waiting to upload');

    // Reload while offline: service worker serves the shell, IDBFS the data.
    await page.reload();
    await page.waitForFunction(() => window.closeloopReady === true, null, { timeout: 30000 });
    await frames(page, 3);
    s = await state(page);
    assert.equal(s.signed_in, true);
    assert.equal(s.cases, 3);
    assert.equal(s.pending, pendingBefore);
    c = JSON.parse(await call(page, 'case', first.id));
    assert.equal(c.surveys[0].csat, 4);
    assert.equal(c.notes[0].text, 'Client asked for a call next week');
    await shot(page, '06-after-offline-reload');

    // Close the browser and reopen the same profile.
    await context.close();
    ({ context, page } = await launch(profile));
    await openApp(page, srv.url);
    s = await state(page);
    assert.equal(s.cases, 3);
    assert.equal(s.pending, pendingBefore);
    const names = JSON.parse(await call(page, 'cases')).map((x) => x.client).sort();
    assert.deepEqual(names, [...clients].sort());
    await shot(page, '07-after-restart');
  } finally {
    await context.close();
    await srv.close();
  }
});
