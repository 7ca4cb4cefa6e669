"""API key authentication (docs/security.md, API keys): a keys file in the
original's api_keys.json format with key_hash = base64(HMAC-SHA-256(hash
secret, key)) or the plain base64(SHA-256(key)) form, the header name taken
from auth.api_key.header_name, expiry from attributes.expires_at, and the
principal's roles from the entry's `roles`."""
import base64
import hashlib
import hmac
import json
import os
import secrets

import grpc
import pytest

from conftest import (E, admin, assert_error, md_client, result_of,
                      single_value, status_of, unique)

HASH_SECRET = "api-hash-secret-" + secrets.token_hex(16)
WRONG_SECRET = "not-the-server-secret-" + secrets.token_hex(8)
KEYS = {name: "ak_" + name + "_" + secrets.token_urlsafe(24)
        for name in ("writer", "reader", "expired", "admin", "attr_roles",
                     "other_secret", "unknown", "jwt_user")}
AUTH = E.CATEGORY_AUTH


def hmac_hash(key, secret=HASH_SECRET):
    return base64.b64encode(hmac.new(secret.encode(), key.encode(),
                                     hashlib.sha256).digest()).decode()


def sha_hash(key):
    return base64.b64encode(hashlib.sha256(key.encode()).digest()).decode()


def keys_file():
    return [
        {"id": "key-001", "name": "Writer", "key_hash":
         hmac_hash(KEYS["writer"]), "user_id": "svc-writer",
         "roles": ["user"], "attributes": {}},
        {"id": "key-002", "name": "Reader (plain SHA-256 form)",
         "key_hash": sha_hash(KEYS["reader"]), "user_id": "svc-reader",
         "roles": ["reader"]},
        {"id": "key-003", "name": "Expired", "key_hash":
         hmac_hash(KEYS["expired"]), "user_id": "svc-old",
         "roles": ["admin"],
         "attributes": {"expires_at": "2020-01-01T00:00:00Z"}},
        {"id": "key-004", "name": "Admin", "key_hash":
         sha_hash(KEYS["admin"]), "user_id": "svc-admin",
         "roles": ["admin"],
         "attributes": {"expires_at": "2099-12-31T23:59:59Z"}},
        {"id": "key-005", "name": "Roles only under attributes",
         "key_hash": hmac_hash(KEYS["attr_roles"]), "user_id": "svc-attr",
         "roles": [], "attributes": {"roles": ["admin"]}},
        {"id": "key-006", "name": "Hashed with another secret",
         "key_hash": hmac_hash(KEYS["other_secret"], WRONG_SECRET),
         "user_id": "svc-other", "roles": ["admin"]},
    ]


def config(d, methods='["api_key"]', extra=""):
    path = os.path.join(d, "api_keys.json")
    with open(path, "w") as f:
        json.dump(keys_file(), f)
    return f"""
[auth]
enabled = true
methods = {methods}

[auth.api_key]
keys_file = "{path}"
header_name = "X-Api-Key"
hash_secret = "{HASH_SECRET}"

[authz]
enabled = true
{extra}
"""


@pytest.fixture
def srv(make_server, tmpdir_path):
    return make_server(config_text=config(tmpdir_path))


def kc(srv, name, header="x-api-key"):
    return md_client(srv.get_channel(), [(header, KEYS[name])])


def test_hmac_form_key_reads_and_writes(srv):
    c = kc(srv, "writer")
    coll = unique("ak")
    result_of(c.set(coll, b"k", b"v1"))
    v = single_value(c.get(coll, b"k"))
    assert v is not None and v.data == b"v1"


def test_plain_sha256_form_key_has_entry_roles(srv):
    """The reader entry (plain SHA-256 hash) authenticates; its role is
    `reader`: reads pass, writes are refused with 3002."""
    coll = unique("akr")
    result_of(kc(srv, "writer").set(coll, b"k", b"v"))
    c = kc(srv, "reader")
    v = single_value(c.get(coll, b"k"))
    assert v is not None and v.data == b"v"
    assert_error(c.set(coll, b"k2", b"x"),
                 E.ERROR_AUTH_INSUFFICIENT_PERMISSIONS, category=AUTH)


def test_admin_key_with_future_expiry(srv):
    resp, stats = admin(kc(srv, "admin"), "STATS")
    assert stats is not None, f"admin key must run STATS: {resp}"


@pytest.mark.parametrize("name,words", [
    ("unknown", ["unknown"]),
    ("expired", ["expired"]),
    ("other_secret", ["unknown"]),
])
def test_bad_key_refused(srv, name, words):
    c = kc(srv, name)
    for fn in (lambda: c.get("ak", b"k"),
               lambda: c.batch([__import__("conftest").q_get("ak", b"k")])):
        code, details, _, _ = status_of(fn)
        assert code == grpc.StatusCode.UNAUTHENTICATED, (name, code, details)
        assert any(w in details.lower() for w in words), details
        assert KEYS[name] not in details
        assert HASH_SECRET not in details


def test_roles_under_attributes_are_ignored(srv):
    """Only the entry's top-level `roles` count; with none the principal
    has the default role (none configured) and is refused."""
    c = kc(srv, "attr_roles")
    assert_error(c.get(unique("attr"), b"k"),
                 E.ERROR_AUTH_INSUFFICIENT_PERMISSIONS, category=AUTH)
    resp, stats = admin(c, "STATS")
    assert stats is None
    assert_error(resp, E.ERROR_AUTH_INSUFFICIENT_PERMISSIONS, category=AUTH)


def test_other_header_name_is_not_a_credential(srv):
    """The key under a header other than the configured one is ignored:
    the call carries no credentials."""
    c = kc(srv, "writer", header="x-api-token")
    code, details, _, _ = status_of(c.get, "ak", b"k")
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert KEYS["writer"] not in details


def test_keys_and_secret_never_in_server_log(srv):
    for name in KEYS:
        status_of(kc(srv, name).get, "ak", b"k")
    srv.stop()
    log = srv.log()
    for k in KEYS.values():
        assert k not in log
    assert HASH_SECRET not in log


def test_bad_bearer_token_is_not_downgraded_to_api_key(make_server,
                                                       tmpdir_path):
    """With jwt and api_key both on, a present but invalid bearer token
    decides (refused) even when a valid API key is sent too."""
    cfg = config(tmpdir_path, methods='["jwt", "api_key"]') + """
[auth.jwt]
algorithm = "HS256"
secret = "jwt-secret-for-the-order-test-0123456789abcdef"
"""
    s = make_server(config_text=cfg)
    good = md_client(s.get_channel(), [("x-api-key", KEYS["writer"])])
    result_of(good.get(unique("ord"), b"k"))
    both = md_client(s.get_channel(),
                     [("authorization", "Bearer not.a.token"),
                      ("x-api-key", KEYS["writer"])])
    code, details, _, _ = status_of(both.get, "ord", b"k")
    assert code == grpc.StatusCode.UNAUTHENTICATED, (code, details)
