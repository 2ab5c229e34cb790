// Boot script of the web client (kept out of index.html: the server's CSP allows no inline script).
(function () {
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
      },
      onAbort: function (what) {
        loader.className = 'error';
        loader.style.display = 'flex'; loader.style.opacity = '1';
        msg.textContent = 'closeloop could not start: ' + what;
      },
      print: function (t) { console.log(t); },
      printErr: function (t) { console.warn(t); }
    };
    // The application script is requested first: its download (and the wasm's, preloaded by
    // index.html) then runs while the WebGL2 probe below starts the browser's GPU process, which
    // alone takes 0.5-0.9 s on a cold start in software GL (bench/js/coldstart.mjs).
    var s = document.createElement('script');
    s.src = 'closeloop.js';
    s.async = true;
    s.onerror = function () { Module.onAbort('the application files could not be loaded (offline before the first visit?).'); };
    document.body.appendChild(s);
    // The probe creates the app's own context: on its canvas, at the size main.cpp creates its
    // window with (device pixels) and with the attributes it asks GLFW for (no depth, stencil,
    // alpha or antialiasing), so Emscripten's getContext later returns this context as it is:
    // nothing to resize or create again once the wasm runs (cold first frame ~0.08 s sooner,
    // warm reload ~0.1 s).
    var canvas = document.getElementById('canvas'), dpr = window.devicePixelRatio || 1, box = canvas.getBoundingClientRect();
    canvas.width = Math.round(box.width * dpr); canvas.height = Math.round(box.height * dpr);
    var probeOk = !!canvas.getContext('webgl2', { antialias: false, depth: false, stencil: false, alpha: false });
    if (!probeOk) {
      Module.onAbort('this browser has no WebGL2.');
    }
    if ('serviceWorker' in navigator && location.protocol !== 'file:') {
      navigator.serviceWorker.register('sw.js').catch(function (e) { console.warn('service worker: ' + e); });
    }
  })();
