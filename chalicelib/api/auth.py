"""Signing up, logging in (with a password, or a passkey alone) and out, and the second
step's methods."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import http

bp = Blueprint(__name__)


def _login_answer(result):
    """A login step's answer (whichever step): its body, and the session cookie it opened."""
    from chalicelib.views import login_body

    headers = {"Set-Cookie": http.session_cookie(result.cookie)} if result.cookie else {}
    return http.json_response(login_body(result), 200, headers)


@http.route(bp, "/health")
def health():
    return http.json_response({"status": "ok"})


@http.route(bp, "/openapi.json")
def openapi_document():
    from chalicelib.api.openapi import DOCUMENT

    return http.json_response(DOCUMENT)


@http.route(bp, "/methods")
def methods():
    """Every kind of second factor this deployment has, as clients draw them: its label, the
    field /api/login/verify reads it from, what the person gives, whether it has a challenge
    step and whether it is added from the account page."""
    from chalicelib import factors

    return http.json_response({"methods": [f.describe() for f in factors.all_factors()]})


@http.route(bp, "/signup", methods=["POST"])
def signup():
    from chalicelib.auth import accounts
    from chalicelib.views import user_body

    request = bp.current_request
    data = http.body(request)
    email = http.string(data, "email", max_length=320)
    password = http.password(data)
    user, cookie = accounts.signup(email, password, http.requester(request))
    return http.json_response({"user": user_body(user)}, 201, {"Set-Cookie": http.session_cookie(cookie)})


@http.route(bp, "/login", methods=["POST"])
def password_login():
    from chalicelib.auth import login

    request = bp.current_request
    data = http.body(request)
    email = http.string(data, "email", max_length=320)
    password = http.password(data)
    client_kind = http.string(data, "client", max_length=16, required=False) or "browser"
    result = login.password_step(email, password, client_kind, http.requester(request))
    return _login_answer(result)


def _challenge(data: dict, method: str | None):
    from chalicelib.auth import second_factor

    request = bp.current_request
    token = http.string(data, "login_token", max_length=256)
    status, body = second_factor.challenge(token, method, http.requester(request))
    return http.json_response(body, status)


@http.route(bp, "/login/challenge", methods=["POST"])
def login_challenge():
    data = http.body(bp.current_request)
    return _challenge(data, http.string(data, "method", max_length=32))


@http.route(bp, "/login/sms", methods=["POST"])
def login_sms():
    """The first challenge route, kept as an alias of `method: "sms"`."""
    return _challenge(http.body(bp.current_request), "sms")


@http.route(bp, "/login/verify", methods=["POST"])
def second_factor_login():
    from chalicelib.auth import second_factor

    request = bp.current_request
    data = http.body(request)
    token = http.string(data, "login_token", max_length=256)
    result = second_factor.verify(token, data, http.requester(request))
    return _login_answer(result)


@http.route(bp, "/login/passkey/options", methods=["POST"])
def passkey_options():
    """A passkey sign-in's challenge, for anyone (capped per client address)."""
    from chalicelib.auth import passkey

    request = bp.current_request
    http.body(request)  # `{}`: a body, if any, must still be JSON
    return http.json_response(passkey.options(http.requester(request)))


@http.route(bp, "/login/passkey", methods=["POST"])
def passkey_sign_in():
    """Signing in with a passkey alone: both factors."""
    from chalicelib.auth import passkey

    request = bp.current_request
    data = http.body(request)
    token = http.string(data, "passkey_token", max_length=256)
    client_kind = http.string(data, "client", max_length=16, required=False) or "browser"
    result = passkey.sign_in(token, data.get("credential"), client_kind, http.requester(request))
    return _login_answer(result)


@http.route(bp, "/logout", methods=["POST"])
def logout():
    from chalicelib.auth import credentials

    request = bp.current_request
    principal = http.authenticate(request)
    if principal.via == "cookie":
        credentials.log_out(principal, http.requester(request))
        return http.json_response(None, 204, {"Set-Cookie": http.clear_cookie()})
    return http.json_response(None, 204)
