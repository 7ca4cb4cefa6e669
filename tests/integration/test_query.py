"""ExecuteQuery: SET/GET/DELETE/RANGE semantics, metadata round trips, key
and collection validation, error codes and categories, size limits and
malformed input (protocol.md, compatibility.md "Query semantics").

Expected values are computed here from the inputs sent, never taken from
the server's own output.
"""
import random
import time
import uuid

import grpc
import pytest

from conftest import (E, CLIENT_ERROR, aql_pb2, query_pb2, types_pb2,
                      VERSION, blob, q_get, q_set, q_delete, q_range,
                      unique, crc, assert_error, result_of, single_value,
                      affected, multi_values, rpc_code,
                      server_alive_and_serving)

NOW = 1_700_000_000


def assert_ok(resp):
    result_of(resp)
    assert resp.WhichOneof("response") == "result"


# --------------------------------------------------------------------------
# round trips


def test_set_get_returns_data_and_client_metadata_exactly(mclient):
    c = unique()
    data = bytes(range(256)) * 3
    sent = blob(data, created_at=NOW, version=7, compression=2)
    assert_ok(mclient.query(q_set(c, b"k1", sent)))
    got = single_value(mclient.get(c, b"k1"))
    assert got is not None
    assert got.data == data
    assert got.HasField("metadata")
    assert got.metadata.size == len(data)
    assert got.metadata.compression == types_pb2.COMPRESSION_ZSTD
    assert got.metadata.checksum == crc(data)
    assert got.metadata.created_at == NOW
    assert got.metadata.HasField("version")
    assert got.metadata.version == 7


def test_metadata_without_version_comes_back_without_version(mclient):
    c = unique()
    sent = blob(b"payload", created_at=NOW + 5, compression=1)
    assert_ok(mclient.query(q_set(c, b"k", sent)))
    got = single_value(mclient.get(c, b"k"))
    assert got.data == b"payload"
    assert got.metadata.compression == types_pb2.COMPRESSION_LZ4
    assert got.metadata.created_at == NOW + 5
    assert got.metadata.checksum == crc(b"payload")
    assert got.metadata.size == 7
    assert not got.metadata.HasField("version")


def test_version_zero_is_present_not_absent(mclient):
    c = unique()
    assert_ok(mclient.query(q_set(c, b"k", blob(b"x", version=0))))
    got = single_value(mclient.get(c, b"k"))
    assert got.metadata.HasField("version")
    assert got.metadata.version == 0


def test_overwrite_replaces_value_and_metadata(mclient):
    c = unique()
    assert_ok(mclient.set(c, b"k", b"first", created_at=NOW, version=1))
    assert_ok(mclient.set(c, b"k", b"second!", created_at=NOW + 1))
    got = single_value(mclient.get(c, b"k"))
    assert got.data == b"second!"
    assert got.metadata.created_at == NOW + 1
    assert got.metadata.size == 7
    assert not got.metadata.HasField("version")


def test_delete_reports_one_then_zero(mclient):
    c = unique()
    assert_ok(mclient.set(c, b"k", b"v"))
    assert affected(mclient.delete(c, b"k")) == 1
    assert single_value(mclient.get(c, b"k")) is None
    assert affected(mclient.delete(c, b"k")) == 0
    assert affected(mclient.delete(c, b"never-there")) == 0


def test_get_missing_is_single_without_value(mclient):
    resp = mclient.get(unique(), b"missing")
    assert resp.WhichOneof("response") == "result"
    assert resp.result.WhichOneof("result") == "single"
    assert not resp.result.single.HasField("value")


def test_empty_value_is_a_value(mclient):
    c = unique()
    assert_ok(mclient.set(c, b"empty", b"", created_at=NOW))
    got = single_value(mclient.get(c, b"empty"))
    assert got is not None, "an empty value must not read as missing"
    assert got.data == b""
    assert got.metadata.size == 0
    assert got.metadata.checksum == crc(b"") == 0
    assert got.metadata.created_at == NOW
    vals = multi_values(mclient.query(q_range(c, b"\x00")))
    assert [kv.key.data for kv in vals] == [b"empty"]
    assert affected(mclient.delete(c, b"empty")) == 1


def test_single_byte_keys_all_256_values(mclient):
    c = unique()
    for i in range(256):
        k = bytes([i])
        assert_ok(mclient.set(c, k, b"v" + k))
    for i in range(256):
        k = bytes([i])
        got = single_value(mclient.get(c, k))
        assert got is not None and got.data == b"v" + k, i
    vals = multi_values(mclient.query(q_range(c, b"\x00")))
    assert [kv.key.data for kv in vals] == [bytes([i]) for i in range(256)]


def test_binary_keys_with_nul_are_distinct(mclient):
    c = unique()
    keys = [bytes(range(256)), b"\x00", b"\x00\x00", b"a\x00b", b"a\x00c",
            b"a", b"a\x00", b"\xff\xfe\x00\x01"]
    for i, k in enumerate(keys):
        assert_ok(mclient.set(c, k, b"value-%d" % i))
    for i, k in enumerate(keys):
        got = single_value(mclient.get(c, k))
        assert got is not None and got.data == b"value-%d" % i, k
    assert single_value(mclient.get(c, b"a\x00b\x00")) is None
    vals = multi_values(mclient.query(q_range(c, b"\x00")))
    assert [kv.key.data for kv in vals] == sorted(keys)


def test_large_keys(mclient):
    c = unique()
    k10k = bytes((i * 7) & 0xFF for i in range(10_000))
    k64k = bytes((i * 13 + 1) & 0xFF for i in range(65_536))
    assert_ok(mclient.set(c, k10k, b"ten-k"))
    assert single_value(mclient.get(c, k10k)).data == b"ten-k"
    assert_ok(mclient.set(c, k64k, b"sixty-four-k"))
    assert single_value(mclient.get(c, k64k)).data == b"sixty-four-k"
    vals = multi_values(mclient.query(q_range(c, b"\x00")))
    assert sorted([k10k, k64k]) == [kv.key.data for kv in vals]
    assert affected(mclient.delete(c, k64k)) == 1


def test_key_over_64k_rejected(mclient):
    c = unique()
    k = b"k" * 65_537
    assert_error(mclient.set(c, k, b"x"), E.ERROR_VALIDATION_SIZE_EXCEEDED)
    assert_error(mclient.get(c, k), E.ERROR_VALIDATION_SIZE_EXCEEDED)
    assert_error(mclient.delete(c, k), E.ERROR_VALIDATION_SIZE_EXCEEDED)
    # nothing was stored under the truncated key either
    assert single_value(mclient.get(c, k[:65_536])) is None


# --------------------------------------------------------------------------
# collections


def test_collections_namespace_keys(mclient):
    u, o = unique("users"), unique("orders")
    assert_ok(mclient.set(u, b"k1", b"user-1"))
    assert_ok(mclient.set(o, b"k1", b"order-1"))
    assert single_value(mclient.get(u, b"k1")).data == b"user-1"
    assert single_value(mclient.get(o, b"k1")).data == b"order-1"
    assert affected(mclient.delete(u, b"k1")) == 1
    assert single_value(mclient.get(u, b"k1")) is None
    assert single_value(mclient.get(o, b"k1")).data == b"order-1"


def test_collections_a_and_ab_are_separate(make_server):
    # A fresh server so that the literal names "a" and "ab" are ours.
    s = make_server()
    cl = s.client()
    # "a" + "bk" and "ab" + "k" collide if keys were stored as
    # collection||key without a separator or length.
    a_items = {b"bk": b"A-bk", b"k": b"A-k", b"b": b"A-b", b"\x00": b"A-0"}
    ab_items = {b"k": b"AB-k", b"x": b"AB-x", b"\x00k": b"AB-0k"}
    for k, v in a_items.items():
        assert_ok(cl.set("a", k, v))
    for k, v in ab_items.items():
        assert_ok(cl.set("ab", k, v))
    for k, v in a_items.items():
        assert single_value(cl.get("a", k)).data == v
    for k, v in ab_items.items():
        assert single_value(cl.get("ab", k)).data == v
    ra = multi_values(cl.query(q_range("a", b"\x00")))
    assert [(kv.key.data, kv.value.data) for kv in ra] == \
        sorted(a_items.items())
    rab = multi_values(cl.query(q_range("ab", b"\x00")))
    assert [(kv.key.data, kv.value.data) for kv in rab] == \
        sorted(ab_items.items())
    # the range of "a" up to the highest possible key still stops at "a"
    ra2 = multi_values(cl.query(q_range("a", b"\x00", b"\xff" * 8)))
    assert [kv.key.data for kv in ra2] == sorted(a_items)
    assert single_value(cl.get("a", b"x")) is None
    assert single_value(cl.get("b", b"k")) is None


def test_collection_names_utf8_and_length(mclient):
    base = uuid.uuid4().hex[:8]
    ok255 = (base + "x" * 255)[:255]
    assert_ok(mclient.set(ok255, b"k", b"v"))
    assert single_value(mclient.get(ok255, b"k")).data == b"v"
    # 127 two-byte characters = 254 bytes: fine; 128 = 256 bytes: too long
    ok_utf8 = "\u00e9" * 127
    assert_ok(mclient.set(ok_utf8, b"k-" + base.encode(), b"v"))
    assert single_value(
        mclient.get(ok_utf8, b"k-" + base.encode())).data == b"v"
    for bad in ["", "x" * 256, "\u00e9" * 128, "a\x00b", "\x00"]:
        for q in (q_set(bad, b"k", blob(b"v")), q_get(bad, b"k"),
                  q_delete(bad, b"k"), q_range(bad, b"\x00")):
            assert_error(mclient.query(q),
                         E.ERROR_VALIDATION_INVALID_COLLECTION)


def _raw_with_collection(coll_bytes, kind="set"):
    """Serialised QueryRequest whose collection is coll_bytes (which may be
    invalid UTF-8): built with a same-length placeholder, then patched."""
    ph = "Q" * len(coll_bytes)
    if kind == "set":
        q = q_set(ph, b"k", blob(b"v"))
    elif kind == "get":
        q = q_get(ph, b"k")
    else:
        q = q_range(ph, b"\x00")
    req = aql_pb2.QueryRequest(query=q, request_id="raw-utf8",
                               timeout_ms=30000, version=VERSION)
    raw = req.SerializeToString()
    assert raw.count(ph.encode()) == 1
    return raw.replace(ph.encode(), coll_bytes)


@pytest.mark.parametrize("coll", [b"\xff\xfe", b"abc\xc3", b"\xc3\x28x",
                                  b"\xed\xa0\x80", b"\xc0\xaf"])
@pytest.mark.parametrize("kind", ["set", "get", "range"])
def test_invalid_utf8_collection_rejected(mclient, coll, kind):
    out = aql_pb2.QueryResponse.FromString(
        mclient.raw("ExecuteQuery", _raw_with_collection(coll, kind)))
    assert_error(out, E.ERROR_VALIDATION_INVALID_COLLECTION,
                 request_id="raw-utf8")


# --------------------------------------------------------------------------
# RANGE


@pytest.fixture(scope="module")
def range_coll(mclient):
    c = unique("range")
    for i in range(20):
        assert_ok(mclient.set(c, b"k%02d" % i, b"value-%02d" % i,
                              created_at=NOW + i))
    return c


def keys_of(vals):
    return [kv.key.data for kv in vals]


def test_range_start_inclusive_end_exclusive(mclient, range_coll):
    vals = multi_values(mclient.query(q_range(range_coll, b"k05", b"k10")))
    assert keys_of(vals) == [b"k%02d" % i for i in range(5, 10)]
    for kv in vals:
        i = int(kv.key.data[1:])
        assert kv.value.data == b"value-%02d" % i
        assert kv.value.metadata.checksum == crc(kv.value.data)
        assert kv.value.metadata.created_at == NOW + i
        assert kv.value.metadata.size == len(kv.value.data)


def test_range_bounds_between_keys(mclient, range_coll):
    vals = multi_values(mclient.query(q_range(range_coll, b"k045", b"k095")))
    assert keys_of(vals) == [b"k%02d" % i for i in range(5, 10)]


def test_range_limit(mclient, range_coll):
    vals = multi_values(mclient.query(
        q_range(range_coll, b"k05", b"k15", limit=3)))
    assert keys_of(vals) == [b"k05", b"k06", b"k07"]
    vals = multi_values(mclient.query(q_range(range_coll, b"k18", limit=10)))
    assert keys_of(vals) == [b"k18", b"k19"]


def test_range_start_not_below_end_is_empty(mclient, range_coll):
    assert multi_values(mclient.query(
        q_range(range_coll, b"k05", b"k05"))) == []
    assert multi_values(mclient.query(
        q_range(range_coll, b"k10", b"k05"))) == []


def test_range_absent_end_runs_to_end_of_collection(mclient, range_coll):
    # a key in another collection that sorts after ours must not appear
    assert_ok(mclient.set(range_coll + "z", b"k50", b"other"))
    vals = multi_values(mclient.query(q_range(range_coll, b"k15")))
    assert keys_of(vals) == [b"k%02d" % i for i in range(15, 20)]
    vals = multi_values(mclient.query(q_range(range_coll, b"\x00")))
    assert keys_of(vals) == [b"k%02d" % i for i in range(20)]


def test_range_byte_order_unsigned(mclient):
    c = unique()
    keys = [b"\x01", b"\x7f", b"\x80", b"\xff", b"\xff\x00", b"a", b"aa",
            b"ab", b"b", b"B", b"\x00\xff", b"a\x80", b"a\x7f"]
    for k in reversed(keys):
        assert_ok(mclient.set(c, k, k * 2))
    vals = multi_values(mclient.query(q_range(c, b"\x00")))
    assert keys_of(vals) == sorted(keys)
    assert [kv.value.data for kv in vals] == [k * 2 for k in sorted(keys)]
    vals = multi_values(mclient.query(q_range(c, b"\x7f", b"\xff")))
    assert keys_of(vals) == [k for k in sorted(keys)
                             if b"\x7f" <= k < b"\xff"]


def test_range_empty_collection(mclient):
    assert multi_values(mclient.query(q_range(unique(), b"\x00"))) == []


def test_range_reflects_deletes(mclient):
    c = unique()
    for i in range(5):
        assert_ok(mclient.set(c, b"%d" % i, b"x"))
    assert affected(mclient.delete(c, b"2")) == 1
    vals = multi_values(mclient.query(q_range(c, b"0")))
    assert keys_of(vals) == [b"0", b"1", b"3", b"4"]


# --------------------------------------------------------------------------
# request_id, execution time


def test_request_id_echoed_on_success_and_error(mclient):
    c = unique()
    rid = "req-" + uuid.uuid4().hex
    resp = mclient.query(q_set(c, b"k", blob(b"v")), request_id=rid)
    assert_ok(resp)
    assert resp.request_id == rid
    resp = mclient.query(q_get(c, b"k"), request_id=rid + "-2")
    assert resp.request_id == rid + "-2"
    resp = mclient.query(q_get(c, b""), request_id=rid + "-3")
    assert_error(resp, E.ERROR_VALIDATION_INVALID_KEY, request_id=rid + "-3")


def test_execution_time_is_plausible(mclient):
    c = unique()
    t0 = time.monotonic()
    resp = mclient.set(c, b"k", b"v" * 1000)
    wall_ms = (time.monotonic() - t0) * 1000
    assert resp.execution_time_ms <= wall_ms + 1
    resp = mclient.get(c, b"")
    assert resp.WhichOneof("response") == "error"
    assert resp.execution_time_ms < 60_000


# --------------------------------------------------------------------------
# error codes


def test_empty_key_invalid(mclient):
    c = unique()
    for q in (q_set(c, b"", blob(b"v")), q_get(c, b""), q_delete(c, b"")):
        assert_error(mclient.query(q), E.ERROR_VALIDATION_INVALID_KEY)
    assert multi_values(mclient.query(q_range(c, b"\x00"))) == []


def test_missing_metadata(mclient):
    c = unique()
    resp = mclient.query(q_set(c, b"k", blob(b"v", with_metadata=False)))
    assert_error(resp, E.ERROR_PROTOCOL_MISSING_FIELD)
    assert single_value(mclient.get(c, b"k")) is None


def test_missing_key_field(mclient):
    c = unique()
    qs = [query_pb2.Query(set=query_pb2.SetQuery(collection=c,
                                                 value=blob(b"v"))),
          query_pb2.Query(get=query_pb2.GetQuery(collection=c)),
          query_pb2.Query(delete=query_pb2.DeleteQuery(collection=c))]
    for q in qs:
        assert_error(mclient.query(q), E.ERROR_PROTOCOL_MISSING_FIELD)


def test_missing_value_field(mclient):
    c = unique()
    q = query_pb2.Query(set=query_pb2.SetQuery(
        collection=c, key=types_pb2.Key(data=b"k")))
    assert_error(mclient.query(q), E.ERROR_PROTOCOL_MISSING_FIELD)
    assert single_value(mclient.get(c, b"k")) is None


def test_missing_query(mclient):
    req = aql_pb2.QueryRequest(request_id="no-query", timeout_ms=1000,
                               version=VERSION)
    resp = mclient._query(req, timeout=10)
    assert_error(resp, E.ERROR_PROTOCOL_MISSING_FIELD, request_id="no-query")


def test_query_without_kind(mclient):
    resp = mclient.query(query_pb2.Query())
    assert resp.WhichOneof("response") == "error"
    assert resp.error.code in (E.ERROR_PROTOCOL_MISSING_FIELD,
                               E.ERROR_PROTOCOL_INVALID_REQUEST)
    assert resp.error.category == CLIENT_ERROR


def test_bad_crc_rejected_and_nothing_stored(mclient):
    c = unique()
    good = b"original"
    assert_ok(mclient.set(c, b"k", good))
    bad = blob(b"tampered", checksum=crc(b"tampered") ^ 1)
    assert_error(mclient.query(q_set(c, b"k", bad)),
                 E.ERROR_VALIDATION_INVALID_VALUE)
    assert single_value(mclient.get(c, b"k")).data == good
    bad2 = blob(b"new", checksum=0xDEADBEEF)
    assert_error(mclient.query(q_set(c, b"k2", bad2)),
                 E.ERROR_VALIDATION_INVALID_VALUE)
    assert single_value(mclient.get(c, b"k2")) is None


def test_filter_and_update_are_invalid_operations(mclient):
    c = unique()
    assert_ok(mclient.set(c, b"k", b"v"))
    pred = types_pb2.Predicate(eq=types_pb2.EqPredicate(
        column=types_pb2.ColumnRef(name="age"), value=blob(b"\x01")))
    f = query_pb2.Query(filter=query_pb2.FilterQuery(collection=c,
                                                     predicate=pred))
    u = query_pb2.Query(update=query_pb2.UpdateQuery(
        collection=c, predicate=pred,
        updates=[types_pb2.Update(set=types_pb2.SetUpdate(
            column=types_pb2.ColumnRef(name="age"), value=blob(b"\x02")))]))
    for q in (f, u):
        err = assert_error(mclient.query(q), E.ERROR_COMPUTE_INVALID_OPERATION,
                           category=None)
        assert err.category in (E.CATEGORY_CLIENT_ERROR,
                                E.CATEGORY_NON_RETRYABLE), err
    # UPDATE must not have touched the value
    assert single_value(mclient.get(c, b"k")).data == b"v"


@pytest.mark.parametrize("ver", [(1, 0, 0), (2, 3, 4), (255, 0, 0)])
def test_unsupported_major_version(mclient, ver):
    c = unique()
    req = aql_pb2.QueryRequest(
        query=q_set(c, b"k", blob(b"v")), request_id="v-test",
        timeout_ms=30000, version=types_pb2.Version(
            major=ver[0], minor=ver[1], patch=ver[2]))
    resp = mclient._query(req, timeout=10)
    assert_error(resp, E.ERROR_PROTOCOL_UNSUPPORTED_VERSION,
                 request_id="v-test")
    assert single_value(mclient.get(c, b"k")) is None


def test_protocol_version_0_x_accepted(mclient):
    c = unique()
    for minor in (1, 2, 9):
        req = aql_pb2.QueryRequest(
            query=q_get(c, b"k"), request_id="ok", timeout_ms=30000,
            version=types_pb2.Version(major=0, minor=minor, patch=3))
        assert_ok(mclient._query(req, timeout=10))


# --------------------------------------------------------------------------
# size limits


def test_value_larger_than_grpc_default_4mib(mclient):
    """The default max is 64 MiB: a 5 MiB value must not be refused by a
    transport limit on either direction."""
    c = unique()
    data = random.Random(5).randbytes(5 << 20)
    assert_ok(mclient.set(c, b"big", data))
    got = single_value(mclient.get(c, b"big"))
    assert got.data == data
    assert got.metadata.checksum == crc(data)
    assert affected(mclient.delete(c, b"big")) == 1


LIMITS = """
[limits]
max_value_bytes = 1048576
max_message_bytes = 2097152
"""


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    from conftest import Server
    s = Server(str(tmp_path_factory.mktemp("limited")), LIMITS)
    s.start()
    yield s
    s.stop()


def test_value_at_limit_ok(limited):
    cl = limited.client()
    c = unique()
    data = random.Random(1).randbytes(1 << 20)
    assert_ok(cl.set(c, b"at", data))
    got = single_value(cl.get(c, b"at"))
    assert got.data == data and got.metadata.size == len(data)
    server_alive_and_serving(limited)


def test_value_over_limit_rejected(limited):
    cl = limited.client()
    c = unique()
    for n in ((1 << 20) + 1, (3 << 19)):  # 1 MiB + 1, 1.5 MiB
        data = b"\xab" * n
        assert_error(cl.set(c, b"over", data),
                     E.ERROR_VALIDATION_SIZE_EXCEEDED)
        assert single_value(cl.get(c, b"over")) is None
        server_alive_and_serving(limited)


def test_message_over_limit_resource_exhausted(limited):
    cl = limited.client()
    c = unique()
    data = b"\xcd" * (3 << 20)
    code, _ = rpc_code(cl.set, c, b"huge", data)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    server_alive_and_serving(limited)
    # a batch of values each under the value limit but together over the
    # message limit
    qs = [q_set(c, b"b%d" % i, blob(b"\x01" * (900 << 10)))
          for i in range(3)]
    code, _ = rpc_code(cl.batch, qs)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    for i in range(3):
        assert single_value(cl.get(c, b"b%d" % i)) is None
    server_alive_and_serving(limited)


def test_limits_after_rejections_server_still_serves(limited):
    cl = limited.client()
    c = unique()
    for _ in range(3):
        rpc_code(cl.set, c, b"huge", b"\x00" * (3 << 20))
        cl.set(c, b"over", b"\x00" * ((1 << 20) + 10))
    data = b"fine" * 100
    assert_ok(cl.set(c, b"fine", data))
    assert single_value(cl.get(c, b"fine")).data == data
    server_alive_and_serving(limited)


# --------------------------------------------------------------------------
# malformed input

# Bytes no protobuf parser can accept (truncations, invalid wire types,
# field number 0).
GARBAGE = [
    b"\xff",                                  # truncated varint tag
    b"\x80",                                  # truncated varint tag
    b"\x0a",                                  # LEN field without length
    b"\x0a\x05ab",                            # length beyond the end
    b"\x0a\x02\x08",                          # truncated nested message
    b"\x0a\x02\x0a\x80",                      # nested truncated varint
    b"\x0f",                                  # wire type 7 (invalid)
    b"\x0e\x01",                              # wire type 6 (invalid)
    b"\x0a\xff\xff\xff\xff\x0f",              # huge length
    b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",  # over-long varint
    b"\x00",                                  # field number 0
    b"\x2a\x03\x08\xff",                      # version, truncated varint
    b"\x0a\x04\x12\x02\x1a\x05",              # SET with truncated value
]

# A known field with the wrong wire type: strict parsers (protobuf-c)
# reject it, others keep it as an unknown field; either way the answer
# must be a client error or INVALID_ARGUMENT, never a crash or a result.
WRONG_WIRE_TYPE = [
    b"\x08\x01",                              # field 1 as varint
    b"\x0d\x01\x02\x03\x04",                  # field 1 as fixed32
    b"\x0b\x0c",                              # field 1 as a group
    b"\x0a\x02\x08\x01",                      # query.get as varint
]


def _random_garbage(n=15):
    rnd = random.Random(20261127)
    return [rnd.randbytes(rnd.randint(1, 200)) for _ in range(n)]


def _accept_malformed_unary(raw_call, parse, strict=True):
    """The answer to garbage: INVALID_ARGUMENT status or an error reply
    with ERROR_PROTOCOL_MALFORMED_MESSAGE (strict) or another client
    error (a lenient parser then finds the query missing)."""
    try:
        out = parse(raw_call())
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
        return
    assert out.WhichOneof("response") == "error", out
    if strict:
        assert out.error.code == E.ERROR_PROTOCOL_MALFORMED_MESSAGE, out
    else:
        assert out.error.code in (E.ERROR_PROTOCOL_MALFORMED_MESSAGE,
                                  E.ERROR_PROTOCOL_MISSING_FIELD,
                                  E.ERROR_PROTOCOL_INVALID_REQUEST), out
    assert out.error.category == CLIENT_ERROR


@pytest.mark.parametrize("payload", GARBAGE)
def test_malformed_execute_query(module_server, mclient, payload):
    _accept_malformed_unary(
        lambda: mclient.raw("ExecuteQuery", payload),
        aql_pb2.QueryResponse.FromString)
    assert module_server.proc.poll() is None


@pytest.mark.parametrize("payload", WRONG_WIRE_TYPE)
def test_wrong_wire_type_execute_query(module_server, mclient, payload):
    _accept_malformed_unary(
        lambda: mclient.raw("ExecuteQuery", payload),
        aql_pb2.QueryResponse.FromString, strict=False)
    assert module_server.proc.poll() is None


@pytest.mark.parametrize("payload", GARBAGE)
def test_malformed_execute_batch(module_server, mclient, payload):
    _accept_malformed_unary(
        lambda: mclient.raw("ExecuteBatch", payload),
        aql_pb2.BatchResponse.FromString)
    assert module_server.proc.poll() is None


@pytest.mark.parametrize("payload", GARBAGE)
def test_malformed_execute_stream(module_server, mclient, payload):
    call = mclient.ch.unary_stream(
        "/amaters.aql.AqlService/ExecuteStream",
        request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as ei:
        list(call(payload, timeout=10))
    assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert module_server.proc.poll() is None


def test_malformed_health_and_info(module_server, mclient):
    for method in ("HealthCheck", "GetServerInfo"):
        for p in GARBAGE + WRONG_WIRE_TYPE:
            try:
                mclient.raw(method, p)
            except grpc.RpcError as e:
                assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, \
                    (method, p, e)
    server_alive_and_serving(module_server)


def test_malformed_interactive(module_server, mclient):
    call = mclient.ch.stream_stream(
        "/amaters.aql.AqlService/ExecuteInteractive",
        request_serializer=None, response_deserializer=None)
    good = aql_pb2.QueryRequest(query=q_get(unique(), b"k"),
                                request_id="g", version=VERSION)
    try:
        out = list(call(iter([b"\x0a\x05ab", good.SerializeToString()]),
                        timeout=10))
        parsed = [aql_pb2.QueryResponse.FromString(o) for o in out]
        assert parsed, "an answer or an error status is required"
        assert parsed[0].error.code == E.ERROR_PROTOCOL_MALFORMED_MESSAGE
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
    server_alive_and_serving(module_server)


def test_random_garbage_never_crashes(module_server, mclient):
    for p in _random_garbage() + WRONG_WIRE_TYPE:
        for method in ("ExecuteQuery", "ExecuteBatch", "HealthCheck",
                       "GetServerInfo"):
            try:
                mclient.raw(method, p)
            except grpc.RpcError as e:
                assert e.code() not in (grpc.StatusCode.UNAVAILABLE,
                                        grpc.StatusCode.DEADLINE_EXCEEDED,
                                        grpc.StatusCode.UNKNOWN), (method, e)
        call = mclient.ch.unary_stream(
            "/amaters.aql.AqlService/ExecuteStream",
            request_serializer=None, response_deserializer=None)
        try:
            list(call(p, timeout=10))
        except grpc.RpcError as e:
            assert e.code() not in (grpc.StatusCode.UNAVAILABLE,
                                    grpc.StatusCode.DEADLINE_EXCEEDED,
                                    grpc.StatusCode.UNKNOWN), e
    server_alive_and_serving(module_server)


# --------------------------------------------------------------------------
# answers larger than the message limit (values are each within limits)


@pytest.fixture(scope="module")
def limited_big(limited):
    """Five 1 MiB values (each exactly at the value limit) in one
    collection of the limited server: 5 MiB in all, over the 2 MiB
    message limit."""
    cl = limited.client()
    c = unique("big")
    for i in range(5):
        assert_ok(cl.set(c, b"k%d" % i, bytes([i + 1]) * (1 << 20)))
    return c


def test_unary_range_over_message_limit(limited, limited_big):
    cl = limited.client()
    try:
        resp = cl.query(q_range(limited_big, b"\x00"))
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    else:
        if resp.WhichOneof("response") == "error":
            assert resp.error.code == E.ERROR_VALIDATION_SIZE_EXCEEDED
        else:
            vals = multi_values(resp)
            assert [kv.value.data for kv in vals] == \
                [bytes([i + 1]) * (1 << 20) for i in range(5)]
    # each value alone is still readable
    for i in range(5):
        assert single_value(cl.get(limited_big, b"k%d" % i)).data == \
            bytes([i + 1]) * (1 << 20)
    server_alive_and_serving(limited)


def test_stream_delivers_values_larger_in_sum_than_message_limit(
        limited, limited_big):
    """Every stored value is within the limits, so a RANGE stream must be
    able to deliver them all (a batch chunk cannot hold them together)."""
    cl = limited.client()
    chunks = cl.stream(q_range(limited_big, b"\x00"))
    kinds = [ch.WhichOneof("chunk") for ch in chunks]
    assert kinds[-1] == "end" and set(kinds[:-1]) <= {"batch", "value"}
    for seq, ch in enumerate(chunks):
        assert ch.sequence == seq
    vals = []
    for ch in chunks[:-1]:
        if ch.WhichOneof("chunk") == "batch":
            vals.extend(ch.batch.values)
        else:
            vals.append(ch.value)
    assert [kv.key.data for kv in vals] == [b"k%d" % i for i in range(5)]
    assert [kv.value.data for kv in vals] == \
        [bytes([i + 1]) * (1 << 20) for i in range(5)]
    assert chunks[-1].end.total_count == 5
    batches = [ch for ch in chunks if ch.WhichOneof("chunk") == "batch"]
    if batches:
        assert all(b.batch.has_more for b in batches[:-1])
        assert not batches[-1].batch.has_more


def test_batch_answer_over_message_limit_is_all_or_nothing(limited,
                                                           limited_big):
    """A batch whose answer cannot be sent must not report a transport
    failure while its writes were committed (clients retry transport
    errors): either it succeeds, or it fails and applies nothing."""
    cl = limited.client()
    marker = b"marker-" + uuid.uuid4().hex.encode()
    qs = [q_set(limited_big, marker, blob(b"written"))] + \
        [q_get(limited_big, b"k%d" % i) for i in range(5)]
    try:
        resp = cl.batch(qs)
    except grpc.RpcError as e:
        outcome = ("status", e.code())
    else:
        outcome = ("response", resp.WhichOneof("response"))
    stored = single_value(cl.get(limited_big, marker))
    if outcome == ("response", "results"):
        assert stored is not None and stored.data == b"written"
    else:
        assert stored is None, \
            f"batch failed ({outcome}) but its SET was committed"
    server_alive_and_serving(limited)


def test_value_of_exactly_the_default_maximum(server, client):
    """limits.max_value_bytes and max_message_bytes both default to 64 MiB:
    a value of exactly 64 MiB must still be storable and readable (its
    request and answer are a little larger than the value), and one byte
    more is refused as a value over the limit, not as a transport error."""
    c = unique()
    data = b"\x5a" * (64 << 20)
    assert_ok(client.set(c, b"max", data))
    got = single_value(client.get(c, b"max"))
    assert got.data == data and got.metadata.size == len(data)
    assert_error(client.set(c, b"over", data + b"\x00"),
                 E.ERROR_VALIDATION_SIZE_EXCEEDED)
    server_alive_and_serving(server)
