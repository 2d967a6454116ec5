// Tandem's service worker: keeps the app shell (the page, its wasm, JS and
// CSS) so a document page reloads while offline. The document itself lives in
// the page's local copy (localStorage) and syncs when the server is back; this
// worker never touches the WebSocket or the API.
const CACHE = 'tandem-shell-v1';
const SHELL = '/__tandem_shell';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (/^\/(ws|yjs|api)\//.test(url.pathname) || ['/metrics', '/healthz', '/sw.js'].includes(url.pathname)) return;

  // Network first, so an online page is always current; the cache answers
  // only when the network cannot. Every client route gets the same shell.
  const key = request.mode === 'navigate' ? SHELL : request;
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
