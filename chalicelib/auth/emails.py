"""Email addresses: compared case-insensitively, so stored in one normal form."""
from __future__ import annotations

import re
import unicodedata

from chalicelib.errors import InvalidRequest

MAX_LENGTH = 254
_SHAPE = re.compile(r"^[^@\s]{1,64}@[^@\s.][^@\s]*\.[^@\s]+$")


def normalise(raw: str) -> str:
    """The key an address is stored under, or InvalidRequest when it is not an address."""
    email = unicodedata.normalize("NFKC", raw).strip().lower()
    if len(email) > MAX_LENGTH or not _SHAPE.match(email) or any(unicodedata.category(c)[0] == "C" for c in email):
        raise InvalidRequest("Enter a valid email address.")
    return email
