"""`twostep 2fa:*`: turning two-factor on and off from the terminal."""
from __future__ import annotations

import json
import random
import netrc
import re
import stat
import time

import pytest
import requests

from tests import rfc6238, sms
from tests.cli.conftest import Terminal, finish
from tests.e2e.helpers import Person

pytestmark = pytest.mark.e2e


def cli_login(terminal: Terminal, person: Person) -> str:
    """Log in from the terminal (stdin automation) and return the stored key."""
    stdin = person.password + "\n"
    if person.secret:
        stdin += rfc6238.totp(person.secret, at=time.time() + 30) + "\n"
    result = terminal.run("login", "--email", person.email, "--password-stdin", stdin=stdin)
    assert result.returncode == 0, result.stderr
    return netrc.netrc(str(terminal.netrc)).authenticators("127.0.0.1")[2]


def account(person: Person, api_key: str) -> requests.Response:
    return requests.get(person.url("/api/account"), headers={"Authorization": f"Bearer {api_key}"}, timeout=30)


def test_enable_from_the_cli(terminal: Terminal, live_stack, tmp_path) -> None:
    person = Person(live_stack.base_url).signup()
    old_key = cli_login(terminal, person)

    child = terminal.spawn("2fa:enable")
    child.expect("Password: ")
    child.sendline(person.password)
    child.expect("Scan this QR code")
    child.expect(r"Or type this key into the app: ([A-Z2-7]{4}(?: [A-Z2-7]{1,4})*)\r\n")
    secret = child.match.group(1).replace(" ", "")
    child.expect("Code from your authenticator app: ")
    child.sendline(rfc6238.totp(secret))
    child.expect("Recovery codes")
    codes_path = tmp_path / "codes.txt"
    child.expect(r"Save them to a file \(path, or Enter to skip\): ")
    printed = re.findall(r"[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}", child.before)
    child.sendline(str(codes_path))
    child.expect("Saved to")
    _, status = finish(child)
    assert status == 0

    assert len(printed) == 10
    assert codes_path.read_text().split() == printed
    assert stat.S_IMODE(codes_path.stat().st_mode) == 0o600
    new_key = netrc.netrc(str(terminal.netrc)).authenticators("127.0.0.1")[2]
    assert stat.S_IMODE(terminal.netrc.stat().st_mode) == 0o600
    assert new_key != old_key
    assert account(person, old_key).status_code == 401
    assert account(person, new_key).json()["two_factor"]["enabled"] is True

    status = json.loads(terminal.run("2fa", "--json").stdout)
    assert status["enabled"] is True and status["recovery_codes_remaining"] == 10
    assert len(status["authenticators"]) == 1
    assert [f["method"] for f in status["factors"]] == ["totp"]
    output, code = finish(terminal.spawn("2fa"))
    assert code == 0 and "Two-factor authentication is on" in output and "Recovery codes remaining: 10" in output
    # the factors of every kind, under the label the API gives the kind (GET /api/methods)
    assert "Authenticator app:\r\n  Authenticator app (added" in output, output


def test_disable_needs_the_right_password(terminal: Terminal, live_stack) -> None:
    person = Person(live_stack.base_url).signup().enable_two_factor()
    api_key = cli_login(terminal, person)

    wrong = terminal.run("2fa:disable", "--password-stdin", stdin="not the password\n")
    assert wrong.returncode != 0
    assert wrong.stderr.strip() == "Error: The password is incorrect."
    child = terminal.spawn("2fa:disable")
    child.expect("Password: ")
    child.sendline("still not the password")
    output, status = finish(child)
    assert status != 0 and "The password is incorrect." in output
    assert account(person, api_key).json()["two_factor"]["enabled"] is True

    child = terminal.spawn("2fa:disable")
    child.expect("Password: ")
    child.sendline(person.password)
    output, status = finish(child)
    assert status == 0 and "Two-factor authentication is off." in output
    assert account(person, api_key).json()["two_factor"]["enabled"] is False


def test_recovery_codes_view_and_regenerate(terminal: Terminal, live_stack) -> None:
    person = Person(live_stack.base_url).signup().enable_two_factor()
    cli_login(terminal, person)

    viewed = terminal.run("2fa:recovery-codes", "--password-stdin", stdin=person.password + "\n")
    assert viewed.returncode == 0, viewed.stderr
    assert viewed.stdout.split() == person.recovery_codes
    fresh = terminal.run("2fa:recovery-codes", "--regenerate", "--password-stdin", stdin=person.password + "\n")
    assert fresh.returncode == 0, fresh.stderr
    assert len(fresh.stdout.split()) == 10 and not set(fresh.stdout.split()) & set(person.recovery_codes)


def test_phone_add_verify_and_remove(terminal: Terminal, live_stack) -> None:
    person = Person(live_stack.base_url).signup().enable_two_factor()
    cli_login(terminal, person)
    number = f"+447400{random.randrange(10 ** 6):06d}"

    child = terminal.spawn("2fa:phone", "--phone", number)
    child.expect("Password: ")
    child.sendline(person.password)
    child.expect(r"Sent a code to \S")
    child.expect("Code from the text message: ")
    child.sendline(sms.last_code(live_stack.moto_url, number))
    child.expect("is verified")
    _, status = finish(child)
    assert status == 0
    phone = json.loads(terminal.run("2fa", "--json").stdout)["phone"]
    assert phone["verified"] is True and phone["hint"].endswith(number[-2:])

    removed = terminal.run("2fa:phone", "--remove", "--password-stdin", stdin=person.password + "\n")
    assert removed.returncode == 0 and "Recovery phone removed." in removed.stdout
    assert json.loads(terminal.run("2fa", "--json").stdout)["phone"] is None
