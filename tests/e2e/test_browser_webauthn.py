"""Security keys and passkeys in the browser: Debian's Chromium with its virtual authenticators
(CDP's WebAuthn domain, tests/e2e/webauthn.py) against the real local stack, at
http://localhost:<port> (browsers refuse WebAuthn on an IP address; the relying party is
`localhost`).

- A security key as the first factor turns two-factor on (the recovery codes follow); the
  last factor cannot be removed (the server's 409, in its words); with an authenticator app
  beside it, the second step offers the key first and the app a click away, survives a
  cancelled prompt, and signs in; a passkey on a second authenticator, the key removed with
  the password, "Sign in with a passkey" alone, and the email field's passkey autofill (not
  on page load, on focus); the security log; the key added and used by keyboard alone; axe
  and 360 px on the keys section, its prompt, the second step and the login page.
- The server's refusals, through the fallback conversions (the Level 3 JSON methods
  deleted): a passkey the server never saw, and a copy of a passkey whose counter went back
  (logged as a possible clone); then, at 127.0.0.1, the second step says keys need localhost
  and a recovery code gets in.
- At http://127.0.0.1 the login and account pages say that keys need localhost, and offer
  none; a deployment without a relying party says keys are not available, and offers none.
"""
from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Locator, Page, Route, expect

from tests import rfc6238
from tests.e2e.browser import fresh_page, log_in, new_credentials, shot, sign_up
from tests.e2e.helpers import CSRF
from tests.e2e.test_browser_accessibility import Audit
from tests.e2e.webauthn import PLATFORM, SECURITY_KEY, Authenticators, stranger_passkey
from tests.leakcheck import remember

pytestmark = pytest.mark.e2e

CANCELLED = "The browser’s prompt was closed or timed out. Try again, or choose another way below."
# What a browser without WebAuthn Level 3's JSON methods looks like: the app's own conversions run.
WITHOUT_JSON_METHODS = """
  delete PublicKeyCredential.parseCreationOptionsFromJSON;
  delete PublicKeyCredential.parseRequestOptionsFromJSON;
  delete PublicKeyCredential.prototype.toJSON;
"""


def at_localhost(base_url: str) -> str:
    return base_url.replace("://127.0.0.1:", "://localhost:")


def keys_section(page: Page) -> Locator:
    return page.locator("section", has=page.get_by_role("heading", name="Security keys and passkeys"))


def tab_to(page: Page, target: Locator, limit: int = 60) -> None:
    """Press Tab until `target` has the focus, as a keyboard user would."""
    expect(target).to_be_visible()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return
    pytest.fail(f"{target} was not reached with Tab")


def confirm_password(page: Page, password: str) -> None:
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Continue").click()


def add_key(page: Page, action: str, name: str, password: str) -> None:
    page.get_by_role("button", name=action).click()
    expect(page.get_by_label(re.compile(r"^Name of the "))).to_be_focused()
    page.get_by_label(re.compile(r"^Name of the ")).fill(name)
    confirm_password(page, password)


def save_codes(page: Page) -> list[str]:
    """The first factor's recovery codes, as after a first authenticator app; one typed back."""
    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_focused()
    expect(page.get_by_text("Step 1 of 2")).to_be_visible()
    expect(page.get_by_text("your API key was regenerated")).to_be_visible()
    shown = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(shown).to_have_count(10)
    codes = [text.strip() for text in shown.all_inner_texts()]
    remember(codes)
    page.get_by_label("Type one of your recovery codes").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Add a phone for SMS recovery")).to_be_focused()
    page.get_by_role("button", name="Skip for now").click()
    expect(page.get_by_role("status")).to_have_text("Two-factor authentication is on.")
    return codes


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_visible()


def at_settings(page: Page) -> None:
    expect(page).to_have_url(re.compile(r"/settings$"))
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()


def add_authenticator_app(page: Page, password: str) -> None:
    """A second factor of another kind, added with the page's own cookie."""
    setup = page.request.post("/api/account/two-factor/setup", data={"password": password}, headers=CSRF)
    assert setup.status == 200, setup.text()
    remember(setup.json()["secret"])
    confirm = page.request.post("/api/account/two-factor/confirm", headers=CSRF, data={
        "authenticator_id": setup.json()["authenticator_id"], "code": rfc6238.totp(setup.json()["secret"])})
    assert confirm.status == 200, confirm.text()


def get(page: Page, path: str) -> dict:
    answer = page.request.get(path)
    assert answer.status == 200, f"{path}: {answer.status} {answer.text()}"
    return answer.json()


def logins(events: list[dict]) -> list[tuple[str | None, str | None]]:
    return [(e["detail"].get("method"), e["detail"].get("name")) for e in events if e["type"] == "login"]


def test_security_key_then_passkey(browser, live_stack):
    email, password = new_credentials()
    with fresh_page(browser, at_localhost(live_stack.base_url), name="webauthn") as page:
        keys = Authenticators(page)
        usb = keys.add(SECURITY_KEY)
        audit = Audit(page)
        sign_up(page, email, password)

        # Two-factor off: a first key is a way to turn it on. By keyboard: Tab, Enter, type.
        section = keys_section(page)
        expect(section).to_contain_text("turns on two-factor authentication")
        expect(section.get_by_text("You have no security keys or passkeys yet.")).to_be_visible()
        expect(section.get_by_role("button", name="Create a passkey")).to_be_visible()
        audit("webauthn-settings-off")
        tab_to(page, section.get_by_role("button", name="Add a security key"))
        page.keyboard.press("Enter")
        expect(page.get_by_label("Name of the security key")).to_be_focused()
        page.keyboard.type("YubiKey 5C")
        page.keyboard.press("Tab")
        expect(page.get_by_label("Password", exact=True)).to_be_focused()
        page.keyboard.type(password)
        audit("webauthn-add-prompt")
        with page.expect_response(re.compile(r"/api/account/webauthn$")) as added:
            page.keyboard.press("Enter")
        assert added.value.status == 201, added.value.text()
        body = added.value.json()
        remember(body.get("api_key"))
        assert body["credential"]["name"] == "YubiKey 5C" and body["credential"]["passkey"] is False
        codes = save_codes(page)
        assert codes == body["recovery_codes"]

        at_settings(page)
        assert get(page, "/api/account")["two_factor"]["enabled"] is True
        [key] = get(page, "/api/account/webauthn")["credentials"]
        assert (key["name"], key["passkey"], key["last_used_at"]) == ("YubiKey 5C", False, None)
        expect(section.get_by_role("listitem")).to_have_count(1)
        expect(section.get_by_role("listitem")).to_contain_text("YubiKey 5C")
        expect(section.get_by_role("listitem")).to_contain_text(re.compile(r"Security key · added .+ · last used never"))
        audit("webauthn-settings-on")

        # The account's last factor is not removed: the server's 409, in its words.
        section.get_by_role("button", name="Remove YubiKey 5C").click()
        with page.expect_response(re.compile(r"/api/account/webauthn/")) as refused:
            confirm_password(page, password)
        assert refused.value.status == 409, refused.value.text()
        expect(page.get_by_role("status")).to_have_text(refused.value.json()["error"]["message"])
        page.get_by_role("button", name="Cancel").click()
        assert len(get(page, "/api/account/webauthn")["credentials"]) == 1
        add_authenticator_app(page, password)

        # The second step offers the key first, the app a click away; a cancelled prompt
        # leaves the person there.
        log_out(page)
        expect(page.get_by_label("Email")).to_have_attribute("autocomplete", "username webauthn")
        log_in(page, email, password)
        expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
        use_key = page.get_by_role("button", name="Use your security key")
        expect(use_key).to_be_focused()
        expect(page.get_by_label("Authentication code")).to_have_count(0)
        expect(page.get_by_role("heading", name="Can’t use your security key?")).to_be_visible()
        expect(page.get_by_role("button", name="Use your authenticator app")).to_be_visible()
        expect(page.get_by_role("button", name="Enter a Recovery Code")).to_be_visible()
        audit("webauthn-second-factor")
        page.get_by_role("button", name="Use your authenticator app").click()
        expect(page.get_by_label("Authentication code")).to_be_focused()
        with keys.emptied(usb):  # the key a click away again, and its prompt cancelled
            page.get_by_role("button", name="Use your security key").click()
            expect(page.get_by_role("status")).to_have_text(CANCELLED)
        expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
        expect(use_key).to_be_focused()
        shot(page, "webauthn-cancelled")
        page.keyboard.press("Enter")  # try again
        at_settings(page)
        [key] = get(page, "/api/account/webauthn")["credentials"]
        assert key["last_used_at"] is not None

        # A passkey on a second authenticator (the first would be excluded: it holds the key).
        keys.remove(usb)
        platform = keys.add(PLATFORM)
        add_key(page, "Create a passkey", "MacBook Touch ID", password)
        expect(page.get_by_role("status")).to_have_text("The passkey “MacBook Touch ID” was added.")
        expect(section.get_by_role("listitem")).to_have_count(2)
        expect(section.get_by_role("listitem").filter(has_text="MacBook Touch ID")).to_contain_text("Passkey · added")
        listed = {c["name"]: c["passkey"] for c in get(page, "/api/account/webauthn")["credentials"]}
        assert listed == {"YubiKey 5C": False, "MacBook Touch ID": True}
        assert len(keys.credentials(platform)) == 1

        # Remove the key with the password; the passkey stays.
        section.get_by_role("button", name="Remove YubiKey 5C").click()
        with page.expect_response(re.compile(r"/api/account/webauthn/")) as removed:
            confirm_password(page, password)
        assert removed.value.status == 204
        expect(page.get_by_role("status")).to_have_text("“YubiKey 5C” was removed.")
        expect(section.get_by_role("listitem")).to_have_count(1)
        assert [c["name"] for c in get(page, "/api/account/webauthn")["credentials"]] == ["MacBook Touch ID"]

        # "Sign in with a passkey": no email, no password.
        log_out(page)
        audit("webauthn-login")
        page.get_by_role("button", name="Sign in with a passkey").click()
        at_settings(page)
        events = get(page, "/api/account/events")["events"]
        types = [e["type"] for e in events]
        assert types.count("security_key_added") == 1 and types.count("security_key_removed") == 1, types
        enabled = next(e["detail"] for e in events if e["type"] == "two_factor_enabled")  # the first key
        assert (enabled.get("method"), enabled.get("name")) == ("webauthn", "YubiKey 5C"), enabled
        assert logins(events)[:2] == [("passkey", "MacBook Touch ID"), ("webauthn", "YubiKey 5C")], logins(events)

        page.get_by_role("link", name="Sessions and activity").click()
        log = page.get_by_role("list").filter(has_text="Account created")
        expect(log.get_by_text("Logged in with a passkey: MacBook Touch ID.")).to_be_visible()
        expect(log.get_by_text("Logged in with a security key or passkey: YubiKey 5C.")).to_be_visible()
        expect(log.get_by_text("Two-factor authentication turned on with a security key: YubiKey 5C.")).to_be_visible()
        expect(log.get_by_text(re.compile(r"added: MacBook Touch ID\.$"))).to_be_visible()
        expect(log.get_by_text(re.compile(r"removed: YubiKey 5C\.$"))).to_be_visible()
        shot(page, "webauthn-security-log")

        # The email field's autofill offers the passkey: never on page load, once it has focus.
        log_out(page)
        page.wait_for_timeout(500)
        expect(page).to_have_url(re.compile(r"/login$"))
        page.get_by_label("Email").click()
        at_settings(page)
        assert logins(get(page, "/api/account/events")["events"])[0] == ("passkey", "MacBook Touch ID")

        assert not audit.problems, "\n".join(audit.problems)


def test_refused_passkeys_and_a_rewound_counter(browser, live_stack):
    email, password = new_credentials()
    port = urlparse(live_stack.base_url).port
    with fresh_page(browser, at_localhost(live_stack.base_url), name="webauthn-refused") as page:
        page.add_init_script(WITHOUT_JSON_METHODS)
        keys = Authenticators(page)

        # A passkey the server has never seen: refused, no session.
        stranger = keys.add(PLATFORM)
        keys.add_credential(stranger, stranger_passkey())
        page.goto("/login")
        assert page.evaluate("[typeof PublicKeyCredential.parseRequestOptionsFromJSON, "
                             "typeof PublicKeyCredential.parseCreationOptionsFromJSON, "
                             "typeof PublicKeyCredential.prototype.toJSON]") == ["undefined"] * 3
        with page.expect_response(re.compile(r"/api/login/passkey$")) as answer:
            page.get_by_role("button", name="Sign in with a passkey").click()
        assert answer.value.status == 401, answer.value.text()
        error = answer.value.json()["error"]
        assert error["code"] == "invalid_code"
        expect(page.get_by_role("status")).to_have_text(error["message"])
        expect(page).to_have_url(re.compile(r"/login$"))
        assert page.request.get("/api/account").status == 401
        keys.remove(stranger)

        # The account's own passkey (made through the fallback conversions) signs in.
        platform = keys.add(PLATFORM)
        sign_up(page, email, password)
        add_key(page, "Create a passkey", "Pixel 8", password)
        codes = save_codes(page)
        log_out(page)
        page.get_by_role("button", name="Sign in with a passkey").click()
        at_settings(page)
        [credential] = keys.credentials(platform)
        assert credential["signCount"] >= 2  # one for the creation, one for the sign-in

        # A copy with its counter behind the server's: refused, and logged as a possible clone.
        log_out(page)
        keys.remove_credential(platform, credential["credentialId"])
        keys.add_credential(platform, {**credential, "signCount": 0})
        with page.expect_response(re.compile(r"/api/login/passkey$")) as answer:
            page.get_by_role("button", name="Sign in with a passkey").click()
        assert answer.value.status == 401, answer.value.text()
        expect(page.get_by_role("status")).to_have_text(answer.value.json()["error"]["message"])
        assert page.request.get("/api/account").status == 401

        # At 127.0.0.1 the second step says where keys work, and a recovery code gets in.
        page.goto(f"{live_stack.base_url}/login")
        log_in(page, email, password)
        expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
        note = page.get_by_text("Security keys and passkeys work only at")
        expect(note).to_contain_text("browsers refuse them on an IP address")
        expect(note.get_by_role("link")).to_have_attribute("href", f"http://localhost:{port}/login")
        expect(page.get_by_role("button", name="Use your security key")).to_have_count(0)
        page.get_by_role("button", name="Enter a Recovery Code").click()
        page.get_by_label("Recovery code").fill(codes[1])
        page.get_by_role("button", name="Verify").click()
        at_settings(page)
        events = page.request.get(f"{live_stack.base_url}/api/account/events").json()["events"]
        types = [e["type"] for e in events]
        assert "security_key_cloned" in types and "passkey_failed" in types, types
        cloned = next(e for e in events if e["type"] == "security_key_cloned")
        assert cloned["detail"].get("name") == "Pixel 8", cloned
        page.get_by_role("link", name="Sessions and activity").click()
        expect(page.get_by_text(re.compile(r"signature counter went back.*Pixel 8\.$"))).to_be_visible()
        expect(page.get_by_text("Passkey sign-in refused.").first).to_be_visible()


def test_keys_and_passkeys_need_localhost(browser, live_stack):
    email, password = new_credentials()
    port = urlparse(live_stack.base_url).port
    with fresh_page(browser, live_stack.base_url, name="webauthn-ip") as page:
        [kind] = [m for m in get(page, "/api/methods")["methods"] if m["method"] == "webauthn"]
        assert (kind["input"], kind["challenge"], kind["enrols"], kind["rp_id"]) == ("credential", True, True, "localhost")
        page.goto("/login")
        note = page.get_by_text("Security keys and passkeys work only at")
        expect(note).to_have_text(f"Security keys and passkeys work only at http://localhost:{port}/ (browsers "
                                  "refuse them on an IP address). You will need to log in again there.")
        expect(note.get_by_role("link")).to_have_attribute("href", f"http://localhost:{port}/login")
        expect(page.get_by_role("button", name="Sign in with a passkey")).to_have_count(0)

        sign_up(page, email, password)
        section = keys_section(page)
        expect(section.get_by_role("link", name=f"http://localhost:{port}/")).to_have_attribute(
            "href", f"http://localhost:{port}/settings")
        expect(section.get_by_role("button")).to_have_count(0)
        shot(page, "webauthn-needs-localhost")

    # A deployment without a relying party (no domain of its own): keys cannot be used, and
    # nothing is offered.
    with fresh_page(browser, at_localhost(live_stack.base_url), name="webauthn-no-rp") as page:
        page.route("**/api/methods", without_relying_party)
        page.goto("/login")
        expect(page.get_by_text("Security keys and passkeys are not available on this site.")).to_be_visible()
        expect(page.get_by_role("button", name="Sign in with a passkey")).to_have_count(0)
        log_in(page, email, password)
        at_settings(page)
        expect(keys_section(page).get_by_text("Security keys and passkeys are not available on this site.")).to_be_visible()
        expect(keys_section(page).get_by_role("button")).to_have_count(0)


def without_relying_party(route: Route) -> None:
    answer = route.fetch()
    methods = answer.json()["methods"]
    for method in methods:
        if method["method"] == "webauthn":
            method["rp_id"] = None
    route.fulfill(response=answer, json={"methods": methods})
