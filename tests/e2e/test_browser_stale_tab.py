"""A stale tab: two browser contexts signed in to one account; enabling two-factor in one ends
the other, whose next action lands on the login page saying that the session has ended."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests import rfc6238
from tests.e2e.helpers import CSRF
from tests.leakcheck import remember
from tests.e2e.browser import fresh_page, log_in, new_credentials, sign_up

pytestmark = pytest.mark.e2e


def test_enabling_two_factor_elsewhere_sends_a_stale_tab_to_login(browser, live_stack):
    email, password = new_credentials()
    with fresh_page(browser, live_stack.base_url, name="stale-a") as first, \
            fresh_page(browser, live_stack.base_url, name="stale-b") as stale:
        sign_up(first, email, password)
        stale.goto("/login")
        log_in(stale, email, password)
        expect(stale.get_by_role("heading", name="Your account")).to_be_visible()

        # Enable two-factor in the first context, through its own cookie.
        setup = first.request.post("/api/account/two-factor/setup", data={"password": password}, headers=CSRF)
        assert setup.status == 200, setup.text()
        confirm = first.request.post("/api/account/two-factor/confirm", headers=CSRF, data={
            "authenticator_id": setup.json()["authenticator_id"], "code": rfc6238.totp(setup.json()["secret"])})
        assert confirm.status == 200, confirm.text()
        remember(setup.json()["secret"], confirm.json()["recovery_codes"], confirm.json()["api_key"])

        # The stale tab's next action: a click to another settings page (no reload).
        stale.get_by_role("link", name="Sessions and activity").click()
        expect(stale).to_have_url(re.compile(r"/login$"))
        expect(stale.get_by_role("status")).to_contain_text("Your session has ended")
        expect(stale.get_by_role("status")).to_contain_text("two-factor authentication was turned on")
        expect(stale.get_by_role("heading", name="Log in")).to_be_focused()

        # A reload of /settings lands there too; the tab that enabled it is still signed in.
        stale.goto("/settings")
        expect(stale).to_have_url(re.compile(r"/login$"))
        expect(stale.get_by_role("status")).to_contain_text("Your session has ended")
        first.reload()
        expect(first.get_by_role("heading", name="Your account")).to_be_visible()
        expect(first.get_by_text("On", exact=True)).to_be_visible()
