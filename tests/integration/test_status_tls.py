"""`amaters-server status` against servers it cannot ask over plain gRPC
(compatibility.md, Command line: "status [--format human|json] (asks the
running server over the network, falls back to the PID file)";
docs/operations.md, status): with TLS on, or when gRPC wants credentials,
status asks the plain-HTTP /health endpoint recorded in the PID file and
reports "source": "http" with the server's real state.

Every wait is bounded; synchronisation is by polling observable state."""
import json
import os
import signal
import time

import pytest

from conftest import Pki, http_get, run_cli, write_file

JWT_REJECT = """
[auth]
enabled = true
methods = ["jwt"]
reject_unauthenticated = true

[auth.jwt]
algorithm = "HS256"
secret = "status-test-secret-0123456789abcdefghijklmnop"
"""


@pytest.fixture
def tls_server(make_server, tmpdir_path):
    p = Pki()
    ca = p.ca("Status CA")
    key, cert = p.leaf(ca, "localhost", "Amaters", server=True)
    d = os.path.join(tmpdir_path, "certs")
    os.makedirs(d)
    kp = write_file(os.path.join(d, "server.key"), p.pem(key))
    cp = write_file(os.path.join(d, "server.crt"), p.pem(cert))
    return make_server(config_text=f"""
[network]
tls_enabled = true
tls_cert = "{cp}"
tls_key = "{kp}"
""")


def status(s, fmt=None, config=True, timeout=30):
    """Runs `status` for s (with or without its config file); returns
    (exit code, stdout, stderr)."""
    more = ["--format", fmt] if fmt else []
    if config:
        args = s.args("status", *more)[1:]
    else:
        args = ["--bind", s.addr, "--data-dir", s.data_dir,
                "status"] + more
    r = run_cli(args, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def check_json_serving_over_http(s, out):
    st = json.loads(out)
    assert st["running"] is True, st
    assert st["status"] == "SERVING", st
    assert st["source"] == "http", st
    assert st["pid"] == s.proc.pid, st
    assert st["address"] == s.addr, st
    assert st["http_address"] == f"127.0.0.1:{s.http_port}", st
    assert isinstance(st["uptime_seconds"], int), st
    # the server's own uptime, from /health
    _, body, _ = http_get(s.http_port, "/health")
    assert abs(st["uptime_seconds"] - json.loads(body)["uptime_seconds"]) \
        <= 2, (st, body)
    for k in ("protocol_version", "version"):
        assert k in st, st
    return st


def test_status_json_tls_server(tls_server):
    rc, out, err = status(tls_server, "json")
    assert rc == 0, (out, err)
    st = check_json_serving_over_http(tls_server, out)
    assert st["grpc_auth_required"] is False, st


def test_status_human_tls_server(tls_server):
    rc, out, err = status(tls_server)
    assert rc == 0, (out, err)
    assert f"running (pid {tls_server.proc.pid})" in out, out
    state = [ln for ln in out.splitlines() if ln.strip().startswith(
        "status:")]
    assert len(state) == 1 and "SERVING" in state[0], out
    assert "UNREACHABLE" not in out and "HTTP" in state[0], out


def test_status_without_tls_in_config_falls_back_to_http(tls_server):
    """status run without the config file dials plain gRPC, which a TLS
    server does not answer: it still learns the state over HTTP."""
    rc, out, err = status(tls_server, "json", config=False)
    assert rc == 0, (out, err)
    check_json_serving_over_http(tls_server, out)


def test_status_auth_required_shows_state_from_http(make_server):
    s = make_server(config_text=JWT_REJECT)
    rc, out, err = status(s, "json")
    assert rc == 0, (out, err)
    st = check_json_serving_over_http(s, out)
    assert st["grpc_auth_required"] is True, st
    rc, out, err = status(s)
    assert rc == 0, (out, err)
    assert "SERVING" in out and "credentials" in out, out


def test_status_tls_server_not_answering_uses_pid_file(tls_server):
    """A stopped (SIGSTOP) server answers neither gRPC nor HTTP: status
    gives up on HTTP after its timeout and reports from the PID file."""
    tls_server.signal(signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        rc, out, err = status(tls_server, "json")
        took = time.monotonic() - t0
    finally:
        tls_server.signal(signal.SIGCONT)
    assert rc == 0, (out, err)
    st = json.loads(out)
    assert st["running"] is True and st["pid"] == tls_server.proc.pid, st
    assert st["status"] == "UNREACHABLE" and st["source"] == "pid_file", st
    assert took < 10, took
