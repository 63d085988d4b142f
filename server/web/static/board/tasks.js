// The task board: a column per state, a card per pick list; filters and search run over the
// snapshot in the browser. Each column draws at most CAP cards ("+N more" shows the rest),
// so a floor of 1,000 lists stays quick. The finished column (shipped: handed to a carrier) folds to a
// count unless opened, so the columns with work keep the width; a card never cuts its due
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
  var filters = { warehouse: "", zone: "", state: "", q: "" };
  var lastLists = [];

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

  function fillFilters(lists) {
    var whs = {}, zones = {};
    lists.forEach(function (p) {
      whs[p.warehouse] = true;
      (p.zones || "").split(",").forEach(function (z) { if (z) zones[z] = true; });
    });
    var key = Object.keys(whs).sort().join("|") + "/" + Object.keys(zones).sort().join("|");
    if (key === fillFilters.key) return;
    fillFilters.key = key;
    options(SF.$("f-warehouse"), Object.keys(whs).sort().map(function (w) { return [w]; }));
    options(SF.$("f-zone"), Object.keys(zones).sort().map(function (z) { return [z]; }));
  }

  function render(lists) {
    lastLists = lists;
    fillFilters(lists);
    var groups = {};
    STATES.forEach(function (s) { groups[s[0]] = []; });
    var shown = 0, active = 0;
    lists.forEach(function (p) {
      if (!DONE[p.state]) active++;
      if (!groups[p.state] || !matches(p)) return;
      groups[p.state].push(p);
      shown++;
    });
    var frag = document.createDocumentFragment();
    STATES.forEach(function (s) {
      if (filters.state && filters.state !== s[0]) return;
      var rows = groups[s[0]];
      rows.sort(function (a, b) {
        var ua = urgency(a), ub = urgency(b);
        var rank = { late: 0, "at-risk": 1, "": 2 };
        return rank[ua] - rank[ub] || b.priority - a.priority || a.id - b.id;
      });
      var folded = FOLD[s[0]] && !opened[s[0]] && !filters.state;
      var col = el("section", "column " + SF.safeClass("col-", s[0]) + (rows.length ? "" : " empty-col") +
        (folded ? " folded" : ""));
      col.dataset.state = s[0];
      var h = el("h3", "column-head");
      h.appendChild(el("span", null, s[1]));
      h.appendChild(el("span", "column-n", rows.length));
      col.appendChild(h);
      if (FOLD[s[0]] && rows.length) {
        col.appendChild(SF.button(folded ? "show" : "fold", function () {
          opened[s[0]] = folded;
          render(lastLists);
        }, "fold-btn"));
      }
      if (folded) {
        frag.appendChild(col);
        return;
      }
      var body = el("div", "column-body");
      var cap = caps[s[0]] || CAP;
      rows.slice(0, cap).forEach(function (p) { body.appendChild(card(p)); });
      if (rows.length > cap) {
        body.appendChild(SF.button("+" + (rows.length - cap) + " more", function () {
          caps[s[0]] = cap + 100;
          render(lastLists);
        }, "more-cards"));
      }
      if (!rows.length) body.appendChild(el("p", "empty", "—"));
      col.appendChild(body);
      frag.appendChild(col);
    });
    SF.$("columns").replaceChildren(frag);
    var text = active + (active === 1 ? " pick list" : " pick lists") + " on the floor";
    if (shown !== lists.length) text += " · " + shown + " shown";
    SF.$("lists-count").textContent = text;
  }

  function bindFilters() {
    SF.$("filters").addEventListener("submit", function (e) { e.preventDefault(); });
    options(SF.$("f-state"), STATES);
    [["f-warehouse", "warehouse"], ["f-zone", "zone"], ["f-state", "state"]].forEach(function (f) {
      SF.$(f[0]).addEventListener("change", function (e) { filters[f[1]] = e.target.value; render(lastLists); });
    });
    var timer = null;
    SF.$("f-search").addEventListener("input", function (e) {
      clearTimeout(timer);
      timer = setTimeout(function () { filters.q = e.target.value.trim(); render(lastLists); }, 120);
    });
  }

  bindFilters();
  SF.tasks = { render: render, urgency: urgency };
})();
