"""Masses, codes, timestamps and the permission matrix."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from wasteflow.codes import ALPHABET, random_handover_code, sequential_handover_code
from wasteflow.errors import Forbidden
from wasteflow.permissions import MATRIX, Action, allowed, require
from wasteflow.types import Role, UTCDateTime, g_to_kg, kg_to_g


@given(st.decimals(min_value=0, max_value=10**9, places=3))
def test_grams_round_trip_exactly(kg: Decimal) -> None:
    assert g_to_kg(kg_to_g(kg)) == kg


def test_kg_to_g_rounds_half_to_even_at_the_gram() -> None:
    assert kg_to_g("1.0005") == 1000 and kg_to_g("1.0015") == 1002 and kg_to_g(2) == 2000


def test_handover_codes_look_right_and_bulk_codes_are_distinct() -> None:
    code = random_handover_code(date(2025, 3, 14))
    assert code.startswith("HO-20250314-") and all(c in ALPHABET for c in code[-5:])
    day = date(2025, 1, 1)
    codes = {sequential_handover_code(day, n) for n in range(50_000)}
    assert len(codes) == 50_000
    with pytest.raises(ValueError):
        sequential_handover_code(day, 2**25)


def test_utc_datetime_refuses_naive_and_returns_aware() -> None:
    t = UTCDateTime()
    sqlite = sa.create_engine("sqlite://").dialect
    with pytest.raises(ValueError, match="naive"):
        t.process_bind_param(datetime(2025, 1, 1), sqlite)
    stored = t.process_bind_param(datetime(2025, 1, 1, 8, tzinfo=UTC), sqlite)
    assert stored is not None and stored.tzinfo is None
    assert t.process_result_value(stored, sqlite) == datetime(2025, 1, 1, 8, tzinfo=UTC)


EXPECTED = {  # the product's access rules, cell by cell (DESIGN.md, issue 3)
    Action.record_handover: {Role.collector, Role.site_operator, Role.processor},
    Action.confirm_receipt: {Role.site_operator, Role.processor},
    Action.read_all_records: {Role.official, Role.admin},
    Action.manage_sites: {Role.admin},
    Action.manage_accounts: {Role.admin},
    Action.manage_keys: {Role.admin},
    Action.record_declaration: {Role.admin},
    Action.read_sites: set(Role),
    Action.manage_organisations: {Role.admin},
    Action.manage_rounds: {Role.admin},
    Action.manage_reference: {Role.admin},
    Action.read_site_history: {Role.official, Role.admin},
    Action.manage_anomalies: {Role.official, Role.admin},
    Action.import_history: {Role.admin},
    Action.decide_late: {Role.admin},
}


@pytest.mark.parametrize("action", list(EXPECTED))
@pytest.mark.parametrize("role", list(Role))
def test_permission_matrix_cell(role: Role, action: Action) -> None:
    assert allowed(role, action) == (role in EXPECTED[action])
    if role in EXPECTED[action]:
        require(role, action)
    else:
        with pytest.raises(Forbidden):
            require(role, action)


def test_officials_write_nothing_but_the_work_on_anomalies() -> None:
    writes = [a for a in Action if not a.value.startswith(("read", "verify"))]
    assert [a for a in writes if Role.official in MATRIX[a]] == [Action.manage_anomalies]


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.sampled_from(list(Role))
    | st.datetimes(timezones=st.just(UTC))
    | st.decimals(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(_json_values)
def test_audit_values_read_back_exactly_as_stored(value: object) -> None:
    """The audit chain hashes what the database will give back; _plain must predict it."""
    import json

    from wasteflow.services.audit import _plain

    assert _plain(value) == json.loads(json.dumps(value, default=str, ensure_ascii=False))


def test_credit_codes_are_checked_by_their_check_character() -> None:
    from wasteflow.schemas_admin import check_credit_code

    # Published codes (GB 32100-2015): the check character is right, in any case.
    assert check_credit_code("91110108551385082q") == "91110108551385082Q"
    assert check_credit_code("91350100M000100Y43") == "91350100M000100Y43"
    for mistyped in ("91110108551385082R", "91110108551385O82Q", "9111010855138508"):
        with pytest.raises(ValueError):
            check_credit_code(mistyped)
