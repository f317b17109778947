"""Where security keys and passkeys are used: the relying party id and the one origin."""
from __future__ import annotations

import pytest

from chalicelib.config import settings


@pytest.fixture
def env(monkeypatch):
    for name in ("TWOSTEP_RP_ID", "TWOSTEP_WEBAUTHN_ORIGIN", "TWOSTEP_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TWOSTEP_AWS_ENDPOINT", "http://127.0.0.1:1")
    return monkeypatch


def test_local_mode_is_localhost_at_the_apps_port(env):
    env.setenv("TWOSTEP_STAGE", "local")
    env.setenv("TWOSTEP_PORT", "8123")
    cfg = settings()
    assert (cfg.rp_id, cfg.webauthn_origin) == ("localhost", "http://localhost:8123")


def test_in_aws_the_domain_name_is_the_relying_party_over_https(env):
    env.setenv("TWOSTEP_STAGE", "prod")
    env.setenv("TWOSTEP_RP_ID", "2fa.example.com")
    cfg = settings()
    assert (cfg.rp_id, cfg.webauthn_origin) == ("2fa.example.com", "https://2fa.example.com")


def test_without_a_domain_name_there_is_no_relying_party(env):
    env.setenv("TWOSTEP_STAGE", "prod")
    env.setenv("TWOSTEP_RP_ID", "")
    env.setenv("TWOSTEP_WEBAUTHN_ORIGIN", "")
    cfg = settings()
    assert (cfg.rp_id, cfg.webauthn_origin) == (None, None)


def test_without_a_relying_party_keys_are_refused_with_a_reason(env):
    from chalicelib.errors import Conflict
    from chalicelib.factors import webauthn

    env.setenv("TWOSTEP_STAGE", "prod")
    env.setenv("TWOSTEP_RP_ID", "")
    with pytest.raises(Conflict, match="own domain name"):
        webauthn.require_relying_party()
    assert webauthn.FACTOR.describe()["rp_id"] is None
