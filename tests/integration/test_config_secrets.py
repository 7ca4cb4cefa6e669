"""Secrets in generated configurations (docs/configuration.md: secrets are
never printed; the placeholder "<redacted>" is refused as a secret).

Operators "generate, edit, deploy": `start --generate-config` and
`validate-config --show` output is edited and used as the configuration.
Such output must never turn the placeholder into the secret: a token
signed with the string "<redacted>" must not be accepted. A secret that is
set is written commented out, so the output still loads; the real secret
comes back through the file or the environment.

Expected messages and keys come from docs/configuration.md and the
environment rule (AMATERS_<SECTION>__<KEY>), never from the server's own
answers.
"""
import os
import re
import secrets
import time

import grpc

from conftest import bearer_client, result_of, run_cli, status_of, unique
from test_security_jwt import hs_token

JWT_SECRET = "jwt-" + secrets.token_hex(24)
HASH_SECRET = "hash-" + secrets.token_hex(24)
PLACEHOLDER = "<redacted>"

AUTH_CONFIG = f"""
[auth]
enabled = true
methods = ["jwt"]

[auth.jwt]
algorithm = "HS256"
secret = "{JWT_SECRET}"

[auth.api_key]
hash_secret = "{HASH_SECRET}"
"""


def generate(tmp_path, name="gen.toml"):
    """`-c jwt.toml start --generate-config`, written to name; returns
    (path, text)."""
    src = tmp_path / "jwt.toml"
    src.write_text(AUTH_CONFIG)
    r = run_cli(["-c", str(src), "start", "--generate-config"], timeout=15)
    assert r.returncode == 0, r.stderr
    out = tmp_path / name
    out.write_text(r.stdout)
    return out, r.stdout


def line_col_of(text, pattern):
    """1-based line of the first line matching pattern, and the column
    just after its '= ' (where the value starts)."""
    for n, line in enumerate(text.splitlines(), 1):
        if re.match(pattern, line):
            return n, line.index("=") + 3
    raise AssertionError(f"no line matches {pattern!r}")


def test_dump_hides_secrets_and_comments_them_out(tmp_path):
    _, text = generate(tmp_path)
    assert JWT_SECRET not in text and HASH_SECRET not in text
    # not a live key: commented out, with where to put the real one
    assert re.search(r'^# secret = "<redacted>"$', text, re.M), text
    assert re.search(r'^# hash_secret = "<redacted>"$', text, re.M), text
    assert not re.search(r'^\s*(hash_)?secret\s*=\s*"<redacted>"', text,
                         re.M)
    assert "AMATERS_AUTH__JWT__SECRET" in text
    assert "AMATERS_AUTH__API_KEY__HASH_SECRET" in text
    r = run_cli(["-c", str(tmp_path / "jwt.toml"), "validate-config",
                 "--show"], timeout=15)
    assert r.returncode == 0, r.stderr
    assert r.stdout == text


def test_placeholder_in_file_is_refused_by_validate_and_start(tmp_path):
    """The line an older dump wrote (or an edit that only removed the
    '#'): refused with file:line:col, the key and the fix; the server
    does not start with it."""
    gen, text = generate(tmp_path)
    deployed = re.sub(r'^# secret = "<redacted>"$', 'secret = "<redacted>"',
                      text, flags=re.M)
    path = tmp_path / "deployed.toml"
    path.write_text(deployed)
    line, col = line_col_of(deployed, r'^secret = "<redacted>"$')
    where = f"{path}:{line}:{col}: auth.jwt.secret"
    r = run_cli(["-c", str(path), "validate-config"], timeout=15)
    assert r.returncode == 1, r.stdout
    assert where in r.stderr, r.stderr
    assert "placeholder" in r.stderr and PLACEHOLDER in r.stderr
    assert "AMATERS_AUTH__JWT__SECRET" in r.stderr

    data = tmp_path / "data"
    r = run_cli(["-c", str(path), "--bind", "127.0.0.1:0", "-d", str(data),
                 "start"], env={"AMATERS_METRICS__BIND_ADDRESS":
                                "127.0.0.1:0"}, timeout=20)
    assert r.returncode == 1, r.stdout + r.stderr
    assert where in r.stderr, r.stderr
    assert not data.exists(), "must not get as far as the data directory"

    # the same for the API-key hash secret
    deployed = re.sub(r'^# hash_secret = "<redacted>"$',
                      'hash_secret = "<redacted>"', text, flags=re.M)
    path.write_text(deployed)
    line, col = line_col_of(deployed, r'^hash_secret = "<redacted>"$')
    r = run_cli(["-c", str(path), "validate-config"], timeout=15)
    assert r.returncode == 1
    assert f"{path}:{line}:{col}: auth.api_key.hash_secret" in r.stderr, \
        r.stderr


def test_placeholder_from_environment_is_refused(tmp_path):
    for var, key in (("AMATERS_AUTH__JWT__SECRET", "auth.jwt.secret"),
                     ("AMATERS_AUTH__API_KEY__HASH_SECRET",
                      "auth.api_key.hash_secret")):
        r = run_cli(["validate-config"], env={var: PLACEHOLDER}, timeout=15)
        assert r.returncode == 1, (var, r.stdout)
        assert f"environment {var}: {key}" in r.stderr, r.stderr
        assert "placeholder" in r.stderr


def test_generated_config_needs_the_real_secret(tmp_path):
    """As generated (auth on, secret commented out) it loads, and
    validation names the missing secret."""
    gen, _ = generate(tmp_path)
    r = run_cli(["-c", str(gen), "validate-config"], timeout=15)
    assert r.returncode == 1
    assert "auth.jwt.secret" in r.stderr, r.stderr


def test_generated_config_with_secret_from_env_serves(tmp_path,
                                                      make_server):
    """Deployed with the secret from the environment: the real secret
    authenticates, a token signed with the placeholder does not."""
    _, text = generate(tmp_path)
    s = make_server(text, env={"AMATERS_AUTH__JWT__SECRET": JWT_SECRET})
    ch = s.get_channel()
    now = int(time.time())
    claims = {"sub": "mallory", "roles": ["admin"], "exp": now + 600}
    coll = unique("gen")
    forged = hs_token("HS256", PLACEHOLDER, claims)
    code, _, _, _ = status_of(bearer_client(ch, forged).get, coll, b"k")
    assert code == grpc.StatusCode.UNAUTHENTICATED
    good = hs_token("HS256", JWT_SECRET, dict(claims, sub="alice"))
    result_of(bearer_client(ch, good).get(coll, b"k"))


def test_auth_off_generated_config_loads_as_is(tmp_path):
    """Secrets set but auth off: the generated file validates unchanged
    (the commented-out secrets are simply absent)."""
    src = tmp_path / "off.toml"
    src.write_text(AUTH_CONFIG.replace("enabled = true", "enabled = false"))
    r = run_cli(["-c", str(src), "start", "--generate-config"], timeout=15)
    assert r.returncode == 0, r.stderr
    gen = tmp_path / "gen.toml"
    gen.write_text(r.stdout)
    v = run_cli(["-c", str(gen), "validate-config"], timeout=15)
    assert v.returncode == 0, v.stderr
    assert not os.path.exists(tmp_path / "data")
