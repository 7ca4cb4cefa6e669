"""Recovery of a damaged lsm data directory (durable storage issue,
"Start-up opens or repairs cleanly"): a damaged MANIFEST or a missing
CURRENT makes `start` refuse with a message that names the problem and
`amaters-server repair`; the data directory is left untouched (never
recreated empty over the old files); `repair` (server stopped) keeps a
copy of the damaged files, rebuilds the database, and every key comes
back with its exact value and metadata, small and blob-sized alike.
"""
import glob
import os

import pytest

from conftest import (Server, admin, free_port, run_cli, single_value,
                      unique)

SMALL, LARGE = 200, 12          # keys with 100 B values / 8 KiB values


def fill(s, large=LARGE):
    """Writes the test keys (large of them with blob-sized values);
    returns {(coll, key): data}."""
    cl = s.client()
    coll = unique("rep")
    want = {}
    for i in range(SMALL + large):
        data = os.urandom(8192 if i < large else 100)
        key = b"k%04d" % i
        assert cl.set(coll, key, data, created_at=1_700_000_000 + i) \
            .WhichOneof("response") == "result"
        want[(coll, key)] = data
    return want


def check_all(s, want):
    cl = s.client()
    for (coll, key), data in want.items():
        v = single_value(cl.get(coll, key))
        assert v is not None, (coll, key)
        assert v.data == data
        assert v.metadata.size == len(data)
        assert v.metadata.created_at == 1_700_000_000 + int(key[1:])
    _, stats = admin(cl, "STATS")
    assert stats["key_count"] == len(want)
    _, ver = admin(cl, "VERIFY")
    assert ver["ok"] is True and ver["corrupted_keys"] == 0
    assert ver["checked"] == len(want)


def start_cli(data_dir):
    """`start` in the foreground on free ports; returns CompletedProcess
    (it exits by itself when the storage cannot be opened)."""
    return run_cli(["-d", data_dir, "-b", "127.0.0.1:%d" % free_port(),
                    "start"],
                   env={"AMATERS_METRICS__BIND_ADDRESS":
                        "127.0.0.1:%d" % free_port()}, timeout=30)


def make_filled(tmp_path, large):
    s = Server(str(tmp_path))
    s.start()
    try:
        want = fill(s, large)
    finally:
        s.stop()
    return s, want


@pytest.fixture
def filled(tmp_path):
    return make_filled(tmp_path, LARGE)


def corrupt_manifest(data_dir):
    (m,) = glob.glob(os.path.join(data_dir, "lsm", "MANIFEST-*"))
    with open(m, "r+b") as f:
        f.seek(max(0, os.path.getsize(m) // 2 - 8))
        f.write(b"\xde\xad\xbe\xef" * 4)


def listing(data_dir):
    """The database files of lsm/ with their sizes (RocksDB's own info
    LOG, rotated by every open attempt, is left out)."""
    d = os.path.join(data_dir, "lsm")
    return sorted((n, os.path.getsize(os.path.join(d, n)))
                  for n in os.listdir(d) if not n.startswith("LOG"))


@pytest.mark.parametrize("damage,large,method", [
    ("manifest", 0, "RocksDB repair"),      # small values only
    ("current", LARGE, "CURRENT rebuilt"),  # blob files kept
])
def test_damaged_directory_refused_then_repaired(tmp_path, damage, large,
                                                 method):
    s, want = make_filled(tmp_path, large)
    if damage == "manifest":
        corrupt_manifest(s.data_dir)
    else:
        os.unlink(os.path.join(s.data_dir, "lsm", "CURRENT"))
    before = listing(s.data_dir)
    r = start_cli(s.data_dir)
    assert r.returncode == 1
    assert "amaters-server repair" in r.stderr
    assert ("MANIFEST" if damage == "manifest" else "CURRENT") in r.stderr
    # a refused start changes nothing (never an empty database over it)
    assert listing(s.data_dir) == before
    r = run_cli(["-d", s.data_dir, "repair"], timeout=120)
    assert r.returncode == 0, r.stderr
    assert "repaired: %d keys" % len(want) in r.stdout
    assert method in r.stdout
    backups = glob.glob(os.path.join(s.data_dir, "repair-backup-*", "lsm"))
    assert len(backups) == 1
    assert any(n.startswith("MANIFEST-") for n in os.listdir(backups[0]))
    s.start()
    try:
        check_all(s, want)
    finally:
        s.stop()


def test_damaged_manifest_with_blob_files_is_left_untouched(filled):
    """RocksDB 7.8's repair cannot keep blob files: repair refuses and
    changes nothing (the backup copy is still made)."""
    s, want = filled
    corrupt_manifest(s.data_dir)
    before = listing(s.data_dir)
    r = run_cli(["-d", s.data_dir, "repair"], timeout=120)
    assert r.returncode == 1
    assert "blob" in r.stderr and "RESTORE" in r.stderr
    assert listing(s.data_dir) == before
    assert glob.glob(os.path.join(s.data_dir, "repair-backup-*", "lsm"))


def test_repair_refuses_while_the_server_runs(filled):
    s, want = filled
    s.start()
    try:
        r = run_cli(["-d", s.data_dir, "repair", "--no-backup"], timeout=60)
        assert r.returncode == 1
        assert "is running" in r.stderr
        check_all(s, want)   # nothing was touched
    finally:
        s.stop()


def test_repair_of_a_healthy_directory_keeps_everything(filled):
    s, want = filled
    r = run_cli(["-d", s.data_dir, "repair", "--no-backup"], timeout=120)
    assert r.returncode == 0, r.stderr
    assert "none needed" in r.stdout
    assert not glob.glob(os.path.join(s.data_dir, "repair-backup-*"))
    s.start()
    try:
        check_all(s, want)
    finally:
        s.stop()


def test_repair_needs_the_lsm_engine(tmp_path):
    cfg = tmp_path / "m.toml"
    cfg.write_text('[storage]\nengine = "memory"\n')
    r = run_cli(["-c", str(cfg), "-d", str(tmp_path / "d"), "repair"])
    assert r.returncode == 1
    assert "memory" in r.stderr and "lsm" in r.stderr


def test_repair_usage():
    r = run_cli(["repair", "--help"])
    assert r.returncode == 0 and "--no-backup" in r.stdout
    r = run_cli(["repair", "--show"])
    assert r.returncode == 2
