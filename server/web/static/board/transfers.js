// The "Transfers" panel: transfers not yet received with their units in transit (a planned one
// can be cancelled here), the units over-received at a dock and set aside (all or some of them
// accepted into a bin or rejected here), and the units in transit per SKU and pair of warehouses. Fetched from
// /board/api/transfers with the lower panels: on connect, every minute and after each action.
(function () {
  "use strict";
  var SF = window.SF;
  var el = SF.el;
  // What a supervisor typed into a bin or units field, by transfer, SKU and lot: the panel is drawn
  // again every minute and after every action, and must not lose it.
  var typed = {};

  // A cell is text, or a node (the actions); `nums` is the first numeric column.
  function fill(id, items, cells, nums, empty) {
    var frag = document.createDocumentFragment();
    items.forEach(function (r) {
      var tr = el("tr");
      cells(r).forEach(function (c, i) {
        if (c instanceof Node) {
          var td = el("td", "actions");
          td.appendChild(c);
          tr.appendChild(td);
        } else {
          tr.appendChild(el("td", i >= nums && typeof c === "number" ? "num" : null, String(c)));
        }
      });
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

  // The report refreshes the lower panels, this one among them.
  function act(path, body) {
    return SF.api("POST", "/transfers/" + path, body).then(SF.drawer.report);
  }

  // The server's rules: a transfer that has left offers no cancel, and says why.
  function cancelCell(t) {
    if (t.no_cancel) return el("span", "meta no-cancel", "on its way: receive it");
    return SF.button("Cancel transfer", function () {
      if (!window.confirm("Cancel " + t.transfer + "? Its reserved units go back to " + t.from_warehouse + "'s bins.")) return;
      act(encodeURIComponent(t.transfer) + "/cancel", {});
    }, "danger");
  }

  // A field that keeps what the supervisor typed across redraws (see `typed`).
  function keptInput(key, type, placeholder, className) {
    var input = el("input");
    input.type = type;
    input.placeholder = placeholder;
    input.className = className;
    input.value = typed[key] || "";
    input.addEventListener("input", function () { typed[key] = input.value; });
    return input;
  }

  // Some of the units, or all: an empty units field settles every set-aside unit. The server
  // judges the number (above what is set aside, or under 1, is refused in words).
  function settleCell(x) {
    var box = el("span", "settle");
    var key = x.transfer + "|" + x.sku + "|" + x.lot;
    var units = keptInput(key + "|units", "number", "all " + x.units, "settle-units");
    units.min = "1";
    units.max = String(x.units);
    units.title = "how many to settle (empty: all " + x.units + ")";
    var bin = keptInput(key, "text", "bin in " + x.to_warehouse, "settle-bin");
    bin.maxLength = 64;
    box.appendChild(units);
    box.appendChild(bin);
    function body(decision, rest) {
      var b = { sku: x.sku, lot: x.lot, decision: decision };
      var n = units.value.trim();
      if (n !== "") b.units = Number(n);
      if (decision === "accept") b.bin = bin.value.trim();
      if (rest) b.rest = rest;
      return b;
    }
    var path = encodeURIComponent(x.transfer) + "/over";
    // Once settled, the number typed no longer fits what is left: the field empties (all).
    function settle(b) {
      act(path, b).then(function (r) { if (r.ok) delete typed[key + "|units"]; });
    }
    box.appendChild(SF.button("Accept into bin", function () {
      settle(body("accept"));
    }, "primary"));
    box.appendChild(SF.button("Accept, reject rest", function () {
      if (!window.confirm("Accept " + (units.value.trim() || x.units) + " " + x.sku + " into the bin and reject the rest set aside on " + x.transfer + "?")) return;
      settle(body("accept", "reject"));
    }));
    box.appendChild(SF.button("Reject", function () {
      if (!window.confirm("Reject " + (units.value.trim() || x.units) + " " + x.sku + " set aside on " + x.transfer + "? They stay out of stock.")) return;
      settle(body("reject"));
    }));
    return box;
  }

  function render(p) {
    var moving = p.in_transit.reduce(function (n, x) { return n + x.units; }, 0);
    SF.$("tr-summary").textContent = p.transfers.length + " open, " + moving + " units in transit";
    fill("tr-open", p.transfers, function (t) {
      var units = t.lines.reduce(function (n, x) { return n + x.qty; }, 0);
      return [t.transfer, t.from_warehouse + " → " + t.to_warehouse, t.status.replace("_", " "), units, t.in_transit, cancelCell(t)];
    }, 3, "No transfer on its way.");
    fill("tr-aside", p.set_aside, function (x) {
      return [x.transfer, x.sku, x.lot || "—", x.units, settleCell(x)];
    }, 3, "Nothing set aside.");
    fill("tr-transit", p.in_transit, function (x) {
      return [x.sku, x.from_warehouse + " → " + x.to_warehouse, x.units];
    }, 2, "Nothing in transit.");
    document.body.dataset.transfers = String(Number(document.body.dataset.transfers || 0) + 1);
  }

  var refresh = SF.fresh("/transfers", render);

  SF.transfers = { refresh: refresh };
})();
