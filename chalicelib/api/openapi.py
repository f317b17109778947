"""The OpenAPI 3 document of the API, served at GET /api/openapi.json.

Written here beside the blueprints and kept in step with them by
tests/api/test_openapi.py (its paths must equal the routes the app registers) and by the
Schemathesis fuzz (tests/e2e/test_fuzz.py), which checks every answer against it.
"""
from __future__ import annotations

from typing import Any

from chalicelib.fields import MAX_PASSWORD


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: list[str] | None = None, **props: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


STR = {"type": "string"}
NULLABLE_STR = {"type": ["string", "null"]}
TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
PASSWORD = {"type": "string", "minLength": 1, "maxLength": MAX_PASSWORD}
CODE = {"type": "string", "minLength": 1, "maxLength": 32}
TOKEN = {"type": "string", "minLength": 1, "maxLength": 256}

SCHEMAS: dict[str, Any] = {
    "Error": _obj(["error"], error=_obj(["code", "message"], code=STR, message=STR)),
    "User": _obj(["id", "email", "created_at", "two_factor_enabled"], id=STR, email=STR, created_at=TIME,
                 two_factor_enabled={"type": "boolean"}),
    "Authenticated": _obj(["status", "user"], status={"const": "authenticated"}, user=_ref("User"),
                          api_key=STR, clock_skew_seconds={"type": "integer", "enum": [-30, 30]}),
    "TwoFactorRequired": _obj(["status", "login_token", "methods", "phone_hint"],
                              status={"const": "two_factor_required"}, login_token=STR,
                              # the kinds GET /api/methods lists (a kind's `method`)
                              methods={"type": "array", "items": STR},
                              phone_hint=NULLABLE_STR),
    "TwoFactorStatus": _obj(
        ["enabled", "enabled_at", "phone", "recovery_codes_remaining", "recovery_codes_low"],
        enabled={"type": "boolean"}, enabled_at=NULLABLE_TIME,
        phone={"oneOf": [{"type": "null"}, _obj(["hint", "verified"], hint=STR, verified={"type": "boolean"})]},
        recovery_codes_remaining={"type": "integer", "minimum": 0, "maximum": 10},
        recovery_codes_low={"type": "boolean"},
    ),
    "RecoveryCodes": _obj(["codes"], codes={"type": "array", "items": _obj(
        ["code", "used_at"], code={"type": "string", "pattern": "^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$"},
        used_at=NULLABLE_TIME)}),
    "Password": _obj(["password"], password=PASSWORD),
    # WebAuthn's Level 3 JSON forms (PublicKeyCredential.toJSON(), the options' JSON): base64url
    # fields, checked in depth by chalicelib/factors/webauthn/values.py and fido2.
    "PublicKeyCredential": _obj(["type", "rawId", "response"], id=STR, rawId=STR, type={"const": "public-key"},
                                response={"type": "object"}, clientExtensionResults={"type": "object"},
                                authenticatorAttachment=NULLABLE_STR),
    "PublicKeyOptions": _obj(["challenge"], challenge=STR),
    "WebAuthnCredential": _obj(["id", "name", "created_at", "last_used_at", "passkey"], id=STR, name=STR,
                               created_at=TIME, last_used_at=NULLABLE_TIME, passkey={"type": "boolean"}),
    # The Heroku Platform API subset (chalicelib/api/heroku.py), for Heroku's own CLI.
    "HerokuError": _obj(["id", "message"], id=STR, message=STR, resource=STR),
    "HerokuAuthorization": _obj(
        ["id", "description", "scope", "created_at", "updated_at", "access_token", "user"],
        id=STR, description=NULLABLE_STR, scope={"type": "array", "items": STR}, created_at=TIME, updated_at=TIME,
        access_token=_obj(["id", "token", "expires_in"], id=STR, token=STR,
                          expires_in={"type": ["integer", "null"], "minimum": 0}),
        user=_obj(["id", "email"], id=STR, email=STR)),
}


def _heroku(summary: str, ok: int, response: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    op = _op(summary, ok, response, errors=HEROKU_ERRORS, **kw)
    op.setdefault("security", [{"bearer": []}])
    return op

ERRORS = {"4XX": {"description": "An error in the contract's shape",
                  "content": {"application/json": {"schema": _ref("Error")}}}}
HEROKU_ERRORS = {"4XX": {"description": "An error in Heroku's shape",
                         "content": {"application/json": {"schema": _ref("HerokuError")}}}}


def _op(summary: str, ok: int, response: dict[str, Any] | None = None, body: dict[str, Any] | None = None,
        secured: bool = True, params: list[str] | None = None,
        errors: dict[str, Any] = ERRORS) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": dict(errors)}
    if response is None:
        op["responses"][str(ok)] = {"description": "Done"}
    else:
        op["responses"][str(ok)] = {"description": "Done", "content": {"application/json": {"schema": response}}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if not secured:
        op["security"] = []
    if params:
        op["parameters"] = [{"name": p, "in": "path", "required": True,
                             "schema": {"type": "string", "minLength": 1, "maxLength": 64}} for p in params]
    return op


def _with_status(op: dict[str, Any], ok: int, response: dict[str, Any]) -> dict[str, Any]:
    """An operation with a second success status (a challenge answers 202 or 200 by kind)."""
    op["responses"][str(ok)] = {"description": "Done", "content": {"application/json": {"schema": response}}}
    return op


PATHS: dict[str, Any] = {
    "/api/health": {"get": _op("Liveness", 200, _obj(["status"], status={"const": "ok"}), secured=False)},
    "/api/openapi.json": {"get": _op("This document", 200, {"type": "object"}, secured=False)},
    "/api/signup": {"post": _op("Create an account and a browser session", 201, _obj(["user"], user=_ref("User")),
                                _obj(["email", "password"], email={"type": "string", "maxLength": 320},
                                     password=PASSWORD), secured=False)},
    "/api/login": {"post": _op(
        "The password step", 200, {"oneOf": [_ref("Authenticated"), _ref("TwoFactorRequired")]},
        _obj(["email", "password"], email={"type": "string", "maxLength": 320}, password=PASSWORD,
             client={"enum": ["browser", "cli"]}), secured=False)},
    "/api/methods": {"get": _op("Every kind of second factor this deployment has", 200, _obj(["methods"], methods={
        "type": "array", "items": _obj(["method", "label", "field", "input", "challenge", "enrols"], method=STR,
                                       label=STR, field=STR, input={"enum": ["code", "recovery_code", "credential"]},
                                       challenge={"type": "boolean"}, enrols={"type": "boolean"})}),
        secured=False)},
    "/api/login/challenge": {"post": _with_status(_op(
        "The second step's challenge for a method that has one (sms: a code texted, 202; webauthn: the "
        "request options, 200)", 202, _obj(["phone_hint"], phone_hint=STR),
        _obj(["login_token", "method"], login_token=TOKEN, method={"type": "string", "maxLength": 32}),
        secured=False), 200, _obj(["publicKey"], publicKey=_ref("PublicKeyOptions")))},
    "/api/login/sms": {"post": _op("Text a login code (an alias of the challenge with method sms)", 202,
                                   _obj(["phone_hint"], phone_hint=STR),
                                   _obj(["login_token"], login_token=TOKEN), secured=False)},
    "/api/login/verify": {"post": _op(
        "The second-factor step (exactly one of code, recovery_code, sms_code, webauthn)", 200,
        _ref("Authenticated"),
        _obj(["login_token"], login_token=TOKEN, code=CODE, recovery_code={"type": "string", "maxLength": 64},
             sms_code=CODE, webauthn=_ref("PublicKeyCredential")), secured=False)},
    "/api/login/passkey/options": {"post": _op(
        "Request options for signing in with a passkey alone (capped per client address)", 200,
        _obj(["passkey_token", "publicKey"], passkey_token=STR, publicKey=_ref("PublicKeyOptions")),
        secured=False)},  # a body is optional: `{}`, or none
    "/api/login/passkey": {"post": _op(
        "Sign in with a passkey that verified the person: both factors", 200, _ref("Authenticated"),
        _obj(["passkey_token", "credential"], passkey_token=TOKEN, credential=_ref("PublicKeyCredential"),
             client={"enum": ["browser", "cli"]}), secured=False)},
    "/api/logout": {"post": _op("End this browser session", 204)},
    "/api/account": {"get": _op("The account", 200, _obj(["user", "two_factor"], user=_ref("User"),
                                                          two_factor=_ref("TwoFactorStatus")))},
    "/api/account/api-key": {"post": _op(
        "Reveal or regenerate the API key", 200, _obj(["api_key"], api_key=STR),
        _obj(["password"], password=PASSWORD, regenerate={"type": "boolean"}))},
    "/api/account/sessions": {"get": _op("Browser sessions and authorizations", 200, _obj(["sessions"], sessions={
        "type": "array", "items": _obj(
            ["id", "kind", "created_at", "last_seen_at", "expires_at", "user_agent", "ip", "current"],
            id=STR, kind={"enum": ["browser", "authorization"]}, created_at=TIME, last_seen_at=TIME,
            expires_at=NULLABLE_TIME, user_agent=NULLABLE_STR, ip=NULLABLE_STR, current={"type": "boolean"})}))},
    "/api/account/sessions/{session_id}": {"delete": _op("Revoke a session", 204, params=["session_id"])},
    "/api/account/two-factor/setup": {"post": _op(
        "Start enrolling an authenticator app", 200,
        _obj(["authenticator_id", "secret", "otpauth_uri", "qr_svg"], authenticator_id=STR, secret=STR,
             otpauth_uri=STR, qr_svg=STR),
        _obj(["password"], password=PASSWORD, name={"type": "string", "maxLength": 64}))},
    "/api/account/two-factor/confirm": {"post": _op(
        "Confirm the pending authenticator with a code", 200,
        _obj(["enabled"], enabled={"const": True}, api_key=STR,
             recovery_codes={"type": "array", "minItems": 10, "maxItems": 10, "items": STR}),
        _obj(["authenticator_id", "code"], authenticator_id={"type": "string", "maxLength": 64}, code=CODE))},
    "/api/account/two-factor/authenticators": {"get": _op("Confirmed authenticators", 200, _obj(
        ["authenticators"], authenticators={"type": "array", "items": _obj(
            ["id", "name", "created_at", "last_used_at"], id=STR, name=STR, created_at=TIME,
            last_used_at=NULLABLE_TIME)}))},
    "/api/account/two-factor/authenticators/{authenticator_id}": {"delete": _op(
        "Remove an authenticator (not the last)", 204, body=_ref("Password"), params=["authenticator_id"])},
    "/api/account/factors": {"get": _op("The account's two-factor methods of every kind that is added", 200, _obj(
        ["factors"], factors={"type": "array", "items": _obj(
            ["id", "method", "name", "created_at", "last_used_at"], id=STR, method=STR, name=STR, created_at=TIME,
            last_used_at=NULLABLE_TIME)}))},
    "/api/account/factors/{method}": {"post": _op(
        "Start adding a two-factor method of a kind (its own fields beside the password)", 200, {"type": "object"},
        _obj(["password"], password=PASSWORD), params=["method"])},
    "/api/account/factors/{method}/confirm": {"post": _op(
        "Finish adding it with its proof; the first one turns two-factor on", 200,
        _obj(["enabled"], enabled={"const": True}, api_key=STR,
             recovery_codes={"type": "array", "minItems": 10, "maxItems": 10, "items": STR}),
        {"type": "object"}, params=["method"])},
    "/api/account/factors/{method}/{factor_id}": {"delete": _op(
        "Remove a two-factor method (not the account's last)", 204, body=_ref("Password"),
        params=["method", "factor_id"])},
    "/api/account/webauthn/register": {"post": _op(
        "Start adding a security key, or a passkey with passkey:true: creation options", 200,
        _obj(["registration_id", "publicKey"], registration_id=STR, publicKey=_ref("PublicKeyOptions")),
        _obj(["password"], password=PASSWORD, passkey={"type": "boolean"}))},
    "/api/account/webauthn": {
        "post": _op("Finish adding it with the browser's answer; the first factor turns two-factor on", 201,
                    _obj(["credential"], credential=_ref("WebAuthnCredential"), api_key=STR,
                         recovery_codes={"type": "array", "minItems": 10, "maxItems": 10, "items": STR}),
                    _obj(["registration_id", "credential"], registration_id={"type": "string", "maxLength": 64},
                         credential=_ref("PublicKeyCredential"), name={"type": "string", "maxLength": 64})),
        "get": _op("The account's security keys and passkeys", 200, _obj(["credentials"], credentials={
            "type": "array", "items": _ref("WebAuthnCredential")})),
    },
    "/api/account/webauthn/{credential_id}": {"delete": _op(
        "Remove a security key or passkey (not the account's last factor)", 204, body=_ref("Password"),
        params=["credential_id"])},
    "/api/account/two-factor/disable": {"post": _op(
        "Turn two-factor off", 200, _obj(["enabled"], enabled={"const": False}), _ref("Password"))},
    "/api/account/recovery-codes": {"post": _op("View the recovery codes", 200, _ref("RecoveryCodes"),
                                                _ref("Password"))},
    "/api/account/recovery-codes/regenerate": {"post": _op("A new set; the old one dies", 200,
                                                           _ref("RecoveryCodes"), _ref("Password"))},
    "/api/account/phone": {
        "post": _op("Add a phone and text it a setup code", 202, _obj(["phone_hint"], phone_hint=STR),
                    _obj(["phone", "password"], phone={"type": "string", "maxLength": 64}, password=PASSWORD,
                         country={"type": "string", "maxLength": 8})),
        "delete": _op("Remove the phone", 204, body=_ref("Password")),
    },
    "/api/account/phone/verify": {"post": _op(
        "Verify the phone with its setup code", 200,
        _obj(["phone"], phone=_obj(["hint", "verified"], hint=STR, verified={"const": True})),
        _obj(["code"], code=CODE))},
    "/api/account/events": {"get": _op("The security log, newest first", 200, _obj(["events"], events={
        "type": "array", "items": _obj(["type", "at", "ip", "user_agent", "detail"], type=STR, at=TIME,
                                       ip=NULLABLE_STR, user_agent=NULLABLE_STR, detail={"type": "object"})}))},
    "/oauth/authorizations": {
        "post": {**_heroku(
            "Log in as Heroku's CLI does: HTTP Basic email:password, and a code in Heroku-Two-Factor-Code "
            "when two-factor is on (403 two_factor without it); the token is shown in full only here",
            201, _ref("HerokuAuthorization"),
            body=_obj(description={"type": "string", "maxLength": 256},
                      expires_in={"type": "integer", "minimum": 1, "maximum": 365 * 24 * 3600},
                      scope={"type": "array", "items": {"const": "global"}})),
            "security": [{"basic": []}],
            "parameters": [{"name": "Heroku-Two-Factor-Code", "in": "header", "required": False,
                            "schema": {"type": "string", "maxLength": 64}}]},
        "get": _heroku("This account's authorizations, tokens redacted", 200,
                       {"type": "array", "items": _ref("HerokuAuthorization")}),
    },
    "/oauth/authorizations/{authorization_id}": {
        "get": _heroku("One authorization (`~`: the API key), token redacted", 200, _ref("HerokuAuthorization"),
                       params=["authorization_id"]),
        "delete": _heroku("End an authorization", 200, _ref("HerokuAuthorization"), params=["authorization_id"]),
    },
    "/oauth/sessions/{session_id}": {"delete": _heroku(
        "Heroku's SSO sessions, which `heroku logout` ends first: twostep has none (404)", 404,
        _ref("HerokuError"), params=["session_id"])},
    "/account": {"get": _heroku("The account, in Heroku's shape", 200, _obj(
        ["id", "email", "two_factor_authentication", "created_at", "updated_at"], id=STR, email=STR,
        two_factor_authentication={"type": "boolean"}, created_at=TIME, updated_at=TIME))},
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "twostep", "version": "1.0.0",
             "description": "Two-factor authentication for a platform's accounts. See API.md."},
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "cookie": {"type": "apiKey", "in": "cookie", "name": "twostep_session",
                       "description": "Browser session; state changes also need X-Requested-With: twostep"},
            "bearer": {"type": "http", "scheme": "bearer", "description": "API key or authorization"},
            "basic": {"type": "http", "scheme": "basic", "description": "email:password (Heroku's CLI login)"},
        },
    },
    "security": [{"cookie": []}, {"bearer": []}],
    "paths": PATHS,
}
