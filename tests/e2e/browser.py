"""Driving the browser app in Debian's Chromium: the browser, fresh pages, and the steps every
browser test shares (sign up, log in, reveal the API key, screenshots)."""
from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.leakcheck import remember
from tests.qr import CHROMIUM, CHROMIUM_ARGS

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
SESSION_ENDED = "Your session has ended. Please log in again."


def launched_browser() -> Iterator[Browser | Exception]:
    """The launched browser, or the reason it could not start (reported by each test, so a
    missing Chromium fails every browser test rather than skipping it)."""
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
