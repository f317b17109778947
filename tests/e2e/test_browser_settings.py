"""The two-factor settings beyond the journey, in the browser against the real local stack:
authenticators (add another, remove, the last one refused), recovery codes (low warning, view
with used ones struck through, regenerate), a refused phone number, sessions (revoke the
current one), the security log, and the second-factor throttle's countdown at login."""
from __future__ import annotations

import re
import time

import pytest
import requests
from playwright.sync_api import Page, expect

from tests import rfc6238
from tests.e2e.helpers import CSRF
from tests.leakcheck import remember
from tests.e2e.browser import fresh_page, log_in, new_credentials, shot, sign_up

pytestmark = pytest.mark.e2e

VOIP = "+445612345678"


def enable_over_http(page: Page, password: str) -> tuple[str, list[str]]:
    """Enable two-factor with the page's own cookie; return the secret and recovery codes."""
    setup = page.request.post("/api/account/two-factor/setup", data={"password": password}, headers=CSRF)
    assert setup.status == 200, setup.text()
    secret = setup.json()["secret"]
    confirm = page.request.post("/api/account/two-factor/confirm", headers=CSRF, data={
        "authenticator_id": setup.json()["authenticator_id"], "code": rfc6238.totp(secret)})
    assert confirm.status == 200, confirm.text()
    remember(secret, confirm.json()["recovery_codes"], confirm.json()["api_key"])
    return secret, confirm.json()["recovery_codes"]


def use_recovery_codes_over_http(base_url: str, email: str, password: str, codes: list[str]) -> None:
    for code in codes:
        login = requests.post(f"{base_url}/api/login", json={"email": email, "password": password}, timeout=30)
        verify = requests.post(f"{base_url}/api/login/verify", timeout=30,
                               json={"login_token": login.json()["login_token"], "recovery_code": code})
        assert verify.status_code == 200, verify.text


def confirm_password(page: Page, password: str) -> None:
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Continue").click()


def test_manage_authenticators_codes_phone_and_sessions(browser, live_stack):
    email, password = new_credentials()
    with fresh_page(browser, live_stack.base_url, name="settings") as page:
        sign_up(page, email, password)
        _, codes = enable_over_http(page, password)
        use_recovery_codes_over_http(live_stack.base_url, email, password, codes[:7])
        page.reload()

        # Three codes left: the warning, and the used ones struck through when viewed.
        expect(page.get_by_text("Only 3 recovery codes left.")).to_be_visible()
        page.get_by_role("button", name="View recovery codes").click()
        confirm_password(page, password)
        expect(page.get_by_role("heading", name="Your recovery codes")).to_be_focused()
        expect(page.get_by_role("deletion")).to_have_count(7)
        page.get_by_role("button", name="Generate new codes").click()
        confirm_password(page, password)
        expect(page.get_by_role("heading", name="Your new recovery codes")).to_be_focused()
        fresh = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
        expect(fresh).to_have_count(10)
        expect(page.get_by_role("deletion")).to_have_count(0)
        remember(fresh.all_inner_texts())
        assert not set(fresh.all_inner_texts()) & set(codes)

        # Print shows the codes alone.
        page.emulate_media(media="print")
        expect(page.get_by_role("list", name="Recovery codes")).to_be_visible()
        expect(page.get_by_role("button", name="Download")).to_be_hidden()
        expect(page.get_by_role("heading", name="Your account")).to_be_hidden()
        page.emulate_media(media="screen")

        # The last authenticator cannot be removed: the server's message is shown.
        page.get_by_role("button", name="Remove Authenticator app").click()
        confirm_password(page, password)
        expect(page.get_by_role("status")).to_have_text(re.compile("last authenticator"))

        # Add another (a new phone), then retire the old one.
        page.get_by_role("button", name="Cancel").click()
        page.get_by_role("button", name="Add another authenticator").click()
        page.get_by_label("Name of the new device").fill("Pixel 8")
        confirm_password(page, password)
        expect(page.get_by_role("heading", name="Set up “Pixel 8”")).to_be_focused()
        key = page.get_by_text(re.compile(r"^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$")).inner_text().replace(" ", "")
        page.get_by_label("6-digit code from the app").fill(rfc6238.totp(key))
        page.get_by_role("button", name="Add authenticator").click()
        expect(page.get_by_role("status")).to_have_text(re.compile("new authenticator app was added"))
        expect(page.get_by_role("button", name="Remove Pixel 8")).to_be_visible()
        page.get_by_role("button", name="Remove Authenticator app").click()
        confirm_password(page, password)
        expect(page.get_by_role("button", name="Remove Authenticator app")).to_have_count(0)
        expect(page.get_by_role("button", name="Remove Pixel 8")).to_be_visible()

        # A VoIP number is refused in the server's words.
        page.get_by_label("Mobile phone number").fill(VOIP)
        page.get_by_role("button", name="Text me a code").click()
        with page.expect_response(re.compile(r"/api/account/phone$")) as answer:
            confirm_password(page, password)
        assert answer.value.status == 400
        error = answer.value.json()["error"]
        assert error["code"] == "phone_not_allowed"
        expect(page.get_by_role("status")).to_have_text(error["message"])
        expect(page.get_by_label("Mobile phone number")).to_have_attribute("aria-invalid", "true")
        shot(page, "settings-phone-refused")

        # The security log reads as sentences; revoking this session logs out.
        page.get_by_role("link", name="Sessions and activity").click()
        expect(page.get_by_text("Authenticator app added: Pixel 8.")).to_be_visible()
        expect(page.get_by_text("Recovery code used.")).to_have_count(7)
        expect(page.get_by_text("Logged in with a recovery code.")).to_have_count(7)
        shot(page, "settings-security")
        page.get_by_role("button", name="Revoke this session").click()
        expect(page).to_have_url(re.compile(r"/login$"))
        expect(page.get_by_role("status")).to_have_text(re.compile("you are logged out"))
        page.goto("/settings")
        expect(page).to_have_url(re.compile(r"/login$"))


def test_wrong_codes_at_login_start_a_countdown(browser, live_stack):
    email, password = new_credentials()
    with fresh_page(browser, live_stack.base_url, name="countdown") as page:
        sign_up(page, email, password)
        secret, _ = enable_over_http(page, password)
        page.context.clear_cookies()
        page.goto("/login")
        log_in(page, email, password)
        code = page.get_by_label("Authentication code")
        wrong = "000000" if rfc6238.totp(secret) != "000000" else "111111"
        timer = page.get_by_role("timer")
        for _ in range(6):  # three wrong codes, then each further one waits
            code.fill(wrong)
            page.get_by_role("button", name="Verify").click()
            expect(page.get_by_role("status")).not_to_be_empty()
            expect(code).to_have_attribute("aria-invalid", "true")
            if timer.text_content():
                break
            time.sleep(0.2)
        expect(timer).to_have_text(re.compile(r"^You can try again in \d+ seconds?\.$"))
        shot(page, "second-factor-countdown")
        expect(page.get_by_role("status")).to_have_text("You can try again now.", timeout=20_000)
        expect(timer).to_have_text("")
        code.fill(rfc6238.totp(secret, time.time() + 30))
        page.get_by_role("button", name="Verify").click()
        expect(page.get_by_role("heading", name="Your account")).to_be_visible()
