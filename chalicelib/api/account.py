"""The signed-in person's account: overview, API key, sessions, security log."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import http

bp = Blueprint(__name__)


@http.route(bp, "/account")
def account():
    from chalicelib.auth import two_factor
    from chalicelib.views import user_body

    principal = http.authenticate(bp.current_request)
    return http.json_response({
        "user": user_body(principal.user),
        "two_factor": two_factor.status(principal.user),
    })


@http.route(bp, "/account/api-key", methods=["POST"])
def api_key():
    from chalicelib.auth import accounts

    request = bp.current_request
    principal = http.authenticate(request)
    data = http.body(request)
    password = http.password(data)
    requester = http.requester(request)
    if http.boolean(data, "regenerate"):
        key = accounts.regenerate_api_key(principal.user, password, requester)
    else:
        key = accounts.reveal_api_key(principal.user, password, requester)
    return http.json_response({"api_key": key})


@http.route(bp, "/account/sessions")
def list_sessions():
    from chalicelib.auth import credentials

    principal = http.authenticate(bp.current_request)
    return http.json_response({"sessions": credentials.listing(principal)})


@http.route(bp, "/account/sessions/{session_id}", methods=["DELETE"])
def revoke_session(session_id: str):
    from chalicelib.auth import credentials

    request = bp.current_request
    principal = http.authenticate(request)
    item = credentials.revoke_owned(principal, session_id[:64], http.requester(request))
    headers = {"Set-Cookie": http.clear_cookie()} if item.id == principal.session.id else {}
    return http.json_response(None, 204, headers)


@http.route(bp, "/account/events")
def list_events():
    from chalicelib import events

    principal = http.authenticate(bp.current_request)
    return http.json_response({"events": events.recent(principal.user.user_id)})
