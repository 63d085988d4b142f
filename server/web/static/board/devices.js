// Devices and people: link, worker, current step, scans per hour, last scan, printer. Only a
// device that went offline while it holds work (a pick list or a bench's order) is alerted
// in red ("offline 2 m") and named in the strip at the top of the page; an idle device that
// is off (the shift ended, the work ran out) is grey, and online devices come first.
(function () {
  "use strict";
  var SF = window.SF;
  var el = SF.el;
  function alerted(d) {
    return !d.connected && !!d.pick_list;
  }

  function linkText(d) {
    if (d.connected) return d.logged_in ? "online" : "online · logged out";
    var since = SF.span(d.last_seen);
    return since === null ? "offline · never seen" : "offline " + since;
  }

  function printerText(p) {
    if (!p) return null;
    if (p.state === "failed") return "printer failed: " + (p.error || "error");
    if (p.state === "queued") return "printer: printing";
    return p.state === "idle" ? "printer: no jobs" : "printer ok";
  }

  function row(d) {
    var bad = alerted(d);
    var tr = el("tr", (d.connected ? "online" : "offline") + (bad ? " alert" : ""));
    tr.dataset.device = d.name;
    var name = el("td", "name-cell");
    name.appendChild(el("span", "name", d.name));
    name.appendChild(el("span", "meta", [d.role, d.warehouse, d.software && "v" + d.software].filter(Boolean).join(" · ")));
    if (d.worker) name.appendChild(el("span", "worker", d.worker));
    tr.appendChild(name);
    var link = el("td", "link-cell");
    link.appendChild(el("span", "dot " + (d.connected ? "dot-on" : "dot-off"), ""));
    link.appendChild(el("span", "dot-text", linkText(d)));
    link.appendChild(el("span", "seen last-scan", d.last_scan_at ? "scan " + SF.ago(d.last_scan_at) : "no scans"));
    tr.appendChild(link);
    var work = el("td", "work");
    if (d.pick_list) work.appendChild(el("span", "ref", d.pick_list));
    if (d.step) work.appendChild(el("span", "step", d.step));
    var pr = printerText(d.printer);
    if (pr) work.appendChild(el("span", "printer" + (d.printer.state === "failed" ? " bad" : ""), pr));
    if (!work.childNodes.length) work.appendChild(el("span", "none", "idle"));
    tr.appendChild(work);
    var scans = el("td", "num", d.scans_hour || 0);
    if (d.queued_scans) scans.appendChild(el("span", "queued-n", d.queued_scans + " queued"));
    if (d.offline_scans_hour) scans.appendChild(el("span", "offline-n", " (" + d.offline_scans_hour + " offline)"));
    scans.title = d.scans + " scans in all, " + d.wrong_scans + " wrong";
    tr.appendChild(scans);
    return tr;
  }

  function render(devices) {
    var frag = document.createDocumentFragment();
    var ordered = devices.slice().sort(function (a, b) {
      return alerted(b) - alerted(a) || b.connected - a.connected ||
        (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    });
    ordered.forEach(function (d) { frag.appendChild(row(d)); });
    SF.$("devices").tBodies[0].replaceChildren(frag);
    SF.$("devices-empty").hidden = devices.length > 0;
    var online = devices.filter(function (d) { return d.connected; }).length;
    SF.$("devices-count").textContent = online + " of " + devices.length + (devices.length === 1 ? " device" : " devices") + " online";
    var down = ordered.filter(alerted);
    var strip = SF.$("device-alerts");
    strip.hidden = down.length === 0;
    if (down.length) {
      var names = down.slice(0, 6).map(function (d) { return d.name + " (" + linkText(d) + ")"; });
      if (down.length > 6) names.push("+" + (down.length - 6) + " more");
      strip.textContent = down.length + (down.length === 1 ? " device" : " devices") +
        " offline while holding work: " + names.join(", ");
    }
  }

  SF.devices = { render: render };
})();
