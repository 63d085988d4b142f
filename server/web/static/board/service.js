// Customer service: the "Find an order" box in the header (a customer's name, e-mail, shop
// number, tracking number or SKU, searched on the server), and on an order's page what the
// server says applies (v.actions): change the address, re-ship a lost parcel, resend a mail,
// with the mails sent and the webhooks delivered. What does not apply is not offered; the
// page says why in the server's words.
(function () {
  "use strict";
  var SF = window.SF;
  var el = SF.el;

  function when(iso) {
    var t = SF.parseTime(iso);
    if (isNaN(t)) return "—";
    return new Date(t).toLocaleString([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  }

  // ---------------------------------------------------------------- the search box
  var form = SF.$("order-find");
  var input = SF.$("order-q");
  var results = SF.$("order-results");

  function showResults(r) {
    results.hidden = false;
    if (!r.ok) { results.replaceChildren(el("li", "error", (r.body && r.body.error) || "the search failed")); return; }
    var found = r.body.orders;
    if (!found.length) { results.replaceChildren(el("li", "empty", "No order matches " + r.body.q + ".")); return; }
    var frag = document.createDocumentFragment();
    found.forEach(function (o) {
      var li = el("li", "found");
      li.dataset.order = o.id;
      li.appendChild(SF.button(o.id + (o.shop_number ? " · " + o.shop_number : ""), function () {
        results.hidden = true;
        SF.drawer.openOrder(o.id);
      }, "link-btn"));
      li.appendChild(el("span", "meta", " " + [o.customer, o.email, o.city, o.status.replace(/_/g, " "),
        "matched by " + o.matched].filter(Boolean).join(" · ")));
      frag.appendChild(li);
    });
    if (r.body.more) frag.appendChild(el("li", "meta", "More orders match: say more."));
    results.replaceChildren(frag);
  }

  if (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var q = input.value.trim();
      if (!q) { results.hidden = true; return; }
      SF.api("GET", "/search?q=" + encodeURIComponent(q)).then(showResults);
    });
  }

  // ---------------------------------------------------------------- on the order's page
  function refusedLine(text, cls) {
    return el("p", "meta refused " + (cls || ""), text);
  }

  var FIELDS = [["name", "Name"], ["line1", "Street"], ["line2", "Line 2"], ["city", "City"],
    ["postcode", "Postcode"], ["country", "Country (2 letters)"], ["phone", "Phone"]];

  function addressForm(o, v, report) {
    var sec = el("div", "service-address");
    sec.id = "order-address-change";
    sec.appendChild(el("h3", null, "Ship-to address"));
    if (v.actions.change_address) { sec.appendChild(refusedLine(v.actions.change_address, "no-address-change")); return sec; }
    var to = o.ship_to || {};
    var inputs = {};
    var f = el("div", "address-form");
    FIELDS.forEach(function (p) {
      var label = el("label", null, p[1] + " ");
      var i = el("input");
      i.type = "text"; i.name = p[0]; i.value = to[p[0]] || ""; i.maxLength = p[0] === "country" ? 2 : 200;
      i.id = "addr-" + p[0];
      label.appendChild(i);
      inputs[p[0]] = i;
      f.appendChild(label);
    });
    sec.appendChild(f);
    var save = SF.button("Change address", function () {
      var ship = {};
      Object.keys(inputs).forEach(function (k) { if (inputs[k].value.trim()) ship[k] = inputs[k].value.trim(); });
      SF.api("POST", "/orders/" + encodeURIComponent(o.id) + "/address", { ship_to: ship }).then(report);
    }, "primary");
    save.id = "change-address";
    sec.appendChild(save);
    return sec;
  }

  // A lost parcel says where its re-ship is (the server's words: on the floor, waiting for
  // stock, cancelled); one whose re-ship was cancelled may be re-shipped again.
  function reshipButton(l, v, report) {
    var again = l.replacements || (l.replaced_by ? [l.replaced_by] : []);
    var note = null;
    if (l.lost_at) {
      // A re-ship split by a short pick across warehouses: every new parcel is listed; until
      // one is packed, where the re-ship is (the server's words: on the floor, waiting for
      // stock, cancelled).
      note = el("span", "meta lost", again.length
        ? "lost · sent again as package" + (again.length > 1 ? "s " : " ") + again.join(" and ")
        : "lost · " + ((v.actions.lost || {})[l.id] || "its re-ship is on the floor"));
    } else if (l.replaces && (v.actions.reship || []).indexOf(l.id) < 0) {
      return el("span", "meta replaces", "sent in place of lost package " + l.replaces);
    }
    if ((v.actions.reship || []).indexOf(l.id) < 0) return note;
    var b = SF.button("Re-ship (parcel lost)", function () {
      if (!window.confirm((l.lost_at ? "Send parcel " + l.tracking + " again?"
        : "Mark parcel " + l.tracking + " lost and send a new one?"))) return;
      SF.api("POST", "/packages/" + l.id + "/reship", {}).then(report);
    }, "danger");
    b.className += " reship";
    if (!note) return b;
    var both = el("span");
    both.appendChild(note);
    both.appendChild(b);
    return both;
  }

  function mailsView(o, v, report) {
    var sec = el("div", "service-mails");
    sec.id = "order-mails";
    sec.appendChild(el("h3", null, "Mails to the customer"));
    var mails = o.customer_mails || [];
    if (!mails.length) { sec.appendChild(el("p", "empty", "No mail yet: the customer hears from shipping on.")); return sec; }
    var ul = el("ul", "mails");
    mails.forEach(function (m) {
      var li = el("li");
      li.dataset.mail = String(m.id);
      li.appendChild(el("span", null, m.kind.replace(/_/g, " ") + " · " + m.status.replace(/_/g, " ") +
        (m.recipient ? " · " + m.recipient : "") + " · " + when(m.sent_at || m.created_at) +
        (m.last_error ? " · " + m.last_error : "")));
      if ((v.actions.resend_mail || []).indexOf(m.id) >= 0) {
        li.appendChild(SF.button("Resend", function () {
          SF.api("POST", "/mails/" + m.id + "/resend", {}).then(report);
        }));
      }
      ul.appendChild(li);
    });
    sec.appendChild(ul);
    return sec;
  }

  function webhooksView(v) {
    var sec = el("div", "service-webhooks");
    sec.id = "order-webhooks";
    sec.appendChild(el("h3", null, "Webhooks to the shop"));
    if (!v.webhooks.length) { sec.appendChild(el("p", "empty", "None: no shop subscribes to this order's events.")); return sec; }
    var ul = el("ul", "webhooks");
    v.webhooks.forEach(function (d) {
      ul.appendChild(el("li", null, d.event + " · " + d.status + " · " + d.url + " · " +
        when(d.delivered_at || d.created_at) + (d.last_error ? " · " + d.last_error : "")));
    });
    sec.appendChild(ul);
    return sec;
  }

  SF.service = {
    addressForm: addressForm,
    reshipButton: reshipButton,
    mailsView: mailsView,
    webhooksView: webhooksView,
  };
})();
