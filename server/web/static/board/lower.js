// Below the board: throughput charts (uPlot, served from our own static files) and the audit
// log. Both are fetched from /board/api on connect, after each action and every minute.
(function () {
  "use strict";
  var SF = window.SF;
  var el = SF.el;
  var COLORS = ["#1f5fbf", "#c62828", "#1f8a4c", "#a35c00", "#7a4fc2", "#00838f", "#6d4c41", "#ad1457"];
  var charts = {};

  function width(id) {
    return Math.max(240, SF.$(id).clientWidth || 300);
  }

  function sum(values) { return values.reduce(function (x, y) { return x + y; }, 0); }

  // Each series' legend says its total over the window, without hovering (live: false).
  function chart(id, hours, series, per) {
    var xs = hours.map(function (h) { return Math.floor(Date.parse(h) / 1000); });
    var data = [xs].concat(series.map(function (s) { return s.values; }));
    var opts = {
      width: width(id), height: 200,
      scales: { x: { time: true } },
      axes: [{}, { label: per }],
      series: [{}].concat(series.map(function (s, i) {
        return { label: s.label + ": " + sum(s.values), stroke: COLORS[i % COLORS.length], width: 2, points: { show: true } };
      })),
      legend: { show: true, live: false },
    };
    if (charts[id]) charts[id].destroy();
    SF.$(id).replaceChildren();
    if (typeof uPlot !== "function") {
      SF.$(id).appendChild(el("p", "error", "chart library missing (scripts/vendor-js.sh)"));
      return;
    }
    charts[id] = new uPlot(opts, data, SF.$(id));
  }

  function charts_(tp) {
    var step = tp.bucket_minutes || 60;
    var per = step === 60 ? "per hour" : "per " + step + " min";
    var span = (tp.hours.length * step) / 60;
    var title = span === 1 ? "last hour" : span > 1 ? "last " + span + " hours" : "last " + tp.hours.length * step + " minutes";
    SF.$("charts-span").textContent = title + ", " + per;
    var workers = Object.keys(tp.picks_per_worker);
    var top = workers.sort(function (a, b) {
      return sum(tp.picks_per_worker[b]) - sum(tp.picks_per_worker[a]);
    }).slice(0, 8); // the busiest eight: more lines are unreadable
    chart("chart-picks", tp.hours, top.length ? top.map(function (w) {
      return { label: w, values: tp.picks_per_worker[w] };
    }) : [{ label: "no picks", values: tp.hours.map(function () { return 0; }) }], per);
    chart("chart-packed", tp.hours, [{ label: "orders packed", values: tp.orders_packed }], per);
    document.body.dataset.charts = String(Number(document.body.dataset.charts || 0) + 1);
  }

  // An action's detail in words, nested values too (a transfer's lines are a list of
  // objects, which String() drew as "[object Object]").
  function words(v, sep, join) {
    if (Array.isArray(v)) return v.map(function (x) { return words(x, " ", ", "); }).join("; ");
    if (v !== null && typeof v === "object") {
      return Object.keys(v).map(function (k) { return k + sep + words(v[k], " ", ", "); }).join(join);
    }
    return String(v);
  }

  function audit(rows) {
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) {
      var tr = el("tr");
      tr.dataset.audit = String(r.id);
      tr.appendChild(el("td", "seen", SF.shortTime(r.at)));
      tr.appendChild(el("td", null, r.actor));
      tr.appendChild(el("td", "audit-action", r.action));
      tr.appendChild(el("td", "ref", r.target));
      tr.appendChild(el("td", "meta", words(r.detail, ": ", ", ")));
      frag.appendChild(tr);
    });
    if (!rows.length) {
      var tr = el("tr");
      var td = el("td", "empty", "No actions yet.");
      td.colSpan = 5;
      tr.appendChild(td);
      frag.appendChild(tr);
    }
    SF.$("audit").tBodies[0].replaceChildren(frag);
  }

  function refreshAudit() {
    SF.api("GET", "/audit").then(function (r) { if (r.ok) audit(r.body); });
  }

  function refresh() {
    SF.api("GET", "/throughput").then(function (r) { if (r.ok) charts_(r.body); });
    SF.api("GET", "/cutoffs").then(function (r) { if (r.ok) SF.counters.setCutoffs(r.body); });
    SF.api("GET", "/counts").then(function (r) { if (r.ok) SF.board.setCounts(r.body); });
    SF.cycleCounts.refresh();
    SF.transfers.refresh();
    SF.moves.refresh();
    refreshAudit();
  }

  function start() {
    setInterval(refresh, 60000);
    var resize = null;
    window.addEventListener("resize", function () {
      clearTimeout(resize);
      resize = setTimeout(function () {
        Object.keys(charts).forEach(function (id) { charts[id].setSize({ width: width(id), height: 200 }); });
      }, 200);
    });
  }

  SF.lower = { start: start, refresh: refresh, refreshAudit: refreshAudit };
})();
