"""Hostile request bytes (adversarial review of the gRPC front end): the
server refuses them with the protocol's errors and stays up.

- a predicate nested 5000 levels deep (used to overflow the worker's stack
  inside protobuf-c's recursive unpack: SIGSEGV) -> 2002 MALFORMED on the
  unary methods and ExecuteInteractive, INVALID_ARGUMENT on ExecuteStream;
- 16 MiB of empty queries in one ExecuteBatch (used to take ~1 GB while
  decoding, and to come back with no `response` oneof at all) ->
  SIZE_EXCEEDED with the server's peak RSS staying small; the same for a
  flood of tiny unknown fields;
- invalid UTF-8 in proto3 `string` fields (used to be echoed back into
  answers no client could parse) -> MALFORMED, and the answer parses.
"""
import grpc
import pytest

from conftest import (SERVICE, Client, E, aql_pb2, assert_error, q_get,
                      result_of, server_alive_and_serving, unique)

MALFORMED = E.ERROR_PROTOCOL_MALFORMED_MESSAGE
SIZE_EXCEEDED = E.ERROR_VALIDATION_SIZE_EXCEEDED
MB = 1 << 20


def varint(n):
    out = b""
    while True:
        b, n = n & 0x7f, n >> 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def ld(field, payload):
    """A length-delimited field."""
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def nested_filter_query(levels=5000):
    """A Query whose FilterQuery predicate is NOT(NOT(...)) `levels` deep
    (Predicate.not = 8, NotPredicate.predicate = 1)."""
    pred = b""
    for _ in range(levels):
        pred = ld(8, ld(1, pred))
    return ld(4, ld(1, b"c") + ld(2, pred))


def raw_unary(server, method, payload, timeout=60):
    call = server.get_channel().unary_unary(
        SERVICE + method, request_serializer=None,
        response_deserializer=None)
    return call(payload, timeout=timeout)


def vm_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc status")


def get_request(coll, key, **kw):
    return aql_pb2.QueryRequest(query=q_get(coll, key), **kw)


# ---------------------------------------------------------------------------
# (a) deep nesting
# ---------------------------------------------------------------------------

@pytest.fixture
def deep(make_server):
    s = make_server()
    req = ld(1, nested_filter_query())  # QueryRequest.query
    assert len(req) > 30000
    yield s, req
    # whatever the method, the server is still up and serving afterwards
    server_alive_and_serving(s)


def test_nested_predicate_execute_query(deep):
    s, req = deep
    resp = aql_pb2.QueryResponse.FromString(
        raw_unary(s, "ExecuteQuery", req + ld(2, b"rid-1")))
    err = assert_error(resp, MALFORMED)
    assert "nested deeper than 64 levels" in err.message
    # refused before decoding, the request_id is still echoed (protocol.md)
    assert resp.request_id == "rid-1"


def test_nested_predicate_execute_batch(deep):
    s, _ = deep
    good = get_request("c", b"k").query.SerializeToString()
    req = ld(1, good) + ld(1, nested_filter_query()) + ld(2, b"rid-2")
    resp = aql_pb2.BatchResponse.FromString(raw_unary(s, "ExecuteBatch", req))
    err = assert_error(resp, MALFORMED)
    assert "nested deeper than 64 levels" in err.message
    assert resp.request_id == "rid-2"


def test_nested_predicate_execute_stream(deep):
    s, req = deep
    call = s.get_channel().unary_stream(
        SERVICE + "ExecuteStream", request_serializer=None,
        response_deserializer=None)
    with pytest.raises(grpc.RpcError) as ei:
        list(call(req, timeout=60))
    assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "nested deeper than 64 levels" in ei.value.details()


def test_nested_predicate_execute_interactive(deep):
    s, req = deep
    coll = unique("deep")
    call = s.get_channel().stream_stream(
        SERVICE + "ExecuteInteractive", request_serializer=None,
        response_deserializer=None)
    good = get_request(coll, b"k", request_id="after").SerializeToString()
    out = [aql_pb2.QueryResponse.FromString(r)
           for r in call(iter([req + ld(2, b"rid-i"), good]), timeout=60)]
    assert len(out) == 2
    err = assert_error(out[0], MALFORMED)
    assert "nested deeper than 64 levels" in err.message
    assert out[0].request_id == "rid-i"
    # the stream goes on after the refused message
    result_of(out[1])
    assert out[1].request_id == "after"


def test_moderate_nesting_still_accepted(make_server):
    """A predicate 30 NOTs deep (62 levels from QueryRequest) is legal."""
    s = make_server()
    req = ld(1, nested_filter_query(30))
    resp = aql_pb2.QueryResponse.FromString(raw_unary(s, "ExecuteQuery", req))
    if resp.WhichOneof("response") == "error":
        assert resp.error.code != MALFORMED, resp.error.message


# ---------------------------------------------------------------------------
# (b) memory blow-up while decoding
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("engine", ["memory", "lsm"])
def test_batch_of_empty_queries_refused_cheaply(make_server, engine):
    s = make_server(f'[storage]\nengine = "{engine}"\n')
    payload = b"\x0a\x00" * (16 * MB // 2)  # 8 Mi empty Query entries
    resp = aql_pb2.BatchResponse.FromString(
        raw_unary(s, "ExecuteBatch", payload + ld(2, b"big"), timeout=120))
    err = assert_error(resp, SIZE_EXCEEDED)
    assert ("batch has 8388608 queries" in err.message or
            "MiB to decode" in err.message), err.message
    assert resp.request_id == "big"
    peak_mb = vm_hwm_kb(s.proc.pid) / 1024
    # the old server peaked around 1 GB for this request
    assert peak_mb < 300, f"server peak RSS {peak_mb:.0f} MB"
    server_alive_and_serving(s)


def test_unknown_field_flood_refused(make_server):
    s = make_server()
    # 8 MB of 2-byte unknown varint fields (field 15)
    payload = b"\x78\x01" * (4 * MB) + ld(2, b"unk")
    resp = aql_pb2.QueryResponse.FromString(
        raw_unary(s, "ExecuteQuery", payload, timeout=120))
    err = assert_error(resp, SIZE_EXCEEDED)
    assert "unknown fields" in err.message
    assert resp.request_id == "unk"
    assert vm_hwm_kb(s.proc.pid) / 1024 < 300
    server_alive_and_serving(s)


def test_batch_just_over_query_limit_keeps_message(make_server):
    s = make_server("[limits]\nmax_batch_queries = 10\n")
    q = get_request("c", b"k").query.SerializeToString()
    resp = aql_pb2.BatchResponse.FromString(
        raw_unary(s, "ExecuteBatch", ld(1, q) * 11 + ld(2, b"rid-lim")))
    err = assert_error(resp, SIZE_EXCEEDED)
    assert "batch has 11 queries; the limit is 10" in err.message
    assert resp.request_id == "rid-lim"


# ---------------------------------------------------------------------------
# (c) invalid UTF-8 in string fields
# ---------------------------------------------------------------------------

BAD_UTF8 = [b"\xc3\x28", b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80", b"ok\xe2\x82"]


@pytest.fixture(scope="module")
def utf8_server(tmp_path_factory):
    from conftest import Server
    s = Server(str(tmp_path_factory.mktemp("utf8")))
    s.start()
    yield s
    s.stop()


@pytest.mark.parametrize("bad", BAD_UTF8)
@pytest.mark.parametrize("field", [2, 4])  # request_id, transaction_id
def test_invalid_utf8_in_query_request(utf8_server, bad, field):
    req = get_request("c", b"k").SerializeToString() + ld(field, bad)
    r = raw_unary(utf8_server, "ExecuteQuery", req)
    resp = aql_pb2.QueryResponse.FromString(r)  # parses: nothing echoed
    err = assert_error(resp, MALFORMED)
    assert "invalid UTF-8" in err.message


@pytest.mark.parametrize("bad", BAD_UTF8[:2])
def test_invalid_utf8_in_batch_request_id(utf8_server, bad):
    q = get_request("c", b"k").query.SerializeToString()
    r = raw_unary(utf8_server, "ExecuteBatch", ld(1, q) + ld(2, bad))
    err = assert_error(aql_pb2.BatchResponse.FromString(r), MALFORMED)
    assert "invalid UTF-8" in err.message


@pytest.mark.parametrize("bad", BAD_UTF8)
def test_invalid_utf8_in_health_service(utf8_server, bad):
    r = raw_unary(utf8_server, "HealthCheck", ld(1, bad))
    resp = aql_pb2.HealthCheckResponse.FromString(r)
    assert resp.status == aql_pb2.HEALTH_UNKNOWN
    assert "invalid UTF-8" in resp.message


def test_valid_multibyte_request_id_echoed(utf8_server):
    rid = "req-\u00e9\u20ac\U0001F600"
    c = Client(utf8_server.get_channel())
    resp = c.query(q_get("c", b"k"), request_id=rid)
    result_of(resp)
    assert resp.request_id == rid
    h = c.health("AqlService\u00e9")
    assert h.status == aql_pb2.HEALTH_SERVICE_UNKNOWN
    assert "AqlService\u00e9" in h.message
