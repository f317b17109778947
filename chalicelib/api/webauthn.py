"""Security keys and passkeys: the contract's own routes for them, and passkey sign-in.

Adding, listing and removing are the same operations as `/account/factors/webauthn...`
(api/two_factor.py) under the paths API.md gives them; the second step after the password
is the common `/login/challenge` and `/login/verify`.
"""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import http

bp = Blueprint(__name__)

KIND = "webauthn"


@http.route(bp, "/account/webauthn/register", methods=["POST"])
def register():
    from chalicelib.auth import two_factor

    request = bp.current_request
    principal = http.authenticate(request)
    return http.json_response(two_factor.enrol(principal, KIND, http.body(request), http.requester(request)))


@http.route(bp, "/account/webauthn", methods=["POST"])
def add():
    from chalicelib.auth import two_factor

    request = bp.current_request
    principal = http.authenticate(request)
    answer = two_factor.confirm(principal, KIND, http.body(request), http.requester(request))
    answer.pop("enabled", None)  # the contract's 201 is the credential (and the codes, when it enabled)
    return http.json_response(answer, 201)


@http.route(bp, "/account/webauthn")
def listing():
    from chalicelib import factors

    principal = http.authenticate(bp.current_request)
    return http.json_response({"credentials": factors.get(KIND).listing(principal.user.user_id)})


@http.route(bp, "/account/webauthn/{credential_id}", methods=["DELETE"])
def remove(credential_id: str):
    from chalicelib.auth import two_factor

    request = bp.current_request
    principal = http.authenticate(request)
    password = http.password(http.body(request))
    two_factor.remove(principal, KIND, credential_id[:64], password, http.requester(request))
    return http.json_response(None, 204)


@http.route(bp, "/login/passkey/options", methods=["POST"])
def passkey_options():
    from chalicelib.auth import passkey

    request = bp.current_request
    http.body(request)  # `{}`: a body, if any, must still be JSON
    return http.json_response(passkey.options(http.requester(request)))


@http.route(bp, "/login/passkey", methods=["POST"])
def passkey_sign_in():
    from chalicelib.auth import passkey
    from chalicelib.views import login_body

    request = bp.current_request
    data = http.body(request)
    token = http.string(data, "passkey_token", max_length=256)
    client_kind = http.string(data, "client", max_length=16, required=False) or "browser"
    result = passkey.sign_in(token, data.get("credential"), client_kind, http.requester(request))
    headers = {"Set-Cookie": http.session_cookie(result.cookie)} if result.cookie else {}
    return http.json_response(login_body(result), 200, headers)
