// Runs before main(): mounts IndexedDB-backed storage at /data and loads it, and fetches the UI
// fonts, holding main() back (run dependencies) until both are ready. main() never blocks.
Module['preRun'] = Module['preRun'] || [];
Module['preRun'].push(function () {
  performance.mark('closeloop:wasm-ready');  // compiled and instantiated (a start-up mark, see main.cpp)
  FS.mkdir('/data');
  FS.mount(IDBFS, {}, '/data');
  Module['persistLoadError'] = '';
  addRunDependency('closeloop-idbfs');
  FS.syncfs(true, function (err) {
    if (err) Module['persistLoadError'] = String(err && err.message || err);
    performance.mark('closeloop:idbfs-loaded');
    removeRunDependency('closeloop-idbfs');
  });
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
});

// Test bridge and shell helpers (the C side exports cl_test_state only in test builds).
Module['testState'] = function () {
  if (!Module['_cl_test_state']) return null;
  return JSON.parse(UTF8ToString(Module['_cl_test_state']()));
};
Module['testCall'] = function (name, arg) {
  return UTF8ToString(Module['ccall']('cl_test_call', 'number', ['string', 'string'], [name, arg || '']));
};
