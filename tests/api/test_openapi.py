"""The OpenAPI document is served, valid, and lists exactly the routes the app registers."""
from __future__ import annotations

from openapi_spec_validator import validate

from app import app



def test_the_document_is_served_and_valid(api):
    answer = api.get("/api/openapi.json")
    assert answer.status == 200
    validate(answer.body)
    assert answer.body["openapi"].startswith("3.")


def test_its_paths_and_methods_are_the_routes_the_app_registers(api):
    document = api.get("/api/openapi.json").body
    documented = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    registered = {(path, method) for path, methods in app.routes.items() for method in methods}
    assert documented == registered
