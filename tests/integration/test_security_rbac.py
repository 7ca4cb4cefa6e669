"""Role-based access control on every query kind (docs/security.md,
Authorization): the built-in roles admin / user / reader, and the
original's reference roles.toml (data_scientist, service_account, ...).
Principals are JWT subjects whose `roles` claim names their roles. A
denial is ERROR_AUTH_INSUFFICIENT_PERMISSIONS (category AUTH) for unary
calls and interactive replies, gRPC PERMISSION_DENIED for ExecuteStream;
a batch with one denied query applies nothing."""
import os
import time

import grpc
import pytest

from conftest import (E, Server, admin, assert_error, bearer_client, blob,
                      q_delete, q_get, q_range, q_set, result_of,
                      single_value, status_of, unique)
from test_security_jwt import hs_token

SECRET = "rbac-test-secret-0123456789abcdefghijklmnopqrstuv"
SHARED = os.environ.get(
    "AMATERS_SHARED_DIR",
    os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
REF_ROLES = os.path.join(SHARED, "compat", "reference-examples",
                         "roles.toml")


def config(extra=""):
    return f"""
[auth]
enabled = true
methods = ["jwt"]

[auth.jwt]
algorithm = "HS256"
secret = "{SECRET}"

[authz]
enabled = true
{extra}
"""


def token(sub, roles):
    c = {"sub": sub, "exp": int(time.time()) + 600}
    if roles is not None:
        c["roles"] = roles
    return hs_token("HS256", SECRET, c)


def client_for(server, roles, sub=None):
    return bearer_client(server.get_channel(),
                         token(sub or ("p-" + "-".join(roles or ["none"])),
                               roles))


DENIED = E.ERROR_AUTH_INSUFFICIENT_PERMISSIONS


def unary_outcome(resp):
    if resp.WhichOneof("response") == "error":
        assert_error(resp, DENIED, category=E.CATEGORY_AUTH)
        return "deny"
    return "allow"


def run_op(c, op, coll):
    """Runs one operation kind on coll; returns "allow" or "deny" and
    checks that a denial has the right form for the call type."""
    k = b"k-" + op.encode()
    if op == "get":
        return unary_outcome(c.query(q_get(coll, k)))
    if op == "set":
        return unary_outcome(c.query(q_set(coll, k, blob(b"v"))))
    if op == "delete":
        return unary_outcome(c.query(q_delete(coll, k)))
    if op == "range":
        return unary_outcome(c.query(q_range(coll, b"a", b"z")))
    if op == "batch":
        return unary_outcome(c.batch([q_get(coll, k),
                                      q_set(coll, k, blob(b"v"))]))
    if op == "batch_read":
        return unary_outcome(c.batch([q_get(coll, k)]))
    if op == "stream":
        code, details, _, chunks = status_of(c.stream, q_range(coll, b"a"),
                                             timeout=10)
        if code == grpc.StatusCode.PERMISSION_DENIED:
            assert "permission" in details.lower(), details
            return "deny"
        assert code == grpc.StatusCode.OK, (code, details)
        assert chunks[-1].WhichOneof("chunk") == "end"
        return "allow"
    if op == "interactive":
        replies = c.interactive([q_set(coll, k, blob(b"v")),
                                 q_get(coll, k)], timeout=10)
        outs = [unary_outcome(r) for r in replies]
        assert len(outs) == 2
        return "allow" if outs == ["allow", "allow"] else \
            "deny" if outs[0] == "deny" else "mixed"
    if op == "stats":
        resp, stats = admin(c, "STATS", coll)
        if stats is None:
            assert_error(resp, DENIED, category=E.CATEGORY_AUTH)
            return "deny"
        return "allow"
    raise AssertionError(op)


OPS = ["get", "set", "delete", "range", "batch", "batch_read", "stream",
       "interactive", "stats"]
A, D = "allow", "deny"

# Built-in roles, the same on every collection (deny-by-default).
BUILTIN = {
    #             get set del range batch b_rd stream inter stats
    "admin":    [A,  A,  A,  A,    A,    A,   A,     A,    A],
    "user":     [A,  A,  A,  A,    A,    A,   A,     A,    D],
    "reader":   [A,  D,  D,  A,    D,    A,   A,     D,    D],
    "none":     [D,  D,  D,  D,    D,    D,   D,     D,    D],
    "unknown":  [D,  D,  D,  D,    D,    D,   D,     D,    D],
    "reader+user": [A, A, A, A,    A,    A,   A,     A,    D],
}
ROLE_CLAIMS = {"admin": ["admin"], "user": ["user"], "reader": ["reader"],
               "none": None, "unknown": ["no-such-role"],
               "reader+user": ["reader", "user"]}


@pytest.fixture(scope="module")
def builtin_server(tmp_path_factory):
    s = Server(str(tmp_path_factory.mktemp("rbac")), config())
    s.start()
    yield s
    s.stop()


@pytest.mark.parametrize("coll", ["orders", "users"])
@pytest.mark.parametrize("role", sorted(BUILTIN))
def test_builtin_role_matrix(builtin_server, role, coll):
    c = client_for(builtin_server, ROLE_CLAIMS[role])
    got = {op: run_op(c, op, coll) for op in OPS}
    want = dict(zip(OPS, BUILTIN[role]))
    assert got == want, f"role {role} on {coll}"


# Reference roles.toml, deny-by-default: (role, collection) -> (read, write)
# plus STATS per role. data_scientist inherits reader (read on every
# collection); its own rules grant write on datasets and results only.
# service_account may only write events and metrics (no read there: the
# matching rule grants write only).
RW = {
    "data_scientist": {"datasets": "rw", "models": "r", "results": "rw",
                       "events": "r", "metrics": "r", "misc": "r"},
    "service_account": {"datasets": "", "models": "", "results": "",
                        "events": "w", "metrics": "w", "misc": ""},
    "power_user": {c: "rw" for c in ("datasets", "models", "results",
                                     "events", "metrics", "misc")},
    "auditor": {c: "r" for c in ("datasets", "models", "results",
                                 "events", "metrics", "misc")},
    "admin": {c: "rw" for c in ("datasets", "models", "results",
                                "events", "metrics", "misc")},
    "user": {c: "rw" for c in ("datasets", "models", "results",
                               "events", "metrics", "misc")},
    "reader": {c: "r" for c in ("datasets", "models", "results",
                                "events", "metrics", "misc")},
}
# STATS needs admin on "server": power_user and auditor hold only read
# there.
STATS = {"data_scientist": D, "service_account": D, "power_user": D,
         "auditor": D, "admin": A, "user": D, "reader": D}


@pytest.fixture(scope="module")
def ref_server(tmp_path_factory):
    if not os.path.exists(REF_ROLES):
        pytest.skip("reference roles.toml not found")
    s = Server(str(tmp_path_factory.mktemp("rbacref")),
               config(f'roles_file = "{REF_ROLES}"'))
    s.start()
    yield s
    s.stop()


@pytest.mark.parametrize("role", sorted(RW))
def test_reference_roles_matrix(ref_server, role):
    c = client_for(ref_server, [role])
    got, want = {}, {}
    for coll, rw in RW[role].items():
        for op in ("get", "range", "stream", "batch_read"):
            got[(coll, op)] = run_op(c, op, coll)
            want[(coll, op)] = A if "r" in rw else D
        for op in ("set", "delete"):
            got[(coll, op)] = run_op(c, op, coll)
            want[(coll, op)] = A if "w" in rw else D
    got["stats"] = run_op(c, "stats", "admin")
    want["stats"] = STATS[role]
    diff = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
    assert not diff, f"role {role}: (got, want) {diff}"


def test_batch_with_one_denied_query_applies_nothing(ref_server):
    c = client_for(ref_server, ["data_scientist"], sub="ds-1")
    k = unique("bk").encode()
    resp = c.batch([q_set("datasets", k, blob(b"ok")),
                    q_set("results", k, blob(b"ok")),
                    q_set("models", k, blob(b"denied"))])
    err = assert_error(resp, DENIED, category=E.CATEGORY_AUTH)
    assert "models" in err.message
    checker = client_for(ref_server, ["admin"], sub="checker")
    for coll in ("datasets", "results", "models"):
        assert single_value(checker.get(coll, k)) is None, coll
    # The same batch without the denied query applies.
    ok = c.batch([q_set("datasets", k, blob(b"ok")),
                  q_set("results", k, blob(b"ok"))])
    assert ok.WhichOneof("response") == "results", ok
    assert single_value(checker.get("datasets", k)).data == b"ok"


def test_denied_delete_keeps_value(ref_server):
    k = unique("dk").encode()
    result_of(client_for(ref_server, ["admin"]).set("models", k, b"m"))
    c = client_for(ref_server, ["data_scientist"])
    assert run_op(c, "get", "models") == A
    assert_error(c.delete("models", k), DENIED, category=E.CATEGORY_AUTH)
    assert single_value(c.get("models", k)).data == b"m"


def test_allow_by_default_mode(make_server):
    """allow-by-default permits what none of the principal's permissions
    mention; a mentioned resource is still decided by its permission."""
    if not os.path.exists(REF_ROLES):
        pytest.skip("reference roles.toml not found")
    s = make_server(config_text=config(
        f'roles_file = "{REF_ROLES}"\ndefault_mode = "allow-by-default"'))
    c = client_for(s, ["service_account"])
    assert run_op(c, "get", "misc") == A       # not mentioned
    assert run_op(c, "set", "misc") == A       # not mentioned
    assert run_op(c, "set", "events") == A     # granted
    assert run_op(c, "get", "events") == D     # mentioned, write only
    r = client_for(s, ["reader"])
    assert run_op(r, "set", "misc") == D       # collection:* mentions it


# Admin-tunnel commands need an explicit admin grant on "server" whatever
# authz.default_mode says (docs/security.md): allow-by-default only opens
# read and write on collections no permission mentions. Principals: JWT
# subjects with built-in and reference roles, a token without roles, an
# unknown role, and an anonymous call (reject_unauthenticated = false, no
# default role).
ADMIN_PRINCIPALS = {
    "admin": ["admin"], "user": ["user"], "reader": ["reader"],
    "data_scientist": ["data_scientist"],
    "service_account": ["service_account"], "power_user": ["power_user"],
    "auditor": ["auditor"], "no-roles": None, "unknown": ["no-such-role"],
    "reader+user": ["reader", "user"], "anonymous": "anonymous",
}


@pytest.fixture(scope="module")
def allow_server(tmp_path_factory):
    if not os.path.exists(REF_ROLES):
        pytest.skip("reference roles.toml not found")
    text = config(f'roles_file = "{REF_ROLES}"\n'
                  'default_mode = "allow-by-default"')
    text = text.replace('methods = ["jwt"]',
                        'methods = ["jwt"]\nreject_unauthenticated = false')
    s = Server(str(tmp_path_factory.mktemp("rbacallow")), text)
    s.start()
    yield s
    s.stop()


@pytest.mark.parametrize("command", ["STATS", "BACKUP x"])
@pytest.mark.parametrize("who", sorted(ADMIN_PRINCIPALS))
def test_allow_by_default_admin_needs_explicit_grant(allow_server, who,
                                                     command):
    roles = ADMIN_PRINCIPALS[who]
    if roles == "anonymous":
        c = allow_server.client()
    else:
        c = client_for(allow_server, roles, sub="adm-" + who)
    resp, body = admin(c, command)
    if who == "admin":
        assert body is not None, f"admin {command}: {resp}"
        if command.startswith("BACKUP"):
            assert body["success"] is True, body
        return
    err = assert_error(resp, DENIED, category=E.CATEGORY_AUTH)
    assert "permission denied" in err.message, err.message
    # The default mode still opens unmentioned collections for data.
    if who in ("no-roles", "unknown", "anonymous"):
        assert run_op(c, "get", "misc") == A
