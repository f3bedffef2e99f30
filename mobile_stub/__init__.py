"""wasteflow-mobile: the offline-first field client of wasteflow.

It scans QR plaques and manifests, keeps every scan in a local SQLite outbox before sending it,
and syncs with the server over HTTP only, with an idempotency key per scan so that nothing is
ever lost or recorded twice. ``Phone`` is the Python API; ``wasteflow-mobile`` the command.
"""

from mobile_stub.client import ApiError, RetryPolicy, Unreachable
from mobile_stub.phone import NotLoggedIn, Phone
from mobile_stub.sync import SyncReport

__all__ = ["ApiError", "NotLoggedIn", "Phone", "RetryPolicy", "SyncReport", "Unreachable"]
