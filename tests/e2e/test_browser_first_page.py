"""The first page of the browser app, driven in Chromium against the real local stack.

Journey: sign up, see the account, reveal the API key, log out, log in again; plus the
360 px layout and a wrong password reported in the live region. Screenshots of each page
go to test-artifacts/screenshots/. Chromium that cannot start is a failure, never a skip.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.leakcheck import remember
from tests.e2e.browser import SESSION_ENDED, fresh_page, log_in, new_credentials, reveal_api_key, shot, sign_up

pytestmark = pytest.mark.e2e

def test_sign_up_reveal_api_key_log_out_and_log_in(browser, live_stack):
    email, password = new_credentials()
    with fresh_page(browser, live_stack.base_url, name="journey") as page:
        page.goto("/")
        expect(page).to_have_url(re.compile(r"/login$"))
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()
        shot(page, "login")

        page.get_by_role("link", name="Create an account").click()
        expect(page).to_have_url(re.compile(r"/signup$"))
        shot(page, "signup")
        sign_up(page, email, password)
        expect(page.get_by_text(email, exact=True)).to_be_visible()
        shot(page, "settings")

        reveal_api_key(page, password)
        key = page.get_by_label("API key", exact=True)
        expect(key).to_have_value(re.compile(r"\S{16,}"))
        remember(key.input_value())
        expect(key).to_have_attribute("readonly", "")
        expect(page.get_by_role("button", name="Copy")).to_be_visible()

        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(re.compile(r"/login$"))
        expect(page.get_by_role("heading", name="Log in")).to_be_focused()

        page.goto("/settings")  # the session is gone on the server too
        expect(page).to_have_url(re.compile(r"/login$"))
        expect(page.get_by_role("status")).to_have_text(SESSION_ENDED)

        log_in(page, email, password)
        expect(page).to_have_url(re.compile(r"/settings$"))
        expect(page.get_by_text(email, exact=True)).to_be_visible()
        page.goto("/")
        expect(page).to_have_url(re.compile(r"/settings$"))


def test_pages_fit_a_360_px_screen(browser, live_stack):
    email, password = new_credentials()
    with fresh_page(browser, live_stack.base_url, width=360, height=740, name="narrow") as page:
        page.goto("/login")
        expect(page.get_by_role("button", name="Log in")).to_be_visible()
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
        shot(page, "login-360")

        sign_up(page, email, password)
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
        shot(page, "settings-360")  # before the key is shown: no secrets in artifacts
        reveal_api_key(page, password)
        expect(page.get_by_label("API key", exact=True)).not_to_have_value("")
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 360


def test_wrong_password_shows_the_server_message(browser, live_stack):
    email, password = new_credentials()
    with fresh_page(browser, live_stack.base_url, name="wrong-password") as page:
        created = page.request.post("/api/signup", data={"email": email, "password": password},
                                    headers={"X-Requested-With": "twostep"})
        assert created.status == 201, created.text()
        page.context.clear_cookies()

        page.goto("/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password", exact=True).fill(password + " wrong")
        with page.expect_response(re.compile(r"/api/login$")) as answer:
            page.get_by_role("button", name="Log in").click()
        assert answer.value.status == 401
        error = answer.value.json()["error"]
        assert error["code"] == "invalid_credentials"

        expect(page.get_by_role("status")).to_have_text(error["message"])
        expect(page).to_have_url(re.compile(r"/login$"))
        shot(page, "login-wrong-password")
