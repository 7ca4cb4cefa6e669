"""limits.max_calls_per_client: a client (principal) with that many calls
in flight gets RESOURCE_EXHAUSTED with a retry-after trailer for the next
one, other clients are unaffected, and the slot frees when a call ends."""
import queue
import threading
import time

import grpc
import jwt

from conftest import (SERVICE, aql_pb2, bearer_client, q_get, status_of,
                      wait_until)

SECRET = "limits-test-secret-0123456789abcdef"


def token(sub):
    now = int(time.time())
    return jwt.encode({"sub": sub, "exp": now + 600, "iat": now,
                       "roles": ["admin"]}, SECRET, algorithm="HS256")


CONFIG = f"""
[auth]
enabled = true
methods = ["jwt"]
[auth.jwt]
secret = "{SECRET}"
algorithm = "HS256"
[limits]
max_calls_per_client = 2
"""


def open_idle_interactive(channel, tok):
    """Starts an ExecuteInteractive call that sends nothing until told;
    returns (stop event, the response iterator)."""
    q = queue.Queue()

    def requests():
        while True:
            item = q.get()
            if item is None:
                return
            yield item

    call = channel.stream_stream(
        SERVICE + "ExecuteInteractive",
        request_serializer=aql_pb2.QueryRequest.SerializeToString,
        response_deserializer=aql_pb2.QueryResponse.FromString)
    it = call(requests(), metadata=[("authorization", "Bearer " + tok)],
              timeout=30)
    return q, it


def test_calls_in_flight_are_limited_per_client(make_server):
    s = make_server(config_text=CONFIG)
    ch = s.get_channel()
    alice, bob = token("alice"), token("bob")
    a = bearer_client(ch, alice)
    b = bearer_client(ch, bob)
    assert a.get("c", b"k").WhichOneof("response") == "result"

    held = [open_idle_interactive(ch, alice) for _ in range(2)]
    # Both idle calls are admitted once a third call of alice is refused.
    def refused():
        code, details, trailers, _ = status_of(a.get, "c", b"k")
        return code == grpc.StatusCode.RESOURCE_EXHAUSTED and \
            "max_calls_per_client" in details and \
            trailers.get("retry-after") == "1"
    assert wait_until(refused, timeout=10)
    # bob is unaffected
    assert b.get("c", b"k").WhichOneof("response") == "result"
    # ending one of alice's calls frees a slot
    q, it = held.pop()
    q.put(None)
    for _ in it:
        pass
    assert wait_until(lambda: status_of(a.get, "c", b"k")[0] ==
                      grpc.StatusCode.OK, timeout=10)
    for q, it in held:
        q.put(None)
        for _ in it:
            pass
