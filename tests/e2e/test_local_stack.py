"""`make run` serves the API, the front end and the error contract over real HTTP."""
from __future__ import annotations

import requests

from chalicelib.api.headers import CONTENT_SECURITY_POLICY
from local import stack
from tests.e2e.conftest import LiveStack


def test_health(live_stack: LiveStack) -> None:
    response = requests.get(f"{live_stack.base_url}/api/health", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_front_page_is_the_app_with_a_csp(live_stack: LiveStack) -> None:
    response = requests.get(f"{live_stack.base_url}/", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "<html" in response.text.lower()


def test_unknown_api_path_is_a_contract_404(live_stack: LiveStack) -> None:
    response = requests.get(f"{live_stack.base_url}/api/nope", timeout=5)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response.json()["error"]["message"]


def test_the_stack_is_deployed_in_the_emulator(live_stack: LiveStack) -> None:
    tables = stack.client("dynamodb", live_stack.moto_url).list_tables()["TableNames"]
    assert len(tables) == 6
