"""A property-based fuzzer over every API operation: no input, valid or not, makes the server
fail (5xx), as any role, on SQLite and on PostgreSQL; and every answer is what the OpenAPI
document says (its status, content type and body).

Schemathesis reads the app's own OpenAPI document and draws requests from it — bodies,
queries and paths that fit the schema and many that do not — and each is sent as an admin, an
official and a collector. Bounded (examples per operation) so the suite stays quick; run it
longer with ``WASTEFLOW_FUZZ_EXAMPLES=200``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from tests.conftest import BACKENDS, PostgresServer, fresh_engine
from tests.factories import admin, make_account, make_network
from wasteflow.db import new_session
from wasteflow.types import Role

EXAMPLES = int(os.environ.get("WASTEFLOW_FUZZ_EXAMPLES", "10"))
CONFORMANCE = [
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@dataclass
class Fuzzed:
    schema: schemathesis.BaseSchema
    tokens: dict[str, str]


@pytest.fixture(scope="module", params=BACKENDS)
def fuzzed(
    request: pytest.FixtureRequest,
    pg_server: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Fuzzed]:
    from api.main import create_app

    engine = fresh_engine(request, pg_server, tmp_path_factory, "fuzz")
    with new_session(engine) as session:
        net = make_network(session)  # something to find: sites, a round, accounts
        tokens = {
            "admin": admin(session).token,
            "official": make_account(session, Role.official).token,
            "collector": net.collector.token,
        }
    app = create_app(engine)
    yield Fuzzed(schemathesis.openapi.from_asgi("/openapi.json", app), tokens)
    engine.dispose()


def _operations(fuzzed: Fuzzed) -> list[schemathesis.APIOperation]:
    out = []
    for result in fuzzed.schema.get_all_operations():
        op = result.ok()
        # Logging out would revoke the token the other requests carry.
        if op.path != "/api/v1/auth/logout":
            out.append(op)
    return out


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_input_makes_the_server_fail(fuzzed: Fuzzed, mode: GenerationMode) -> None:
    """Every operation, requests that fit its schema (positive) and that do not (negative),
    as each role: never a 5xx."""
    operations = _operations(fuzzed)
    assert len(operations) >= 40
    for op in operations:

        @given(case=op.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case: schemathesis.Case) -> None:
            for role, token in fuzzed.tokens.items():
                response = case.call(headers={"Authorization": f"Bearer {token}"})
                assert response.status_code < 500, (
                    f"{role}: {case.method} {case.formatted_path} {case.query} "
                    f"{case.body!r} → {response.status_code} {response.text[:300]}"
                )
                # The answer is what the document says: a documented status, content type
                # and body (an ErrorBody for every error).
                case.validate_response(response, checks=CONFORMANCE)

        try:
            run()
        except Unsatisfiable:
            # Nothing about it can be made invalid (no parameters, no body): positive only.
            assert mode == GenerationMode.NEGATIVE, op.label
