"""`twostep login`, the stored key and what happens when the key changes elsewhere."""
from __future__ import annotations

import json
import netrc
import random
import re
import stat
import time

import pexpect
import pytest
import requests

from tests import rfc6238, sms
from tests.cli.conftest import Terminal, finish
from tests.e2e.helpers import Person

pytestmark = pytest.mark.e2e

HOST = "127.0.0.1"
SESSION_ENDED = "Your twostep session has ended (the API key changed). Run `twostep login`."


def start_login(terminal: Terminal, person: Person, *args: str) -> pexpect.spawn:
    child = terminal.spawn("login", *args)
    child.expect("Email: ")
    child.sendline(person.email)
    child.expect("Password: ")
    child.sendline(person.password)
    return child


def assert_logged_in(terminal: Terminal, person: Person, child: pexpect.spawn) -> str:
    child.expect(f"Logged in as {re.escape(person.email)}")
    _, status = finish(child)
    assert status == 0
    email, _, api_key = netrc.netrc(str(terminal.netrc)).authenticators(HOST)
    assert email == person.email
    account = requests.get(person.url("/api/account"), headers={"Authorization": f"Bearer {api_key}"}, timeout=30)
    assert account.status_code == 200, account.text
    return api_key


def test_login_without_two_factor_stores_the_key_in_netrc(terminal: Terminal, live_stack) -> None:
    person = Person(live_stack.base_url).signup()
    terminal.netrc.write_text("machine api.example.com\n  login someone@example.com\n  password other-key\n")
    api_key = assert_logged_in(terminal, person, start_login(terminal, person))

    assert stat.S_IMODE(terminal.netrc.stat().st_mode) == 0o600
    text = terminal.netrc.read_text()
    assert person.password not in text
    assert netrc.netrc(str(terminal.netrc)).authenticators("api.example.com") == (
        "someone@example.com", "", "other-key")

    whoami = terminal.spawn("auth:whoami")
    output, status = finish(whoami)
    assert (output.strip(), status) == (person.email, 0)
    as_json = terminal.run("auth:whoami", "--json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["email"] == person.email
    assert terminal.run("auth:token").stdout.strip() == api_key

    output, status = finish(terminal.spawn("logout"))
    assert status == 0 and "Logged out." in output
    assert netrc.netrc(str(terminal.netrc)).authenticators(HOST) is None
    assert netrc.netrc(str(terminal.netrc)).authenticators("api.example.com") is not None
    whoami = terminal.run("auth:whoami")
    assert whoami.returncode != 0 and "Not logged in" in whoami.stderr


def test_login_with_an_authenticator_code(terminal: Terminal, live_stack) -> None:
    person = Person(live_stack.base_url).signup().enable_two_factor()
    child = start_login(terminal, person)
    child.expect("Two-factor code: ")
    child.sendline(rfc6238.totp(person.secret, at=time.time() + 30))  # the confirming step is spent
    assert_logged_in(terminal, person, child)
    assert terminal.run("auth:whoami").stdout.strip() == person.email


def test_login_with_a_recovery_code(terminal: Terminal, live_stack) -> None:
    person = Person(live_stack.base_url).signup().enable_two_factor()
    child = start_login(terminal, person)
    child.expect("Two-factor code: ")
    child.sendline(person.recovery_codes[0].upper())
    assert_logged_in(terminal, person, child)
    status = json.loads(terminal.run("2fa", "--json").stdout)
    assert status["recovery_codes_remaining"] == 9


def test_an_account_whose_only_factor_is_a_key_is_asked_for_a_recovery_code(terminal: Terminal, live_stack) -> None:
    person = Person(live_stack.base_url).signup()
    person.add_key()
    child = start_login(terminal, person)
    child.expect("a security key or passkey, which a terminal cannot use")
    child.expect("Enter one of your recovery codes")
    child.expect("Recovery code: ")
    child.sendline(person.recovery_codes[0])
    assert_logged_in(terminal, person, child)
    listed = terminal.run("2fa")
    assert listed.returncode == 0 and "Security key or passkey:\n  Security key (added " in listed.stdout


def test_login_with_a_code_by_text_message(terminal: Terminal, live_stack) -> None:
    person = Person(live_stack.base_url).signup().enable_two_factor()
    number = f"+447400{random.randrange(10 ** 6):06d}"
    added = person.post("/api/account/phone", {"phone": number, "password": person.password})
    assert added.status_code == 202, added.text
    verified = person.post("/api/account/phone/verify", {"code": sms.last_code(live_stack.moto_url, number)})
    assert verified.status_code == 200, verified.text

    for _ in range(2):  # the send right after the phone's setup text may meet the 30 s gap
        child = start_login(terminal, person)
        child.expect("Two-factor code: ")
        child.sendline("sms")
        if child.expect([r"Sent a code to \S", r"\(wait (\d+) seconds?\)"]) == 0:
            break
        wait = int(child.match.group(1))
        _, status = finish(child)
        assert status != 0
        time.sleep(wait + 1)
    child.expect("Code from the text message: ")
    child.sendline(sms.last_code(live_stack.moto_url, number))
    assert_logged_in(terminal, person, child)


def test_a_key_regenerated_elsewhere_ends_the_cli_session(terminal: Terminal, live_stack) -> None:
    person = Person(live_stack.base_url).signup()
    assert_logged_in(terminal, person, start_login(terminal, person))
    person.enable_two_factor()  # in the browser: regenerates the API key

    for command in (["auth:whoami"], ["2fa"], ["2fa:disable", "--password-stdin"]):
        result = terminal.run(*command, stdin=person.password + "\n")
        assert result.returncode != 0, command
        assert result.stderr.strip() == f"Error: {SESSION_ENDED}", command
    output, status = finish(terminal.spawn("auth:whoami"))
    assert status != 0 and SESSION_ENDED in output
