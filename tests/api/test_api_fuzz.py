"""Schemathesis fuzzes every operation of the OpenAPI schema against the running server (uvicorn on
127.0.0.1): no input gives a 500, and every answer matches the status codes and schema it declares.

The operations come from the app's own schema at collection time (the one /openapi.json serves,
checked below) because schemathesis' lazy fixture loader does not run under pytest 9.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from api.core.config import api_config
from api.main import create_app

OPENAPI = create_app(api_config(warehouse=Path("unused.duckdb"))).openapi()
OPERATIONS = [result.ok() for result in schemathesis.openapi.from_dict(OPENAPI).get_all_operations()]
EXAMPLES_PER_OPERATION = 20  # per operation and mode: 400 requests in all, a few seconds


@schemathesis.check
def no_internal_error(ctx, response, case) -> None:
    """5xx only as the declared 503 (a mart not built yet, here issue 5's), never 500 or another."""
    if response.status_code >= 500 and response.status_code != 503:
        raise AssertionError(
            f"{response.status_code} for {case.method} {case.formatted_path}: {response.text[:300]}"
        )


CHECKS = [no_internal_error, status_code_conformance, response_schema_conformance]


def test_the_served_schema_is_the_one_fuzzed(server):
    assert httpx.get(f"{server.url}/openapi.json").json() == OPENAPI
    assert len(OPERATIONS) == 12  # with GET /stream (live mode) and /liquidations/true


# Operations without any input cannot be given invalid input: they are fuzzed positively only.
CASES = [
    (operation, mode)
    for operation in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or operation.query or operation.path_parameters or operation.body
]


@pytest.mark.parametrize(("operation", "mode"), CASES, ids=[f"{op.label} {mode}" for op, mode in CASES])
def test_no_input_gives_a_server_error_and_answers_match_the_schema(server, operation, mode):
    """Positive cases fit the schema, negative ones break it (and must get a 4xx, not a crash)."""
    seen: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case) -> None:
        response = case.call_and_validate(base_url=server.url, checks=CHECKS)
        seen.append(response.status_code)

    fuzz()
    assert seen and all(code < 500 or code == 503 for code in seen)
    if mode is GenerationMode.NEGATIVE:
        assert any(400 <= code < 500 for code in seen)
