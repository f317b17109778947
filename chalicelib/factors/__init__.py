"""Second factors, one module each. The login flow knows them only through this registry
and the contract in base.py: adding a kind of factor means adding a module and a line here."""
from __future__ import annotations

from chalicelib.factors.base import LoginFactor


def login_factors() -> list[LoginFactor]:
    from chalicelib.factors.recovery import RecoveryCodeFactor
    from chalicelib.factors.sms import SmsFactor
    from chalicelib.factors.totp import TotpFactor

    return [TotpFactor(), RecoveryCodeFactor(), SmsFactor()]
