"""stop and status decide that a server runs by the lock on its PID file,
not by the PID written in it (operations.md, "PID file"): a corrupt file
(a PID out of range would make kill() reach every process or the
caller's process group), a stale file whose PID now belongs to an
unrelated process, and a server that exited but is not reaped yet (a
zombie) are never signalled nor reported as running; a server still
starting is (status STARTING, stop signals it). The data directory has
a lock of its own: a second server with another PID file is refused.

Start-up is held at a known point with a FIFO as the audit log: opening
it for writing blocks until the test opens it for reading.

Every wait is bounded; synchronisation is by polling observable state."""
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import (SERVER_BIN, http_get, run_cli, server_alive_and_serving,
                      start_failing, wait_until)


def pid_path(s):
    return os.path.join(s.data_dir, "amaters-server.pid")


def status_json(s):
    r = run_cli(s.args("status", "--format", "json")[1:], timeout=20)
    return r, json.loads(r.stdout)


def _can_sandbox():
    if shutil.which("unshare") is None:
        return False
    r = subprocess.run(["unshare", "--user", "--map-root-user", "--pid",
                        "--fork", "--kill-child", "true"],
                       capture_output=True, timeout=10)
    return r.returncode == 0


SANDBOX = _can_sandbox()


def run_sandboxed(args, timeout=30):
    """Runs the server binary with args in a PID namespace of its own and
    a session of its own: whatever a broken `stop` signals (kill(-1) or
    kill(0)) cannot reach a process outside it."""
    cmd = [SERVER_BIN] + list(args)
    if SANDBOX:
        cmd = ["unshare", "--user", "--map-root-user", "--pid", "--fork",
               "--kill-child", "--"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True,
                          timeout=timeout, start_new_session=True)


@contextlib.contextmanager
def canary():
    """A process of the test's own that must survive."""
    p = subprocess.Popen(["sleep", "120"], start_new_session=True)
    try:
        yield p
    finally:
        p.kill()
        p.wait()


# --------------------------------------------------------------------------
# corrupt PID file


# (line 1, what a kill() of the value cast to pid_t would reach)
CORRUPT = [
    ("4294967295", "everyone"),      # (pid_t)-1
    ("4294967296", "own group"),     # (pid_t)0
    ("9223372036854775807", "everyone"),
    ("-1", "everyone"),
    ("0", "own group"),
    ("2147483648", "everyone"),      # INT_MAX + 1
    ("12abc", None),
    (" 12", None),
    ("+12", None),
    ("0x10", None),
    ("", None),
]


@pytest.mark.parametrize("line,reach", CORRUPT,
                         ids=[c[0] or "empty" for c in CORRUPT])
def test_stop_refuses_a_corrupt_pid_file(make_server, line, reach):
    if reach == "everyone" and not SANDBOX:
        pytest.skip("no PID namespace (unshare) to contain a kill(-1)")
    s = make_server(start=False)
    os.makedirs(s.data_dir)
    with open(pid_path(s), "w") as f:
        f.write(line + "\ngrpc=127.0.0.1:1\nhttp=127.0.0.1:1\n")
    with canary() as c:
        r = run_sandboxed(s.args("stop", "--timeout", "1")[1:])
        assert c.poll() is None, "stop signalled an unrelated process"
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert f"PID file {pid_path(s)} is corrupt (line 1: '{line}')" \
        in r.stderr, r.stderr
    assert "sent SIG" not in r.stdout, "nothing may be signalled"


def test_status_of_a_corrupt_pid_file(make_server):
    s = make_server(start=False)
    os.makedirs(s.data_dir)
    with open(pid_path(s), "w") as f:
        f.write("9223372036854775807\n")
    r, st = status_json(s)
    assert r.returncode == 1
    assert st["running"] is False and st["pid"] == 0, st
    assert st["status"] == "STOPPED"
    assert "is corrupt (line 1: '9223372036854775807')" in r.stderr
    h = run_cli(s.args("status")[1:], timeout=20)
    assert h.returncode == 1
    assert "9223372036854775807" not in h.stdout, h.stdout


# --------------------------------------------------------------------------
# stale PID file naming a live, unrelated process


def test_stale_pid_file_naming_an_unrelated_process(make_server):
    """After a kill -9 or a reboot the PID in the file may belong to any
    process: without the lock it is not a server."""
    s = make_server(start=False)
    os.makedirs(s.data_dir)
    with canary() as victim:
        with open(pid_path(s), "w") as f:
            f.write(f"{victim.pid}\ngrpc={s.addr}\n"
                    f"http=127.0.0.1:{s.http_port}\n")
        r = run_cli(s.args("stop", "--timeout", "2")[1:], timeout=30)
        time.sleep(0.2)  # a SIGTERM sent by stop would have landed
        assert victim.poll() is None, "stop killed an unrelated process"
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert (f"no running server (stale PID file {pid_path(s)} names "
                f"pid {victim.pid}, which does not hold its lock)") \
            in r.stderr, r.stderr
        r, st = status_json(s)
        assert r.returncode == 1
        assert st["running"] is False and st["pid"] == 0, st
        assert st["status"] == "STOPPED"
        assert f"names pid {victim.pid}, which does not hold its lock" \
            in r.stderr


# --------------------------------------------------------------------------
# a server that exited but is not reaped yet


def test_stop_and_status_with_an_unreaped_server(make_server):
    """The test runner is the server's parent and does not wait() for it
    while stop runs: the exited server stays a zombie, which kill(pid, 0)
    still finds. Its lock went with its exit."""
    s = make_server()
    t0 = time.monotonic()
    r = run_cli(s.args("stop", "--timeout", "20")[1:], timeout=40)
    took = time.monotonic() - t0
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "amaters-server stopped" in r.stdout
    assert took < 10, f"stop took {took:.1f} s"
    # still unreaped: status must not count it
    r, st = status_json(s)
    assert r.returncode == 1, r.stdout
    assert st["running"] is False, st
    assert s.proc.wait(timeout=10) == 0


# --------------------------------------------------------------------------
# a server that is still starting


def blocked_server(make_server, engine="memory"):
    """A server whose start-up blocks opening its audit log (a FIFO) after
    the PID file and the HTTP server are up. Returns (server, fifo)."""
    s = make_server(start=False)
    fifo = os.path.join(s.dir, "audit.fifo")
    os.mkfifo(fifo)
    s.config_path = os.path.join(s.dir, "server.toml")
    with open(s.config_path, "w") as f:
        f.write(f'[storage]\nengine = "{engine}"\n'
                f'[authz]\naudit_enabled = true\n'
                f'audit_log_path = "{fifo}"\n')
    s.start(wait=False)

    def starting():
        assert s.proc.poll() is None, s.log()
        try:
            st, body, _ = http_get(s.http_port, "/readyz", timeout=1.0)
        except OSError:
            return False
        return st == 503 and b"starting" in body
    assert wait_until(starting, timeout=20), s.log()
    return s, fifo


@contextlib.contextmanager
def fifo_reader(fifo):
    """Opens the FIFO for reading (which lets the blocked start-up go
    on) and keeps it open until the block ends."""
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        yield
    finally:
        os.close(fd)


def test_status_and_stop_while_starting(make_server):
    s, fifo = blocked_server(make_server)
    try:
        with open(pid_path(s)) as f:
            assert f.readline() == f"{s.proc.pid}\n", \
                "the PID is written as soon as the file is locked"
        r, st = status_json(s)
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert st["running"] is True, st
        assert st["pid"] == s.proc.pid, st
        assert st["status"] == "STARTING", st
        h = run_cli(s.args("status")[1:], timeout=20)
        assert h.returncode == 0
        assert f"starting (pid {s.proc.pid})" in h.stdout, h.stdout
        assert "STARTING" in h.stdout
        stop = subprocess.Popen([SERVER_BIN] + s.args("stop", "--timeout",
                                                      "30")[1:],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            line = stop.stdout.readline()
            assert f"sent SIGTERM to amaters-server (pid {s.proc.pid})" \
                in line, (line, stop.stderr.read())
            with fifo_reader(fifo):
                out, err = stop.communicate(timeout=40)
                assert stop.returncode == 0, (out, err)
                assert s.proc.wait(timeout=20) == 0, s.log()
        finally:
            if stop.poll() is None:
                stop.kill()
                stop.wait()
    finally:
        if s.proc.poll() is None:
            with fifo_reader(fifo):
                s.stop()
    log = s.log()
    assert "start-up interrupted by SIGTERM" in log, log
    assert "serving gRPC on" not in log, log
    assert not os.path.exists(pid_path(s))


# --------------------------------------------------------------------------
# the data directory lock


@pytest.mark.parametrize("engine", ["memory", "lsm"])
def test_second_server_with_another_pid_file_refused(make_server, engine,
                                                     tmpdir_path):
    cfg = f'[storage]\nengine = "{engine}"\n'
    a = make_server(cfg)
    other_pid = os.path.join(tmpdir_path, "other.pid")
    b = make_server(cfg, start=False,
                    env={"AMATERS_SERVER__PID_FILE": other_pid})
    b.data_dir = a.data_dir
    rc, out = start_failing(b)
    assert rc == 1, out
    assert (f"data directory {os.path.realpath(a.data_dir)} is in use by "
            f"another amaters-server (pid {a.proc.pid})") in out, out
    assert "RocksDB" not in out and "IO error" not in out, out
    assert not os.path.exists(other_pid)
    server_alive_and_serving(a)


def test_repair_refuses_a_data_dir_in_use(make_server, tmpdir_path):
    """repair needs the server stopped: it finds it by the data directory
    lock, whatever the server's PID file."""
    a = make_server('[storage]\nengine = "lsm"\n',
                    env={"AMATERS_SERVER__PID_FILE":
                         os.path.join(tmpdir_path, "a.pid")})
    r = run_cli(["-d", a.data_dir, "repair", "--no-backup"],
                env={"AMATERS_STORAGE__ENGINE": "lsm"}, timeout=60)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert (f"data directory {a.data_dir} is in use: an amaters-server "
            f"(pid {a.proc.pid}) is running on it; stop it first") \
        in r.stderr, r.stderr
    assert "repaired" not in r.stdout
    server_alive_and_serving(a)


def test_data_dir_lock_released_at_exit(make_server):
    """The same data directory serves again once its server stopped, with
    or without a lock file left behind."""
    s = make_server()
    assert os.path.exists(os.path.join(s.data_dir, "amaters-server.lock"))
    assert s.stop() == 0
    s.restart()
    server_alive_and_serving(s)
    s.signal(signal.SIGKILL)
    s.proc.wait(timeout=10)
    s.restart()
    server_alive_and_serving(s)


def test_exiting_server_keeps_another_servers_pid_file(make_server,
                                                       tmpdir_path):
    """A's PID file was deleted (by hand, a tmp cleaner) and B, on another
    data directory, made a new one at the same path: A's exit must not
    remove B's file, or stop and status could no longer find B."""
    shared = os.path.join(tmpdir_path, "shared.pid")
    env = {"AMATERS_SERVER__PID_FILE": shared}
    a = make_server(env=env)
    os.unlink(shared)
    b = make_server(env=env)
    assert a.stop() == 0
    assert os.path.exists(shared), "A removed B's PID file"
    r = run_cli(b.args("status", "--format", "json")[1:], env=env,
                timeout=20)
    st = json.loads(r.stdout)
    assert r.returncode == 0 and st["running"] is True, (r.stdout, r.stderr)
    assert st["pid"] == b.proc.pid, st
    server_alive_and_serving(b)


def test_stop_does_not_signal_across_pid_namespaces(tmpdir_path):
    """Two containers on one data volume: the server runs in PID namespace
    A, where its pid is small, and `stop` runs in a sibling namespace B,
    where the same number belongs to another process. The kernel reports
    the lock holder as pid 0 there: stop must signal nothing."""
    if not SANDBOX:
        pytest.skip("no PID namespaces (unshare)")
    from conftest import free_port
    data = os.path.join(tmpdir_path, "data")
    env = dict(os.environ)
    env["AMATERS_METRICS__BIND_ADDRESS"] = f"127.0.0.1:{free_port()}"
    ns = ["unshare", "--user", "--map-root-user", "--pid", "--fork",
          "--kill-child", "--", "sh", "-c"]
    srv = subprocess.Popen(
        ns + [f'"{SERVER_BIN}" --bind 127.0.0.1:{free_port()} -d "{data}" '
              'start & wait'], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        pidfile = os.path.join(data, "amaters-server.pid")

        def serving():
            try:
                with open(pidfile) as f:
                    return "grpc=" in f.read()
            except OSError:
                return False
        assert wait_until(serving, timeout=30), "server did not start"
        with open(pidfile) as f:
            inner = int(f.readline())
        # in B, a sleep takes the same pid number the server has in A
        script = ("while :; do sleep 60 & "
                  f'[ $! -ge {inner} ] && break; kill $!; done; '
                  f'[ $! -eq {inner} ] || exit 99; '
                  f'"{SERVER_BIN}" -d "{data}" stop --timeout 1; rc=$?; '
                  'kill -0 $! && echo canary-alive; exit $rc')
        r = subprocess.run(ns + [script], env=env, capture_output=True,
                           text=True, timeout=60, start_new_session=True)
        if r.returncode == 99:
            pytest.skip("could not line up the pid numbers")
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert "canary-alive" in r.stdout, (r.stdout, r.stderr)
        assert "nothing signalled" in r.stderr, r.stderr
        assert "sent SIGTERM" not in r.stdout
        assert serving() and srv.poll() is None
    finally:
        os.killpg(srv.pid, signal.SIGTERM)
        srv.wait(timeout=30)
