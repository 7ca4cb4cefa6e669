"""Attempts to get around the gate: the admin tunnel inside batches,
interactive streams and server streams, write-kind queries other than SET,
credential precedence between methods, hostile JWT shapes and principal
names that try to forge audit records."""
import json
import os
import time

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import (E, Client, Server, admin, assert_error, bearer_client,
                      blob, md_client, q_get, q_set, query_pb2, read_jsonl,
                      result_of, single_value, status_of, types_pb2, unique,
                      wait_until)
from test_security_jwt import b64u, hs_token
from test_security_mtls import MtlsPki

SECRET = "bypass-test-secret-0123456789abcdefghijklmnopqr"
DENIED = E.ERROR_AUTH_INSUFFICIENT_PERMISSIONS


def tok(sub, roles=None, **kw):
    c = {"sub": sub, "exp": int(time.time()) + 600}
    if roles is not None:
        c["roles"] = roles
    c.update(kw)
    return hs_token("HS256", SECRET, c)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("bypass"))
    s = Server(d, f"""
[auth]
enabled = true
methods = ["jwt"]
reject_unauthenticated = false

[auth.jwt]
algorithm = "HS256"
secret = "{SECRET}"

[authz]
enabled = true
audit_enabled = true
audit_log_path = "{os.path.join(d, 'audit.jsonl')}"
audit_fsync = "always"
""")
    s.audit_path = os.path.join(d, "audit.jsonl")
    s.start()
    yield s
    s.stop()


ADMIN_GET = q_get("admin", b"__admin__:STATS")


def test_admin_tunnel_in_batch_denied(srv):
    c = bearer_client(srv.get_channel(), tok("u1", ["user"]))
    coll = unique("bb")
    resp = c.batch([q_set(coll, b"k", blob(b"v")), ADMIN_GET])
    assert_error(resp, DENIED, category=E.CATEGORY_AUTH)
    assert single_value(c.get(coll, b"k")) is None, "batch applied a write"


def test_admin_tunnel_in_interactive_denied(srv):
    c = bearer_client(srv.get_channel(), tok("u2", ["user"]))
    (r,) = c.interactive([ADMIN_GET], timeout=10)
    assert_error(r, DENIED, category=E.CATEGORY_AUTH)


def test_admin_tunnel_in_server_stream_denied(srv):
    c = bearer_client(srv.get_channel(), tok("u3", ["user"]))
    code, details, _, chunks = status_of(c.stream, ADMIN_GET, timeout=10)
    assert code != grpc.StatusCode.OK or not any(
        ch.WhichOneof("chunk") in ("value", "batch") for ch in chunks), \
        f"STATS leaked through ExecuteStream: {chunks}"
    if code != grpc.StatusCode.OK:
        assert code in (grpc.StatusCode.PERMISSION_DENIED,
                        grpc.StatusCode.FAILED_PRECONDITION,
                        grpc.StatusCode.INVALID_ARGUMENT), (code, details)


@pytest.mark.parametrize("cmd", [b"__admin__:stats", b"__admin__:STATS   ",
                                 b"__admin__:METRICS", b"__admin__:NODES",
                                 b"__admin__:CLUSTER_INFO",
                                 b"__admin__:COMPACT", b"__admin__:NOPE"])
def test_every_admin_command_needs_admin(srv, cmd):
    c = bearer_client(srv.get_channel(), tok("u4", ["user"]))
    resp = c.query(q_get("admin", cmd))
    assert_error(resp, DENIED, category=E.CATEGORY_AUTH)


def test_anonymous_gets_nothing_without_default_role(srv):
    c = srv.client()
    assert_error(c.get(unique("an"), b"k"), DENIED, category=E.CATEGORY_AUTH)
    resp, stats = admin(c, "STATS")
    assert stats is None


def test_update_is_a_write(srv):
    """UPDATE is a write: a reader is refused before anything runs."""
    c = bearer_client(srv.get_channel(), tok("r1", ["reader"]))
    coll = unique("up")
    u = query_pb2.Query(update=query_pb2.UpdateQuery(
        collection=coll,
        predicate=types_pb2.Predicate(eq=types_pb2.EqPredicate(
            column=types_pb2.ColumnRef(name="c"), value=blob(b"x"))),
        updates=[types_pb2.Update(set=types_pb2.SetUpdate(
            column=types_pb2.ColumnRef(name="c"), value=blob(b"y")))]))
    assert_error(c.query(u), DENIED, category=E.CATEGORY_AUTH)


def test_forged_audit_record_via_subject(srv):
    """A subject full of JSON syntax and newlines stays one escaped string
    in one record."""
    evil = 'x"}\n{"event_type":"forged","result":"success","principal":"' \
           'root\u2028\\'
    c = bearer_client(srv.get_channel(), tok(evil, ["reader"]))
    assert_error(c.set(unique("ev"), b"k", b"v"), DENIED,
                 category=E.CATEGORY_AUTH)

    def recs():
        return read_jsonl(srv.audit_path)
    assert wait_until(lambda: any(r.get("principal") == evil
                                  for r in recs()), timeout=5)
    assert not any(r.get("event_type") == "forged" for r in recs())


def raw_jws(header, payload_bytes, secret=SECRET):
    import hashlib
    import hmac
    h = b64u(json.dumps(header))
    p = b64u(payload_bytes)
    sig = hmac.new(secret.encode(), f"{h}.{p}".encode(),
                   hashlib.sha256).digest()
    return f"{h}.{p}.{b64u(sig)}"


EXP = int(time.time()) + 600
HOSTILE = {
    "crit_header": raw_jws({"alg": "HS256", "crit": ["exp"], "exp": 1},
                           json.dumps({"sub": "a", "exp": EXP}).encode()),
    "duplicate_sub": raw_jws(
        {"alg": "HS256"},
        ('{"sub":"reader-guy","exp":%d,"roles":["reader"],'
         '"roles":["admin"]}' % EXP).encode()),
    "duplicate_alg": "{}.{}.{}".format(
        b64u('{"alg":"none","alg":"HS256"}'),
        b64u(json.dumps({"sub": "a", "exp": EXP})), ""),
    "padded_base64": tok("a") .replace(".", "=.", 1),
    "oversized": raw_jws({"alg": "HS256"}, json.dumps(
        {"sub": "a", "exp": EXP, "pad": "x" * 9000}).encode()),
    "payload_not_object": raw_jws({"alg": "HS256"}, b'["sub","a"]'),
    "iat_in_future": tok("a", iat=int(time.time()) + 3600),
    "exp_string": raw_jws({"alg": "HS256"}, json.dumps(
        {"sub": "a", "exp": str(EXP)}).encode()),
    "four_parts": tok("a") + ".e30",
    "empty_sub": tok(""),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_jwt_refused(srv, case):
    t = HOSTILE[case]
    # Own channel: gRPC may drop a connection that carried oversized
    # metadata, which must not affect other cases.
    ch = grpc.insecure_channel(srv.addr)
    c = bearer_client(ch, t)
    code, details, _, _ = status_of(c.get, "x", b"k")
    if case == "oversized":
        # Over 8 KiB the token may already exceed gRPC's metadata limit,
        # which refuses the call before the server sees it.
        assert code in (grpc.StatusCode.UNAUTHENTICATED,
                        grpc.StatusCode.RESOURCE_EXHAUSTED), (code, details)
    else:
        assert code == grpc.StatusCode.UNAUTHENTICATED, (case, code,
                                                         details)
    assert t not in details
    assert srv.proc.poll() is None
    ch.close()


def test_bearer_scheme_any_case(srv):
    c = md_client(srv.get_channel(),
                  [("authorization", "bearer " + tok("a", ["reader"]))])
    result_of(c.get(unique("bc"), b"k"))


def test_weak_rsa_key_refused_at_start(make_server, tmpdir_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    path = os.path.join(tmpdir_path, "weak.pub")
    with open(path, "wb") as f:
        f.write(key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo))
    s = make_server(config_text=f"""
[auth]
enabled = true
methods = ["jwt"]
[auth.jwt]
algorithm = "RS256"
public_key_path = "{path}"
""", start=False)
    s.start(wait=False)
    assert s.proc.wait(timeout=20) != 0
    assert "2048" in s.log(), s.log()[-2000:]


def test_api_key_present_decides_over_client_cert(make_server, tmpdir_path):
    """mTLS + API keys: a client with a good certificate that also sends
    an unknown API key is refused (the first credential present decides);
    without the key the certificate's CN is the principal."""
    pki = MtlsPki(tmpdir_path)
    keys = os.path.join(tmpdir_path, "keys.json")
    with open(keys, "w") as f:
        json.dump([], f)
    cfg = pki.config().replace('methods = ["mtls"]',
                               'methods = ["mtls", "api_key"]')
    cfg += f'\n[auth.api_key]\nkeys_file = "{keys}"\n'
    s = make_server(config_text=cfg)
    ch = pki.channel(s, "good")
    result_of(Client(ch).get(unique("mk"), b"k"))
    c = md_client(ch, [("x-api-key", "ak_unknown_123456789")])
    code, details, _, _ = status_of(c.get, "mk", b"k")
    assert code == grpc.StatusCode.UNAUTHENTICATED, (code, details)
    assert "ak_unknown_123456789" not in details
    ch.close()
