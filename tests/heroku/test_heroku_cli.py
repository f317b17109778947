"""Heroku's own CLI, v11, logging in to twostep and using what it got: `heroku login -i`
with an authenticator code, a recovery code, a wrong code and no two-factor at all, then
`auth:whoami`, `2fa`, `auth:token` and `logout`, and what enabling two-factor does to it."""
from __future__ import annotations

import time

import requests

from tests import rfc6238
from tests.e2e.helpers import Person


def next_code(person: Person) -> str:
    """A code the server has not seen: the confirming code's step is spent."""
    return rfc6238.totp(person.secret, at=time.time() + 30)


def account_with(token: str, person: Person) -> requests.Response:
    return requests.get(person.url("/account"), headers={"Authorization": f"Bearer {token}"}, timeout=30)


def authorizations(person: Person) -> list[dict]:
    answer = person.http.get(person.url("/api/account/sessions"), timeout=30)
    assert answer.status_code == 200, answer.text
    return [s for s in answer.json()["sessions"] if s["kind"] == "authorization"]


def test_login_without_two_factor_then_whoami_2fa_token_and_logout(heroku, live_stack):
    person = Person(live_stack.base_url).signup()
    login = heroku.login(person.email, person.password)
    assert login.status == 0, login.output
    assert f"Logged in as {person.email}" in login.output
    token = heroku.saved_token()
    assert token and account_with(token, person).status_code == 200

    whoami = heroku.run("auth:whoami")
    assert (whoami.status, whoami.output.strip().splitlines()[-1]) == (0, person.email), whoami.output
    status = heroku.run("2fa")
    assert status.status == 0 and "Two-factor authentication is not enabled" in status.output, status.output
    shown = heroku.run("auth:token")
    assert shown.status == 0 and token in shown.output, shown.output

    assert [a["id"] for a in authorizations(person)] == [token.split(".")[0]]
    listed = requests.get(person.url("/oauth/authorizations"), headers={"Authorization": f"Bearer {token}"},
                          timeout=30).json()
    assert [a["description"].startswith("Heroku CLI login from ") for a in listed] == [True]
    assert token not in str(listed)  # redacted: the full token was only in the 201
    logout = heroku.run("logout")
    assert logout.status == 0, logout.output
    assert heroku.saved_token() is None
    # gone on the server too, not only forgotten by the CLI
    assert account_with(token, person).status_code == 401
    assert authorizations(person) == []
    after = heroku.run("auth:whoami")
    assert after.status == 100 and "not logged in" in after.output, after.output


def test_login_with_an_authenticator_code(heroku, live_stack):
    person = Person(live_stack.base_url).signup().enable_two_factor()
    login = heroku.login(person.email, person.password, code=next_code(person))
    assert login.status == 0, login.output
    assert f"Logged in as {person.email}" in login.output
    status = heroku.run("2fa")
    assert status.status == 0 and "Two-factor authentication is enabled" in status.output, status.output
    whoami = heroku.run("whoami")
    assert whoami.status == 0 and person.email in whoami.output, whoami.output
    token = heroku.saved_token()
    assert token and token in heroku.run("auth:token").output
    assert [a["id"] for a in authorizations(person)] == [token.split(".")[0]]


def test_login_with_a_recovery_code(heroku, live_stack):
    person = Person(live_stack.base_url).signup().enable_two_factor()
    login = heroku.login(person.email, person.password, code=person.recovery_codes[0])
    assert login.status == 0, login.output
    assert f"Logged in as {person.email}" in login.output
    assert heroku.run("whoami").status == 0
    overview = person.http.get(person.url("/api/account"), timeout=30).json()
    assert overview["two_factor"]["recovery_codes_remaining"] == 9
    # that code is spent: a second login with it is refused
    again = heroku.login(person.email, person.password, code=person.recovery_codes[0])
    assert again.status != 0, again.output


def test_a_wrong_code_is_refused_and_nothing_is_saved(heroku, live_stack):
    person = Person(live_stack.base_url).signup().enable_two_factor()
    login = heroku.login(person.email, person.password, code="000000")
    assert login.status != 0, login.output
    assert "That code is not valid" in login.output and "two_factor" in login.output
    assert "Logged in as" not in login.output
    assert heroku.saved_token() is None
    assert authorizations(person) == []
    whoami = heroku.run("auth:whoami")
    assert whoami.status == 100 and "not logged in" in whoami.output, whoami.output


def test_an_account_with_only_a_security_key_is_told_what_a_terminal_can_use(heroku, live_stack):
    person = Person(live_stack.base_url).signup()
    person.add_key()
    typed = heroku.login(person.email, person.password, code="123456")
    assert typed.status != 0 and "security key or passkey, which a terminal cannot use" in typed.output, typed.output
    assert "recovery codes" in typed.output and heroku.saved_token() is None
    login = heroku.login(person.email, person.password, code=person.recovery_codes[0])
    assert login.status == 0 and f"Logged in as {person.email}" in login.output, login.output


def test_a_wrong_password_is_refused(heroku, live_stack):
    person = Person(live_stack.base_url).signup()
    login = heroku.login(person.email, "not the password")
    assert login.status != 0 and "The email or password is incorrect" in login.output, login.output
    assert heroku.saved_token() is None


def test_enabling_two_factor_ends_the_clis_token(heroku, live_stack):
    person = Person(live_stack.base_url).signup()
    assert heroku.login(person.email, person.password).status == 0
    token = heroku.saved_token()
    assert heroku.run("whoami").status == 0
    person.enable_two_factor()  # over HTTP, as the browser app does
    assert account_with(token, person).status_code == 401
    # the CLI still holds the token; the server refuses it, and whoami shows Heroku's 401
    whoami = heroku.run("auth:whoami")
    assert whoami.status != 0 and person.email not in whoami.output, whoami.output
    assert "Error ID: unauthorized" in whoami.output and "This session has ended" in whoami.output
    # logging in again now asks for the second factor
    login = heroku.login(person.email, person.password, code=next_code(person))
    assert login.status == 0, login.output
    assert "Two-factor authentication is enabled" in heroku.run("2fa").output
