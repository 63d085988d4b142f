// The task board: a column per state, a card per pick list. The server holds the lists (a
// floor may have 60,000): the board gets each column's total and its first lists, asks
// /board/api/lists for later ones ("+N more"), and for filters, a search and the sorts, which
// run on the server. Deltas merge into what is loaded; a filtered view is asked for again when
// a change touches a list it shows or matches (at most every 2 s). The finished column
// (shipped: handed to a carrier) folds to a count unless opened; a card never cuts its due
// time, shop numbers or LATE badge (they wrap instead).
(function () {
  "use strict";
  var SF = window.SF;
  var el = SF.el;
  var STATES = [
    ["queued", "Queued"], ["picking", "Picking"], ["short", "Short"], ["to_pack", "To pack"],
    ["packing", "Packing"], ["packed", "Packed"], ["shipped", "Shipped"],
  ];
  var DONE = { packed: true, shipped: true };
  var CAP = 30;
  var FOLD = { shipped: true }; // finished: shown as a count unless unfolded
  var opened = {};
  var AT_RISK_MS = 60 * 60 * 1000; // promised within the hour: at risk (board setting below)
  var caps = {};
  var filters = { warehouse: "", zone: "", state: "", q: "", sort: "priority" };
  var lastLists = [];
  var lastTotals = {};
  var lastActive = 0;
  var view = null; // a filtered view: {lists, columns} from the server; null for the board's own
  var asked = 0; // the newest view asked for (answers to older ones are dropped)
  var refetchTimer = null;
  var refetchAt = 0;

  function atRiskMs() {
    var v = Number(document.body.dataset.atRiskMinutes);
    return v > 0 ? v * 60000 : AT_RISK_MS;
  }

  // late: promised_by has passed and the list is not packed; at risk: it passes within the hour.
  function urgency(p) {
    if (!p.promised_by || DONE[p.state]) return "";
    var t = SF.parseTime(p.promised_by);
    if (isNaN(t)) return "";
    var left = t - SF.serverNow();
    if (left < 0) return "late";
    return left < atRiskMs() ? "at-risk" : "";
  }

  function haystack(p) {
    var parts = [p.ref, p.tote, p.device, p.worker].concat(p.skus || [], p.totes || [], p.tracking || []);
    (p.order_refs || []).forEach(function (o) { parts.push(o.id, o.shop_id, o.shop_number); });
    return parts.filter(Boolean).join(" ").toLowerCase();
  }

  function filtered() {
    return !!(filters.warehouse || filters.zone || filters.state || filters.q || filters.sort !== "priority");
  }

  function query(extra) {
    var q = Object.assign({}, filters, extra || {});
    return Object.keys(q).filter(function (k) { return q[k] !== "" && q[k] !== undefined; })
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(q[k]); }).join("&");
  }

  // The server's order for the current sort (the cards a column shows, loaded and merged).
  function compare(a, b) {
    if (filters.sort === "oldest") return a.id - b.id;
    if (filters.sort === "newest") return b.id - a.id;
    if (filters.sort === "due") {
      var da = a.promised_by || "~", db = b.promised_by || "~";
      if (da !== db) return da < db ? -1 : 1;
    }
    return b.priority - a.priority || a.id - b.id;
  }

  function matches(p) {
    if (filters.warehouse && p.warehouse !== filters.warehouse) return false;
    if (filters.state && p.state !== filters.state) return false;
    if (filters.zone && (p.zones || "").split(",").indexOf(filters.zone) < 0) return false;
    if (filters.q) {
      if (!p._hay) p._hay = haystack(p);
      var words = filters.q.toLowerCase().split(/\s+/).filter(Boolean);
      for (var i = 0; i < words.length; i++) if (p._hay.indexOf(words[i]) < 0) return false;
    }
    return true;
  }

  function progress(done, total, kind) {
    var wrap = el("div", "progress progress-" + kind);
    var pct = total > 0 ? Math.min(100, Math.round((100 * done) / total)) : 0;
    var track = el("div", "bar");
    track.setAttribute("role", "progressbar");
    track.setAttribute("aria-valuemin", "0");
    track.setAttribute("aria-valuemax", String(total));
    track.setAttribute("aria-valuenow", String(done));
    track.setAttribute("aria-label", kind);
    var fill = el("div", "fill" + (total > 0 && done >= total ? " full" : ""));
    fill.style.width = pct + "%";
    track.appendChild(fill);
    wrap.appendChild(track);
    wrap.appendChild(el("span", "bar-num", done + " / " + total));
    return wrap;
  }

  function card(p) {
    var u = urgency(p);
    var c = el("article", "card " + SF.safeClass("st-", p.state) + (u ? " " + u : ""));
    c.dataset.ref = p.ref;
    c.dataset.state = p.state;
    c.tabIndex = 0;
    var head = el("div", "card-head");
    head.appendChild(el("span", "ref", p.ref));
    if (p.priority > 0) head.appendChild(el("span", "prio", "P" + p.priority));
    if (u) head.appendChild(el("span", "flag", u === "late" ? "LATE" : "AT RISK"));
    head.appendChild(el("span", "age", SF.span(p.created_at) || ""));
    c.appendChild(head);
    var refs = p.order_refs || [];
    var orders = el("div", "orders");
    refs.slice(0, 2).forEach(function (o) {
      var line = el("span", "order");
      line.appendChild(el("span", "order-id", o.id));
      var shop = o.shop_number || o.shop_id;
      if (shop) line.appendChild(el("span", "order-shop", shop));
      orders.appendChild(line);
    });
    if (refs.length > 2) orders.appendChild(el("span", "more", "+" + (refs.length - 2)));
    c.appendChild(orders);
    var totes = (p.totes && p.totes.length ? p.totes : [p.tote]).filter(Boolean);
    var where = [p.warehouse, p.zones ? "zone " + p.zones : "", totes.join(" ")].filter(Boolean).join(" · ");
    c.appendChild(el("div", "where", where));
    var who = el("div", "who");
    who.appendChild(el("span", "device", p.device || "no device"));
    if (p.worker) who.appendChild(el("span", "worker", p.worker));
    c.appendChild(who);
    c.appendChild(progress(p.picked, p.units, "picked"));
    if (p.state === "to_pack" || p.state === "packing" || p.checked > 0) c.appendChild(progress(p.checked, p.units, "checked"));
    if (p.promised_by) {
      var due = el("div", "due");
      due.appendChild(el("span", null, u === "late" ? "was due " : "due "));
      due.appendChild(el("time", "due-at", SF.shortTime(p.promised_by)));
      due.title = "promised by " + new Date(SF.parseTime(p.promised_by)).toLocaleString();
      c.appendChild(due);
    }
    c.addEventListener("click", function () { SF.drawer.openList(p.id); });
    c.addEventListener("keydown", function (e) { if (e.key === "Enter") SF.drawer.openList(p.id); });
    return c;
  }

  function options(select, values) {
    var keep = select.value;
    var frag = document.createDocumentFragment();
    frag.appendChild(el("option", null, "all")).value = "";
    values.forEach(function (v) { frag.appendChild(el("option", null, v[1] || v[0])).value = v[0]; });
    select.replaceChildren(frag);
    select.value = keep;
  }

  function fillFilters(choices) {
    var key = JSON.stringify(choices || {});
    if (!choices || key === fillFilters.key) return;
    fillFilters.key = key;
    options(SF.$("f-warehouse"), (choices.warehouses || []).map(function (w) { return [w]; }));
    options(SF.$("f-zone"), (choices.zones || []).map(function (z) { return [z]; }));
  }

  function merge(rows, more) {
    var seen = {};
    more.forEach(function (r) { seen[r.id] = true; });
    return rows.filter(function (r) { return !seen[r.id]; }).concat(more);
  }

  // Later lists of one column, from the server, in the current view.
  function more(state, loaded) {
    var token = asked;
    SF.api("GET", "/lists?" + query({ state: state, offset: loaded, limit: 100 })).then(function (r) {
      if (!r.ok) { SF.drawer.toast("Not done: " + (r.body.error || "the lists could not be loaded"), true); return; }
      if (token !== asked) return;
      if (view) view.lists = merge(view.lists, r.body.pick_lists);
      else SF.board.addLists(r.body.pick_lists);
      caps[state] = (caps[state] || CAP) + 100;
      draw();
    });
  }

  // Ask the server for the filtered view (filters, search, sort), or go back to the board's own.
  function fetchView() {
    clearTimeout(refetchTimer);
    refetchTimer = null;
    caps = {};
    var token = ++asked;
    if (!filtered()) { view = null; draw(); return; }
    refetchAt = Date.now();
    SF.api("GET", "/lists?" + query({ limit: CAP })).then(function (r) {
      if (token !== asked) return;
      if (!r.ok) { SF.drawer.toast("Not done: " + (r.body.error || "the search failed"), true); return; }
      view = { lists: r.body.pick_lists, columns: r.body.columns };
      document.body.dataset.views = String(Number(document.body.dataset.views || 0) + 1);
      draw();
    });
  }

  // A change reached the board: a filtered view takes the changed lists it matches, and is
  // asked for again (its totals and order) at most every 2 s.
  function changed(rows, removed) {
    if (!view) return;
    var gone = {};
    (removed || []).forEach(function (id) { gone[id] = true; });
    var shown = {};
    view.lists.forEach(function (p) { shown[p.id] = true; });
    var touches = (rows || []).some(function (p) { return shown[p.id] || matches(p); }) ||
      (removed || []).some(function (id) { return shown[id]; });
    view.lists = merge(view.lists.filter(function (p) { return !gone[p.id]; }), (rows || []).filter(matches));
    if (!touches || refetchTimer) return;
    refetchTimer = setTimeout(fetchView, Math.max(0, 2000 - (Date.now() - refetchAt)));
  }

  function draw() { render(lastLists, lastTotals, lastActive); }

  function find(id) {
    var pools = [view ? view.lists : [], lastLists];
    for (var i = 0; i < pools.length; i++) {
      var p = pools[i].filter(function (x) { return x.id === id; })[0];
      if (p) return p;
    }
    return null;
  }

  function render(lists, totals, active) {
    lastLists = lists || [];
    lastTotals = totals || {};
    lastActive = active || 0;
    var rowsIn = view ? view.lists : lastLists;
    var counts = view ? view.columns : lastTotals;
    var groups = {};
    STATES.forEach(function (s) { groups[s[0]] = []; });
    var shown = 0;
    rowsIn.forEach(function (p) {
      if (!groups[p.state] || (view && !matches(p))) return;
      groups[p.state].push(p);
    });
    STATES.forEach(function (s) {
      var total = counts[s[0]];
      groups[s[0]].total = total === undefined ? groups[s[0]].length : Math.max(total, groups[s[0]].length);
      if (!filters.state || filters.state === s[0]) shown += groups[s[0]].total;
    });
    var frag = document.createDocumentFragment();
    STATES.forEach(function (s) {
      if (filters.state && filters.state !== s[0]) return;
      var rows = groups[s[0]];
      var total = rows.total;
      rows.sort(compare);
      var folded = FOLD[s[0]] && !opened[s[0]] && !filters.state;
      var col = el("section", "column " + SF.safeClass("col-", s[0]) + (total ? "" : " empty-col") +
        (folded ? " folded" : ""));
      col.dataset.state = s[0];
      var h = el("h3", "column-head");
      h.appendChild(el("span", null, s[1]));
      h.appendChild(el("span", "column-n", total));
      col.appendChild(h);
      if (FOLD[s[0]] && total) {
        col.appendChild(SF.button(folded ? "show" : "fold", function () {
          opened[s[0]] = folded;
          draw();
        }, "fold-btn"));
      }
      if (folded) {
        frag.appendChild(col);
        return;
      }
      var body = el("div", "column-body");
      var cap = caps[s[0]] || CAP;
      rows.slice(0, cap).forEach(function (p) { body.appendChild(card(p)); });
      var drawn = Math.min(cap, rows.length);
      if (total > drawn) {
        body.appendChild(SF.button("+" + (total - drawn) + " more", function () {
          if (rows.length >= total || rows.length >= cap + 100) {
            caps[s[0]] = cap + 100;
            draw();
          } else {
            more(s[0], rows.length);
          }
        }, "more-cards"));
      }
      if (!rows.length) body.appendChild(el("p", "empty", "—"));
      col.appendChild(body);
      frag.appendChild(col);
    });
    SF.$("columns").replaceChildren(frag);
    var text = lastActive + (lastActive === 1 ? " pick list" : " pick lists") + " on the floor";
    if (view) text += " · " + shown + " shown";
    SF.$("lists-count").textContent = text;
  }

  function bindFilters() {
    SF.$("filters").addEventListener("submit", function (e) { e.preventDefault(); });
    options(SF.$("f-state"), STATES);
    [["f-warehouse", "warehouse"], ["f-zone", "zone"], ["f-state", "state"], ["f-sort", "sort"]].forEach(function (f) {
      SF.$(f[0]).addEventListener("change", function (e) { filters[f[1]] = e.target.value || (f[1] === "sort" ? "priority" : ""); fetchView(); });
    });
    var timer = null;
    SF.$("f-search").addEventListener("input", function (e) {
      clearTimeout(timer);
      timer = setTimeout(function () { filters.q = e.target.value.trim(); fetchView(); }, 250);
    });
  }

  bindFilters();
  SF.tasks = {
    render: render, urgency: urgency, changed: changed, find: find, fillFilters: fillFilters,
    // A fresh snapshot: a filtered view is asked for again (the snapshot holds the board's own).
    reload: function () { if (view) fetchView(); },
  };
})();
