"""Audit log ([authz] audit_enabled, audit_log_path; docs/security.md,
Audit log): JSON Lines, one record per authentication result, denial and
admin command (with its outcome, recorded once it ran), each with id, RFC 3339 timestamp, event_type, result,
principal, auth method, action, resource, peer address and request id;
never a token, key, secret or stored value."""
import datetime
import json
import os
import re
import stat
import time
import uuid

import grpc

from conftest import (admin, blob, md_client, q_set, read_jsonl,
                      result_of, bearer_client, status_of, unique,
                      wait_until)
from test_security_apikey import HASH_SECRET, hmac_hash
from test_security_jwt import hs_token

SECRET = "audit-test-secret-0123456789abcdefghijklmnopq"
API_KEY = "ak_audit_" + uuid.uuid4().hex
VALUE = b"STORED-VALUE-" + uuid.uuid4().hex.encode()
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def tok(sub, roles, **kw):
    c = {"sub": sub, "roles": roles, "exp": int(time.time()) + 600}
    c.update(kw)
    return hs_token("HS256", SECRET, c)


failure_record = [None]


def test_audit_records(make_server, tmpdir_path):
    keys = os.path.join(tmpdir_path, "keys.json")
    with open(keys, "w") as f:
        json.dump([{"id": "k1", "name": "svc", "key_hash": hmac_hash(API_KEY),
                    "user_id": "svc-key", "roles": ["user"]}], f)
    log = os.path.join(tmpdir_path, "audit", "audit.jsonl")
    os.makedirs(os.path.dirname(log))
    s = make_server(config_text=f"""
[auth]
enabled = true
methods = ["jwt", "api_key"]

[auth.jwt]
algorithm = "HS256"
secret = "{SECRET}"

[auth.api_key]
keys_file = "{keys}"
hash_secret = "{HASH_SECRET}"

[authz]
enabled = true
audit_enabled = true
audit_log_path = "{log}"
audit_fsync = "always"
""")
    ch = s.get_channel()
    tokens = {"writer": tok("alice", ["user"]),
              "reader": tok("bob", ["reader"]),
              "admin": tok("root", ["admin"]),
              "expired": tok("eve", ["admin"],
                             exp=int(time.time()) - 7200)}
    coll = unique("aud")
    # 1. authentication success + a write of a recognisable value
    w = bearer_client(ch, tokens["writer"])
    result_of(w.query(q_set(coll, b"k", blob(VALUE))))
    # 2. authentication failure (expired token)
    code, _, _, _ = status_of(bearer_client(ch, tokens["expired"]).get,
                              coll, b"k")
    assert code == grpc.StatusCode.UNAUTHENTICATED
    # 3. authorization denial with a known request id
    rid = str(uuid.uuid4())
    r = bearer_client(ch, tokens["reader"])
    resp = r.query(q_set(coll, b"k2", blob(VALUE)), request_id=rid)
    assert resp.WhichOneof("response") == "error"
    # 4. admin command
    _, stats = admin(bearer_client(ch, tokens["admin"]), "STATS")
    assert stats is not None
    # 4b. an admin command that fails is recorded as a failure, with why
    resp, out = admin(bearer_client(ch, tokens["admin"]), "RESTORE nosuch")
    assert out is None and resp.WhichOneof("response") == "error", resp
    # 5. API key authentication
    result_of(md_client(ch, [("x-api-key", API_KEY)]).get(coll, b"k"))

    def records():
        return read_jsonl(log)

    assert wait_until(lambda: any(x.get("event_type") == "admin_command"
                                  for x in records()), timeout=5), \
        records()
    s.stop()
    recs = records()
    if os.environ.get('SIT_DUMP'):
        print(json.dumps(recs, indent=1))
    text = open(log, "rb").read()
    assert stat.S_IMODE(os.stat(log).st_mode) & 0o077 == 0, \
        "audit log must not be readable by others"

    ids = [x.get("id") for x in recs]
    assert all(ids) and len(set(ids)) == len(ids), "unique record ids"
    for x in recs:
        for f in ("id", "timestamp", "event_type", "result"):
            assert x.get(f), f"{f} missing in {x}"
        assert RFC3339.match(x["timestamp"]), x["timestamp"]
        ts = datetime.datetime.fromisoformat(
            x["timestamp"].replace("Z", "+00:00"))
        age = datetime.datetime.now(datetime.timezone.utc) - ts
        assert abs(age.total_seconds()) < 120, x["timestamp"]

    def find(**want):
        hits = [x for x in recs
                if all(x.get(k) == v for k, v in want.items())]
        assert hits, f"no record with {want} in {recs}"
        return hits[0]

    ok = find(event_type="authentication", result="success",
              principal="alice")
    assert ok.get("auth_method") == "jwt"
    assert ok.get("peer_address", "").startswith("ipv4:127.0.0.1:"), ok

    bad = find(event_type="authentication", result="failure")
    assert "expired" in (bad.get("reason") or "").lower(), bad
    assert bad.get("peer_address", "").startswith("ipv4:127.0.0.1:"), bad
    failure_record[0] = bad

    den = find(event_type="authorization", result="denied", principal="bob")
    assert den.get("auth_method") == "jwt", den
    assert den.get("action") == "write", den
    assert den.get("resource") == f"collection:{coll}", den
    assert den.get("request_id") == rid, den
    assert den.get("peer_address", "").startswith("ipv4:127.0.0.1:"), den

    adm = find(event_type="admin_command", principal="root")
    assert adm.get("result") == "success", adm
    assert adm.get("resource") == "server", adm
    assert "STATS" in (adm.get("action") or ""), adm
    assert adm.get("auth_method") == "jwt", adm
    # recorded once it ran, with its real result (it used to be "success"
    # at authorization time, whatever the command then did)
    restores = [x for x in recs if x.get("event_type") == "admin_command"
                and "RESTORE" in (x.get("action") or "").upper()]
    assert len(restores) == 1, restores
    assert restores[0].get("result") == "failure", restores
    assert "nosuch" in (restores[0].get("reason") or ""), restores

    key = find(event_type="authentication", result="success",
               principal="svc-key")
    assert key.get("auth_method") == "api_key", key

    for secret in [*tokens.values(), SECRET, API_KEY, HASH_SECRET,
                   hmac_hash(API_KEY)]:
        assert secret.encode() not in text, "a credential is in the audit log"
        for part in secret.split("."):
            if len(part) > 16:
                assert part.encode() not in text
    assert VALUE not in text, "a stored value is in the audit log"


def test_failed_authentication_record_names_the_method():
    """A failed authentication record says which method was tried (the
    token was a JWT bearer token): auth_method "jwt"."""
    bad = failure_record[0]
    assert bad is not None, "test_audit_records did not run"
    assert bad.get("auth_method") == "jwt", bad
