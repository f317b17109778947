"""The twostep HTTP API over the standard library, with its errors mapped to messages.

Every failure is a `click.ClickException`, so click prints it on standard error and exits
non-zero without each command handling it. Imported only by commands that call the API,
so that `twostep --help` never loads urllib's HTTP stack.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import click

TIMEOUT = 30
USER_AGENT = "twostep-cli/0.1.0"
SESSION_ENDED = "Your twostep session has ended (the API key changed). Run `twostep login`."


class ApiError(click.ClickException):
    """An error answer from the API: its message, and the wait when rate limited."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        if status == 429 and retry_after is not None:
            message = f"{message} (wait {_duration(retry_after)})"
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after


class SessionEnded(click.ClickException):
    """The stored API key no longer works: regenerated elsewhere, or revoked."""

    def __init__(self) -> None:
        super().__init__(SESSION_ENDED)


class Api:
    def __init__(self, base_url: str, api_key: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.request("POST", path, body or {})

    def delete(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.request("DELETE", path, body)

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise self._error(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise click.ClickException(f"Cannot reach the twostep API at {self.base_url}: {reason}") from None
        return json.loads(raw) if raw.strip() else None

    def _error(self, exc: urllib.error.HTTPError) -> click.ClickException:
        try:
            error = json.loads(exc.read())["error"]
            code, message = str(error["code"]), str(error["message"])
        except (ValueError, KeyError, TypeError):
            code, message = "http_error", f"The API answered HTTP {exc.code}."
        if exc.code == 401 and self.api_key and code in ("session_revoked", "unauthenticated"):
            return SessionEnded()
        return ApiError(exc.code, code, message, _retry_after(exc.headers.get("Retry-After")))


def _retry_after(value: str | None) -> int | None:
    try:
        return max(1, int(value)) if value is not None else None
    except ValueError:
        return None


def _duration(seconds: int) -> str:
    minutes, seconds = divmod(seconds, 60)
    if not minutes:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
