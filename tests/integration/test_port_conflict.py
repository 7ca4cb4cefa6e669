"""A second server on the gRPC port of a running one (operations.md,
"Start-up": start-up errors exit 1, "port in use (names the address)").

gRPC core sets SO_REUSEPORT on its listeners unless told not to; then a
second amaters-server with its own data dir and HTTP port could bind the
same gRPC port and clients would be spread over two data directories.
Every wait is bounded; synchronisation is by polling observable state."""
import os

import grpc

from conftest import (Client, server_alive_and_serving, single_value,
                      result_of, start_failing, unique)

EXIT_TIMEOUT = 15.0


def start_expecting_exit(s, timeout=EXIT_TIMEOUT):
    """Starts s, expects it to exit by itself; returns (rc, output)."""
    return start_failing(s, timeout, f"second server on {s.addr} kept "
                         f"running (it shares the port)")


def test_second_server_on_same_grpc_port_refused(make_server):
    a = make_server()
    coll = unique("portc")
    result_of(a.client().set(coll, b"k", b"from-a"))

    b = make_server(start=False)
    b.addr = a.addr  # same gRPC address; own data dir and HTTP port
    assert b.data_dir != a.data_dir and b.http_port != a.http_port
    rc, out = start_expecting_exit(b)

    assert rc == 1, out
    lines = [ln for ln in out.splitlines() if a.addr in ln and
             "address already in use (another process listens on it)"
             in ln]
    assert lines, f"no error naming {a.addr} as in use:\n{out}"
    assert not os.path.exists(
        os.path.join(b.data_dir, "amaters-server.pid"))

    # A still serves, and every new connection reaches A's data.
    server_alive_and_serving(a)
    for _ in range(4):
        ch = grpc.insecure_channel(
            a.addr, options=[("grpc.use_local_subchannel_pool", 1)])
        try:
            v = single_value(Client(ch).get(coll, b"k"))
        finally:
            ch.close()
        assert v is not None and v.data == b"from-a"


def test_host_name_with_a_taken_address_refused(make_server):
    """A host name whose address is taken is refused. Where localhost
    also resolves to ::1, gRPC alone would start on the address still
    free (clients dialling localhost could then reach either server); the
    server checks every address first. (On machines where localhost is
    only 127.0.0.1 gRPC's own bind fails too, so this cannot tell the two
    apart there.)"""
    a = make_server()
    port = a.addr.rsplit(":", 1)[1]
    b = make_server(start=False)
    b.addr = "localhost:" + port
    rc, out = start_expecting_exit(b)
    assert rc == 1, out
    assert any(b.addr in ln and "already in use" in ln
               for ln in out.splitlines()), out
    server_alive_and_serving(a)
