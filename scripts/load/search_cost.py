"""Customer service's order search on a site of 60,000 open orders (SQLite): the median time of
each kind of search through its index (server/capture/search.py), side by side in one run with
the same question asked the way an unindexed search would (a pass over every order's JSON).

    .venv/bin/python -m scripts.load.search_cost [--orders 60000] [--rounds 200]

Each of the 60,000 orders gets its own customer name and e-mail (`Customer 000042`,
`c42@example.com`). Absolute figures on a shared machine are noisy: the ratio is the point.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from scripts.load.boardsite import add_open_orders
from scripts.load.floorsite import seed_site
from server.capture.search import search
from server.store import open_store

TOP = "\U0010ffff"
SCAN = {  # the same questions in the same SQL, with SQLite told not to use an index
    "customer": "SELECT id FROM orders NOT INDEXED WHERE customer >= ? AND customer < ? || ?",
    "e-mail": "SELECT id FROM orders NOT INDEXED WHERE lower(email) = ?",
}


def _median_ms(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=60_000)
    ap.add_argument("--rounds", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="service-bench-") as tmp:
        data = Path(tmp) / "data"
        seed_site(data, pickers=1, open_orders=0, cart_totes=1)
        took = add_open_orders(data / "scanfloor.db", args.orders)
        store = open_store(data / "scanfloor.db", synchronous="OFF")
        with store.write():
            store.execute(
                "UPDATE orders SET ship_to = json_set(ship_to, '$.name', "
                "'Customer ' || substr(id, 4)), customer = 'customer ' || substr(id, 4), "
                "email = 'c' || CAST(substr(id, 4) AS INTEGER) || '@example.com'"
            )
            one = store.one("SELECT id, shop_number FROM orders ORDER BY id LIMIT 1 OFFSET 777")
            sku = store.one("SELECT sku FROM order_lines WHERE order_id = ?", (one["id"],))["sku"]
        n = int(one["id"][3:])
        asks = {
            "customer": f"customer {n:06d}",
            "e-mail": f"C{n}@example.com",
            "shop number": one["shop_number"],
            "order": one["id"],
            "SKU (thousands of orders: 50 listed)": sku,
        }
        print(f"{args.orders} open orders written in {took:.1f} s; {args.rounds} rounds each")
        print("| search | found | median, indexed | median, a pass over every order | ratio |")
        print("|---|---:|---:|---:|---:|")
        for kind, q in asks.items():
            with store.read():
                found = len(search(store, q)["orders"])

            def indexed(q: str = q) -> None:
                with store.read():
                    search(store, q)

            fast = _median_ms(indexed, args.rounds)
            scan = SCAN.get(kind.split(" ")[0])
            if scan is None:
                print(f"| {kind} | {found} | {fast:.2f} ms | — | — |")
                continue

            def scanned(q: str = q, sql: str = scan) -> None:
                with store.read():
                    params = (q.lower(), q.lower(), TOP) if "customer" in sql else (q.lower(),)
                    store.all(sql, params)

            slow = _median_ms(scanned, max(5, args.rounds // 20))
            print(f"| {kind} | {found} | {fast:.2f} ms | {slow:.1f} ms | {slow / fast:.0f}x |")
        store.close()


if __name__ == "__main__":
    main()
