// Tandem's service worker: keeps the app shell (the page, its wasm, JS and
// CSS) so a document page reloads while the server or the network is away.
// The document itself lives in the page's local copy (localStorage) and
// syncs when the server is back; this worker never touches the WebSocket or
// the API.
const CACHE = 'tandem-shell-v2';
const SHELL = '/__tandem_shell';

// On install, fetch the page and every asset it names, so even the first
// visit can be reloaded offline (requests made before the worker took
// control never pass through it).
async function cacheShell() {
  const cache = await caches.open(CACHE);
  const response = await fetch('/', { cache: 'no-store' });
  if (!response.ok) return;
  const html = await response.clone().text();
  await cache.put(SHELL, response);
  const assets = [...html.matchAll(/(?:href|src)="(\/[^"?#]+)"/g)].map((m) => m[1]);
  await Promise.all(
    [...new Set(assets)].map((url) =>
      fetch(url).then((r) => (r.ok ? cache.put(url, r) : undefined)).catch(() => undefined)
    )
  );
}

self.addEventListener('install', (event) => {
  event.waitUntil(cacheShell().catch(() => undefined).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (/^\/(ws|yjs|api)\//.test(url.pathname) || ['/metrics', '/healthz', '/sw.js'].includes(url.pathname)) return;

  // Network first, so an online page is always current; the cache answers
  // only when the network cannot. Every client route gets the same shell.
  const key = request.mode === 'navigate' ? SHELL : url.pathname;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(key, copy));
        }
        return response;
      })
      .catch(() => caches.match(key).then((cached) => cached || Response.error()))
  );
});
