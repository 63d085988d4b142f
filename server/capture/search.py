"""Finding an order the way a customer names it: their name, their e-mail, the shop's order
number, a parcel's tracking number, or a SKU they bought.

The whole search text is taken as one value (a name has spaces), in any case. Each kind of
match reads one index (migration 0030 and earlier), so a search costs what it finds, not
what the floor holds: the customer's name from its beginning (`orders_customer`: "jane"
finds "Jane Doe", "jane doe" too), the e-mail whole (`orders_email_any_case`), the shop's
number with or without its `#` (`orders_shop_number`), our id or the shop's id
(`orders_external`), a tracking number (`packages.tracking` is unique), a SKU
(`order_lines_sku`).

Any word of the name or the e-mail, or part of one, is found through `order_terms`
(migration 0036): each word of an order's customer name and e-mail in lower case, and each
of the word's endings of three letters or more, written with the order and again with a new
address. "doe" finds "Jane Doe", "oe" does not (an ending is three letters or more) but
"do" does (a word's beginning, any length); "mith" finds "Smith", "example" finds
"jane@example.com". A search of several words finds the orders that have them all, in any
order ("doe jane"): the word with the fewest terms (counted up to a cap) is a range on the
terms' primary key, each other word a look-up in that order's own terms
(`order_terms_order`), so a search stops reading at its limit.

The newest orders come first, at most `limit`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from server.store import Store

MAX_QUERY = 200
LIMIT = 50
# Above every character a name holds: `customer >= q AND customer < q || TOP` is "starts with q".
TOP = "\U0010ffff"


MAX_WORDS = 6  # more words in a search than a name holds are not looked up one by one
_WORD = re.compile(r"[^\W_]+")


def terms(name: str | None, email: str | None) -> set[str]:
    """An order's search terms: each word of the customer's name and e-mail (lower case) and
    its endings of three letters or more, and the e-mail whole."""
    words = _WORD.findall((name or "").lower()) + _WORD.findall((email or "").lower())
    out = {(email or "").lower()[:100]} if email else set()
    for word in words:
        word = word[:40]
        out.add(word)
        out.update(word[i:] for i in range(1, len(word) - 2))
    return out


def index_order(store: Store, order_id: str, name: str | None, email: str | None) -> None:
    """Write an order's search terms afresh (inside the write that sets its name or e-mail)."""
    store.execute("DELETE FROM order_terms WHERE order_id = ?", (order_id,))
    found = sorted(terms(name, email))
    if found:  # one statement: one round trip to PostgreSQL, not one per term
        store.execute(
            "INSERT INTO order_terms (term, order_id) VALUES " + ", ".join("(?, ?)" for _ in found),
            tuple(p for term in found for p in (term, order_id)),
        )


def _after(prefix: str) -> str:
    """The first string past every string that starts with `prefix`, in code point order:
    `term >= prefix AND term < _after(prefix)` is "starts with", and PostgreSQL's statistics
    see the range as it is (a bound of U+10FFFF looked empty to them)."""
    last = ord(prefix[-1])
    if last >= 0x10FFFF:
        return prefix + TOP
    nxt = last + 1
    if 0xD800 <= nxt <= 0xDFFF:  # surrogates are no characters: past them
        nxt = 0xE000
    return prefix[:-1] + chr(nxt)


def _terms_up_to(store: Store, word: str, cap: int) -> int:
    """How many terms start with `word`, counted up to `cap` (a range read that stops there)."""
    return store.one(
        "SELECT COUNT(*) AS n FROM (SELECT 1 AS x FROM order_terms WHERE term >= ? AND term < ? "
        "LIMIT ?) AS c",
        (word, _after(word), cap),
    )["n"]


class BadSearch(ValueError):
    """The search text cannot be searched (empty or too long)."""


def _matches(store: Store, q: str, limit: int) -> dict[str, str]:
    """Order id -> what matched (inside a read); each query through its index."""
    low = q.lower()
    number = q.removeprefix("#")
    found: dict[str, str] = {}

    def take(sql: str, params: tuple[Any, ...], why: str) -> None:
        for r in store.all(sql + " LIMIT ?", (*params, limit)):
            found.setdefault(r["id"], why)

    take("SELECT id FROM orders WHERE id = ? OR external_id = ?", (q.upper(), q), "order")
    take(
        "SELECT id FROM orders WHERE shop_number IN (?, ?)",
        (number, f"#{number}"),
        "shop number",
    )
    take(
        "SELECT order_id AS id FROM packages WHERE tracking IN (?, ?)",
        (q, q.upper()),
        "tracking number",
    )
    take("SELECT id FROM orders WHERE lower(email) = ? AND email IS NOT NULL", (low,), "e-mail")
    c = 'customer COLLATE "C"' if store.dialect == "postgresql" else "customer"  # as indexed
    take(
        f"SELECT id FROM orders WHERE {c} >= ? AND {c} < ? ORDER BY {c}",
        (low, low + TOP),
        "customer",
    )
    words = sorted(set(_WORD.findall(low)), key=lambda w: (-len(w), w))[:MAX_WORDS]
    if words:
        # Every word a term starts with, in any order: the longest word (the fewest orders,
        # most likely) is read as a range on `order_terms`' primary key, and each other word
        # is looked up in the order's own terms (`order_terms_order`), so the reading stops
        # at the limit. An order has a few terms starting with the same word at most: rows
        # are read past the limit to still find `limit` orders (duplicates are dropped).
        if len(words) > 1:  # the word with the fewest terms leads (counted up to a cap)
            words.sort(key=lambda w: (_terms_up_to(store, w, 4 * limit), -len(w), w))
        sql = "SELECT t.order_id AS id FROM order_terms t WHERE t.term >= ? AND t.term < ?"
        params: list[Any] = [words[0], _after(words[0])]
        for w in words[1:]:  # not a range: the planner must not scan the terms for each row
            sql += (
                " AND EXISTS (SELECT 1 FROM order_terms u WHERE u.order_id = t.order_id"
                " AND substr(u.term, 1, ?) = ?)"
            )
            params += [len(w), w]
        for r in store.all(sql + " LIMIT ?", (*params, 4 * limit)):
            found.setdefault(r["id"], "name or e-mail")
    take(
        "SELECT DISTINCT order_id AS id FROM order_lines WHERE sku IN (?, ?) "
        "ORDER BY order_id DESC",
        (q, q.upper()),
        "SKU",
    )
    return found


def search(store: Store, q: str, limit: int = LIMIT) -> dict[str, Any]:
    """The orders matching `q`, newest first, each with what matched and the facts a person
    picks the right one by (inside a read)."""
    q = (q or "").strip()
    if not q:
        raise BadSearch("say what to search for: a name, an e-mail, a shop number, "
                        "a tracking number or a SKU")  # fmt: skip
    if len(q) > MAX_QUERY:
        raise BadSearch(f"the search takes at most {MAX_QUERY} characters")
    found = _matches(store, q, limit + 1)
    ids = sorted(found, reverse=True)[:limit]
    rows = (
        store.all(
            f"""SELECT id, external_id, shop_number, channel, status, customer, email, ship_to,
                       created_at FROM orders WHERE id IN ({",".join("?" * len(ids))})
                ORDER BY id DESC""",
            tuple(ids),
        )
        if ids
        else []
    )
    orders = []
    words = _WORD.findall(q.lower())
    for r in rows:
        to = json.loads(r["ship_to"])
        if found[r["id"]] == "name or e-mail":  # say which it was
            name = r["customer"] or ""
            found[r["id"]] = "customer" if all(w in name for w in words) else "e-mail"
        orders.append(
            {
                "id": r["id"],
                "order_id": r["external_id"],
                "shop_number": r["shop_number"],
                "channel": r["channel"],
                "status": r["status"],
                "customer": to.get("name"),
                "email": r["email"],
                "city": to.get("city"),
                "created_at": r["created_at"],
                "matched": found[r["id"]],
            }
        )
    return {"q": q, "orders": orders, "more": len(found) > limit}
