"""Every id in every route goes through one converter: 1 to 2^63-1, anything else is 404."""

from __future__ import annotations

import pytest
from floorkit import board_web
from werkzeug.routing import IntegerConverter

from server.api.table import IdConverter

PAST = 2**63  # one past SQLite's largest integer

BOARD_ROUTES = [
    ("POST", "/board/api/packages/{id}/reprint", {"device": "packer-e1"}),
    ("POST", "/board/api/packages/{id}/accept-weight", {}),
    ("POST", "/board/api/lists/{id}/release", {}),
    ("POST", "/board/api/lists/{id}/reassign", {"device": "picker-e1"}),
    ("GET", "/board/manifests/{id}", None),
]


STORE_NEVER_ASKED = "the id converter answers 404 before any store is asked"


@pytest.mark.sqlite_only(STORE_NEVER_ASKED)
@pytest.mark.parametrize(("method", "path", "body"), BOARD_ROUTES)
@pytest.mark.parametrize("value", [PAST, 10**30, 0])
def test_board_routes_answer_404_for_ids_out_of_range(app, method, path, body, value):
    client = board_web(app)
    resp = client.open(path.format(id=value), method=method, json=body)
    assert resp.status_code == 404


@pytest.mark.parametrize(("method", "path", "body"), BOARD_ROUTES)
def test_board_routes_still_take_the_largest_id(app, method, path, body):
    client = board_web(app)
    resp = client.open(path.format(id=PAST - 1), method=method, json=body)
    assert resp.status_code in (404, 409)  # no such row: asked, and answered as a person would
    assert resp.status_code != 500


@pytest.mark.sqlite_only("reads the app's routing table only")
def test_every_integer_in_every_rule_is_the_id_converter(app):
    """No route (REST, board API, pages) takes a plain <int:...>: ids are <id:...>."""
    seen = 0
    for rule in app.url_map.iter_rules():
        for name, converter in rule._converters.items():
            if isinstance(converter, IntegerConverter):
                assert isinstance(converter, IdConverter), f"{rule.rule}: <{name}> is not <id:>"
                seen += 1
    assert seen >= 12  # the REST ids and the board's


@pytest.mark.sqlite_only("builds URLs from the app's routing table only")
def test_urls_built_from_the_lazily_compiled_routes_are_the_routes(app):
    """server/app.py compiles a route's URL builder when first used: the URLs are the same."""
    from flask import url_for

    with app.test_request_context():
        assert url_for("api.reprint_label", package_id=7) == "/api/packages/7/reprint"
        # An argument the route does not take goes on the query string (the other builder).
        assert (
            url_for("api.reprint_label", package_id=7, copies=2)
            == "/api/packages/7/reprint?copies=2"
        )
        assert url_for("static", filename="board/util.js") == "/static/board/util.js"
    assert type(app.url_map._rules[0]).__name__ == "_LazyRule"
