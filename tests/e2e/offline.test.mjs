// Boots the client from a plain static server (no sync server): the app starts and a sign-in that
// cannot reach the API explains why. Offline work, reload and restart are covered against the real
// server in sync.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStatic, launch, openApp, loaderGone, state, call, click, fill, shot, waitFor, waitSaved, tempProfile } from './lib.mjs';

test('boots with WebGL2 and shows the sign-in screen', async () => {
  const srv = await startStatic();
  const { context, page } = await launch(tempProfile('boot'));
  try {
    await openApp(page, srv.url);
    const s = await state(page);
    assert.equal(s.ready, true);
    assert.equal(s.signed_in, false);
    // Unsynced work must not be cleared by the browser under storage pressure: the app asked for
    // persistent storage and got an answer (headless Chromium decides by its own rules).
    await page.waitForFunction(() => typeof Module.storagePersisted === 'boolean', null, { timeout: 10000 });
    const persisted = await page.evaluate(() => Module.storagePersisted);
    assert.equal((await waitFor(page, (x) => x.storage_persisted !== -1, 'storage answer in the app')).storage_persisted, persisted ? 1 : 0,
      'the app reads the answer (the status bar explains a refusal on hover)');
    assert.ok(s.widgets['login.username'], 'login field drawn');
    await shot(page, '01-login-no-server');
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

// The app keeps a last good copy of its database in an IndexedDB database of its own (taken a
// moment after the start; a start does not load it). A database that fails its check at the next
// start is replaced by that copy (the page loads it, puts it in place and starts again), with a
// message, instead of leaving the app unable to open.
test('a damaged local database is replaced by the last good copy', async () => {
  const srv = await startStatic();
  const { context, page } = await launch(tempProfile('restore'));
  try {
    await openApp(page, srv.url);
    await call(page, 'session', JSON.stringify({ id: 'kept', name: 'Kept Before Backup', role: 'agent', teams: ['north'] }));
    await waitSaved(page);
    // The copy is taken after the start (not in the first frames) and holds the session.
    await page.waitForFunction(() => Module.closeloopBackupStored === true, null, { timeout: 15000 });
    assert.equal(await page.evaluate(() => Module.FS.analyzePath('/backup/closeloop.db.good').exists), false, 'the copy is not kept in memory');
    // A later change: saved, but not in the copy.
    await call(page, 'session', JSON.stringify({ id: 'later', name: 'After Backup', role: 'agent', teams: ['north'] }));
    await waitFor(page, (s) => s.user === 'later', 'second session');
    await waitSaved(page);
    // Damage every page but the first of the stored database, and store the damage.
    const stored = await page.evaluate(() => new Promise((resolve, reject) => {
      const path = '/data/closeloop.db';
      const data = Module.FS.readFile(path);
      data.fill(0xff, 4096);
      Module.FS.writeFile(path, data);
      Module.FS.syncfs(false, (err) => (err ? reject(String(err)) : resolve(data.length)));
    }));
    assert.ok(stored > 8192, 'the database has more than two pages');
    await page.reload();
    // The start finds the damage, restores the copy and starts again: poll across that reload.
    let s = null;
    const until = Date.now() + 30000;
    while (Date.now() < until) {
      s = await page.evaluate(() => (window.closeloopReady && Module.testState ? Module.testState() : null)).catch(() => null);
      if (s && s.ready) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(s && s.ready, `the app opened: ${JSON.stringify(s)}`);
    await loaderGone(page);
    assert.ok(s.toasts.some((t) => /damaged; restored the last good copy/.test(t)), `restore message shown: ${JSON.stringify(s.toasts)}`);
    assert.equal(s.user, 'kept', 'the copy taken after the first start is what came back');
    // Signing out removes this user's data, the copy included.
    const hasCopy = () => page.evaluate(async () => (await indexedDB.databases()).some((d) => d.name === '/backup'));
    assert.equal(await hasCopy(), true, 'the copy is in IndexedDB');
    await click(page, 'nav.signout');
    await waitFor(page, (x) => !x.signed_in, 'signed out');
    // (A copy of the new, empty store is taken 2 s later: the deletion's own event is what counts.)
    await page.waitForFunction(() => Module.closeloopBackupDeleted === true, null, { timeout: 10000 });
  } finally {
    await context.close();
    await srv.close();
  }
});

// Each tab works on its own copy of the local database and saves the whole file, so a second tab
// of the app would overwrite the first one's unsynced work (and the first the second's). A second
// tab waits, says why, and starts by itself once the first is closed, with the first one's data.
test('a second tab waits for the first and then starts with its data', async () => {
  const srv = await startStatic();
  const { context, page } = await launch(tempProfile('tabs'));
  let second = null;
  try {
    await openApp(page, srv.url);
    await call(page, 'session', JSON.stringify({ id: 'first-tab', name: 'First Tab', role: 'agent', teams: ['north'] }));
    await waitFor(page, (s) => s.user === 'first-tab', 'session in the first tab');
    await waitSaved(page);
    second = await context.newPage();
    await second.goto(srv.url);
    await second.waitForFunction(() => /open in another tab/.test(document.getElementById('msg').textContent), null, { timeout: 10000 });
    assert.equal(await second.evaluate(() => window.closeloopReady === true || !!(window.Module && Module.testState)), false,
      'the second tab did not start its own copy');
    await shot(second, '02-second-tab-waits');
    await page.close();
    await second.waitForFunction(() => window.closeloopReady === true && window.Module && Module.testState && Module.testState(), null, { timeout: 30000 });
    await loaderGone(second);
    const s = await waitFor(second, (x) => x.ready, 'second tab ready');
    assert.equal(s.user, 'first-tab', 'the second tab opened the data the first one saved');
  } finally {
    await context.close();
    await srv.close();
  }
});
