"""Secrets stay secret outside the RPC answers too: the effective
configuration (`validate-config --show`) redacts the JWT secret and the
API-key hash secret, whether they come from the file or the environment,
and the server log at trace level holds no token, key or secret after
failed and successful authentications."""
import json
import os
import secrets
import time

import grpc

from conftest import (bearer_client, http_get, md_client, result_of,
                      run_cli, status_of, unique)
from test_security_apikey import hmac_hash
from test_security_jwt import hs_token

JWT_SECRET = "jwt-" + secrets.token_hex(24)
HASH_SECRET = "hash-" + secrets.token_hex(24)
API_KEY = "ak_" + secrets.token_urlsafe(24)


def config(d):
    keys = os.path.join(d, "keys.json")
    with open(keys, "w") as f:
        json.dump([{"id": "k", "name": "n", "user_id": "svc",
                    "key_hash": hmac_hash(API_KEY, HASH_SECRET),
                    "roles": ["user"]}], f)
    return f"""
[logging]
level = "trace"

[auth]
enabled = true
methods = ["jwt", "api_key"]

[auth.jwt]
algorithm = "HS256"
secret = "{JWT_SECRET}"

[auth.api_key]
keys_file = "{keys}"
hash_secret = "{HASH_SECRET}"
"""


def test_show_redacts_secrets_from_file(tmpdir_path):
    path = os.path.join(tmpdir_path, "c.toml")
    with open(path, "w") as f:
        f.write(config(tmpdir_path))
    r = run_cli(["--config", path, "validate-config", "--show"])
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    assert JWT_SECRET not in out and HASH_SECRET not in out
    assert out.count("<redacted>") >= 2


def test_show_redacts_secrets_from_environment(tmpdir_path):
    path = os.path.join(tmpdir_path, "c.toml")
    with open(path, "w") as f:
        f.write(config(tmpdir_path))
    env = {"AMATERS_AUTH__JWT__SECRET": JWT_SECRET + "-env",
           "AMATERS_AUTH__API_KEY__HASH_SECRET": HASH_SECRET + "-env"}
    r = run_cli(["--config", path, "validate-config", "--show"], env=env)
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    assert JWT_SECRET not in out and HASH_SECRET not in out


def test_log_and_metrics_hold_no_credentials(make_server, tmpdir_path):
    s = make_server(config_text=config(tmpdir_path))
    ch = s.get_channel()
    now = int(time.time())
    good = hs_token("HS256", JWT_SECRET, {"sub": "alice", "exp": now + 600})
    expired = hs_token("HS256", JWT_SECRET, {"sub": "eve", "exp": now - 9999})
    forged = hs_token("HS256", "guess", {"sub": "mallory", "exp": now + 600})
    coll = unique("sec")
    result_of(bearer_client(ch, good).get(coll, b"k"))
    result_of(md_client(ch, [("x-api-key", API_KEY)]).get(coll, b"k"))
    for t in (expired, forged):
        code, _, _, _ = status_of(bearer_client(ch, t).get, coll, b"k")
        assert code == grpc.StatusCode.UNAUTHENTICATED
    code, _, _, _ = status_of(
        md_client(ch, [("x-api-key", API_KEY + "x")]).get, coll, b"k")
    assert code == grpc.StatusCode.UNAUTHENTICATED
    st, metrics, _ = http_get(s.http_port, "/metrics")
    assert st == 200
    s.stop()
    blobs = {"log": s.log().encode(), "metrics": metrics}
    for where, text in blobs.items():
        for secret in (JWT_SECRET, HASH_SECRET, API_KEY, good, expired,
                       forged):
            assert secret.encode() not in text, f"credential in {where}"
            sig = secret.split(".")[-1]
            assert sig.encode() not in text, f"token signature in {where}"
