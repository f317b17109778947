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


def test_sign_up_log_in_and_use_the_api_key_over_http(live_stack: LiveStack) -> None:
    from tests.e2e.helpers import Person

    person = Person(live_stack.base_url).signup()
    assert person.http.get(f"{live_stack.base_url}/api/account", timeout=10).status_code == 200  # the cookie
    login = requests.post(f"{live_stack.base_url}/api/login",
                          json={"email": person.email, "password": person.password, "client": "cli"}, timeout=30)
    assert login.status_code == 200 and login.json()["status"] == "authenticated"
    key = login.json()["api_key"]
    account = requests.get(f"{live_stack.base_url}/api/account", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert account.status_code == 200
    assert account.json()["user"]["email"] == person.email
