"""Start-up and its log (operations.md, "Start-up" and "Signals"):
SIGTERM/SIGINT during start-up end it cleanly without ever serving (and
are not taken for a second signal later); the start-up log names the
configuration, the absolute data directory and PID file, warns when gRPC
is open to anyone, and notes a stale PID file taken over; shutdown lines
name the signal; an invalid configuration on SIGHUP is logged with its
reason; start-up error messages say what is wrong.

Start-up is held at a known point with a FIFO as the audit log (see
test_lifecycle_pidfile.py). Every wait is bounded."""
import os
import re
import signal
import socket
import subprocess

import pytest

from conftest import (http_get, run_cli, server_alive_and_serving,
                      start_failing, wait_until)
from test_lifecycle_pidfile import blocked_server, fifo_reader, pid_path


def readyz(s):
    try:
        return http_get(s.http_port, "/readyz", timeout=0.5)[0]
    except OSError:
        return None


# --------------------------------------------------------------------------
# signals during start-up


@pytest.mark.parametrize("sigs", [
    [signal.SIGTERM], [signal.SIGINT], [signal.SIGTERM, signal.SIGINT]],
    ids=["term", "int", "term+int"])
def test_signal_during_start_up_ends_it_without_serving(make_server, sigs):
    s, fifo = blocked_server(make_server)
    seen = []
    try:
        for sig in sigs:
            s.signal(sig)
        with fifo_reader(fifo):
            while s.proc.poll() is None and len(seen) < 2000:
                seen.append(readyz(s))
            rc = s.proc.wait(timeout=20)
    finally:
        if s.proc.poll() is None:
            with fifo_reader(fifo):
                s.stop()
    log = s.log()
    assert rc == 0, log
    names = {signal.SIGTERM: "SIGTERM", signal.SIGINT: "SIGINT"}
    assert re.search(r"start-up interrupted by (%s)" %
                     "|".join(names[x] for x in sigs), log), log
    assert "serving gRPC on" not in log, log
    assert "second signal" not in log, log
    assert 200 not in seen, "went ready after a SIGTERM during start-up"
    assert not os.path.exists(pid_path(s))


def test_signal_during_start_up_leaves_the_data_dir_usable(make_server):
    """After an interrupted start-up every lock is released: the next
    start on the same data directory and PID file serves."""
    s, fifo = blocked_server(make_server, engine="lsm")
    try:
        s.signal(signal.SIGTERM)
        with fifo_reader(fifo):
            assert s.proc.wait(timeout=20) == 0, s.log()
    finally:
        if s.proc.poll() is None:
            with fifo_reader(fifo):
                s.stop()
    with fifo_reader(fifo):
        s.restart()
        server_alive_and_serving(s)
        assert s.stop() == 0


# --------------------------------------------------------------------------
# the start-up log


def test_start_up_log_names_sources_and_paths(make_server):
    s = make_server("[server]\nshutdown_timeout_secs = 5\n", start=False)
    os.makedirs(os.path.join(s.dir, "x"))
    # paths with ".." components: the log gives them absolute and clean
    s.config_path = os.path.join(s.dir, "x", "..", "server.toml")
    s.data_dir = os.path.join(s.dir, "x", "..", "data")
    s.start()
    real = os.path.realpath(s.dir)
    log = s.log()
    assert f"configuration {real}/server.toml" in log, log
    assert f"data directory {real}/data," in log, log
    assert f"PID file {real}/data/amaters-server.pid" in log, log
    assert f"data in {real}/data" in log, log
    assert "anyone who can reach" not in log, "loopback is not exposed"
    assert s.stop() == 0
    assert "SIGTERM: shutting down" in s.log()


def test_start_up_log_built_in_defaults_and_sigint(make_server):
    s = make_server()
    assert "configuration built-in defaults" in s.log(), s.log()
    s.signal(signal.SIGINT)
    assert s.proc.wait(timeout=20) == 0
    assert "SIGINT: shutting down" in s.log(), s.log()


def test_warns_when_grpc_is_open_to_anyone(make_server):
    """A non-loopback address without TLS and authentication. The port is
    taken on loopback so that the server never really listens beyond
    it: the warning comes before the bind."""
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        s = make_server('[storage]\nengine = "memory"\n', start=False)
        s.addr = f"0.0.0.0:{port}"
        rc, out = start_failing(s)
    assert rc == 1, out
    assert re.search(r"WARN.*gRPC on 0\.0\.0\.0:%d .*TLS and authentication "
                     r"off: anyone who can reach 0\.0\.0\.0:%d can read and "
                     r"write all data" % (port, port), out), out


def test_stale_pid_file_takeover_is_logged(make_server):
    s = make_server(start=False)
    os.makedirs(s.data_dir)
    p = subprocess.Popen(["true"])
    p.wait()
    with open(pid_path(s), "w") as f:
        f.write(f"{p.pid}\ngrpc=127.0.0.1:1\nhttp=127.0.0.1:2\n")
    s.start()
    assert re.search(r"WARN.*stale PID file .*amaters-server\.pid \(pid %d, "
                     r"which did not hold its lock" % p.pid, s.log()), s.log()
    with open(pid_path(s)) as f:
        assert f.readline() == f"{s.proc.pid}\n"


def test_no_takeover_line_on_a_clean_start(make_server):
    s = make_server()
    assert "stale PID file" not in s.log()


# --------------------------------------------------------------------------
# SIGHUP with an invalid configuration


def test_sighup_reason_for_an_invalid_config_is_logged(make_server,
                                                       tmpdir_path):
    """Logging goes to a file: the reason must be in it, not only on
    stderr."""
    logp = os.path.join(tmpdir_path, "file.log")
    base = (f'[logging]\nfile_enabled = true\nfile_path = "{logp}"\n'
            '[storage]\nengine = "memory"\n')
    s = make_server(base)
    with open(s.config_path, "w") as f:
        f.write(base + "[server]\nbogus_key = 1\n")   # line 7

    def line():
        try:
            with open(logp) as f:
                return next((ln for ln in f if "SIGHUP: configuration not "
                             "reloaded" in ln), None)
        except OSError:
            return None
    s.signal(signal.SIGHUP)
    ln = wait_until(line, timeout=10)
    assert ln, open(logp).read()
    assert "server.toml:7" in ln and "bogus_key" in ln, ln
    server_alive_and_serving(s)


# --------------------------------------------------------------------------
# start-up error messages


def test_http_port_in_use_message(make_server):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        s = make_server(start=False, env={"AMATERS_METRICS__BIND_ADDRESS":
                                          f"127.0.0.1:{port}"})
        rc, out = start_failing(s)
    assert rc == 1, out
    assert "health/metrics HTTP: " in out, out
    assert "HTTP: http:" not in out, out


def test_data_dir_that_is_a_file(make_server):
    s = make_server(start=False)
    f = os.path.join(s.dir, "regular-file")
    with open(f, "w") as fh:
        fh.write("x")
    s.data_dir = f
    rc, out = start_failing(s)
    assert rc == 1, out
    assert f"data directory {f} is not a directory" in out, out
    assert "not writable" not in out
    s.data_dir = os.path.join(f, "sub", "deeper")
    rc, out = start_failing(s)
    assert rc == 1, out
    assert (f"data directory {s.data_dir} cannot be created: {f} is not a "
            "directory") in out, out


def test_repair_of_a_missing_data_dir(tmp_path):
    d = tmp_path / "no-such-data"
    r = run_cli(["-d", str(d), "repair"], timeout=30)
    assert r.returncode == 1
    assert f"data directory {d} does not exist" in r.stderr, r.stderr
    assert "PID" not in r.stderr, r.stderr
    assert not d.exists()
