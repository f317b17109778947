"""Issue 15's rules that a single request can show, in-process on a frozen clock: codes die
with their factor, email keys through UTS #46 (and accounts stored under the older key),
SMS pumping caps, KMS encryption contexts with a purpose (and items written before them),
the authorization lifetime setting, the API key's last use, and equal work for an unknown
email and a wrong password. The bursts of parallel requests are in tests/e2e/test_bursts.py."""
from __future__ import annotations

import os

import pytest

from tests import rfc6238, sms
from tests.api.conftest import STRONG_PASSWORD, enable_two_factor


def emulator() -> str:
    return os.environ["TWOSTEP_AWS_ENDPOINT"]


def password_step(api, account, client="browser"):
    answer = api.post("/api/login", {"email": account.email, "password": account.password, "client": client})
    assert answer.status == 200, answer.body
    return answer.body


def verify(api, token, **fields):
    return api.post("/api/login/verify", {"login_token": token, **fields})


def dynamodb():
    from local.stack import client

    return client("dynamodb", emulator())


def kms():
    from local.stack import client

    return client("kms", emulator())


def with_phone(api, account, phone):
    assert api.post("/api/account/phone", {"phone": phone, "password": account.password},
                    cookie=account.cookie).status == 202
    code = sms.last_code(emulator(), phone)
    assert api.post("/api/account/phone/verify", {"code": code}, cookie=account.cookie).status == 200


# --- codes die with their factor ----------------------------------------------------------

def test_an_sms_code_dies_when_its_phone_is_removed(api, clock):
    account = api.signup()
    enable_two_factor(api, account)
    with_phone(api, account, "+447400555001")
    token = password_step(api, account)["login_token"]
    clock.shift(30)
    assert api.post("/api/login/sms", {"login_token": token}).status == 202
    code = sms.last_code(emulator(), "+447400555001")
    assert api.delete("/api/account/phone", {"password": account.password}, cookie=account.cookie).status == 204
    answer = verify(api, token, sms_code=code)
    assert (answer.status, answer.error_code) == (401, "invalid_code")


def test_an_sms_code_dies_when_its_phone_is_replaced(api, clock):
    account = api.signup()
    enable_two_factor(api, account)
    with_phone(api, account, "+447400555002")
    token = password_step(api, account)["login_token"]
    clock.shift(30)
    assert api.post("/api/login/sms", {"login_token": token}).status == 202
    code = sms.last_code(emulator(), "+447400555002")
    clock.shift(30)
    with_phone(api, account, "+447400555003")  # a new number, verified: the old one is gone
    answer = verify(api, token, sms_code=code)
    assert (answer.status, answer.error_code) == (401, "invalid_code")


def test_a_code_of_an_authenticator_removed_after_the_password_step_fails(api, clock):
    account = api.signup()
    old = enable_two_factor(api, account, name="Old phone")
    clock.shift(30)
    enable_two_factor(api, account, name="New phone")
    token = password_step(api, account)["login_token"]  # its snapshot names both authenticators
    listed = api.get("/api/account/two-factor/authenticators", cookie=account.cookie).body["authenticators"]
    old_id = next(a["id"] for a in listed if a["name"] == "Old phone")
    assert api.delete(f"/api/account/two-factor/authenticators/{old_id}", {"password": account.password},
                      cookie=account.cookie).status == 204
    clock.shift(30)
    answer = verify(api, token, code=rfc6238.totp(old.secret))
    assert (answer.status, answer.error_code) == (401, "invalid_code")


# --- email keys -----------------------------------------------------------------------------

def test_one_address_in_unicode_and_in_its_ascii_form(api):
    signed_up = api.post("/api/signup", {"email": "Ada@Bücher.de", "password": STRONG_PASSWORD})
    assert signed_up.status == 201
    assert signed_up.body["user"]["email"] == "ada@xn--bcher-kva.de"
    for typed in ("ada@xn--bcher-kva.de", "ADA@BÜCHER.DE", "ada@bücher.de"):
        answer = api.post("/api/login", {"email": typed, "password": STRONG_PASSWORD})
        assert answer.status == 200, (typed, answer.body)
    taken = api.post("/api/signup", {"email": "ada@XN--BCHER-KVA.DE", "password": STRONG_PASSWORD})
    assert taken.status == 409


def test_an_account_stored_under_the_older_key_still_logs_in_and_keeps_its_address(api):
    """Accounts made before domains went through UTS #46 are stored under the NFKC and
    lower-cased address (`ada@straße.de`); every lookup also tries that key, and signing
    up again under either form is refused."""
    first = api.post("/api/signup", {"email": "old@straße.de", "password": STRONG_PASSWORD})
    assert first.status == 201
    users = next(n for n in dynamodb().list_tables()["TableNames"] if "-UsersTable-" in n)
    item = dynamodb().get_item(TableName=users, Key={"email": {"S": "old@xn--strae-oqa.de"}})["Item"]
    dynamodb().delete_item(TableName=users, Key={"email": {"S": "old@xn--strae-oqa.de"}})
    item["email"] = {"S": "old@straße.de"}  # as the earlier normalisation stored it
    dynamodb().put_item(TableName=users, Item=item)
    for typed in ("old@straße.de", "OLD@xn--strae-oqa.de"):
        answer = api.post("/api/login", {"email": typed, "password": STRONG_PASSWORD})
        assert answer.status == 200, (typed, answer.body)
        assert api.get("/api/account", cookie=answer.cookie).body["user"]["email"] == "old@straße.de"
    again = api.post("/api/signup", {"email": "Old@xn--strae-oqa.de", "password": STRONG_PASSWORD})
    assert (again.status, again.error_code) == (409, "conflict")
    # straße is not strasse: a different address
    assert api.post("/api/signup", {"email": "old@strasse.de", "password": STRONG_PASSWORD}).status == 201


def test_a_colon_in_an_address_is_refused(api):
    answer = api.post("/api/signup", {"email": "ada:x@example.com", "password": STRONG_PASSWORD})
    assert (answer.status, answer.error_code) == (400, "invalid_request")
    assert "colon" in answer.body["error"]["message"]


# --- SMS pumping --------------------------------------------------------------------------

def test_at_most_ten_texts_an_hour_from_one_network(api, clock):
    """Setup and login texts together, counted on the client's IPv6 /64."""
    api.ip = "2001:db8:5:5::1"
    people = []
    for n in range(11):
        account = api.signup()
        enable_two_factor(api, account)
        people.append(account)
        api.ip = f"2001:db8:5:5::{n + 2:x}"  # another address of the same /64
    answers = [api.post("/api/account/phone", {"phone": f"+4474005552{n:02d}", "password": a.password},
                        cookie=a.cookie) for n, a in enumerate(people)]
    assert [a.status for a in answers] == [202] * 10 + [429]
    assert sms.messages(emulator(), "+447400555210") == []
    api.ip = "2001:db8:5:6::1"  # the next /64 has its own allowance
    assert api.post("/api/account/phone", {"phone": "+447400555210", "password": people[10].password},
                    cookie=people[10].cookie).status == 202


def test_a_country_allow_list_refuses_texts_elsewhere_at_setup_and_at_login(api, clock, monkeypatch):
    account = api.signup()
    enable_two_factor(api, account)
    with_phone(api, account, "+14155550123")  # allowed while the list is empty
    monkeypatch.setenv("TWOSTEP_SMS_COUNTRIES", "GB,DE")
    refused = api.post("/api/account/phone", {"phone": "+14155550124", "password": account.password},
                       cookie=account.cookie)
    assert (refused.status, refused.error_code) == (400, "phone_not_allowed")
    assert "country" in refused.body["error"]["message"]
    token = password_step(api, account)["login_token"]
    clock.shift(30)
    before = len(sms.messages(emulator(), "+14155550123"))
    at_login = api.post("/api/login/sms", {"login_token": token})
    assert (at_login.status, at_login.error_code) == (400, "phone_not_allowed")
    assert len(sms.messages(emulator(), "+14155550123")) == before


# --- KMS encryption context with a purpose --------------------------------------------------

def _user_item(email: str) -> dict:
    users = next(n for n in dynamodb().list_tables()["TableNames"] if "-UsersTable-" in n)
    return dynamodb().get_item(TableName=users, Key={"email": {"S": email}}, ConsistentRead=True)["Item"]


def _factor_items(user_id: str) -> dict[str, dict]:
    factors = next(n for n in dynamodb().list_tables()["TableNames"] if "-FactorsTable-" in n)
    items = dynamodb().query(TableName=factors, KeyConditionExpression="user_id = :u",
                             ExpressionAttributeValues={":u": {"S": user_id}}, ConsistentRead=True)["Items"]
    return {i["factor_id"]["S"]: i for i in items}


def _to_user_only_context(table_kind: str, key: dict, field: str, context_field: str, user_id: str,
                          purpose: str) -> None:
    """Rewrite one ciphertext as items were written before purposes existed: context
    {user_id} only, no context version beside it."""
    table = next(n for n in dynamodb().list_tables()["TableNames"] if f"-{table_kind}-" in n)
    item = dynamodb().get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    plaintext = kms().decrypt(CiphertextBlob=item[field]["B"],
                              EncryptionContext={"user_id": user_id, "purpose": purpose})["Plaintext"]
    key_id = os.environ["TWOSTEP_KMS_KEY_ID"]
    old = kms().encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext={"user_id": user_id})["CiphertextBlob"]
    dynamodb().update_item(TableName=table, Key=key, UpdateExpression=f"SET {field} = :c REMOVE {context_field}",
                           ExpressionAttributeValues={":c": {"B": old}})


def test_ciphertexts_are_bound_to_their_purpose(api):
    account = api.signup()
    item = _user_item(account.email)
    assert item["api_key_context"]["N"] == "2"
    ciphertext = item["api_key_ciphertext"]["B"]
    kms().decrypt(CiphertextBlob=ciphertext, EncryptionContext={"user_id": account.user_id, "purpose": "api_key"})
    for wrong in ({"user_id": account.user_id}, {"user_id": account.user_id, "purpose": "totp_secret"},
                  {"user_id": "someone-else", "purpose": "api_key"}):
        with pytest.raises(Exception) as refused:
            kms().decrypt(CiphertextBlob=ciphertext, EncryptionContext=wrong)
        assert "InvalidCiphertext" in str(refused.value)


def test_items_written_with_the_older_context_keep_working_and_are_rewritten_at_their_next_use(api, clock):
    account = api.signup()
    two_factor = enable_two_factor(api, account)
    with_phone(api, account, "+447400555301")
    uid = account.user_id
    factors = _factor_items(uid)
    totp_id = next(k for k in factors if k.startswith("totp#"))
    _to_user_only_context("UsersTable", {"email": {"S": account.email}}, "api_key_ciphertext", "api_key_context",
                          uid, "api_key")
    for factor_id, purpose in ((totp_id, "totp_secret"), ("recovery", "recovery_codes"), ("phone", "phone")):
        _to_user_only_context("FactorsTable", {"user_id": {"S": uid}, "factor_id": {"S": factor_id}},
                              "secret_ciphertext", "secret_context", uid, purpose)
    assert "api_key_context" not in _user_item(account.email)

    clock.shift(30)
    cli = password_step(api, account, client="cli")
    logged_in = verify(api, cli["login_token"], code=rfc6238.totp(two_factor.secret))
    assert logged_in.status == 200 and logged_in.body["api_key"] == two_factor.api_key
    viewed = api.post("/api/account/recovery-codes", {"password": account.password}, cookie=account.cookie)
    assert [c["code"] for c in viewed.body["codes"]] == two_factor.recovery_codes
    token = password_step(api, account)["login_token"]
    clock.shift(30)
    assert api.post("/api/login/sms", {"login_token": token}).status == 202

    assert _user_item(account.email)["api_key_context"]["N"] == "2"
    factors = _factor_items(uid)
    for factor_id, purpose in ((totp_id, "totp_secret"), ("recovery", "recovery_codes"), ("phone", "phone")):
        assert factors[factor_id]["secret_context"]["N"] == "2", factor_id
        kms().decrypt(CiphertextBlob=factors[factor_id]["secret_ciphertext"]["B"],
                      EncryptionContext={"user_id": uid, "purpose": purpose})
    assert factors["phone"]["region"]["S"] == "GB"  # a phone from before countries were kept gains one


# --- smaller settings ---------------------------------------------------------------------

def test_the_authorization_lifetime_setting_caps_what_herokus_cli_asks_for(api, monkeypatch, clock):
    import base64

    monkeypatch.setenv("TWOSTEP_AUTHORIZATION_SECONDS", "3600")
    account = api.signup()
    basic = base64.b64encode(f"{account.email}:{account.password}".encode()).decode()
    made = api.post("/oauth/authorizations", {"expires_in": 30 * 24 * 3600}, headers={"authorization": f"Basic {basic}"})
    assert made.status == 201
    assert made.body["access_token"]["expires_in"] == 3600
    shorter = api.post("/oauth/authorizations", {"expires_in": 60}, headers={"authorization": f"Basic {basic}"})
    assert shorter.body["access_token"]["expires_in"] == 60


def test_the_api_keys_last_use_is_kept_at_most_once_per_five_minutes(api, clock):
    account = api.signup()
    key = api.api_key(account)
    sessions = next(n for n in dynamodb().list_tables()["TableNames"] if "-SessionsTable-" in n)

    def last_seen() -> float:
        item = dynamodb().get_item(TableName=sessions, Key={"id": {"S": key.split(".")[0]}}, ConsistentRead=True)
        return float(item["Item"]["last_seen_at"]["N"])

    made = last_seen()
    clock.shift(299)
    assert api.get("/api/account", bearer=key).status == 200
    assert last_seen() == made
    clock.shift(1)
    for _ in range(3):
        assert api.get("/api/account", bearer=key).status == 200
    assert last_seen() == made + 300


# --- equal work for an unknown email and a wrong password -------------------------------------

def test_an_unknown_email_makes_the_same_calls_as_a_wrong_password(api, clock):
    import botocore.client

    from tests.aws_calls import RESOURCE_ENV

    calls: list[tuple[str, str]] = []
    original = botocore.client.BaseClient._make_api_call
    tables = {os.environ[env]: logical for env, logical in RESOURCE_ENV.items() if env in os.environ}

    def recording(self, operation, params):
        names = [params.get("TableName")] + [next(iter(i.values())).get("TableName")
                                             for i in params.get("TransactItems", [])]
        calls.append((operation, ",".join(tables.get(n, "?") for n in names if n)))
        return original(self, operation, params)

    account = api.signup()
    shapes = {}
    for label, email in (("known", account.email), ("unknown", "nobody-here@example.com")):
        calls.clear()
        botocore.client.BaseClient._make_api_call = recording
        try:
            answer = api.post("/api/login", {"email": email, "password": "not the password"})
        finally:
            botocore.client.BaseClient._make_api_call = original
        assert (answer.status, answer.error_code) == (401, "invalid_credentials")
        shapes[label] = list(calls)
    assert shapes["known"] == shapes["unknown"]
    assert [op for op, _ in shapes["known"]] == ["UpdateItem", "GetItem", "PutItem"]
    assert shapes["known"][2] == ("PutItem", "EventsTable")  # login_failed, or its decoy
