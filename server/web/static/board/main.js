// The supervisors' board: the `snapshot` from the /board namespace (counts, each column's
// total and first lists, devices), then each `delta` merged into it; a reconnect brings a
// fresh snapshot. Each part draws itself from the merged state. Later lists and filtered views
// come from /board/api/lists (tasks.js).
(function () {
  "use strict";
  var SF = window.SF;
  var $ = SF.$;
  var RECENT_PACKED = 20;
  var last = null;
  var drawPending = false;
  var offlineSince = null;
  var startedAt = performance.now();
  var firstAt = null;

  function draw() {
    drawPending = false;
    if (!last) return;
    var t0 = performance.now();
    SF.counters.render(last.counts || {});
    SF.tasks.fillFilters(last.filters);
    SF.tasks.render(last.pick_lists || [], last.columns, last.active);
    $("hint").hidden = (last.active || 0) > 0;
    SF.devices.render(last.devices || []);
    SF.exceptions.render(last.exceptions || []);
    SF.cycleCounts.follow(last.exceptions || []);
    SF.drawer.refresh(last);
    $("summary").textContent = $("lists-count").textContent + " · " + $("devices-count").textContent;
    $("updated").textContent = "updated " + SF.clock(Date.now());
    document.body.dataset.renderMs = String(Math.round(performance.now() - t0));
  }

  function drawSoon() {
    if (drawPending) return;
    drawPending = true;
    // Bursts of deltas draw once; a hidden tab still draws (timers, not animation frames).
    setTimeout(draw, 0);
  }

  function render(snap) {
    last = snap;
    var serverNow = SF.parseTime(snap.at);
    SF.skewMs = isNaN(serverNow) ? 0 : Date.now() - serverNow;
    document.body.dataset.snapshots = String(Number(document.body.dataset.snapshots || 0) + 1);
    var t = performance.now();
    if (firstAt === null) {
      firstAt = t;
      document.body.dataset.firstViewMs = String(Math.round(t - startedAt));
      document.body.dataset.firstViewChars = String(JSON.stringify(snap).length);
    }
    SF.tasks.reload();
    draw();
    SF.lower.refreshAudit(); // an action (here or on another board) comes with a snapshot
  }

  function byId(rows) {
    var map = {};
    (rows || []).forEach(function (r) { map[r.id] = r; });
    return map;
  }

  function merge(rows, changed, removed) {
    var fresh = byId(changed);
    var gone = {};
    (removed || []).forEach(function (id) { gone[id] = true; });
    return rows.filter(function (r) { return !gone[r.id] && !fresh[r.id]; }).concat(changed || []);
  }

  function recentPacked(lists) {
    var packed = lists.filter(function (p) { return p.status === "packed"; });
    packed.sort(function (a, b) { return String(b.packed_at).localeCompare(String(a.packed_at)); });
    var keep = {};
    packed.slice(0, RECENT_PACKED).forEach(function (p) { keep[p.id] = true; });
    return lists.filter(function (p) { return p.status !== "packed" || keep[p.id]; });
  }

  var PARTS = ["columns", "active", "counts", "exceptions", "failed_print_jobs", "short_picks", "help_requests"];

  function applyDelta(d) {
    if (!last) return; // the snapshot coming on connect has everything
    document.body.dataset.deltas = String(Number(document.body.dataset.deltas || 0) + 1);
    document.body.dataset.deltaAt = String(Date.now());
    // A keep-alive ({at} only) comes every 1.5 s on a quiet floor: what changes nothing draws nothing.
    var rows = (d.pick_lists || []).length + (d.removed_lists || []).length + (d.devices || []).length;
    var same = !rows && PARTS.every(function (k) {
      return d[k] === undefined || JSON.stringify(d[k]) === JSON.stringify(last[k]);
    });
    if (same) { last.at = d.at; return; }
    last = Object.assign({}, last, {
      pick_lists: recentPacked(merge(last.pick_lists || [], d.pick_lists, d.removed_lists)),
      devices: merge(last.devices || [], d.devices).sort(function (a, b) {
        return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
      }),
      at: d.at,
    });
    SF.tasks.changed(d.pick_lists, d.removed_lists);
    PARTS.forEach(function (k) {
      if (d[k] !== undefined) last[k] = d[k];
    });
    drawSoon();
  }

  function setLink(state) {
    $("link").className = "link link-" + state;
    $("link-text").textContent = state === "live" ? "live" : state === "wait" ? "connecting…" : "reconnecting…";
    document.body.dataset.link = state;
    $("board").classList.toggle("stale", state !== "live");
    var banner = $("offline");
    if (state === "down") {
      if (offlineSince === null) offlineSince = Date.now();
      banner.textContent = "Offline since " + SF.clock(offlineSince) + " — reconnecting. What you see may be out of date.";
      banner.hidden = false;
    } else if (state === "live") {
      offlineSince = null;
      banner.hidden = true;
    }
  }

  function tick() {
    // Ages and "offline 2 m" move on between updates.
    if (last) {
      SF.counters.render(last.counts || {}); // the cut-offs' countdown
      SF.tasks.render(last.pick_lists || [], last.columns, last.active);
      SF.devices.render(last.devices || []);
      SF.exceptions.render(last.exceptions || []);
    }
  }

  function start() {
    SF.board = {
      last: function () { return last; },
      redraw: drawSoon,
      // Later lists of a column, asked for by "+N more": merged like a delta's.
      addLists: function (rows) {
        if (last) { last.pick_lists = merge(last.pick_lists || [], rows); drawSoon(); }
      },
      // Counts asked for by the minute: late now grows with time alone.
      setCounts: function (counts) { if (last) { last.counts = counts; drawSoon(); } },
    };
    SF.lower.start();
    if (typeof io !== "function") {
      setLink("down");
      $("link-text").textContent = "socket.io client missing";
      return;
    }
    var socket = io("/board", { reconnectionDelayMax: 5000 });
    socket.on("connect", function () { setLink("live"); SF.lower.refresh(); });
    socket.on("disconnect", function () { setLink("down"); });
    socket.on("connect_error", function (err) {
      setLink("down");
      // The server refused this session (it ended, or its password changed): log in again.
      if (err && /log in/.test(String(err.message))) {
        window.location.assign("/login?next=/board");
      }
    });
    socket.on("snapshot", render);
    socket.on("delta", applyDelta);
    setInterval(tick, 10000);
    window.scanfloorBoard = { socket: socket, last: function () { return last; } };
  }

  start();
})();
