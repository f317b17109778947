"""Domain errors. Each carries its HTTP status and contract code; app.py maps them to the
API's error shape in one place (and the Heroku-compatible API maps them to its own)."""
from __future__ import annotations

import math


class TwostepError(Exception):
    status = 400
    code = "invalid_request"
    message = "The request is not valid."

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        if code:
            self.code = code

    def headers(self) -> dict[str, str]:
        return {}


class InvalidRequest(TwostepError):
    pass


class WeakPassword(TwostepError):
    code = "weak_password"


class InvalidCode(TwostepError):
    """A wrong code from a signed-in person (confirm, phone verify): 400."""

    code = "invalid_code"
    message = "That code is not valid."


class LoginCodeInvalid(TwostepError):
    """A wrong second-factor code at login: 401."""

    status = 401
    code = "invalid_code"
    message = "That code is not valid."


class Unauthenticated(TwostepError):
    status = 401
    code = "unauthenticated"
    message = "You need to log in."


class SessionRevoked(Unauthenticated):
    code = "session_revoked"
    message = "This session has ended. Please log in again."


class InvalidCredentials(TwostepError):
    status = 401
    code = "invalid_credentials"
    message = "The email or password is incorrect."


class Forbidden(TwostepError):
    status = 403
    code = "forbidden"
    message = "This request is not allowed."


class PasswordIncorrect(TwostepError):
    status = 403
    code = "password_incorrect"
    message = "The password is incorrect."


class NotFound(TwostepError):
    status = 404
    code = "not_found"
    message = "Not found."


class Conflict(TwostepError):
    status = 409
    code = "conflict"


class PayloadTooLarge(TwostepError):
    status = 413
    code = "payload_too_large"
    message = "The request body is larger than 64 KiB."


class UnsupportedMediaType(TwostepError):
    status = 415
    code = "unsupported_media_type"
    message = "Send the body as application/json."


class InternalError(TwostepError):
    status = 500
    code = "internal_error"
    message = "Something went wrong on our side."


class TwoFactorLocked(TwostepError):
    status = 403
    code = "two_factor_locked"
    message = ("Too many wrong codes: the authenticator app and SMS codes are locked for this "
               "account. Log in with a recovery code to unlock them.")


class RateLimited(TwostepError):
    status = 429
    code = "rate_limited"
    message = "Too many attempts. Try again later."

    def __init__(self, retry_after: float, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = max(1, math.ceil(retry_after))

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ServiceUnavailable(TwostepError):
    """A service behind the API (DynamoDB, KMS, SNS, SES) throttled, timed out or could not
    be reached: nothing was changed, and the request may simply be sent again."""

    status = 503
    code = "unavailable"
    message = "twostep cannot reach one of its services just now. Nothing was changed; try again in a moment."
    RETRY_AFTER = 2

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.RETRY_AFTER)}
