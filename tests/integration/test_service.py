"""HealthCheck, GetServerInfo, unknown methods, many concurrent clients,
and the admin tunnel (`__admin__:<COMMAND>` GETs, compatibility.md)."""
import os
import threading
import time

import grpc
import pytest

from conftest import (E, aql_pb2, types_pb2, Client, blob, q_get, q_set,
                      q_range, unique, crc, admin, result_of, single_value,
                      affected, multi_values, wait_until, rpc_code)

NOW = 1_700_000_000


# --------------------------------------------------------------------------
# HealthCheck / GetServerInfo / unknown methods


def test_health_serving(mclient):
    assert mclient.health().status == aql_pb2.HEALTH_SERVING
    assert mclient.health("").status == aql_pb2.HEALTH_SERVING
    assert mclient.health("amaters.aql.AqlService").status == \
        aql_pb2.HEALTH_SERVING


def test_health_unknown_service(mclient):
    for name in ("no.such.Service", "bogus", "amaters.aql.AqlServiceX"):
        assert mclient.health(name).status == aql_pb2.HEALTH_SERVICE_UNKNOWN


def test_server_info(module_server, mclient):
    info = mclient.info()
    assert (info.version.major, info.version.minor, info.version.patch) == \
        (0, 2, 0)
    assert types_pb2.Version(major=0, minor=2, patch=0) in \
        list(info.supported_versions)
    caps = list(info.capabilities)
    assert caps, "capabilities must not be empty"
    assert all(caps) and len(set(caps)) == len(caps), caps
    # FILTER/UPDATE do not work yet: they must not be advertised
    for cap in caps:
        assert "filter" not in cap.lower() and "update" not in cap.lower(), \
            caps


def test_server_info_uptime_advances(mclient):
    u0 = mclient.info().uptime_seconds
    assert u0 < 3600
    assert wait_until(lambda: mclient.info().uptime_seconds >= u0 + 1,
                      timeout=4.0, interval=0.1)


@pytest.mark.parametrize("method", [
    "/amaters.aql.AqlService/NoSuchMethod",
    "/amaters.aql.AqlService/executequery",
    "/no.such.Service/ExecuteQuery",
])
def test_unknown_method_unimplemented(module_server, method):
    ch = module_server.get_channel()
    call = ch.unary_unary(method, request_serializer=None,
                          response_deserializer=None)
    t0 = time.monotonic()
    with pytest.raises(grpc.RpcError) as ei:
        call(b"", timeout=5)
    assert ei.value.code() == grpc.StatusCode.UNIMPLEMENTED, ei.value
    assert time.monotonic() - t0 < 4.0
    assert module_server.client().health().status == aql_pb2.HEALTH_SERVING


def test_unknown_streaming_method_unimplemented(module_server):
    ch = module_server.get_channel()
    call = ch.stream_stream("/amaters.aql.AqlService/Bidi",
                            request_serializer=None,
                            response_deserializer=None)
    with pytest.raises(grpc.RpcError) as ei:
        list(call(iter([b"", b""]), timeout=5))
    assert ei.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_100_concurrent_clients(module_server):
    coll = unique("many")
    nthreads, per = 100, 5
    barrier = threading.Barrier(nthreads, timeout=30)
    failures = []

    def work(t):
        ch = grpc.insecure_channel(module_server.addr)
        try:
            cl = Client(ch)
            barrier.wait()
            for i in range(per):
                k = b"t%03d-%d" % (t, i)
                data = os.urandom(16) + k * (1 + t % 7)
                r = cl.set(coll, k, data, created_at=NOW + t)
                if r.WhichOneof("response") != "result":
                    failures.append((t, i, "set", r.error.message))
                    return
                v = single_value(cl.get(coll, k))
                if v is None or v.data != data or \
                        v.metadata.created_at != NOW + t or \
                        v.metadata.checksum != crc(data):
                    failures.append((t, i, "get", v))
                    return
        except Exception as e:  # noqa: BLE001
            failures.append((t, "exc", repr(e)))
        finally:
            ch.close()

    ts = [threading.Thread(target=work, args=(t,)) for t in range(nthreads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=90)
        assert not t.is_alive(), "a client hung"
    assert not failures, failures[:5]
    vals = multi_values(module_server.client().query(q_range(coll, b"\x00")))
    assert len(vals) == nthreads * per
    assert module_server.proc.poll() is None


# --------------------------------------------------------------------------
# admin tunnel (fresh server per test: STATS counts every key)


def fill(cl):
    """5 keys in one collection, 3 in another; returns {(coll,key): data}."""
    items = {}
    for i in range(5):
        items[("users", b"u%d" % i)] = b"user-data-%d" % i * (i + 1)
    for i in range(3):
        items[("orders", b"o%d" % i)] = b"order-%d" % i
    for (c, k), d in items.items():
        result_of(cl.set(c, k, d, created_at=NOW + len(k), version=2))
    return items


def test_admin_stats(server, client):
    items = fill(client)
    resp, st = admin(client, "STATS")
    assert resp.request_id
    assert st["key_count"] == 8 and st["total_keys"] == 8
    assert st["collections_count"] == 2
    nbytes = sum(len(d) for d in items.values())
    assert st["total_bytes"] >= nbytes
    assert st["total_size_bytes"] == st["total_bytes"]
    assert affected(client.delete("users", b"u0")) == 1
    _, st2 = admin(client, "stats")  # case-insensitive
    assert st2["key_count"] == 7 and st2["total_keys"] == 7
    assert st2["total_bytes"] <= st["total_bytes"] - len(items[("users",
                                                                b"u0")])


def test_admin_answer_metadata_is_valid(server, client):
    resp = client.query(q_get("any", b"__admin__:STATS"))
    v = single_value(resp)
    assert v.metadata.size == len(v.data)
    assert v.metadata.checksum == crc(v.data)
    assert abs(v.metadata.created_at - time.time()) < 120


def test_admin_any_collection(server, client):
    fill(client)
    for coll in ("users", "x", "__system"):
        _, st = admin(client, "STATS", coll=coll)
        assert st["key_count"] == 8


def test_admin_verify(server, client):
    fill(client)
    _, v = admin(client, "VERIFY")
    assert v["ok"] is True
    assert v["checked"] == 8 and v["verified_keys"] == 8
    assert v["corrupted_keys"] == 0


def test_admin_logs(server, client):
    _, lg = admin(client, "LOGS 5")
    assert isinstance(lg["lines"], list) and isinstance(lg["logs"], list)
    assert 1 <= len(lg["lines"]) <= 5, lg
    assert len(lg["logs"]) == len(lg["lines"])
    for line, text in zip(lg["lines"], lg["logs"]):
        assert isinstance(line["message"], str) and line["message"]
        assert isinstance(line["timestamp"], str) and line["timestamp"]
        assert isinstance(text, str) and text
    _, lg1 = admin(client, "logs 1")
    assert len(lg1["lines"]) == 1


def test_admin_metrics_cluster_nodes(server, client):
    fill(client)
    _, m = admin(client, "METRICS")
    assert isinstance(m, dict) and m
    _, ci = admin(client, "CLUSTER_INFO")
    assert isinstance(ci, dict) and ci
    _, nodes = admin(client, "NODES")
    assert isinstance(nodes, dict)
    assert isinstance(nodes.get("nodes"), list)
    assert len(nodes["nodes"]) == 1, "a standalone server is one node"


def test_admin_compact_keeps_data(server, client):
    items = fill(client)
    _, r = admin(client, "COMPACT")
    assert isinstance(r, dict)
    _, r = admin(client, "COMPACT users")
    assert isinstance(r, dict)
    for (c, k), d in items.items():
        assert single_value(client.get(c, k)).data == d


def test_admin_backup_restore(server, client):
    items = fill(client)
    _, b = admin(client, "BACKUP snap1")
    assert isinstance(b, dict)
    # damage: delete three, overwrite one
    for c, k in (("users", b"u0"), ("users", b"u3"), ("orders", b"o1")):
        assert affected(client.delete(c, k)) == 1
    result_of(client.set("users", b"u1", b"overwritten"))
    _, r = admin(client, "RESTORE snap1")
    assert r["restored"] is True
    assert r["keys_restored"] == 8
    assert r["bytes_restored"] >= sum(len(d) for d in items.values())
    for (c, k), d in items.items():
        v = single_value(client.get(c, k))
        assert v is not None, (c, k)
        assert v.data == d
        assert v.metadata.created_at == NOW + len(k)
        assert v.metadata.version == 2
        assert v.metadata.checksum == crc(d)
    _, st = admin(client, "STATS")
    assert st["key_count"] == 8
    _, v = admin(client, "VERIFY")
    assert v["ok"] is True and v["checked"] == 8


@pytest.mark.parametrize("name", ["../x", "/etc/x", "a/b", "..", ".",
                                  "../../tmp/amaters-evil", "x/../../y"])
def test_admin_backup_rejects_paths(server, client, name):
    fill(client)
    resp, body = admin(client, "BACKUP " + name)
    assert resp.WhichOneof("response") == "error", \
        f"BACKUP {name!r} accepted: {body}"
    assert resp.error.category in (E.CATEGORY_CLIENT_ERROR,
                                   E.CATEGORY_NON_RETRYABLE,
                                   E.CATEGORY_AUTH)
    resp, body = admin(client, "RESTORE " + name)
    assert resp.WhichOneof("response") == "error", body
    assert not os.path.exists("/etc/x")
    assert not os.path.exists("/tmp/amaters-evil")
    assert not os.path.exists(os.path.join(server.dir, "x"))


def test_admin_backup_restore_missing(server, client):
    resp, _ = admin(client, "BACKUP")
    assert resp.WhichOneof("response") == "error"
    resp, _ = admin(client, "RESTORE never-made")
    assert resp.WhichOneof("response") == "error"


def test_admin_unknown_command(server, client):
    for cmd in ("NOPE", "DROP_EVERYTHING", "stats_x"):
        resp = client.query(q_get("c", b"__admin__:" + cmd.encode()))
        assert resp.WhichOneof("response") == "result", resp
        assert resp.result.WhichOneof("result") == "single"
        assert not resp.result.single.HasField("value")


def test_admin_prefix_is_not_an_ordinary_key(server, client):
    # a plain key that merely contains the prefix later is ordinary
    result_of(client.set("c", b"x__admin__:STATS", b"plain"))
    assert single_value(client.get("c", b"x__admin__:STATS")).data == \
        b"plain"


def test_frequent_keepalive_pings_allowed(module_server):
    """Clients ping while calls are active; the server must not answer
    pings with GOAWAY (too_many_pings)."""
    opts = [("grpc.keepalive_time_ms", 100),
            ("grpc.keepalive_timeout_ms", 2000),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.max_pings_without_data", 0),
            ("grpc.http2.min_time_between_pings_ms", 100),
            ("grpc.http2.min_ping_interval_without_data_ms", 100)]
    ch = grpc.insecure_channel(module_server.addr, options=opts)
    try:
        cl = Client(ch)
        c = unique("ka")
        t_end = time.monotonic() + 1.5
        i = 0
        while time.monotonic() < t_end:
            result_of(cl.set(c, b"k%d" % i, b"v"))
            assert single_value(cl.get(c, b"k%d" % i)).data == b"v"
            i += 1
            time.sleep(0.05)  # idle gaps let pings go out between calls
        assert cl.health().status == aql_pb2.HEALTH_SERVING
    finally:
        ch.close()


def test_sighup_keeps_serving(make_server):
    s = make_server("[logging]\nlevel = \"info\"\n")
    with open(s.config_path, "w") as f:
        f.write("[logging]\nlevel = \"debug\"\n")
    s.signal(__import__("signal").SIGHUP)
    c = s.client()
    assert c.health().status == aql_pb2.HEALTH_SERVING
    result_of(c.set("c", b"k", b"v"))
    # an invalid file on reload must not take the server down either
    with open(s.config_path, "w") as f:
        f.write("[logging]\nlevel = 42\nnot toml at all [[[\n")
    s.signal(__import__("signal").SIGHUP)
    assert c.health().status == aql_pb2.HEALTH_SERVING
    assert single_value(c.get("c", b"k")).data == b"v"
    assert s.proc.poll() is None


def test_backup_survives_restart(make_server):
    """A backup lives in the server's backup directory: a new server on
    the same data directory can RESTORE it."""
    s = make_server()
    cl = s.client()
    items = fill(cl)
    _, b = admin(cl, "BACKUP persist1")
    assert isinstance(b, dict)
    assert s.stop() == 0
    s2 = make_server(start=False)
    s2.data_dir = s.data_dir
    s2.start()
    cl2 = s2.client()
    _, r = admin(cl2, "RESTORE persist1")
    assert r is not None and r["keys_restored"] == 8
    for (c, k), d in items.items():
        v = single_value(cl2.get(c, k))
        assert v is not None and v.data == d


def test_max_connections_overload_is_resource_exhausted(make_server):
    """With server.max_connections = 2 and two calls held open, a third
    call is refused with RESOURCE_EXHAUSTED (overload), HealthCheck still
    answers, and calls work again once the held calls end."""
    s = make_server("[server]\nmax_connections = 2\n")
    cl = s.client()
    c = unique("held")
    for start in range(0, 10000, 5000):
        qs = [q_set(c, b"%06d" % i, blob(b"\x11" * 1024))
              for i in range(start, start + 5000)]
        assert cl.batch(qs).WhichOneof("response") == "results"
    held = []
    for _ in range(2):
        it = cl._stream(cl.request(q_range(c, b"\x00")), timeout=30)
        assert next(it).WhichOneof("chunk") == "batch"
        held.append(it)
    try:
        code, _ = rpc_code(cl.get, c, b"000001")
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, code
        assert cl.health().status == aql_pb2.HEALTH_SERVING
    finally:
        for it in held:
            it.cancel()
    assert wait_until(lambda: rpc_code(cl.get, c, b"000001")[0] ==
                      grpc.StatusCode.OK, timeout=5)
