"""Recovery of a damaged lsm data directory (durable storage issue,
"Start-up opens or repairs cleanly"): a damaged MANIFEST or a missing
CURRENT makes `start` refuse with a message that names the problem and
`amaters-server repair`; the data directory is left untouched (never
recreated empty over the old files); `repair` (server stopped) keeps a
copy of the damaged files, rebuilds the database, and every key comes
back with its exact value and metadata, small and blob-sized alike.

The repair is transactional: it works on a staging copy, and whether it
fails at any step or is killed (kill -9) at any instant, the data
directory is either untouched (still refused by `start`, still
repairable) or holds the complete repaired database (every key served);
a second repair always completes. Steps are hit deterministically with
the test-only AMATERS_TEST_REPAIR_FAIL_AT / _PAUSE_AT variables.
"""
import glob
import hashlib
import os
import select
import shutil
import signal
import subprocess

import pytest

from conftest import (SERVER_BIN, Server, admin, blob, free_port,
                      grow_tmpfs, q_set, run_cli, single_value, small_tmpfs,
                      unique, wait_until)

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


# ---- transactional repair: injected failures and kills at every step ----

CRASH_KEYS = 3000            # 1.5 KB values (below the blob threshold)
CRASH_ENV = {"AMATERS_STORAGE__MEMTABLE_SIZE_MB": "1"}
PRE_EXCHANGE = ["staged", "rocksdb-repaired", "reopened", "marked"]
POST_EXCHANGE = ["exchanged", "wal-moved"]


def put_batch(cl, coll, lo, hi, want):
    """SETs keys lo..hi-1 of coll (1.5 KB random values, created_at
    1_700_000_000 + i) in one batch; records them in want."""
    qs = []
    for i in range(lo, hi):
        key, data = b"k%04d" % i, os.urandom(1500)
        qs.append(q_set(coll, key, blob(data, created_at=1_700_000_000 + i)))
        want[(coll, key)] = data
    assert cl.batch(qs).WhichOneof("response") == "results"


@pytest.fixture(scope="module")
def crashed_base(tmp_path_factory):
    """A data directory written in batches (several tables and WAL files),
    left by kill -9 (WAL files with live data stay) and then given a
    damaged MANIFEST; returns (its dir, {(coll, key): data})."""
    tmp = tmp_path_factory.mktemp("crashed")
    s = Server(str(tmp), env=CRASH_ENV)
    s.start()
    coll, want = unique("crash"), {}
    try:
        cl = s.client()
        for j in range(0, CRASH_KEYS, 250):
            put_batch(cl, coll, j, j + 250, want)
    finally:
        s.signal(signal.SIGKILL)
        s.proc.wait()
        s.stop()
    assert glob.glob(os.path.join(s.data_dir, "wal", "*.log"))
    corrupt_manifest(s.data_dir)
    return s.data_dir, want


def wal_dir_of(s):
    return s.env.get("AMATERS_STORAGE__WAL__DIR",
                     os.path.join(s.data_dir, "wal"))


def crashed_copy(tmp_path, crashed_base, external_wal=False):
    """A Server on a private copy of the crashed directory; with
    external_wal, its WAL directory lives outside the data directory."""
    base, want = crashed_base
    env = dict(CRASH_ENV)
    if external_wal:
        env["AMATERS_STORAGE__WAL__DIR"] = str(tmp_path / "elsewhere-wal")
    s = Server(str(tmp_path), env=env)
    shutil.copytree(base, s.data_dir)
    if external_wal:
        shutil.move(os.path.join(s.data_dir, "wal"), wal_dir_of(s))
    return s, want


def snapshot(s):
    """Every file of lsm/ and the WAL directory with a hash of its bytes
    (RocksDB's info LOG, rotated by each open attempt, left out)."""
    out = {}
    for top in (os.path.join(s.data_dir, "lsm"), wal_dir_of(s)):
        for root, _, files in os.walk(top):
            for n in files:
                if n.startswith("LOG"):
                    continue
                p = os.path.join(root, n)
                with open(p, "rb") as f:
                    out[p] = hashlib.sha256(f.read()).hexdigest()
    return out


def cli(s, *args, env=None, timeout=180):
    e = dict(s.env)
    e.update(env or {})
    a = ["-d", s.data_dir, "-b", s.addr] + list(args)
    return run_cli(a, env=e, timeout=timeout)


def refused(s):
    r = cli(s, "start", timeout=30)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "amaters-server repair" in r.stderr and "MANIFEST" in r.stderr


def serves_all(s, want):
    s.start()
    try:
        check_all(s, want)
    finally:
        s.stop()


def repaired_again(s, want, expect):
    r = cli(s, "repair", "--no-backup")
    assert r.returncode == 0, r.stdout + r.stderr
    assert expect in r.stdout, r.stdout
    assert "repaired: %d keys" % len(want) in r.stdout, r.stdout
    assert not os.path.exists(os.path.join(s.data_dir, "repair-staging"))
    serves_all(s, want)
    return r


@pytest.mark.parametrize("step", PRE_EXCHANGE)
def test_failed_repair_leaves_the_directory_byte_identical(
        tmp_path, crashed_base, step):
    """Whatever step of the repair fails (rocksdb_repair_db included,
    after it rewrote the staged MANIFEST), lsm/ and the WAL directory are
    byte for byte as before, `start` still refuses them, the error says
    the repair changed nothing, and a repair without the fault brings back every
    key."""
    s, want = crashed_copy(tmp_path, crashed_base)
    before = snapshot(s)
    r = cli(s, "repair", env={"AMATERS_TEST_REPAIR_FAIL_AT": step})
    assert r.returncode == 1, r.stdout + r.stderr
    assert "the repair changed nothing" in r.stderr, r.stderr
    assert "a copy of the damaged files is in" in r.stderr
    assert snapshot(s) == before
    assert not os.path.exists(os.path.join(s.data_dir, "repair-staging"))
    assert not glob.glob(os.path.join(s.data_dir, "repair-replaced-*"))
    refused(s)
    assert snapshot(s) == before
    repaired_again(s, want, "RocksDB repair")


def kill_at(s, step):
    """Runs `repair --no-backup` until it reaches step, then kill -9."""
    e = dict(s.env)
    e["AMATERS_TEST_REPAIR_PAUSE_AT"] = step
    p = subprocess.Popen([SERVER_BIN, "-d", s.data_dir, "repair",
                          "--no-backup"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=e)
    seen, line = b"", b"test: repair paused at %s\n" % step.encode()
    try:
        while line not in seen:
            ready, _, _ = select.select([p.stdout], [], [], 120)
            chunk = os.read(p.stdout.fileno(), 4096) if ready else b""
            assert chunk, "repair never paused at %s: %r %r" % (
                step, seen, p.stderr.read() if p.poll() is not None else "")
            seen += chunk
    finally:
        p.kill()
        p.wait()
        p.stdout.close()
        p.stderr.close()


@pytest.mark.parametrize("step", PRE_EXCHANGE)
def test_repair_killed_before_the_exchange_changes_nothing(
        tmp_path, crashed_base, step):
    s, want = crashed_copy(tmp_path, crashed_base)
    before = snapshot(s)
    kill_at(s, step)
    assert snapshot(s) == before
    refused(s)
    r = repaired_again(s, want, "RocksDB repair")
    assert "scratch copy of an interrupted repair" in r.stdout


@pytest.mark.parametrize("step,external_wal", [
    ("exchanged", False), ("exchanged", True), ("wal-moved", False)])
def test_repair_killed_after_the_exchange_serves_every_key(
        tmp_path, crashed_base, step, external_wal):
    """After the atomic exchange the repaired database is complete: `start`
    serves every key even with the old WAL files still in the WAL
    directory (RocksDB skips them), keys written then survive, and the
    next repair finishes the interrupted one, keeping the replaced
    files."""
    s, want = crashed_copy(tmp_path, crashed_base, external_wal)
    old_wals = sorted(os.listdir(wal_dir_of(s)))
    assert old_wals
    kill_at(s, step)
    staging = os.path.join(s.data_dir, "repair-staging")
    assert os.path.isdir(staging)
    left = [n for n in os.listdir(wal_dir_of(s)) if n in old_wals]
    assert (left == old_wals) == (step == "exchanged")
    s.start()
    try:
        check_all(s, want)
        cl = s.client()
        coll = next(iter(want))[0]
        extra = os.urandom(100)
        assert cl.set(coll, b"k9999", extra, created_at=1_700_009_999) \
            .WhichOneof("response") == "result"
    finally:
        s.stop()      # the new key lives in a WAL file newer than the old
    want = dict(want)
    want[(coll, b"k9999")] = extra
    r = repaired_again(s, want, "none needed")
    assert "finished an interrupted repair" in r.stdout
    (rep,) = glob.glob(os.path.join(s.data_dir, "repair-replaced-*"))
    assert r.stdout.count(rep) == 1
    assert os.path.isfile(os.path.join(rep, "lsm", "CURRENT"))


def test_successful_repair_of_a_crashed_directory(tmp_path, crashed_base):
    """The old WAL files move out of the WAL directory with the replaced
    lsm/ (deleted again here: the backup copy holds them)."""
    s, want = crashed_copy(tmp_path, crashed_base, external_wal=True)
    old_wals = sorted(os.listdir(wal_dir_of(s)))
    r = cli(s, "repair")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "repaired: %d keys" % len(want) in r.stdout
    assert "the replaced files were deleted" in r.stdout
    assert not glob.glob(os.path.join(s.data_dir, "repair-replaced-*"))
    assert not set(os.listdir(wal_dir_of(s))) & set(old_wals)
    (bk,) = glob.glob(os.path.join(s.data_dir, "repair-backup-*"))
    assert sorted(os.listdir(os.path.join(bk, "wal"))) == old_wals
    serves_all(s, want)


def test_repair_leaves_out_a_wal_already_in_table_files(tmp_path):
    """A crash between a flush and the removal of the WAL file it made
    obsolete leaves that WAL behind. RocksDB's repair turns every WAL into a
    table, which then overlapped the flushed one, and its consistency check
    failed ("VersionBuilder: L0 file #35 with seqno 6013 7013 vs. file #31
    ..."): such a directory could not be repaired at all. The repair now
    scans the WAL files and runs without those whose writes are all in
    table files already; every key comes back. The obsolete WAL is put back
    by the test (copied while it was live) to hit that window exactly."""
    s = Server(str(tmp_path), env=CRASH_ENV)
    s.start()
    coll, want = unique("flushed"), {}
    wal = os.path.join(s.data_dir, "wal")

    def put(lo, hi):
        put_batch(s.client(), coll, lo, hi, want)

    try:
        put(0, 250)
        saved = {}
        for p in glob.glob(os.path.join(wal, "*.log")):
            with open(p, "rb") as f:
                saved[p] = f.read()
        assert saved
        j = 250
        while j < 4000 and any(os.path.exists(p) for p in saved):
            put(j, j + 250)   # 1 MiB memtables: flushes, old WALs removed
            j += 250
        assert wait_until(lambda: not any(os.path.exists(p) for p in saved),
                          timeout=10), "the first WAL was never removed"
    finally:
        s.signal(signal.SIGKILL)
        s.proc.wait()
        s.stop()
    for p, data in saved.items():      # flushed, but "not removed yet"
        with open(p, "wb") as f:
            f.write(data)
    corrupt_manifest(s.data_dir)
    refused(s)
    r = cli(s, "repair", "--no-backup")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "were left out of the repair" in r.stdout, r.stdout
    assert "repaired: %d keys" % len(want) in r.stdout, r.stdout
    serves_all(s, want)


def test_backup_copy_on_a_full_disk(tmp_path):
    """The repair's backup copy does not fit: the error names the real
    cause (it said "No such file or directory", a stale errno after a
    short write) and the partial copy is removed (it kept the disk full);
    nothing is repaired, and the directory is as it was: with more room,
    --no-backup then repairs it."""
    with small_tmpfs(str(tmp_path / "small"), 12) as mnt:
        s = Server(str(tmp_path))
        s.data_dir = os.path.join(mnt, "data")
        s.start()
        coll, want = unique("bkfull"), {}
        cl = s.client()
        for i in range(0, 5000, 250):    # ~7.5 MB of 1.5 KB values
            put_batch(cl, coll, i, i + 250, want)
        s.stop()
        corrupt_manifest(s.data_dir)
        before = listing(s.data_dir)
        r = cli(s, "repair")
        assert r.returncode == 1, r.stdout + r.stderr
        assert "No space left on device" in r.stderr, r.stderr
        assert "the partial copy was removed" in r.stderr, r.stderr
        assert not glob.glob(os.path.join(s.data_dir, "repair-backup-*"))
        assert listing(s.data_dir) == before
        # the repair itself needs room too (its staging copy of the WAL,
        # the tables made from it): give it some
        grow_tmpfs(mnt, 64)
        r = cli(s, "repair", "--no-backup")
        assert r.returncode == 0, r.stdout + r.stderr
        serves_all(s, want)
