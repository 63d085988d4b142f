// The supervisors' board: draws the `snapshot` from the /board namespace, then merges each `delta`.
// Order ids and device names come from shops and admins: they only ever go
// into the page as textContent, never as HTML.
(function () {
  "use strict";

  var ORDER_STATUSES = [
    "received", "backordered", "allocated", "picking", "picked", "packed", "shipped", "cancelled",
  ];
  var WARN_COUNTERS = { backordered: true };
  var ALERT_COUNTERS = { failed_prints: true, missing_packages: true };
  var COUNTER_LABELS = { failed_prints: "failed prints", missing_packages: "missing packages" };
  var ORDERS_SHOWN = 3;
  var RECENT_PACKED = 20;

  var last = null; // the latest snapshot
  var skewMs = 0; // browser clock minus server clock

  function $(id) { return document.getElementById(id); }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function cell(text, className) {
    var empty = text === null || text === undefined || text === "";
    var td = el("td", className, empty ? "—" : text);
    if (empty) td.classList.add("none");
    return td;
  }

  function safeClass(prefix, value) {
    return /^[a-z_]+$/.test(String(value)) ? prefix + value : "";
  }

  function parseTime(iso) {
    if (!iso) return NaN;
    // Stored with microseconds; keep milliseconds for Date.parse.
    return Date.parse(String(iso).replace(/(\.\d{3})\d+/, "$1"));
  }

  function ago(iso) {
    var t = parseTime(iso);
    if (isNaN(t)) return "never";
    var s = Math.max(0, Math.round((Date.now() - skewMs - t) / 1000));
    if (s < 5) return "just now";
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    return Math.floor(s / 86400) + " d ago";
  }

  function clock(ms) {
    return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function bar(done, total, kind) {
    var td = el("td", "col-bar");
    var pct = total > 0 ? Math.min(100, Math.round((100 * done) / total)) : 0;
    var track = el("div", "bar bar-" + kind);
    track.setAttribute("role", "progressbar");
    track.setAttribute("aria-valuemin", "0");
    track.setAttribute("aria-valuemax", String(total));
    track.setAttribute("aria-valuenow", String(done));
    var fill = el("div", "fill" + (total > 0 && done >= total ? " full" : ""));
    fill.style.width = pct + "%";
    track.appendChild(fill);
    td.appendChild(track);
    td.appendChild(el("span", "bar-num", done + " / " + total));
    return td;
  }

  function renderCounters(counts) {
    var keys = ORDER_STATUSES.slice();
    Object.keys(counts).forEach(function (k) {
      if (keys.indexOf(k) < 0 && k !== "failed_prints") keys.push(k);
    });
    keys.push("failed_prints");
    var frag = document.createDocumentFragment();
    keys.forEach(function (k) {
      var n = counts[k] || 0;
      var li = el("li", "counter");
      li.dataset.counter = k;
      if (n > 0 && ALERT_COUNTERS[k]) li.classList.add("alert");
      else if (n > 0 && WARN_COUNTERS[k]) li.classList.add("warn");
      else if (n === 0) li.classList.add("zero");
      li.appendChild(el("span", "counter-n", n));
      li.appendChild(el("span", "counter-label", COUNTER_LABELS[k] || k.replace(/_/g, " ")));
      frag.appendChild(li);
    });
    $("counters").replaceChildren(frag);
  }

  function ordersCell(refs) {
    var td = el("td", "orders");
    if (!refs || !refs.length) { td.textContent = "—"; return td; }
    refs.slice(0, ORDERS_SHOWN).forEach(function (o) {
      var line = el("div", "order");
      line.appendChild(el("span", "order-id", o.id));
      var shop = o.shop_number || o.shop_id;  // the number people see in the shop (#1043)
      if (shop) line.appendChild(el("span", "order-shop", shop));
      td.appendChild(line);
    });
    if (refs.length > ORDERS_SHOWN) td.appendChild(el("div", "more", "+" + (refs.length - ORDERS_SHOWN) + " more"));
    td.title = refs.map(function (o) {
      var shop = o.shop_number || o.shop_id;
      return shop ? o.id + " (" + shop + ")" : o.id;
    }).join("\n");
    return td;
  }

  function renderPickLists(lists) {
    // Lists still on the floor first; the recently packed ones sink to the bottom.
    var rows = lists.slice().sort(function (a, b) {
      return (a.status === "packed") - (b.status === "packed") || a.id - b.id;
    });
    var frag = document.createDocumentFragment();
    rows.forEach(function (p) {
      var tr = el("tr", safeClass("row-", p.status));
      tr.dataset.ref = p.ref;
      var ref = el("td", "ref", p.ref);
      if (p.priority > 0) ref.appendChild(el("span", "prio", "P" + p.priority));
      tr.appendChild(ref);
      tr.appendChild(cell(p.warehouse));
      var st = el("td", "status");
      st.appendChild(el("span", "badge " + safeClass("st-", p.status), p.status));
      tr.appendChild(st);
      tr.appendChild(cell(p.device, "device"));
      tr.appendChild(cell(p.tote, "tote"));
      tr.appendChild(ordersCell(p.order_refs || (p.orders || []).map(function (id) { return { id: id }; })));
      tr.appendChild(bar(p.picked, p.units, "picked"));
      tr.appendChild(bar(p.checked, p.units, "checked"));
      frag.appendChild(tr);
    });
    $("pick-lists").tBodies[0].replaceChildren(frag);
    $("lists-empty").hidden = rows.length > 0;
    var active = rows.filter(function (p) { return p.status !== "packed"; }).length;
    $("lists-count").textContent = active + (active === 1 ? " pick list" : " pick lists") + " on the floor";
  }

  function renderDevices(devices) {
    var frag = document.createDocumentFragment();
    devices.forEach(function (d) {
      var tr = el("tr", d.connected ? "online" : "offline");
      tr.dataset.device = d.name;
      tr.appendChild(el("td", "name", d.name));
      tr.appendChild(cell(d.role));
      tr.appendChild(cell(d.warehouse));
      var link = el("td", "link-cell");
      link.appendChild(el("span", "dot " + (d.connected ? "dot-on" : "dot-off")));
      link.appendChild(el("span", "dot-text", d.connected ? "online" : "offline"));
      tr.appendChild(link);
      tr.appendChild(cell(d.pick_list, "ref"));
      tr.appendChild(el("td", "num", d.scans));
      tr.appendChild(el("td", "num" + (d.wrong_scans > 0 ? " wrong" : ""), d.wrong_scans));
      var seen = el("td", "seen", ago(d.last_seen));
      seen.dataset.at = d.last_seen || "";
      if (d.last_seen) seen.title = d.last_seen;
      tr.appendChild(seen);
      frag.appendChild(tr);
    });
    $("devices").tBodies[0].replaceChildren(frag);
    $("devices-empty").hidden = devices.length > 0;
    var online = devices.filter(function (d) { return d.connected; }).length;
    $("devices-count").textContent = online + " of " + devices.length + (devices.length === 1 ? " device" : " devices") + " online";
  }

  // One alert table (failed prints, help requests, short picks): a row per item, hidden when empty.
  // Each column is [field, className] or a function of the item giving the cell's text.
  function renderAlerts(tableId, sectionId, rows, rowKey, columns) {
    var frag = document.createDocumentFragment();
    rows.forEach(function (x) {
      var tr = el("tr");
      tr.dataset[rowKey] = String(x.id);
      columns.forEach(function (col) {
        if (typeof col === "function") { tr.appendChild(cell(col(x))); return; }
        if (col[1] === "num") { tr.appendChild(el("td", "num", x[col[0]])); return; }
        tr.appendChild(cell(x[col[0]], col[1]));
      });
      var when = el("td", "seen", ago(x.at));
      when.dataset.at = x.at || "";
      tr.appendChild(when);
      frag.appendChild(tr);
    });
    $(tableId).tBodies[0].replaceChildren(frag);
    $(sectionId).hidden = rows.length === 0;
  }

  function render(snap) {
    last = snap;
    var serverNow = parseTime(snap.at);
    skewMs = isNaN(serverNow) ? 0 : Date.now() - serverNow;
    renderCounters(snap.counts || {});
    renderPickLists(snap.pick_lists || []);
    renderDevices(snap.devices || []);
    var prints = (snap.failed_print_jobs || []).map(function (j) {
      return Object.assign({}, j, { at: j.updated_at });
    });
    renderAlerts("failed-prints", "prints-section", prints, "job",
      [["id", "num"], ["order_id"], ["device"], ["attempts", "num"], ["error", "error"]]);
    renderAlerts("help-requests", "help-section", snap.help_requests || [], "help",
      [["device"], ["warehouse"], function (x) {
        return x.pick_list_id == null ? null : "PL-" + String(x.pick_list_id).padStart(6, "0");
      }]);
    renderAlerts("short-picks", "shorts-section", snap.short_picks || [], "short",
      [["location"], ["sku"], ["order_id"], ["device"], ["wanted", "num"], ["found", "num"],
       ["reason"], function (x) { return x.outcome.replace("_", " "); }]);
    renderAlerts("missing-packages", "missing-section", snap.missing_packages || [], "missing",
      [["tracking"], ["order_id"], ["carrier"], ["warehouse"], ["manifest_id", "num"]]);
    $("summary").textContent = $("lists-count").textContent + " · " + $("devices-count").textContent;
    $("updated").textContent = "updated " + clock(Date.now());
    document.body.dataset.snapshots = String(Number(document.body.dataset.snapshots || 0) + 1);
  }

  // A delta names only the rows a change touched: merge them into the last snapshot.
  function byId(rows) {
    var map = {};
    (rows || []).forEach(function (r) { map[r.id] = r; });
    return map;
  }

  function merge(rows, changed, removed) {
    var fresh = byId(changed);
    var gone = {};
    (removed || []).forEach(function (id) { gone[id] = true; });
    var out = rows.filter(function (r) { return !gone[r.id] && !fresh[r.id]; });
    return out.concat(changed || []);
  }

  function recentPacked(lists) {
    // Keep every list on the floor and only the newest packed ones, as a snapshot does.
    var packed = lists.filter(function (p) { return p.status === "packed"; });
    packed.sort(function (a, b) { return String(b.packed_at).localeCompare(String(a.packed_at)); });
    var keep = {};
    packed.slice(0, RECENT_PACKED).forEach(function (p) { keep[p.id] = true; });
    return lists.filter(function (p) { return p.status !== "packed" || keep[p.id]; });
  }

  function applyDelta(d) {
    if (!last) return; // no snapshot yet: the one coming on connect has everything
    var snap = Object.assign({}, last, {
      pick_lists: recentPacked(merge(last.pick_lists || [], d.pick_lists, d.removed_lists)),
      devices: merge(last.devices || [], d.devices).sort(function (a, b) {
        return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
      }),
      at: d.at,
    });
    ["counts", "failed_print_jobs", "short_picks", "help_requests", "missing_packages"].forEach(function (k) {
      if (d[k] !== undefined) snap[k] = d[k];
    });
    render(snap);
  }

  function refreshAges() {
    var cells = document.querySelectorAll("td.seen");
    for (var i = 0; i < cells.length; i++) cells[i].textContent = ago(cells[i].dataset.at);
  }

  function setLink(state) {
    var link = $("link");
    link.className = "link link-" + state;
    $("link-text").textContent = state === "live" ? "live" : state === "wait" ? "connecting…" : "reconnecting…";
    document.body.dataset.link = state;
    $("board").classList.toggle("stale", state !== "live");
  }

  function start() {
    if (typeof io !== "function") {
      setLink("down");
      $("link-text").textContent = "socket.io client missing";
      return;
    }
    var socket = io("/board", { reconnectionDelayMax: 5000 });
    socket.on("connect", function () { setLink("live"); });
    socket.on("disconnect", function () { setLink("down"); });
    socket.on("connect_error", function () { setLink("down"); });
    socket.on("snapshot", render);
    socket.on("delta", applyDelta);
    setInterval(refreshAges, 5000);
    window.scanfloorBoard = { socket: socket, last: function () { return last; } };
  }

  start();
})();
