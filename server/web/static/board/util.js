// Shared helpers for the board's scripts (one namespace, window.SF). Text from shops, admins
// and workers only ever goes into the page as textContent, never as HTML.
(function () {
  "use strict";
  var SF = (window.SF = window.SF || {});
  SF.skewMs = 0; // browser clock minus server clock

  SF.$ = function (id) { return document.getElementById(id); };

  SF.el = function (tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };

  SF.safeClass = function (prefix, value) {
    return /^[a-z_]+$/.test(String(value)) ? prefix + value : "";
  };

  SF.parseTime = function (iso) {
    if (!iso) return NaN;
    return Date.parse(String(iso).replace(/(\.\d{3})\d+/, "$1")); // microseconds -> ms
  };

  SF.serverNow = function () { return Date.now() - SF.skewMs; };

  // "42 s", "3 m", "2 h", "1 d": how long since `iso` (server clock).
  SF.span = function (iso) {
    var t = SF.parseTime(iso);
    if (isNaN(t)) return null;
    var s = Math.max(0, Math.round((SF.serverNow() - t) / 1000));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " m";
    if (s < 86400) return Math.floor(s / 3600) + " h";
    return Math.floor(s / 86400) + " d";
  };

  SF.ago = function (iso) {
    var s = SF.span(iso);
    if (s === null) return "never";
    return s === "0 s" || /^[0-4] s$/.test(s) ? "just now" : s + " ago";
  };

  SF.clock = function (ms) {
    return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  };

  SF.shortTime = function (iso) {
    var t = SF.parseTime(iso);
    if (isNaN(t)) return "—";
    var d = new Date(t);
    var today = new Date();
    var hm = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return d.toDateString() === today.toDateString() ? hm : d.toLocaleDateString([], { month: "short", day: "numeric" }) + " " + hm;
  };

  // The page's CSRF token goes with every POST as header X-CSRFToken.
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  // A JSON call to /board/api; resolves to {ok, status, body}. A refusal's sentence is in
  // body.error (the log-in layer's refusals, CSRF and roles, carry it in body.message). A 401
  // means the session ended (logged out, new password): back to the log-in page.
  SF.api = function (method, path, body) {
    var opts = { method: method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (method !== "GET") {
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-CSRFToken"] = csrf();
      opts.body = JSON.stringify(body || {});
    }
    return fetch("/board/api" + path, opts).then(function (r) {
      if (r.status === 401) window.location.assign("/login?next=/board");
      return r.json().catch(function () { return {}; }).then(function (b) {
        if (!r.ok && b && b.message) b.error = b.message;
        return { ok: r.ok, status: r.status, body: b };
      });
    }, function () {
      return { ok: false, status: 0, body: { error: "the server cannot be reached" } };
    });
  };

  // A panel's refresh: GET path (or the path a function gives, asked anew each time: a page
  // whose filters change it) and render the answer, the newest asked only. Two refreshes in
  // flight (one after an action, one when the queue changed) may be answered out of order;
  // the older answer, come late, would put back what the newer one took away.
  SF.fresh = function (path, render) {
    var asked = 0, shown = 0;
    return function () {
      var n = ++asked;
      return SF.api("GET", typeof path === "function" ? path() : path).then(function (r) {
        if (r.ok && n > shown) { shown = n; render(r.body); }
        return r;
      });
    };
  };

  SF.button = function (label, onClick, className) {
    var b = SF.el("button", "btn" + (className ? " " + className : ""), label);
    b.type = "button";
    b.addEventListener("click", function (e) { e.stopPropagation(); onClick(e); });
    return b;
  };

  SF.listRef = function (id) { return "PL-" + String(id).padStart(6, "0"); };
})();
