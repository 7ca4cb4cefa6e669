"""Admin tunnel arguments and BACKUP/RESTORE files (operations.md "Admin
tunnel"): concurrent BACKUPs of one name each write their own temporary
file, so every published backup is complete and every caller is told the
truth; an argument holding a NUL byte, or more arguments than a command
takes, is refused with ERROR_PROTOCOL_INVALID_REQUEST instead of being cut
short or ignored; RESTORE refuses anything but a regular file (a FIFO
included, without waiting on it); the temporary files of a BACKUP that a
crash interrupted are removed at the next start, and nothing else is."""
import os
import threading

import grpc
import pytest

from conftest import (E, Client, admin, assert_error, blob, q_set, wait_until,
                      result_of)

NKEYS = 200
VLEN = 10 * 1024
THREADS = 3
ROUNDS = 4
COLL = "bk"


def backup_dir(server):
    return os.path.join(server.data_dir, "backups")


def value(i):
    v = b"v-%05d-" % i
    return (v * (VLEN // len(v) + 1))[:VLEN]


def fill(client):
    for start in range(0, NKEYS, 50):
        qs = [q_set(COLL, b"k%05d" % i, blob(value(i)))
              for i in range(start, min(start + 50, NKEYS))]
        resp = client.batch(qs)
        assert resp.WhichOneof("response") == "results", resp


def test_concurrent_same_name_backups(make_server):
    s = make_server('[storage]\nengine = "lsm"\n')
    fill(s.client())
    chans = [grpc.insecure_channel(
        s.addr, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(THREADS)]
    try:
        clients = [Client(ch) for ch in chans]
        for rnd in range(ROUNDS):
            barrier = threading.Barrier(THREADS)
            answers = [None] * THREADS

            def one(i):
                barrier.wait()
                answers[i] = admin(clients[i], "BACKUP same")

            ths = [threading.Thread(target=one, args=(i,))
                   for i in range(THREADS)]
            for t in ths:
                t.start()
            for t in ths:
                t.join(60)
            oks = [b for _, b in answers if b is not None]
            errs = [r.error for r, b in answers if b is None]
            # each writes its own temporary file: nobody fails, and a
            # caller told "success" gets a complete backup
            assert not errs, (rnd, errs)
            for b in oks:
                assert b["success"] is True and b["keys"] == NKEYS, b
            _, r = admin(clients[0], "RESTORE same")
            assert r is not None and r["restored"] is True, (rnd, _)
            assert r["keys_restored"] == NKEYS
            # no temporary file left behind
            assert os.listdir(backup_dir(s)) == ["same.amb"], \
                os.listdir(backup_dir(s))
    finally:
        for ch in chans:
            ch.close()


def test_nul_in_argument_refused(server, client):
    result_of(client.set(COLL, b"k", b"v"))
    for cmd in ("BACKUP a\x00/../../etc", "BACKUP a\x00b",
                "BACKUP n full\x00x", "RESTORE a\x00b", "LOGS 5\x00x",
                "STATS\x00x"):
        resp, body = admin(client, cmd)
        assert body is None, (cmd, body)
        err = assert_error(resp, E.ERROR_PROTOCOL_INVALID_REQUEST)
        assert "NUL" in err.message, (cmd, err.message)
    d = backup_dir(server)
    assert not os.path.exists(os.path.join(d, "a.amb"))
    assert not os.path.exists(os.path.join(d, "n.amb"))


EXTRA = [
    ("STATS x y", "STATS takes no arguments, got 2"),
    ("VERIFY x", "VERIFY takes no arguments, got 1"),
    ("METRICS x", "METRICS takes no arguments, got 1"),
    ("CLUSTER_INFO x", "CLUSTER_INFO takes no arguments, got 1"),
    ("NODES x", "NODES takes no arguments, got 1"),
    ("LOGS 2 3", "LOGS takes at most 1 argument ([N]), got 2"),
    ("COMPACT users extra",
     "COMPACT takes at most 1 argument ([COLLECTION]), got 2"),
    ("RESTORE ok1 bogus", "RESTORE takes 1 argument (NAME), got 2"),
    ("BACKUP n full extra",
     "BACKUP takes at most 2 arguments (NAME [full|incremental]), got 3"),
    ("backup n full a b c d e",
     "BACKUP takes at most 2 arguments (NAME [full|incremental]), got 7"),
]


@pytest.mark.parametrize("cmd,msg", EXTRA)
def test_extra_arguments_refused(module_server, mclient, cmd, msg):
    resp, body = admin(mclient, cmd)
    assert body is None, (cmd, body)
    err = assert_error(resp, E.ERROR_PROTOCOL_INVALID_REQUEST)
    assert msg in err.message, err.message
    assert not os.path.exists(os.path.join(backup_dir(module_server),
                                           "n.amb"))


def test_documented_forms_still_work(server, client):
    result_of(client.set(COLL, b"k", b"v"))
    for cmd in ("STATS", "VERIFY", "METRICS", "CLUSTER_INFO", "NODES",
                "LOGS", "LOGS 2", "COMPACT", "COMPACT users", "BACKUP ok1",
                "BACKUP ok2 full", "BACKUP ok3 incremental", "RESTORE ok1",
                "  STATS  "):
        resp, body = admin(client, cmd)
        assert body is not None, (cmd, resp)
        assert body["command"] == cmd.split()[0].upper()


def test_restore_refuses_non_regular_files(server, client):
    result_of(client.set(COLL, b"k", b"v"))
    _, b = admin(client, "BACKUP real")
    assert b is not None
    d = backup_dir(server)
    os.mkdir(os.path.join(d, "dirbk.amb"))
    os.symlink(os.path.join(d, "real.amb"), os.path.join(d, "link.amb"))
    # a FIFO: opening it for reading used to wait for a writer forever,
    # holding a worker (the call timed out; shutdown then hung)
    os.mkfifo(os.path.join(d, "pipe.amb"))
    for name in ("dirbk", "link", "pipe"):
        resp, body = admin(client, "RESTORE " + name)
        assert body is None, body
        err = assert_error(resp, E.ERROR_STORAGE_IO,
                           category=E.CATEGORY_SERVER_ERROR)
        assert f"backup '{name}' is not a regular file" in err.message, \
            err.message
    _, r = admin(client, "RESTORE real")
    assert r is not None and r["keys_restored"] == 1


def test_failed_admin_commands_are_logged(server, client):
    """Operators find failed BACKUPs and RESTOREs in the log, not only the
    successful ones."""
    resp, body = admin(client, "RESTORE no_such_backup")
    assert body is None, body

    def logged():
        with open(server.log_path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        return [ln for ln in text.splitlines()
                if "admin command failed" in ln and "no_such_backup" in ln]
    lines = wait_until(logged, timeout=10)
    assert lines, "no log line for the failed RESTORE"
    assert "WARN" in lines[0], lines[0]


def test_stale_backup_temporaries_removed_at_start(make_server):
    """A server killed during a BACKUP leaves <name>.amb.tmp.<pid>.<n>; the
    next start removes such files (logged) and keeps everything else."""
    s = make_server(start=False)
    d = backup_dir(s)
    os.makedirs(d)
    stale = ["nightly.amb.tmp.4242.0", "a.b.amb.tmp.1.17"]
    kept = ["nightly.amb", "nightly.amb.tmp", "x.amb.tmp.12", "x.amb.tmp.1.2.3",
            "x.amb.tmp.1.2~", ".amb.tmp.1.2", "notes.txt", "y.amb.tmp.a.1"]
    for name in stale + kept:
        with open(os.path.join(d, name), "wb") as f:
            f.write(b"partial")
    os.mkdir(os.path.join(d, "dir.amb.tmp.5.6"))  # not a regular file
    s.start()
    left = sorted(os.listdir(d))
    assert left == sorted(kept + ["dir.amb.tmp.5.6"]), left
    log = s.log()
    for name in stale:
        assert "removed %s/%s (7 bytes): the temporary file of a BACKUP " \
            "that did not finish" % (d, name) in log, log
    # the real backup is untouched and still restorable by name lookup
    with open(os.path.join(d, "nightly.amb"), "rb") as f:
        assert f.read() == b"partial"


def test_admin_command_line_has_the_key_size_limit(module_server, mclient):
    """The command line is the key of a GET: over limits.max_key_bytes
    (64 KiB) it is refused like any other key, before it is parsed."""
    line = "STATS " + "x" * (64 * 1024)
    resp, body = admin(mclient, line)
    assert body is None, body
    err = assert_error(resp, E.ERROR_VALIDATION_SIZE_EXCEEDED)
    assert "the limit is 65536" in err.message, err.message
    resp, body = admin(mclient, "STATS")   # still fine at normal size
    assert body is not None and body["command"] == "STATS", resp


@pytest.mark.parametrize("line", ["STATS\n", "STATS\r\n", "\n STATS \t\n",
                                  "\fSTATS\v"])
def test_white_space_around_command(module_server, mclient, line):
    """A command line piped from a shell ends in a newline: any ASCII white
    space separates words, as space and tab do (it used to make the
    command unknown: an empty answer)."""
    resp, body = admin(mclient, line)
    assert body is not None and body["command"] == "STATS", resp


def test_newline_separates_arguments(module_server, mclient):
    resp, body = admin(mclient, "RESTORE\na\nb")
    assert body is None
    err = assert_error(resp, E.ERROR_PROTOCOL_INVALID_REQUEST)
    assert "RESTORE takes 1 argument (NAME), got 2" in err.message
