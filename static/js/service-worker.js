// The service worker of the terminal or the wallet, served at the area's root
// (/terminal/sw.js, /wallet/sw.js) after a first line that sets self.ISECA:
// { cache, cachePrefix, offline, precache: [...], static: "/static/" }
// (iseca/web/installable.py).
//
// It keeps only the static files (their URLs carry ?v=<hash of the file>, so
// a cached one is never stale) and the offline page: never a page with data,
// never an answer to a POST. Pages always come from the network; when the
// network fails, the offline page answers instead of the browser's error page.
// Nothing is ever sent again later: a charge that could not be sent is not
// queued (it needs the balance at the moment it is made).
/* global self, caches, fetch, Response, URL */
"use strict";

var SETTINGS = self.ISECA;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(SETTINGS.cache).then(function (cache) {
      return cache.addAll(SETTINGS.precache.concat([SETTINGS.offline]));
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  // The caches of this area's older workers go; the other area's stay.
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf(SETTINGS.cachePrefix) === 0 && name !== SETTINGS.cache;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function offlinePage() {
  return caches.open(SETTINGS.cache).then(function (cache) {
    return cache.match(SETTINGS.offline, { ignoreVary: true, ignoreSearch: true });
  }).then(function (page) {
    return page || new Response("offline", { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } });
  });
}

function isVersionedStatic(request, url) {
  return request.method === "GET" && url.origin === self.location.origin &&
    url.pathname.indexOf(SETTINGS.static) === 0 && url.searchParams.has("v");
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.mode === "navigate") {
    // A page (GET or a form's POST): from the network, as it is; only a
    // failure to reach the server is answered, with the offline page. The
    // POST is sent once, by the browser's own request, and never stored.
    event.respondWith(fetch(request).catch(offlinePage));
    return;
  }
  if (isVersionedStatic(request, url)) {
    // Cache first: the version in the URL changes with the file.
    event.respondWith(
      caches.open(SETTINGS.cache).then(function (cache) {
        return cache.match(request).then(function (hit) {
          if (hit) { return hit; }
          return fetch(request).then(function (response) {
            if (response.ok && response.type === "basic") { cache.put(request, response.clone()); }
            return response;
          });
        });
      })
    );
  }
  // Everything else (htmx fragments, data, images of stores, POSTs) goes to
  // the network untouched: htmx shows its own message beside the part that
  // asked when it fails (static/js/app.js).
});
