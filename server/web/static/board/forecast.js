// The forecast page: a chart per SKU (uPlot, served from our own static files) of its demand
// per day as sold and as forecast, its stock now drawn down by the forecast, and its reorder
// point; read from /board/api/forecast, which only reads what the worker's forecast stored.
(function () {
  "use strict";
  var SF = window.SF;
  var el = SF.el;
  var DAY = 86400;
  var charts = [];

  function days(from, n) {
    var t0 = Math.floor(Date.parse(from + "T00:00:00Z") / 1000);
    var out = [];
    for (var i = 0; i < n; i++) out.push(t0 + i * DAY);
    return out;
  }

  // x: every day of history then of forecast; demand on the left scale, units on the right.
  function data(s) {
    var h = s.history.length, f = s.forecast.length;
    var last = Date.parse(s.day + "T00:00:00Z") / 1000;
    var first = new Date((last - (h - 1) * DAY) * 1000).toISOString().slice(0, 10);
    var xs = days(first, h + f);
    var sold = [], fc = [], stock = [], rop = [];
    var left = s.position;
    for (var i = 0; i < h + f; i++) {
      sold.push(i < h ? s.history[i] : null);
      fc.push(i < h - 1 ? null : i === h - 1 ? s.history[i] : s.forecast[i - h]);
      if (i >= h) left = Math.max(0, left - s.forecast[i - h]);
      stock.push(i < h - 1 ? null : i === h - 1 ? s.position : left);
      rop.push(s.reorder_point);
    }
    return [xs, sold, fc, stock, rop];
  }

  // Both axes start at 0: fitted to the data, a pen sold 2 or 3 a day drew from 2 to 3 and
  // looked like a swing of everything to nothing; a SKU with no demand gets 0 to 1, not 0 to 100.
  function fromZero(u, min, max) {
    return [0, max > 0 ? max * 1.1 : 1];
  }

  function chart(box, s) {
    var opts = {
      width: Math.max(280, box.clientWidth || 420), height: 180,
      scales: { x: { time: true }, d: { range: fromZero }, u: { range: fromZero } },
      axes: [{}, { scale: "d", label: "units/day" }, { scale: "u", side: 1, label: "units", grid: { show: false } }],
      series: [
        {},
        { label: "sold", scale: "d", stroke: "#1f5fbf", width: 1 },
        { label: "forecast (" + s.model + ")", scale: "d", stroke: "#a35c00", width: 2, dash: [6, 4] },
        { label: "stock", scale: "u", stroke: "#1f8a4c", width: 2 },
        { label: "reorder point", scale: "u", stroke: "#c62828", width: 1, dash: [2, 3] },
      ],
      legend: { show: true, live: false },
    };
    if (typeof uPlot !== "function") {
      box.appendChild(el("p", "error", "chart library missing (scripts/vendor-js.sh)"));
      return;
    }
    charts.push(new uPlot(opts, data(s), box));
  }

  function facts(s) {
    var cover = s.cover_days === null ? "no demand" : s.cover_days + " days of cover";
    var words = [s.abc + " · " + s.pattern, s.daily.toFixed(2) + "/day", "stock " + s.position,
      "reorder point " + s.reorder_point.toFixed(1), cover];
    if (s.reorder) words.push("order " + s.reorder_qty);
    return words.join(" · ");
  }

  function draw(body) {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    var list = SF.$("fc-list");
    list.replaceChildren();
    var sel = SF.$("fc-warehouse");
    if (sel.options.length === 1) {
      body.warehouses.forEach(function (w) { sel.appendChild(el("option", null, w)).value = w; });
    }
    SF.$("fc-empty").hidden = body.total > 0;
    SF.$("fc-count").textContent = body.total > body.limit
      ? body.limit + " of " + body.total + " SKUs (reorders first)" : body.total + " SKUs";
    body.suggestions.forEach(function (s) {
      var fig = el("figure", "forecast" + (s.reorder ? " reorder" : "") + (s.overstock ? " overstock" : ""));
      fig.dataset.sku = s.sku;
      fig.dataset.warehouse = s.warehouse;
      var cap = el("figcaption");
      cap.appendChild(el("strong", null, s.warehouse + " · " + s.sku + " " + s.name));
      if (s.reorder) cap.appendChild(el("span", "flag flag-reorder", "reorder " + s.reorder_qty));
      if (s.overstock) cap.appendChild(el("span", "flag flag-overstock", "overstock"));
      cap.appendChild(el("span", "meta", facts(s)));
      fig.appendChild(cap);
      var box = el("div", "chart");
      fig.appendChild(box);
      list.appendChild(fig);
      chart(box, s);
    });
    var at = body.suggestions.length ? body.suggestions[0].computed_at : null;
    SF.$("fc-updated").textContent = at ? "forecast made " + SF.ago(at) : "no forecast yet";
    document.body.dataset.charts = String(charts.length);
  }

  function query() {
    var q = [];
    var w = SF.$("fc-warehouse").value, o = SF.$("fc-only").value;
    if (w) q.push("warehouse=" + encodeURIComponent(w));
    if (o) q.push("only=" + encodeURIComponent(o));
    return q.length ? "?" + q.join("&") : "";
  }

  function load() {
    SF.$("fc-csv").href = "/board/api/forecast.csv" + query();
    SF.api("GET", "/forecast" + query()).then(function (r) {
      if (r.ok) draw(r.body);
      else SF.$("fc-count").textContent = r.body.error || "the forecast cannot be read";
    });
  }

  SF.$("fc-warehouse").addEventListener("change", load);
  SF.$("fc-only").addEventListener("change", load);
  load();
})();
