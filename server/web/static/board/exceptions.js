// The counters and the one queue of what needs a person, with its actions. A counter that
// stands for queue items (backordered, bins to count, failed prints, packages held for their
// weight, missing packages) opens them.
(function () {
  "use strict";
  var SF = window.SF;
  var el = SF.el;
  var ORDER_STATUSES = [
    "received", "backordered", "allocated", "picking", "picked", "packed", "shipped",
    "in_transit", "out_for_delivery", "delivered", "exception", "returned", "cancelled",
  ];
  var WARN = { backordered: true, bins_to_count: true };
  var ALERT = { failed_prints: true, missing_packages: true, packages_held: true, exception: true };
  var LABELS = {
    failed_prints: "failed prints", missing_packages: "missing packages", packages_held: "held for weight",
    in_transit: "in transit", out_for_delivery: "out for delivery", delivered_today: "delivered today",
    exception: "delivery exceptions",
  };
  var COUNTER_KIND = {
    backordered: "backorder", bins_to_count: "count", failed_prints: "print", missing_packages: "missing",
    packages_held: "held",
  };
  var KINDS = [
    ["help", "Help"], ["short", "Short picks"], ["wrong_scans", "Wrong scans"], ["print", "Prints"],
    ["lease", "Leases"], ["backorder", "Backorders"], ["count", "Bins to count"],
    ["held", "Held for weight"], ["missing", "Missing packages"],
  ];
  var kind = "";
  var lastItems = [];

  function renderCounters(counts) {
    var keys = ORDER_STATUSES.slice();
    Object.keys(counts).forEach(function (k) {
      if (keys.indexOf(k) < 0 && k !== "failed_prints" && k !== "bins_to_count") keys.push(k);
    });
    keys.push("bins_to_count", "failed_prints");
    var frag = document.createDocumentFragment();
    keys.forEach(function (k) {
      var n = counts[k] || 0;
      var li = el("li", "counter");
      li.dataset.counter = k;
      if (n > 0 && ALERT[k]) li.classList.add("alert");
      else if (n > 0 && WARN[k]) li.classList.add("warn");
      else if (n === 0) li.classList.add("zero");
      var inner = COUNTER_KIND[k] ? el("button", "counter-btn") : el("span", "counter-box");
      if (COUNTER_KIND[k]) {
        inner.type = "button";
        inner.title = "show these in the queue";
        inner.addEventListener("click", function () { setKind(COUNTER_KIND[k]); });
      }
      inner.appendChild(el("span", "counter-n", n));
      inner.appendChild(el("span", "counter-label", LABELS[k] || k.replace(/_/g, " ")));
      li.appendChild(inner);
      frag.appendChild(li);
    });
    SF.$("counters").replaceChildren(frag);
  }

  function setKind(k) {
    kind = kind === k ? "" : k;
    render(lastItems);
    SF.$("exceptions-title").scrollIntoView({ block: "nearest" });
  }

  function act(item, verb) {
    return SF.api("POST", "/exceptions/" + encodeURIComponent(item.key) + "/" + verb).then(SF.drawer.report);
  }

  function row(item) {
    var li = el("li", "item " + SF.safeClass("k-", item.kind) + (item.acknowledged ? " acked" : ""));
    li.dataset.key = item.key;
    var head = el("div", "item-head");
    head.appendChild(el("span", "item-title", item.title));
    head.appendChild(el("span", "seen", SF.ago(item.at)));
    li.appendChild(head);
    var facts = [item.detail, item.device, item.worker, item.order_id, item.pick_list].filter(Boolean);
    li.appendChild(el("div", "item-detail", facts.join(" · ")));
    if (item.acknowledged) li.appendChild(el("div", "item-ack", "acknowledged by " + item.acknowledged_by));
    var acts = el("div", "item-actions");
    if (!item.acknowledged) acts.appendChild(SF.button("Acknowledge", function () { act(item, "acknowledge"); }));
    acts.appendChild(SF.button("Resolve", function () { act(item, "resolve"); }, "primary"));
    if (item.kind === "print" && item.package_id) {
      acts.appendChild(SF.button("Reprint", function () {
        SF.api("POST", "/packages/" + item.package_id + "/reprint", {}).then(SF.drawer.report);
      }));
    }
    if (item.kind === "held" && item.package_id) {
      acts.appendChild(SF.button("Accept weight", function () {
        SF.api("POST", "/packages/" + item.package_id + "/accept-weight", {}).then(SF.drawer.report);
      }));
    }
    if (item.kind === "count" && item.count_stage === "approval" && item.count_id) {
      ["approve", "reject"].forEach(function (verb) {
        acts.appendChild(SF.button(verb === "approve" ? "Approve count" : "Reject count", function () {
          SF.api("POST", "/counts/" + item.count_id + "/" + verb, {}).then(SF.drawer.report);
        }, verb === "approve" ? "primary" : undefined));
      });
    }
    if (item.kind === "missing" && /^\/board\/manifests\/\d+$/.test(item.manifest_url || "")) {
      var link = el("a", "btn", "Manifest");
      link.href = item.manifest_url;
      link.target = "_blank";
      link.rel = "noopener";
      acts.appendChild(link);
    }
    if (item.order_id) acts.appendChild(SF.button("Order", function () { SF.drawer.openOrder(item.order_id); }));
    if (item.pick_list) {
      acts.appendChild(SF.button("List", function () {
        SF.drawer.openList(parseInt(item.pick_list.replace(/^PL-0*/, ""), 10));
      }));
    }
    li.appendChild(acts);
    return li;
  }

  function renderChips(items) {
    var n = {};
    items.forEach(function (i) { n[i.kind] = (n[i.kind] || 0) + 1; });
    var frag = document.createDocumentFragment();
    var all = SF.button("All " + items.length, function () { kind = ""; render(lastItems); }, kind ? "chip" : "chip on");
    frag.appendChild(all);
    KINDS.forEach(function (k) {
      if (!n[k[0]] && kind !== k[0]) return;
      var b = SF.button(k[1] + " " + (n[k[0]] || 0), function () { setKind(k[0]); }, "chip" + (kind === k[0] ? " on" : ""));
      b.dataset.kind = k[0];
      frag.appendChild(b);
    });
    SF.$("exception-kinds").replaceChildren(frag);
  }

  function render(items) {
    lastItems = items;
    renderChips(items);
    var shown = items.filter(function (i) { return !kind || i.kind === kind; });
    var frag = document.createDocumentFragment();
    shown.slice(0, 100).forEach(function (i) { frag.appendChild(row(i)); });
    SF.$("exceptions").replaceChildren(frag);
    SF.$("exceptions-empty").hidden = shown.length > 0;
    var open = items.filter(function (i) { return !i.acknowledged; }).length;
    SF.$("exceptions-count").textContent = open + " open" + (items.length > open ? ", " + (items.length - open) + " acknowledged" : "");
  }

  SF.counters = { render: renderCounters };
  SF.exceptions = { render: render };
})();
