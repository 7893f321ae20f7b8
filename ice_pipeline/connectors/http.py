"""The HTTP client every connector uses: httpx for the wire, tenacity for retries.

Belongs here: ``RetryPolicy`` (how hard to try), ``ApiClient`` (one vendor API: base URL, auth,
timeouts) and how an answer is classified. Retried: connection errors (refused, reset, dropped
mid-body), HTTP 429 and 5xx, each after an exponential wait with full jitter, or after exactly
what ``Retry-After`` asks for; never longer in total than ``RetryPolicy.max_total_seconds``.
Not retried: 401/403 (a refused credential fails at once with a ConfigError naming the setting
that holds it) and other 4xx (an IceError naming the request). Vendor rules (paging, export
states) live in the vendor modules.

Secrets travel only in request headers; every text this module raises is passed through
``redact`` so a vendor that echoes a token back cannot put it into a log or an exception.
"""

import email.utils
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import tenacity

from ice_pipeline.errors import ConfigError, IceError

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
Sleep = Callable[[float], None]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry one request (see ``connectors.http`` in ice.example.yaml)."""

    max_attempts: int = 6
    max_total_seconds: float = 300.0
    initial_seconds: float = 1.0
    max_seconds: float = 60.0


class RetryableAnswer(Exception):
    """A 429/5xx answer: worth another try, after ``retry_after`` seconds when the server said."""

    def __init__(self, status: int, retry_after: float | None, detail: str) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"HTTP {status}{': ' + detail if detail else ''}")


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class _WaitRetryAfterOrJitter(tenacity.wait.wait_base):
    """Wait what Retry-After says; otherwise exponential backoff with full jitter."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.jitter = tenacity.wait_random_exponential(
            multiplier=policy.initial_seconds, max=policy.max_seconds
        )
        self.policy = policy

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, RetryableAnswer) and error.retry_after is not None:
            return min(error.retry_after, self.policy.max_total_seconds)
        return float(self.jitter(retry_state))


@dataclass
class ApiClient:
    """One vendor API. ``secret_setting`` names the env var of the credential in messages.

    ``secrets`` are the credential values, kept only to blank them out of any text raised.
    ``requests`` counts every request sent (tests check retry counts with it).
    """

    tool: str
    base_url: str
    secret_setting: str
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: tuple[str, str] | None = None
    timeout_seconds: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    secrets: tuple[str, ...] = ()
    sleep: Sleep = time.sleep
    progress: Progress | None = None
    requests: int = 0

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Accept": "application/json", **dict(self.headers)},
            auth=self.auth,
            timeout=httpx.Timeout(self.timeout_seconds),
            follow_redirects=False,  # a redirect could carry the credential to another host
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "ApiClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    def same_origin(self, url: str) -> str:
        """A next-page URL from the vendor, refused unless it points at the configured host."""
        base, other = urlsplit(self.base_url), urlsplit(url)
        if other.netloc and (other.scheme, other.netloc) != (base.scheme, base.netloc):
            raise IceError(
                f"{self.tool} sent a next-page link to another host ({other.netloc})",
                fix=f"check the connector's base_url ({self.base_url}); the credential is only "
                "sent to that host",
                where=self.tool,
            )
        return url

    def _classify(self, response: httpx.Response, method: str, path: str) -> httpx.Response:
        status = response.status_code
        path = self.redact(path)
        if status < 300:
            return response
        detail = self.redact(response.text[:200].replace("\n", " ").strip())
        if status in RETRYABLE_STATUS:
            raise RetryableAnswer(
                status, retry_after_seconds(response.headers.get("Retry-After")), detail
            )
        if status in (401, 403):
            what = "refused" if status == 401 else "is not allowed to read this"
            raise ConfigError(
                self.secret_setting,
                f"{self.tool} answered HTTP {status} to {method} {path}: the credential {what} "
                "(expired, revoked, wrong, or missing a permission)",
                fix=f"create a new API credential in {self.tool} with read access and set "
                f"{self.secret_setting} to it",
            )
        raise IceError(
            f"{self.tool} answered HTTP {status} to {method} {path}"
            + (f" ({detail})" if detail else ""),
            fix="check the connector's settings in ICE_CONFIG (connectors.sources); "
            "docs/operations.md lists them",
            where=self.tool,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        parse: Callable[[httpx.Response], Any] = lambda r: r,
    ) -> Any:
        """One request with retries; ``parse`` runs inside the retry (a bad body is retried)."""
        started = time.monotonic()
        attempts = 0
        shown = self.redact(path)

        def once() -> Any:
            nonlocal attempts
            attempts += 1
            self.requests += 1
            response = self._http.request(method, path, params=params, json=json_body)
            return parse(self._classify(response, method, path))

        def before_sleep(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            if self.progress is not None:
                wait = state.next_action.sleep if state.next_action else 0.0
                self.progress(
                    f"{self.tool}: {method} {shown} failed ({self.redact(str(error))}); "
                    f"retry {state.attempt_number}/{self.retry.max_attempts - 1} in {wait:.1f} s"
                )

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.retry.max_attempts)
            | tenacity.stop_before_delay(self.retry.max_total_seconds),
            wait=_WaitRetryAfterOrJitter(self.retry),
            retry=tenacity.retry_if_exception_type(
                (httpx.TransportError, RetryableAnswer, _BadBody)
            ),
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(once)
        except (httpx.TransportError, RetryableAnswer, _BadBody) as err:
            raise IceError(
                f"{method} {shown} still failed after {attempts} attempts "
                f"over {time.monotonic() - started:.1f} s "
                f"({self.redact(str(err)) or type(err).__name__})",
                fix=f"check that {self.base_url} is reachable and try again later; "
                "connectors.http.max_attempts / max_total_seconds set how long to keep trying",
                where=self.tool,
            ) from None

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params, parse=_json_body)

    def post_json(self, path: str, body: Any, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("POST", path, params=params, json_body=body, parse=_json_body)

    def get_bytes(self, path: str) -> bytes:
        return self.request("GET", path, parse=lambda r: r.content)


class _BadBody(Exception):
    """A 2xx answer whose body is not JSON (cut off by a proxy, say): worth another try."""


def _json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise _BadBody(f"the answer is not JSON ({err.__class__.__name__})") from None


def require(record: Mapping[str, Any], path: str, *, tool: str, what: str) -> Any:
    """``record[a][b]`` for ``path`` 'a.b', or an IceError naming the missing field."""
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise IceError(
                f"{tool} answered without the field '{path}' in {what} (the API changed, or "
                "the credential cannot see that field)",
                fix="check the vendor's API changelog and the connector's field settings; "
                "nothing of this pull was landed",
                where=tool,
            )
        value = value[part]
    return value
