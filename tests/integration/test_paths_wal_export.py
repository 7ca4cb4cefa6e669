"""Configuration keys that must have an effect (compatibility.md,
Configuration: "every table is optional (defaults fill in), every key has
an effect or is rejected as unknown"):

- logging.file_path and authz.audit_log_path default to files in the data
  directory (docs/configuration.md: empty means <data_dir>/...), so they
  follow -d and work in a fresh directory;
- [storage.wal] enabled = false alone is a working configuration (the
  default sync_mode no longer refuses it) and the server warns about it;
- metrics.export_interval_secs makes the server log "metrics snapshot:"
  lines that carry live figures.

Expected values come from the documentation and from what the tests
themselves write, never from the server's own answers.
"""
import os
import re

from conftest import (SERVER_BIN, Server, shown, result_of, run_cli, single_value,
                      unique, wait_until)


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


class NoDataDirServer(Server):
    """A server started without --data-dir: the default ./data applies,
    relative to the working directory of the test."""

    def args(self, command, *more):
        return [SERVER_BIN, "--bind", self.addr, command] + list(more)


# --------------------------------------------------------------------------
# default log and audit paths


def test_log_file_by_default_in_fresh_directory(tmp_path, monkeypatch):
    """`AMATERS_LOGGING__FILE_ENABLED=true amaters-server start` in an
    empty directory writes ./data/amaters-server.log (it used to exit 1:
    the log was opened before the data directory existed)."""
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    monkeypatch.chdir(fresh)
    s = NoDataDirServer(str(fresh),
                        env={"AMATERS_LOGGING__FILE_ENABLED": "true"})
    try:
        s.start()
        log = fresh / "data" / "amaters-server.log"
        assert wait_until(lambda: "serving gRPC" in read(log), timeout=10), \
            read(log) + s.log()
    finally:
        rc = s.stop()
    assert rc == 0, s.log()
    assert "shutdown complete" in read(fresh / "data" / "amaters-server.log")


def test_default_paths_follow_data_dir(make_server, tmp_path, monkeypatch):
    """With -d elsewhere, the default log file and audit log are in that
    directory, not in ./data of the working directory."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    s = make_server(env={"AMATERS_LOGGING__FILE_ENABLED": "true",
                         "AMATERS_AUTHZ__AUDIT_ENABLED": "true"})
    log = os.path.join(s.data_dir, "amaters-server.log")
    audit = os.path.join(s.data_dir, "audit.jsonl")
    assert wait_until(lambda: "serving gRPC" in read(log), timeout=10), \
        read(log) + s.log()
    assert os.path.isfile(audit), os.listdir(s.data_dir)
    assert os.stat(audit).st_mode & 0o077 == 0
    # the start-up line names where the audit records go
    assert f"audit on, to {audit}" in read(log), read(log)
    assert not (cwd / "data").exists(), os.listdir(cwd)
    s.stop()


def test_explicit_log_path_in_missing_directory_names_it(tmp_path):
    """An explicit logging.file_path whose directory does not exist is a
    start-up error that names the path."""
    bad = str(tmp_path / "no" / "such" / "dir" / "server.log")
    r = run_cli(["--bind", "127.0.0.1:0", "-d", str(tmp_path / "data"),
                 "start"],
                env={"AMATERS_LOGGING__FILE_ENABLED": "true",
                     "AMATERS_LOGGING__FILE_PATH": bad,
                     "AMATERS_METRICS__BIND_ADDRESS": "127.0.0.1:0"},
                timeout=20)
    assert r.returncode == 1, r
    assert bad in r.stderr, r.stderr
    assert not os.path.exists(bad)


def test_show_and_validate_default_paths(tmp_path):
    """validate-config accepts both features on with the default paths,
    and --show prints the empty defaults documented as files in
    data_dir."""
    env = {"AMATERS_LOGGING__FILE_ENABLED": "true",
           "AMATERS_AUTHZ__AUDIT_ENABLED": "true"}
    r = run_cli(["-d", str(tmp_path / "d"), "validate-config", "--show"],
                env=env, timeout=15)
    assert r.returncode == 0, r.stderr
    assert shown(r.stdout, "file_path", "logging") == '""'
    assert shown(r.stdout, "audit_log_path", "authz") == '""'
    assert "<data_dir>/amaters-server.log" in r.stdout
    assert "<data_dir>/audit.jsonl" in r.stdout
    # the dump loads back
    p = tmp_path / "shown.toml"
    p.write_text(r.stdout)
    v = run_cli(["-c", str(p), "validate-config"], env=env, timeout=15)
    assert v.returncode == 0, v.stderr


# --------------------------------------------------------------------------
# [storage.wal] enabled = false


WAL_OFF = "[storage.wal]\nenabled = false\n"


def test_wal_disabled_alone_validates(tmp_path):
    p = tmp_path / "wal.toml"
    p.write_text(WAL_OFF)
    r = run_cli(["-c", str(p), "validate-config"], timeout=15)
    assert r.returncode == 0, r.stderr


def test_wal_disabled_alone_serves(make_server):
    """The lsm engine (the default) without a WAL starts with the default
    sync_mode, stores and reads a key, keeps it across a graceful restart
    (shutdown flushes), and warns once that a crash loses unflushed
    writes and that sync_mode has no effect."""
    s = make_server(WAL_OFF)
    assert "engine lsm" in s.log(), s.log()
    warns = [line for line in s.log().splitlines()
             if "WARN" in line and "storage.wal.enabled = false" in line]
    assert len(warns) == 1, s.log()
    assert "crash" in warns[0] and "sync_mode" in warns[0], warns[0]
    assert "no effect" in warns[0], warns[0]
    c = s.client()
    coll = unique("nowal")
    result_of(c.set(coll, b"k", b"value-without-wal"))
    assert single_value(c.get(coll, b"k")).data == b"value-without-wal"
    assert s.stop() == 0, s.log()
    s.restart()
    got = single_value(s.client().get(coll, b"k"))
    assert got is not None and got.data == b"value-without-wal"


# --------------------------------------------------------------------------
# metrics.export_interval_secs


SNAP = re.compile(r"metrics snapshot: uptime_secs=(\d+) keys_stored=(\d+) "
                  r"bytes_stored=(\d+) grpc_calls=(\d+) grpc_errors=(\d+)")


def snapshots(s):
    return [tuple(int(x) for x in m.groups()) for m in SNAP.finditer(s.log())]


def test_metrics_snapshot_lines(make_server):
    """export_interval_secs = 1: a snapshot line each second, and the
    keys figure reflects the key the test writes (fresh data dir)."""
    s = make_server("[metrics]\nexport_interval_secs = 1\n")
    c = s.client()
    coll = unique("snap")
    value = b"x" * 1000
    result_of(c.set(coll, b"the-only-key", value))

    def done():
        snaps = snapshots(s)
        return len(snaps) >= 2 and any(x[1] == 1 for x in snaps)

    assert wait_until(done, timeout=15, interval=0.05), s.log()
    snaps = snapshots(s)
    after = [x for x in snaps if x[1] == 1]
    uptime, keys, nbytes, calls, errors = after[-1]
    assert nbytes >= len(value), after
    assert calls >= 1, after  # at least the SET above
    assert errors <= calls
    # only one key was ever written
    assert all(x[1] in (0, 1) for x in snaps), snaps
    # uptimes never go back
    assert [x[0] for x in snaps] == sorted(x[0] for x in snaps), snaps
    lines = [line for line in s.log().splitlines()
             if "metrics snapshot:" in line]
    assert all(" INFO " in line for line in lines), lines

