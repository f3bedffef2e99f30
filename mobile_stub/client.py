"""HTTP to the wasteflow API, with retries: the only way this package talks to the server.

Network errors and 5xx (and 429) are retried with exponential backoff and full jitter, within a
bounded number of attempts and a bounded time; any other 4xx is the server's answer and raised
at once as :class:`ApiError`. Retrying a POST is only safe because every write this client
makes carries an idempotency key.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

API_PREFIX = "/api/v1"
USER_AGENT = "wasteflow-mobile/0.1"


def normalise_server(url: str) -> str:
    """``http://Host:8000/api/v1/`` → ``http://host:8000``: one spelling per server."""
    url = url.strip().rstrip("/")
    if url.endswith(API_PREFIX):
        url = url[: -len(API_PREFIX)]
    if "://" not in url:
        url = "http://" + url
    scheme, _, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}".rstrip("/")


class ApiError(Exception):
    """The server answered with a 4xx: its ``error``, ``detail`` and ``field``."""

    def __init__(self, status: int, body: Any):
        self.status = status
        self.body = body
        if isinstance(body, dict):
            self.error = str(body.get("error", status))
            self.detail = str(body.get("detail", body))
            self.field: str | None = body.get("field")
        else:
            self.error, self.detail, self.field = str(status), str(body)[:500], None
        super().__init__(f"{status} {self.error}: {self.detail}")


class Unreachable(Exception):
    """The request did not get an answer within the retry budget.

    ``connected`` is False when no attempt ever reached the server (connection refused, DNS,
    connect timeout): then nothing can have been recorded.
    """

    def __init__(self, message: str, *, attempts: int, connected: bool):
        super().__init__(message)
        self.attempts = attempts
        self.connected = connected


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: ``attempts`` in all, waits growing from ``base_delay`` to ``max_delay``
    (full jitter), giving up once ``deadline`` seconds have passed since the first attempt."""

    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 20.0
    deadline: float = 120.0

    def delays(self, rng: random.Random) -> Iterator[float]:
        """The waits between attempts (one fewer than ``attempts``)."""
        for n in range(self.attempts - 1):
            # Full jitter: phones that lost signal together must not all come back together.
            yield rng.uniform(0, min(self.max_delay, self.base_delay * 2**n))


_RETRY_4XX = {408, 429}  # "try again later" answers; every 5xx is retried too


@dataclass
class Api:
    """A session with one server; ``token`` is sent as the bearer when set."""

    server: str
    token: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = 30.0
    transport: httpx.BaseTransport | None = None
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep
    requests: int = 0

    def __post_init__(self) -> None:
        self.server = normalise_server(self.server)
        self._http = httpx.Client(
            base_url=self.server + API_PREFIX,
            timeout=self.timeout,
            transport=self.transport,
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        retry: RetryPolicy | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send with retries; returns a 2xx/3xx response, raises ApiError or Unreachable."""
        policy = retry or self.retry
        hdrs = dict(headers or {})
        if self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        started = time.monotonic()
        delays = policy.delays(self.rng)
        connected = False
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            wait_hint: float | None = None
            try:
                response = self._http.request(method, path, headers=hdrs, **kwargs)
            except httpx.TransportError as exc:
                # Only a failed connect proves the request never reached the server.
                connected = connected or not isinstance(
                    exc, httpx.ConnectError | httpx.ConnectTimeout
                )
                problem = f"{type(exc).__name__}: {exc or 'no detail'}"
            else:
                connected = True
                if response.status_code < 400:
                    return response
                if response.status_code < 500 and response.status_code not in _RETRY_4XX:
                    raise ApiError(response.status_code, _json_or_text(response))
                problem = f"HTTP {response.status_code}"
                wait_hint = _retry_after(response)
            delay = next(delays, None)
            if delay is not None and wait_hint is not None:
                delay = min(max(delay, wait_hint), policy.max_delay)
            if delay is None or time.monotonic() - started + delay > policy.deadline:
                raise Unreachable(
                    f"{method} {path}: no answer after {attempt} attempt(s), last: {problem}",
                    attempts=attempt,
                    connected=connected,
                )
            self.sleep(delay)

    # -- endpoints --------------------------------------------------------------------------

    def login(self, username: str, password: str) -> dict[str, Any]:
        """OAuth2 password flow; keeps the token for the following requests."""
        body = self.request(
            "POST", "/auth/token", data={"username": username, "password": password}
        ).json()
        self.token = body["access_token"]
        return body  # type: ignore[no-any-return]

    def get_json(self, path: str, **params: Any) -> Any:
        """GET a JSON resource."""
        return self.request("GET", path, params=params or None).json()

    def get_bytes(self, path: str) -> bytes:
        """GET raw bytes (plaque and manifest images)."""
        return self.request("GET", path).content

    def post_batch(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        """POST an outbox chunk; every item carries its own idempotency key."""
        return self.request("POST", "/handovers/batch", json={"items": items}).json()  # type: ignore[no-any-return]

    def post_receipt(self, body: dict[str, Any], key: str) -> tuple[dict[str, Any], bool]:
        """Confirm a load by its manifest; returns (handover, replayed)."""
        response = self.request(
            "POST", "/handovers/receipt", json=body, headers={"Idempotency-Key": key}
        )
        return response.json(), response.headers.get("Idempotent-Replayed") == "true"

    def post_correction(
        self, code: str, body: dict[str, Any], key: str
    ) -> tuple[dict[str, Any], bool]:
        """Correct the confirmed receipt of ``code``; returns (the new record, replayed)."""
        response = self.request(
            "POST",
            f"/handovers/{code}/receipt/correct",
            json=body,
            headers={"Idempotency-Key": key},
        )
        return response.json(), response.headers.get("Idempotent-Replayed") == "true"

    def pages(self, path: str, page_size: int = 500, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paginated listing (``{"items", "total", ...}``)."""
        offset = 0
        while True:
            page = self.get_json(path, limit=page_size, offset=offset, **params)
            yield from page["items"]
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                return


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
