"""Black-box audit of the server against /work/shared/spec (protocol.md,
compatibility.md): statements the other integration modules do not check
yet. Every expected value comes from the spec text or from the inputs the
test sends, never from what the server happens to answer.
"""
import json
import os
import signal
import subprocess
import tempfile
import time

import grpc
import pytest

from conftest import (E, SERVER_BIN, VERSION, aql_pb2, shown,
                      query_pb2, types_pb2, blob, q_get, q_set, q_delete,
                      q_range, unique, crc, admin, assert_error, result_of,
                      single_value, affected, multi_values, rpc_code,
                      run_cli, http_get, wait_until, server_alive_and_serving)

SHARED = os.environ.get("AMATERS_SHARED_DIR", "/work/shared")
AUTH_TOML = os.path.join(SHARED, "compat", "reference-examples",
                         "server_with_auth.toml")
NOW = 1_700_000_000


def show(args=(), env=None):
    """validate-config --show output (stdout) after asserting exit 0."""
    r = run_cli(list(args) + ["validate-config", "--show"], env=env,
                timeout=15)
    assert r.returncode == 0, r.stderr
    return r.stdout


def write_cfg(tmp_path, text, name="audit.toml"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


# --------------------------------------------------------------------------
# Configuration (compatibility.md "Configuration")


def test_defaults_are_the_documented_ones():
    """'gRPC on 127.0.0.1:50051 ...; health and metrics HTTP on
    127.0.0.1:9090; data in ./data; PID file in the data dir.'"""
    out = show()
    assert shown(out, "bind_address", "server") == '"127.0.0.1:50051"'
    assert shown(out, "bind_address", "metrics") == '"127.0.0.1:9090"'
    assert shown(out, "data_dir", "server") in ('"./data"', '"data"')
    pid = shown(out, "pid_file", "server").strip('"')
    assert pid == "" or pid.startswith(("./data/", "data/")), pid


EVERY_KEY = """
[server]
bind_address = "127.0.0.1:7001"
data_dir = "./d"
pid_file = "./d/x.pid"
max_connections = 10
shutdown_timeout_secs = 5
[storage]
engine = "memory"
memtable_size_mb = 8
block_cache_size_mb = 8
[storage.wal]
enabled = true
dir = "wal"
segment_size_mb = 8
sync_mode = "none"
[storage.compaction]
strategy = "leveled"
num_levels = 4
level_multiplier = 8
max_concurrent = 1
[network]
tls_enabled = false
tls_cert = ""
tls_key = ""
tls_ca = ""
require_client_cert = false
connection_timeout_secs = 10
keepalive_interval_secs = 20
[cluster]
enabled = false
node_id = 3
peers = ["1:127.0.0.1:7101", "2:127.0.0.1:7102"]
heartbeat_interval_ms = 50
election_timeout_ms = 500
[logging]
level = "debug"
format = "compact"
file_enabled = false
file_path = "./d/log.txt"
[logging.rotation]
enabled = true
max_size_mb = 5
max_backups = 2
[metrics]
enabled = true
bind_address = "127.0.0.1:7002"
export_interval_secs = 15
[auth]
enabled = false
methods = ["jwt"]
reject_unauthenticated = true
[authz]
enabled = false
default_role = "user"
roles_file = ""
default_mode = "deny-by-default"
audit_enabled = false
audit_log_path = "./d/audit.jsonl"
"""


def test_every_documented_key_is_accepted(tmp_path):
    """Every key compatibility.md lists for the original schema loads."""
    p = write_cfg(tmp_path, EVERY_KEY)
    r = run_cli(["-c", p, "validate-config"], timeout=15)
    assert r.returncode == 0, r.stderr
    out = show(["-c", p])
    # and each has an effect on the effective configuration
    assert shown(out, "bind_address", "server") == '"127.0.0.1:7001"'
    assert shown(out, "engine", "storage") == '"memory"'
    assert shown(out, "sync_mode", "storage.wal") == '"none"'
    assert shown(out, "max_concurrent", "storage.compaction") == "1"
    assert shown(out, "keepalive_interval_secs", "network") == "20"
    assert shown(out, "node_id", "cluster") == "3"
    assert shown(out, "format", "logging") == '"compact"'
    assert shown(out, "max_backups", "logging.rotation") == "2"
    assert shown(out, "export_interval_secs", "metrics") == "15"
    assert shown(out, "default_role", "authz") == '"user"'


def test_empty_file_is_a_working_config(tmp_path):
    """'every table is optional (defaults fill in)'."""
    p = write_cfg(tmp_path, "# nothing\n")
    r = run_cli(["-c", p, "validate-config"], timeout=15)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("section,key,good", [
    ("storage", "engine", ["memory", "lsm"]),
    ("storage.wal", "sync_mode", ["always", "interval", "none"]),
    ("logging", "format", ["pretty", "compact", "json"]),
])
def test_enumerated_values(tmp_path, section, key, good):
    """'engine (memory | lsm)', 'sync_mode (always | interval | none)',
    'format (pretty | compact | json)': those load, others do not."""
    for v in good:
        p = write_cfg(tmp_path, f'[{section}]\n{key} = "{v}"\n')
        r = run_cli(["-c", p, "validate-config"], timeout=15)
        assert r.returncode == 0, (v, r.stderr)
    p = write_cfg(tmp_path, f'# x\n[{section}]\n{key} = "bogus-value"\n')
    r = run_cli(["-c", p, "validate-config"], timeout=15)
    assert r.returncode == 1, r
    msg = r.stderr + r.stdout
    assert "audit.toml:3" in msg and key in msg, msg


@pytest.mark.parametrize("section", ["storage.wal", "storage.compaction",
                                     "logging.rotation", "auth.mtls",
                                     "auth.jwt", "auth.api_key", "metrics",
                                     "network", "cluster", "authz"])
def test_unknown_key_in_any_table_names_file_line_key(tmp_path, section):
    """'every key has an effect or is rejected as unknown with a clear
    message naming the file, line and key'."""
    p = write_cfg(tmp_path, f"[{section}]\n\nno_such_key_x = 1\n")
    r = run_cli(["-c", p, "validate-config"], timeout=15)
    assert r.returncode == 1, r
    msg = r.stderr + r.stdout
    assert "audit.toml" in msg and ":3" in msg, msg
    assert "no_such_key_x" in msg, msg


@pytest.mark.parametrize("text,line", [
    ("[server]\nmax_connections = 5\nmax_connections = 6\n", 3),
    ("[server]\nbind_address = 5\n", 2),
    ("[server\nmax_connections = 5\n", 1),
], ids=["duplicate", "wrong-type", "syntax"])
def test_invalid_toml_is_exit_1_with_line(tmp_path, text, line):
    p = write_cfg(tmp_path, text)
    r = run_cli(["-c", p, "validate-config"], timeout=15)
    assert r.returncode == 1, r
    assert f"audit.toml:{line}" in r.stderr + r.stdout, r.stderr


@pytest.mark.parametrize("var,section,key,value,expect", [
    ("AMATERS_STORAGE__ENGINE", "storage", "engine", "memory", '"memory"'),
    ("AMATERS_LOGGING__FORMAT", "logging", "format", "json", '"json"'),
    ("AMATERS_SERVER__MAX_CONNECTIONS", "server", "max_connections", "77",
     "77"),
    ("AMATERS_NETWORK__KEEPALIVE_INTERVAL_SECS", "network",
     "keepalive_interval_secs", "33", "33"),
    ("AMATERS_METRICS__EXPORT_INTERVAL_SECS", "metrics",
     "export_interval_secs", "12", "12"),
    ("AMATERS_CLUSTER__HEARTBEAT_INTERVAL_MS", "cluster",
     "heartbeat_interval_ms", "70", "70"),
    ("AMATERS_AUTHZ__DEFAULT_ROLE", "authz", "default_role", "reader",
     '"reader"'),
])
def test_env_general_rule_any_key(var, section, key, value, expect):
    """'any key can be overridden from the environment by one general rule
    (AMATERS_<SECTION>__<KEY>)'."""
    assert shown(show(env={var: value}), key, section) == expect


def test_precedence_defaults_file_env_cli(tmp_path):
    """'Precedence: defaults < file < env < CLI flags.'"""
    p = write_cfg(tmp_path, '[server]\ndata_dir = "/f/file"\n'
                  'bind_address = "127.0.0.1:1111"\n[logging]\n'
                  'level = "warn"\n')
    out = show(["-c", p])
    assert shown(out, "data_dir", "server") == '"/f/file"'
    assert shown(out, "bind_address", "server") == '"127.0.0.1:1111"'
    assert shown(out, "level", "logging") == '"warn"'
    env = {"AMATERS_SERVER__DATA_DIR": "/e/env",
           "AMATERS_SERVER__BIND_ADDRESS": "127.0.0.1:2222",
           "AMATERS_LOGGING__LEVEL": "debug"}
    out = show(["-c", p], env=env)
    assert shown(out, "data_dir", "server") == '"/e/env"'
    assert shown(out, "bind_address", "server") == '"127.0.0.1:2222"'
    assert shown(out, "level", "logging") == '"debug"'
    out = show(["-c", p, "-d", "/c/cli", "-b", "127.0.0.1:3333",
                "--log-level", "error"], env=env)
    assert shown(out, "data_dir", "server") == '"/c/cli"'
    assert shown(out, "bind_address", "server") == '"127.0.0.1:3333"'
    assert shown(out, "level", "logging") == '"error"'
    # long option spellings
    out = show(["--config", p, "--data-dir", "/c/long", "--bind",
                "127.0.0.1:4444"], env=env)
    assert shown(out, "data_dir", "server") == '"/c/long"'
    assert shown(out, "bind_address", "server") == '"127.0.0.1:4444"'


def test_legacy_env_names_between_file_and_cli(tmp_path):
    """The 4 legacy names 'keep working': they beat the file, CLI flags
    beat them."""
    p = write_cfg(tmp_path, '[server]\ndata_dir = "/f/file"\n'
                  'bind_address = "127.0.0.1:1111"\n[logging]\n'
                  'level = "warn"\n[network]\ntls_enabled = true\n'
                  'tls_cert = "/x/c.pem"\ntls_key = "/x/k.pem"\n')
    env = {"AMATERS_DATA_DIR": "/l/legacy",
           "AMATERS_BIND_ADDRESS": "127.0.0.1:5555",
           "AMATERS_LOG_LEVEL": "trace", "AMATERS_TLS_ENABLED": "false"}
    out = show(["-c", p], env=env)
    assert shown(out, "data_dir", "server") == '"/l/legacy"'
    assert shown(out, "bind_address", "server") == '"127.0.0.1:5555"'
    assert shown(out, "level", "logging") == '"trace"'
    assert shown(out, "tls_enabled", "network") == "false"
    out = show(["-c", p, "-d", "/c/cli", "-b", "127.0.0.1:6666",
                "--log-level", "error"], env=env)
    assert shown(out, "data_dir", "server") == '"/c/cli"'
    assert shown(out, "bind_address", "server") == '"127.0.0.1:6666"'
    assert shown(out, "level", "logging") == '"error"'


def test_reference_config_values_are_taken(tmp_path):
    """server_with_auth.toml 'must load as is' and its values apply."""
    out = show(["-c", AUTH_TOML])
    assert shown(out, "bind_address", "server") == '"0.0.0.0:7878"'
    assert shown(out, "sync_mode", "storage.wal") == '"interval"'
    assert shown(out, "format", "logging") == '"json"'
    assert shown(out, "default_mode", "authz") == '"deny-by-default"'
    assert shown(out, "tls_enabled", "network") == "true"


# --------------------------------------------------------------------------
# Command line (compatibility.md "Command line")


@pytest.mark.parametrize("text,key", [
    ('[cluster]\nenabled = true\npeers = ["2:127.0.0.1:7001"]\n',
     "cluster.enabled"),
    ('[auth]\nenabled = true\nmethods = ["mtls"]\n', "mtls"),
])
def test_validate_config_refuses_what_start_refuses(tmp_path, text, key):
    """validate-config and start agree: a setting this build cannot honour
    fails both with exit 1 and a message naming it."""
    cfg = write_cfg(tmp_path, text)
    data = str(tmp_path / "data")
    v = run_cli(["-c", cfg, "-d", data, "validate-config"], timeout=15)
    assert v.returncode == 1, v.stdout
    assert key in v.stderr, v.stderr
    st = run_cli(["-c", cfg, "-d", data, "-b", "127.0.0.1:0", "start"],
                 timeout=30)
    assert st.returncode == 1
    assert key in st.stderr, st.stderr


@pytest.mark.parametrize("args", [
    ["status", "--format", "xml"],
    ["stop", "--timeout", "abc"],
    ["stop", "--timeout"],
    ["validate-config", "unexpected"],
    ["version", "--bogus"],
    ["validate-config", "-c"],
    ["start", "--foreground", "--nope"],
], ids=["status-format", "stop-timeout-nan", "stop-timeout-missing",
        "extra-arg", "version-flag", "config-no-arg", "start-flag"])
def test_more_usage_errors_exit_2(tmp_path, args):
    """'Exit codes: 0 ok, 1 error, 2 usage error.'"""
    r = subprocess.run([SERVER_BIN] + args, capture_output=True, text=True,
                       timeout=10, cwd=tmp_path)
    assert r.returncode == 2, (args, r.returncode, r.stderr)
    assert not (tmp_path / "data").exists()


def test_status_falls_back_to_pid_file(make_server):
    """'status ... (asks the running server over the network, falls back
    to the PID file)': a server that does not answer is still found."""
    s = make_server()
    s.signal(signal.SIGSTOP)
    try:
        r = run_cli(s.args("status", "--format", "json")[1:], timeout=30)
    finally:
        s.signal(signal.SIGCONT)
    st = json.loads(r.stdout)
    assert st["running"] is True, st
    assert st.get("pid") in (None, s.proc.pid), st


def test_start_foreground_flag(make_server):
    """'start [--foreground]' is accepted and serves."""
    s = make_server(extra_args=["--foreground"])
    server_alive_and_serving(s)


def test_version_and_help_exit_0():
    for args in (["version"], ["version", "--verbose"], ["--help"]):
        assert run_cli(args, timeout=10).returncode == 0, args


# --------------------------------------------------------------------------
# Configuration seen from a running server


def test_pid_file_setting_applies(make_server):
    d = tempfile.mkdtemp()
    pf = os.path.join(d, "custom.pid")
    s = make_server(f'[server]\npid_file = "{pf}"\n')
    with open(pf) as f:
        assert f.read().split()[0] == str(s.proc.pid)
    s.stop()
    assert not os.path.exists(pf)


def test_logging_file_json(make_server):
    """[logging] file_enabled, file_path, format = json have an effect."""
    d = tempfile.mkdtemp()
    lf = os.path.join(d, "server.log")
    s = make_server(f'[logging]\nformat = "json"\nfile_enabled = true\n'
                    f'file_path = "{lf}"\n')
    s.client().health()
    s.stop()
    with open(lf) as f:
        lines = [ln for ln in f.read().split("\n") if ln.strip()]
    assert lines
    for ln in lines:
        assert isinstance(json.loads(ln), dict), ln


def test_metrics_disabled_means_no_http(make_server):
    """[metrics] enabled = false: no health/metrics listener, gRPC
    serves."""
    s = make_server("[metrics]\nenabled = false\n", start=False)
    s.start(wait=False)
    cl = s.client()
    ok = wait_until(lambda: rpc_code(cl.health)[0] == grpc.StatusCode.OK,
                    timeout=20, interval=0.05)
    assert ok, s.log()
    with pytest.raises(OSError):
        http_get(s.http_port, "/livez", timeout=1)


def test_env_engine_override_applies(make_server):
    """AMATERS_STORAGE__ENGINE=memory: nothing survives a restart, while
    the default (lsm) engine keeps acknowledged data."""
    s = make_server(env={"AMATERS_STORAGE__ENGINE": "memory"})
    result_of(s.client().set("c", b"k", b"v"))
    s.stop()
    s.restart()
    assert single_value(s.client().get("c", b"k")) is None
    s2 = make_server()
    result_of(s2.client().set("c", b"k", b"v"))
    s2.stop()
    s2.restart()
    assert single_value(s2.client().get("c", b"k")).data == b"v"


def _h2_frames(sock, seconds):
    """(time, type) of the HTTP/2 frames the server sends within `seconds`
    after our client preface; answers SETTINGS and PING like a client."""
    import struct
    sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                 + struct.pack(">I", 0)[1:] + bytes([4, 0])
                 + struct.pack(">I", 0))
    sock.settimeout(0.2)
    t0 = time.monotonic()
    buf, frames = b"", []
    while time.monotonic() - t0 < seconds:
        try:
            d = sock.recv(65536)
        except OSError:
            continue
        if not d:
            break
        buf += d
        while len(buf) >= 9:
            ln, ty, fl = int.from_bytes(buf[:3], "big"), buf[3], buf[4]
            if len(buf) < 9 + ln:
                break
            frames.append((time.monotonic() - t0, ty, fl))
            if ty == 4 and not fl & 1:
                sock.sendall(bytes([0, 0, 0, 4, 1, 0, 0, 0, 0]))
            if ty == 6 and not fl & 1:
                sock.sendall(bytes([0, 0, 8, 6, 1, 0, 0, 0, 0])
                             + buf[9:9 + ln])
            buf = buf[9 + ln:]
    return frames


def test_keepalive_interval_secs_has_effect(make_server):
    """[network] keepalive_interval_secs: the server pings that often."""
    import socket
    s = make_server("[network]\nkeepalive_interval_secs = 1\n")
    with socket.create_connection(("127.0.0.1", s.grpc_port)) as so:
        pings = [t for t, ty, fl in _h2_frames(so, 3.6)
                 if ty == 6 and not fl & 1]
    assert 2 <= len(pings) <= 5, pings


def test_connection_timeout_secs_has_effect(make_server):
    """[network] connection_timeout_secs: a connection that never
    completes its HTTP/2 handshake is closed after that time."""
    import socket
    s = make_server("[network]\nconnection_timeout_secs = 1\n")
    with socket.create_connection(("127.0.0.1", s.grpc_port)) as so:
        so.settimeout(0.5)
        t0 = time.monotonic()
        closed = None
        while time.monotonic() - t0 < 8:
            try:
                if not so.recv(4096):
                    closed = time.monotonic() - t0
                    break
            except socket.timeout:
                continue
            except OSError:
                closed = time.monotonic() - t0
                break
    assert closed is not None and 0.5 <= closed < 5, closed
    server_alive_and_serving(s)


# --------------------------------------------------------------------------
# Health and metrics HTTP


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/healthz", "/livez"])
def test_wrong_method_405_other_paths(module_server, method, path):
    assert http_get(module_server.http_port, path, method=method)[0] == 405


def test_metrics_content_type_is_exposition_0_0_4(module_server):
    st, _, hdr = http_get(module_server.http_port, "/metrics")
    assert st == 200
    ctype = {k.lower(): v for k, v in hdr.items()}["content-type"]
    assert ctype.startswith("text/plain"), ctype
    assert "version=0.0.4" in ctype.replace(" ", ""), ctype


def test_health_reports_components(module_server):
    """'JSON summary with per-component status': storage and gRPC."""
    for path in ("/health", "/healthz"):
        st, body, _ = http_get(module_server.http_port, path)
        assert st == 200
        text = body.decode().lower()
        assert "storage" in text and "grpc" in text, body


# --------------------------------------------------------------------------
# Query semantics gaps


def test_collection_length_counts_bytes_4byte_utf8(mclient):
    """'1..255 bytes of UTF-8': 63 four-byte characters (252 bytes) are a
    name, 64 (256 bytes) are not."""
    ok = "\U0001F600" * 63
    base = unique().encode()
    result_of(mclient.set(ok, base, b"v"))
    assert single_value(mclient.get(ok, base)).data == b"v"
    bad = "\U0001F600" * 64
    assert_error(mclient.set(bad, base, b"v"),
                 E.ERROR_VALIDATION_INVALID_COLLECTION)
    assert_error(mclient.query(q_range(bad, b"\x00")),
                 E.ERROR_VALIDATION_INVALID_COLLECTION)


def test_delete_is_namespaced(mclient):
    a, b = unique("users"), unique("orders")
    result_of(mclient.set(a, b"k1", b"A"))
    result_of(mclient.set(b, b"k1", b"B"))
    assert affected(mclient.delete(a, b"k1")) == 1
    assert single_value(mclient.get(b, b"k1")).data == b"B"
    assert affected(mclient.delete(a, b"k1")) == 0


def test_range_bound_key_over_64k(mclient):
    """'key <= 64 KiB ... beyond -> ERROR_VALIDATION_SIZE_EXCEEDED'."""
    c = unique()
    assert_error(mclient.query(q_range(c, b"s" * 65_537)),
                 E.ERROR_VALIDATION_SIZE_EXCEEDED)
    assert_error(mclient.query(q_range(c, b"a", b"e" * 65_537)),
                 E.ERROR_VALIDATION_SIZE_EXCEEDED)


def test_range_limit_larger_than_keys_and_with_end(mclient):
    c = unique()
    keys = [b"k%02d" % i for i in range(10)]
    for k in keys:
        result_of(mclient.set(c, k, k))
    got = multi_values(mclient.query(q_range(c, b"k02", b"k08", limit=3)))
    assert [kv.key.data for kv in got] == keys[2:5]
    got = multi_values(mclient.query(q_range(c, b"k02", b"k05", limit=50)))
    assert [kv.key.data for kv in got] == keys[2:5]
    for kv in got:
        assert kv.value.data == kv.key.data
        assert kv.value.metadata.checksum == crc(kv.key.data)


def test_value_over_default_max_refused_not_crash(module_server, mclient):
    """'value <= the configured max (default 64 MiB) ... beyond ->
    ERROR_VALIDATION_SIZE_EXCEEDED or RESOURCE_EXHAUSTED, never a
    crash'."""
    c = unique()
    data = b"\x00" * ((64 << 20) + 1)
    code, resp = rpc_code(mclient.query, q_set(c, b"big", blob(data)))
    if code == grpc.StatusCode.OK:
        assert_error(resp, E.ERROR_VALIDATION_SIZE_EXCEEDED)
    else:
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, code
    del data
    assert single_value(mclient.get(c, b"big")) is None
    server_alive_and_serving(module_server)


def test_unary_errors_are_status_ok_with_category(mclient):
    """'Unary calls ...: the gRPC status is OK and the failure goes in the
    error oneof, with the request's request_id echoed and
    execution_time_ms set' for each client-error code."""
    c = unique()
    cases = [
        (q_set(c, b"k", blob(b"v", checksum=crc(b"v") ^ 0xFF)),
         E.ERROR_VALIDATION_INVALID_VALUE),
        (q_set(c, b"k", blob(b"v", with_metadata=False)),
         E.ERROR_PROTOCOL_MISSING_FIELD),
        (q_get(c, b"k" * 65_537), E.ERROR_VALIDATION_SIZE_EXCEEDED),
        (q_get("", b"k"), E.ERROR_VALIDATION_INVALID_COLLECTION),
        (q_delete(c, b""), E.ERROR_VALIDATION_INVALID_KEY),
    ]
    for i, (q, code) in enumerate(cases):
        rid = f"audit-{i}"
        call = mclient._query.with_call(mclient.request(q, request_id=rid),
                                        timeout=10)
        resp, info = call
        assert info.code() == grpc.StatusCode.OK
        assert_error(resp, code, request_id=rid)
        assert resp.execution_time_ms < 60_000


# --------------------------------------------------------------------------
# Streaming and ExecuteInteractive


def _shape(chunks):
    return [(c.WhichOneof("chunk"), c.sequence,
             len(c.batch.values) if c.WhichOneof("chunk") == "batch"
             else c.end.total_count,
             c.batch.has_more) for c in chunks]


@pytest.fixture(scope="module")
def coll250(mclient):
    c = unique("s250")
    r = mclient.batch([q_set(c, b"k%04d" % i, blob(b"v%d" % i))
                       for i in range(250)])
    assert r.WhichOneof("response") == "results"
    return c


@pytest.mark.parametrize("limit,sizes", [(100, [100]), (200, [100, 100]),
                                         (1, [1]), (101, [100, 1])])
def test_stream_limit_at_batch_boundary(mclient, coll250, limit, sizes):
    """'numbered by sequence from 0, has_more true on all but the last,
    then end{total_count} with sequence = number of batches'."""
    chunks = mclient.stream(q_range(coll250, b"", limit=limit))
    n = len(sizes)
    want = [("batch", i, sz, i < n - 1) for i, sz in enumerate(sizes)]
    want.append(("end", n, sum(sizes), False))
    assert _shape(chunks) == want


def test_stream_get_empty_value(mclient):
    """An empty value is a value on the stream as well."""
    c = unique()
    result_of(mclient.set(c, b"e", b"", created_at=NOW))
    chunks = mclient.stream(q_get(c, b"e"))
    assert _shape(chunks) == [("batch", 0, 1, False), ("end", 1, 1, False)]
    kv = chunks[0].batch.values[0]
    assert kv.key.data == b"e" and kv.value.data == b""
    assert kv.value.HasField("metadata")
    assert kv.value.metadata.created_at == NOW


def test_stream_update_failed_precondition(mclient):
    """'Other query kinds -> FAILED_PRECONDITION' (UPDATE too)."""
    pred = types_pb2.Predicate(eq=types_pb2.EqPredicate(
        column=types_pb2.ColumnRef(name="a"), value=blob(b"1")))
    q = query_pb2.Query(update=query_pb2.UpdateQuery(
        collection=unique(), predicate=pred,
        updates=[types_pb2.Update(set=types_pb2.SetUpdate(
            column=types_pb2.ColumnRef(name="a"), value=blob(b"2")))]))
    with pytest.raises(grpc.RpcError) as ei:
        mclient.stream(q, timeout=10)
    assert ei.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_interactive_error_replies_echo_request_id(mclient):
    """'each ExecuteInteractive reply: the gRPC status is OK and the
    failure goes in the error oneof, with the request's request_id
    echoed'; the stream goes on after an error."""
    c = unique()
    reqs = [
        aql_pb2.QueryRequest(query=q_get(c, b""), request_id="ia-1",
                             timeout_ms=30000, version=VERSION),
        aql_pb2.QueryRequest(query=q_get(c, b"k"), request_id="ia-2",
                             timeout_ms=30000,
                             version=types_pb2.Version(major=1)),
        aql_pb2.QueryRequest(query=q_set(c, b"k", blob(b"v")),
                             request_id="ia-3", timeout_ms=30000,
                             version=VERSION),
        aql_pb2.QueryRequest(query=query_pb2.Query(
            filter=query_pb2.FilterQuery(collection=c)),
            request_id="ia-4", timeout_ms=30000, version=VERSION),
    ]
    out = list(mclient._interactive(iter(reqs), timeout=20))
    assert [r.request_id for r in out] == ["ia-1", "ia-2", "ia-3", "ia-4"]
    assert_error(out[0], E.ERROR_VALIDATION_INVALID_KEY)
    assert_error(out[1], E.ERROR_PROTOCOL_UNSUPPORTED_VERSION)
    assert affected(out[2]) == 1
    assert_error(out[3], E.ERROR_COMPUTE_INVALID_OPERATION, category=None)


def test_interactive_admin_is_the_execute_query_answer(server, client):
    """ExecuteInteractive gives 'exactly the ExecuteQuery answer', admin
    commands included."""
    for i in range(3):
        result_of(client.set("ia", b"k%d" % i, b"v"))
    out = client.interactive([q_get("x", b"__admin__:STATS"),
                              q_get("x", b"__admin__:NO_SUCH_CMD")])
    assert len(out) == 2
    v = single_value(out[0])
    assert v is not None
    assert v.metadata.checksum == crc(v.data)
    st = json.loads(v.data)
    assert st["key_count"] == 3 and st["total_keys"] == 3
    assert single_value(out[1]) is None


# --------------------------------------------------------------------------
# Admin tunnel


@pytest.mark.parametrize("cmd", ["Stats", "sTaTs", "verify", "Verify",
                                 "nodes", "cluster_info", "metrics",
                                 "logs", "Logs 2", "compact"])
def test_admin_command_case_insensitive(server, client, cmd):
    resp, body = admin(client, cmd)
    assert resp.WhichOneof("response") == "result", resp
    assert isinstance(body, dict), (cmd, body)


def test_admin_logs_without_n(server, client):
    _, lg = admin(client, "LOGS")
    assert isinstance(lg["lines"], list) and lg["lines"]
    assert all(isinstance(s, str) for s in lg["logs"])
    assert len(lg["logs"]) == len(lg["lines"])
    for ln in lg["lines"]:
        assert isinstance(ln["message"], str)
        assert isinstance(ln["timestamp"], str)


@pytest.mark.parametrize("mode", ["full", "incremental"])
def test_admin_backup_modes_and_restore_fields(server, client, mode):
    """'BACKUP <name> [full|incremental]', 'RESTORE <name>' answering
    {restored, keys_restored, bytes_restored}."""
    data = {b"a": b"1" * 10, b"b": b"2" * 20, b"c": b""}
    for k, v in data.items():
        result_of(client.set("bk", k, v))
    resp, b = admin(client, f"BACKUP snap-{mode.lower()} {mode}")
    assert resp.WhichOneof("response") == "result", resp
    assert isinstance(b, dict)
    for k in data:
        assert affected(client.delete("bk", k)) == 1
    _, r = admin(client, f"restore snap-{mode.lower()}")
    assert r["restored"] is True
    assert r["keys_restored"] == len(data)
    assert r["bytes_restored"] >= sum(len(v) for v in data.values())
    for k, v in data.items():
        got = single_value(client.get("bk", k))
        assert got is not None and got.data == v, k


def test_admin_stats_counts_collections(server, client):
    """'A collection exists once a key is written to it'."""
    for coll in ("c1", "c2", "c3"):
        result_of(client.set(coll, b"k", b"xyz"))
    _, st = admin(client, "STATS")
    assert st["collections_count"] == 3
    assert st["key_count"] == 3 and st["total_keys"] == 3
    assert st["total_bytes"] == st["total_size_bytes"]
    assert st["total_bytes"] >= 9


def test_admin_unknown_with_args_is_single_empty(server, client):
    for cmd in ("FROB a b", "DROP users", "statsx 1"):
        resp = client.query(q_get("c", b"__admin__:" + cmd.encode()),
                            request_id="adm-" + cmd[:4])
        assert resp.request_id == "adm-" + cmd[:4]
        assert single_value(resp) is None


def test_admin_answer_echoes_request_id(server, client):
    resp = client.query(q_get("c", b"__admin__:STATS"), request_id="adm-x")
    assert resp.request_id == "adm-x"
    v = single_value(resp)
    assert v.metadata.size == len(v.data)
    assert v.metadata.created_at > 0
