// Runs before main(): mounts IndexedDB-backed storage at /data and starts loading it (main() sets
// up the window and Dear ImGui meanwhile; the app opens its database when Module.localDataLoaded is
// set), fetches the UI fonts, holding main() back (run dependencies) until they are in, and creates
// the WebGL2 context. main() never blocks.
Module['preRun'] = Module['preRun'] || [];
Module['preRun'].push(function () {
  performance.mark('closeloop:wasm-ready');  // compiled and instantiated (a start-up mark, see main.cpp)
  FS.mkdir('/data');
  FS.mount(IDBFS, {}, '/data');
  Module['persistLoadError'] = '';
  Module['localDataLoaded'] = false;
  // boot.js opened the database while the wasm loaded (see openLocalDb there); IDBFS takes that
  // connection from its cache. A database that this open created (a first visit) holds nothing,
  // so there is nothing to load: the app may start as soon as that is known.
  var local = Module['localDb'] || { created: false, db: null, done: true, listeners: [] };
  var settled = false;
  var loaded = function () {
    performance.mark('closeloop:idbfs-loaded');
    Module['localDataLoaded'] = true;
  };
  var useConnection = function () {
    if (local.db && !IDBFS.dbs['/data']) IDBFS.dbs['/data'] = local.db;
  };
  var onLocalDb = function () {
    if (settled) { useConnection(); return; }
    if (local.created) {
      settled = true;
      useConnection();
      loaded();
    } else if (local.done) {
      settled = true;
      useConnection();
      FS.syncfs(true, function (err) {
        if (err) Module['persistLoadError'] = String(err && err.message || err);
        loaded();
      });
    }
  };
  local.listeners.push(onLocalDb);
  onLocalDb();
  FS.mkdir('/fonts');
  ['ui-regular.ttf', 'ui-bold.ttf'].forEach(function (name) {
    var dep = 'closeloop-font-' + name;
    addRunDependency(dep);
    fetch('fonts/' + name).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.arrayBuffer();
    }).then(function (buf) {
      FS.writeFile('/fonts/' + name, new Uint8Array(buf));
    }).catch(function (e) {
      console.warn('font ' + name + ' not loaded: ' + e);
    }).finally(function () { removeRunDependency(dep); });
  });
  createGlContext();
});

// The app's WebGL2 context, created while IndexedDB and the fonts load: creating it blocks this
// thread until the browser's GPU process has made it (0.1-0.3 s on a cold start in software GL).
// It is made on the app's canvas, at the size main.cpp creates its window with (device pixels) and
// with the attributes main.cpp asks GLFW for (no depth, stencil, alpha or antialiasing), so
// Emscripten's getContext later returns this context as it is: nothing to resize or create again.
function createGlContext() {
  var canvas = Module['canvas'];
  if (!canvas) return;
  var dpr = window.devicePixelRatio || 1, box = canvas.getBoundingClientRect();
  canvas.width = Math.round(box.width * dpr);
  canvas.height = Math.round(box.height * dpr);
  if (!canvas.getContext('webgl2', { antialias: false, depth: false, stencil: false, alpha: false }) && Module['onAbort'])
    Module['onAbort']('this browser has no WebGL2.');
}

// The /backup mount (IDBFS) of the store's last good copy, mounted on demand
// (platform/persistence.cpp): returns the mount.
Module['closeloopBackupMount'] = function () {
  if (!FS.analyzePath('/backup').exists) FS.mkdir('/backup');
  if (!FS.lookupPath('/backup', { follow_mount: false }).node.mounted) FS.mount(IDBFS, {}, '/backup');
  return FS.lookupPath('/backup', { follow_mount: false }).node.mounted;
};
// The copy's file under that mount, for the store at dbPath.
Module['closeloopBackupName'] = function (dbPath) { return '/backup/' + dbPath.split('/').pop() + '.good'; };

// Test bridge and shell helpers (the C side exports cl_test_state only in test builds).
Module['testState'] = function () {
  if (!Module['_cl_test_state']) return null;
  return JSON.parse(UTF8ToString(Module['_cl_test_state']()));
};
Module['testCall'] = function (name, arg) {
  return UTF8ToString(Module['ccall']('cl_test_call', 'number', ['string', 'string'], [name, arg || '']));
};
