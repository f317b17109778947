"""Domain errors, all of them here. Each carries its HTTP status and contract code, and is
answered in one of the API's two error shapes, each built by one function below: the
contract's (`contract_body`) and Heroku's on its Platform API subset (`heroku_body`). The
handlers (api/http.py, api/heroku.py), app.py's framework errors and the local gateway all
answer through these two."""
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
    """A body not sent as JSON (api/http.py media_type_error)."""

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


class PhoneNotAllowed(TwostepError):
    code = "phone_not_allowed"


class SmsUnavailable(TwostepError):
    status = 502
    code = "sms_failed"
    message = ("We could not send a text message to this number just now. Use your authenticator "
               "app or a recovery code instead, or try again later.")


class TwoFactorRequired(TwostepError):
    """Heroku's authorizations: the password was right, a code is wanted with it."""

    status = 403
    code = "two_factor_required"
    message = ("Two-factor authentication is on for this account: send a code from your "
               "authenticator app, or a recovery code, in the Heroku-Two-Factor-Code header.")


class KeyOnlyAccount(TwostepError):
    """Heroku's authorizations for an account whose only factors a terminal cannot use (security
    keys, passkeys): a code of another kind was typed, where only a recovery code can work."""

    status = 403
    code = "security_key_required"
    message = ("This account's two-factor method is a security key or passkey, which a terminal cannot use. "
               "Enter one of your recovery codes as the two-factor code, or log in on the website.")


class AuthorizationNotFound(NotFound):
    resource = "authorization"
    message = "No such authorization."


class NoSuchSession(NotFound):
    """Heroku's SSO sessions, which twostep does not have."""

    resource = "session"
    message = "No such session: twostep's Heroku-style tokens are authorizations."


# --- the two error shapes ------------------------------------------------------------------

def contract_body(error: TwostepError) -> dict:
    return {"error": {"code": error.code, "message": error.message}}


# Our error codes as Heroku's ids, where Heroku has its own; the rest pass through.
HEROKU_IDS = {
    "invalid_request": "bad_request",
    "invalid_credentials": "unauthorized",
    "unauthenticated": "unauthorized",
    "session_revoked": "unauthorized",
    "two_factor_required": "two_factor",
    "invalid_code": "two_factor",
    "two_factor_locked": "two_factor",
    "rate_limited": "rate_limit",
    "unavailable": "unavailable",
    "internal_error": "internal_server_error",
}


def heroku_body(error: TwostepError) -> dict:
    body = {"id": HEROKU_IDS.get(error.code, error.code), "message": error.message}
    resource = getattr(error, "resource", None)
    if resource:
        body["resource"] = resource
    return body


def heroku_status(error: TwostepError) -> int:
    """Every second-factor refusal is a 403 `two_factor` on Heroku, which is what makes
    Heroku's CLI ask for a code and send the request again."""
    return 403 if HEROKU_IDS.get(error.code) == "two_factor" else error.status
