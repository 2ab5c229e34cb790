// Boots the client from a plain static server (no sync server): the app starts and a sign-in that
// cannot reach the API explains why. Offline work, reload and restart are covered against the real
// server in sync.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStatic, launch, openApp, state, call, click, fill, shot, waitFor, waitSaved, tempProfile } from './lib.mjs';

test('boots with WebGL2 and shows the sign-in screen', async () => {
  const srv = await startStatic();
  const { context, page } = await launch(tempProfile('boot'));
  try {
    await openApp(page, srv.url);
    const s = await state(page);
    assert.equal(s.ready, true);
    assert.equal(s.signed_in, false);
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

// The app keeps a last good copy of its database (taken a moment after the start, written to
// IndexedDB by the next save). A database that fails its check at the next start is replaced by
// that copy, with a message, instead of leaving the app unable to open.
test('a damaged local database is replaced by the last good copy', async () => {
  const srv = await startStatic();
  const { context, page } = await launch(tempProfile('restore'));
  try {
    await openApp(page, srv.url);
    await call(page, 'session', JSON.stringify({ id: 'kept', name: 'Kept Before Backup', role: 'agent', teams: ['north'] }));
    await waitSaved(page);
    // The copy is taken after the start (not in the first frame) and holds the session.
    await page.waitForFunction(() => Module.FS.analyzePath('/data/closeloop.db.good').exists, null, { timeout: 15000 });
    // A later change: saved to IndexedDB together with the copy, but not in the copy.
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
    await page.waitForFunction(() => window.closeloopReady === true && Module.testState && Module.testState(), null, { timeout: 30000 });
    const s = await state(page);
    assert.equal(s.ready, true, 'the app opened');
    assert.ok(s.toasts.some((t) => /damaged; restored the last good copy/.test(t)), `restore message shown: ${JSON.stringify(s.toasts)}`);
    assert.equal(s.user, 'kept', 'the copy taken after the first start is what came back');
  } finally {
    await context.close();
    await srv.close();
  }
});
