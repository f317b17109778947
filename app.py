"""twostep's Chalice app: registers the blueprints and the error handling, nothing else.

Routes carry their full public paths (`/api/...`); API Gateway's stage name is stripped by
CloudFront in AWS and absent in local mode, so `/api` appears exactly once. The Heroku
Platform API subset lives at the root (`/oauth/...`, `/account`) and answers errors in
Heroku's shape.
"""
import json
import logging

from chalicelib import warmup

warmup.hold()  # before the imports it is there to cover

from chalice import Chalice, Response  # noqa: E402

from chalicelib.api import account, auth, heroku, http, phone, two_factor  # noqa: E402
from chalicelib.api.headers import security_headers  # noqa: E402
from chalicelib.config import settings  # noqa: E402
from chalicelib.errors import Forbidden, PayloadTooLarge, TwostepError  # noqa: E402

app = Chalice(app_name="twostep")
# Chalice sets its app logger ("twostep", the parent of chalicelib's "twostep.api" and
# "twostep.sms") to ERROR unless debug: the warnings an operator needs (which AWS call a 503
# came from, a follow-up write that failed after an SMS) would never reach the log.
app.log.setLevel(logging.WARNING)
app.register_blueprint(auth.bp, url_prefix="/api")
app.register_blueprint(account.bp, url_prefix="/api")
app.register_blueprint(two_factor.bp, url_prefix="/api")
app.register_blueprint(phone.bp, url_prefix="/api")
app.register_blueprint(heroku.bp)

# Chalice answers some errors itself, in its own shape: map them to the contract's.
_FRAMEWORK_ERRORS = {
    400: ("invalid_request", "The request is not valid."),
    403: ("forbidden", "This request is not allowed."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "That method is not allowed on this path."),
    413: ("payload_too_large", "The request body is larger than 64 KiB."),
    415: ("unsupported_media_type", "Send the body as application/json."),
    500: ("internal_error", "Something went wrong on our side."),
}


def _errors_for(path: str):
    """The error shape a path speaks: Heroku's at its subset, the contract's elsewhere."""
    return heroku.error_response if heroku.is_heroku_path(path or "") else http.error_response


def _media_types(path: str) -> tuple[str, ...]:
    """The bodies a path reads: JSON, and Heroku's own JSON type on its subset."""
    return (http.JSON, http.HEROKU_JSON) if heroku.is_heroku_path(path or "") else (http.JSON,)


def _unread_body(event):
    """Why a body cannot be read (its size, its type, then its JSON), for a method the route
    has; a method it does not have is Chalice's 405 whatever the body, as at the gateway."""
    methods = app.routes.get((event.context or {}).get("resourcePath") or "", {})
    if event.method not in methods:
        return None
    if len(event.raw_body or b"") > http.MAX_BODY:
        return PayloadTooLarge()
    return http.media_type_error(event, _media_types(event.path)) or http.unreadable(event)


def _is_shaped(body: object, heroku_path: bool) -> bool:
    if not isinstance(body, dict):
        return False
    if heroku_path:
        return isinstance(body.get("id"), str) and isinstance(body.get("message"), str)
    return isinstance(body.get("error"), dict)


def _in_contract_shape(response: Response, path: str) -> Response:
    body = response.body
    if isinstance(body, (bytes, str)) and body:
        try:
            body = json.loads(body)
        except ValueError:
            body = None
    if _is_shaped(body, heroku.is_heroku_path(path or "")):
        return response
    code, message = _FRAMEWORK_ERRORS.get(response.status_code, ("invalid_request", "The request is not valid."))
    error = TwostepError(message, code=code)
    error.status = response.status_code
    shaped = _errors_for(path)(error)
    shaped.headers.update({k: v for k, v in response.headers.items() if k.lower() in ("allow", "retry-after")})
    return shaped


@app.middleware("http")
def contract(event, get_response):
    try:
        return _contract(event, get_response)
    finally:
        warmup.served()


def _contract(event, get_response):
    cfg = settings()
    if not http.from_our_edge(event):
        response = _errors_for(event.path)(Forbidden("Use the site's own address; the API is not served here."))
    elif (refused := _unread_body(event)) is not None:
        response = _errors_for(event.path)(refused)
    else:
        response = get_response(event)
        if response.status_code >= 400:
            response = _in_contract_shape(response, event.path)
    response.headers.update(security_headers(cfg.local))
    return response
