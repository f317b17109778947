"""Lazy AWS clients and the KMS helpers.

Clients are built on first use (never at import time) with botocore directly: PynamoDB
already loads botocore, and boto3 would add its import cost to every cold start. In local
mode every client is pinned to the emulator with dummy credentials, so a laptop whose
environment holds real credentials never reaches AWS from here.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from chalicelib.config import settings

# botocore's DEBUG logging prints request bodies (ciphertexts, plaintexts sent to KMS,
# SMS texts). It stays off in every stage, whatever the root logger's level.
for _name in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_name).setLevel(logging.WARNING)

LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": "testing"}

_clients: dict[tuple[str, str, str | None], Any] = {}
_sessions = threading.local()
_lock = threading.Lock()


def botocore_session() -> Any:
    """One botocore session per thread (one in Lambda), shared by our clients and PynamoDB's
    (chalicelib/store/models.py), so the service models and endpoint data are parsed once per
    container rather than once per client. Per thread, because botocore documents client
    creation from one session as unsafe across threads (the local gateway is threaded)."""
    session = getattr(_sessions, "session", None)
    if session is None:
        import botocore.session

        session = _sessions.session = botocore.session.get_session()
    return session


def client(service: str) -> Any:
    """A botocore client for `service`, cached per container (clients are thread-safe)."""
    cfg = settings()
    key = (service, cfg.region, cfg.aws_endpoint)
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        found = _clients.get(key)
        if found is None:
            from botocore.config import Config

            kwargs: dict[str, Any] = {
                "region_name": cfg.region,
                "config": Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=5),
            }
            if cfg.aws_endpoint:
                kwargs["endpoint_url"] = cfg.aws_endpoint
                kwargs.update(LOCAL_CREDENTIALS)
            found = botocore_session().create_client(service, **kwargs)
            _clients[key] = found
    return found


def encrypt(plaintext: bytes, user_id: str) -> bytes:
    """Encrypt a small secret under the app's KMS key, bound to its owner."""
    answer = client("kms").encrypt(
        KeyId=settings().kms_key_id,
        Plaintext=plaintext,
        EncryptionContext={"user_id": user_id},
    )
    return answer["CiphertextBlob"]


def decrypt(ciphertext: bytes, user_id: str) -> bytes:
    """Decrypt a secret for this request only: callers must not keep the result."""
    answer = client("kms").decrypt(
        CiphertextBlob=ciphertext,
        KeyId=settings().kms_key_id,
        EncryptionContext={"user_id": user_id},
    )
    return answer["Plaintext"]


def generate_mac(message: bytes) -> bytes:
    """HMAC-SHA256 under the recovery-code key, which never leaves KMS."""
    answer = client("kms").generate_mac(
        KeyId=settings().hmac_key_id, Message=message, MacAlgorithm="HMAC_SHA_256"
    )
    return answer["Mac"]
