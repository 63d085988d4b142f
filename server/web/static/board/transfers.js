// The "Transfers" panel: transfers not yet received with their units in transit, and the units
// in transit per SKU and pair of warehouses. Fetched from /board/api/transfers with the lower
// panels: on connect and every minute.
(function () {
  "use strict";
  var SF = window.SF;
  var el = SF.el;

  function fill(id, items, cells, nums, empty) {
    var frag = document.createDocumentFragment();
    items.forEach(function (r) {
      var tr = el("tr");
      cells(r).forEach(function (c, i) { tr.appendChild(el("td", i >= nums ? "num" : null, String(c))); });
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
    var moving = p.in_transit.reduce(function (n, x) { return n + x.units; }, 0);
    SF.$("tr-summary").textContent = p.transfers.length + " open, " + moving + " units in transit";
    fill("tr-open", p.transfers, function (t) {
      var units = t.lines.reduce(function (n, x) { return n + x.qty; }, 0);
      return [t.transfer, t.from_warehouse + " → " + t.to_warehouse, t.status.replace("_", " "), units, t.in_transit];
    }, 3, "No transfer on its way.");
    fill("tr-transit", p.in_transit, function (x) {
      return [x.sku, x.from_warehouse + " → " + x.to_warehouse, x.units];
    }, 2, "Nothing in transit.");
    document.body.dataset.transfers = String(Number(document.body.dataset.transfers || 0) + 1);
  }

  var refresh = SF.fresh("/transfers", render);

  SF.transfers = { refresh: refresh };
})();
