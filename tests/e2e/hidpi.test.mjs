// Device pixel ratio 2: the drawing buffer uses device pixels, widgets stay clickable in CSS pixels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startStatic, launch, openApp, state, call, click, fill, shot, waitFor, widget, tempProfile } from './lib.mjs';

test('HiDPI: crisp rendering at devicePixelRatio 2 and clicks land on widgets', async () => {
  const srv = await startStatic();
  const { context, page } = await launch(tempProfile('hidpi'), { width: 1100, height: 760, dpr: 2 });
  try {
    await openApp(page, srv.url);
    const size = await page.evaluate(() => [Module.canvas.width, Module.canvas.height]);
    assert.deepEqual(size, [2200, 1520]);
    assert.equal((await state(page)).dpr, 2);
    await call(page, 'session', JSON.stringify({ id: 'qa1', name: 'Quinn Analyst', role: 'manager', teams: ['north'] }));
    await click(page, 'nav.new_case');
    await fill(page, 'new.client_name', 'Ada Lovelace');
    await fill(page, 'new.client_contact', 'ada@example.com');
    await click(page, 'new.save');
    const s = await waitFor(page, (x) => x.view === 'case', 'case created');
    assert.equal(s.cases, 1);
    await click(page, 'nav.reports');
    await widget(page, 'reports.kpi.5');  // six KPI tiles incl. response/resolution time percentiles
    await shot(page, '08-reports-hidpi');
    // The documentation log is prepared across frames, then downloaded.
    const download = page.waitForEvent('download', { timeout: 15000 });
    await click(page, 'reports.log');
    const file = await download;
    assert.match(file.suggestedFilename(), /^closeloop-log-\d{4}-\d{2}-\d{2}\.csv$/);  // dated: exports do not overwrite each other
    const csv = readFileSync(await file.path(), 'utf8');
    assert.match(csv, /Ada Lovelace/);
    await click(page, 'nav.due');
    await shot(page, '09-due-hidpi');
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
    await srv.close();
  }
});
