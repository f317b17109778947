"""axe-core audit of every page and state of the browser app, and the 360 px layout.

One walk through the app: each state is audited at desktop width (no "serious" or
"critical" violation, light and dark colour schemes), then checked at 360 px wide for
sideways scrolling. Screenshots go to test-artifacts/screenshots/a11y-*.png.
"""
from __future__ import annotations

import re
import time

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests import rfc6238
from tests.leakcheck import remember
from tests.e2e.browser import fresh_page, log_in, new_credentials, shot, sign_up

pytestmark = pytest.mark.e2e

BLOCKING = {"serious", "critical"}
DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 360, "height": 740}


class Audit:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.axe = Axe()
        self.problems: list[str] = []
        self.states: list[str] = []

    def __call__(self, state: str) -> None:
        """Audit what is on screen now, in both colour schemes, then check it at 360 px."""
        page = self.page
        self.states.append(state)
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            for violation in self.axe.run(page).response["violations"]:
                if violation["impact"] in BLOCKING:
                    targets = [node["target"] for node in violation["nodes"]]
                    self.problems.append(f"{state} ({scheme}): {violation['id']} "
                                         f"({violation['impact']}) {violation['help']} at {targets}")
        page.emulate_media(color_scheme="light")
        page.set_viewport_size(NARROW)
        width = page.evaluate("document.scrollingElement.scrollWidth")
        if width > NARROW["width"]:
            self.problems.append(f"{state}: {width} px wide at a 360 px viewport")
        shot(page, f"a11y-{state}-360")
        page.set_viewport_size(DESKTOP)


def test_every_page_and_state_passes_axe_and_fits_360_px(browser, live_stack):
    email, password = new_credentials()
    with fresh_page(browser, live_stack.base_url, name="a11y") as page:
        audit = Audit(page)
        page.goto("/login")
        expect(page.get_by_role("button", name="Log in")).to_be_visible()
        audit("login")
        page.goto("/signup")
        expect(page.get_by_role("button", name="Create account")).to_be_visible()
        audit("signup")

        sign_up(page, email, password)
        audit("settings-off")
        page.get_by_role("button", name="Reveal API key").click()
        expect(page.get_by_label("Password", exact=True)).to_be_focused()
        audit("password-prompt")

        page.get_by_role("link", name="Enable two-factor authentication").click()
        page.get_by_label("Password", exact=True).fill(password)
        audit("enable-password")
        page.get_by_role("button", name="Continue").click()
        key = page.get_by_text(re.compile(r"^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$"))
        expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
        audit("enable-qr")
        secret = key.inner_text().replace(" ", "")
        remember(secret)
        page.get_by_label("6-digit code from the app").fill(rfc6238.totp(secret))
        page.get_by_role("button", name="Turn on two-factor").click()
        codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
        expect(codes).to_have_count(10)
        audit("enable-recovery-codes")
        page.get_by_label("Type one of your recovery codes").fill(codes.first.inner_text())
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_label("Mobile phone number")).to_be_visible()
        audit("enable-phone")
        page.get_by_role("button", name="Skip for now").click()

        expect(page.get_by_role("heading", name="Authenticator apps")).to_be_visible()
        expect(page.get_by_role("button", name=re.compile(r"^Remove "))).to_be_visible()
        audit("settings-on")
        page.get_by_role("button", name="View recovery codes").click()
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", name="Your recovery codes")).to_be_focused()
        audit("settings-recovery-codes")
        page.get_by_role("button", name="Add another authenticator").click()
        expect(page.get_by_label("Name of the new device")).to_be_focused()
        page.get_by_label("Name of the new device").fill("Pixel 8")
        audit("settings-add-authenticator")

        page.get_by_role("link", name="Sessions and activity").click()
        expect(page.get_by_role("heading", name="Security log")).to_be_visible()
        expect(page.get_by_text("Two-factor authentication turned on.")).to_be_visible()
        audit("security")

        page.get_by_role("button", name="Log out").click()
        log_in(page, email, password)
        expect(page.get_by_label("Authentication code")).to_be_focused()
        audit("second-factor")
        page.get_by_role("button", name="Enter a Recovery Code").click()
        expect(page.get_by_label("Recovery code")).to_be_focused()
        audit("second-factor-recovery")
        page.get_by_role("button", name="Use your authenticator app").click()
        page.get_by_label("Authentication code").fill(rfc6238.totp(secret, time.time() + 30))
        page.get_by_role("button", name="Verify").click()
        expect(page.get_by_role("heading", name="Your account")).to_be_visible()

        assert not audit.problems, "\n".join(audit.problems)
        assert len(audit.states) == 14
