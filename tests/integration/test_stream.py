"""ExecuteStream (batched chunks, sequence numbers, end totals, errors as
gRPC statuses) and ExecuteInteractive (one ExecuteQuery answer per
request, in order) per protocol.md and compatibility.md "streaming".
"""
import grpc
import pytest

from conftest import (E, aql_pb2, query_pb2, types_pb2, VERSION, Server,
                      blob, q_get, q_set, q_delete, q_range, unique, crc,
                      result_of, single_value)

NOW = 1_700_000_000
N = 1050


def key(i):
    return b"key%05d" % i


def value(i):
    return b"val-%05d-" % i + bytes((i + j) & 0xFF for j in range(i % 50))


def populate(cl, coll, n=N):
    qs = [q_set(coll, key(i), blob(value(i), created_at=NOW + i))
          for i in range(n)]
    resp = cl.batch(qs)
    assert resp.WhichOneof("response") == "results", resp


def check_stream(chunks, expected_keys, batch_size):
    """chunks: batch chunks then one end chunk, by the contract."""
    assert chunks, "a stream always ends with an end chunk"
    n = len(expected_keys)
    nbatches = (n + batch_size - 1) // batch_size
    kinds = [c.WhichOneof("chunk") for c in chunks]
    assert kinds == ["batch"] * nbatches + ["end"], kinds
    got = []
    for seq, c in enumerate(chunks[:-1]):
        assert c.sequence == seq
        size = min(batch_size, n - seq * batch_size)
        assert len(c.batch.values) == size, (seq, len(c.batch.values))
        assert c.batch.has_more == (seq < nbatches - 1), seq
        for kv in c.batch.values:
            got.append(kv)
    end = chunks[-1]
    assert end.sequence == nbatches
    assert end.end.total_count == n
    assert [kv.key.data for kv in got] == expected_keys
    for kv in got:
        i = int(kv.key.data[3:])
        assert kv.value.data == value(i)
        md = kv.value.metadata
        assert kv.value.HasField("metadata")
        assert md.size == len(value(i))
        assert md.checksum == crc(value(i))
        assert md.created_at == NOW + i


@pytest.fixture(scope="module")
def big_coll(mclient):
    c = unique("stream")
    populate(mclient, c)
    return c


def test_stream_range_default_batches(mclient, big_coll):
    chunks = mclient.stream(q_range(big_coll, b"\x00"))
    check_stream(chunks, [key(i) for i in range(N)], 100)
    assert len(chunks) == 12


def test_stream_range_with_end(mclient, big_coll):
    chunks = mclient.stream(q_range(big_coll, key(10), key(215)))
    check_stream(chunks, [key(i) for i in range(10, 215)], 100)


def test_stream_range_limit(mclient, big_coll):
    chunks = mclient.stream(q_range(big_coll, key(100), limit=250))
    check_stream(chunks, [key(i) for i in range(100, 350)], 100)
    chunks = mclient.stream(q_range(big_coll, key(1040), limit=250))
    check_stream(chunks, [key(i) for i in range(1040, N)], 100)


def test_stream_range_exact_multiple(mclient, big_coll):
    """300 keys in batches of 100: three full batches, the last one says
    has_more = false, no empty trailing batch."""
    chunks = mclient.stream(q_range(big_coll, key(0), key(300)))
    check_stream(chunks, [key(i) for i in range(300)], 100)


def test_stream_empty_range(mclient, big_coll):
    for q in (q_range(big_coll, key(5), key(5)),
              q_range(big_coll, key(9), key(3)),
              q_range(unique("nothing"), b"\x00"),
              q_range(big_coll, b"zzz")):
        chunks = mclient.stream(q)
        assert len(chunks) == 1, chunks
        assert chunks[0].WhichOneof("chunk") == "end"
        assert chunks[0].end.total_count == 0
        assert chunks[0].sequence == 0


def test_stream_get_found(mclient, big_coll):
    chunks = mclient.stream(q_get(big_coll, key(42)))
    check_stream(chunks, [key(42)], 100)


def test_stream_get_missing(mclient, big_coll):
    chunks = mclient.stream(q_get(big_coll, b"no-such-key"))
    assert [c.WhichOneof("chunk") for c in chunks] == ["end"]
    assert chunks[0].end.total_count == 0
    assert chunks[0].sequence == 0


def test_stream_sees_collection_only(mclient, big_coll):
    other = big_coll + "x"
    mclient.set(other, key(0), b"other")
    chunks = mclient.stream(q_range(other, b"\x00"))
    assert chunks[0].batch.values[0].value.data == b"other"
    assert chunks[-1].end.total_count == 1


@pytest.mark.parametrize("q,code", [
    (lambda c: q_set(c, b"k", blob(b"v")),
     grpc.StatusCode.FAILED_PRECONDITION),
    (lambda c: q_delete(c, b"k"), grpc.StatusCode.FAILED_PRECONDITION),
    (lambda c: query_pb2.Query(filter=query_pb2.FilterQuery(
        collection=c, predicate=types_pb2.Predicate(eq=types_pb2.EqPredicate(
            column=types_pb2.ColumnRef(name="x"), value=blob(b"1"))))),
     grpc.StatusCode.FAILED_PRECONDITION),
    (lambda c: q_range("", b"\x00"), grpc.StatusCode.INVALID_ARGUMENT),
    (lambda c: q_get("", b"k"), grpc.StatusCode.INVALID_ARGUMENT),
    (lambda c: q_range("x" * 256, b"\x00"), grpc.StatusCode.INVALID_ARGUMENT),
    (lambda c: q_get("a\x00", b"k"), grpc.StatusCode.INVALID_ARGUMENT),
    (lambda c: q_get(c, b""), grpc.StatusCode.INVALID_ARGUMENT),
    (lambda c: query_pb2.Query(get=query_pb2.GetQuery(collection=c)),
     grpc.StatusCode.INVALID_ARGUMENT),
    (lambda c: query_pb2.Query(), grpc.StatusCode.INVALID_ARGUMENT),
], ids=["set", "delete", "filter", "range-empty-coll", "get-empty-coll",
        "range-long-coll", "get-nul-coll", "get-empty-key", "get-no-key",
        "no-kind"])
def test_stream_errors_are_statuses(module_server, mclient, q, code):
    c = unique()
    with pytest.raises(grpc.RpcError) as ei:
        mclient.stream(q(c), timeout=10)
    assert ei.value.code() == code, ei.value
    assert ei.value.details(), "a status carries a message"
    # SET through a stream must not have stored anything
    assert single_value(mclient.get(c, b"k")) is None
    assert module_server.proc.poll() is None


def test_stream_set_not_applied(mclient):
    c = unique()
    with pytest.raises(grpc.RpcError):
        mclient.stream(q_set(c, b"k", blob(b"v")), timeout=10)
    assert single_value(mclient.get(c, b"k")) is None


def test_stream_unsupported_version(mclient, big_coll):
    req = aql_pb2.QueryRequest(query=q_get(big_coll, key(1)),
                               request_id="sv", version=types_pb2.Version(
                                   major=1))
    with pytest.raises(grpc.RpcError) as ei:
        list(mclient._stream(req, timeout=10))
    assert ei.value.code() in (grpc.StatusCode.INVALID_ARGUMENT,
                               grpc.StatusCode.FAILED_PRECONDITION,
                               grpc.StatusCode.UNIMPLEMENTED), ei.value


def test_stream_client_cancel_then_server_serves(module_server, mclient,
                                                 big_coll):
    it = mclient._stream(mclient.request(q_range(big_coll, b"\x00")),
                         timeout=30)
    first = next(it)
    assert first.WhichOneof("chunk") == "batch"
    it.cancel()
    chunks = mclient.stream(q_range(big_coll, key(0), key(3)))
    assert chunks[-1].end.total_count == 3
    assert module_server.proc.poll() is None


@pytest.fixture(scope="module")
def small_batches(tmp_path_factory):
    s = Server(str(tmp_path_factory.mktemp("batch7")),
               "[query]\nstream_batch_size = 7\n")
    s.start()
    yield s
    s.stop()


def test_stream_configured_batch_size(small_batches):
    cl = small_batches.client()
    c = unique()
    populate(cl, c)
    chunks = cl.stream(q_range(c, b"\x00"))
    # 1050 = 150 * 7: exactly 150 full batches, the last has_more=false
    check_stream(chunks, [key(i) for i in range(N)], 7)
    chunks = cl.stream(q_range(c, key(3), key(1000)))
    check_stream(chunks, [key(i) for i in range(3, 1000)], 7)
    chunks = cl.stream(q_range(c, key(3), limit=20))
    check_stream(chunks, [key(i) for i in range(3, 23)], 7)


# --------------------------------------------------------------------------
# ExecuteInteractive


def mixed_queries(coll):
    """50 queries: writes, reads, deletes, ranges and a few errors."""
    qs = []
    for i in range(10):
        qs.append(q_set(coll, b"k%02d" % i,
                        blob(b"v%02d" % i, created_at=NOW + i, version=i)))
    for i in range(0, 12, 2):
        qs.append(q_get(coll, b"k%02d" % i))        # 10, 11 missing
    qs.append(q_range(coll, b"k02", b"k07"))
    qs.append(q_range(coll, b"\x00", limit=4))
    for i in range(0, 10, 3):
        qs.append(q_delete(coll, b"k%02d" % i))
    qs.append(q_delete(coll, b"k00"))                 # already gone
    qs.append(q_get(coll, b""))                       # error
    qs.append(q_set(coll, b"bad", blob(b"x", checksum=1)))  # error
    qs.append(q_set(coll, b"nometa", blob(b"x", with_metadata=False)))
    qs.append(q_range(coll, b"\x00"))
    qs.append(q_set(coll, b"k03", blob(b"again", created_at=NOW)))
    qs.append(q_get(coll, b"k03"))
    qs.append(q_get("", b"k"))                        # error
    while len(qs) < 50:
        n = len(qs)
        qs.append(q_set(coll, b"z%02d" % n, blob(b"z" * n, created_at=NOW)))
        qs.append(q_get(coll, b"z%02d" % n))
    return qs


def normalise(resp, coll):
    r = aql_pb2.QueryResponse()
    r.CopyFrom(resp)
    r.execution_time_ms = 0
    if r.WhichOneof("response") == "error":
        r.error.message = r.error.message.replace(coll, "<C>")
        if r.error.HasField("details"):
            r.error.details = r.error.details.replace(coll, "<C>")
    return r


def test_interactive_matches_execute_query(mclient):
    ca, cb = unique("ia"), unique("ib")
    assert len(ca) == len(cb)
    qa, qb = mixed_queries(ca), mixed_queries(cb)
    assert len(qa) == 50
    reqs = [aql_pb2.QueryRequest(query=q, request_id="r%d" % i,
                                 timeout_ms=30000, version=VERSION)
            for i, q in enumerate(qa)]
    inter = list(mclient._interactive(iter(reqs), timeout=60))
    assert len(inter) == 50
    unary = []
    for i, q in enumerate(qb):
        unary.append(mclient._query(aql_pb2.QueryRequest(
            query=q, request_id="r%d" % i, timeout_ms=30000,
            version=VERSION), timeout=10))
    nerr = 0
    for i, (a, b) in enumerate(zip(inter, unary)):
        assert a.request_id == "r%d" % i
        assert normalise(a, ca) == normalise(b, cb), (i, a, b)
        nerr += a.WhichOneof("response") == "error"
    assert nerr == 4


def test_interactive_error_in_middle_continues(mclient):
    c = unique()
    qs = [q_set(c, b"a", blob(b"1")), q_get(c, b""), q_get(c, b"a"),
          q_set("", b"a", blob(b"2")), q_get(c, b"a")]
    out = mclient.interactive(qs)
    assert len(out) == 5
    assert out[0].WhichOneof("response") == "result"
    assert out[1].error.code == E.ERROR_VALIDATION_INVALID_KEY
    assert single_value(out[2]).data == b"1"
    assert out[3].error.code == E.ERROR_VALIDATION_INVALID_COLLECTION
    assert single_value(out[4]).data == b"1"


def test_interactive_many_in_order(mclient):
    c = unique()
    n = 300
    reqs = [aql_pb2.QueryRequest(
        query=(q_set(c, b"%04d" % i, blob(b"%d" % i)) if i % 2 == 0
               else q_get(c, b"%04d" % (i - 1))),
        request_id="m%d" % i, version=VERSION) for i in range(n)]
    out = list(mclient._interactive(iter(reqs), timeout=60))
    assert [o.request_id for o in out] == ["m%d" % i for i in range(n)]
    for i in range(1, n, 2):
        assert single_value(out[i]).data == b"%d" % (i - 1)


def test_interactive_empty_stream(mclient):
    assert mclient.interactive([]) == []


def test_interactive_then_unary_consistent(mclient):
    c = unique()
    out = mclient.interactive([q_set(c, b"k", blob(b"x" * 10))])
    result_of(out[0])
    assert single_value(mclient.get(c, b"k")).data == b"x" * 10


# --------------------------------------------------------------------------
# timeouts


@pytest.fixture(scope="module")
def huge_coll(mclient):
    """20,000 keys of 1 KiB: far more than transport buffers hold, so a
    stream over it stays in flight while its consumer is slow."""
    c = unique("huge")
    for start in range(0, 20000, 5000):
        qs = [q_set(c, b"h%06d" % i, blob(b"%06d" % i + b"\x5a" * 1018))
              for i in range(start, start + 5000)]
        assert mclient.batch(qs).WhichOneof("response") == "results"
    return c


def test_stream_honours_timeout_ms(mclient, huge_coll):
    it = mclient._stream(mclient.request(q_range(huge_coll, b"\x00"),
                                         timeout_ms=200), timeout=30)
    got = 0
    first = next(it)
    assert first.WhichOneof("chunk") == "batch"
    got += len(first.batch.values)
    import time
    t0 = time.monotonic()
    time.sleep(0.5)  # a slow consumer: the server is blocked on flow control
    with pytest.raises(grpc.RpcError) as ei:
        for ch in it:
            if ch.WhichOneof("chunk") == "batch":
                got += len(ch.batch.values)
    assert ei.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED, ei.value
    assert got < 20000
    assert time.monotonic() - t0 < 10, "the 30 s client deadline hit first"


def test_stream_without_timeout_completes(mclient, huge_coll):
    req = aql_pb2.QueryRequest(query=q_range(huge_coll, b"\x00"),
                               request_id="nt", version=VERSION)
    n = 0
    last = None
    for ch in mclient._stream(req, timeout=60):
        if ch.WhichOneof("chunk") == "batch":
            n += len(ch.batch.values)
        last = ch
    assert n == 20000
    assert last.end.total_count == 20000
    assert last.sequence == 200


# --------------------------------------------------------------------------
# streams and ranges while the collection changes underneath


def test_ranges_and_streams_under_concurrent_writes(module_server):
    """Writers SET and DELETE keys of one collection while readers run
    RANGE queries and streams over it. Every answer must be in strictly
    ascending key order, carry values that belong to their key (a writer
    stores key||version with a valid checksum), and end consistently."""
    import threading
    import time
    c = unique("live")
    stop = threading.Event()
    problems = []

    def writer(w):
        my = module_server.client()
        i = 0
        while not stop.is_set() and not problems:
            k = b"%04d" % ((i * 7 + w * 13) % 500)
            if i % 3 == 2:
                my.delete(c, k)
            else:
                data = k + b"|" + b"w%d-%d" % (w, i) + b"." * (i % 200)
                r = my.set(c, k, data)
                if r.WhichOneof("response") != "result":
                    problems.append(("set", r.error.message))
            i += 1

    def check(vals, where):
        keys = [kv.key.data for kv in vals]
        if keys != sorted(set(keys)):
            problems.append((where, "order/duplicates", keys[:10]))
        for kv in vals:
            d = kv.value.data
            if not d.startswith(kv.key.data + b"|") or \
                    kv.value.metadata.checksum != crc(d) or \
                    kv.value.metadata.size != len(d):
                problems.append((where, "value/key mismatch", kv.key.data,
                                 d[:20]))
                return

    def reader(r):
        my = module_server.client()
        while not stop.is_set() and not problems:
            try:
                if r % 2 == 0:
                    chunks = my.stream(q_range(c, b"\x00"), timeout=20)
                    vals = []
                    for seq, ch in enumerate(chunks):
                        if ch.sequence != seq:
                            problems.append(("seq", seq, ch.sequence))
                        if ch.WhichOneof("chunk") == "batch":
                            vals.extend(ch.batch.values)
                    if chunks[-1].WhichOneof("chunk") != "end" or \
                            chunks[-1].end.total_count != len(vals):
                        problems.append(("end", chunks[-1]))
                    check(vals, "stream")
                else:
                    resp = my.query(q_range(c, b"0100", b"0400"))
                    vals = list(resp.result.multi.values)
                    check(vals, "range")
                    if any(not (b"0100" <= kv.key.data < b"0400")
                           for kv in vals):
                        problems.append(("range bounds",))
            except grpc.RpcError as e:
                problems.append(("rpc", e.code(), e.details()))

    ts = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    ts += [threading.Thread(target=reader, args=(r,)) for r in range(4)]
    for t in ts:
        t.start()
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and not problems:
        stop.wait(0.05)
    stop.set()
    for t in ts:
        t.join(timeout=30)
        assert not t.is_alive(), "a worker hung"
    assert not problems, problems[:5]
    assert module_server.proc.poll() is None
