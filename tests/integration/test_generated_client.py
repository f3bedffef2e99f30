"""A Python client generated from ``/openapi.json`` works: it logs in, reads a rate and the
report as typed models, and reads a refusal as the API's ``ErrorBody`` (as a user of the API
would generate one with openapi-python-client)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import PASSWORD, make_account
from wasteflow.types import Role


@pytest.fixture
def generated(client: TestClient, tmp_path: Path) -> Any:
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(client.get("/openapi.json").json()))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"package_name_override": "wasteflow_client", "post_hooks": []}))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(spec),
            "--output-path",
            str(tmp_path / "wasteflow_client"),
            "--meta",
            "none",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("wasteflow_client")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("wasteflow_client")]:
            del sys.modules[name]


def test_a_generated_client_logs_in_reads_a_rate_and_the_report_and_an_error(
    client: TestClient, session: Session, generated: Any
) -> None:
    from wasteflow_client import AuthenticatedClient, Client  # type: ignore[import-not-found]
    from wasteflow_client.api.auth import login  # type: ignore[import-not-found]
    from wasteflow_client.api.rates import get_rate, rates_report  # type: ignore[import-not-found]
    from wasteflow_client.models import (  # type: ignore[import-not-found]
        BodyLogin,
        ErrorBody,
        FigurePublic,
        ReportPublic,
    )

    name = make_account(session, Role.official).account.username
    anonymous = Client(base_url="http://testserver").set_httpx_client(client)
    token = login.sync(client=anonymous, body=BodyLogin(username=name, password=PASSWORD))
    assert token is not None and not isinstance(token, ErrorBody), token
    api = AuthenticatedClient(base_url="http://testserver", token=token.access_token)
    api.set_httpx_client(client)
    client.headers["Authorization"] = f"Bearer {token.access_token}"

    figure = get_rate.sync(client=api, indicator="manure_utilisation", period="2025")
    assert isinstance(figure, FigurePublic), figure
    assert figure.indicator == "manure_utilisation" and figure.region.code == "500156"
    report = rates_report.sync(client=api, period="2025")
    assert isinstance(report, ReportPublic), report
    assert report.rows[0].region.code == "500156"
    assert isinstance(report.rows[0].figures["film_recovery"], FigurePublic)
    refused = get_rate.sync(client=api, indicator="happiness", period="2025")
    assert isinstance(refused, ErrorBody), refused
    assert refused.field == "indicator" and refused.error == "Invalid"
