// The forecast page: a chart per SKU (uPlot, served from our own static files) of its demand
// per day as sold and as forecast, its stock now drawn down by the forecast, and its reorder
// point; read from /board/api/forecast, which only reads what the worker's forecast stored.
// Under each chart, the SKU's reorder policy key by key with where each key comes from, and
// above them the classes' policies: a supervisor sets or clears one there, and the page is
// read again (the server works the suggestions out again in the same write).
(function () {
  "use strict";
  var SF = window.SF;
  var el = SF.el;
  var DAY = 86400;
  var charts = [];
  var FROM = { sku: "SKU policy", "class": "class policy", config: "configuration" };
  var NUMBER = /^\s*-?(\d+\.?\d*|\.\d+)\s*$/;
  var answered = 0; // answers come in, shown or not (a newer one may have been shown first)

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

  function shown(v) { return String(Number(v.toFixed(4))); }

  function say(text, bad) {
    var said = SF.$("fc-said");
    said.textContent = text;
    said.className = "said" + (bad ? " bad" : "");
  }

  // The values typed: empty is the configuration's (null); a number as a number; anything
  // else as typed, for the server to refuse in words.
  function typed(form, keys) {
    var out = {};
    keys.forEach(function (k) {
      var v = form.elements[k.key].value;
      out[k.key] = v.trim() === "" ? null : NUMBER.test(v) ? Number(v) : v;
    });
    return out;
  }

  function send(form, path, body) {
    var note = form.querySelector(".said");
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    SF.api("POST", path, body).then(function (r) {
      form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      var text = r.ok ? "Done: " + r.body.done : "Not done: " + (r.body.error || "the server said " + r.status);
      note.textContent = text;
      note.className = "said" + (r.ok ? "" : " bad");
      say(text, !r.ok);
      if (r.ok) load();
    });
  }

  // One policy (a SKU's or a class's) as a form: each key in force, where it comes from, and
  // a field with what is set here (empty: not set here; its placeholder, the value in force).
  function policyBox(scope, name, policy, setBy, keys, key, isOpen) {
    var box = el("details", "policy");
    box.dataset.scope = scope;
    box.dataset.name = name;
    box.dataset.key = key;
    box.open = isOpen;
    var summary = el("summary", null, scope === "sku" ? "Reorder policy" : "Class " + name);
    summary.appendChild(el("span", "meta", keys.map(function (k) {
      return k.label + " " + shown(policy[k.key].value);
    }).join(" · ")));
    box.appendChild(summary);
    var form = el("form", "policy-form");
    var table = el("table");
    var head = el("tr");
    ["", "in force", "from", "set here"].forEach(function (t) { head.appendChild(el("th", null, t)); });
    table.appendChild(head);
    var own = false;
    keys.forEach(function (k) {
      var p = policy[k.key];
      var mine = p.from === scope;
      own = own || mine;
      var tr = el("tr");
      tr.dataset.key = k.key;
      tr.appendChild(el("th", null, k.label));
      tr.appendChild(el("td", "value", shown(p.value)));
      tr.appendChild(el("td", "from", FROM[p.from] || p.from));
      var input = el("input");
      input.type = "text";
      input.inputMode = "decimal";
      input.name = k.key;
      input.setAttribute("aria-label", k.label);
      input.value = mine ? shown(p.value) : "";
      input.placeholder = shown(p.value);
      var td = el("td");
      td.appendChild(input);
      tr.appendChild(td);
      table.appendChild(tr);
    });
    form.appendChild(table);
    var path = "/forecast/policies/" + scope + "/" + encodeURIComponent(name);
    var set = el("button", "btn primary", "Set policy");
    set.type = "submit";
    form.appendChild(set);
    if (own) {
      form.appendChild(SF.button("Clear policy", function () { send(form, path + "/clear", {}); }));
    }
    var whose = own ? "set here by " + (setBy || "?")
      : "follows " + (scope === "sku" ? "its class and the configuration" : "the configuration");
    form.appendChild(el("span", "meta", whose + (scope === "sku" ? " · in every warehouse" : "")));
    form.appendChild(el("p", "said"));
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      send(form, path, typed(form, keys));
    });
    box.appendChild(form);
    return box;
  }

  function drawClasses(body, open) {
    var section = SF.$("fc-classes");
    section.replaceChildren(el("h2", null, "Class policies"));
    body.classes.forEach(function (c) {
      var key = "class:" + c.name;
      section.appendChild(policyBox("class", c.name, c.policy, c.set_by, body.keys, key, !!open[key]));
    });
  }

  function draw(body) {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    var open = {};
    document.querySelectorAll("details.policy[open]").forEach(function (d) { open[d.dataset.key] = true; });
    drawClasses(body, open);
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
      if (s.policy) {
        var key = "sku:" + s.warehouse + ":" + s.sku;
        fig.appendChild(policyBox("sku", s.sku, s.policy, s.policy_set_by, body.keys, key, !!open[key]));
      }
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

  // The newest asked only is drawn: a filter changed twice, or a change's read-back crossing
  // a filter's, may be answered out of order.
  var refresh = SF.fresh(function () { return "/forecast" + query(); }, draw);

  function load() {
    SF.$("fc-csv").href = "/board/api/forecast.csv" + query();
    refresh().then(function (r) {
      if (!r.ok) SF.$("fc-count").textContent = r.body.error || "the forecast cannot be read";
      document.body.dataset.answered = String(++answered);
    });
  }

  SF.$("fc-warehouse").addEventListener("change", load);
  SF.$("fc-only").addEventListener("change", load);
  load();
})();
