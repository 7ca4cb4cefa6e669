"""ExecuteBatch: atomicity (all or nothing, failing index named), reads of
the batch's own earlier writes, per-query results in order, isolation
levels, and serializability under concurrency (compatibility.md "batch").
"""
import re
import threading
import time

import pytest

from conftest import (E, aql_pb2, query_pb2, types_pb2, blob, q_get, q_set,
                      q_delete, q_range, unique, crc, assert_error,
                      single_value, multi_values, result_of)

NOW = 1_700_000_000


def batch_results(resp, n):
    assert resp.WhichOneof("response") == "results", \
        f"expected results, got {resp}"
    rs = list(resp.results.results)
    assert len(rs) == n, f"expected {n} results, got {len(rs)}"
    return rs


def names_index(err, i):
    """The error message names query index i (e.g. "query 2: ...")."""
    assert re.search(r"\bquery\s*#?\[?%d\b" % i, err.message,
                     re.IGNORECASE), \
        f"error message does not name query {i}: {err.message!r}"


def test_batch_results_in_order(mclient):
    c = unique()
    assert mclient.set(c, b"pre", b"existing").WhichOneof("response") \
        == "result"
    qs = [q_set(c, b"a", blob(b"A", created_at=NOW)),
          q_get(c, b"pre"),
          q_get(c, b"missing"),
          q_delete(c, b"pre"),
          q_range(c, b"\x00"),
          q_delete(c, b"nothing")]
    resp = mclient.batch(qs, request_id="batch-1")
    assert resp.request_id == "batch-1"
    rs = batch_results(resp, len(qs))
    assert rs[1].WhichOneof("result") == "single"
    assert rs[1].single.value.data == b"existing"
    assert rs[1].single.value.metadata.checksum == crc(b"existing")
    assert rs[2].WhichOneof("result") == "single"
    assert not rs[2].single.HasField("value")
    assert rs[3].WhichOneof("result") == "success"
    assert rs[3].success.affected_rows == 1
    assert rs[4].WhichOneof("result") == "multi"
    assert [kv.key.data for kv in rs[4].multi.values] == [b"a"]
    assert rs[5].success.affected_rows == 0
    assert single_value(mclient.get(c, b"a")).data == b"A"
    assert single_value(mclient.get(c, b"pre")) is None


def test_reads_see_earlier_writes(mclient):
    c = unique()
    qs = [q_set(c, b"k", blob(b"v1", created_at=NOW, version=3)),
          q_get(c, b"k"),
          q_set(c, b"k2", blob(b"v2")),
          q_set(c, b"k3", blob(b"v3")),
          q_delete(c, b"k"),
          q_get(c, b"k"),
          q_delete(c, b"k"),
          q_set(c, b"k3", blob(b"v3-new")),
          q_range(c, b"\x00"),
          q_delete(c, b"k2")]
    rs = batch_results(mclient.batch(qs), len(qs))
    v = rs[1].single.value
    assert v.data == b"v1"
    assert v.metadata.created_at == NOW and v.metadata.version == 3
    assert rs[4].success.affected_rows == 1
    assert not rs[5].single.HasField("value")
    assert rs[6].success.affected_rows == 0
    rng = [(kv.key.data, kv.value.data) for kv in rs[8].multi.values]
    assert rng == [(b"k2", b"v2"), (b"k3", b"v3-new")]
    assert rs[9].success.affected_rows == 1
    # committed state
    assert single_value(mclient.get(c, b"k")) is None
    assert single_value(mclient.get(c, b"k2")) is None
    assert single_value(mclient.get(c, b"k3")).data == b"v3-new"


def test_batch_deleting_preexisting_key_range_hides_it(mclient):
    c = unique()
    for k in (b"a", b"b", b"c"):
        mclient.set(c, k, k)
    qs = [q_delete(c, b"b"), q_set(c, b"d", blob(b"d")),
          q_range(c, b"\x00")]
    rs = batch_results(mclient.batch(qs), 3)
    assert [kv.key.data for kv in rs[2].multi.values] == [b"a", b"c", b"d"]


@pytest.mark.parametrize("bad_index", [0, 2, 4])
def test_atomic_failure_applies_nothing(mclient, bad_index):
    c = unique()
    mclient.set(c, b"keep", b"old")
    mclient.set(c, b"gone", b"still-here")
    qs = [q_set(c, b"n1", blob(b"1")),
          q_set(c, b"keep", blob(b"new")),
          q_delete(c, b"gone"),
          q_set(c, b"n2", blob(b"2")),
          q_get(c, b"n1")]
    qs[bad_index] = q_set(c, b"", blob(b"bad"))  # empty key
    resp = mclient.batch(qs, request_id="atomic")
    err = assert_error(resp, E.ERROR_VALIDATION_INVALID_KEY,
                       request_id="atomic")
    names_index(err, bad_index)
    assert single_value(mclient.get(c, b"n1")) is None
    assert single_value(mclient.get(c, b"n2")) is None
    assert single_value(mclient.get(c, b"keep")).data == b"old"
    assert single_value(mclient.get(c, b"gone")).data == b"still-here"


def test_atomic_failure_bad_crc_last(mclient):
    c = unique()
    qs = [q_set(c, b"k%d" % i, blob(b"v%d" % i)) for i in range(20)]
    qs.append(q_set(c, b"bad", blob(b"x", checksum=crc(b"x") ^ 0xFF)))
    err = assert_error(mclient.batch(qs), E.ERROR_VALIDATION_INVALID_VALUE)
    names_index(err, 20)
    assert multi_values(mclient.query(q_range(c, b"\x00"))) == []


def test_atomic_failure_filter_in_batch(mclient):
    c = unique()
    pred = types_pb2.Predicate(eq=types_pb2.EqPredicate(
        column=types_pb2.ColumnRef(name="x"), value=blob(b"\x01")))
    qs = [q_set(c, b"k", blob(b"v")),
          query_pb2.Query(filter=query_pb2.FilterQuery(collection=c,
                                                       predicate=pred))]
    err = assert_error(mclient.batch(qs), E.ERROR_COMPUTE_INVALID_OPERATION,
                       category=None)
    names_index(err, 1)
    assert single_value(mclient.get(c, b"k")) is None


def test_atomic_failure_invalid_collection(mclient):
    c = unique()
    qs = [q_set(c, b"k", blob(b"v")), q_set("", b"k", blob(b"v"))]
    err = assert_error(mclient.batch(qs),
                       E.ERROR_VALIDATION_INVALID_COLLECTION)
    names_index(err, 1)
    assert single_value(mclient.get(c, b"k")) is None


def test_batch_missing_metadata(mclient):
    c = unique()
    qs = [q_set(c, b"k", blob(b"v")),
          q_set(c, b"k2", blob(b"v", with_metadata=False))]
    err = assert_error(mclient.batch(qs), E.ERROR_PROTOCOL_MISSING_FIELD)
    names_index(err, 1)
    assert single_value(mclient.get(c, b"k")) is None


def test_batch_unsupported_version(mclient):
    c = unique()
    req = aql_pb2.BatchRequest(queries=[q_set(c, b"k", blob(b"v"))],
                               request_id="bv", timeout_ms=60000,
                               version=types_pb2.Version(major=1))
    resp = mclient._batch(req, timeout=10)
    assert_error(resp, E.ERROR_PROTOCOL_UNSUPPORTED_VERSION, request_id="bv")
    assert single_value(mclient.get(c, b"k")) is None


@pytest.mark.parametrize("level", [aql_pb2.ISOLATION_DEFAULT,
                                   aql_pb2.ISOLATION_READ_UNCOMMITTED,
                                   aql_pb2.ISOLATION_READ_COMMITTED,
                                   aql_pb2.ISOLATION_REPEATABLE_READ,
                                   aql_pb2.ISOLATION_SERIALIZABLE])
def test_isolation_levels_accepted(mclient, level):
    c = unique()
    qs = [q_set(c, b"k", blob(b"L%d" % level)), q_get(c, b"k")]
    rs = batch_results(mclient.batch(qs, isolation=level), 2)
    assert rs[1].single.value.data == b"L%d" % level
    assert single_value(mclient.get(c, b"k")).data == b"L%d" % level


def test_serializable_batches_never_observe_torn_writes(module_server):
    """Writers set k1 and k2 to the same new value in one serializable
    batch; readers GET both in one serializable batch and must always see
    equal values (and, per key, values only ever written together)."""
    c = unique("ser")
    cl = module_server.client()
    init = [q_set(c, b"k1", blob(b"w-init")), q_set(c, b"k2", blob(b"w-init"))]
    batch_results(cl.batch(init, isolation=aql_pb2.ISOLATION_SERIALIZABLE), 2)

    writers, readers = 4, 4
    duration = 2.0
    stop = threading.Event()
    problems = []
    written = set([b"w-init"])
    wlock = threading.Lock()
    counts = {"reads": 0, "writes": 0}

    def writer(w):
        my = module_server.client()
        i = 0
        try:
            while not stop.is_set():
                val = b"w-%d-%d" % (w, i)
                with wlock:
                    written.add(val)
                qs = [q_set(c, b"k1", blob(val)), q_set(c, b"k2", blob(val))]
                resp = my.batch(qs, isolation=aql_pb2.ISOLATION_SERIALIZABLE,
                                timeout=20)
                if resp.WhichOneof("response") != "results":
                    # a serialization conflict may be reported as retryable
                    if resp.error.category != E.CATEGORY_RETRYABLE:
                        problems.append(("writer", resp.error.message))
                        return
                else:
                    with wlock:
                        counts["writes"] += 1
                i += 1
        except Exception as e:  # noqa: BLE001
            problems.append(("writer-exc", repr(e)))

    def reader():
        my = module_server.client()
        try:
            while not stop.is_set():
                qs = [q_get(c, b"k1"), q_get(c, b"k2")]
                resp = my.batch(qs, isolation=aql_pb2.ISOLATION_SERIALIZABLE,
                                timeout=20)
                if resp.WhichOneof("response") != "results":
                    if resp.error.category != E.CATEGORY_RETRYABLE:
                        problems.append(("reader", resp.error.message))
                        return
                    continue
                a, b = (r.single.value.data for r in resp.results.results)
                if a != b:
                    problems.append(("torn", a, b))
                    return
                with wlock:
                    if a not in written:
                        problems.append(("phantom", a))
                        return
                    counts["reads"] += 1
        except Exception as e:  # noqa: BLE001
            problems.append(("reader-exc", repr(e)))

    ts = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    ts += [threading.Thread(target=reader) for _ in range(readers)]
    for t in ts:
        t.start()
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline and not problems:
        stop.wait(0.05)
    stop.set()
    for t in ts:
        t.join(timeout=30)
        assert not t.is_alive(), "a worker hung"
    assert not problems, problems[:5]
    assert counts["writes"] >= writers and counts["reads"] >= readers, counts
    a = single_value(cl.get(c, b"k1")).data
    b = single_value(cl.get(c, b"k2")).data
    assert a == b


def test_concurrent_batches_all_commit(module_server):
    """Eight threads each commit 25 batches of 4 distinct keys; afterwards
    every key holds exactly what its batch wrote."""
    c = unique("conc")
    errors = []

    def work(t):
        my = module_server.client()
        for i in range(25):
            qs = [q_set(c, b"t%d-i%d-%d" % (t, i, j),
                        blob(b"%d:%d:%d" % (t, i, j))) for j in range(4)]
            resp = my.batch(qs, isolation=aql_pb2.ISOLATION_SERIALIZABLE,
                            timeout=20)
            if resp.WhichOneof("response") != "results":
                errors.append(resp.error.message)
                return

    ts = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=60)
        assert not t.is_alive()
    assert not errors, errors[:3]
    vals = multi_values(module_server.client().query(q_range(c, b"\x00")))
    expect = sorted((b"t%d-i%d-%d" % (t, i, j), b"%d:%d:%d" % (t, i, j))
                    for t in range(8) for i in range(25) for j in range(4))
    assert [(kv.key.data, kv.value.data) for kv in vals] == expect


def test_empty_batch(mclient):
    resp = mclient.batch([], request_id="empty")
    assert resp.request_id == "empty"
    if resp.WhichOneof("response") == "results":
        assert len(resp.results.results) == 0
    else:
        assert resp.error.category == E.CATEGORY_CLIENT_ERROR


def test_batch_result_values_carry_metadata(mclient):
    c = unique()
    result_of(mclient.set(c, b"x", b"xx", created_at=NOW))
    rs = batch_results(mclient.batch([q_get(c, b"x"),
                                      q_range(c, b"\x00")]), 2)
    for v in (rs[0].single.value, rs[1].multi.values[0].value):
        assert v.HasField("metadata")
        assert v.metadata.created_at == NOW
        assert v.metadata.checksum == crc(b"xx")
        assert v.metadata.size == 2
