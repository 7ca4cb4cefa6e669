"""Which authentication methods are in use (docs/configuration.md, Rules
between keys): those listed in auth.methods plus those whose own section
says enabled = true. Environment variables configure security like the
file does."""
import json
import os
import time

import grpc

from conftest import (bearer_client, md_client, result_of, status_of,
                      unique)
from test_security_apikey import hmac_hash
from test_security_jwt import hs_token

SECRET = "methods-test-secret-0123456789abcdefghijklmnop"


def good_token():
    return hs_token("HS256", SECRET, {"sub": "a",
                                      "exp": int(time.time()) + 600})


def test_jwt_enabled_by_its_section(make_server):
    s = make_server(config_text=f"""
[auth]
enabled = true

[auth.jwt]
enabled = true
secret = "{SECRET}"
""")
    result_of(bearer_client(s.get_channel(), good_token()).get(
        unique("m"), b"k"))
    code, _, _, _ = status_of(s.client().get, "m", b"k")
    assert code == grpc.StatusCode.UNAUTHENTICATED


def test_api_key_enabled_by_its_section(make_server, tmpdir_path):
    keys = os.path.join(tmpdir_path, "keys.json")
    with open(keys, "w") as f:
        json.dump([{"id": "k", "name": "n", "user_id": "svc",
                    "key_hash": hmac_hash("the-key-123456", "hs-1234"),
                    "roles": ["user"]}], f)
    s = make_server(config_text=f"""
[auth]
enabled = true
methods = ["jwt"]

[auth.jwt]
secret = "{SECRET}"

[auth.api_key]
enabled = true
keys_file = "{keys}"
hash_secret = "hs-1234"
""")
    result_of(md_client(s.get_channel(), [("x-api-key", "the-key-123456")])
              .get(unique("m"), b"k"))
    result_of(bearer_client(s.get_channel(), good_token()).get(
        unique("m"), b"k"))


def test_security_from_environment(make_server):
    s = make_server(env={"AMATERS_AUTH__ENABLED": "true",
                         "AMATERS_AUTH__METHODS": "jwt",
                         "AMATERS_AUTH__JWT__SECRET": SECRET,
                         "AMATERS_AUTH__JWT__ALGORITHM": "HS256"})
    result_of(bearer_client(s.get_channel(), good_token()).get(
        unique("m"), b"k"))
    code, _, _, _ = status_of(s.client().get, "m", b"k")
    assert code == grpc.StatusCode.UNAUTHENTICATED
