// The one queue of what needs a person, with the actions that apply to each item. A bin to
// count is counted on a handheld; a count that still differs after its recount is approved
// or rejected here.
(function () {
  "use strict";
  var SF = window.SF;
  var el = SF.el;
  var KINDS = [
    ["help", "Help"], ["short", "Short picks"], ["wrong_scans", "Wrong scans"], ["print", "Prints"],
    ["lease", "Leases"], ["backorder", "Backorders"], ["count", "Bins to count"],
    ["held", "Held for weight"], ["missing", "Missing packages"],
  ];
  var kind = "";
  var lastItems = [];

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

  SF.exceptions = { render: render, show: setKind };
})();
