// The field app's service worker. The server prepends VERSION (a hash of every asset) and
// ASSETS, so a changed asset means a new worker and a fresh cache.
// The shell is answered from the cache first: on a bad line the page opens at once, and a new
// version arrives with the next worker. The API is never cached here: the page keeps its data
// and outbox in IndexedDB and decides itself what an offline answer means.

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(VERSION).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== VERSION).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!url.pathname.startsWith("/field/") || url.pathname === "/field/sw.js") return;
  event.respondWith(
    caches.open(VERSION).then((cache) =>
      cache.match(request, { ignoreSearch: true }).then((hit) => hit || fetch(request)),
    ),
  );
});
