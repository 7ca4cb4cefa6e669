"""Audit log rotation (docs/security.md, Audit log): after the audit file is
moved aside, SIGHUP makes the server reopen authz.audit_log_path, so the
next record lands in a new file at the configured path (the moved file
keeps the old records); dropped records are exported as
amaters_audit_records_dropped_total on /metrics.

Audited calls here are authorization denials: an anonymous caller gets
authz.default_role = "reader", and a write is refused and recorded with
its collection as the resource.
"""
import os
import signal

import pytest

from conftest import E, assert_error, http_get, read_jsonl, unique, \
    wait_until

CFG = """
[auth]
enabled = true
methods = ["jwt"]
reject_unauthenticated = false

[auth.jwt]
algorithm = "HS256"
secret = "rotation-test-secret-0123456789abcdefghijklmn"

[authz]
enabled = true
default_role = "reader"
audit_enabled = true
audit_fsync = "always"
"""


def denied_write(client, coll):
    assert_error(client.set(coll, b"k", b"v"),
                 E.ERROR_AUTH_INSUFFICIENT_PERMISSIONS,
                 category=E.CATEGORY_AUTH)


def has_denial(path, coll):
    return any(r.get("event_type") == "authorization"
               and r.get("resource") == f"collection:{coll}"
               for r in read_jsonl(path))


@pytest.mark.parametrize("where", ["configured", "default"])
def test_sighup_reopens_rotated_audit_log(make_server, tmpdir_path, where):
    if where == "configured":
        audit = os.path.join(tmpdir_path, "logs", "audit.jsonl")
        os.makedirs(os.path.dirname(audit))
        s = make_server(CFG + f'audit_log_path = "{audit}"\n')
    else:
        s = make_server(CFG)
        audit = os.path.join(s.data_dir, "audit.jsonl")
    c = s.client()
    before = unique("before")
    denied_write(c, before)
    assert wait_until(lambda: has_denial(audit, before), timeout=10), \
        read_jsonl(audit)

    rotated = audit + ".1"
    os.rename(audit, rotated)
    reopened = f"SIGHUP: audit log {audit} reopened"
    s.signal(signal.SIGHUP)
    assert wait_until(lambda: reopened in s.log(), timeout=10), s.log()

    after = unique("after")
    denied_write(c, after)
    assert wait_until(lambda: has_denial(audit, after), timeout=10), \
        (read_jsonl(audit), read_jsonl(rotated))
    # a new file at the configured path, private like the first one
    assert os.stat(audit).st_mode & 0o077 == 0
    assert not has_denial(audit, before)
    assert has_denial(rotated, before)
    assert not has_denial(rotated, after)
    assert s.proc.poll() is None


def test_audit_drops_are_exported(make_server, tmpdir_path):
    """With the audit log on, /metrics carries the dropped-records counter
    (0: nothing was dropped here), and so does the periodic snapshot line;
    without it, the series is absent."""
    s = make_server(CFG + "\n[metrics]\nexport_interval_secs = 1\n")
    denied_write(s.client(), unique("m"))
    st, body, _ = http_get(s.http_port, "/metrics")
    assert st == 200
    text = body.decode()
    assert "# TYPE amaters_audit_records_dropped_total counter" in text
    assert "\namaters_audit_records_dropped_total 0\n" in text, text
    assert wait_until(lambda: "audit_records_dropped=0" in s.log(),
                      timeout=10), s.log()

    plain = make_server()
    st, body, _ = http_get(plain.http_port, "/metrics")
    assert st == 200
    assert "amaters_audit_records_dropped" not in body.decode()
