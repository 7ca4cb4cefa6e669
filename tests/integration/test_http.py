"""Health and metrics HTTP endpoints (compatibility.md "Health and metrics
HTTP"): status codes, JSON health, Prometheus text format validity and
request counters that move."""
import http.client
import json
import re
import socket

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import http_get, unique


def test_health_json(module_server):
    for path in ("/health", "/healthz"):
        st, body, hdr = http_get(module_server.http_port, path)
        assert st == 200, (path, body)
        doc = json.loads(body)
        assert isinstance(doc, dict) and doc
        ctype = {k.lower(): v for k, v in hdr.items()}.get("content-type",
                                                            "")
        assert "json" in ctype, ctype
        # a per-component summary: some nested object or list
        assert any(isinstance(v, (dict, list)) for v in doc.values()), doc


def test_readyz_and_livez(module_server):
    assert http_get(module_server.http_port, "/readyz")[0] == 200
    assert http_get(module_server.http_port, "/livez")[0] == 200


def test_unknown_path_404(module_server):
    for path in ("/nope", "/metricsx", "/health/x", "/"):
        st, _, _ = http_get(module_server.http_port, path)
        assert st == 404, path


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
@pytest.mark.parametrize("path", ["/metrics", "/health", "/readyz"])
def test_wrong_method_405(module_server, method, path):
    st, _, _ = http_get(module_server.http_port, path, method=method)
    assert st == 405, (method, path, st)


def scrape(port):
    st, body, hdr = http_get(port, "/metrics")
    assert st == 200
    ctype = {k.lower(): v for k, v in hdr.items()}.get("content-type", "")
    assert ctype.startswith("text/plain"), ctype
    text = body.decode("utf-8")
    return text, list(text_string_to_metric_families(text))


def request_counter_total(families):
    """Sum of all samples of counter families about gRPC requests."""
    tot = 0.0
    names = []
    for f in families:
        if f.type == "counter" and "request" in f.name and \
                "grpc" in f.name:
            names.append(f.name)
            for s in f.samples:
                if s.name.endswith("_total") or s.name == f.name:
                    tot += s.value
    return tot, names


def test_metrics_parse_and_format(module_server):
    module_server.client().health()
    text, fams = scrape(module_server.http_port)
    assert fams
    helps, types = {}, {}
    for line in text.splitlines():
        m = re.match(r"# (HELP|TYPE) (\S+)", line)
        if m:
            d = helps if m.group(1) == "HELP" else types
            d[m.group(2)] = d.get(m.group(2), 0) + 1
    assert all(n == 1 for n in helps.values()), \
        {k: v for k, v in helps.items() if v > 1}
    assert all(n == 1 for n in types.values()), \
        {k: v for k, v in types.items() if v > 1}
    assert types, "no TYPE lines"
    assert set(helps) == set(types)
    # every sample line belongs to a declared family
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
        base = re.sub(r"_(bucket|sum|count|total|created)$", "", name)
        assert name in types or base in types, line


def test_metrics_histograms_complete(module_server):
    cl = module_server.client()
    c = unique()
    for i in range(5):
        cl.set(c, b"k%d" % i, b"v")
    _, fams = scrape(module_server.http_port)
    hists = [f for f in fams if f.type == "histogram"]
    assert hists, "expected at least one histogram (request durations)"
    for f in hists:
        series = {}
        for s in f.samples:
            lbl = tuple(sorted((k, v) for k, v in s.labels.items()
                               if k != "le"))
            d = series.setdefault(lbl, {"b": [], "sum": None, "count": None})
            if s.name == f.name + "_bucket":
                d["b"].append((float(s.labels["le"]), s.value))
            elif s.name == f.name + "_sum":
                d["sum"] = s.value
            elif s.name == f.name + "_count":
                d["count"] = s.value
        assert series, f.name
        for lbl, d in series.items():
            assert d["b"], (f.name, lbl, "no _bucket")
            assert d["sum"] is not None, (f.name, lbl, "no _sum")
            assert d["count"] is not None, (f.name, lbl, "no _count")
            les = [le for le, _ in d["b"]]
            assert les == sorted(les) and les[-1] == float("inf"), les
            counts = [v for _, v in d["b"]]
            assert counts == sorted(counts), (f.name, lbl, counts)
            assert counts[-1] == d["count"], (f.name, lbl)
            assert d["sum"] >= 0


def test_request_counters_increase(module_server):
    cl = module_server.client()
    _, before = scrape(module_server.http_port)
    t0, names = request_counter_total(before)
    assert names, "no gRPC request counter family"
    c = unique()
    n = 25
    for i in range(n):
        cl.set(c, b"k%d" % i, b"v")
    cl.get(c, b"k0")
    cl.health()
    _, after = scrape(module_server.http_port)
    t1, _ = request_counter_total(after)
    assert t1 - t0 >= n + 2, (t0, t1, names)
    assert t1 - t0 < n + 2 + 50, "counter grew by far more than we sent"


def test_request_counter_labels_distinguish_methods(module_server):
    cl = module_server.client()
    _, fams = scrape(module_server.http_port)

    def per_label_values(fams):
        out = {}
        for f in fams:
            if f.type == "counter" and "request" in f.name and \
                    "grpc" in f.name:
                for s in f.samples:
                    if s.name.endswith("_total"):
                        out[(s.name, tuple(sorted(s.labels.items())))] = \
                            s.value
        return out

    b = per_label_values(fams)
    for _ in range(7):
        cl.info()
    _, fams2 = scrape(module_server.http_port)
    a = per_label_values(fams2)
    moved = {k: a[k] - b.get(k, 0) for k in a if a[k] != b.get(k, 0)}
    assert moved, "no counter moved"
    assert any(any("GetServerInfo" in v for _, v in k[1]) and d >= 7
               for k, d in moved.items()), moved


def _gauge(fams, name):
    for f in fams:
        if f.name == name:
            return f.samples[0].value
    return None


def test_uptime_and_key_gauges_are_real(make_server):
    """Gauges the server exports must tell the truth: amaters_uptime_seconds
    counts from the start of the server (not from the first scrape) and
    agrees with GetServerInfo; amaters_keys_stored counts the keys."""
    from conftest import wait_until
    s = make_server()
    cl = s.client()
    assert wait_until(lambda: cl.info().uptime_seconds >= 1, timeout=5,
                      interval=0.05)
    c = unique()
    for i in range(3):
        cl.set(c, b"k%d" % i, b"v")
    _, fams = scrape(s.http_port)  # first scrape of this server
    up = _gauge(fams, "amaters_uptime_seconds")
    if up is not None:
        assert up >= 1.0, f"uptime gauge {up} but the server is up >= 1 s"
        assert up <= cl.info().uptime_seconds + 1
    keys = _gauge(fams, "amaters_keys_stored")
    if keys is not None:
        assert keys == 3


def test_query_string_ignored_for_routing(module_server):
    for path in ("/readyz?verbose=1", "/livez?x", "/healthz?probe=k8s"):
        st, _, _ = http_get(module_server.http_port, path)
        assert st == 200, path
    st, body, _ = http_get(module_server.http_port, "/metrics?name[]=x")
    assert st == 200 and b"# TYPE" in body


def test_write_stall_metrics_exported(make_server):
    """The storage engine's write-path health is on /metrics (the durable
    storage issue asks for write stalls next to group sizes and WAL sync
    latency): a counter of stall time and gauges of what causes stalls,
    all at rest on an idle server."""
    s = make_server()
    cl = s.client()
    c = unique()
    for i in range(20):
        cl.set(c, b"k%d" % i, b"v" * 100)
    _, fams = scrape(s.http_port)
    by = {f.name: f for f in fams}
    want = {
        "amaters_storage_write_stall_seconds": "counter",
        "amaters_storage_write_stopped": "gauge",
        "amaters_storage_delayed_write_rate_bytes": "gauge",
        "amaters_storage_pending_compaction_bytes": "gauge",
        "amaters_storage_immutable_memtables": "gauge",
        "amaters_commit_group_calls": "histogram",
        "amaters_commit_write_seconds": "histogram",
    }
    for name, typ in want.items():
        assert name in by, f"{name} missing from /metrics"
        assert by[name].type == typ, (name, by[name].type)
    assert _gauge(fams, "amaters_storage_write_stopped") == 0
    assert _gauge(fams, "amaters_storage_delayed_write_rate_bytes") == 0
    stall = [x.value for x in by["amaters_storage_write_stall_seconds"].samples
             if x.name.endswith("_total")]
    assert stall == [0.0]
    calls = [x.value for x in by["amaters_commit_group_calls"].samples
             if x.name.endswith("_sum")]
    assert calls == [20.0]   # every SET went through a commit group


def test_keep_alive_two_requests_one_connection(module_server):
    """HTTP/1.1 keep-alive: two GETs on one connection, both answered, no
    `Connection: close`, and the same socket carries both."""
    conn = http.client.HTTPConnection("127.0.0.1", module_server.http_port,
                                      timeout=5)
    try:
        conn.request("GET", "/healthz")
        r1 = conn.getresponse()
        r1.read()
        assert r1.status == 200
        assert (r1.getheader("Connection") or "").lower() != "close", \
            r1.getheaders()
        assert not r1.will_close
        sock = conn.sock
        assert sock is not None
        conn.request("GET", "/healthz")
        r2 = conn.getresponse()
        r2.read()
        assert r2.status == 200
        assert (r2.getheader("Connection") or "").lower() != "close"
        assert conn.sock is sock
    finally:
        conn.close()


def test_pipelined_requests_both_answered(module_server):
    """Two requests sent back to back before reading: both get an answer,
    in order, on the one connection."""
    req = (b"GET /livez HTTP/1.1\r\nHost: localhost\r\n\r\n"
           b"GET /nope HTTP/1.1\r\nHost: localhost\r\n"
           b"Connection: close\r\n\r\n")
    with socket.create_connection(("127.0.0.1", module_server.http_port),
                                  timeout=5) as s:
        s.sendall(req)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    statuses = re.findall(rb"^HTTP/1\.1 (\d{3}) ", data, re.M)
    assert statuses == [b"200", b"404"], data
