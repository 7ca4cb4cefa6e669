"""JWT bearer authentication, for every algorithm the server accepts.

For each algorithm a server is started with auth.jwt configured for it
(shared secret or public key PEM file written by the test); a valid token
must work, and every kind of bad token must be refused with gRPC
UNAUTHENTICATED and a details text that says what was wrong, without
echoing the token, the secret or key material (docs/security.md, JWT)."""
import base64
import hashlib
import hmac
import json
import os
import shutil
import tempfile
import time

import grpc
import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from conftest import (Server, aql_pb2, bearer_client, single_value, result_of,
                      status_of, unique)

ISSUER = "amaters-test-issuer"
AUDIENCE = "amaters-test-clients"
HS_SECRET = "hs-secret-" + "Zq8rN2vLx4TpYw7e" * 3
HS_OTHER = "another-secret-" + "Ab3dEf6hIj9kLm2n" * 3
ALGS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256",
        "ES384", "EdDSA"]

_KEYS = {}


def _keypair(alg, which=0):
    """(private key, public PEM bytes) for alg; cached per (family, which)."""
    fam = alg[:2] if alg[:2] in ("RS",) else alg
    k = (fam, which)
    if k not in _KEYS:
        if fam == "RS":
            priv = rsa.generate_private_key(public_exponent=65537,
                                            key_size=2048)
        elif fam == "ES256":
            priv = ec.generate_private_key(ec.SECP256R1())
        elif fam == "ES384":
            priv = ec.generate_private_key(ec.SECP384R1())
        else:
            priv = ed25519.Ed25519PrivateKey.generate()
        pub = priv.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo)
        _KEYS[k] = (priv, pub)
    return _KEYS[k]


def b64u(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**over):
    now = int(time.time())
    c = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "iat": now,
         "nbf": now - 1, "exp": now + 600, "roles": ["user"]}
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def hs_token(alg, secret, payload):
    """A compact JWS signed by HMAC by hand (PyJWT refuses PEM secrets)."""
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384,
              "HS512": hashlib.sha512}[alg]
    head = b64u(json.dumps({"alg": alg, "typ": "JWT"}))
    body = b64u(json.dumps(payload))
    signing = f"{head}.{body}".encode()
    sig = hmac.new(secret if isinstance(secret, bytes) else secret.encode(),
                   signing, digest).digest()
    return f"{head}.{body}.{b64u(sig)}"


class JwtEnv:
    def __init__(self, alg):
        self.alg = alg
        self.dir = tempfile.mkdtemp(prefix="amaters-it-jwt-")
        cfg = ["[auth]", "enabled = true", 'methods = ["jwt"]', "",
               "[auth.jwt]", f'algorithm = "{alg}"', f'issuer = "{ISSUER}"',
               f'audience = "{AUDIENCE}"', "leeway_secs = 30"]
        if alg.startswith("HS"):
            cfg.append(f'secret = "{HS_SECRET}"')
            self.pub_pem = None
        else:
            self.priv, self.pub_pem = _keypair(alg)
            path = os.path.join(self.dir, "jwt.pub")
            with open(path, "wb") as f:
                f.write(self.pub_pem)
            cfg.append(f'public_key_path = "{path}"')
        self.server = Server(self.dir, "\n".join(cfg) + "\n")

    def sign(self, payload, which=0):
        if self.alg.startswith("HS"):
            return hs_token(self.alg, HS_SECRET if which == 0 else HS_OTHER,
                            payload)
        priv = self.priv if which == 0 else _keypair(self.alg, 1)[0]
        return pyjwt.encode(payload, priv, algorithm=self.alg)

    def client(self, token):
        return bearer_client(self.server.get_channel(), token)


@pytest.fixture(scope="module", params=ALGS)
def env(request):
    e = JwtEnv(request.param)
    try:
        e.server.start()
        yield e
    finally:
        e.server.stop()
        shutil.rmtree(e.dir, ignore_errors=True)


def test_valid_token_set_get(env):
    c = env.client(env.sign(claims()))
    coll = unique("jwt")
    result_of(c.set(coll, b"k1", b"value-1"))
    v = single_value(c.get(coll, b"k1"))
    assert v is not None and v.data == b"value-1"
    assert c.health().status == aql_pb2.HEALTH_SERVING
    info = c.info()
    assert info.version, "GetServerInfo answers an authenticated caller"


def test_valid_token_string_audience_array(env):
    """aud may be an array that contains the configured audience."""
    c = env.client(env.sign(claims(aud=["other", AUDIENCE])))
    coll = unique("jwtaud")
    result_of(c.set(coll, b"k", b"v"))


def test_exp_within_leeway_accepted(env):
    c = env.client(env.sign(claims(exp=int(time.time()) - 5)))
    result_of(c.get(unique("lw"), b"k"))


def _tampered(env):
    tok = env.sign(claims(roles=["user"]))
    head, _, sig = tok.split(".")
    body = b64u(json.dumps(claims(sub="mallory", roles=["admin"])))
    return f"{head}.{body}.{sig}"


def _alg_none(env):
    head = b64u(json.dumps({"alg": "none", "typ": "JWT"}))
    return f"{head}.{b64u(json.dumps(claims()))}."


def _alg_none_with_sig(env):
    """alg none carrying the signature of a valid token."""
    tok = env.sign(claims())
    head = b64u(json.dumps({"alg": "none", "typ": "JWT"}))
    _, body, sig = tok.split(".")
    return f"{head}.{body}.{sig}"


def _other_alg(env):
    """HS/RS confusion on asymmetric servers: an HS256 token whose HMAC
    secret is the server's own public key PEM. On HS servers: the same
    secret under a sibling HS algorithm."""
    if env.alg.startswith("HS"):
        other = "HS512" if env.alg != "HS512" else "HS256"
        return hs_token(other, HS_SECRET, claims())
    return hs_token("HS256", env.pub_pem, claims())


def _confusion_same_alg_name(env):
    """A token whose header names the server's algorithm but whose
    signature is an HMAC with the public key PEM (asymmetric servers) or
    with the wrong secret (HS servers)."""
    if env.alg.startswith("HS"):
        return hs_token(env.alg, HS_OTHER, claims())
    tok = hs_token("HS256", env.pub_pem, claims())
    head = b64u(json.dumps({"alg": env.alg, "typ": "JWT"}))
    return head + tok[tok.index("."):]


BAD = {
    # name: (token builder, words one of which the details must contain)
    "expired": (lambda e: e.sign(claims(exp=int(time.time()) - 3600,
                                        iat=int(time.time()) - 7200,
                                        nbf=int(time.time()) - 7200)),
                ["expired"]),
    "not_yet_valid": (lambda e: e.sign(claims(nbf=int(time.time()) + 3600)),
                      ["not yet", "nbf", "before"]),
    "wrong_issuer": (lambda e: e.sign(claims(iss="someone-else")),
                     ["issuer", "iss"]),
    "no_issuer": (lambda e: e.sign(claims(iss=None)), ["issuer", "iss"]),
    "wrong_audience": (lambda e: e.sign(claims(aud="other-clients")),
                       ["audience", "aud"]),
    "audience_array_without": (lambda e: e.sign(claims(aud=["a", "b"])),
                               ["audience", "aud"]),
    "wrong_key": (lambda e: e.sign(claims(), which=1), ["signature"]),
    "tampered_payload": (_tampered, ["signature"]),
    "alg_none": (_alg_none, ["algorithm", "alg"]),
    "alg_none_with_sig": (_alg_none_with_sig, ["algorithm", "alg"]),
    "other_algorithm": (_other_alg, ["algorithm", "alg"]),
    "hmac_under_server_alg": (_confusion_same_alg_name, ["signature"]),
    "missing_exp": (lambda e: e.sign(claims(exp=None)),
                    ["exp", "expir"]),
    "missing_sub": (lambda e: e.sign(claims(sub=None)), ["subject", "sub"]),
    "garbage": (lambda e: "not.a.jwt!", ["malformed", "invalid"]),
}


def _assert_refused(env, token, words, call="query"):
    c = env.client(token)
    fn = {"query": lambda: c.get("jwt", b"k"),
          "stream": lambda: c.stream(
              __import__("conftest").q_range("jwt", b"a"), timeout=10)}[call]
    code, details, _, _ = status_of(fn)
    assert code == grpc.StatusCode.UNAUTHENTICATED, \
        f"{env.alg}: expected UNAUTHENTICATED, got {code} {details!r}"
    low = details.lower()
    assert any(w in low for w in words), \
        f"{env.alg}: details {details!r} should say one of {words}"
    assert token not in details
    for part in token.split("."):
        if len(part) >= 8:
            assert part not in details, "details echo a token part"
    assert HS_SECRET not in details and HS_OTHER not in details
    if env.pub_pem:
        assert b"BEGIN" not in details.encode()


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_token_refused(env, case):
    build, words = BAD[case]
    _assert_refused(env, build(env), words)


def test_bad_token_refused_on_stream(env):
    _assert_refused(env, env.sign(claims(exp=int(time.time()) - 3600)),
                    ["expired"], call="stream")


def test_not_bearer_scheme_refused(env):
    from conftest import md_client
    c = md_client(env.server.get_channel(),
                  [("authorization", "Basic " + b64u("alice:pw"))])
    code, details, _, _ = status_of(c.get, "jwt", b"k")
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert "bearer" in details.lower()


def test_no_token_refused(env):
    c = env.server.client()
    code, details, _, _ = status_of(c.get, "jwt", b"k")
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert details


@pytest.mark.parametrize("secret,warning", [
    ("a", "auth.jwt.secret is 1 bytes, shorter than the 32 that HS256"),
    ("your-secret-key-change-this-in-production",
     "auth.jwt.secret is the published example secret"),
    ("x" * 32, None),
])
def test_weak_hmac_secret_warned(make_server, secret, warning):
    """A short or published HS256 secret lets anyone mint admin tokens: the
    start-up log warns (the server still starts: the reference example
    configuration uses the published secret and must load); the secret
    itself is never logged."""
    s = make_server(config_text=f"""
[auth]
enabled = true
methods = ["jwt"]

[auth.jwt]
algorithm = "HS256"
secret = "{secret}"
""")
    log = s.log()
    if warning is None:
        assert "auth.jwt.secret is" not in log, log
    else:
        assert warning in log, log
        assert "WARN" in log
    if len(secret) > 1:
        assert secret not in log
