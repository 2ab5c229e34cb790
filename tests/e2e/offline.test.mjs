// Boots the client from a plain static server (no sync server): the app starts and a sign-in that
// cannot reach the API explains why. Offline work, reload and restart are covered against the real
// server in sync.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStatic, launch, openApp, state, click, fill, shot, waitFor, tempProfile } from './lib.mjs';

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
