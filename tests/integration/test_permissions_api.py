"""The access matrix over HTTP, cell by cell: each role against each kind of write and read.

Each role's account is bound to the sites its job needs (a collector to a round, an operator to
the collection point, a processor to the processor), so a 403 here is the role, never a missing
binding.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import PASSWORD, Actor, Network, make_account, make_network, unique
from wasteflow.services import keys
from wasteflow.types import Role

ALLOWED = {  # action → roles that may do it (DESIGN.md, issue 3's access rules)
    "record": {Role.collector, Role.site_operator, Role.processor},
    "confirm": {Role.site_operator, Role.processor},
    "manage_sites": {Role.admin},
    "manage_accounts": {Role.admin},
    "manage_keys": {Role.admin},
    "read_all": {Role.official, Role.admin},
    "verify_audit": {Role.official, Role.admin},
    "manage_anomalies": {Role.official, Role.admin},
}


def _actor(session: Session, net: Network, role: Role) -> Actor:
    if role == Role.collector:
        return net.collector
    if role == Role.site_operator:
        return net.operator
    if role == Role.processor:
        return net.processor_account
    return make_account(session, role)


def _record(client: TestClient, session: Session, net: Network, actor: Actor) -> int:
    plaque = {
        Role.collector: net.plaque,
        Role.site_operator: net.cp_plaque,
        Role.processor: keys.sign(session, "site", net.processor.code),
    }.get(actor.account.role, net.plaque)
    to = net.processor.code if actor.account.role == Role.site_operator else net.cp.code
    body = net.body(source_plaque=plaque, to_site=to)
    return client.post(
        "/api/v1/handovers",
        json=body,  # type: ignore[no-any-return]
        headers=actor.headers | {"Idempotency-Key": uuid.uuid4().hex},
    ).status_code


def _confirm(client: TestClient, session: Session, net: Network, actor: Actor) -> int:
    # A load addressed to the site this role would confirm at.
    if actor.account.role == Role.processor:
        body, sender = (
            net.body(source_plaque=net.cp_plaque, to_site=net.processor.code),
            net.operator,
        )
        extra = {"route": "recycling"}
    else:
        body, sender, extra = net.body(), net.collector, {}
    code = client.post(
        "/api/v1/handovers",
        json=body,
        headers=sender.headers | {"Idempotency-Key": uuid.uuid4().hex},
    ).json()["code"]
    return client.post(
        f"/api/v1/handovers/{code}/receipt",  # type: ignore[no-any-return]
        json={"received_mass_kg": 12.5} | extra,
        headers=actor.headers,
    ).status_code


def _manage_sites(client: TestClient, _s: Session, _n: Network, actor: Actor) -> int:
    return client.post(
        "/api/v1/sites",
        headers=actor.headers,
        json={  # type: ignore[no-any-return]
            "code": unique("PERM"),
            "name": "x",
            "kind": "source",
            "region_code": "500156101",
        },
    ).status_code


def _manage_accounts(client: TestClient, _s: Session, _n: Network, actor: Actor) -> int:
    return client.post(
        "/api/v1/accounts",
        headers=actor.headers,
        json={  # type: ignore[no-any-return]
            "username": unique("perm").lower(),
            "display_name": "x",
            "role": "collector",
            "password": PASSWORD,
        },
    ).status_code


def _manage_keys(client: TestClient, _s: Session, _n: Network, actor: Actor) -> int:
    return client.post(
        "/api/v1/qr/keys/rotate",  # type: ignore[no-any-return]
        headers=actor.headers,
    ).status_code


def _read_all(client: TestClient, _s: Session, net: Network, actor: Actor) -> int:
    # A load between two sites this account has nothing to do with.
    other = make_network(_s)
    code = client.post(
        "/api/v1/handovers",
        json=other.body(),
        headers=other.collector.headers | {"Idempotency-Key": uuid.uuid4().hex},
    ).json()["code"]
    return client.get(
        f"/api/v1/handovers/{code}",  # type: ignore[no-any-return]
        headers=actor.headers,
    ).status_code


def _verify_audit(client: TestClient, _s: Session, _n: Network, actor: Actor) -> int:
    return client.get("/api/v1/audit/verify", headers=actor.headers).status_code  # type: ignore[no-any-return]


def _manage_anomalies(client: TestClient, _s: Session, net: Network, actor: Actor) -> int:
    # A load received a fifth lighter than declared: an anomaly at the collection point.
    code = client.post(
        "/api/v1/handovers",
        json=net.body(declared_mass_kg=50),
        headers=net.collector.headers | {"Idempotency-Key": uuid.uuid4().hex},
    ).json()["code"]
    client.post(
        f"/api/v1/handovers/{code}/receipt",
        json={"received_mass_kg": 40},
        headers=net.operator.headers,
    )
    return client.post(
        f"/api/v1/anomalies/mass_discrepancy:{code}/assign",  # type: ignore[no-any-return]
        json={"assignee": net.operator.account.username},
        headers=actor.headers,
    ).status_code


CELLS: dict[str, Callable[[TestClient, Session, Network, Actor], int]] = {
    "record": _record,
    "confirm": _confirm,
    "manage_sites": _manage_sites,
    "manage_accounts": _manage_accounts,
    "manage_keys": _manage_keys,
    "read_all": _read_all,
    "verify_audit": _verify_audit,
    "manage_anomalies": _manage_anomalies,
}
OK = {
    "record": 201,
    "confirm": 200,
    "manage_sites": 201,
    "manage_accounts": 201,
    "manage_keys": 201,
    "read_all": 200,
    "verify_audit": 200,
    "manage_anomalies": 200,
}


@pytest.mark.parametrize("action", list(CELLS))
@pytest.mark.parametrize("role", list(Role))
def test_cell(client: TestClient, session: Session, role: Role, action: str) -> None:
    net = make_network(session)
    status = CELLS[action](client, session, net, _actor(session, net, role))
    expected = OK[action] if role in ALLOWED[action] else 403
    assert status == expected, f"{role.value} × {action}: {status}, expected {expected}"


def test_every_write_names_its_account(client: TestClient, session: Session) -> None:
    net = make_network(session)
    r = client.post(
        "/api/v1/handovers",
        json=net.body(),
        headers=net.collector.headers | {"Idempotency-Key": uuid.uuid4().hex},
    )
    code = r.json()["code"]
    client.post(
        f"/api/v1/handovers/{code}/receipt",
        json={"received_mass_kg": 12.5},
        headers=net.operator.headers,
    )
    events: list[dict[str, Any]] = client.get(
        f"/api/v1/handovers/{code}/history", headers=net.operator.headers
    ).json()["events"]
    assert [e["account"] for e in events] == [
        net.collector.account.username,
        net.operator.account.username,
    ]
