"""Calls without credentials: refused with UNAUTHENTICATED on every method
when auth.reject_unauthenticated is true; run as anonymous with
authz.default_role when it is false (src/rpc/auth.c, docs/security.md)."""
import grpc
import pytest

from conftest import (E, aql_pb2, admin, assert_error, q_get, q_range,
                      q_set, blob, result_of, single_value, status_of,
                      unique)

JWT = """
[auth]
enabled = true
methods = ["jwt"]
reject_unauthenticated = {reject}

[auth.jwt]
algorithm = "HS256"
secret = "unauth-test-secret-0123456789abcdefghijklmnop"
"""


def calls(c):
    coll = unique("un")
    return {
        "ExecuteQuery": lambda: c.get(coll, b"k"),
        "ExecuteBatch": lambda: c.batch([q_set(coll, b"k", blob(b"v"))]),
        "ExecuteStream": lambda: c.stream(q_range(coll, b"a"), timeout=10),
        "ExecuteInteractive": lambda: c.interactive([q_get(coll, b"k")],
                                                    timeout=10),
        "HealthCheck": lambda: c.health(),
        "GetServerInfo": lambda: c.info(),
    }


@pytest.fixture(scope="module")
def rejecting(tmp_path_factory):
    from conftest import Server
    s = Server(str(tmp_path_factory.mktemp("rej")),
               JWT.format(reject="true"))
    s.start()
    yield s
    s.stop()


@pytest.mark.parametrize("method", ["ExecuteQuery", "ExecuteBatch",
                                    "ExecuteStream", "ExecuteInteractive",
                                    "HealthCheck", "GetServerInfo"])
def test_no_credentials_refused(rejecting, method):
    code, details, _, res = status_of(calls(rejecting.client())[method])
    assert code == grpc.StatusCode.UNAUTHENTICATED, (method, code, res)
    assert "credential" in details.lower(), details


def test_refused_write_applies_nothing(rejecting):
    """A refused SET stores nothing (checked with a valid token)."""
    import conftest
    import test_security_jwt as tj
    coll = unique("un-w")
    code, _, _, _ = status_of(rejecting.client().set, coll, b"k", b"v")
    assert code == grpc.StatusCode.UNAUTHENTICATED
    tok = tj.hs_token("HS256",
                      "unauth-test-secret-0123456789abcdefghijklmnop",
                      {"sub": "checker", "exp": 2 ** 31})
    c = conftest.bearer_client(rejecting.get_channel(), tok)
    assert single_value(c.get(coll, b"k")) is None


def test_anonymous_runs_with_default_role(make_server):
    cfg = JWT.format(reject="false") + """
[authz]
enabled = true
default_role = "reader"
"""
    s = make_server(config_text=cfg)
    c = s.client()
    coll = unique("anon")
    # reader: reads allowed on every method, writes refused.
    assert single_value(c.get(coll, b"k")) is None
    assert c.health().status == aql_pb2.HEALTH_SERVING
    assert c.info().version
    chunks = c.stream(q_range(coll, b"a"), timeout=10)
    assert chunks and chunks[-1].WhichOneof("chunk") == "end"
    (r,) = c.interactive([q_get(coll, b"k")], timeout=10)
    result_of(r)
    assert_error(c.set(coll, b"k", b"v"),
                 E.ERROR_AUTH_INSUFFICIENT_PERMISSIONS,
                 category=E.CATEGORY_AUTH)
    resp, stats = admin(c, "STATS")
    assert stats is None
    assert_error(resp, E.ERROR_AUTH_INSUFFICIENT_PERMISSIONS,
                 category=E.CATEGORY_AUTH)


def test_anonymous_with_user_default_role_writes(make_server):
    cfg = JWT.format(reject="false") + """
[authz]
enabled = true
default_role = "user"
"""
    s = make_server(config_text=cfg)
    c = s.client()
    coll = unique("anonw")
    result_of(c.set(coll, b"k", b"v"))
    assert single_value(c.get(coll, b"k")).data == b"v"
    # A bad token is still refused: it is never downgraded to anonymous.
    from conftest import bearer_client
    code, _, _, _ = status_of(
        bearer_client(s.get_channel(), "x.y.z").get, coll, b"k")
    assert code == grpc.StatusCode.UNAUTHENTICATED


def test_admin_tunnel_needs_admin_with_auth_on_authz_off(make_server):
    """Whenever authentication is on, `__admin__:` GETs need ADMIN on
    "server", even without [authz]: anonymous is refused."""
    s = make_server(config_text=JWT.format(reject="false"))
    c = s.client()
    result_of(c.set(unique("a"), b"k", b"v"))  # no authz: data is open
    resp, stats = admin(c, "STATS")
    assert stats is None
    assert_error(resp, E.ERROR_AUTH_INSUFFICIENT_PERMISSIONS,
                 category=E.CATEGORY_AUTH)
