// The counters at the top, in groups a supervisor reads left to right: what is due (late now,
// due within the hour, due later today), each carrier's cut-off counting down, today's work,
// the orders open now, what needs a person, and the all-time totals apart. A counter that
// stands for queue items (backordered, bins to count, failed prints, packages held for their
// weight, missing packages) opens them.
(function () {
  "use strict";
  var SF = window.SF;
  var el = SF.el;
  var GROUPS = [
    ["due", "Due", ["late_now", "due_within_hour", "due_later_today"]],
    ["today", "Today", ["packed_today", "shipped_today", "delivered_today"]],
    ["open", "Open now", ["received", "backordered", "allocated", "picking", "picked", "packed",
      "in_transit", "out_for_delivery", "exception"]],
    ["person", "Needs a person", ["failed_prints", "bins_to_count", "packages_held", "missing_packages"]],
    ["ever", "All time", ["delivered", "returned", "cancelled"]],
  ];
  var LABELS = {
    late_now: "late now", due_within_hour: "due within the hour", due_later_today: "due later today",
    packed_today: "packed", shipped_today: "shipped", delivered_today: "delivered",
    in_transit: "in transit", out_for_delivery: "out for delivery", exception: "delivery exceptions",
    failed_prints: "failed prints", bins_to_count: "bins to count", packages_held: "held for weight",
    missing_packages: "missing packages",
  };
  var ALERT = { late_now: true, failed_prints: true, missing_packages: true, packages_held: true, exception: true };
  var WARN = { due_within_hour: true, backordered: true, bins_to_count: true };
  var KIND = {
    backordered: "backorder", bins_to_count: "count", failed_prints: "print", missing_packages: "missing",
    packages_held: "held",
  };
  var cutoffs = [];

  function counter(k, n) {
    var li = el("li", "counter");
    li.dataset.counter = k;
    if (n > 0 && ALERT[k]) li.classList.add("alert");
    else if (n > 0 && WARN[k]) li.classList.add("warn");
    else if (n === 0) li.classList.add("zero");
    var inner = KIND[k] ? el("button", "counter-btn") : el("span", "counter-box");
    if (KIND[k]) {
      inner.type = "button";
      inner.title = "show these in the queue";
      inner.addEventListener("click", function () { SF.exceptions.show(KIND[k]); });
    }
    inner.appendChild(el("span", "counter-n", n));
    inner.appendChild(el("span", "counter-label", LABELS[k] || k.replace(/_/g, " ")));
    li.appendChild(inner);
    return li;
  }

  // "in 2 h 05 m", "in 40 m", "passed": the time left to a carrier's cut-off.
  function left(iso) {
    var ms = SF.parseTime(iso) - SF.serverNow();
    if (isNaN(ms)) return "";
    if (ms <= 0) return "now";
    var m = Math.ceil(ms / 60000);
    return m < 60 ? "in " + m + " m" : "in " + Math.floor(m / 60) + " h " + String(m % 60).padStart(2, "0") + " m";
  }

  function cutoffItem(c) {
    var li = el("li", "counter cutoff");
    li.dataset.cutoff = c.carrier;
    var ms = SF.parseTime(c.next_at) - SF.serverNow();
    if (ms < 3600000 && c.waiting > 0) li.classList.add("warn");
    var box = el("span", "counter-box");
    box.appendChild(el("span", "counter-n cutoff-left", left(c.next_at)));
    box.appendChild(el("span", "counter-label", c.title + " cut-off " + c.cutoff +
      (c.waiting ? " · " + c.waiting + (c.waiting === 1 ? " package waits" : " packages wait") : "")));
    li.appendChild(box);
    return li;
  }

  function render(counts) {
    var frag = document.createDocumentFragment();
    GROUPS.forEach(function (g) {
      var group = el("li", "counter-group g-" + g[0]);
      group.dataset.group = g[0];
      group.appendChild(el("span", "group-title", g[1]));
      var ul = el("ul", "group-items");
      g[2].forEach(function (k) { ul.appendChild(counter(k, counts[k] || 0)); });
      if (g[0] === "due") cutoffs.forEach(function (c) { ul.appendChild(cutoffItem(c)); });
      group.appendChild(ul);
      frag.appendChild(group);
    });
    SF.$("counters").replaceChildren(frag);
  }

  function setCutoffs(list) {
    cutoffs = list || [];
    if (SF.board) SF.board.redraw();
  }

  SF.counters = { render: render, setCutoffs: setCutoffs };
})();
