"""Schemathesis over /api/openapi.json: every operation fuzzed in-process with every check.

Bounded and seeded (a fixed number of examples per operation and mode, derandomized),
so `make test` runs the same cases every time in a few seconds. Schemathesis' pytest
plugin (`from_fixture`) does not run under pytest 9, so each operation is a plain
parametrized test over `APIOperation.as_strategy`.

Every built-in check runs but one: `positive_data_acceptance` wants a 2xx for any
body the document allows, and this API answers 422 for a schema-valid body that names
an unknown SKU or warehouse, or breaks a rule across fields the document cannot state
("a name, or a count and a prefix"). In its place: a schema-valid request is never
refused for its shape, i.e. never 400/413/415, and a 422 lists no type or format
problem; whatever pydantic would call a shape error there, the document got wrong.
"""

from __future__ import annotations

import os
import re

import pytest
from floorkit import small_catalogue
from hypothesis import HealthCheck, Phase, assume, given, settings

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis fuzzes the API (dev extra)")
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import CHECKS, load_all_checks  # noqa: E402

from server.api.openapi import openapi_path  # noqa: E402
from server.api.routes import ROUTES  # noqa: E402
from server.core.schemas import CatalogueIn  # noqa: E402
from server.inventory import catalogue as catalogue_service  # noqa: E402
from server.people import auth  # noqa: E402

# A deeper run by hand: SCANFLOOR_FUZZ_EXAMPLES=300 .venv/bin/python -m pytest tests/server/api/test_fuzz_api.py
MAX_EXAMPLES = int(os.environ.get("SCANFLOOR_FUZZ_EXAMPLES", "5"))
load_all_checks()
CHECKED = [c for c in CHECKS.get_all() if c.__name__ != "positive_data_acceptance"]
# pydantic's words for a value whose type, length, range or format is wrong.
SHAPE_PROBLEM = re.compile(
    r"^(Input should|Field required|Extra inputs|String should|List should|Value should"
    r"|Dictionary should|Object should|Tuple should|Invalid JSON|JSON input)"
)
CASES = [
    pytest.param(r.method, "/api" + openapi_path(r.path), mode, id=f"{r.method} {r.path} {mode}")
    for r in ROUTES
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    # With nothing to send there is nothing to get wrong.
    if mode == GenerationMode.POSITIVE or r.body or r.query or "<" in r.path
]
LOADED: dict[str, object] = {}


@pytest.fixture
def api(app, store):
    """The app's own OpenAPI document on a small floor, and the headers of a valid API key."""
    catalogue_service.load(store, CatalogueIn.model_validate(small_catalogue()))
    key = auth.create_api_key(store, "fuzz")
    # The document is the same for every app (the routes are the code's): loaded once per
    # test process; each case is sent to this test's app (`app=`, over the operation's own).
    if "schema" not in LOADED:
        LOADED["schema"] = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    return LOADED["schema"], {"Authorization": f"Bearer {key}"}, app


def assert_not_refused_for_its_shape(response) -> None:
    """A schema-valid request: refused only for what the document cannot say."""
    assert response.status_code not in (400, 413, 415), response.text
    if response.status_code == 422:
        shape = [p for p in response.json()["problems"] if SHAPE_PROBLEM.match(p["message"])]
        assert not shape, f"the document allows what the server refuses: {shape}"


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_every_operation_answers_as_its_document_says(api, database_url, method, path, mode):
    schema, headers, app = api
    # PostgreSQL takes half as many: the document and the HTTP layer are the same on both
    # stores, and what only PostgreSQL refuses (a NUL in a string, an integer past bigint)
    # shows in any few cases that carry it.
    examples = MAX_EXAMPLES if database_url.startswith("sqlite") else max(2, MAX_EXAMPLES // 2)
    operation = schema[path][method]

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        # No shrinking: a failing case is reported as generated (the curl line reproduces
        # it); shrinking one took over ten minutes of CPU, past any CI's patience.
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case) -> None:
        if mode == GenerationMode.NEGATIVE:
            # Schemathesis drops a query parameter whose value is "" before sending: the
            # server then gets a valid request and answers 2xx, which the negative check
            # takes for invalid data accepted.
            assume(not any(v == "" for v in (case.query or {}).values()))
        response = case.call_and_validate(headers=headers, checks=CHECKED, app=app)
        if mode == GenerationMode.POSITIVE:
            assert_not_refused_for_its_shape(response)

    fuzz()
