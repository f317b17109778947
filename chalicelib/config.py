"""Settings from the environment, read lazily.

`chalice.test.Client` (and the Lambda runtime) set the stage's environment variables only
while a request runs, so nothing here is read at import time: call `settings()` inside a
request. The values are cheap to read, so there is no cache to go stale between tests.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

LOCAL_STAGES = ("local", "test")


class ConfigError(RuntimeError):
    """The environment does not describe a usable deployment."""


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer") from exc


def _countries(name: str) -> frozenset[str]:
    """A comma-separated list of ISO 3166 codes; empty means every country."""
    codes = {part.strip().upper() for part in os.environ.get(name, "").split(",") if part.strip()}
    if any(len(code) != 2 or not code.isalpha() for code in codes):
        raise ConfigError(f"{name} must list ISO 3166 country codes, such as GB,US")
    return frozenset(codes)


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    aws_endpoint: str | None
    kms_key_id: str
    hmac_key_id: str
    issuer: str
    min_password_length: int
    max_password_length: int
    argon2_memory_kib: int
    argon2_time_cost: int
    argon2_parallelism: int
    session_absolute_seconds: int
    session_idle_seconds: int
    signup_per_ip_per_hour: int
    login_token_seconds: int
    authorization_seconds: int
    sms_sender_id: str
    sms_gap_seconds: int
    sms_per_account_per_hour: int
    sms_per_number_per_day: int
    sms_per_ip_per_hour: int
    sms_global_per_hour: int
    sms_countries: frozenset[str]
    origin_secret: str | None
    rp_id: str | None  # WebAuthn's relying party id (the site's host); None: no keys here
    webauthn_origin: str | None  # the one origin assertions are accepted from, exactly
    passkey_options_per_ip_per_hour: int

    @property
    def local(self) -> bool:
        return self.stage in LOCAL_STAGES


def aws_target() -> tuple[str, str | None]:
    """(region, emulator endpoint or None): the part of the settings every AWS call needs,
    read on its own because it is read per call (a model's binding, a client's lookup),
    where the whole of `settings()` costs some 50 microseconds."""
    stage = os.environ.get("TWOSTEP_STAGE", "local")
    endpoint = os.environ.get("TWOSTEP_AWS_ENDPOINT") or None
    if stage in LOCAL_STAGES and not endpoint:
        # Local mode must never fall through to real AWS with whatever credentials the
        # laptop holds: without an emulator address there is nothing safe to talk to.
        raise ConfigError("TWOSTEP_AWS_ENDPOINT must point at the emulator in local mode")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return region, endpoint if stage in LOCAL_STAGES else None


def settings() -> Settings:
    region, endpoint = aws_target()
    return Settings(
        stage=os.environ.get("TWOSTEP_STAGE", "local"),
        region=region,
        aws_endpoint=endpoint,
        kms_key_id=os.environ.get("TWOSTEP_KMS_KEY_ID", ""),
        hmac_key_id=os.environ.get("TWOSTEP_HMAC_KEY_ID", ""),
        issuer=os.environ.get("TWOSTEP_ISSUER", "twostep"),
        min_password_length=max(8, _int("TWOSTEP_MIN_PASSWORD_LENGTH", 8)),
        max_password_length=max(128, _int("TWOSTEP_MAX_PASSWORD_LENGTH", 256)),
        argon2_memory_kib=max(19456, _int("TWOSTEP_ARGON2_MEMORY_KIB", 19456)),
        argon2_time_cost=max(2, _int("TWOSTEP_ARGON2_TIME_COST", 2)),
        argon2_parallelism=max(1, _int("TWOSTEP_ARGON2_PARALLELISM", 1)),
        session_absolute_seconds=_int("TWOSTEP_SESSION_ABSOLUTE_SECONDS", 12 * 3600),
        session_idle_seconds=_int("TWOSTEP_SESSION_IDLE_SECONDS", 30 * 60),
        signup_per_ip_per_hour=_int("TWOSTEP_SIGNUP_PER_IP_PER_HOUR", 20),
        login_token_seconds=_int("TWOSTEP_LOGIN_TOKEN_SECONDS", 5 * 60),
        authorization_seconds=_int("TWOSTEP_AUTHORIZATION_SECONDS", 30 * 24 * 3600),
        sms_sender_id=os.environ.get("TWOSTEP_SMS_SENDER_ID", "twostep"),
        sms_gap_seconds=_int("TWOSTEP_SMS_GAP_SECONDS", 30),
        sms_per_account_per_hour=_int("TWOSTEP_SMS_PER_ACCOUNT_PER_HOUR", 5),
        sms_per_number_per_day=_int("TWOSTEP_SMS_PER_NUMBER_PER_DAY", 10),
        sms_per_ip_per_hour=_int("TWOSTEP_SMS_PER_IP_PER_HOUR", 10),
        sms_global_per_hour=_int("TWOSTEP_SMS_GLOBAL_PER_HOUR", 1000),
        sms_countries=_countries("TWOSTEP_SMS_COUNTRIES"),
        # Set in AWS: CloudFront sends it to the API as X-Origin-Verify, so a request that
        # went around CloudFront (straight to API Gateway) can be told apart and refused.
        origin_secret=os.environ.get("TWOSTEP_ORIGIN_SECRET") or None,
        **_relying_party(os.environ.get("TWOSTEP_STAGE", "local")),
        passkey_options_per_ip_per_hour=_int("TWOSTEP_PASSKEY_OPTIONS_PER_IP_PER_HOUR", 60),
    )


def _relying_party(stage: str) -> dict[str, str | None]:
    """Where security keys and passkeys are used. Locally the app is used at
    http://localhost:<TWOSTEP_PORT> (browsers refuse WebAuthn on an IP address); in AWS the
    public host (infra/ sets both from DomainName, and sets neither without one: keys and
    passkeys need the site's own domain, see README)."""
    rp_id = os.environ.get("TWOSTEP_RP_ID") or None
    origin = os.environ.get("TWOSTEP_WEBAUTHN_ORIGIN") or None
    if stage in LOCAL_STAGES:
        rp_id = rp_id or "localhost"
        origin = origin or f"http://localhost:{_int('TWOSTEP_PORT', 8000)}"
    elif rp_id and not origin:
        origin = f"https://{rp_id}"
    return {"rp_id": rp_id, "webauthn_origin": origin if rp_id else None}
