"""Reloadable authorization settings: docs/configuration.md marks
authz.default_role and authz.default_mode "Reload: yes", and
docs/security.md says every configuration change is audited. After the
file changes and SIGHUP, the new default role must apply to new calls
without a restart, and the audit log must hold a config_change record."""
import os
import signal

from conftest import (E, assert_error, read_jsonl, result_of, unique,
                      wait_until)

CFG = """
[auth]
enabled = true
methods = ["jwt"]
reject_unauthenticated = false

[auth.jwt]
algorithm = "HS256"
secret = "reload-test-secret-0123456789abcdefghijklmnop"

[authz]
enabled = true
default_role = "{role}"
audit_enabled = true
audit_log_path = "{audit}"
audit_fsync = "always"
"""


def test_default_role_reloads_on_sighup(make_server, tmpdir_path):
    audit = os.path.join(tmpdir_path, "audit.jsonl")
    s = make_server(config_text=CFG.format(role="reader", audit=audit))
    c = s.client()
    coll = unique("rl")
    assert_error(c.set(coll, b"k", b"v"),
                 E.ERROR_AUTH_INSUFFICIENT_PERMISSIONS,
                 category=E.CATEGORY_AUTH)
    with open(s.config_path, "w") as f:
        f.write(CFG.format(role="user", audit=audit))
    pid = s.proc.pid
    s.signal(signal.SIGHUP)

    def writes():
        r = c.set(coll, b"k", b"v")
        return r.WhichOneof("response") == "result"
    assert wait_until(writes, timeout=5, interval=0.1), \
        "authz.default_role (Reload: yes) did not change on SIGHUP"
    assert s.proc.pid == pid and s.proc.poll() is None
    result_of(c.get(coll, b"k"))
    assert wait_until(lambda: any(r.get("event_type") == "config_change"
                                  for r in read_jsonl(audit)), timeout=5), \
        "no config_change audit record after a reload"


def test_api_key_removed_from_the_file_is_revoked_on_sighup(make_server,
                                                           tmpdir_path):
    """Removing a key from auth.api_key.keys_file and sending SIGHUP
    revokes it (the file used to be read only at start: the removed admin
    key kept working, and the log said "configuration unchanged"); the
    other keys keep working. A keys file that no longer loads is refused
    with a log line and the keys in force stay."""
    import json
    from conftest import md_client, status_of
    from test_security_apikey import KEYS, config, keys_file
    import grpc
    s = make_server(config_text=config(tmpdir_path))
    path = os.path.join(tmpdir_path, "api_keys.json")
    admin_c = md_client(s.get_channel(), [("x-api-key", KEYS["admin"])])
    writer = md_client(s.get_channel(), [("x-api-key", KEYS["writer"])])
    coll = unique("rk")
    result_of(admin_c.set(coll, b"k", b"v"))
    # a broken file: refused, nothing changes
    with open(path, "w") as f:
        f.write("{ not json")
    s.signal(signal.SIGHUP)
    assert wait_until(lambda: "configuration not reloaded" in s.log(),
                      timeout=5), s.log()[-2000:]
    result_of(admin_c.get(coll, b"k"))
    # the admin key removed: revoked
    with open(path, "w") as f:
        json.dump([k for k in keys_file() if k["id"] != "key-004"], f)
    s.signal(signal.SIGHUP)
    assert wait_until(lambda: "API keys file %s read again: 5 key(s)" % path
                      in s.log(), timeout=5), s.log()[-2000:]
    code, details, _, _ = status_of(admin_c.get, coll, b"k")
    assert code == grpc.StatusCode.UNAUTHENTICATED, (code, details)
    result_of(writer.get(coll, b"k"))
