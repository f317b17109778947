"""The `twostep` command: log in from a terminal and manage two-factor authentication.

Kept quick to start: this module imports click alone at the top; the HTTP client, the
netrc code and segno are imported by the commands that use them.
"""
from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

import click

DEFAULT_API_URL = "http://127.0.0.1:8000"
NOT_LOGGED_IN = "Not logged in. Run `twostep login`."
SIX_DIGITS = re.compile(r"\d{6}")

password_stdin_option = click.option(
    "--password-stdin", is_flag=True,
    help="Read the password from the first line of standard input (codes from the next lines).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--api-url", envvar="TWOSTEP_API_URL", default=DEFAULT_API_URL, show_default=True,
              help="The twostep API (also from TWOSTEP_API_URL).")
@click.pass_context
def cli(ctx: click.Context, api_url: str) -> None:
    """twostep: log in and manage two-factor authentication from the terminal."""
    ctx.obj = api_url


def main() -> None:
    cli(prog_name="twostep")


# --- helpers -----------------------------------------------------------------------------

def _api_url() -> str:
    """The API's address; plain http only to this machine (a password, codes and the API
    key travel in these requests)."""
    url = click.get_current_context().find_root().obj
    _require_tls(url)
    return url


def _require_tls(url: str) -> None:
    import ipaddress
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme != "http" or not parts.hostname:
        raise click.UsageError(f"The API URL must start with https:// (got {url!r}).")
    host = parts.hostname
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost" or host.endswith(".localhost")
    if not loopback:
        raise click.UsageError(
            f"Refusing to send credentials over plain http to {host}: use https://{host}"
            f"{parts.path or ''} (http is allowed only for this machine, e.g. http://127.0.0.1:8000).")


def _host() -> str:
    from cli import credentials

    return credentials.host_of(_api_url())


def _anonymous():
    from cli.client import Api

    return Api(_api_url())


def _stored() -> tuple[str, str]:
    """(email, api_key) from ~/.netrc; fails when not logged in."""
    from cli import credentials

    stored = credentials.read(_host())
    if stored is None:
        raise click.ClickException(NOT_LOGGED_IN)
    return stored


def _signed_in() -> tuple[Any, str]:
    """The API with the stored key, and the stored email."""
    from cli.client import Api

    email, api_key = _stored()
    return Api(_api_url(), api_key), email


def _store_key(email: str, api_key: str) -> None:
    from cli import credentials

    credentials.save(_host(), email, api_key)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise click.UsageError("--password-stdin: standard input is empty.")
        return line.rstrip("\r\n")
    return click.prompt("Password", hide_input=True)


def _code(prompt: str) -> str:
    return re.sub(r"\s", "", click.prompt(prompt))


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2))


# --- login and the stored key ------------------------------------------------------------

@cli.command()
@click.option("--email", help="The account's email (else prompted).")
@click.option("--sms", is_flag=True, help="Get the two-factor code by text message.")
@password_stdin_option
def login(email: str | None, sms: bool, password_stdin: bool) -> None:
    """Log in and store an API key in ~/.netrc.

    With two-factor authentication on, the "Two-factor code" prompt takes the 6 digits from
    your authenticator app or a recovery code; answer `sms` to get a code by text message."""
    if password_stdin and not email:
        raise click.UsageError("--password-stdin needs --email.")
    email = email or click.prompt("Email")
    api = _anonymous()
    answer = api.post("/api/login", {"email": email, "password": _password(password_stdin), "client": "cli"})
    if answer["status"] == "two_factor_required":
        answer = _second_factor(api, answer, sms)
    skew = answer.get("clock_skew_seconds")
    if skew:
        side = "ahead" if skew > 0 else "behind"
        click.echo(f"Note: your authenticator's clock is about {abs(skew)} s {side}; check the time on that device.")
    _store_key(answer["user"]["email"], answer["api_key"])
    click.echo(f"Logged in as {answer['user']['email']}")


def _second_factor(api: Any, challenge: dict[str, Any], sms: bool) -> dict[str, Any]:
    """The second step, drawn from what the API says exists (GET /api/methods) and what the
    account can use (the login's `methods`): six digits are the account's authenticator
    code (or the texted code, once one was sent), anything else a recovery code."""
    described = {m["method"]: m for m in api.get("/api/methods")["methods"]}
    offered = [described[m] for m in challenge.get("methods", []) if m in described]
    token = challenge["login_token"]
    typeable = [m for m in offered if m["input"] == "code" and m["method"] != "sms"]
    prompt = "Two-factor code"
    if not typeable and any(m["input"] == "credential" for m in offered):
        # a security key or passkey cannot be touched from a terminal: say what can be typed
        sms_too = any(m["method"] == "sms" for m in offered)
        click.echo("This account's two-factor method is a security key or passkey, which a terminal cannot use.\n"
                   "Enter one of your recovery codes" + (" (or answer `sms` for a code by text message)" if sms_too
                                                          else "") + ", or log in on the website.")
        prompt = "Recovery code"
    texted = _send_login_sms(api, token, offered) if sms else None
    while True:
        answer = _code("Code from the text message" if texted else prompt)
        if answer.lower() != "sms":
            break
        texted = _send_login_sms(api, token, offered)
    typed = "code" if SIX_DIGITS.fullmatch(answer) else "recovery_code"
    candidates = [m for m in offered if m["input"] == typed] or [m for m in described.values() if m["input"] == typed]
    method = texted if typed == "code" and texted else next((m for m in candidates if m["enrols"]), candidates[0])
    return api.post("/api/login/verify", {"login_token": token, method["field"]: answer})


def _send_login_sms(api: Any, token: str, offered: list[dict[str, Any]]) -> dict[str, Any]:
    method = next((m for m in offered if m["method"] == "sms"), None)
    if method is None:
        raise click.ClickException("This account has no verified phone for text messages.")
    sent = api.post("/api/login/challenge", {"login_token": token, "method": method["method"]})
    click.echo(f"Sent a code to {sent['phone_hint']}.")
    return method


@cli.command()
def logout() -> None:
    """Forget the stored API key."""
    from cli import credentials
    from cli.client import Api

    stored = credentials.read(_host())
    if stored is None:
        click.echo("Not logged in.")
        return
    try:
        Api(_api_url(), stored[1]).post("/api/logout")
    except click.ClickException:
        pass  # the key is forgotten either way
    credentials.remove(_host())
    click.echo("Logged out.")


@cli.command("auth:whoami")
@json_option
def whoami(as_json: bool) -> None:
    """Print the email of the account you are logged in as."""
    api, _ = _signed_in()
    user = api.get("/api/account")["user"]
    if as_json:
        _print_json(user)
    else:
        click.echo(user["email"])


@cli.command("auth:token")
def token() -> None:
    """Print the stored API key."""
    click.echo(_stored()[1])


# --- two-factor --------------------------------------------------------------------------

@cli.command("2fa")
@json_option
def two_factor_status(as_json: bool) -> None:
    """Show the state of two-factor authentication."""
    api, _ = _signed_in()
    state = api.get("/api/account")["two_factor"]
    # every kind of factor the account has, named as the API names the kinds
    state["factors"] = api.get("/api/account/factors")["factors"] if state["enabled"] else []
    state["authenticators"] = [f for f in state["factors"] if f["method"] == "totp"]
    if as_json:
        _print_json(state)
        return
    if not state["enabled"]:
        click.echo("Two-factor authentication is off. Turn it on with `twostep 2fa:enable`.")
        return
    click.echo(f"Two-factor authentication is on (since {state['enabled_at']}).")
    labels = {m["method"]: m["label"] for m in api.get("/api/methods")["methods"]}
    for method in dict.fromkeys(f["method"] for f in state["factors"]):
        click.echo(f"{labels.get(method, method)}:")
        for factor in (f for f in state["factors"] if f["method"] == method):
            used = factor.get("last_used_at") or "never"
            passkey = ", passkey" if factor.get("passkey") else ""
            click.echo(f"  {factor['name']} (added {factor['created_at']}, last used {used}{passkey})")
    phone = state.get("phone")
    if phone:
        click.echo(f"Recovery phone: {phone['hint']}{'' if phone['verified'] else ' (not verified)'}")
    else:
        click.echo("Recovery phone: none (add one with `twostep 2fa:phone`)")
    click.echo(f"Recovery codes remaining: {state['recovery_codes_remaining']}")
    if state["recovery_codes_low"]:
        click.echo("Warning: few recovery codes left. Make new ones with "
                   "`twostep 2fa:recovery-codes --regenerate`.", err=True)


@cli.command("2fa:enable")
@click.option("--name", help='A name for the authenticator, like "Pixel 8".')
@click.option("--codes-file", type=click.Path(dir_okay=False),
              help="Save the recovery codes to this file (else you are asked).")
@password_stdin_option
def enable(name: str | None, codes_file: str | None, password_stdin: bool) -> None:
    """Turn on two-factor with an authenticator app."""
    api, email = _signed_in()
    if api.get("/api/account")["two_factor"]["enabled"]:
        click.echo("Two-factor authentication is already on.")
        return
    body = {"password": _password(password_stdin)}
    if name:
        body["name"] = name
    setup = api.post("/api/account/two-factor/setup", body)
    _show_key(setup["otpauth_uri"], setup["secret"])
    code = _code("Code from your authenticator app")
    confirmed = api.post("/api/account/two-factor/confirm",
                         {"authenticator_id": setup["authenticator_id"], "code": code})
    _store_key(email, confirmed["api_key"])  # the old key stopped working
    click.echo("Two-factor authentication is on. Your API key was regenerated and stored in ~/.netrc.")
    _show_recovery_codes(confirmed["recovery_codes"], codes_file)


def _show_key(uri: str, secret: str) -> None:
    import segno

    click.echo("Scan this QR code with your authenticator app:")
    segno.make(uri).terminal(out=sys.stdout, compact=True)
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    click.echo(f"Or type this key into the app: {grouped}")


def _show_recovery_codes(codes: list[str], path: str | None) -> None:
    click.echo("Recovery codes (each works once; keep them somewhere safe):")
    for code in codes:
        click.echo(f"  {code}")
    if path is None and sys.stdin.isatty():  # scripts pass --codes-file or skip saving
        path = click.prompt("Save them to a file (path, or Enter to skip)", default="", show_default=False)
    if path:
        _write_private(path, "".join(f"{code}\n" for code in codes))
        click.echo(f"Saved to {path} (readable by you only).")


def _write_private(path: str, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise click.ClickException(f"Could not save the recovery codes to {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


@cli.command("2fa:disable")
@password_stdin_option
def disable(password_stdin: bool) -> None:
    """Turn off two-factor authentication.

    Asks for your password."""
    api, _ = _signed_in()
    api.post("/api/account/two-factor/disable", {"password": _password(password_stdin)})
    click.echo("Two-factor authentication is off.")


@cli.command("2fa:recovery-codes")
@click.option("--regenerate", is_flag=True, help="Make a new set; the old codes stop working.")
@password_stdin_option
def recovery_codes(regenerate: bool, password_stdin: bool) -> None:
    """Show or regenerate your recovery codes."""
    api, _ = _signed_in()
    path = "/api/account/recovery-codes" + ("/regenerate" if regenerate else "")
    codes = api.post(path, {"password": _password(password_stdin)})["codes"]
    for code in codes:
        click.echo(f"  {code['code']}" + (f"  (used {code['used_at']})" if code["used_at"] else ""))


@cli.command("2fa:phone")
@click.option("--phone", help="Mobile number, E.164 (+447400123456) or national with --country.")
@click.option("--country", help="ISO 3166 country code for a national number, like GB.")
@click.option("--remove", is_flag=True, help="Remove the recovery phone.")
@password_stdin_option
def phone(phone: str | None, country: str | None, remove: bool, password_stdin: bool) -> None:
    """Add or remove the recovery phone.

    A new number is verified with a code sent to it by text message."""
    api, _ = _signed_in()
    password = _password(password_stdin)
    if remove:
        api.delete("/api/account/phone", {"password": password})
        click.echo("Recovery phone removed.")
        return
    body = {"phone": phone or click.prompt("Phone number"), "password": password}
    if country:
        body["country"] = country.upper()
    sent = api.post("/api/account/phone", body)
    click.echo(f"Sent a code to {sent['phone_hint']}.")
    verified = api.post("/api/account/phone/verify", {"code": _code("Code from the text message")})
    click.echo(f"Recovery phone {verified['phone']['hint']} is verified.")
