"""One long call does not stall other connections (src/rpc/internal.h:
one completion queue polled by every worker).

gRPC core pins each connection to one of the server's completion queues
when it accepts it. With one queue per worker (before), a handler that
blocked one worker (a BACKUP, a COMPACT, a DELETE waiting for a slow disk)
stalled every connection pinned to that worker's queue until it returned,
even while the other workers idled. Now, with server.worker_threads = 2
and one worker blocked, every other connection is still answered.

The blocked handler is a DELETE on the lsm engine whose commit waits
DELAY_S (the test-only fault injection AMATERS_TEST_COMMIT_DELAY_MS, as in
test_lifecycle.py) and which therefore holds its worker that long; GETs
do not commit. The check is on ordering, not on
speed: every GET, sent after the DELETE reached the server, is answered
before the DELETE is.
"""
import re
import threading
import time

import grpc

from conftest import Client, http_get, unique, wait_until

CONNS = 6       # GET connections besides the DELETE's own
DELAY_S = 2     # every commit group waits this long


def own_connection(server):
    """A channel with its own HTTP/2 connection (no shared subchannel)."""
    ch = grpc.insecure_channel(
        server.addr, options=[("grpc.use_local_subchannel_pool", 1)])
    grpc.channel_ready_future(ch).result(timeout=10)
    return ch


def active_calls(s):
    st, body, _ = http_get(s.http_port, "/metrics")
    assert st == 200
    m = re.search(rb"^amaters_grpc_active_calls (\d+)", body, re.M)
    return int(m.group(1)) if m else 0


def timed(fn, out, i):
    """out[i] = (answer time, response or exception)."""
    try:
        r = fn()
    except Exception as e:  # checked by the caller
        r = e
    out[i] = (time.monotonic(), r)


def test_blocked_worker_does_not_stall_other_connections(make_server):
    conf = ("[server]\nworker_threads = 2\n"
            "[storage]\nengine = \"lsm\"\n"
            "[storage.wal]\nsync_mode = \"always\"\n")
    s = make_server(conf, env={
        "AMATERS_TEST_COMMIT_DELAY_MS": str(DELAY_S * 1000)})
    coll = unique("fair")
    chans = [own_connection(s) for _ in range(CONNS + 1)]
    try:
        clients = [Client(ch) for ch in chans]
        # every connection answered once: connected and pinned to a queue
        for cl in clients:
            r = cl.get(coll, b"missing")
            assert r.WhichOneof("response") == "result", r
        # the key exists (a DELETE of a missing key commits nothing)
        r = clients[0].set(coll, b"k", b"v")
        assert r.WhichOneof("response") == "result", r
        assert active_calls(s) == 0

        done = [None]
        blocker = threading.Thread(target=timed, args=(
            lambda: clients[0].delete(coll, b"k"), done, 0))
        blocker.start()
        assert wait_until(lambda: active_calls(s) >= 1, timeout=10), \
            "the DELETE never reached the server"

        answers = [None] * CONNS
        getters = [threading.Thread(target=timed, args=(
            lambda cl=cl: cl.get(coll, b"missing"), answers, i))
            for i, cl in enumerate(clients[1:])]
        for t in getters:
            t.start()
        for t in getters:
            t.join(timeout=DELAY_S + 30)
        blocker.join(timeout=DELAY_S + 30)

        assert done[0] is not None, "the DELETE never returned"
        t_delete, r = done[0]
        assert not isinstance(r, Exception), r
        assert r.WhichOneof("response") == "result", r
        for i, a in enumerate(answers):
            assert a is not None, "GET on connection %d never returned" % i
            t_get, r = a
            assert not isinstance(r, Exception), (i, r)
            assert r.WhichOneof("response") == "result", (i, r)
            assert t_get < t_delete, (
                "connection %d was answered %.2f s after the DELETE that "
                "blocked a worker: it waited for that worker"
                % (i, t_get - t_delete))
    finally:
        for ch in chans:
            ch.close()
