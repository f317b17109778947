"""twostep's Chalice app: registers the blueprints and the error handling, nothing else.

Routes carry their full public paths (`/api/...`); API Gateway's stage name is stripped by
CloudFront in AWS and absent in local mode, so `/api` appears exactly once.
"""
import json

from chalice import Chalice, Response

from chalicelib.api import account, auth, http, phone, two_factor
from chalicelib.api.headers import security_headers
from chalicelib.config import settings
from chalicelib.errors import PayloadTooLarge
from chalicelib.store.models import bind

app = Chalice(app_name="twostep")
app.register_blueprint(auth.bp, url_prefix="/api")
app.register_blueprint(account.bp, url_prefix="/api")
app.register_blueprint(two_factor.bp, url_prefix="/api")
app.register_blueprint(phone.bp, url_prefix="/api")

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


def _in_contract_shape(response: Response) -> Response:
    body = response.body
    if isinstance(body, (bytes, str)) and body:
        try:
            body = json.loads(body)
        except ValueError:
            body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return response
    code, message = _FRAMEWORK_ERRORS.get(response.status_code, ("invalid_request", "The request is not valid."))
    headers = {k: v for k, v in response.headers.items() if k.lower() in ("allow", "retry-after")}
    return http.json_response(http.error_body(code, message), response.status_code, headers)


@app.middleware("http")
def contract(event, get_response):
    cfg = settings()
    if len(event.raw_body or b"") > http.MAX_BODY:
        response = http.error_response(PayloadTooLarge())
    else:
        bind()
        response = get_response(event)
        if response.status_code >= 400:
            response = _in_contract_shape(response)
    response.headers.update(security_headers(cfg.local))
    return response
