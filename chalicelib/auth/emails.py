"""Email addresses: compared case-insensitively, so stored under one normal form (the key).

The key is the local part NFKC-normalised and lower-cased (not case-folded: `ß` stays `ß`),
`@`, and the domain through UTS #46 to its ASCII (`xn--`) form, non-transitional as IDNA
2008 wants, so that `bücher.de` and `xn--bcher-kva.de` are one address while `straße.de`
stays `xn--strae-oqa.de` rather than becoming `strasse.de`. ASCII domains are lower-cased
as before (the `idna` package is loaded only for a domain that needs it). Control, format
and unassigned characters are refused, and so is `:` (Heroku's HTTP Basic login splits
at the first colon, so such an address could never log in there).

Keys made before the domain went through UTS #46 (NFKC and lower-case of the whole
address) differ only for a domain that is not plain ASCII. `legacy_keys()` names those old
keys, so that such an account is still found where it was stored (accounts.lookup_keys).
"""
from __future__ import annotations

import re
import unicodedata

from chalicelib.errors import InvalidRequest

MAX_LENGTH = 254
_LOCAL = re.compile(r"^[^@\s:]{1,64}$")
_ASCII_DOMAIN = re.compile(r"^[^@\s.:]+(\.[^@\s.:]+)+$")
_INVALID = "Enter a valid email address."


def _refuse(message: str = _INVALID) -> InvalidRequest:
    return InvalidRequest(message)


def _domain(raw: str) -> str:
    if raw.isascii() and not any(label.startswith("xn--") for label in raw.lower().split(".")):
        domain = raw.lower()
    else:
        import idna  # only for an internationalised domain

        try:
            domain = idna.encode(raw, uts46=True, transitional=False).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            raise _refuse("The domain of this email address is not a valid domain name.") from None
    if not _ASCII_DOMAIN.match(domain):
        raise _refuse()
    return domain


def normalise(raw: str) -> str:
    """The key an address is stored under, or InvalidRequest when it is not an address."""
    text = unicodedata.normalize("NFKC", raw).strip()
    if any(unicodedata.category(c)[0] == "C" for c in text):
        raise _refuse("An email address cannot hold control or invisible characters.")
    if ":" in text:
        raise _refuse("An email address cannot hold a colon (:).")
    local, at, domain = text.rpartition("@")
    if not at or not _LOCAL.match(local):
        raise _refuse()
    email = f"{local.lower()}@{_domain(domain)}"
    if len(email) > MAX_LENGTH:
        raise _refuse()
    return email


def legacy_keys(raw: str) -> list[str]:
    """The keys the address may have been stored under before its domain went through UTS
    #46 (NFKC and lower case of the whole address, the domain in Unicode), where they differ
    from `normalise(raw)`: only for a domain that is not plain ASCII, whether it is typed in
    Unicode or as its `xn--` form. Empty otherwise."""
    try:
        new = normalise(raw)
    except InvalidRequest:
        return []
    local, _, domain = new.rpartition("@")
    found = [unicodedata.normalize("NFKC", raw).strip().lower()]
    if any(label.startswith("xn--") for label in domain.split(".")):
        import idna

        try:
            found.append(f"{local}@{idna.decode(domain)}")
        except (idna.IDNAError, UnicodeError, ValueError):
            pass
    return [key for n, key in enumerate(found) if key != new and key not in found[:n]]
