"""Admin tunnel COMPACT [collection] (compatibility.md: "every figure is
real"): on the lsm engine a compaction really runs, over the collection
asked for only, and the sizes it reports are those of the files on disk;
a collection name is validated as queries validate theirs (6003); the
memory engine answers that it compacted nothing."""
import os

from conftest import (E, CLIENT_ERROR, admin, affected, assert_error, q_get,
                      q_set, blob, result_of, single_value, unique,
                      wait_until)

N = 2000
VLEN = 100          # well below storage.blob_min_size_kb: values stay in SSTs
BATCH = 200
FIGURES = ("duration_ms", "sst_bytes_before", "sst_bytes_after",
           "blob_bytes_before", "blob_bytes_after", "size_before_bytes",
           "size_after_bytes", "reclaimed_bytes")


def disk_bytes(server, suffix):
    """Total size of the files ending in suffix in the lsm directory."""
    d = os.path.join(server.data_dir, "lsm")
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)
               if f.endswith(suffix))


def value(i, tag):
    v = b"%s-%05d-" % (tag, i)
    return (v * (VLEN // len(v) + 1))[:VLEN]


def write_all(client, coll, tag):
    for start in range(0, N, BATCH):
        qs = [q_set(coll, b"k%05d" % i, blob(value(i, tag)))
              for i in range(start, start + BATCH)]
        resp = client.batch(qs)
        assert resp.WhichOneof("response") == "results", resp


def compact(client, arg=None):
    cmd = "COMPACT" if arg is None else "COMPACT " + arg
    resp, r = admin(client, cmd)
    assert r is not None, resp
    assert r["command"] == "COMPACT"
    return r


def check_figures(server, r):
    for f in FIGURES:
        assert isinstance(r[f], (int, float)), (f, r)
    assert r["duration_ms"] >= 0
    assert r["size_before_bytes"] == \
        r["sst_bytes_before"] + r["blob_bytes_before"]
    assert r["size_after_bytes"] == \
        r["sst_bytes_after"] + r["blob_bytes_after"]
    assert r["reclaimed_bytes"] == \
        r["size_before_bytes"] - r["size_after_bytes"]
    # real figures: the files on disk (obsolete ones are deleted right
    # after the compaction; allow a moment for it)
    assert wait_until(lambda: disk_bytes(server, ".sst") ==
                      r["sst_bytes_after"], timeout=5), \
        (disk_bytes(server, ".sst"), r)
    assert disk_bytes(server, ".blob") == r["blob_bytes_after"]


def test_compact_collection_reclaims_space(make_server):
    s = make_server()
    c = s.client()
    coll = unique("cmp")   # 16 bytes: its keys sort apart from "o"'s
    other = "o"

    # Three table files of coll: COMPACT <other> flushes every memtable
    # but compacts only other's (empty) key range, so coll's old versions
    # and tombstones stay on disk. Three L0 files are below RocksDB's
    # trigger for an automatic compaction.
    write_all(c, coll, b"v1")
    r = compact(c, other)
    assert r["compacted"] is True and r["collection"] == other
    write_all(c, coll, b"v2")
    compact(c, other)
    for i in range(0, N, 2):
        assert affected(c.delete(coll, b"k%05d" % i)) == 1
    r = compact(c, other)
    assert r["engine"] == "lsm"
    check_figures(s, r)
    assert r["sst_bytes_before"] > 2 * N * VLEN   # two versions of coll
    assert r["sst_bytes_after"] == r["sst_bytes_before"], \
        "compacting another collection must leave this one's files alone"
    assert r["blob_bytes_after"] == 0

    r = compact(c, coll)
    assert r["compacted"] is True
    assert r["collection"] == coll
    assert r["engine"] == "lsm"
    assert isinstance(r["note"], str) and r["note"]
    check_figures(s, r)
    # one of two versions of every value and half the keys are gone
    assert r["sst_bytes_after"] < r["sst_bytes_before"] - N * VLEN, r
    assert r["reclaimed_bytes"] > N * VLEN

    # nothing readable changed
    for i in (0, 1, 2, 1001, N - 2, N - 1):
        v = single_value(c.get(coll, b"k%05d" % i))
        if i % 2 == 0:
            assert v is None, i
        else:
            assert v is not None and v.data == value(i, b"v2"), i
    _, st = admin(c, "STATS")
    assert st["key_count"] == N // 2

    r = compact(c)
    assert r["compacted"] is True and r["collection"] == "*"
    check_figures(s, r)
    assert r["sst_bytes_after"] <= r["sst_bytes_before"]


def test_compact_invalid_collection(make_server):
    s = make_server()
    c = s.client()
    result_of(c.set("keep", b"k", b"v"))
    for name in (b"x" * 300, b"\xff\xfe", b"a\x00b"):
        resp = c.query(q_get("any", b"__admin__:COMPACT " + name))
        err = assert_error(resp, E.ERROR_VALIDATION_INVALID_COLLECTION,
                           CLIENT_ERROR)
        assert "invalid collection" in err.message
        # exactly what a query on that collection gets (the proto's
        # collection is a string: Python cannot send bad UTF-8 in it)
        try:
            coll = name.decode("utf-8")
        except UnicodeDecodeError:
            continue
        q = c.query(q_get(coll, b"k"))
        assert_error(q, E.ERROR_VALIDATION_INVALID_COLLECTION, CLIENT_ERROR)
    # the longest valid name is fine
    r = compact(c, "y" * 255)
    assert r["compacted"] is True and r["collection"] == "y" * 255
    assert single_value(c.get("keep", b"k")).data == b"v"


def test_compact_memory_engine(make_server):
    s = make_server(env={"AMATERS_STORAGE__ENGINE": "memory"})
    c = s.client()
    result_of(c.set("m", b"k", b"v"))
    for arg in (None, "m"):
        r = compact(c, arg)
        assert r["compacted"] is False
        assert r["engine"] == "memory"
        assert r["collection"] == (arg or "*")
        assert "nothing to compact" in r["note"]
        assert "sst_bytes_after" not in r
    resp = c.query(q_get("any", b"__admin__:COMPACT " + b"x" * 300))
    assert_error(resp, E.ERROR_VALIDATION_INVALID_COLLECTION, CLIENT_ERROR)
    assert single_value(c.get("m", b"k")).data == b"v"
