"""PynamoDB models: the shape of every item twostep stores.

The tables themselves are defined once, in infra/template.yaml (local mode deploys that
template into the emulator) and named in chalicelib/store/catalogue.py; tests/infra checks
that these models agree with both. A model binds itself to this stage's table on first use
(store/db.py), so nothing outside the store binds anything.

Times are epoch seconds (floats) except TTL attributes, which PynamoDB keeps as
timezone-aware datetimes; DynamoDB's TTL deletion is lazy, so expiry is always checked in
code too (`db.alive`). Key prefixes are in store/keys.py.
"""
from __future__ import annotations

from pynamodb.attributes import (
    BinaryAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.attributes import TTLAttribute as _TTLAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.store import db, keys

LEGACY_KIND = "totp"  # factor ids stored before kinds were named were authenticator apps'


class TTLAttribute(_TTLAttribute):
    """A TTL attribute that is optional: long-lived items (API keys) carry none."""

    def __init__(self, **kwargs):
        kwargs.setdefault("null", True)
        super().__init__(**kwargs)


class Item(Model):
    """A model that binds itself to its table (store/catalogue.py's name, `Meta.table`)
    the first time it is used in a request, on the container's one DynamoDB client."""

    class Meta:
        table = ""
        table_name: str | None = None
        region = "us-east-1"
        host: str | None = None

    @classmethod
    def _get_connection(cls):
        db.bind(cls)
        return db.share_client(super()._get_connection())


def _factor_id(stored: str) -> str:
    return stored if "#" in stored else keys.factor(LEGACY_KIND, stored)


def plain(value: object) -> dict:
    """A raw map attribute as a dict (PynamoDB hands back a MapAttribute, or the dict it
    was given)."""
    return value.as_dict() if hasattr(value, "as_dict") else dict(value or {})


class UserModel(Item):
    """One account, keyed by its normalised email so that signup's conditional put makes
    the address unique. `user_id` is immutable and random: every other table and the KMS
    encryption context use it."""

    class Meta(Item.Meta):
        table = "users"

    email = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    created_at = NumberAttribute()
    # Every credential records the epoch it was made under; raising it ends them all at once.
    session_epoch = NumberAttribute(default=0)
    api_key_id = UnicodeAttribute()
    api_key_ciphertext = BinaryAttribute(legacy_encoding=False)
    two_factor_enabled_at = NumberAttribute(null=True)
    # What the login needs to know about the factors, kept on the user item so that the
    # password step reads one item: the ids of the factors that make two-factor (every kind
    # of factor the person enrols: authenticator apps, security keys; their items' sort keys,
    # `<kind>#<id>`), which also guards "409 for the last one"; the verified phone's hint;
    # the one second-factor failure counter. Stored under its first name, when only
    # authenticator apps existed (and their bare ids, which `factor_ids_of` reads as such).
    factor_ids = UnicodeSetAttribute(null=True, attr_name="authenticator_ids")
    phone_hint = UnicodeAttribute(null=True)
    # The verified phone's identity: a login code texted to it is bound to it, so that
    # removing or replacing the phone kills every code sent to the old one.
    phone_id = UnicodeAttribute(null=True)
    second_factor_failures = NumberAttribute(null=True)
    second_factor_failed_at = NumberAttribute(null=True)
    # The owner's own counter for a password re-entered for a sensitive action, apart from
    # the per-email login counter that anyone can push.
    reentry_failures = NumberAttribute(null=True)
    reentry_failed_at = NumberAttribute(null=True)
    # Which KMS encryption context the API key's ciphertext was made with (aws.CONTEXTS).
    api_key_context = NumberAttribute(null=True)

    def factor_ids_of(self) -> dict[str, str]:
        """Each factor id (`<kind>#<id>`) -> the form it is stored in (to delete it by)."""
        return {_factor_id(stored): stored for stored in self.factor_ids or ()}


class UserIndex(GlobalSecondaryIndex["CredentialModel"]):
    class Meta:
        index_name = "by_user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    created_at = NumberAttribute(range_key=True)


class CredentialModel(Item):
    """A credential: a browser session, a Heroku-style authorization, or the API key
    (`kind`), in the table first made for sessions.

    The token handed out is `<id>.<secret>`; only sha256(secret) is stored."""

    class Meta(Item.Meta):
        table = "credentials"

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()  # browser | authorization | api_key
    user_id = UnicodeAttribute()
    email = UnicodeAttribute()
    token_hash = UnicodeAttribute()
    epoch = NumberAttribute(default=0)
    created_at = NumberAttribute()
    last_seen_at = NumberAttribute()
    expires_at = TTLAttribute()
    revoked_at = NumberAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)
    ip = UnicodeAttribute(null=True)
    description = UnicodeAttribute(null=True)
    # Bearer tokens only: how listings show the token (tokens.redacted), never the secret.
    redacted_token = UnicodeAttribute(null=True)
    by_user = UserIndex()


# --- the ephemeral table: one hash key, items of several shapes (store/keys.py's prefixes) ----

class CounterModel(Item):
    """A failure counter of its own (throttle.Counter): the failed passwords of an address,
    the wrong phone setup codes of an account."""

    class Meta(Item.Meta):
        table = "ephemeral"

    pk = UnicodeAttribute(hash_key=True)
    failures = NumberAttribute(null=True)
    last_failure_at = NumberAttribute(null=True)
    expires_at = TTLAttribute()


class CapModel(Item):
    """One send cap's state for one key (throttle.Cap): uses in a window, or the last use."""

    class Meta(Item.Meta):
        table = "ephemeral"

    pk = UnicodeAttribute(hash_key=True)
    count = NumberAttribute(null=True)
    last_at = NumberAttribute(null=True)
    expires_at = TTLAttribute()


class LoginAttemptModel(Item):
    """A login between its password and its second factor, behind the login token."""

    class Meta(Item.Meta):
        table = "ephemeral"

    pk = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    email = UnicodeAttribute()
    client_kind = UnicodeAttribute(attr_name="client")  # "browser" or "cli"
    token_hash = UnicodeAttribute()
    # The user's factor ids when the password was right, so the second step can read their
    # items in the same call as the user (a later removal fails the spend's condition).
    factor_ids = UnicodeSetAttribute(null=True, attr_name="authenticator_ids")
    created_at = NumberAttribute()
    used_at = NumberAttribute(null=True)
    # What each method's challenge left for its check (an SMS code's hash, a key's
    # challenge), by method; spent with the token.
    challenges = MapAttribute(default=dict)
    expires_at = TTLAttribute()

    def factor_ids_of(self) -> set[str]:
        return {_factor_id(stored) for stored in self.factor_ids or ()}

    def challenge(self, method: str) -> dict:
        value = plain(self.challenges).get(method)
        return dict(value) if isinstance(value, dict) else {}


class PasskeyChallengeModel(Item):
    """A passkey sign-in's challenge behind its passkey token: made before anyone is known,
    spent by the one attempt that answers it (refused or not)."""

    class Meta(Item.Meta):
        table = "ephemeral"

    pk = UnicodeAttribute(hash_key=True)
    token_hash = UnicodeAttribute()
    state = MapAttribute(default=dict)
    created_at = NumberAttribute()
    used_at = NumberAttribute(null=True)
    expires_at = TTLAttribute()


class EventModel(Item):
    """One line of an account's security log."""

    class Meta(Item.Meta):
        table = "events"

    user_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # "<epoch ms>#<sequence>#<random>": sorts oldest first
    type = UnicodeAttribute()
    at = NumberAttribute()
    ip = UnicodeAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)
    detail = MapAttribute(default=dict)
    expires_at = TTLAttribute()


class FactorModel(Item):
    """One second factor of an account, or one piece of its state, under `factor_id`
    (store/keys.py): `<kind>#<id>` for a confirmed factor of a kind that may have several
    (`totp#...`), `pending#<kind>` for the one enrolment of a kind waiting for its proof,
    `recovery` for the current recovery-code set, `phone` for the SMS phone. Attributes a
    kind of its own needs go in `properties`."""

    class Meta(Item.Meta):
        table = "factors"

    user_id = UnicodeAttribute(hash_key=True)
    factor_id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    pending_id = UnicodeAttribute(null=True)  # what the person must quote to confirm a pending item
    code_hash = UnicodeAttribute(null=True)  # a pending phone's setup code, hashed with pending_id
    secret_ciphertext = BinaryAttribute(null=True, legacy_encoding=False)
    secret_context = NumberAttribute(null=True)  # the ciphertext's KMS encryption context (aws.CONTEXTS)
    region = UnicodeAttribute(null=True)  # a phone's ISO 3166 country, for the SMS allow-list
    last_step = NumberAttribute(null=True)
    sign_count = NumberAttribute(null=True)  # a security key's signature counter, as last seen
    created_at = NumberAttribute()
    last_used_at = NumberAttribute(null=True)
    set_id = UnicodeAttribute(null=True)
    code_hashes = ListAttribute(of=UnicodeAttribute, null=True)
    remaining = NumberAttribute(null=True)
    properties = MapAttribute(null=True)
    expires_at = TTLAttribute()


class RecoveryCodeModel(Item):
    """One recovery code, keyed by its HMAC (computed in KMS): never the code itself."""

    class Meta(Item.Meta):
        table = "recovery_codes"

    code_hash = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    set_id = UnicodeAttribute()
    position = NumberAttribute()
    used_at = NumberAttribute(null=True)
    expires_at = TTLAttribute()


MODELS: tuple[type[Item], ...] = (UserModel, CredentialModel, CounterModel, CapModel, LoginAttemptModel,
                                  PasskeyChallengeModel, EventModel, FactorModel, RecoveryCodeModel)
