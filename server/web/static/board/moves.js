// The "Moves to pick faces" panel: the open replenishment moves, urgent first (picks wait for
// them), with the handheld and worker holding each. Fetched from /board/api/replenishment-moves
// with the other lower panels (on connect, every minute) and every 15 s on its own.
(function () {
  "use strict";
  var SF = window.SF;
  var el = SF.el;
  var STAGES = { reserve: "to reserve bin", item: "taking items", face: "to the face" };
  var timer = null;

  function render(p) {
    var frag = document.createDocumentFragment();
    p.moves.forEach(function (m) {
      var tr = el("tr", m.urgent ? "urgent" : null);
      tr.dataset.move = String(m.id);
      var held = m.device ? m.device + (m.worker ? " (" + m.worker + ")" : "") : "nobody yet";
      [
        (m.urgent ? "urgent " : "") + "#" + m.id,
        m.sku + " " + m.name,
        m.reserve,
        m.face,
        m.carried + " of " + m.qty,
        STAGES[m.stage] || m.stage,
        held,
      ].forEach(function (c, i) { tr.appendChild(el("td", i === 4 ? "num" : null, c)); });
      frag.appendChild(tr);
    });
    if (!p.moves.length) {
      var tr = el("tr");
      var td = el("td", "empty", "No move is open.");
      td.colSpan = 7;
      tr.appendChild(td);
      frag.appendChild(tr);
    }
    SF.$("moves-table").tBodies[0].replaceChildren(frag);
    SF.$("moves-count").textContent = String(p.moves.length);
  }

  var fetchMoves = SF.fresh("/replenishment-moves", render);

  function refresh() {
    fetchMoves();
    if (timer === null) timer = setInterval(refresh, 15000);
  }

  SF.moves = { refresh: refresh };
})();
