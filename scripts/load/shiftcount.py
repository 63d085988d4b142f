"""The shift's accounting, for `scripts/bench_shift.py`: where every order, unit, webhook and
mail ended, read from the site's database once the shift is over, and held against what the
shop sent, what the shop's receiver took and what the SMTP server took.

Each `*_account` returns (figures, problems): problems are lines a person reads, one per
order or message that went wrong (missing, doubled, out of order); the bench exits non-zero
when any account has one.
"""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from scripts.demo.stages import check_order

# The statuses an order passes on its way out, in order, and the one it ends in.
STAGES = ("received", "allocated", "picked", "packed", "shipped", "delivered")
FINAL = "delivered"
MAIL_KINDS = ("shipped", "out_for_delivery", "delivered")  # what a delivered order's customer gets
STOCK_EACH = 1_000_000  # every SKU's stock on the load site (scripts/load/floorsite.py)
SHOWN = 10  # problems listed per kind; the rest are counted


def connect(db: Path) -> sqlite3.Connection:
    """The site's database, read only."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def epoch(at: str) -> float:
    """A stored timestamp (UTC ISO-8601) as seconds since the epoch."""
    return datetime.fromisoformat(at).timestamp()


def status_counts(db: Path) -> dict[str, int]:
    """Orders by status now, and the webhooks and mails still waiting to go."""
    with connect(db) as conn:
        counts = dict(conn.execute("SELECT status, COUNT(*) FROM orders GROUP BY status"))
        counts["webhooks_pending"] = conn.execute(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'"
        ).fetchone()[0]
        counts["mails_pending"] = conn.execute(
            "SELECT COUNT(*) FROM customer_mails WHERE status = 'pending'"
        ).fetchone()[0]
    return counts


def reached(db: Path) -> dict[str, list[float]]:
    """For each stage, when each order first got there (epoch seconds), from its timeline."""
    first: dict[tuple[str, str], float] = {}
    with connect(db) as conn:
        for r in conn.execute("SELECT order_id, status, at FROM order_events ORDER BY id"):
            first.setdefault((r["order_id"], r["status"]), epoch(r["at"]))
    by: dict[str, list[float]] = defaultdict(list)
    for (_, status), at in first.items():
        by[status].append(at)
    return {s: sorted(by.get(s, [])) for s in STAGES}


def messages_out(db: Path) -> dict[str, list[float]]:
    """When each webhook was delivered and each customer mail sent (epoch seconds)."""
    with connect(db) as conn:
        hooks = [
            r[0]
            for r in conn.execute(
                "SELECT delivered_at FROM webhook_deliveries WHERE delivered_at IS NOT NULL"
            )
        ]
        mails = [
            r[0]
            for r in conn.execute("SELECT sent_at FROM customer_mails WHERE sent_at IS NOT NULL")
        ]
    return {"webhooks": sorted(map(epoch, hooks)), "mails": sorted(map(epoch, mails))}


def _listed(problems: list[str], kind: str, items: list[str]) -> None:
    if items:
        more = f" (and {len(items) - SHOWN} more)" if len(items) > SHOWN else ""
        problems.append(f"{kind}: {len(items)}: {', '.join(items[:SHOWN])}{more}")


def orders_account(
    db: Path, payloads: list[dict[str, Any]], placed: list[Any]
) -> tuple[dict, list[str]]:
    """Every order the shop sent is on the site once and ended delivered."""
    problems: list[str] = []
    ours = [p for p in placed if p is not None]
    with connect(db) as conn:
        rows = {r["id"]: r["status"] for r in conn.execute("SELECT id, status FROM orders")}
    ids = Counter(p.id for p in ours)
    untaken = [body["name"] for body, got in zip(payloads, placed, strict=True) if got is None]
    _listed(problems, "orders the shop sent that the server did not take", untaken)
    _listed(problems, "orders taken twice", [o for o, n in ids.items() if n > 1])
    _listed(problems, "orders not on the site", [p.shop_number for p in ours if p.id not in rows])
    _listed(problems, "orders on the site the shop never sent", sorted(set(rows) - set(ids)))
    _listed(
        problems,
        f"orders not {FINAL}",
        [f"{p.shop_number} {rows[p.id]}" for p in ours if rows.get(p.id, FINAL) != FINAL],
    )
    figures = {"sent": len(payloads), "taken": len(ids), "final": dict(Counter(rows.values()))}
    return figures, problems


def units_account(db: Path) -> tuple[dict, list[str]]:
    """Every unit ordered was picked, verified at packing and left the stock once: per order
    (order lines against pick steps) and per SKU (stock used against units ordered)."""
    problems: list[str] = []
    with connect(db) as conn:
        lines = dict(conn.execute("SELECT order_id, SUM(qty) FROM order_lines GROUP BY order_id"))
        steps = {
            r[0]: (r[1], r[2])
            for r in conn.execute(
                "SELECT order_id, SUM(picked), SUM(verified) FROM pick_steps GROUP BY order_id"
            )
        }
        packages = dict(
            conn.execute(
                "SELECT order_id, COUNT(*) FROM packages WHERE status = 'confirmed' "
                "GROUP BY order_id"
            )
        )
        ordered_sku = dict(conn.execute("SELECT sku, SUM(qty) FROM order_lines GROUP BY sku"))
        stock = {
            r[0]: (r[1], r[2])
            for r in conn.execute("SELECT sku, SUM(on_hand), SUM(reserved) FROM stock GROUP BY sku")
        }
    short, unverified, unlabelled = [], [], []
    for order, qty in lines.items():
        picked, verified = steps.get(order, (0, 0))
        if picked != qty:
            short.append(f"{order} ({picked} of {qty} picked)")
        elif verified != qty:
            unverified.append(f"{order} ({verified} of {qty} packed)")
        if not packages.get(order):
            unlabelled.append(order)
    stock_wrong = [
        f"{sku} ({STOCK_EACH - on_hand} left the stock, {ordered_sku.get(sku, 0)} ordered, "
        f"{reserved} still reserved)"
        for sku, (on_hand, reserved) in sorted(stock.items())
        if STOCK_EACH - on_hand != ordered_sku.get(sku, 0) or reserved
    ]
    _listed(problems, "orders not picked whole", short)
    _listed(problems, "orders not verified whole at packing", unverified)
    _listed(problems, "orders with no confirmed label", unlabelled)
    _listed(problems, "SKUs whose stock does not add up", stock_wrong)
    figures = {
        "ordered": sum(lines.values()),
        "picked": sum(p for p, _ in steps.values()),
        "packed": sum(v for _, v in steps.values()),
        "left_stock": sum(STOCK_EACH - on_hand for on_hand, _ in stock.values()),
        "packages": sum(packages.values()),
    }
    return figures, problems


def webhook_account(db: Path, receiver: Any, order_ids: list[str]) -> tuple[dict, list[str]]:
    """Every status change of every order reached the shop's receiver as one webhook, by its
    id, once, in order (scripts/demo/stages.py's `check_order` for each order)."""
    timelines: dict[str, list[dict]] = defaultdict(list)
    rows: dict[str, list[dict]] = defaultdict(list)
    with connect(db) as conn:
        for r in conn.execute("SELECT order_id, status FROM order_events ORDER BY id"):
            timelines[r["order_id"]].append({"status": r["status"]})
        for r in conn.execute(
            "SELECT order_id, event, msg_id, status, attempts FROM webhook_deliveries ORDER BY id"
        ):
            rows[r["order_id"]].append(dict(r))
    total: Counter = Counter()
    wrong: dict[str, list[str]] = defaultdict(list)
    for order in order_ids:
        got = [(m, receiver.taken[m]["type"]) for m in receiver.arrived.get(order, [])]
        c = check_order(timelines[order], rows[order], got)
        total += c
        for k in ("not_queued", "lost", "unexpected", "out_of_order", "ids_differ", "dead"):
            if c[k]:
                wrong[k].append(order)
        if c["pending"]:
            wrong["pending"].append(order)
    strangers = set(receiver.arrived) - set(order_ids)
    problems: list[str] = []
    for kind, orders in wrong.items():
        _listed(problems, f"orders whose webhooks are {kind.replace('_', ' ')}", orders)
    _listed(problems, "webhooks for orders the shop never sent", sorted(strangers))
    if receiver.duplicates:
        problems.append(f"webhooks taken twice by the receiver (same id): {receiver.duplicates}")
    if receiver.bad_signatures:
        problems.append(f"webhooks with a bad signature: {receiver.bad_signatures}")
    figures = {
        "status_changes": total["events"],
        "delivered": total["delivered"],
        "taken_by_receiver": len(receiver.taken),
        "retried": total["retried"],
        "duplicates": receiver.duplicates,
    }
    return figures, problems


def mail_account(db: Path, messages: list[Any], order_ids: list[str]) -> tuple[dict, list[str]]:
    """Every customer mail the server wrote down reached the SMTP server once, by its
    Message-ID; a delivered order's customer got one mail of each kind in `MAIL_KINDS`."""
    with connect(db) as conn:
        rows = [
            dict(r)
            for r in conn.execute("SELECT order_id, kind, status, message_id FROM customer_mails")
        ]
    # A long Message-ID comes folded onto its own line: the header's text without the fold.
    took = Counter("".join(str(m["Message-ID"]).split()) for m in messages)
    ours = Counter(r["message_id"] for r in rows if r["message_id"])
    problems: list[str] = []
    _listed(problems, "mails not sent", [f"{r['order_id']} {r['kind']} {r['status']}"
                                         for r in rows if r["status"] != "sent"])  # fmt: skip
    _listed(
        problems,
        "mails sent that the SMTP server never took",
        [f"{r['order_id']} {r['kind']}" for r in rows if r["status"] == "sent"
         and took[r["message_id"]] == 0],
    )  # fmt: skip
    _listed(problems, "mails the SMTP server took more than once", [
        f"{m} ({n} times)" for m, n in took.items() if n > 1])  # fmt: skip
    _listed(problems, "mails the SMTP server took that the server never wrote down",
            sorted(set(took) - set(ours)))  # fmt: skip
    _listed(problems, "Message-IDs on two mails", [m for m, n in ours.items() if n > 1])
    kinds: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        kinds[r["order_id"]][r["kind"]] += 1
    want = Counter(MAIL_KINDS)
    _listed(
        problems,
        f"orders whose customer did not get one mail of each of {', '.join(MAIL_KINDS)}",
        [o for o in order_ids if kinds[o] != want],
    )
    figures = {
        "written": len(rows),
        "sent": sum(r["status"] == "sent" for r in rows),
        "taken_by_smtp_server": sum(took.values()),
        "by_kind": dict(Counter(r["kind"] for r in rows)),
    }
    return figures, problems
