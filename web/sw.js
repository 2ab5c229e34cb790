// Service worker: caches the app shell so a reload with no network opens the app.
// VERSION is replaced at build time by a hash of the shipped files (client/stage_www.cmake), so an
// updated build installs a new cache and removes the old one.
const VERSION = 'dev';
const CACHE = 'closeloop-shell-' + VERSION;
const SHELL = ['./', 'index.html', 'boot.js', 'closeloop.js', 'closeloop.wasm', 'manifest.webmanifest', 'icon.svg',
               'fonts/ui-regular.ttf', 'fonts/ui-bold.ttf'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL.map((u) => new Request(u, { cache: 'reload' }))))
    .then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(
    keys.filter((k) => k.startsWith('closeloop-shell-') && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || url.pathname.includes('/api/')) return;  // API: network only
  // App shell: cache first (versioned), falling back to the network; navigation falls back to index.html.
  event.respondWith(caches.open(CACHE).then(async (cache) => {
    const hit = await cache.match(req, { ignoreSearch: true });
    if (hit) return hit;
    try {
      return await fetch(req);
    } catch (e) {
      if (req.mode === 'navigate') {
        const shell = await cache.match('index.html');
        if (shell) return shell;
      }
      throw e;
    }
  }));
});
