"""The SMS recovery phone."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import http

bp = Blueprint(__name__)


@http.route(bp, "/account/phone", methods=["POST", "DELETE"])
def phone_number():
    from chalicelib.factors.sms import setup as phone

    request = bp.current_request
    principal = http.authenticate(request)
    data = http.body(request)
    password = http.password(data)
    if request.method == "DELETE":
        phone.remove(principal, password, http.requester(request))
        return http.json_response(None, 204)
    number = http.string(data, "phone", max_length=64)
    country = http.string(data, "country", max_length=8, required=False)
    phone_hint = phone.add(principal, number, country, password, http.requester(request))
    return http.json_response({"phone_hint": phone_hint}, 202)


@http.route(bp, "/account/phone/verify", methods=["POST"])
def verify():
    from chalicelib.factors.sms import setup as phone

    request = bp.current_request
    principal = http.authenticate(request)
    code = http.string(http.body(request), "code", max_length=32)
    phone_hint = phone.verify(principal, code, http.requester(request))
    return http.json_response({"phone": {"hint": phone_hint, "verified": True}})
