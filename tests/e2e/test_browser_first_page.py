"""The first page of the browser app, driven in Chromium against the real local stack.

Journey: sign up, see the account, reveal the API key, log out, log in again; plus the
360 px layout and a wrong password reported in the live region. Screenshots of each page
go to test-artifacts/screenshots/. Chromium that cannot start is a failure, never a skip.
"""
from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.leakcheck import remember

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
SESSION_ENDED = "Your session has ended. Please log in again."


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser | Exception]:
    """The launched browser, or the reason it could not start (reported by each test).

    Module scope: the other test_browser_* modules import this fixture, and one sync
    Playwright may run at a time, so each module starts its own after the last one stopped.
    """
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as exc:  # noqa: BLE001 - handed to the tests so that they fail
            yield exc
            return
        yield launched
        launched.close()


@contextlib.contextmanager
def fresh_page(browser: Browser | Exception, base_url: str, width: int = 1280, height: int = 800,
               name: str = "page") -> Iterator[Page]:
    """A page in a new browser context; fails on uncaught script errors and CSP violations."""
    if isinstance(browser, Exception):
        pytest.fail(f"Chromium could not be launched from {CHROMIUM}: {browser}")
    context = browser.new_context(base_url=base_url, viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
    page.on("console", lambda msg: problems.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    try:
        yield page
    except BaseException:
        with contextlib.suppress(Exception):  # keep the original failure if this fails too
            shot(page, f"failed-{name}")
        raise
    finally:
        context.close()
    assert not problems, problems


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def new_credentials() -> tuple[str, str]:
    email = f"browser-{secrets.token_hex(6)}@example.com"
    password = f"lantern harbour violet {secrets.token_hex(4)}"
    remember(password)  # the leak check fails the run if it shows up in a log
    return email, password


def sign_up(page: Page, email: str, password: str) -> None:
    page.goto("/signup")
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/settings$"))
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()


def log_in(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()


def reveal_api_key(page: Page, password: str) -> None:
    page.get_by_role("button", name="Reveal API key").click()
    expect(page.get_by_label("Password", exact=True)).to_be_focused()  # asked again, in place
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Continue").click()


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
