"""Read-modify-write across calls with optimistic versions (batch.c file
comment, docs/durability.md "Read-modify-write"): in a SERIALIZABLE or
REPEATABLE_READ batch, a SET carrying metadata.version v of a key that an
earlier GET of the same batch read commits only if that GET saw version
v - 1; otherwise the batch fails with ERROR_STORAGE_ALREADY_EXISTS
(category RETRYABLE) and applies nothing.

The counter test is the acceptance test of the durable-storage issue:
many clients increment one counter with read-modify-write batches and
the final count is exact.
"""
import threading

import pytest

from conftest import (E, aql_pb2, blob, q_get, q_set, unique, assert_error,
                      single_value)

SER = aql_pb2.ISOLATION_SERIALIZABLE
RR = aql_pb2.ISOLATION_REPEATABLE_READ
NOW = 1_700_000_000


def read(cl, coll, key):
    """(value bytes or None, version) of key, by a plain GET."""
    v = single_value(cl.get(coll, key))
    if v is None:
        return None, 0
    ver = v.metadata.version if v.metadata.HasField("version") else 0
    return v.data, ver


def rmw(cl, coll, key, data, version, isolation=SER, extra=()):
    """The read-modify-write batch: GET key, then SET key to data with
    metadata.version = version (plus extra queries)."""
    qs = [q_get(coll, key),
          q_set(coll, key, blob(data, created_at=NOW, version=version))]
    return cl.batch(qs + list(extra), isolation=isolation)


def is_conflict(resp):
    return (resp.WhichOneof("response") == "error"
            and resp.error.code == E.ERROR_STORAGE_ALREADY_EXISTS)


@pytest.mark.parametrize("isolation", [SER, RR])
def test_stale_version_conflicts_and_applies_nothing(mclient, isolation):
    c = unique()
    assert rmw(mclient, c, b"k", b"v1", 1, isolation) \
        .WhichOneof("response") == "results"
    assert read(mclient, c, b"k") == (b"v1", 1)
    # a write computed from version 0 while the key is at version 1
    other = q_set(c, b"other", blob(b"x", created_at=NOW))
    resp = rmw(mclient, c, b"k", b"stale", 1, isolation, extra=[other])
    assert_error(resp, E.ERROR_STORAGE_ALREADY_EXISTS,
                 category=E.CATEGORY_RETRYABLE)
    assert "conflict" in resp.error.message
    assert "version 1" in resp.error.message
    assert read(mclient, c, b"k") == (b"v1", 1)
    assert read(mclient, c, b"other") == (None, 0)   # nothing applied
    # the right version commits
    assert rmw(mclient, c, b"k", b"v2", 2, isolation) \
        .WhichOneof("response") == "results"
    assert read(mclient, c, b"k") == (b"v2", 2)


def test_version_skipping_ahead_conflicts(mclient):
    c = unique()
    assert is_conflict(rmw(mclient, c, b"k", b"v5", 5))
    assert read(mclient, c, b"k") == (None, 0)


@pytest.mark.parametrize("isolation", [aql_pb2.ISOLATION_DEFAULT,
                                       aql_pb2.ISOLATION_READ_COMMITTED,
                                       aql_pb2.ISOLATION_READ_UNCOMMITTED])
def test_weaker_isolation_is_unconditional(mclient, isolation):
    c = unique()
    assert mclient.set(c, b"k", b"a", version=7).WhichOneof("response") \
        == "result"
    resp = rmw(mclient, c, b"k", b"b", 3, isolation)
    assert resp.WhichOneof("response") == "results"
    assert read(mclient, c, b"k") == (b"b", 3)


def test_unread_key_and_version_zero_are_unconditional(mclient):
    c = unique()
    assert mclient.set(c, b"k", b"a", version=7).WhichOneof("response") \
        == "result"
    # no GET of k before the SET in this batch
    resp = mclient.batch([q_set(c, b"k", blob(b"b", created_at=NOW,
                                               version=3))], isolation=SER)
    assert resp.WhichOneof("response") == "results"
    assert read(mclient, c, b"k") == (b"b", 3)
    # version 0 (or no version) never conflicts
    assert rmw(mclient, c, b"k", b"c", 0).WhichOneof("response") == "results"
    assert read(mclient, c, b"k") == (b"c", 0)


def test_version_seen_through_the_batchs_own_write(mclient):
    c = unique()
    qs = [q_set(c, b"k", blob(b"a", created_at=NOW, version=4)),
          q_get(c, b"k"),
          q_set(c, b"k", blob(b"b", created_at=NOW, version=5))]
    assert mclient.batch(qs, isolation=SER).WhichOneof("response") \
        == "results"
    assert read(mclient, c, b"k") == (b"b", 5)


def counter_run(server, clients=8, increments=25):
    """clients threads each add `increments` to one counter with
    read-modify-write batches, retrying on conflict. Returns (final value,
    final version, conflicts seen, errors)."""
    c = unique()
    conflicts = [0]
    errors = []
    lock = threading.Lock()

    def work():
        cl = server.client()
        done = 0
        tries = 0
        while done < increments and tries < increments * 200:
            tries += 1
            data, ver = read(cl, c, b"counter")
            n = int(data) if data is not None else 0
            resp = rmw(cl, c, b"counter", str(n + 1).encode(), ver + 1)
            if resp.WhichOneof("response") == "results":
                done += 1
            elif is_conflict(resp):
                assert resp.error.category == E.CATEGORY_RETRYABLE
                with lock:
                    conflicts[0] += 1
            else:
                with lock:
                    errors.append(resp)
                return
        if done < increments:
            with lock:
                errors.append(f"gave up after {tries} tries")

    ts = [threading.Thread(target=work) for _ in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in ts), "counter clients hung"
    data, ver = read(server.client(), c, b"counter")
    return int(data), ver, conflicts[0], errors


@pytest.mark.parametrize("engine", ["lsm", "memory"])
def test_counter_increments_are_exact(make_server, engine):
    s = make_server(f'[storage]\nengine = "{engine}"\n')
    value, version, conflicts, errors = counter_run(s)
    assert errors == []
    assert value == 8 * 25
    assert version == 8 * 25
    # 8 clients on one key: the check must have refused stale writes
    assert conflicts > 0


def test_counter_with_concurrent_single_writes(make_server):
    """Unary SETs of other keys run through the commit queue at the same
    time; the counter stays exact and every unary SET lands."""
    s = make_server()
    stop = threading.Event()
    written = []

    def noise():
        cl = s.client()
        i = 0
        while not stop.is_set():
            k = b"n%d" % i
            if cl.set("noise", k, k).WhichOneof("response") == "result":
                written.append(k)
            i += 1

    t = threading.Thread(target=noise)
    t.start()
    try:
        value, version, _, errors = counter_run(s, clients=4,
                                                increments=20)
    finally:
        stop.set()
        t.join(timeout=30)
    assert errors == []
    assert (value, version) == (80, 80)
    cl = s.client()
    for k in written[-50:]:
        assert read(cl, "noise", k)[0] == k
