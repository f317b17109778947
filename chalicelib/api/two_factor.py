"""Two-factor settings: enrol authenticators, list and remove them, disable, recovery codes."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import http

bp = Blueprint(__name__)


def _password(data: dict) -> str:
    return http.string(data, "password", max_length=4096)


@http.route(bp, "/account/two-factor/setup", methods=["POST"])
def setup():
    from chalicelib.auth import two_factor

    request = bp.current_request
    principal = http.authenticate(request)
    data = http.body(request)
    password = _password(data)
    name = http.string(data, "name", max_length=64, required=False)
    return http.json_response(two_factor.setup(principal, password, name, http.client(request)))


@http.route(bp, "/account/two-factor/confirm", methods=["POST"])
def confirm():
    from chalicelib.auth import two_factor

    request = bp.current_request
    principal = http.authenticate(request)
    data = http.body(request)
    authenticator_id = http.string(data, "authenticator_id", max_length=64)
    code = http.string(data, "code", max_length=32)
    return http.json_response(two_factor.confirm(principal, authenticator_id, code, http.client(request)))


@http.route(bp, "/account/two-factor/authenticators")
def authenticators():
    from chalicelib.factors import totp

    principal = http.authenticate(bp.current_request)
    return http.json_response({"authenticators": totp.listing(principal.user.user_id)})


@http.route(bp, "/account/two-factor/authenticators/{authenticator_id}", methods=["DELETE"])
def remove_authenticator(authenticator_id: str):
    from chalicelib.auth import two_factor

    request = bp.current_request
    principal = http.authenticate(request)
    password = _password(http.body(request))
    two_factor.remove_authenticator(principal, authenticator_id[:64], password, http.client(request))
    return http.json_response(None, 204)


@http.route(bp, "/account/two-factor/disable", methods=["POST"])
def disable():
    from chalicelib.auth import two_factor

    request = bp.current_request
    principal = http.authenticate(request)
    password = _password(http.body(request))
    return http.json_response(two_factor.disable(principal, password, http.client(request)))


@http.route(bp, "/account/recovery-codes", methods=["POST"])
def view_recovery_codes():
    from chalicelib.auth import two_factor

    request = bp.current_request
    principal = http.authenticate(request)
    password = _password(http.body(request))
    return http.json_response({"codes": two_factor.view_recovery_codes(principal, password, http.client(request))})


@http.route(bp, "/account/recovery-codes/regenerate", methods=["POST"])
def regenerate_recovery_codes():
    from chalicelib.auth import two_factor

    request = bp.current_request
    principal = http.authenticate(request)
    password = _password(http.body(request))
    codes = two_factor.regenerate_recovery_codes(principal, password, http.client(request))
    return http.json_response({"codes": codes})
