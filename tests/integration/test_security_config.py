"""Security files that do not load stop the server at start with a message
naming the file and what is wrong (docs/security.md: API key load errors
name the file and the entry index; a roles cycle is named "a -> b -> a";
authz.default_role must name a role)."""
import json
import os

import pytest

JWT = """
[auth]
enabled = true
methods = ["{methods}"]

[auth.jwt]
secret = "config-test-secret-0123456789abcdefghijklmn"
"""


def start_fails(make_server, cfg, *words):
    s = make_server(config_text=cfg, start=False)
    s.start(wait=False)
    rc = s.proc.wait(timeout=20)
    log = s.log()
    assert rc != 0, "server started with a bad security file:\n" + log
    for w in words:
        assert w in log, f"{w!r} not in start-up error:\n{log[-2000:]}"
    return log


def keys_cfg(path):
    return JWT.format(methods="api_key") + \
        f'\n[auth.api_key]\nkeys_file = "{path}"\nhash_secret = "x"\n'


@pytest.mark.parametrize("entries,index", [
    ([{"id": "a", "name": "a", "key_hash": "A" * 43 + "=",
       "user_id": "u", "roles": []},
      {"id": "b", "name": "b", "key_hash": "not base64 !!",
       "user_id": "u", "roles": []}], "1"),
    ([{"id": "a", "name": "a", "key_hash": "A" * 43 + "=",
       "user_id": "u", "roles": [],
       "attributes": {"expires_at": "tomorrow"}}], "0"),
])
def test_bad_api_key_entry_named(make_server, tmpdir_path, entries, index):
    path = os.path.join(tmpdir_path, "bad_keys.json")
    with open(path, "w") as f:
        json.dump(entries, f)
    log = start_fails(make_server, keys_cfg(path), "bad_keys.json")
    assert index in log


def test_missing_keys_file_named(make_server, tmpdir_path):
    start_fails(make_server,
                keys_cfg(os.path.join(tmpdir_path, "nope.json")),
                "nope.json")


def roles_cfg(path, default_role=""):
    return JWT.format(methods="jwt") + \
        f'\n[authz]\nenabled = true\nroles_file = "{path}"\n' \
        f'default_role = "{default_role}"\n'


def write_roles(d, text, name="roles.toml"):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def test_roles_cycle_named(make_server, tmpdir_path):
    path = write_roles(tmpdir_path, """
[[roles]]
name = "a"
permissions = []
inherits = ["b"]

[[roles]]
name = "b"
permissions = []
inherits = ["a"]
""")
    log = start_fails(make_server, roles_cfg(path), "roles.toml")
    assert "a -> b -> a" in log or "b -> a -> b" in log, log[-1500:]


def test_roles_unknown_action_named(make_server, tmpdir_path):
    path = write_roles(tmpdir_path, """
[[roles]]
name = "x"
permissions = [ { resource = "collection:*", actions = ["exec"] } ]
""")
    start_fails(make_server, roles_cfg(path), "roles.toml", "exec")


def test_default_role_must_exist(make_server, tmpdir_path):
    start_fails(make_server,
                JWT.format(methods="jwt") +
                '\n[authz]\nenabled = true\ndefault_role = "ghost"\n',
                "ghost")


def test_jwt_key_of_wrong_type_refused(make_server, tmpdir_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    pub = ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo)
    path = os.path.join(tmpdir_path, "p384.pub")
    with open(path, "wb") as f:
        f.write(pub)
    start_fails(make_server, f"""
[auth]
enabled = true
methods = ["jwt"]
[auth.jwt]
algorithm = "ES256"
public_key_path = "{path}"
""", "P-256")


def test_jwt_roles_file_json_and_string_roles_claim(make_server,
                                                    tmpdir_path):
    """A JSON roles file (by name) loads; a `roles` claim that is one
    string works like a one-element array."""
    import time
    from conftest import (E, assert_error, bearer_client, result_of,
                          unique)
    from test_security_jwt import hs_token
    path = write_roles(tmpdir_path, json.dumps({"roles": [
        {"name": "writer_only", "permissions": [
            {"resource": "collection:w", "actions": ["write"]}]}]}),
        name="roles.json")
    s = make_server(config_text=roles_cfg(path))
    t = hs_token("HS256", "config-test-secret-0123456789abcdefghijklmn",
                 {"sub": "s", "exp": int(time.time()) + 600,
                  "roles": "writer_only"})
    c = bearer_client(s.get_channel(), t)
    result_of(c.set("w", b"k", b"v"))
    assert_error(c.get("w", b"k"), E.ERROR_AUTH_INSUFFICIENT_PERMISSIONS,
                 category=E.CATEGORY_AUTH)
    assert_error(c.get(unique("o"), b"k"),
                 E.ERROR_AUTH_INSUFFICIENT_PERMISSIONS,
                 category=E.CATEGORY_AUTH)
