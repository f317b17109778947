"""Every key prefix, in one place: the ephemeral table's purposes and the factor items'.

The ephemeral table holds short-lived items of several kinds under one hash key; the factors
table keeps every factor of an account under its user id, one sort key per factor. A prefix
tells what an item is, so a new use takes a new prefix here and never another's.
"""
from __future__ import annotations

# --- the ephemeral table (pk) --------------------------------------------------------------


def password_counter(email: str) -> str:
    """The failed-password counter of an address (whether or not it has an account)."""
    return f"pw#{email}"


def login_attempt(token_id: str) -> str:
    """A login attempt between the password and the second factor (its login token)."""
    return f"login#{token_id}"


def phone_setup_counter(user_id: str) -> str:
    """Wrong phone setup codes of an account."""
    return f"phone-setup#{user_id}"


def cap_window(name: str, key: str, window_index: int) -> str:
    """A send cap's count in one fixed window ("at most N per hour")."""
    return f"cap#{name}#{key}#{window_index}"


def cap_gap(name: str, key: str) -> str:
    """A send cap's last use ("at least G seconds apart")."""
    return f"gap#{name}#{key}"


def passkey_challenge(token_id: str) -> str:
    """A passkey sign-in's challenge (its passkey token), before anyone is known."""
    return f"passkey#{token_id}"


def passkey_address_counter(network: str) -> str:
    """Refused passkey sign-ins from one client network."""
    return f"passkey-ip#{network}"


def passkey_credential_counter(credential_key: str) -> str:
    """Refused passkey sign-ins that named one credential (never the owner's own counter)."""
    return f"passkey-cred#{credential_key}"


# --- the factors table (factor_id, under the user id) --------------------------------------


def factor(kind: str, factor_key: str) -> str:
    """A confirmed factor of a kind that may have several (authenticator apps, keys)."""
    return f"{kind}#{factor_key}"


def pending(kind: str) -> str:
    """The one enrolment of a kind waiting for its proof (a first code, a key's answer)."""
    return f"pending#{kind}"


def kind_of(factor_id: str) -> str:
    return factor_id.partition("#")[0]


def key_of(factor_id: str) -> str:
    """The factor's own id within its kind, as the API shows it."""
    return factor_id.partition("#")[2]


PHONE = "phone"  # the verified SMS phone: one per account
RECOVERY_SET = "recovery"  # the current recovery-code set: one per account
