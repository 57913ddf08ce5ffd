"""One Finnhub REST call, every way it can end, as a FetchResult (never an exception)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import requests
from pydantic import SecretStr

TOKEN_HEADER = "X-Finnhub-Token"  # noqa: S105 - a header name, not a secret; a header, not ?token=, so the key never lands in URLs or their logs


class Outcome(StrEnum):
    OK = "ok"
    RATE_LIMITED = "rate_limited"
    RETRYABLE = "retryable"  # 5xx, 408, timeouts, connection errors
    CLIENT_ERROR = "client_error"  # 401/403/4xx: retrying will not help
    MALFORMED = "malformed"  # 200 but not JSON


@dataclass(frozen=True)
class FetchResult:
    outcome: Outcome
    status: str  # the metric label: the HTTP code, "timeout" or "connection_error"
    payload: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    detail: str = ""


def outcome_for_status(code: int) -> Outcome:
    if code == 200:
        return Outcome.OK
    if code == 429:
        return Outcome.RATE_LIMITED
    if code >= 500 or code == 408:
        return Outcome.RETRYABLE
    return Outcome.CLIENT_ERROR


class QuoteClient:
    def __init__(
        self,
        base_url: str,
        api_key: SecretStr | None,
        *,
        connect_timeout: float,
        read_timeout: float,
        session: requests.Session | None = None,
    ) -> None:
        self.url = f"{base_url.rstrip('/')}/quote"
        self.timeout = (connect_timeout, read_timeout)
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = "stockfeed-producer"
        if api_key is not None:
            self.session.headers[TOKEN_HEADER] = api_key.get_secret_value()

    def fetch(self, symbol: str) -> FetchResult:
        try:
            response = self.session.get(self.url, params={"symbol": symbol}, timeout=self.timeout)
        except requests.Timeout as error:
            return FetchResult(Outcome.RETRYABLE, "timeout", detail=type(error).__name__)
        except requests.RequestException as error:
            return FetchResult(Outcome.RETRYABLE, "connection_error", detail=type(error).__name__)
        status = str(response.status_code)
        outcome = outcome_for_status(response.status_code)
        headers = dict(response.headers)
        if outcome is not Outcome.OK:
            return FetchResult(outcome, status, headers=headers, detail=response.text[:200])
        try:
            payload = response.json()
        except (ValueError, RecursionError):  # RecursionError: JSON nested too deep for Python's parser
            return FetchResult(Outcome.MALFORMED, status, headers=headers, detail=response.text[:80])
        return FetchResult(Outcome.OK, status, payload, headers)

    def close(self) -> None:
        self.session.close()
