// The side drawer: a pick list with its actions (reassign, release), or an order's view
// (customer and address, tracking link, timeline in words, labels as pictures, scans, mails,
// webhooks) with the actions that apply to it (priority; cancel only before it ships; reprint;
// the customer service actions of service.js, as the server's `actions` say). Every
// action's answer is said in words in the toast, never as an HTTP code; the board itself
// changes through the live updates.
(function () {
  "use strict";
  var SF = window.SF;
  var el = SF.el;
  var open = null; // {kind: "list", id} or {kind: "order", ref}
  var toastTimer = null;

  function toast(text, bad) {
    var t = SF.$("toast");
    if (!t) {
      t = el("p", "toast");
      t.id = "toast";
      t.setAttribute("role", "status");
      document.body.appendChild(t);
    }
    t.textContent = text;
    t.className = "toast" + (bad ? " bad" : "");
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { t.hidden = true; }, bad ? 8000 : 4000);
  }

  function report(r) {
    if (r.ok) toast("Done: " + describe(r.body));
    else toast(refusal(r), true);
    SF.lower.refresh();
    if (open && open.kind === "order" && r.ok) showOrder(open.ref);
    return r;
  }

  // A refusal in words: the server's own sentence, else what the status means to a person.
  function refusal(r) {
    var why = r.body && r.body.error;
    if (why) return "Not done: " + String(why).replace(/^refused:\s*/, "");
    if (r.status === 0) return "Not done: the server cannot be reached";
    if (r.status === 403) return "Not done: your account may not do this";
    if (r.status === 404) return "Not done: it is not there any more";
    if (r.status === 409) return "Not done: it changed meanwhile; look again";
    return "Not done: the server refused it";
  }

  function describe(b) {
    if (b.kind && b.mail) return "the " + b.kind.replace(/_/g, " ") + " mail to " + b.order + "'s customer is queued again";
    if (b.transfer && b.done) return b.transfer + ": " + b.done;
    if (b.lost) return "parcel " + b.lost + " marked lost: " + b.said;
    if (b.status) return b.key + " " + b.status;
    if (b.job_id) return "label sent to " + b.device;
    if (b.device) return SF.listRef(b.pick_list) + " moved to " + b.device;
    if (b.priority !== undefined) return b.order + " priority " + b.priority;
    if (b.released !== undefined) return b.said || b.order + " cancelled";
    if (b.changed !== undefined) return !b.changed ? b.order + ": the address was the same" :
      b.order + " will go to the new address" + (b.reallocated ? (b.warehouse ? ", now from " + b.warehouse : ", and waits for stock") : "");
    if (b.rma) return b.rma + " authorised: the dock receives it by that number or the parcel's label";
    if (b.pick_list) return SF.listRef(b.pick_list) + " back in the queue";
    return "ok";
  }

  function show(title) {
    SF.$("drawer-title").textContent = title;
    SF.$("drawer").hidden = false;
    document.body.classList.add("drawer-open");
    return SF.$("drawer-body");
  }

  function close() {
    open = null;
    SF.$("drawer").hidden = true;
    document.body.classList.remove("drawer-open");
  }

  function facts(pairs) {
    var dl = el("dl", "facts");
    pairs.forEach(function (p) {
      if (p[1] === null || p[1] === undefined || p[1] === "") return;
      dl.appendChild(el("dt", null, p[0]));
      dl.appendChild(el("dd", p[2] || null, p[1]));
    });
    return dl;
  }

  function table(head, rows) {
    var wrap = el("div", "scroll");
    var t = el("table", "grid compact");
    var tr = el("tr");
    head.forEach(function (h) { tr.appendChild(el("th", null, h)); });
    t.appendChild(el("thead")).appendChild(tr);
    var body = el("tbody");
    rows.forEach(function (r) {
      var row = el("tr");
      r.forEach(function (c) { row.appendChild(el("td", null, c === null || c === undefined ? "—" : c)); });
      body.appendChild(row);
    });
    t.appendChild(body);
    wrap.appendChild(t);
    return wrap;
  }

  function listView(id) {
    var last = SF.board.last() || {};
    var p = SF.tasks.find(id);
    var body = show(p ? p.ref : SF.listRef(id));
    var frag = document.createDocumentFragment();
    if (!p) {
      frag.appendChild(el("p", "empty", "This list is not on the board any more."));
      body.replaceChildren(frag);
      return;
    }
    var u = SF.tasks.urgency(p);
    frag.appendChild(facts([
      ["State", p.state.replace("_", " "), "drawer-state"], ["Warehouse", p.warehouse], ["Zones", p.zones],
      ["Device", p.device, "drawer-device"], ["Worker", p.worker], ["Tote", (p.totes || []).join(", ") || p.tote],
      ["Picked", p.picked + " / " + p.units], ["Checked", p.checked + " / " + p.units],
      ["Priority", p.priority], ["Promised by", p.promised_by ? SF.shortTime(p.promised_by) + (u ? " (" + u.replace("-", " ") + ")" : "") : null],
      ["Created", SF.shortTime(p.created_at)], ["SKUs", (p.skus || []).join(", ")],
    ]));
    if (p.status === "open" || p.status === "assigned") {
      var box = el("div", "actions");
      var label = el("label", null, "Move to ");
      var pick = el("select");
      pick.id = "reassign-to";
      // Only pickers online now: a list moved to a handheld nobody holds waits for its lease.
      var free = (last.devices || []).filter(function (d) {
        return d.role === "picker" && d.warehouse === p.warehouse && !d.pick_list && d.name !== p.device && d.connected;
      });
      free.forEach(function (d) {
        var o = el("option", null, d.name + (d.worker ? " · " + d.worker : ""));
        o.value = d.name;
        pick.appendChild(o);
      });
      label.appendChild(pick);
      box.appendChild(label);
      var move = SF.button("Reassign", function () {
        if (!pick.value) return;
        SF.api("POST", "/lists/" + p.id + "/reassign", { device: pick.value }).then(report);
      }, "primary");
      move.id = "reassign";
      move.disabled = free.length === 0;
      box.appendChild(move);
      if (!free.length) box.appendChild(el("span", "meta", "no free picker of " + p.warehouse + " is online"));
      if (p.status === "assigned") {
        var rel = SF.button("Release to queue", function () {
          SF.api("POST", "/lists/" + p.id + "/release").then(report);
        });
        rel.id = "release";
        box.appendChild(rel);
      }
      frag.appendChild(box);
    }
    frag.appendChild(el("h3", null, "Orders"));
    var ul = el("ul", "order-links");
    (p.order_refs || []).forEach(function (o) {
      var li = el("li");
      li.appendChild(SF.button(o.id + (o.shop_number || o.shop_id ? " · " + (o.shop_number || o.shop_id) : ""), function () {
        showOrder(o.id);
      }, "link-btn"));
      li.appendChild(el("span", "meta", " " + o.status + (o.promised_by ? " · promised " + SF.shortTime(o.promised_by) : "")));
      ul.appendChild(li);
    });
    frag.appendChild(ul);
    body.replaceChildren(frag);
  }

  function openList(id) {
    open = { kind: "list", id: id };
    listView(id);
  }

  // Local date and time, the way a person reads it ("3 Dec, 14:05").
  function when(iso) {
    var t = SF.parseTime(iso);
    if (isNaN(t)) return "—";
    return new Date(t).toLocaleString([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  }

  function address(a) {
    if (!a) return null;
    return [a.name, a.company, a.line1, a.line2, [a.postcode, a.city].filter(Boolean).join(" "), a.state, a.country]
      .filter(Boolean).join(", ");
  }

  function trackLink(url) {
    if (!url) return null;
    var path = url.replace(/^https?:\/\/[^/]+/, ""); // this server serves the page too
    var a = el("a", "track-link", "tracking page");
    a.href = path;
    a.target = "_blank";
    a.rel = "noopener";
    return a;
  }

  function labelView(l, v) {
    var lab = el("figure", "label");
    lab.dataset.package = String(l.id);
    var img = el("img", "label-img");
    img.alt = "label of package " + l.id + ", tracking " + l.tracking;
    img.src = "/board/api/packages/" + l.id + "/label.png";
    lab.appendChild(img);
    var cap = el("figcaption", "meta", "package " + l.id + " · " + l.tracking + " · " +
      [l.carrier, l.service].filter(Boolean).join(" ") + " · " + l.status.replace("_", " "));
    if (!l.lost_at) {
      cap.appendChild(SF.button("Reprint", function () {
        SF.api("POST", "/packages/" + l.id + "/reprint", {}).then(report);
      }));
    }
    var reship = SF.service.reshipButton(l, v, report);
    if (reship) cap.appendChild(reship);
    lab.appendChild(cap);
    return lab;
  }

  // Returns: those made, and a return to authorise while shipped units may still come back.
  function returnsView(o, v) {
    var sec = el("div", "returns");
    sec.id = "order-returns";
    sec.appendChild(el("h3", null, "Returns"));
    (v.returns || []).forEach(function (r) {
      sec.appendChild(el("p", "meta", r.rma + " · " + r.status + " · from " + r.source));
    });
    var skus = Object.keys(v.returnable || {});
    if (!skus.length) {
      sec.appendChild(el("p", "empty", (v.returns || []).length ? "Nothing more may come back."
        : "Nothing shipped yet: nothing to return."));
      return sec;
    }
    var inputs = {};
    skus.forEach(function (sku) {
      var label = el("label", "return-line", sku + " (up to " + v.returnable[sku] + ") ");
      var n = el("input");
      n.type = "number"; n.min = "0"; n.max = String(v.returnable[sku]); n.value = "0";
      n.dataset.sku = sku;
      label.appendChild(n);
      inputs[sku] = n;
      sec.appendChild(label);
    });
    var why = el("input");
    why.type = "text"; why.placeholder = "why it comes back"; why.maxLength = 200; why.id = "return-reason";
    sec.appendChild(why);
    sec.appendChild(SF.button("Authorise return", function () {
      var lines = skus.map(function (sku) { return { sku: sku, qty: Number(inputs[sku].value) }; })
        .filter(function (l) { return l.qty > 0; });
      if (!lines.length) { toast("Not done: say how many units of which item come back", true); return; }
      SF.api("POST", "/orders/" + encodeURIComponent(o.id) + "/return", { lines: lines, reason: why.value }).then(report);
    }));
    return sec;
  }

  function showOrder(ref) {
    open = { kind: "order", ref: ref };
    var body = show("Order " + ref);
    body.replaceChildren(el("p", "empty", "loading…"));
    SF.api("GET", "/orders/" + encodeURIComponent(ref)).then(function (r) {
      if (!open || open.ref !== ref) return;
      if (!r.ok) { body.replaceChildren(el("p", "error", refusal(r))); return; }
      var v = r.body, o = v.order;
      SF.$("drawer-title").textContent = "Order " + o.id + (o.shop_number ? " · " + o.shop_number : "");
      var frag = document.createDocumentFragment();
      var to = o.ship_to || {};
      var dl = facts([
        ["Status", o.status.replace(/_/g, " "), "order-status"], ["Customer", to.name, "order-customer"],
        ["Ship to", address(to), "order-address"], ["E-mail", o.email],
        ["Shop", (o.channel || "") + " " + (o.order_id || "")],
        ["Priority", o.priority], ["Promised by", o.promised_by ? when(o.promised_by) : null],
        ["Warehouse", o.warehouse], ["Pick lists", v.pick_lists.join(", ")],
        ["Lines", (o.lines || []).map(function (l) { return l.qty + " × " + l.sku; }).join(", ")],
      ]);
      var link = trackLink(o.tracking_url);
      if (link) {
        dl.appendChild(el("dt", null, "Tracking"));
        var dd = el("dd", "order-tracking");
        dd.appendChild(link);
        dd.appendChild(document.createTextNode(" " + (o.packages || []).map(function (k) { return k.tracking; }).join(", ")));
        dl.appendChild(dd);
      }
      frag.appendChild(dl);
      var box = el("div", "actions");
      var prio = el("select");
      prio.id = "priority";
      for (var i = 0; i <= 9; i++) { var opt = el("option", null, "P" + i); opt.value = String(i); prio.appendChild(opt); }
      prio.value = String(o.priority || 0);
      box.appendChild(prio);
      box.appendChild(SF.button("Set priority", function () {
        SF.api("POST", "/orders/" + encodeURIComponent(o.id) + "/priority", { priority: Number(prio.value) }).then(report);
      }));
      if (v.actions.cancel) {  // the server's rules: not offered, and why
        box.appendChild(el("span", "meta no-cancel", v.actions.cancel));
      } else {
        // With a parcel at the carrier, only the rest is cancelled: the page says which units.
        var rest = v.actions.cancel_rest;
        if (rest) box.appendChild(el("span", "meta cancel-rest", rest));
        var reason = el("input");
        reason.type = "text";
        reason.placeholder = "reason";
        reason.maxLength = 200;
        reason.id = "cancel-reason";
        box.appendChild(reason);
        box.appendChild(SF.button(rest ? "Cancel the rest" : "Cancel order", function () {
          if (!window.confirm(rest ? "This " + rest + "?" : "Cancel order " + o.id + "?")) return;
          SF.api("POST", "/orders/" + encodeURIComponent(o.id) + "/cancel", { reason: reason.value }).then(report);
        }, "danger"));
      }
      frag.appendChild(box);
      frag.appendChild(SF.service.addressForm(o, v, report));
      frag.appendChild(returnsView(o, v));
      frag.appendChild(el("h3", null, "Timeline"));
      var tl = el("ol", "timeline");
      v.timeline.forEach(function (e) {
        var li = el("li");
        li.appendChild(el("time", "seen", when(e.at)));
        li.appendChild(el("span", "says", e.says));
        tl.appendChild(li);
      });
      frag.appendChild(tl);
      frag.appendChild(el("h3", null, "Labels"));
      if (!v.labels.length) frag.appendChild(el("p", "empty", "No label yet."));
      v.labels.forEach(function (l) { frag.appendChild(labelView(l, v)); });
      frag.appendChild(SF.service.mailsView(o, v, report));
      frag.appendChild(SF.service.webhooksView(v));
      frag.appendChild(el("h3", null, "Scans"));
      frag.appendChild(table(["When", "Device", "Worker", "Barcode", "Result", "List"], v.scans.map(function (s) {
        return [when(s.at), s.device, s.worker, s.barcode, (s.ok ? "ok" : "refused: " + s.code.replace(/_/g, " ")) + (s.offline ? " (offline)" : ""), s.pick_list];
      })));
      body.replaceChildren(frag);
    });
  }

  function refresh() {
    if (open && open.kind === "list") listView(open.id);
  }

  SF.$("drawer-close").addEventListener("click", close);
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") close(); });
  SF.drawer = { openList: openList, openOrder: showOrder, refresh: refresh, report: report, toast: toast };
})();
