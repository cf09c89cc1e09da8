// The route sheet without signal (issue #15). On the sheet of a route under way (#offline, drawn
// by templates/delivery/route.html only for those who deliver it), this script:
// - registers the service worker (static/js/sw.js, served at /giao-hang/sw.js) and stores the
//   sheet and its assets (the camera scanner's library too) in a versioned cache, so that the
//   sheet opens and scans with the network off;
// - keeps the route's offline bundle in IndexedDB: its stops, parcel codes and, per stop, a salted
//   hash of the student's code (never the code), to check a typed code on the phone;
// - queues each hand-over and "missed, with reason" in IndexedDB with an idempotency key, and
//   sends the queue in order to the sync endpoint when the network is back (and on "Đồng bộ"):
//   the server applies each key once and answers each action's result, shown by its stop;
// - deletes the stored route when the route is finished or 48 hours after it set off.
// Without this script (or IndexedDB, or WebCrypto) the sheet works online as before, with the
// scan page. Every text comes from the page (data-msg-*), so it is translated there.
(function () {
  "use strict";
  var box = document.getElementById("offline");
  if (!box || !window.indexedDB || !window.crypto || !window.crypto.subtle || !window.fetch) return;

  var CACHE = "gianhang-route-v2";  // bump when what is cached changes (sw.js reads any version)
  var MAX_ATTEMPTS = Number(box.getAttribute("data-max-attempts"));  // the server's limit
  var routeId = Number(box.getAttribute("data-route"));
  var state = { bundle: null, attempts: {}, queue: [] };
  var syncing = false;
  var database = null;

  function msg(name, values) {
    var text = box.getAttribute("data-msg-" + name) || "";
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(values[k]); });
    return text;
  }

  // ------------------------------------------------------------ IndexedDB

  function openDb() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open("gianhang-offline", 1);
      req.onupgradeneeded = function () {
        var db = req.result;
        db.createObjectStore("routes", { keyPath: "route" });
        db.createObjectStore("queue", { keyPath: "key" }).createIndex("route", "route");
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function run(stores, mode, work) {
    return new Promise(function (resolve, reject) {
      var tx = database.transaction(stores, mode);
      var result;
      tx.oncomplete = function () { resolve(result); };
      tx.onerror = tx.onabort = function () { reject(tx.error); };
      work(tx, function (value) { result = value; });
    });
  }

  function load() {
    return run(["routes", "queue"], "readonly", function (tx, done) {
      var out = {};
      tx.objectStore("routes").get(routeId).onsuccess = function (e) { out.route = e.target.result; };
      tx.objectStore("queue").index("route").getAll(routeId).onsuccess = function (e) {
        out.queue = e.target.result;
      };
      done(out);
    }).then(function (out) {
      state.bundle = out.route ? out.route.bundle : null;
      state.attempts = out.route ? out.route.attempts || {} : {};
      state.queue = (out.queue || []).sort(function (a, b) { return a.seq - b.seq; });
    });
  }

  function saveRoute() {
    return run(["routes"], "readwrite", function (tx) {
      tx.objectStore("routes").put({ route: routeId, bundle: state.bundle, attempts: state.attempts,
                                     page: location.pathname, saved: Date.now() });
    });
  }

  function saveEntry(entry) {
    return run(["queue"], "readwrite", function (tx) { tx.objectStore("queue").put(entry); });
  }

  // The route finished or is past its 48 hours: its data leaves the phone (actions still waiting
  // to sync stay until they are synced); this page still shows the last results.
  function forget() {
    state.bundle = null;
    return run(["routes", "queue"], "readwrite", function (tx) {
      tx.objectStore("routes").delete(routeId);
      tx.objectStore("queue").index("route").getAll(routeId).onsuccess = function (e) {
        e.target.result.forEach(function (entry) {
          if (entry.status !== "waiting") tx.objectStore("queue").delete(entry.key);
        });
      };
    }).then(function () {
      return caches.keys();
    }).then(function (names) {
      return Promise.all(names.filter(function (n) { return n.indexOf("gianhang-route-") === 0; })
        .map(function (n) { return caches.open(n).then(function (c) { return c.delete(location.pathname); }); }));
    }).catch(function () {});
  }

  // ------------------------------------------------------------ the network

  function cacheSheet() {
    var urls = [location.pathname];
    document.querySelectorAll("link[rel=stylesheet][href], link[rel=icon][href], script[src]")
      .forEach(function (el) { urls.push(el.getAttribute("href") || el.getAttribute("src")); });
    // the camera scanner's library, loaded only when the camera is asked for (static/js/scan.js)
    document.querySelectorAll("[data-scanner][data-library]")
      .forEach(function (el) { urls.push(el.getAttribute("data-library")); });
    return caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) {
        return n.indexOf("gianhang-route-") === 0 && n !== CACHE;
      }).map(function (n) { return caches.delete(n); }));
    }).then(function () {
      return caches.open(CACHE);
    }).then(function (cache) { return cache.addAll(urls); });
  }

  // The bundle from the server (with a fresh CSRF token): stored, or the route forgotten (gone).
  function fetchBundle() {
    return fetch(box.getAttribute("data-bundle"), { credentials: "same-origin",
                                                     headers: { Accept: "application/json" } })
      .then(function (resp) {
        if (!resp.ok) throw new Error("bundle " + resp.status);
        return resp.json().then(function (body) {
          var token = body.csrf_token;
          if (body.gone) return forget().then(function () { return token; });
          delete body.csrf_token;
          state.bundle = body;
          return saveRoute().then(cacheSheet).then(function () {
            box.setAttribute("data-stored", "1");
            return token;
          });
        });
      });
  }

  function sync() {
    if (syncing || !navigator.onLine) { render(); return Promise.resolve(); }
    syncing = true;
    render(msg("syncing"));
    var waiting = state.queue.filter(function (e) { return e.status === "waiting"; });
    return fetchBundle().then(function (token) {
      if (!waiting.length) return null;
      return fetch(box.getAttribute("data-sync"), {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        body: JSON.stringify({ actions: waiting.map(function (e) {
          return { key: e.key, stop: e.stop, action: e.action, code: e.code, reason: e.reason,
                   to_stock: e.to_stock === true, at: e.at };
        }) })
      }).then(function (resp) {
        if (!resp.ok) throw new Error("sync " + resp.status);
        return resp.json();
      }).then(function (body) {
        var byKey = {};
        body.results.forEach(function (r) { byKey[r.key] = r; });
        return Promise.all(waiting.map(function (entry) {
          var r = byKey[entry.key];
          if (!r) return null;
          entry.status = r.applied ? "synced" : "refused";
          entry.message = r.message;
          delete entry.code;  // the student's code leaves the phone once the server has it
          return saveEntry(entry);
        }));
      }).then(fetchBundle);  // the stops' states after the sync (or the route forgotten)
    }).then(function () {
      syncing = false;
      box.setAttribute("data-synced", String(Date.now()));
      render();
    }, function () {
      syncing = false;
      render(msg("sync-failed"));
    });
  }

  // ------------------------------------------------------------ the page

  function stopOf(id) {
    var stops = state.bundle ? state.bundle.stops : [];
    for (var i = 0; i < stops.length; i++) if (stops[i].id === id) return stops[i];
    return null;
  }

  function entriesOf(id) {
    return state.queue.filter(function (e) { return e.stop === id; });
  }

  function time(iso) {
    return new Date(iso).toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit",
                                                     timeZone: "Asia/Ho_Chi_Minh" });
  }

  function render(note) {
    var waiting = state.queue.filter(function (e) { return e.status === "waiting"; }).length;
    box.querySelector("[data-offline-net]").textContent =
      (note || msg(navigator.onLine ? "online" : "offline")) +
      (state.bundle ? " " + msg("stored") : "");
    box.querySelector("[data-offline-summary]").textContent =
      waiting ? msg("waiting", { n: waiting }) : msg("all-synced");
    box.setAttribute("data-waiting", String(waiting));
    box.hidden = false;
    document.querySelectorAll("[data-offline-stop]").forEach(function (el) {
      var id = Number(el.getAttribute("data-offline-stop"));
      var stop = stopOf(id);
      var entries = entriesOf(id);
      var last = entries[entries.length - 1];
      var label = el.querySelector("[data-state]");
      var text = "", kind = "";
      if (last && last.status === "waiting") {
        text = last.action === "handover" ? msg("done-here", { at: time(last.at) })
          : msg(last.to_stock ? "stock-here" : "missed-here", { reason: last.reason });
        kind = "waiting";
      } else if (last && last.status === "synced") {
        text = msg("synced"); kind = "synced";
      } else if (last && last.status === "refused") {
        text = msg("refused", { reason: last.message }); kind = "refused";
      }
      label.textContent = text;
      label.className = "offline-state " + kind;
      label.setAttribute("data-state", kind);
      var open = stop && stop.state === "open" && !entries.some(function (e) {
        return e.status === "waiting" || e.status === "synced";
      });
      el.querySelectorAll("[data-offline-handover], [data-offline-missed-box]").forEach(function (f) {
        f.hidden = !open;
      });
      el.hidden = !(stop || text);
    });
  }

  function showError(form, text) {
    var error = form.querySelector("[data-error]");
    var input = form.querySelector("input[type=text]");
    error.textContent = text;
    error.hidden = !text;
    if (text) { input.setAttribute("aria-invalid", "true"); input.focus(); }
    else input.removeAttribute("aria-invalid");
  }

  function sha256(text) {
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)).then(function (buf) {
      return Array.prototype.map.call(new Uint8Array(buf), function (b) {
        return ("0" + b.toString(16)).slice(-2);
      }).join("");
    });
  }

  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function enqueue(entry) {
    entry.key = newKey();
    entry.route = routeId;
    entry.at = new Date().toISOString();
    entry.seq = Date.now() * 1000 + state.queue.length;
    entry.status = "waiting";
    state.queue.push(entry);
    return saveEntry(entry).then(function () { render(); return sync(); });
  }

  function onHandover(form, stop) {
    var code = form.querySelector("input").value.replace(/\s/g, "");
    if (!/^\d{4}$/.test(code)) { showError(form, msg("bad-code")); return; }
    var tried = state.attempts[stop.id] || 0;
    if (tried >= MAX_ATTEMPTS) { showError(form, msg("locked")); return; }
    sha256(stop.salt + code).then(function (hash) {
      if ((stop.hashes || [stop.hash]).indexOf(hash) < 0) {  // any request's code of the stop
        state.attempts[stop.id] = tried + 1;
        return saveRoute().then(function () {
          showError(form, tried + 1 >= MAX_ATTEMPTS ? msg("locked")
            : msg("wrong-code", { left: MAX_ATTEMPTS - tried - 1 }));
        });
      }
      showError(form, "");
      form.querySelector("input").value = "";
      return enqueue({ stop: stop.id, action: "handover", code: code });
    });
  }

  // What then, as at the scan page: back in line for the next run, or cancelled and the items
  // back to stock (the server applies the same rule, services.requests.record_missed).
  function onMissed(form, stop) {
    var reason = form.querySelector("input[type=text]").value.trim();
    if (!reason) { showError(form, msg("no-reason")); return; }
    var then = form.querySelector("input[type=radio]:checked");
    showError(form, "");
    form.querySelector("input[type=text]").value = "";
    enqueue({ stop: stop.id, action: "missed", reason: reason,
              to_stock: Boolean(then && then.value === "stock") });
  }

  // A parcel's code as the server reads it (services.handover.parse_code): the `ma` of a scanned
  // scan-page URL or the text itself; case, spaces and the dash do not matter, O/I/L are 0/1/1.
  function parcelCode(text) {
    text = (text || "").trim();
    var scanned = /[?&]ma=([^&#\s]+)/.exec(text);
    if (scanned) {
      try { text = decodeURIComponent(scanned[1]); } catch (e) { return ""; }
    }
    var chars = text.replace(/[\s-]/g, "").toUpperCase().replace(/O/g, "0").replace(/[IL]/g, "1");
    return /^[0-9A-HJKMNP-TV-Z]{6}$/.test(chars) ? chars.slice(0, 2) + "-" + chars.slice(2) : "";
  }

  // A scanned or typed parcel code: its stop on this route is brought forward, ready for the
  // student's 4-digit code (checked on the phone as when typed); another route's parcel is refused.
  function onScan(form) {
    var input = form.querySelector("input");
    var found = box.querySelector("[data-offline-found]");
    var code = parcelCode(input.value);
    found.textContent = "";
    if (!code) { showError(form, msg("bad-parcel")); return; }
    var stops = state.bundle ? state.bundle.stops : [];
    var stop = null;
    for (var i = 0; i < stops.length; i++) {  // the stop's code, or any of its requests'
      if ((stops[i].codes || [stops[i].code]).indexOf(code) >= 0) stop = stops[i];
    }
    if (!stop) { showError(form, msg("not-on-route", { code: code })); return; }
    showError(form, "");
    code = stop.code;  // as printed on the sheet
    input.value = code;
    var el = document.querySelector("[data-offline-stop='" + stop.id + "']");
    var item = document.getElementById("stop-" + stop.id);
    var n = Array.prototype.indexOf.call(item.parentNode.children, item) + 1;
    var codeInput = el.querySelector("[data-offline-handover]:not([hidden]) input");
    found.textContent = msg(codeInput ? "found" : "found-done", { code: code, n: n });
    item.scrollIntoView({ block: "start" });
    (codeInput || item).focus();
  }

  var scanForm = box.querySelector("[data-offline-scan]");
  scanForm.addEventListener("submit", function (event) {
    event.preventDefault();
    onScan(scanForm);
  });

  document.querySelectorAll("[data-offline-stop]").forEach(function (el) {
    var id = Number(el.getAttribute("data-offline-stop"));
    el.querySelectorAll("form").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var stop = stopOf(id);
        if (!stop) return;
        if (form.hasAttribute("data-offline-handover")) onHandover(form, stop);
        else onMissed(form, stop);
      });
    });
  });
  box.querySelector("[data-offline-sync]").addEventListener("click", function () { sync(); });
  window.addEventListener("online", function () { sync(); });
  window.addEventListener("offline", function () { render(); });

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(box.getAttribute("data-sw"),
                                     { scope: box.getAttribute("data-scope") })
      .catch(function () {});
  }

  openDb().then(function (db) {
    database = db;
    return load();
  }).then(function () {
    var expires = state.bundle && Date.parse(state.bundle.expires_at);
    if (expires && expires < Date.now()) return forget();
  }).then(function () {
    render();
    return sync();
  }).catch(function () {
    box.hidden = true;  // no storage on this phone: the sheet works online, with the scan page
  });
})();
