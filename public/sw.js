// Tandem's service worker: keeps the app shell (the page, its wasm, JS and
// CSS) so a document page reloads while the server or the network is away.
// The document itself lives in the page's local copy and
// syncs when the server is back; this worker never touches the WebSocket or
// the API.
const CACHE = 'tandem-shell-v2';
const SHELL = '/__tandem_shell';

// Trunk names the wasm, JS and CSS it builds after their content
// (`tandem-client-<hex>_bg.wasm`, the hash in up to 16 hex digits): such a
// name never changes meaning, so the cache may answer it without asking the
// network.
const HASHED = /-[0-9a-f]{8,16}(?:_bg)?\.(?:wasm|js|css)$/;

// The same-origin assets a page names (its href and src attributes).
function assetsOf(html) {
  return [...new Set([...html.matchAll(/(?:href|src)="(\/[^"?#]+)"/g)].map((m) => m[1]))];
}

// Keeps the page and what it names, and drops the rest: each release brings
// new hashed names, and without this every old wasm would stay cached for
// good (about a megabyte a release).
async function keepOnly(cache, html) {
  const wanted = new Set([SHELL, ...assetsOf(html)]);
  const keys = await cache.keys();
  await Promise.all(
    keys.filter((request) => !wanted.has(new URL(request.url).pathname)).map((request) => cache.delete(request))
  );
}

// On install, fetch the page and every asset it names, so even the first
// visit can be reloaded offline (requests made before the worker took
// control never pass through it).
async function cacheShell() {
  const cache = await caches.open(CACHE);
  const response = await fetch('/', { cache: 'no-store' });
  if (!response.ok) return;
  const html = await response.clone().text();
  await cache.put(SHELL, response);
  await Promise.all(
    assetsOf(html).map((url) =>
      fetch(url).then((r) => (r.ok ? cache.put(url, r) : undefined)).catch(() => undefined)
    )
  );
  await keepOnly(cache, html);
}

// A fresh copy of the page replaces the cached one, and the assets the old
// page named but the new one does not leave the cache.
async function storeShell(response) {
  const cache = await caches.open(CACHE);
  const html = await response.clone().text();
  await cache.put(SHELL, response);
  await keepOnly(cache, html);
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

  // A hashed asset: the cached copy is the right one, so a repeat visit
  // loads the app without downloading it again.
  if (HASHED.test(url.pathname)) {
    event.respondWith(
      caches.match(url.pathname).then(
        (cached) =>
          cached ||
          fetch(request).then((response) => {
            if (response.ok) {
              const copy = response.clone();
              caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
            }
            return response;
          })
      )
    );
    return;
  }

  // Everything else network first, so an online page is always current; the
  // cache answers only when the network cannot. Every client route gets the
  // same shell.
  const navigate = request.mode === 'navigate';
  const key = navigate ? SHELL : url.pathname;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          if (navigate) {
            event.waitUntil(storeShell(copy).catch(() => undefined));
          } else {
            caches.open(CACHE).then((cache) => cache.put(key, copy));
          }
        }
        return response;
      })
      .catch(() => caches.match(key).then((cached) => cached || Response.error()))
  );
});
