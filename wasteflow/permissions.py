"""Who may do what: one matrix, checked by the services and tested cell by cell.

Roles grant actions; some actions are further limited to the sites an account acts for
(checked where the site is known, in the service that does the work).
"""

from __future__ import annotations

from enum import StrEnum

from wasteflow.errors import Forbidden
from wasteflow.types import Role


class Action(StrEnum):
    read_reference = "read_reference"  # regions, materials, routes, coefficients, targets
    read_sites = "read_sites"
    read_all_records = "read_all_records"  # every handover, declaration, rate and export
    read_own_records = "read_own_records"  # records of the sites an account acts for
    record_handover = "record_handover"
    confirm_receipt = "confirm_receipt"
    cancel_handover = "cancel_handover"
    record_declaration = "record_declaration"
    manage_sites = "manage_sites"
    manage_accounts = "manage_accounts"
    manage_organisations = "manage_organisations"
    manage_rounds = "manage_rounds"
    manage_reference = "manage_reference"  # coefficient sets and targets
    read_site_history = "read_site_history"
    manage_keys = "manage_keys"
    verify_audit = "verify_audit"
    sign_checkpoint = "sign_checkpoint"
    # Assign, comment on, close (resolved or dismissed) and reopen anomalies; the account an
    # anomaly is assigned to may also comment and close it as resolved (checked per case).
    manage_anomalies = "manage_anomalies"
    import_history = "import_history"  # upload ledgers of past handovers and declarations
    decide_late = "decide_late"  # approve or reject late scans submitted for approval


_EVERYONE = frozenset(Role)

MATRIX: dict[Action, frozenset[Role]] = {
    Action.read_reference: _EVERYONE,
    Action.read_sites: _EVERYONE,
    Action.read_all_records: frozenset({Role.official, Role.admin}),
    Action.read_own_records: _EVERYONE,
    # Processors record too, but only loads leaving their own site (refused mass sent back).
    Action.record_handover: frozenset({Role.collector, Role.site_operator, Role.processor}),
    Action.confirm_receipt: frozenset({Role.site_operator, Role.processor}),
    Action.cancel_handover: frozenset({Role.collector, Role.site_operator, Role.processor}),
    Action.record_declaration: frozenset({Role.admin}),
    Action.manage_sites: frozenset({Role.admin}),
    Action.manage_accounts: frozenset({Role.admin}),
    Action.manage_organisations: frozenset({Role.admin}),
    Action.manage_rounds: frozenset({Role.admin}),
    Action.manage_reference: frozenset({Role.admin}),
    Action.read_site_history: frozenset({Role.official, Role.admin}),
    Action.manage_keys: frozenset({Role.admin}),
    Action.verify_audit: frozenset({Role.official, Role.admin}),
    Action.sign_checkpoint: frozenset({Role.admin}),
    Action.manage_anomalies: frozenset({Role.official, Role.admin}),
    Action.import_history: frozenset({Role.admin}),
    Action.decide_late: frozenset({Role.admin}),
}


def allowed(role: Role | str, action: Action) -> bool:
    return Role(role) in MATRIX[action]


def require(role: Role | str, action: Action) -> None:
    """Raise Forbidden unless the role grants the action."""
    if not allowed(role, action):
        raise Forbidden(f"the {Role(role).value} role may not {action.value.replace('_', ' ')}")
