// The "Cycle counts" panel: first-count accuracy, the least accurate bins and SKUs, open count
// tasks by stage and the recounts waiting for a supervisor, approved or rejected here. Fetched
// from /board/api/cycle-counts on connect, every minute, after each action, and whenever the
// board's queue shows a count change stage (a count handed in, decided or asked).
(function () {
  "use strict";
  var SF = window.SF;
  var el = SF.el;
  var seen = null;

  function pct(x) {
    return x === null || x === undefined ? "—" : (Math.round(x * 1000) / 10).toFixed(1) + " %";
  }

  function decide(task, verb) {
    return SF.api("POST", "/counts/" + task.id + "/" + verb, {}).then(SF.drawer.report);
  }

  function waitingItem(t) {
    var li = el("li", "item k-count");
    li.dataset.count = String(t.id);
    var head = el("div", "item-head");
    head.appendChild(el("span", "item-title", "Bin " + t.location + " (" + t.warehouse + ")"));
    head.appendChild(el("span", "seen", SF.ago(t.created_at)));
    li.appendChild(head);
    var diffs = t.lines.map(function (x) {
      return x.sku + (x.lot ? " lot " + x.lot : "") + ": " + x.counted + " counted, " + x.expected + " held";
    });
    li.appendChild(el("div", "item-detail", diffs.join("; ")));
    li.appendChild(el("div", "meta", "counted by " + (t.first_worker || "?") + ", recounted by " + (t.second_worker || "?")));
    var acts = el("div", "item-actions");
    acts.appendChild(SF.button("Approve count", function () { decide(t, "approve"); }, "primary"));
    acts.appendChild(SF.button("Reject count", function () { decide(t, "reject"); }));
    li.appendChild(acts);
    return li;
  }

  function rows(id, items, cells, empty) {
    var frag = document.createDocumentFragment();
    items.forEach(function (r) {
      var tr = el("tr");
      cells(r).forEach(function (c, i) { tr.appendChild(el("td", i ? "num" : null, c)); });
      frag.appendChild(tr);
    });
    if (!items.length) {
      var tr = el("tr");
      var td = el("td", "empty", empty);
      td.colSpan = SF.$(id).tHead.rows[0].cells.length;
      tr.appendChild(td);
      frag.appendChild(tr);
    }
    SF.$(id).tBodies[0].replaceChildren(frag);
  }

  function render(p) {
    SF.$("cc-accuracy").textContent = pct(p.accuracy);
    SF.$("cc-summary").textContent = p.counts
      ? p.accurate + " of " + p.counts + " first counts matched"
      : "no count handed in yet";
    ["count", "recount", "approval"].forEach(function (stage) {
      var li = document.querySelector('#cycle-counts [data-stage="' + stage + '"] .cc-n');
      li.textContent = String(p.open[stage] || 0);
    });
    var frag = document.createDocumentFragment();
    p.waiting.forEach(function (t) { frag.appendChild(waitingItem(t)); });
    SF.$("cc-waiting").replaceChildren(frag);
    SF.$("cc-waiting-empty").hidden = p.waiting.length > 0;
    rows("cc-bins", p.worst_bins, function (b) {
      return [b.location + " (" + b.warehouse + ")", b.counts, pct(b.accuracy)];
    }, "Every bin counted matched.");
    rows("cc-skus", p.worst_skus, function (s) {
      return [s.sku, s.lines, pct(s.accuracy), s.units_off];
    }, "Every SKU counted matched.");
    document.body.dataset.cycleCounts = String(Number(document.body.dataset.cycleCounts || 0) + 1);
  }

  var refresh = SF.fresh("/cycle-counts", render);

  // The board's queue carries every open count and its stage: fetch again when that changes.
  function follow(items) {
    var now = items.filter(function (i) { return i.kind === "count"; })
      .map(function (i) { return i.key + ":" + (i.count_stage || ""); }).sort().join(",");
    if (seen !== null && now !== seen) refresh();
    seen = now;
  }

  SF.cycleCounts = { refresh: refresh, follow: follow };
})();
