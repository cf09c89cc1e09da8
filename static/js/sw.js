// Service worker of the delivery pages (issue #15), served at /giao-hang/sw.js so that its scope
// is /giao-hang/. It answers from the cache only what static/js/offline.js stored there for a
// route under way: the route sheet (network first: online, the volunteer always sees the latest
// sheet, and the stored copy is refreshed) and the sheet's assets (cache first: their URLs carry
// a version). Every other request goes to the network as if there were no service worker.
"use strict";

var PREFIX = "gianhang-route-";  // the caches offline.js makes (its CACHE, versioned)
var SHEET = /^\/giao-hang\/tuyen\/\d+$/;

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

function stored(request) {
  return caches.keys().then(function (names) {
    var ours = names.filter(function (n) { return n.indexOf(PREFIX) === 0; }).sort().reverse();
    return ours.reduce(function (found, name) {
      return found.then(function (hit) {
        return hit || caches.open(name).then(function (c) { return c.match(request); });
      });
    }, Promise.resolve(undefined));
  });
}

function refresh(request, response) {
  // Keep the stored copy of a sheet up to date, only if the phone keeps that sheet.
  return caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf(PREFIX) === 0; })
      .map(function (name) {
        return caches.open(name).then(function (c) {
          return c.match(request).then(function (hit) {
            if (hit) return c.put(request, response.clone());
          });
        });
      }));
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && SHEET.test(url.pathname)) {
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok && !response.redirected && url.search === "") {
        event.waitUntil(refresh(url.pathname, response.clone()));
      }
      return response;
    }, function () {
      return stored(url.pathname).then(function (hit) { return hit || Response.error(); });
    }));
  } else if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(stored(request).then(function (hit) { return hit || fetch(request); }));
  }
});
