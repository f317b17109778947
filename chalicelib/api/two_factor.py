"""Two-factor settings: add, list and remove factors of any kind, disable, recovery codes.

`/account/factors/{method}...` are the routes of every kind that is added from the account
page (chalicelib/factors' registry); the authenticator app's own routes, which the contract
names, are the same operations for `method = "totp"`, and the security keys' and passkeys'
(`/account/webauthn...`) for `method = "webauthn"`.
"""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import http

bp = Blueprint(__name__)

TOTP = "totp"
WEBAUTHN = "webauthn"


def _enrol(method: str):
    from chalicelib.auth import two_factor

    request = bp.current_request
    principal = http.authenticate(request)
    return http.json_response(two_factor.enrol(principal, method[:32], http.body(request), http.requester(request)))


def _confirmed(method: str) -> dict:
    from chalicelib.auth import two_factor

    request = bp.current_request
    principal = http.authenticate(request)
    return two_factor.confirm(principal, method[:32], http.body(request), http.requester(request))


def _confirm(method: str):
    return http.json_response(_confirmed(method))


def _listing(method: str, name: str):
    """One kind's factors, under the name the contract gives them."""
    from chalicelib import factors

    principal = http.authenticate(bp.current_request)
    return http.json_response({name: factors.get(method).listing(principal.user.user_id)})


def _remove(method: str, factor_key: str):
    from chalicelib.auth import two_factor

    request = bp.current_request
    principal = http.authenticate(request)
    password = http.password(http.body(request))
    two_factor.remove(principal, method[:32], factor_key[:64], password, http.requester(request))
    return http.json_response(None, 204)


@http.route(bp, "/account/factors")
def factors_listing():
    from chalicelib.auth import two_factor

    principal = http.authenticate(bp.current_request)
    return http.json_response({"factors": two_factor.listing(principal.user.user_id)})


@http.route(bp, "/account/factors/{method}", methods=["POST"])
def factor_enrol(method: str):
    return _enrol(method)


@http.route(bp, "/account/factors/{method}/confirm", methods=["POST"])
def factor_confirm(method: str):
    return _confirm(method)


@http.route(bp, "/account/factors/{method}/{factor_id}", methods=["DELETE"])
def factor_remove(method: str, factor_id: str):
    return _remove(method, factor_id)


@http.route(bp, "/account/two-factor/setup", methods=["POST"])
def setup():
    return _enrol(TOTP)


@http.route(bp, "/account/two-factor/confirm", methods=["POST"])
def confirm():
    return _confirm(TOTP)


@http.route(bp, "/account/two-factor/authenticators")
def authenticators():
    return _listing(TOTP, "authenticators")


@http.route(bp, "/account/two-factor/authenticators/{authenticator_id}", methods=["DELETE"])
def remove_authenticator(authenticator_id: str):
    return _remove(TOTP, authenticator_id)


@http.route(bp, "/account/webauthn/register", methods=["POST"])
def webauthn_register():
    return _enrol(WEBAUTHN)


@http.route(bp, "/account/webauthn", methods=["POST"])
def webauthn_add():
    answer = _confirmed(WEBAUTHN)
    answer.pop("enabled", None)  # the contract's 201 is the credential (and the codes, when it enabled)
    return http.json_response(answer, 201)


@http.route(bp, "/account/webauthn")
def webauthn_credentials():
    return _listing(WEBAUTHN, "credentials")


@http.route(bp, "/account/webauthn/{credential_id}", methods=["DELETE"])
def webauthn_remove(credential_id: str):
    return _remove(WEBAUTHN, credential_id)


@http.route(bp, "/account/two-factor/disable", methods=["POST"])
def disable():
    from chalicelib.auth import two_factor

    request = bp.current_request
    principal = http.authenticate(request)
    password = http.password(http.body(request))
    return http.json_response(two_factor.disable(principal, password, http.requester(request)))


@http.route(bp, "/account/recovery-codes", methods=["POST"])
def view_recovery_codes():
    from chalicelib.auth import two_factor

    request = bp.current_request
    principal = http.authenticate(request)
    password = http.password(http.body(request))
    return http.json_response({"codes": two_factor.view_recovery_codes(principal, password, http.requester(request))})


@http.route(bp, "/account/recovery-codes/regenerate", methods=["POST"])
def regenerate_recovery_codes():
    from chalicelib.auth import two_factor

    request = bp.current_request
    principal = http.authenticate(request)
    password = http.password(http.body(request))
    codes = two_factor.regenerate_recovery_codes(principal, password, http.requester(request))
    return http.json_response({"codes": codes})
