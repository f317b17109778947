"""Signing up, logging in and out."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import http

bp = Blueprint(__name__)


@http.route(bp, "/health")
def health():
    return http.json_response({"status": "ok"})


@http.route(bp, "/openapi.json")
def openapi_document():
    from chalicelib.api.openapi import DOCUMENT

    return http.json_response(DOCUMENT)


@http.route(bp, "/signup", methods=["POST"])
def signup():
    from chalicelib.auth import accounts
    from chalicelib.views import user_body

    request = bp.current_request
    data = http.body(request)
    email = http.string(data, "email", max_length=320)
    password = http.string(data, "password", max_length=4096)
    user, cookie = accounts.signup(email, password, http.client(request))
    return http.json_response({"user": user_body(user)}, 201, {"Set-Cookie": http.session_cookie(cookie)})


@http.route(bp, "/login", methods=["POST"])
def password_login():
    from chalicelib.auth import login
    from chalicelib.views import login_body

    request = bp.current_request
    data = http.body(request)
    email = http.string(data, "email", max_length=320)
    password = http.string(data, "password", max_length=4096)
    client_kind = http.string(data, "client", max_length=16, required=False) or "browser"
    result = login.password_step(email, password, client_kind, http.client(request))
    headers = {"Set-Cookie": http.session_cookie(result.cookie)} if result.cookie else {}
    return http.json_response(login_body(result), 200, headers)


@http.route(bp, "/login/sms", methods=["POST"])
def login_sms():
    from chalicelib.auth import second_factor

    request = bp.current_request
    token = http.string(http.body(request), "login_token", max_length=256)
    phone_hint = second_factor.send_sms(token, http.client(request))
    return http.json_response({"phone_hint": phone_hint}, 202)


@http.route(bp, "/login/verify", methods=["POST"])
def second_factor_login():
    from chalicelib.auth import second_factor
    from chalicelib.views import login_body

    request = bp.current_request
    data = http.body(request)
    token = http.string(data, "login_token", max_length=256)
    result = second_factor.verify(token, data, http.client(request))
    headers = {"Set-Cookie": http.session_cookie(result.cookie)} if result.cookie else {}
    return http.json_response(login_body(result), 200, headers)


@http.route(bp, "/logout", methods=["POST"])
def logout():
    from chalicelib.auth import sessions

    request = bp.current_request
    principal = http.authenticate(request)
    if principal.via == "cookie":
        sessions.log_out(principal, http.client(request))
        return http.json_response(None, 204, {"Set-Cookie": http.clear_cookie()})
    return http.json_response(None, 204)
