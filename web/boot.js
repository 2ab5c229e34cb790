// Boot script of the web client (kept out of index.html: the server's CSP allows no inline script).
(function () {
    // The IndexedDB database of Emscripten's IDBFS for the /data mount, opened the way IDBFS.getDB
    // opens it (name = mount point, version 21, store FILE_DATA indexed by timestamp); pre.js hands
    // the connection to IDBFS. State for pre.js: created (this open made the database: a first
    // visit, nothing to load; known at the upgrade, before the open completes), db (the connection),
    // done (the open is over; db stays null when it failed: IDBFS then tries itself and reports the
    // error); listeners run at each change.
    function openLocalDb() {
      var local = { created: false, db: null, done: false, listeners: [] };
      var changed = function () { local.listeners.slice().forEach(function (f) { f(); }); };
      var req;
      try { req = window.indexedDB && indexedDB.open('/data', 21); } catch (e) { req = null; }
      if (!req) { local.done = true; return local; }
      req.onupgradeneeded = function (e) {
        var db = e.target.result, tx = e.target.transaction;
        var store = db.objectStoreNames.contains('FILE_DATA') ? tx.objectStore('FILE_DATA') : db.createObjectStore('FILE_DATA');
        if (!store.indexNames.contains('timestamp')) store.createIndex('timestamp', 'timestamp', { unique: false });
        local.created = e.oldVersion === 0;
        changed();
      };
      req.onsuccess = function () { local.db = req.result; local.done = true; changed(); };
      req.onerror = function (e) { e.preventDefault(); local.done = true; changed(); };
      req.onblocked = function () { local.done = true; changed(); };
      return local;
    }
    document.getElementById('canvas').addEventListener('contextmenu', function (e) { e.preventDefault(); });
    var fill = document.getElementById('fill'), msg = document.getElementById('msg'), loader = document.getElementById('loader');
    var hidden = document.getElementById('text-input');
    var lastKey229 = false, keyDown = false;
    // Virtual keyboards send keyCode 229 (or no key event at all: dictation, some Android keyboards,
    // text insertion by assistive tools) and deliver text through input events: forward that text.
    // Text typed on a physical keyboard reaches the app as key events, so it is not forwarded twice.
    hidden.addEventListener('keydown', function (e) { keyDown = true; lastKey229 = e.keyCode === 229; });
    hidden.addEventListener('keyup', function () { keyDown = false; });
    hidden.addEventListener('input', function (e) {
      if ((lastKey229 || !keyDown) && e.data && Module.ccall) Module.ccall('cl_text_input', null, ['string'], [e.data]);
      keyDown = false;
      hidden.value = '';
    });
    // Paste: browsers hand clipboard text only to a paste event; type it into the focused field.
    document.addEventListener('paste', function (e) {
      var t = (e.clipboardData || window.clipboardData).getData('text');
      if (t && Module.ccall) { Module.ccall('cl_text_input', null, ['string'], [t]); e.preventDefault(); }
    });
    window.Module = {
      canvas: document.getElementById('canvas'),
      setStatus: function (text) {
        var m = text && text.match(/\((\d+(\.\d+)?)\/(\d+)\)/);
        if (m) fill.style.width = (100 * m[1] / m[3]) + '%';
      },
      monitorRunDependencies: function (left) {
        if (left === 0) { fill.style.width = '100%'; msg.textContent = 'Starting…'; }
      },
      onFirstFrame: function () {
        loader.style.opacity = '0';
        setTimeout(function () { loader.style.display = 'none'; }, 220);
        window.closeloopReady = true;
        // Work not yet synced lives only in this browser's storage, which a browser may clear under
        // storage pressure unless the site's storage is persistent: ask for that once the app runs
        // (Chromium decides without a prompt, e.g. yes for an installed app; Firefox asks the user).
        // Module.storagePersisted: the answer (undefined while unknown or unsupported).
        if (navigator.storage && navigator.storage.persisted && navigator.storage.persist) {
          navigator.storage.persisted().then(function (p) {
            return p ? true : navigator.storage.persist();
          }).then(function (p) { Module.storagePersisted = !!p; }, function (e) { console.warn('storage: ' + e); });
        }
      },
      onAbort: function (what) {
        loader.className = 'error';
        loader.style.display = 'flex'; loader.style.opacity = '1';
        msg.textContent = 'closeloop could not start: ' + what;
      },
      print: function (t) { console.log(t); },
      printErr: function (t) { console.warn(t); }
    };
    // Start-up order (bench/js/coldstart.mjs measures it): the application script first, so its
    // download and the wasm's (preloaded by index.html, like the fonts) run while the page starts;
    // the local database's IndexedDB is opened now, so on a first visit the browser creates it while
    // the wasm loads. The WebGL2 context is created later, in pre.js, while IDBFS reads that
    // database: creating a context blocks this thread until the GPU process has made it.
    // Opening the database reads and writes nothing (a first visit creates it empty), so it starts
    // at once, in every tab, while the lock below is requested; the app that loads and saves it
    // starts only in the tab holding the lock.
    Module.localDb = openLocalDb();
    function start() {
      msg.textContent = 'Loading…';
      var s = document.createElement('script');
      s.src = 'closeloop.js';
      s.async = true;
      s.onerror = function () { Module.onAbort('the application files could not be loaded (offline before the first visit?).'); };
      document.body.appendChild(s);
    }
    // One tab at a time: each tab works on its own copy of the local database and saves the whole
    // file to IndexedDB, so two tabs would overwrite each other's unsynced work. The first tab holds
    // a Web Lock for as long as it is open; another waits for it (the lock is released when that
    // tab closes or reloads, and this one then starts by itself) and says why after a moment (a
    // reload waits a few milliseconds for its own previous page: no message for that).
    if (navigator.locks && navigator.locks.request) {
      var started = false;
      var why = setTimeout(function () {
        if (!started) msg.textContent = 'closeloop is open in another tab or window of this browser. Use that one, or close it: this tab then starts by itself.';
      }, 700);
      navigator.locks.request('closeloop-local-data', function () {
        started = true;
        clearTimeout(why);
        start();
        return new Promise(function () {});  // held until this page goes away
      }).catch(function (e) { console.warn('tab lock: ' + e); if (!started) { started = true; start(); } });
    } else {
      start();
    }
    if ('serviceWorker' in navigator && location.protocol !== 'file:') {
      navigator.serviceWorker.register('sw.js').catch(function (e) { console.warn('service worker: ' + e); });
    }
  })();
